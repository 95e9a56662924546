//! The `icecast` sink: the station as the source of an Icecast mount that IP loudspeakers
//! (cụm loa) pull. MP3 through LAME, sent over a plain HTTP `PUT` (Icecast 2.4's source
//! protocol); the title on air goes to the mount's metadata. Distribution to many
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
use crate::config::Icecast;

/// How long a connect, a write or the server's answer may take before the link counts as
/// lost (and is opened again, with a backoff).
const TIMEOUT: Duration = Duration::from_secs(3);

pub struct IcecastSink {
    spec: Icecast,
    conn: Option<TcpStream>,
    enc: Option<Encoder>,
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
        self.channels = self.input_channels.min(2);
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
        let lame = |e: &dyn std::fmt::Debug| format!("the MP3 encoder refused its settings: {e:?}");
        let enc = Builder::new()
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
            .map_err(|e| lame(&e))?;
        let mut s = self.connect()?;
        let mut head = format!(
            "PUT {} HTTP/1.1\r\nHost: {}:{}\r\nAuthorization: Basic {}\r\nUser-Agent: loaxa/{}\r\nContent-Type: audio/mpeg\r\nIce-Public: 0\r\nIce-Audio-Info: bitrate={};channels={};samplerate={rate}\r\nIce-Bitrate: {}\r\nExpect: 100-continue\r\n",
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
        self.conn = Some(s);
        self.enc = Some(enc);
        self.sent_title = None;
        Ok(())
    }

    fn write(&mut self, samples: &[f32], _block: &Block) -> Result<u64, String> {
        let (Some(enc), Some(conn)) = (self.enc.as_mut(), self.conn.as_mut()) else {
            return Err("not open".into());
        };
        let input: &[f32] = if self.input_channels == self.channels {
            samples
        } else {
            // More channels than MP3 carries: the first two.
            self.pcm.clear();
            for f in samples.chunks_exact(self.input_channels) {
                self.pcm.extend_from_slice(&f[..self.channels]);
            }
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

    fn title(&mut self, title: &str) {
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
    }

    fn continuous(&self) -> bool {
        true
    }
}
