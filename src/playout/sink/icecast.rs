//! The `icecast` sink: the station as the source of an Icecast mount that IP loudspeakers
//! (cụm loa) pull. MP3 through LAME, or Opus (libopus) in Ogg, sent over a plain HTTP
//! `PUT` (Icecast 2.4's source protocol); the title on air goes to the mount's metadata
//! (MP3) or into the stream itself as a new Ogg link (Opus). Distribution to many
//! receivers is Icecast's job: loaxa sends one stream.
//!
//! The mount stays up between programmes (the master keeps rendering silence while an
//! Icecast output exists), so receivers never have to reconnect at a programme's start.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use base64::Engine;
use mp3lame_encoder::{Builder, Encoder, FlushNoGap, InterleavedPcm, Quality};

use super::{Block, Sink};
use crate::config::{Icecast, StreamFormat};

/// How long a connect, a write or the server's answer may take before the link counts as
/// lost (and is opened again, with a backoff).
const TIMEOUT: Duration = Duration::from_secs(3);

pub struct IcecastSink {
    spec: Icecast,
    conn: Option<TcpStream>,
    enc: Option<Encoder>,
    opus: Option<OpusOgg>,
    /// The stream's channels (LAME takes 1 or 2).
    channels: usize,
    /// The device's channels, of which the first one or two are sent.
    input_channels: usize,
    out: Vec<u8>,
    pcm: Vec<f32>,
    /// The title last sent to the mount.
    sent_title: Option<String>,
}

impl IcecastSink {
    pub fn new(spec: Icecast) -> IcecastSink {
        IcecastSink {
            spec,
            conn: None,
            enc: None,
            opus: None,
            channels: 2,
            input_channels: 2,
            out: Vec::with_capacity(1 << 16),
            pcm: Vec::with_capacity(1 << 16),
            sent_title: None,
        }
    }

    fn auth(&self) -> String {
        let raw = format!("{}:{}", self.spec.user, self.spec.password.0);
        base64::engine::general_purpose::STANDARD.encode(raw)
    }

    fn connect(&self) -> Result<TcpStream, String> {
        let addr = (self.spec.host.as_str(), self.spec.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot find {}: {e}", self.spec.host))?
            .next()
            .ok_or_else(|| format!("cannot find {}", self.spec.host))?;
        let s = TcpStream::connect_timeout(&addr, TIMEOUT)
            .map_err(|e| format!("cannot reach Icecast at {addr}: {e}"))?;
        s.set_write_timeout(Some(TIMEOUT))
            .map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(TIMEOUT))
            .map_err(|e| e.to_string())?;
        let _ = s.set_nodelay(true);
        Ok(s)
    }

    /// Sends the mount's title (what listeners' players show), through Icecast's admin
    /// interface with the source's own credentials. A failure costs only the title.
    fn send_title(&mut self, title: &str) {
        let q = percent_encoding::utf8_percent_encode(title, percent_encoding::NON_ALPHANUMERIC);
        let m = percent_encoding::utf8_percent_encode(
            &self.spec.mount,
            percent_encoding::NON_ALPHANUMERIC,
        );
        let req = format!(
            "GET /admin/metadata?mount={m}&mode=updinfo&charset=UTF-8&song={q} HTTP/1.0\r\nHost: {}:{}\r\nAuthorization: Basic {}\r\nUser-Agent: loaxa\r\n\r\n",
            self.spec.host,
            self.spec.port,
            self.auth()
        );
        let sent = self.connect().and_then(|mut s| {
            s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
            let mut answer = [0u8; 64];
            let n = s.read(&mut answer).map_err(|e| e.to_string())?;
            let line = String::from_utf8_lossy(&answer[..n]).to_string();
            if line.contains(" 200 ") {
                Ok(())
            } else {
                Err(line.lines().next().unwrap_or_default().to_string())
            }
        });
        match sent {
            Ok(()) => self.sent_title = Some(title.to_string()),
            Err(e) => tracing::debug!("icecast title: {e}"),
        }
    }
}

