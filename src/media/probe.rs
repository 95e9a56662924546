//! What an audio file is: a fast header probe, and a full analysis (exact duration,
//! corruption, EBU R128 loudness, peak) that decodes every frame.
//!
//! Files are opened as seekable `File`s with their length known: through a plain reader
//! m4a does not decode and ogg reports no duration.

use std::path::Path;
use std::time::Duration;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::{MetadataOptions, StandardTagKey};
use symphonia::core::probe::Hint;

/// Why a file cannot air. `code` is stable (logs, JSON); `message` says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
}

impl Rejection {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

const CONVERT: &str = "convert it to mp3, e.g. `ffmpeg -i IN -c:a libmp3lame -q:a 4 OUT.mp3`";

/// What the container header says, without decoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub container: String,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    /// From the header; None when it does not say (e.g. VBR MP3 without a Xing header).
    pub duration: Option<Duration>,
    /// The title tag, if the file has one.
    pub title: Option<String>,
}

/// What decoding every frame found.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub duration: Duration,
    /// Integrated loudness (LUFS); None when the file is (near) silent throughout.
    pub lufs: Option<f64>,
    /// Sample peak in dBFS.
    pub peak_db: f64,
}

/// An opened file: its demuxer, its title tag and its container (from the extension).
pub(crate) struct Opened {
    pub(crate) format: Box<dyn FormatReader>,
    title: Option<String>,
    container: String,
}

/// Opens a file for reading. With `gapless`, the reader trims encoder delay and padding
/// to the frame count the header states; that count is an estimate for MP3s without a
/// Xing header, so the full analysis reads untrimmed and subtracts what the header knows.
pub(crate) fn open(path: &Path, gapless: bool) -> Result<Opened, Rejection> {
    let file = super::open_file(path)
        .map_err(|e| Rejection::new("unreadable", format!("cannot open the file: {e}")))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        return Err(Rejection::new(
            "empty",
            "the file is empty (0 bytes); copy it again",
        ));
    }
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(&ext.to_ascii_lowercase());
    }
    let mss = MediaSourceStream::new(Box::new(file), MediaSourceStreamOptions::default());
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions {
                enable_gapless: gapless,
                ..Default::default()
            },
            &MetadataOptions::default(),
        )
        .map_err(|e| match e {
            SymError::Unsupported(_) => Rejection::new(
                "not_audio",
                format!("not an audio file loaxa can read; {CONVERT}"),
            ),
            e => Rejection::new(
                "not_audio",
                format!("not a readable audio file ({e}); {CONVERT}"),
            ),
        })?;
    let mut format = probed.format;
    let mut metadata = probed.metadata;
    let mut title = None;
    let mut find_title = |tags: &[symphonia::core::meta::Tag]| {
        for t in tags {
            if t.std_key == Some(StandardTagKey::TrackTitle) {
                let v = t.value.to_string();
                if !v.trim().is_empty() {
                    title = Some(v.trim().to_string());
                }
            }
        }
    };
    if let Some(m) = metadata.get() {
        if let Some(r) = m.current() {
            find_title(r.tags());
        }
    }
    if let Some(r) = format.metadata().current() {
        find_title(r.tags());
    }
    let container = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("?")
        .to_ascii_lowercase();
    Ok(Opened {
        format,
        title,
        container,
    })
}

fn codec_name(t: symphonia::core::codecs::CodecType) -> String {
    super::opus::codecs()
        .get_codec(t)
        .map(|d| d.short_name.to_string())
        .unwrap_or_else(|| format!("{t}"))
}

/// Reads the header only: fast, enough to know what the file is.
pub fn header(path: &Path) -> Result<Header, Rejection> {
    guarded(|| header_inner(path))
}

pub fn analyse(path: &Path) -> Result<Analysis, Rejection> {
    guarded(|| analyse_inner(path))
}

