//! Sound devices as ALSA shows them: alsa-lib's stray messages kept off stderr, and the
//! capture devices a live source can name.

use std::sync::atomic::{AtomicU64, Ordering};

use rodio::cpal;
use rodio::cpal::traits::{DeviceTrait, HostTrait};

/// A capture device by its name (as `loaxa devices` lists it) or `default`.
pub fn input(name: &str) -> Result<cpal::Device, String> {
    quiet_alsa();
    let host = cpal::default_host();
    if name == "default" {
        return host
            .default_input_device()
            .ok_or_else(|| "no capture device found (microphone or line-in)".to_string());
    }
    let mut names = vec![];
    let list = host
        .input_devices()
        .map_err(|e| format!("cannot list capture devices: {e}"))?;
    for d in list {
        let id = d.id().ok().map(|i| i.id().to_string()).unwrap_or_default();
        let desc = d
            .description()
            .map(|x| x.name().to_string())
            .unwrap_or_default();
        if id == name || desc == name {
            return Ok(d);
        }
        names.push(id);
    }
    Err(format!(
        "no capture device named `{name}` — use `default` or one of: {}",
        names.join(", ")
    ))
}

/// Capture device names and their descriptions, for `loaxa devices`.
pub fn inputs() -> Vec<(String, String)> {
    quiet_alsa();
    cpal::default_host()
        .input_devices()
        .map(|l| {
            l.filter_map(|d| {
                let id = d.id().ok()?.id().to_string();
                let desc = d
                    .description()
                    .map(|x| x.name().to_string())
                    .unwrap_or_default();
                Some((id, desc))
            })
            .collect()
        })
        .unwrap_or_default()
}

/// The buffer sizes to try, best first: the wanted period brought into the range the
/// device offers, then the device's own choice. The offered range is only a hint: a real
/// card behind ALSA's dmix reports a wide range but accepts one period size (1024 frames
/// on the HDA card of the VM test), so the caller falls back to `Default` on refusal.
pub fn buffer_sizes(offered: &cpal::SupportedBufferSize, want: u32) -> Vec<cpal::BufferSize> {
    match offered {
        cpal::SupportedBufferSize::Range { min, max } if min <= max => vec![
            cpal::BufferSize::Fixed(want.clamp(*min, *max)),
            cpal::BufferSize::Default,
        ],
        _ => vec![cpal::BufferSize::Default],
    }
}

/// alsa-lib prints some errors straight to stderr (the pulse plugin can print hundreds of
/// `snd_pcm_avail_delay` lines a second while the audio is fine). Route them to a handler
/// that counts them and logs one line a minute.
pub fn quiet_alsa() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: alsa-lib calls the handler with (file, line, function, err, fmt, ...).
        // Ours reads only the fixed leading arguments and ignores the variadic tail, which
        // the C calling conventions of Linux targets allow.
        unsafe {
            let h: unsafe extern "C" fn(
                *const libc::c_char,
                libc::c_int,
                *const libc::c_char,
                libc::c_int,
                *const libc::c_char,
            ) = alsa_error;
            alsa_sys::snd_lib_error_set_handler(Some(std::mem::transmute::<
                unsafe extern "C" fn(
                    *const libc::c_char,
                    libc::c_int,
                    *const libc::c_char,
                    libc::c_int,
                    *const libc::c_char,
                ),
                unsafe extern "C" fn(
                    *const libc::c_char,
                    libc::c_int,
                    *const libc::c_char,
                    libc::c_int,
                    *const libc::c_char,
                    ...
                ),
            >(h)));
        }
    });
}

static ALSA_ERRORS: AtomicU64 = AtomicU64::new(0);
static ALSA_LAST_LOG: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn alsa_error(
    _file: *const libc::c_char,
    _line: libc::c_int,
    function: *const libc::c_char,
    err: libc::c_int,
    _fmt: *const libc::c_char,
) {
    let n = ALSA_ERRORS.fetch_add(1, Ordering::Relaxed) + 1;
    let now = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
        / 1_000_000_000) as u64;
    let last = ALSA_LAST_LOG.load(Ordering::Relaxed);
    if now >= last + 60
        && ALSA_LAST_LOG
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        let f = if function.is_null() {
            String::new()
        } else {
            // SAFETY: alsa-lib passes a NUL-terminated function name.
            unsafe { std::ffi::CStr::from_ptr(function) }
                .to_string_lossy()
                .into_owned()
        };
        tracing::debug!("alsa: {f}: error {err} ({n} alsa messages so far)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpal::{BufferSize as B, SupportedBufferSize as S};

    #[test]
    fn the_wanted_period_is_brought_into_the_offered_range_then_the_device_chooses() {
        let r = |min, max| S::Range { min, max };
        assert_eq!(
            buffer_sizes(&r(32, 8192), 6144),
            [B::Fixed(6144), B::Default]
        );
        assert_eq!(
            buffer_sizes(&r(1024, 1024), 6144),
            [B::Fixed(1024), B::Default]
        );
        assert_eq!(buffer_sizes(&r(470, 471), 240), [B::Fixed(470), B::Default]);
        assert_eq!(buffer_sizes(&r(9, 3), 240), [B::Default]);
        assert_eq!(buffer_sizes(&S::Unknown, 6144), [B::Default]);
    }
}
