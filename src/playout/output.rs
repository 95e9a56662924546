//! The output backends, by name: the sound device (ALSA through rodio's cpal), `wav:PATH`
//! (render to a file, in real time) and `null` (discard, in real time). Each drives the
//! same [`Deck`], giving it for every buffer the wall-clock instant its first frame plays.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rodio::cpal;
use rodio::cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use super::deck::{Deck, Remote, Waker};
use crate::clock::wall_ns;

/// Which output to use, parsed from `--output` or `output.device`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// The system's default sound device.
    Default,
    /// A named ALSA device (as `loaxa devices` lists them).
    Device(String),
    Wav(PathBuf),
    Null,
}

impl Spec {
    pub fn parse(s: Option<&str>) -> Spec {
        match s.map(str::trim) {
            None | Some("") | Some("default") => Spec::Default,
            Some("null") => Spec::Null,
            Some(x) => match x.strip_prefix("wav:") {
                Some(p) => Spec::Wav(PathBuf::from(p)),
                None => Spec::Device(x.to_string()),
            },
        }
    }
}

impl std::fmt::Display for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Spec::Default => f.write_str("default sound device"),
            Spec::Device(d) => write!(f, "sound device `{d}`"),
            Spec::Wav(p) => write!(f, "wav:{}", p.display()),
            Spec::Null => f.write_str("null"),
        }
    }
}

/// Why an output could not be opened or stopped working: one line, with what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputError(pub String);

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

const CHOOSE: &str = "connect a sound card, or choose another output with `--output wav:FILE` or `--output null` (or `output.device` in schedule.yaml); `loaxa devices` lists the devices";

/// An open output.
pub struct Output {
    pub remote: Remote,
    pub channels: u16,
    pub rate: u32,
    /// Set when the device reports it stopped working.
    pub failed: Arc<Mutex<Option<String>>>,
    /// How far ahead of "now" the output plays what it is given (the device's own delay).
    pub latency_ns: Arc<AtomicU64>,
    /// How long before its air a frame may be taken from the deck: the delay plus one
    /// buffer (a live input's feeder stays this far ahead, and little more).
    pub ahead_ns: Arc<AtomicU64>,
    /// Wall-clock ms of the last audio callback: a device that stops calling back (its
    /// server died, it was unplugged) is noticed by the player, not waited on forever.
    pub last_callback_ms: Arc<AtomicU64>,
    /// Periods the card never got (dropped on an underrun) that were played again: the
    /// player logs them, off the audio thread.
    pub replayed: Arc<AtomicU64>,
    _keep: Keep,
}

enum Keep {
    Device(#[allow(dead_code)] cpal::Stream),
    Thread(Arc<AtomicBool>, Option<std::thread::JoinHandle<()>>),
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Keep::Thread(stop, t) = &mut self._keep {
            stop.store(true, Ordering::Relaxed);
            if let Some(t) = t.take() {
                let _ = t.join();
            }
        }
    }
}

/// Opens an output; a device is opened at `prefer_rate` when it supports it (the material's
/// own rate: no resampling to do), else at its default rate.
/// The deck signals `waker` whenever it has events.
/// `sinks` gets a tap of everything the output renders, at its format.
pub fn open(
    spec: &Spec,
    prefer_rate: Option<u32>,
    waker: Option<Waker>,
    sinks: &super::sink::Sinks,
) -> Result<Output, OutputError> {
    match spec {
        Spec::Default | Spec::Device(_) => open_device(spec, prefer_rate, waker, sinks),
        Spec::Wav(p) => open_soft(Some(p.clone()), waker, sinks),
        Spec::Null => open_soft(None, waker, sinks),
    }
}

