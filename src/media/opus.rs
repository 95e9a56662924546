//! Opus decoding for symphonia, through libopus: what phones, browsers and chat apps
//! record (Ogg Opus from Zalo/Telegram voice notes, WebM Opus from Chrome's and Android's
//! MediaRecorder) and what Opus relays send. symphonia demuxes Ogg and WebM but has no
//! Opus decoder; registering this one beside its own codecs lets every reader (the
//! library's analysis, the playout, the relays) open Opus like any other codec.

use std::sync::{Mutex, OnceLock};

use symphonia::core::audio::{AsAudioBufferRef, AudioBuffer, AudioBufferRef, Layout, Signal};
use symphonia::core::audio::{Channels, SignalSpec};
use symphonia::core::codecs::{
    CodecDescriptor, CodecParameters, CodecRegistry, Decoder, DecoderOptions, FinalizeResult,
    CODEC_TYPE_OPUS,
};
use symphonia::core::errors::{decode_error, unsupported_error, Result};
use symphonia::core::formats::Packet;
use symphonia::core::support_codec;

/// Every codec loaxa decodes: symphonia's, and Opus.
pub fn codecs() -> &'static CodecRegistry {
    static REGISTRY: OnceLock<CodecRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut r = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut r);
        r.register_all::<OpusDecoder>();
        r
    })
}

/// The rate a track's decoded frames come at: what its header states, except for Opus,
/// always decoded at 48 kHz (WebM states the rate the encoder was given instead).
pub fn output_rate(p: &CodecParameters) -> Option<u32> {
    if p.codec == CODEC_TYPE_OPUS {
        Some(48_000)
    } else {
        p.sample_rate
    }
}

/// The longest Opus packet: 120 ms at 48 kHz.
const MAX_FRAMES: usize = 48_000 * 120 / 1000;

/// libopus behind symphonia's decoder trait (mono and stereo, as every recorder writes).
pub struct OpusDecoder {
    params: CodecParameters,
    /// libopus' decoder is `Send` only; the trait wants `Sync` too.
    decoder: Mutex<opus::Decoder>,
    channels: usize,
    pcm: Vec<f32>,
    buf: AudioBuffer<f32>,
    /// Frames still to drop at the start: the stream's pre-skip, when the container did
    /// not already account for it (Ogg states it as the track's delay; WebM does not).
    pre_skip: usize,
}

impl OpusDecoder {
    fn layout(channels: usize) -> Channels {
        if channels == 1 {
            Layout::Mono.into_channels()
        } else {
            Layout::Stereo.into_channels()
        }
    }
}

/// The pre-skip field of an `OpusHead` (RFC 7845, 5.1): frames at 48 kHz to discard.
fn pre_skip(head: &[u8]) -> Option<usize> {
    if head.len() >= 12 && head.starts_with(b"OpusHead") {
        Some(u16::from_le_bytes([head[10], head[11]]) as usize)
    } else {
        None
    }
}

impl Decoder for OpusDecoder {
    fn try_new(params: &CodecParameters, _: &DecoderOptions) -> Result<Self> {
        let channels = params
            .channels
            .or(params.channel_layout.map(|l| l.into_channels()))
            .map(|c| c.count())
            .or_else(|| {
                params
                    .extra_data
                    .as_deref()
                    .and_then(|h| h.get(9))
                    .map(|&c| c as usize)
            })
            .unwrap_or(0);
        if !(1..=2).contains(&channels) {
            return unsupported_error("opus: only mono and stereo are supported");
        }
        let c = if channels == 1 {
            opus::Channels::Mono
        } else {
            opus::Channels::Stereo
        };
        // Decoded at 48 kHz whatever the input rate was: the rate every Opus stream states.
        let Ok(decoder) = opus::Decoder::new(48_000, c) else {
            return unsupported_error("opus: libopus refused the stream's parameters");
        };
        let pre_skip = match params.delay {
            Some(_) => 0,
            None => params.extra_data.as_deref().and_then(pre_skip).unwrap_or(0),
        };
        let spec = SignalSpec::new(48_000, Self::layout(channels));
        Ok(OpusDecoder {
            params: params.clone(),
            decoder: Mutex::new(decoder),
            channels,
            pcm: vec![0.0; MAX_FRAMES * channels],
            buf: AudioBuffer::new(MAX_FRAMES as u64, spec),
            pre_skip,
        })
    }

    fn supported_codecs() -> &'static [CodecDescriptor] {
        &[support_codec!(CODEC_TYPE_OPUS, "opus", "Opus (libopus)")]
    }

    fn reset(&mut self) {
        if let Ok(mut d) = self.decoder.lock() {
            let _ = d.reset_state();
        }
    }

    fn codec_params(&self) -> &CodecParameters {
        &self.params
    }

    fn decode(&mut self, packet: &Packet) -> Result<AudioBufferRef<'_>> {
        let n = {
            let Ok(mut d) = self.decoder.lock() else {
                return decode_error("opus: decoder poisoned");
            };
            match d.decode_float(&packet.data, &mut self.pcm, false) {
                Ok(n) => n,
                Err(_) => return decode_error("opus: damaged packet"),
            }
        };
        self.buf.clear();
        self.buf.render_reserved(Some(n));
        let pcm = &self.pcm[..n * self.channels];
        if self.channels == 1 {
            self.buf.chan_mut(0).copy_from_slice(pcm);
        } else {
            let (l, r) = self.buf.chan_pair_mut(0, 1);
            for (i, f) in pcm.chunks_exact(2).enumerate() {
                l[i] = f[0];
                r[i] = f[1];
            }
        }
        let skip = self.pre_skip.min(n);
        self.pre_skip -= skip;
        let start = (packet.trim_start() as usize + skip).min(n);
        let end = (packet.trim_end() as usize).min(n - start);
        self.buf.trim(start, end);
        Ok(self.buf.as_audio_buffer_ref())
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> AudioBufferRef<'_> {
        self.buf.as_audio_buffer_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pre_skip_is_read_from_the_opus_head() {
        let mut head = b"OpusHead".to_vec();
        head.extend([1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0]);
        assert_eq!(pre_skip(&head), Some(312));
        assert_eq!(pre_skip(b"OpusTags"), None);
    }

    #[test]
    fn opus_is_in_the_registry_beside_symphonias_codecs() {
        assert!(codecs().get_codec(CODEC_TYPE_OPUS).is_some());
        assert!(codecs()
            .get_codec(symphonia::core::codecs::CODEC_TYPE_MP3)
            .is_some());
    }
}
