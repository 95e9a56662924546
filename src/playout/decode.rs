//! The decoder thread of one run: decodes its items in order with rodio (symphonia inside),
//! converts them to the output's rate and channels, applies each item's gain, and keeps the
//! run's sample ring about a second ahead of the audio thread. Items follow each other in
//! the same ring, so they play without a gap.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rodio::source::UniformSourceIterator;
use rodio::{Decoder, Source};

use super::deck::{Marker, MarkerKind, Stream};

/// One item to play, as the decoder needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub path: PathBuf,
    /// Loudness gain × master volume, linear.
    pub gain: f32,
    /// Start this far into the file (resuming after an emergency).
    pub offset: Duration,
    /// Its length, when known: decoding that stops well short of it is a failure.
    pub expect: Option<Duration>,
}

/// How far ahead of the audio thread the decoder runs.
pub const AHEAD: Duration = Duration::from_millis(1500);

/// Opens a decoder for a file: seekable, with its length, so m4a and ogg decode fully.
pub fn open(path: &std::path::Path) -> Result<Decoder<File>, String> {
    let f = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut b = Decoder::builder()
        .with_data(f)
        .with_byte_len(len)
        .with_seekable(true);
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        b = b.with_hint(&ext.to_ascii_lowercase());
    }
    b.build()
        .map_err(|e| format!("cannot decode {}: {e}", path.display()))
}

/// rodio's symphonia decoder reports a span of 0 samples when its first packet decodes to
/// nothing (an MP3's encoder delay, trimmed), and `UniformSourceIterator` then ends the
/// stream at once. Reporting "unknown" instead converts the whole file as one span.
struct SpanFix<S>(S);

impl<S: Source> Iterator for SpanFix<S> {
    type Item = S::Item;
    fn next(&mut self) -> Option<S::Item> {
        self.0.next()
    }
}

impl<S: Source> Source for SpanFix<S> {
    fn current_span_len(&self) -> Option<usize> {
        self.0.current_span_len().filter(|n| *n > 0)
    }
    fn channels(&self) -> rodio::ChannelCount {
        self.0.channels()
    }
    fn sample_rate(&self) -> rodio::SampleRate {
        self.0.sample_rate()
    }
    fn total_duration(&self) -> Option<Duration> {
        self.0.total_duration()
    }
    fn try_seek(&mut self, pos: Duration) -> Result<(), rodio::source::SeekError> {
        self.0.try_seek(pos)
    }
}

/// A file decoded and converted to the output's channels and rate.
pub fn converted(dec: Decoder<File>, channels: u16, rate: u32) -> impl Iterator<Item = f32> {
    let ch = std::num::NonZero::new(channels).expect("channels > 0");
    let sr = std::num::NonZero::new(rate).expect("rate > 0");
    UniformSourceIterator::new(SpanFix(dec), ch, sr)
}

/// Starts decoding `items` for run `run`; returns the audio thread's end of it.
pub fn spawn(
    run: u64,
    at_ns: i128,
    replace: bool,
    items: Vec<Item>,
    channels: u16,
    rate: u32,
) -> Box<Stream> {
    let cap = (AHEAD.as_secs_f64() * rate as f64) as usize * channels as usize;
    let (samples_tx, samples_rx) = rtrb::RingBuffer::new(cap.max(4096));
    let (markers_tx, markers_rx) = rtrb::RingBuffer::new(items.len() * 2 + 4);
    let decoded = Arc::new(AtomicBool::new(false));
    let cancel = Arc::new(AtomicBool::new(false));
    let (d2, c2) = (decoded.clone(), cancel.clone());
    std::thread::Builder::new()
        .name(format!("decode-{run}"))
        .spawn(move || feed(items, samples_tx, markers_tx, channels, rate, d2, c2))
        .expect("spawn decoder thread");
    Box::new(Stream::new(
        run, at_ns, replace, samples_rx, markers_rx, decoded, cancel,
    ))
}

fn feed(
    items: Vec<Item>,
    mut tx: rtrb::Producer<f32>,
    mut markers: rtrb::Producer<Marker>,
    channels: u16,
    rate: u32,
    decoded: Arc<AtomicBool>,
    cancel: Arc<AtomicBool>,
) {
    let mut frames: u64 = 0;
    let mut buf: Vec<f32> = Vec::with_capacity(4096);
    'items: for (i, item) in items.iter().enumerate() {
        let i = i as u32;
        let mut dec = match open(&item.path) {
            Ok(d) => d,
            Err(e) => {
                let _ = markers.push(Marker {
                    frame: frames,
                    item: i,
                    kind: MarkerKind::Failed(e),
                });
                continue;
            }
        };
        if !item.offset.is_zero() {
            if let Err(e) = dec.try_seek(item.offset) {
                tracing::warn!(
                    "cannot resume {} at {:?} ({e}); playing it from the start",
                    item.path.display(),
                    item.offset
                );
            }
        }
        let _ = markers.push(Marker {
            frame: frames,
            item: i,
            kind: MarkerKind::Start,
        });
        let start = frames;
        let mut src = converted(dec, channels, rate);
        let per_frame = channels as usize;
        loop {
            buf.clear();
            buf.extend(src.by_ref().take(2048 * per_frame).map(|s| s * item.gain));
            // Only whole frames go in, so markers stay on frame boundaries.
            buf.truncate(buf.len() / per_frame * per_frame);
            if buf.is_empty() {
                break;
            }
            let mut rest = &buf[..];
            while !rest.is_empty() {
                if cancel.load(Ordering::Relaxed) {
                    break 'items;
                }
                let n = tx.slots().min(rest.len()) / per_frame * per_frame;
                if n == 0 {
                    // The ring holds 1.5 s: waking 25 times a second keeps it full at little cost.
                    std::thread::sleep(Duration::from_millis(40));
                    continue;
                }
                if let Ok(mut chunk) = tx.write_chunk_uninit(n) {
                    let (a, b) = chunk.as_mut_slices();
                    let (x, y) = rest[..n].split_at(a.len());
                    for (d, s) in a.iter_mut().zip(x) {
                        d.write(*s);
                    }
                    for (d, s) in b.iter_mut().zip(y) {
                        d.write(*s);
                    }
                    // SAFETY: every slot of both slices was written just above.
                    unsafe { chunk.commit_all() };
                }
                frames += (n / per_frame) as u64;
                rest = &rest[n..];
            }
        }
        let got = Duration::from_secs_f64((frames - start) as f64 / rate as f64) + item.offset;
        let reason = item.expect.and_then(|want| {
            (got.as_secs_f64() < want.as_secs_f64() * 0.97 - 0.5).then(|| {
                format!(
                    "decoding stopped at {:.1}s of {:.1}s: the file is damaged or was replaced while airing",
                    got.as_secs_f64(),
                    want.as_secs_f64()
                )
            })
        });
        let _ = markers.push(Marker {
            frame: frames,
            item: i,
            kind: MarkerKind::End(reason),
        });
    }
    let _ = markers.push(Marker {
        frame: frames,
        item: u32::MAX,
        kind: MarkerKind::Eof,
    });
    decoded.store(true, Ordering::Relaxed);
}