/// Device names and which is the default, for `loaxa devices`.
pub fn devices() -> Result<Vec<(String, String, bool)>, OutputError> {
    crate::media::device::quiet_alsa();
    let host = cpal::default_host();
    let default = host.default_output_device().and_then(|d| {
        let id = d.id().ok()?.id().to_string();
        Some((id, description(&d)))
    });
    let list = host
        .output_devices()
        .map_err(|e| OutputError(format!("cannot list sound devices: {e}")))?;
    let list = list
        .filter_map(|d| Some((d.id().ok()?.id().to_string(), description(&d))))
        .collect();
    Ok(with_default(list, default))
}

fn description(d: &cpal::Device) -> String {
    d.description()
        .map(|x| x.name().to_string())
        .unwrap_or_default()
}

/// The devices, the default marked; ALSA's `default` is not among the listed devices on a
/// PC without a sound server (it is dmix on the first card), so it is put first then.
fn with_default(
    list: Vec<(String, String)>,
    default: Option<(String, String)>,
) -> Vec<(String, String, bool)> {
    let listed = default
        .as_ref()
        .is_some_and(|(d, _)| list.iter().any(|(id, _)| id == d));
    let first = default
        .as_ref()
        .filter(|_| !listed)
        .map(|(id, desc)| (id.clone(), desc.clone(), true));
    first
        .into_iter()
        .chain(list.into_iter().map(|(id, desc)| {
            let is_default = default.as_ref().is_some_and(|(d, _)| *d == id);
            (id, desc, is_default)
        }))
        .collect()
}

fn find_device(spec: &Spec) -> Result<cpal::Device, OutputError> {
    let host = cpal::default_host();
    match spec {
        Spec::Device(name) => {
            let list = host
                .output_devices()
                .map_err(|e| OutputError(format!("cannot list sound devices: {e} — {CHOOSE}")))?;
            let mut names = vec![];
            for d in list {
                let id = d.id().ok().map(|i| i.id().to_string()).unwrap_or_default();
                let desc = d
                    .description()
                    .map(|x| x.name().to_string())
                    .unwrap_or_default();
                if id == *name || desc == *name {
                    return Ok(d);
                }
                names.push(id);
            }
            Err(OutputError(format!(
                "no sound device named `{name}` — use one of: {}",
                names.join(", ")
            )))
        }
        _ => host
            .default_output_device()
            .ok_or_else(|| OutputError(format!("no sound device found — {CHOOSE}"))),
    }
}

fn open_device(
    spec: &Spec,
    prefer_rate: Option<u32>,
    waker: Option<Waker>,
    sinks: &super::sink::Sinks,
) -> Result<Output, OutputError> {
    crate::media::device::quiet_alsa();
    let device = find_device(spec)?;
    let fail =
        |e: &dyn std::fmt::Display| OutputError(format!("cannot open the {spec}: {e} — {CHOOSE}"));
    let default = device.default_output_config().map_err(|e| fail(&e))?;
    let supported = prefer_rate
        .filter(|r| *r != default.sample_rate())
        .and_then(|r| {
            device.supported_output_configs().ok()?.find_map(|c| {
                (c.channels() == default.channels() && c.sample_format() == default.sample_format())
                    .then(|| c.try_with_sample_rate(r))
                    .flatten()
            })
        })
        .unwrap_or(default);
    let channels = supported.channels();
    let rate = supported.sample_rate();
    let format = supported.sample_format();
    // Larger periods wake the audio thread less often (CPU on an old PC); timing does not
    // suffer, since every buffer's play time is computed from the device's own delay.
    let sizes = crate::media::device::buffer_sizes(supported.buffer_size(), PERIOD_FRAMES);
    let failed = Arc::new(Mutex::new(None));
    let latency = Arc::new(AtomicU64::new(0));
    let ahead = Arc::new(AtomicU64::new(0));
    let last_callback = Arc::new(AtomicU64::new((wall_ns() / 1_000_000) as u64));
    let replayed = Arc::new(AtomicU64::new(0));
    let mut refused = vec![];
    let (stream, remote) = loop {
        let Some(buffer_size) = sizes.get(refused.len()).copied() else {
            return Err(fail(&refused.join("; then ")));
        };
        let config = cpal::StreamConfig {
            channels,
            sample_rate: rate,
            buffer_size,
        };
        // A fresh deck each try: a refused try drops its deck and taps (the sinks see a
        // closed tap and wait for the next).
        let (mut deck, remote) = Deck::new(channels, rate, waker.clone());
        deck.set_taps(sinks.attach(channels, rate));
        let underrun = Arc::new(AtomicBool::new(false));
        let on_error = device_errors(failed.clone(), underrun.clone());
        // One arm per sample format the device may want; the deck renders f32 and converts.
        macro_rules! build_as {
            ($t:ty) => {
                build::<$t>(
                    &device,
                    &config,
                    deck,
                    (latency.clone(), ahead.clone()),
                    last_callback.clone(),
                    (underrun.clone(), replayed.clone()),
                    on_error,
                )
            };
        }
        let built = match format {
            cpal::SampleFormat::F32 => build_as!(f32),
            cpal::SampleFormat::I16 => build_as!(i16),
            cpal::SampleFormat::I32 => build_as!(i32),
            cpal::SampleFormat::U8 => build_as!(u8),
            other => return Err(fail(&format!("unsupported sample format {other}"))),
        };
        match built {
            Ok(stream) => break (stream, remote),
            Err(e) => {
                tracing::debug!("{spec}: {buffer_size:?} refused: {e}");
                refused.push(e.to_string());
            }
        }
    };
    stream.play().map_err(|e| fail(&e))?;
    Ok(Output {
        remote,
        channels,
        rate,
        failed,
        latency_ns: latency,
        ahead_ns: ahead,
        last_callback_ms: last_callback,
        replayed,
        _keep: Keep::Device(stream),
    })
}