impl Sink for IcecastSink {
    fn open(&mut self, channels: u16, rate: u32) -> Result<(), String> {
        self.input_channels = channels.max(1) as usize;
        self.channels = self
            .input_channels
            .min(self.spec.channels.clamp(1, 2) as usize);
        let bitrate = match self.spec.bitrate {
            32 => mp3lame_encoder::Bitrate::Kbps32,
            40 => mp3lame_encoder::Bitrate::Kbps40,
            48 => mp3lame_encoder::Bitrate::Kbps48,
            56 | 64 => mp3lame_encoder::Bitrate::Kbps64,
            80 => mp3lame_encoder::Bitrate::Kbps80,
            96 => mp3lame_encoder::Bitrate::Kbps96,
            112 => mp3lame_encoder::Bitrate::Kbps112,
            160 => mp3lame_encoder::Bitrate::Kbps160,
            192 => mp3lame_encoder::Bitrate::Kbps192,
            224 => mp3lame_encoder::Bitrate::Kbps224,
            256 => mp3lame_encoder::Bitrate::Kbps256,
            320 => mp3lame_encoder::Bitrate::Kbps320,
            _ => mp3lame_encoder::Bitrate::Kbps128,
        };
        let (enc, opus) = match self.spec.format {
            StreamFormat::Mp3 => (Some(self.lame(rate, bitrate)?), None),
            StreamFormat::Opus => (
                None,
                Some(OpusOgg::new(rate, self.channels, self.spec.bitrate)?),
            ),
        };
        let s = self.source_request(rate)?;
        self.conn = Some(s);
        self.enc = enc;
        self.opus = opus;
        self.sent_title = None;
        Ok(())
    }

    fn write(&mut self, samples: &[f32], block: &Block) -> Result<u64, String> {
        self.encode_and_send(samples, block)
    }

    fn title(&mut self, title: &str) {
        if let Some(o) = self.opus.as_mut() {
            // Ogg carries its title in the stream: the next packet starts a new link.
            o.retitle(title);
            return;
        }
        if self.conn.is_some() && self.sent_title.as_deref() != Some(title) {
            self.send_title(title);
        }
    }

    fn close(&mut self) {
        if let (Some(enc), Some(conn)) = (self.enc.as_mut(), self.conn.as_mut()) {
            self.out.clear();
            if let Ok(n) = enc.flush_to_vec::<FlushNoGap>(&mut self.out) {
                let _ = conn.write_all(&self.out[..n]);
            }
        }
        self.conn = None;
        self.enc = None;
        self.opus = None;
    }

    fn continuous(&self) -> bool {
        true
    }
}

impl IcecastSink {
    fn lame(&self, rate: u32, bitrate: mp3lame_encoder::Bitrate) -> Result<Encoder, String> {
        let lame = |e: &dyn std::fmt::Debug| format!("the MP3 encoder refused its settings: {e:?}");
        Builder::new()
            .ok_or("the MP3 encoder cannot start")?
            .with_num_channels(self.channels as u8)
            .map_err(|e| lame(&e))?
            .with_sample_rate(rate)
            .map_err(|e| lame(&e))?
            .with_brate(bitrate)
            .map_err(|e| lame(&e))?
            // q=7: LAME's fast mode; speech on loudspeakers loses nothing, and encoding
            // costs about half of q=5.
            .with_quality(Quality::Ok)
            .map_err(|e| lame(&e))?
            .build()
            .map_err(|e| lame(&e))
    }