/// Runs a decoder on a file that may be hostile: a decoder that panics on it (a zero time
/// base, say) rejects the file instead of taking the thread down with it.
fn guarded<T>(f: impl FnOnce() -> Result<T, Rejection>) -> Result<T, Rejection> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(Rejection::new(
            "decoder_crash",
            format!("the decoder cannot read this file (it is damaged or not what its name says); {CONVERT}"),
        ))
    })
}

fn header_inner(path: &Path) -> Result<Header, Rejection> {
    let Opened {
        format,
        title,
        container,
    } = open(path, true)?;
    let track = format
        .default_track()
        .filter(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| {
            Rejection::new(
                "not_audio",
                format!("the file has no audio track; {CONVERT}"),
            )
        })?;
    let p = &track.codec_params;
    if super::opus::codecs().get_codec(p.codec).is_none() {
        return Err(Rejection::new(
            "unsupported_codec",
            format!("the audio codec ({}) is not supported; {CONVERT}", p.codec),
        ));
    }
    let sample_rate = super::opus::output_rate(p).unwrap_or(0);
    let duration = match (p.n_frames, p.time_base, sample_rate) {
        (Some(n), Some(tb), _) => {
            let t = tb.calc_time(n);
            Some(Duration::from_secs(t.seconds) + Duration::from_secs_f64(t.frac))
        }
        (Some(n), None, r) if r > 0 => Some(Duration::from_secs_f64(n as f64 / r as f64)),
        _ => None,
    };
    Ok(Header {
        container,
        codec: codec_name(p.codec),
        sample_rate,
        channels: p
            .channels
            .or(p.channel_layout.map(|l| l.into_channels()))
            .map_or(0, |c| c.count() as u16),
        duration,
        title,
    })
}

/// Decode errors tolerated at the very start (junk before the first MP3 frame, etc.).
const EARLY_PACKETS: u64 = 4;