/// What a device error does: a lost device fails the airing; an underrun is flagged for the
/// next callback (see [`Periods`]); the rest is logged, one line a minute, since the pulse
/// plugin can report transient errors by the hundred.
fn device_errors(
    failed: Arc<Mutex<Option<String>>>,
    underrun: Arc<AtomicBool>,
) -> impl FnMut(cpal::Error) + Send + 'static {
    let mut last_log = std::time::Instant::now() - Duration::from_secs(3600);
    let mut suppressed = 0u64;
    move |e: cpal::Error| {
        use cpal::ErrorKind as K;
        if matches!(e.kind(), K::Xrun) {
            underrun.store(true, Ordering::Relaxed);
        }
        let fatal = matches!(e.kind(), K::DeviceNotAvailable | K::HostUnavailable);
        if fatal {
            *failed.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(format!("the sound device stopped working: {e}"));
        }
        if fatal || last_log.elapsed() > Duration::from_secs(60) {
            tracing::warn!(
                "audio device: {e}{}",
                if suppressed > 0 {
                    format!(" ({suppressed} more since the last report)")
                } else {
                    String::new()
                }
            );
            last_log = std::time::Instant::now();
            suppressed = 0;
        } else {
            suppressed += 1;
        }
    }
}

/// The period asked of the device: 128 ms at 48 kHz. 4096 frames cost 0.53 % of a core
/// while airing on the rig, 6144 0.44 %, 8192 0.38 % but one onset in 24 was 7.8 ms early.
const PERIOD_FRAMES: u32 = 6144;

/// After opening, the device's reported delay is still settling (the buffer is filling):
/// cues are not placed during the first 8 callbacks or 250 ms, whichever is shorter.
const WARMUP_CALLBACKS: u64 = 8;
const WARMUP_NS: i128 = 250_000_000;

