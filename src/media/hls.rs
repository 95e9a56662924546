//! HLS (HTTP Live Streaming, `.m3u8`) as a relay's byte stream: the playlist is followed
//! and its segments fetched in turn, and what they carry is handed on as one continuous
//! elementary stream (ADTS AAC or MP3) the stream's decoder reads like an Icecast body.
//! Segments may be MPEG-TS (what VOV and ffmpeg's HLS muxer serve; demuxed with
//! `mpeg2ts`) or packed audio (`.aac`, `.mp3`, their ID3 timestamps dropped).
//!
//! Reading blocks at the live edge until the playlist lists the next segment; a playlist
//! that stops advancing for three target durations is an error (the upstream is gone).
//! The next sequence number is kept across reconnections, so a stale playlist never makes
//! a relay air the same minutes twice.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use m3u8_rs::Playlist;

/// Whether a response is an HLS playlist (by its type, else by its address).
pub fn is_playlist(ctype: &str, url: &str) -> bool {
    ctype.contains("mpegurl")
        || url
            .split(['?', '#'])
            .next()
            .unwrap_or("")
            .ends_with(".m3u8")
}

/// Playlists and segments larger than this are refused (a wrong address, not a stream).
const MAX_BODY: u64 = 16 << 20;
/// A live relay starts this many segments behind the playlist's end (the spec's advice:
/// enough in hand to ride out a late segment).
const START_BEHIND: usize = 3;
/// `next` before any segment was taken.
pub const UNSET: u64 = u64::MAX;

/// The segments of a media playlist, read as one stream.
pub struct Segments {
    agent: ureq::Agent,
    playlist: url::Url,
    target: Duration,
    /// Listed segments not fetched yet: (sequence, address).
    listed: std::collections::VecDeque<(u64, url::Url)>,
    /// The next sequence to air; shared with the reconnecting loop.
    next: Arc<AtomicU64>,
    ended: bool,
    /// When the playlist last listed something new.
    advanced: Instant,
    cur: Vec<u8>,
    pos: usize,
    /// The audio stream id picked in MPEG-TS segments.
    pes_id: Option<u8>,
    /// Whether the stream is no longer wanted.
    stop: Stop,
}

/// Says whether reading should stop.
pub type Stop = Arc<dyn Fn() -> bool + Send + Sync>;

impl Segments {
    /// Starts from a playlist fetched from `url` (after redirects); a master playlist's
    /// first audio variant is followed. The first segment is fetched now, so the format is
    /// known: returns it with the hint for the decoder (`aac` or `mp3`).
    pub fn open(
        agent: ureq::Agent,
        url: &str,
        body: &[u8],
        next: Arc<AtomicU64>,
        stop: Stop,
    ) -> Result<(Segments, &'static str), String> {
        let mut at = url::Url::parse(url).map_err(|e| format!("bad playlist address: {e}"))?;
        let media = match m3u8_rs::parse_playlist_res(body) {
            Ok(Playlist::MediaPlaylist(m)) => m,
            Ok(Playlist::MasterPlaylist(m)) => {
                let v = m
                    .variants
                    .iter()
                    .find(|v| !v.is_i_frame)
                    .ok_or("the HLS master playlist lists no stream")?;
                at = at
                    .join(&v.uri)
                    .map_err(|e| format!("bad variant address {}: {e}", v.uri))?;
                let body = get(&agent, at.as_str())?;
                match m3u8_rs::parse_playlist_res(&body) {
                    Ok(Playlist::MediaPlaylist(m)) => m,
                    _ => return Err(format!("{at} is not an HLS media playlist")),
                }
            }
            Err(_) => return Err("the HLS playlist cannot be read".into()),
        };
        let mut s = Segments {
            agent,
            target: Duration::from_secs(media.target_duration.max(1)),
            playlist: at,
            listed: Default::default(),
            next,
            ended: false,
            advanced: Instant::now(),
            cur: Vec::new(),
            pos: 0,
            pes_id: None,
            stop,
        };
        let start = media.media_sequence
            + if media.end_list {
                0
            } else {
                media.segments.len().saturating_sub(START_BEHIND) as u64
            };
        if s.next.load(Ordering::Relaxed) == UNSET {
            s.next.store(start, Ordering::Relaxed);
        }
        s.list(&media)?;
        let n = s.next.load(Ordering::Relaxed);
        if s.ended && s.listed.iter().all(|(q, _)| *q < n) {
            return Err("the HLS stream has ended (its playlist is closed)".into());
        }
        if !s.fill().map_err(|e| e.to_string())? {
            return Err("the HLS stream has ended (its playlist is closed)".into());
        }
        let hint = if is_adts(&s.cur[s.pos..]) {
            "aac"
        } else {
            "mp3"
        };
        Ok((s, hint))
    }

    /// Adds what the playlist lists beyond what is already known.
    fn list(&mut self, m: &m3u8_rs::MediaPlaylist) -> Result<(), String> {
        let next = self.next.load(Ordering::Relaxed);
        let known = self.listed.back().map(|(q, _)| q + 1).unwrap_or(next);
        for (i, seg) in m.segments.iter().enumerate() {
            let q = m.media_sequence + i as u64;
            if q < known {
                continue;
            }
            let u = self
                .playlist
                .join(&seg.uri)
                .map_err(|e| format!("bad segment address {}: {e}", seg.uri))?;
            self.listed.push_back((q, u));
            self.advanced = Instant::now();
        }
        self.ended = m.end_list;
        Ok(())
    }