/// Decodes the whole file: exact duration, loudness and peak; rejects corrupt or
/// truncated files.
fn analyse_inner(path: &Path) -> Result<Analysis, Rejection> {
    let head = header(path)?;
    let mut format = open(path, false)?.format;
    let track = format
        .default_track()
        .cloned()
        .ok_or_else(|| Rejection::new("not_audio", "no audio track"))?;
    let mut decoder = super::opus::codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| {
            Rejection::new(
                "unsupported_codec",
                format!("cannot decode this audio ({e}); {CONVERT}"),
            )
        })?;
    let mut frames: u64 = 0;
    let mut packets: u64 = 0;
    let mut meter: Option<ebur128::EbuR128> = None;
    let mut buf: Option<SampleBuffer<f32>> = None;
    let mut rate = head.sample_rate;
    let corrupt = |at: u64, rate: u32, e: &dyn std::fmt::Display| {
        let secs = if rate > 0 {
            at as f64 / rate as f64
        } else {
            0.0
        };
        Rejection::new(
            "corrupt",
            format!("the audio is damaged at {secs:.1}s ({e}); export or copy the file again"),
        )
    };
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) if packets < EARLY_PACKETS => {
                packets += 1;
                let _ = e;
                continue;
            }
            Err(e) => return Err(corrupt(frames, rate, &e)),
        };
        if packet.track_id() != track.id {
            continue;
        }
        packets += 1;
        match decoder.decode(&packet) {
            Ok(audio) => {
                let spec = *audio.spec();
                rate = spec.rate;
                let ch = spec.channels.count() as u32;
                let n = audio.frames();
                if n == 0 {
                    continue;
                }
                if buf
                    .as_ref()
                    .is_none_or(|b| b.capacity() < audio.capacity() * ch as usize)
                {
                    buf = Some(SampleBuffer::new(audio.capacity() as u64, spec));
                }
                let b = buf.as_mut().expect("just set");
                b.copy_interleaved_ref(audio);
                let m = match &mut meter {
                    Some(m) if m.channels() == ch && m.rate() == spec.rate => m,
                    _ => {
                        meter = ebur128::EbuR128::new(
                            ch,
                            spec.rate,
                            ebur128::Mode::I | ebur128::Mode::SAMPLE_PEAK,
                        )
                        .ok();
                        // A mono file airs on both channels of the output: it is as loud
                        // as dual mono (+3 dB), and is normalised as such, so a mono
                        // bulletin and a stereo one sound alike.
                        if ch == 1 {
                            if let Some(m) = meter.as_mut() {
                                let _ = m.set_channel(0, ebur128::Channel::DualMono);
                            }
                        }
                        match &mut meter {
                            Some(m) => m,
                            None => {
                                return Err(Rejection::new(
                                    "unsupported_codec",
                                    "unsupported channel layout",
                                ))
                            }
                        }
                    }
                };
                let _ = m.add_frames_f32(&b.samples()[..n * ch as usize]);
                frames += n as u64;
            }
            Err(SymError::DecodeError(e)) if packets <= EARLY_PACKETS => {
                let _ = e;
            }
            Err(e) => return Err(corrupt(frames, rate, &e)),
        }
    }
    if rate == 0 || frames == 0 {
        return Err(Rejection::new(
            "corrupt",
            "no audio could be decoded from the file; export or copy it again",
        ));
    }
    let p = &track.codec_params;
    let trim = p.delay.unwrap_or(0) as u64 + p.padding.unwrap_or(0) as u64;
    let frames = frames.saturating_sub(trim);
    let duration = Duration::from_secs_f64(frames as f64 / rate as f64);
    // A header that promises more than the data holds: the copy was cut short.
    if let Some(expected) = head.duration {
        if expected > Duration::from_millis(500)
            && duration.as_secs_f64() < expected.as_secs_f64() * 0.99 - 0.05
        {
            return Err(Rejection::new(
                "truncated",
                format!(
                    "the file is damaged or cut short: only {:.1}s of audio decode where its header says {:.1}s; copy it again",
                    duration.as_secs_f64(),
                    expected.as_secs_f64()
                ),
            ));
        }
    }
    let (lufs, peak) = match &meter {
        Some(m) => {
            let lufs = m.loudness_global().ok().filter(|l| l.is_finite());
            let peak = (0..m.channels())
                .filter_map(|c| m.sample_peak(c).ok())
                .fold(0.0f64, f64::max);
            (lufs, peak)
        }
        None => (None, 0.0),
    };
    let peak_db = if peak > 0.0 {
        20.0 * peak.log10()
    } else {
        -120.0
    };
    Ok(Analysis {
        duration,
        lufs,
        peak_db,
    })
}

/// Lengths of jingles and fixed files, probed once each (a memo of [`duration`]).
#[derive(Debug, Default)]
pub struct Lengths(
    std::cell::RefCell<std::collections::HashMap<std::path::PathBuf, Option<Duration>>>,
);

impl Lengths {
    pub fn get(&self, p: &Path) -> Option<Duration> {
        if let Some(d) = self.0.borrow().get(p) {
            return *d;
        }
        let d = duration(p);
        self.0.borrow_mut().insert(p.to_path_buf(), d);
        d
    }

    /// Forgets every length (the files may have changed).
    pub fn clear(&self) {
        self.0.borrow_mut().clear();
    }
}

/// The lengths of the fixed files a configuration names (jingles, fixed segments, the
/// alert tone: `Config::fixed_files`), probed once each: what the station needs, computed
/// off its loop.
pub fn fixed_lengths(
    files: Vec<std::path::PathBuf>,
) -> std::collections::HashMap<std::path::PathBuf, Option<Duration>> {
    files
        .into_iter()
        .map(|p| {
            let d = duration(&p);
            (p, d)
        })
        .collect()
}

/// The length of a file, from the header when it says, else by decoding it.
pub fn duration(path: &Path) -> Option<Duration> {
    match header(path) {
        Ok(Header {
            duration: Some(d), ..
        }) => Some(d),
        Ok(_) => analyse(path).ok().map(|a| a.duration),
        Err(_) => None,
    }
}