fn build<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    mut deck: Deck,
    (latency, ahead): (Arc<AtomicU64>, Arc<AtomicU64>),
    last_callback: Arc<AtomicU64>,
    (underrun, replayed): (Arc<AtomicBool>, Arc<AtomicU64>),
    on_error: impl FnMut(cpal::Error) + Send + 'static,
) -> Result<cpal::Stream, cpal::Error>
where
    T: cpal::SizedSample + cpal::FromSample<f32>,
{
    let mut periods = Periods::new(config.sample_rate);
    let mut opened: Option<i128> = None;
    let per_frame = (config.channels as usize).max(1);
    let frame_rate = (config.sample_rate as u64).max(1);
    device.build_output_stream::<T, _, _>(
        *config,
        move |data: &mut [T], info: &cpal::OutputCallbackInfo| {
            // The wall-clock instant the first frame of this buffer will play: now plus the
            // device's delay between this callback and playback, measured every callback
            // (the sound card's clock drifts against the system clock).
            let now = wall_ns();
            let ts = info.timestamp();
            let delay = ts
                .playback
                .checked_duration_since(ts.callback)
                .map(|d| d.as_nanos() as i128)
                .unwrap_or(0);
            latency.store(delay as u64, Ordering::Relaxed);
            let frames = data.len() / per_frame;
            ahead.store(
                delay as u64 + frames as u64 * 1_000_000_000 / frame_rate,
                Ordering::Relaxed,
            );
            last_callback.store((now / 1_000_000) as u64, Ordering::Relaxed);
            let first = *opened.get_or_insert(now);
            let placing = deck.callbacks >= WARMUP_CALLBACKS || now - first >= WARMUP_NS;
            let dry = underrun.swap(false, Ordering::Relaxed);
            let (out, again) =
                periods.next(&mut deck, data.len(), per_frame, now + delay, placing, dry);
            if again {
                replayed.fetch_add(1, Ordering::Relaxed);
            }
            for (d, s) in data.iter_mut().zip(out) {
                *d = T::from_sample(*s);
            }
        },
        on_error,
        None,
    )
}

/// Keeps the last period handed to the card, to play it again if the card never got it.
///
/// cpal 0.18's ALSA worker drops a period whose write found the card already run dry (an
/// underrun after the callback filled it): it prepares the device and asks for the next
/// one. On a busy PC with the card's own 6144-frame period that is 128 ms out of a
/// bulletin (most likely what the VM test heard in CI run 41: 1.82 s of a 2 s tone through
/// `plughw:`, with an underrun break). Such a period is played again when
/// an underrun was reported and the next buffer plays before the kept one would have been
/// three quarters over: the card never had all of it (the device was prepared, its delay
/// is 0, so the next buffer plays about when the dropped one was to). An underrun found
/// before the callback (the card played all it had, then waited) lets the next buffer
/// start after the kept one ended, and play goes on. The quarter is the margin on both
/// sides: the delay's error (a few ms) and a callback that ran long past the dry card.
struct Periods {
    rate: u32,
    fresh: Vec<f32>,
    last: Vec<f32>,
    /// When the kept period's first frame was to play (wall-clock ns).
    last_at: Option<i128>,
}

impl Periods {
    fn new(rate: u32) -> Periods {
        Periods {
            rate: rate.max(1),
            // Real-time rule: allocate up front (a device hands a bigger buffer rarely).
            fresh: Vec::with_capacity(1 << 16),
            last: Vec::with_capacity(1 << 16),
            last_at: None,
        }
    }

    /// The `len` samples (interleaved, `channels` per frame) to play at `t_first`, and
    /// whether they are the kept period played again. `dry`: the device reported an
    /// underrun since the last call.
    fn next(
        &mut self,
        deck: &mut Deck,
        len: usize,
        channels: usize,
        t_first: i128,
        placing: bool,
        dry: bool,
    ) -> (&[f32], bool) {
        let frames = (self.last.len() / channels.max(1)) as i128;
        let most = frames * 750_000_000 / self.rate as i128;
        let lost =
            dry && self.last.len() == len && self.last_at.is_some_and(|at| t_first < at + most);
        self.last_at = Some(t_first);
        if lost {
            return (&self.last, true);
        }
        self.fresh.resize(len, 0.0);
        let _ = deck.fill(&mut self.fresh, t_first, placing);
        std::mem::swap(&mut self.fresh, &mut self.last);
        (&self.last, false)
    }
}

