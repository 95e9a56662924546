//! Decoding a file at the output's rate and channels, a block at a time, with a gain:
//! what the playout's feeder threads and `simulate --output wav:` read sources through.
//!
//! A file already at the output's rate (the common case: the device is opened at the
//! material's rate) is decoded with symphonia directly, a packet at a time; rodio's
//! per-sample iterator chain cost more CPU than the MP3 decoding itself. Files that need
//! resampling go through rodio's `UniformSourceIterator`.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use rodio::source::UniformSourceIterator;
use rodio::{Decoder, Source};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatReader, SeekMode, SeekTo};

/// Opens a decoder for a file: seekable, with its length, so m4a and ogg decode fully.
pub fn open(path: &Path) -> Result<Decoder<File>, String> {
    let f = crate::media::open_file(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
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
    resampled(SpanFix(dec), channels, rate)
}

fn resampled<S: Source>(src: S, channels: u16, rate: u32) -> impl Iterator<Item = f32> {
    let ch = std::num::NonZero::new(channels).expect("channels > 0");
    let sr = std::num::NonZero::new(rate).expect("rate > 0");
    UniformSourceIterator::new(src, ch, sr)
}

/// A file `Direct` decodes at its own rate, as a rodio source to resample: for codecs
/// rodio's decoder lacks.
struct Native {
    d: Direct,
    channels: u16,
    block: Vec<f32>,
    at: usize,
}

impl Iterator for Native {
    type Item = f32;
    fn next(&mut self) -> Option<f32> {
        if self.at == self.block.len() {
            self.block.clear();
            self.at = 0;
            if !self.d.next_block(1.0, self.channels, &mut self.block) {
                return None;
            }
        }
        self.at += 1;
        self.block.get(self.at - 1).copied()
    }
}

impl Source for Native {
    fn current_span_len(&self) -> Option<usize> {
        None
    }
    fn channels(&self) -> rodio::ChannelCount {
        std::num::NonZero::new(self.channels).expect("channels > 0")
    }
    fn sample_rate(&self) -> rodio::SampleRate {
        std::num::NonZero::new(self.d.rate).expect("an Opus stream states its rate")
    }
    fn total_duration(&self) -> Option<Duration> {
        None
    }
}

/// A file at the output's rate, decoded packet by packet with symphonia (gapless: MP3
/// encoder delay and padding are trimmed, as rodio does).
pub struct Direct {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn symphonia::core::codecs::Decoder>,
    track: u32,
    rate: u32,
    samples: Option<SampleBuffer<f32>>,
    /// Frames still to drop after a seek landed before the wanted instant.
    skip: u64,
}

impl Direct {
    /// Opens `path` for direct decoding; `Ok(None)` when it needs resampling (rodio does that).
    pub fn open(path: &Path, rate: u32) -> Result<Option<Direct>, String> {
        let d = Direct::native(path)?;
        Ok((d.rate == rate).then_some(d))
    }

    /// Opens `path` for decoding at its own rate.
    fn native(path: &Path) -> Result<Direct, String> {
        let format = crate::media::probe::open(path, true)
            .map_err(|e| format!("cannot decode {}: {e}", path.display()))?
            .format;
        let Some(track) = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        else {
            return Err(format!("cannot decode {}: no audio track", path.display()));
        };
        let p = &track.codec_params;
        let decoder = super::opus::codecs()
            .make(p, &DecoderOptions::default())
            .map_err(|e| format!("cannot decode {}: {e}", path.display()))?;
        let (track, rate) = (track.id, super::opus::output_rate(p).unwrap_or(0));
        Ok(Direct {
            format,
            decoder,
            track,
            rate,
            samples: None,
            skip: 0,
        })
    }

    /// Whether rodio's own decoder lacks this codec (Opus is only in loaxa's registry).
    fn beyond_rodio(&self) -> bool {
        symphonia::default::get_codecs()
            .get_codec(self.decoder.codec_params().codec)
            .is_none()
    }

    /// Moves to `pos` exactly: seeks to the packet before it, then drops frames up to it.
    pub fn seek(&mut self, pos: Duration) -> Result<(), String> {
        let to = self
            .format
            .seek(
                SeekMode::Accurate,
                SeekTo::Time {
                    time: pos.into(),
                    track_id: Some(self.track),
                },
            )
            .map_err(|e| e.to_string())?;
        self.decoder.reset();
        self.skip = to.required_ts.saturating_sub(to.actual_ts);
        Ok(())
    }

    /// Appends the next packet's frames, converted to `channels` and multiplied by `gain`,
    /// to `out`. False at the end of the file (or at an error it cannot decode past).
    pub fn next_block(&mut self, gain: f32, channels: u16, out: &mut Vec<f32>) -> bool {
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(_) => return false,
            };
            if packet.track_id() != self.track {
                continue;
            }
            let audio = match self.decoder.decode(&packet) {
                Ok(a) => a,
                // A damaged packet: skip it, as rodio does; the length check catches a file
                // that stops decoding altogether.
                Err(SymError::DecodeError(_)) => continue,
                Err(_) => return false,
            };
            let spec = *audio.spec();
            if spec.rate != self.rate {
                return false;
            }
            let n = audio.frames();
            let drop = (self.skip.min(n as u64)) as usize;
            self.skip -= drop as u64;
            if n == drop {
                continue;
            }
            let cin = spec.channels.count();
            if self
                .samples
                .as_ref()
                .is_none_or(|b| b.capacity() < audio.capacity() * cin)
            {
                self.samples = Some(SampleBuffer::new(audio.capacity() as u64, spec));
            }
            let b = self.samples.as_mut().expect("just set");
            b.copy_interleaved_ref(audio);
            let s = &b.samples()[drop * cin..n * cin];
            map_channels(s, cin, channels as usize, gain, out);
            return true;
        }
    }
}