    /// Connects and announces the stream; Icecast answers 100 or 200 when it takes it.
    fn source_request(&self, rate: u32) -> Result<TcpStream, String> {
        let mut s = self.connect()?;
        let content_type = match self.spec.format {
            StreamFormat::Mp3 => "audio/mpeg",
            StreamFormat::Opus => "audio/ogg",
        };
        let mut head = format!(
            "PUT {} HTTP/1.1\r\nHost: {}:{}\r\nAuthorization: Basic {}\r\nUser-Agent: loaxa/{}\r\nContent-Type: {content_type}\r\nIce-Public: 0\r\nIce-Audio-Info: bitrate={};channels={};samplerate={rate}\r\nIce-Bitrate: {}\r\nExpect: 100-continue\r\n",
            self.spec.mount,
            self.spec.host,
            self.spec.port,
            self.auth(),
            env!("CARGO_PKG_VERSION"),
            self.spec.bitrate,
            self.channels,
            self.spec.bitrate,
        );
        for (k, v) in [
            ("Ice-Name", &self.spec.name),
            ("Ice-Description", &self.spec.description),
        ] {
            if let Some(v) = v {
                // Header values are one line of text.
                head.push_str(&format!("{k}: {}\r\n", v.replace(['\r', '\n'], " ")));
            }
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes())
            .map_err(|e| format!("cannot talk to Icecast: {e}"))?;
        let mut answer = Vec::new();
        let mut byte = [0u8; 1];
        while !answer.ends_with(b"\r\n\r\n") && answer.len() < 4096 {
            match s.read(&mut byte) {
                Ok(1) => answer.push(byte[0]),
                Ok(_) => break,
                Err(e) => return Err(format!("Icecast did not answer: {e}")),
            }
        }
        let status = String::from_utf8_lossy(&answer);
        let line = status.lines().next().unwrap_or_default().to_string();
        let code = line.split_whitespace().nth(1).unwrap_or_default();
        match code {
            "100" | "200" => {}
            "401" => {
                return Err(format!(
                    "Icecast refused the password for {} ({line}) — check the source password",
                    self.spec.mount
                ))
            }
            "403" => {
                return Err(format!(
                    "Icecast refused mount {} ({line}) — another source uses it, or the mount is not allowed",
                    self.spec.mount
                ))
            }
            _ => return Err(format!("Icecast refused the stream: {line}")),
        }
        Ok(s)
    }

    fn encode_and_send(&mut self, samples: &[f32], _block: &Block) -> Result<u64, String> {
        if let (Some(o), Some(conn)) = (self.opus.as_mut(), self.conn.as_mut()) {
            let bytes = o.push(samples, self.input_channels)?;
            conn.write_all(&bytes)
                .map_err(|e| format!("the Icecast connection broke: {e}"))?;
            return Ok(bytes.len() as u64);
        }
        let (Some(enc), Some(conn)) = (self.enc.as_mut(), self.conn.as_mut()) else {
            return Err("not open".into());
        };
        let input: &[f32] = if self.input_channels == self.channels {
            samples
        } else {
            self.pcm.clear();
            fit(samples, self.input_channels, self.channels, &mut self.pcm);
            &self.pcm
        };
        self.out.clear();
        self.out.reserve(mp3lame_encoder::max_required_buffer_size(
            input.len() / self.channels,
        ));
        let n = if self.channels == 1 {
            enc.encode_to_vec(mp3lame_encoder::MonoPcm(input), &mut self.out)
        } else {
            enc.encode_to_vec(InterleavedPcm(input), &mut self.out)
        }
        .map_err(|e| format!("the MP3 encoder failed: {e:?}"))?;
        conn.write_all(&self.out[..n])
            .map_err(|e| format!("the Icecast connection broke: {e}"))?;
        Ok(n as u64)
    }
}

/// The output's frames as the stream's channels: mono is the mix of every channel (a
/// loudspeaker cluster is mono), two channels the first two of more.
fn fit(samples: &[f32], input: usize, channels: usize, out: &mut Vec<f32>) {
    for f in samples.chunks_exact(input) {
        if channels == 1 {
            out.push(f.iter().sum::<f32>() / input as f32);
        } else {
            out.extend_from_slice(&f[..channels.min(input)]);
        }
    }
}

/// Opus in Ogg, 20 ms packets, each on a page of its own (a receiver gets audio at once).
/// A new title ends the logical stream and starts the next (a chained Ogg stream, which
/// Icecast and players read as a title change).
struct OpusOgg {
    enc: opus::Encoder,
    channels: usize,
    pending: Vec<f32>,
    pages: ogg::PacketWriter<'static, Vec<u8>>,
    serial: u32,
    granule: u64,
    pre_skip: u16,
    packet: Vec<u8>,
    /// Whether the current link has its header pages out.
    started: bool,
    title: String,
    next_title: Option<String>,
}