/// How much the soft clock renders at a time (its thread wakes 25 times a second), and how
/// far ahead: it behaves like a sound card with a 60 ms delay. A stream fed from it gets
/// each block that early, which offsets the MP3 encoder's own delay.
const SOFT_CHUNK_MS: usize = 40;
const SOFT_LEAD: i128 = 60_000_000;

/// The wav and null outputs: a thread paced by the system clock renders 40 ms at a time,
/// 60 ms ahead.
fn open_soft(
    path: Option<PathBuf>,
    waker: Option<Waker>,
    sinks: &super::sink::Sinks,
) -> Result<Output, OutputError> {
    let (channels, rate) = (2u16, 48_000u32);
    let mut writer = match &path {
        Some(p) => Some(
            hound::WavWriter::create(
                p,
                hound::WavSpec {
                    channels,
                    sample_rate: rate,
                    bits_per_sample: 16,
                    sample_format: hound::SampleFormat::Int,
                },
            )
            .map_err(|e| {
                OutputError(format!(
                    "cannot write {}: {e} — choose a folder you can write to",
                    p.display()
                ))
            })?,
        ),
        None => None,
    };
    let (mut deck, remote) = Deck::new(channels, rate, waker);
    deck.set_taps(sinks.attach(channels, rate));
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    let failed = Arc::new(Mutex::new(None));
    let f2 = failed.clone();
    let latency = Arc::new(AtomicU64::new(SOFT_LEAD as u64));
    let chunk = (rate as usize) * SOFT_CHUNK_MS / 1000;
    let ahead = Arc::new(AtomicU64::new(
        SOFT_LEAD as u64 + SOFT_CHUNK_MS as u64 * 1_000_000,
    ));
    let t = std::thread::Builder::new()
        .name("soft-output".into())
        .spawn(move || {
            let lead: i128 = SOFT_LEAD;
            let start = wall_ns() + lead;
            let mut done: u64 = 0;
            let mut buf = vec![0.0f32; chunk * channels as usize];
            while !s2.load(Ordering::Relaxed) {
                let t_first = start + done as i128 * 1_000_000_000 / rate as i128;
                let wait = t_first - lead - wall_ns();
                if wait > 0 {
                    std::thread::sleep(Duration::from_nanos(wait as u64));
                }
                let active = deck.fill(&mut buf, t_first, true);
                // The file holds what aired, not the hours of silence between programmes.
                if let Some(w) = writer.as_mut().filter(|_| active) {
                    for s in &buf {
                        if let Err(e) = w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16) {
                            *f2.lock().unwrap_or_else(|p| p.into_inner()) =
                                Some(format!("cannot write the wav file: {e}"));
                            return;
                        }
                    }
                }
                done += chunk as u64;
            }
            if let Some(w) = writer {
                let _ = w.finalize();
            }
        })
        .expect("spawn output thread");
    Ok(Output {
        remote,
        channels,
        rate,
        failed,
        latency_ns: latency,
        ahead_ns: ahead,
        last_callback_ms: Arc::new(AtomicU64::new(u64::MAX)),
        replayed: Arc::new(AtomicU64::new(0)),
        _keep: Keep::Thread(stop, Some(t)),
    })
}