/// Appends interleaved frames of `cin` channels to `out` as `cout` channels, times `gain`.
pub fn map_channels(s: &[f32], cin: usize, cout: usize, gain: f32, out: &mut Vec<f32>) {
    if cin == cout {
        out.extend(s.iter().map(|x| x * gain));
    } else if cout == 1 {
        // Down to mono: the average, so a voice on one side is not lost.
        let k = gain / cin as f32;
        out.extend(s.chunks_exact(cin).map(|f| f.iter().sum::<f32>() * k));
    } else {
        // Mono to every output channel; otherwise channel to channel, extra ones
        // dropped, missing ones silent (as rodio maps them).
        for f in s.chunks_exact(cin) {
            out.extend((0..cout).map(|c| match (cin, f.get(c)) {
                (1, _) => f[0] * gain,
                (_, Some(x)) => x * gain,
                (_, None) => 0.0,
            }));
        }
    }
}

/// A file's samples at the output's rate and channels, read a block at a time.
pub enum Reader {
    Direct(Direct),
    Converted(Box<dyn Iterator<Item = f32> + Send>),
}

impl Reader {
    /// Opens `path` at `offset` (resuming after an emergency) for an output of `channels`
    /// at `rate`; a failed seek plays from the start, with a warning.
    pub fn open(path: &Path, offset: Duration, channels: u16, rate: u32) -> Result<Reader, String> {
        let seek_failed = |e: &dyn std::fmt::Display| {
            tracing::warn!(
                "cannot resume {} at {:?} ({e}); playing it from the start",
                path.display(),
                offset
            )
        };
        if let Some(mut d) = Direct::open(path, rate)? {
            if !offset.is_zero() {
                if let Err(e) = d.seek(offset) {
                    seek_failed(&e);
                    d = Direct::open(path, rate)?.expect("opened just before");
                }
            }
            return Ok(Reader::Direct(d));
        }
        let native = Direct::native(path)?;
        if native.beyond_rodio() && native.rate > 0 {
            let p = native.decoder.codec_params();
            let ch = p
                .channels
                .or(p.channel_layout.map(|l| l.into_channels()))
                .map_or(1, |c| c.count()) as u16;
            let mut src = Native {
                d: native,
                channels: ch.clamp(1, 2),
                block: Vec::new(),
                at: 0,
            };
            if !offset.is_zero() {
                if let Err(e) = src.d.seek(offset) {
                    seek_failed(&e);
                    src.d = Direct::native(path)?;
                }
            }
            return Ok(Reader::Converted(Box::new(resampled(src, channels, rate))));
        }
        let mut dec = open(path)?;
        if !offset.is_zero() {
            if let Err(e) = dec.try_seek(offset) {
                seek_failed(&e);
            }
        }
        Ok(Reader::Converted(Box::new(converted(dec, channels, rate))))
    }