/// Samples per channel in one Opus packet (20 ms at 48 kHz).
const OPUS_FRAME: usize = 960;

impl OpusOgg {
    fn new(rate: u32, channels: usize, kbps: u32) -> Result<OpusOgg, String> {
        if rate != 48_000 {
            return Err(format!(
                "Opus streams need the output at 48 kHz; it runs at {rate} Hz — use `format: mp3`, or a sound card at 48 kHz"
            ));
        }
        let ch = if channels == 1 {
            opus::Channels::Mono
        } else {
            opus::Channels::Stereo
        };
        let fail = |e: opus::Error| format!("the Opus encoder refused its settings: {e}");
        let mut enc = opus::Encoder::new(48_000, ch, opus::Application::Audio).map_err(fail)?;
        enc.set_bitrate(opus::Bitrate::Bits(kbps as i32 * 1000))
            .map_err(fail)?;
        let pre_skip = enc.get_lookahead().map_err(fail)?.max(0) as u16;
        Ok(OpusOgg {
            enc,
            channels,
            pending: Vec::with_capacity(OPUS_FRAME * 4),
            pages: ogg::PacketWriter::new(Vec::with_capacity(1 << 14)),
            serial: rand_serial(),
            granule: 0,
            pre_skip,
            packet: vec![0u8; 4000],
            started: false,
            title: String::new(),
            next_title: None,
        })
    }

    fn retitle(&mut self, title: &str) {
        if title != self.title {
            self.next_title = Some(title.to_string());
        }
    }

    fn headers(&mut self) -> Result<(), String> {
        let mut head = b"OpusHead".to_vec();
        head.push(1);
        head.push(self.channels as u8);
        head.extend_from_slice(&self.pre_skip.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes());
        head.push(0);
        let vendor = concat!("loaxa ", env!("CARGO_PKG_VERSION"));
        let mut tags = b"OpusTags".to_vec();
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor.as_bytes());
        let comments: Vec<String> = if self.title.is_empty() {
            vec![]
        } else {
            vec![format!("TITLE={}", self.title)]
        };
        tags.extend_from_slice(&(comments.len() as u32).to_le_bytes());
        for c in &comments {
            tags.extend_from_slice(&(c.len() as u32).to_le_bytes());
            tags.extend_from_slice(c.as_bytes());
        }
        let end = ogg::PacketWriteEndInfo::EndPage;
        let io = |e: std::io::Error| e.to_string();
        self.pages
            .write_packet(head, self.serial, end, 0)
            .map_err(io)?;
        self.pages
            .write_packet(tags, self.serial, end, 0)
            .map_err(io)?;
        self.started = true;
        self.granule = 0;
        Ok(())
    }

    /// Takes interleaved audio of `input_channels`; returns the Ogg pages ready to send.
    fn push(&mut self, samples: &[f32], input_channels: usize) -> Result<Vec<u8>, String> {
        if input_channels == self.channels {
            self.pending.extend_from_slice(samples);
        } else {
            fit(samples, input_channels, self.channels, &mut self.pending);
        }
        if !self.started {
            self.headers()?;
        }
        let n = OPUS_FRAME * self.channels;
        while self.pending.len() >= n {
            let len = self
                .enc
                .encode_float(&self.pending[..n], &mut self.packet)
                .map_err(|e| format!("the Opus encoder failed: {e}"))?;
            self.pending.drain(..n);
            self.granule += OPUS_FRAME as u64;
            let next = self.next_title.take();
            let end = if next.is_some() {
                ogg::PacketWriteEndInfo::EndStream
            } else {
                ogg::PacketWriteEndInfo::EndPage
            };
            self.pages
                .write_packet(self.packet[..len].to_vec(), self.serial, end, self.granule)
                .map_err(|e| e.to_string())?;
            if let Some(t) = next {
                // The next link: its own serial and headers, the new title.
                self.title = t;
                self.serial = self.serial.wrapping_add(1);
                self.headers()?;
            }
        }
        Ok(std::mem::take(self.pages.inner_mut()))
    }
}

/// A stream serial that differs from one start to the next.
fn rand_serial() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (t.as_nanos() as u32) ^ std::process::id()
}