#[cfg(test)]
mod tests {
    use super::{with_default, Periods};
    use crate::playout::deck::{Cmd, Deck, Marker, MarkerKind, Remote, Stream};
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    /// A deck at 1000 frames/s, mono, with one item of `n` frames cued at 0 whose sample k
    /// is k: what plays shows which frames played, in what order.
    fn ramp_deck(n: usize) -> (Deck, Remote) {
        let (deck, mut remote) = Deck::new(1, 1000, None);
        let (mut sp, sc) = rtrb::RingBuffer::new(n);
        let (mut mp, mc) = rtrb::RingBuffer::new(8);
        for k in 0..n {
            sp.push(k as f32).unwrap();
        }
        let m = |frame, kind| Marker {
            frame,
            item: 0,
            kind,
        };
        mp.push(m(0, MarkerKind::Start)).unwrap();
        mp.push(m(n as u64, MarkerKind::End(None))).unwrap();
        mp.push(m(n as u64, MarkerKind::Eof)).unwrap();
        let s = Stream::new(
            1,
            0,
            false,
            sc,
            mc,
            Arc::new(AtomicBool::new(true)),
            Arc::new(AtomicBool::new(false)),
        );
        assert!(remote.cmds.push(Cmd::Cue(Box::new(s))).is_ok());
        (deck, remote)
    }

    const MS: i128 = 1_000_000;

    #[test]
    fn a_period_the_card_never_got_is_played_again_and_nothing_is_lost_or_doubled() {
        let (mut deck, _remote) = ramp_deck(1000);
        let mut p = Periods::new(1000);
        let mut played: Vec<f32> = vec![];
        let mut take = |p: &mut Periods, deck: &mut Deck, at: i128, dry: bool| {
            let (out, again) = p.next(deck, 100, 1, at, true, dry);
            played.extend_from_slice(out);
            again
        };
        // 100 ms periods. The second one's write finds the card dry (cpal drops it): the
        // next buffer plays at once (the device was prepared, its delay is 0), before the
        // dropped one would have been three quarters over: it is played again.
        assert!(!take(&mut p, &mut deck, 0, false));
        assert!(!take(&mut p, &mut deck, 100 * MS, false));
        assert!(
            take(&mut p, &mut deck, 160 * MS, true),
            "lost: played again"
        );
        // The card ran dry before a callback (it played everything, then waited): the next
        // buffer starts after the last one ended; nothing to play again.
        assert!(!take(&mut p, &mut deck, 350 * MS, true));
        // Two lost in a row: each is played again.
        assert!(take(&mut p, &mut deck, 352 * MS, true));
        assert!(take(&mut p, &mut deck, 353 * MS, true));
        assert!(!take(&mut p, &mut deck, 453 * MS, false));
        let want: Vec<f32> = (0..100)
            .chain(100..200)
            .chain(100..200)
            .chain(200..300)
            .chain(200..300)
            .chain(200..300)
            .chain(300..400)
            .map(|k| k as f32)
            .collect();
        assert_eq!(played, want);
    }

    #[test]
    fn an_underrun_report_alone_does_not_repeat_a_period_that_played() {
        let (mut deck, _remote) = ramp_deck(300);
        let mut p = Periods::new(1000);
        let (out, _) = p.next(&mut deck, 100, 1, 0, true, false);
        assert_eq!(out[0], 0.0);
        // Reported, but the buffer plays about when the last one ended (the delay's error
        // aside): it got to the card.
        let (out, again) = p.next(&mut deck, 100, 1, 90 * MS, true, true);
        assert!(!again);
        assert_eq!((out[0], out[99]), (100.0, 199.0));
    }

    fn s(a: &str, b: &str) -> (String, String) {
        (a.into(), b.into())
    }

    #[test]
    fn the_default_device_is_marked_and_listed_first_when_alsa_does_not_list_it() {
        let cards = vec![s("hw:CARD=Intel,DEV=0", "HDA"), s("null", "")];
        let got = with_default(cards.clone(), Some(s("default", "HDA")));
        assert_eq!(got[0], ("default".into(), "HDA".into(), true));
        assert_eq!(got.len(), 3);
        assert!(got[1..].iter().all(|(_, _, d)| !d));

        let got = with_default(cards.clone(), Some(s("null", "")));
        assert_eq!(got.len(), 2);
        assert_eq!(got.iter().filter(|(_, _, d)| *d).count(), 1);
        assert!(got[1].2, "the listed default is marked where it is");

        assert!(with_default(cards, None).iter().all(|(_, _, d)| !d));
    }
}