    /// Fetches segments until there are bytes to read (blocking at the live edge).
    fn fill(&mut self) -> std::io::Result<bool> {
        use std::io::{Error, ErrorKind};
        while self.pos >= self.cur.len() {
            if (self.stop)() {
                return Err(Error::other("stopped"));
            }
            if let Some((q, u)) = self.listed.pop_front() {
                if q < self.next.load(Ordering::Relaxed) {
                    continue;
                }
                let body = get(&self.agent, u.as_str()).map_err(Error::other)?;
                self.cur = self.elementary(body);
                self.pos = 0;
                self.next.store(q + 1, Ordering::Relaxed);
                continue;
            }
            if self.ended {
                return Ok(false);
            }
            if self.advanced.elapsed() > self.target * 3 {
                return Err(Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "the HLS playlist has listed nothing new for {} s",
                        self.advanced.elapsed().as_secs()
                    ),
                ));
            }
            // At the live edge: look again in half a target duration.
            let until = Instant::now() + self.target / 2;
            while Instant::now() < until && !(self.stop)() {
                std::thread::sleep(Duration::from_millis(50));
            }
            let body = get(&self.agent, self.playlist.as_str()).map_err(Error::other)?;
            match m3u8_rs::parse_playlist_res(&body) {
                Ok(Playlist::MediaPlaylist(m)) => {
                    // Fallen behind the playlist's window: skip to what is still there.
                    if m.media_sequence > self.next.load(Ordering::Relaxed) {
                        self.next.store(m.media_sequence, Ordering::Relaxed);
                    }
                    self.list(&m).map_err(Error::other)?;
                }
                _ => return Err(Error::other("the HLS playlist cannot be read")),
            }
        }
        Ok(true)
    }

    /// A segment's audio as elementary-stream bytes.
    fn elementary(&mut self, body: Vec<u8>) -> Vec<u8> {
        if is_ts(&body) {
            demux_ts(&body, &mut self.pes_id)
        } else {
            strip_id3(body)
        }
    }
}

impl Read for Segments {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.fill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn get(agent: &ureq::Agent, url: &str) -> Result<Vec<u8>, String> {
    let resp = agent.get(url).call().map_err(|e| match e {
        ureq::Error::Status(code, r) => {
            format!("{url}: the server answered {code} {}", r.status_text())
        }
        ureq::Error::Transport(t) => format!("cannot reach {url}: {t}"),
    })?;
    let mut body = Vec::new();
    resp.into_reader()
        .take(MAX_BODY)
        .read_to_end(&mut body)
        .map_err(|e| format!("{url}: {e}"))?;
    Ok(body)
}

/// MPEG-TS: 188-byte packets, each starting with 0x47.
fn is_ts(b: &[u8]) -> bool {
    b.len() >= 188 * 2 && b[0] == 0x47 && b[188] == 0x47
}

/// An ADTS header (AAC): the 12-bit sync word and layer 0 (MP3 frames have layer ≠ 0).
fn is_adts(b: &[u8]) -> bool {
    b.len() >= 2 && b[0] == 0xFF && b[1] & 0xF6 == 0xF0
}

/// The payload of one audio stream of a transport stream, in order.
fn demux_ts(body: &[u8], pes_id: &mut Option<u8>) -> Vec<u8> {
    use mpeg2ts::pes::{PesPacketReader, ReadPesPacket};
    use mpeg2ts::ts::TsPacketReader;
    let mut r = PesPacketReader::new(TsPacketReader::new(body));
    let mut out = Vec::with_capacity(body.len());
    // A damaged packet ends the segment's audio here; the next segment goes on.
    while let Ok(Some(p)) = r.read_pes_packet() {
        if !p.header.stream_id.is_audio() {
            continue;
        }
        let id = p.header.stream_id.as_u8();
        if *pes_id.get_or_insert(id) == id {
            out.extend_from_slice(&p.data);
        }
    }
    out
}

/// Packed audio segments start with an ID3 tag (their timestamp): dropped.
fn strip_id3(mut b: Vec<u8>) -> Vec<u8> {
    let mut at = 0;
    while b.len() >= at + 10 && &b[at..at + 3] == b"ID3" {
        let size = b[at + 6..at + 10]
            .iter()
            .fold(0usize, |n, x| (n << 7) | (*x as usize & 0x7F));
        let footer = if b[at + 5] & 0x10 != 0 { 10 } else { 0 };
        at += 10 + size + footer;
    }
    b.drain(..at.min(b.len()));
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlists_are_known_by_type_or_address() {
        assert!(is_playlist(
            "application/vnd.apple.mpegurl",
            "http://x/live"
        ));
        assert!(is_playlist("audio/x-mpegurl", "http://x/live"));
        assert!(is_playlist("", "http://x/vov1/playlist.m3u8?token=a"));
        assert!(!is_playlist("audio/mpeg", "http://x/vov1.mp3"));
    }

    #[test]
    fn adts_and_mp3_frames_are_told_apart() {
        assert!(is_adts(&[0xFF, 0xF1, 0x50]));
        assert!(is_adts(&[0xFF, 0xF9, 0x50]));
        assert!(!is_adts(&[0xFF, 0xFB, 0x90])); // MPEG-1 layer III
        assert!(!is_adts(&[0xFF, 0xF3, 0x90])); // MPEG-2 layer III
    }

    #[test]
    fn id3_timestamps_are_dropped_from_packed_audio() {
        let mut b = b"ID3\x04\x00\x00\x00\x00\x00\x03abc".to_vec();
        b.extend([0xFF, 0xF1, 1, 2]);
        assert_eq!(strip_id3(b), vec![0xFF, 0xF1, 1, 2]);
        assert_eq!(strip_id3(vec![0xFF, 0xF1]), vec![0xFF, 0xF1]);
    }
}