    /// Appends the next block of whole frames to `out`; false at the end.
    pub fn next_block(&mut self, gain: f32, channels: u16, out: &mut Vec<f32>) -> bool {
        match self {
            Reader::Direct(d) => d.next_block(gain, channels, out),
            Reader::Converted(it) => {
                let per_frame = channels as usize;
                out.extend(it.by_ref().take(2048 * per_frame).map(|s| s * gain));
                // Only whole frames go in, so markers stay on frame boundaries.
                out.truncate(out.len() / per_frame * per_frame);
                !out.is_empty()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::path::PathBuf;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/audio")
            .join(name)
    }

    fn direct_all(path: &Path, channels: u16, offset: Duration) -> Vec<f32> {
        let rate = crate::media::probe::header(path).unwrap().sample_rate;
        let mut d = Direct::open(path, rate)
            .unwrap()
            .unwrap_or_else(|| panic!("{}: no direct path", path.display()));
        if !offset.is_zero() {
            d.seek(offset).unwrap();
        }
        let mut out = Vec::new();
        while d.next_block(0.5, channels, &mut out) {}
        out
    }

    fn rodio_all(path: &Path, channels: u16) -> Vec<f32> {
        let rate = crate::media::probe::header(path).unwrap().sample_rate;
        converted(open(path).unwrap(), channels, rate)
            .map(|s| s * 0.5)
            .collect()
    }

    /// The direct path must give exactly what rodio's chain gives for the same format:
    /// same length (gapless trimming included), same samples, gain applied.
    #[test]
    fn direct_decoding_matches_rodio_sample_for_sample() {
        for (name, channels) in [
            ("tone-1s2-a.mp3", 1),
            ("tone-1s2-a.mp3", 2),
            ("voice.mp3", 2),
            ("voice-vbr-noxing.mp3", 1),
            ("voice.flac", 2),
            ("voice.ogg", 1),
            ("voice.m4a", 1),
            ("voice.wav", 2),
            ("stereo-44k.flac", 2),
        ] {
            let path = fixture(name);
            let a = direct_all(&path, channels, Duration::ZERO);
            let b = rodio_all(&path, channels);
            assert!(a.len() > 1000, "{name}: decoded {} samples", a.len());
            assert_eq!(a.len(), b.len(), "{name} → {channels} ch: length");
            let worst = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-6, "{name} → {channels} ch: differs by {worst}");
        }
    }

    #[test]
    fn direct_decoding_downmixes_stereo_to_mono_by_averaging() {
        let path = fixture("stereo-44k.flac");
        let stereo = direct_all(&path, 2, Duration::ZERO);
        let mono = direct_all(&path, 1, Duration::ZERO);
        assert_eq!(mono.len() * 2, stereo.len());
        for (m, f) in mono.iter().zip(stereo.chunks_exact(2)) {
            assert!((m - (f[0] + f[1]) / 2.0).abs() < 1e-6);
        }
    }

    /// Resuming after an emergency: a seek lands on the exact frame.
    #[test]
    fn direct_seek_resumes_on_the_exact_frame() {
        for name in ["voice.flac", "voice.wav", "tone-1s2-a.mp3"] {
            let path = fixture(name);
            let rate = crate::media::probe::header(&path).unwrap().sample_rate;
            let full = direct_all(&path, 1, Duration::ZERO);
            let at = Duration::from_millis(500);
            let rest = direct_all(&path, 1, at);
            let skip = (0.5 * rate as f64) as usize;
            assert_eq!(rest.len(), full.len() - skip, "{name}: length after seek");
            // MP3 frames lean on earlier ones (bit reservoir): allow the first packets to
            // differ, then the audio must be the same.
            let settle = 2304.min(rest.len());
            let worst = rest[settle..]
                .iter()
                .zip(&full[skip + settle..])
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-4, "{name}: differs by {worst} after the seek");
        }
    }

    #[test]
    fn files_needing_resampling_go_through_rodio() {
        let path = fixture("voice.mp3");
        assert!(Direct::open(&path, 48_000).unwrap().is_none());
        assert!(Direct::open(&path, 16_000).unwrap().is_some());
    }

    fn reader_all(path: &Path, offset: Duration, channels: u16, rate: u32) -> Vec<f32> {
        let mut r = Reader::open(path, offset, channels, rate).unwrap();
        let mut out = Vec::new();
        let mut block = Vec::new();
        while r.next_block(1.0, channels, &mut block) {
            out.append(&mut block);
        }
        out
    }

    #[test]
    fn opus_and_aac_from_phones_and_browsers_play_at_any_output_rate() {
        for name in [
            "voice.opus",
            "voice.webm",
            "voice-fragmented.mp4",
            "chrome-recorder.webm",
        ] {
            for (channels, rate) in [(2u16, 48_000u32), (1, 44_100), (1, 16_000)] {
                let s = reader_all(&fixture(name), Duration::ZERO, channels, rate);
                let secs = s.len() as f64 / channels as f64 / rate as f64;
                assert!((2.8..3.3).contains(&secs), "{name} at {rate} Hz: {secs} s");
                let peak = s.iter().fold(0f32, |m, x| m.max(x.abs()));
                assert!(peak > 0.1, "{name} at {rate} Hz is not silent: {peak}");
            }
        }
    }

    #[test]
    fn an_opus_file_resumes_where_it_was_cut_at_any_rate() {
        for rate in [48_000, 16_000] {
            let whole = reader_all(&fixture("voice.opus"), Duration::ZERO, 1, rate);
            let rest = reader_all(&fixture("voice.opus"), Duration::from_secs(1), 1, rate);
            let cut = whole.len() as f64 / rate as f64 - rest.len() as f64 / rate as f64;
            assert!(
                (cut - 1.0).abs() < 0.03,
                "at {rate} Hz the seek cut {cut} s"
            );
        }
    }
}
