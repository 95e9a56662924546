//! A network stream as a source: an internet radio stream (Icecast or Shoutcast over HTTP
//! or HTTPS: MP3, AAC, Ogg Vorbis or Ogg Opus; or an HLS playlist, see [`super::hls`]) read
//! on its own thread from the moment it
//! is opened — ahead of its segment, so it is buffered at the segment's second —,
//! decoded and converted to the output's channels and rate into a short buffer the playout
//! takes from. It follows redirects, reconnects with a backoff for as long as it is
//! wanted, and says how it is doing (connected, bytes, the last error, how long it has had
//! sound), so the relay can fall back and come back.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::{MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Decoded audio kept ahead of what the playout took: the reserve that rides out network
/// jitter. Small, because what is buffered here plays after the upstream dies.
pub const KEEP: Duration = Duration::from_millis(1000);

/// The address of a capture device as a stream: `live:default`, `live:hw:1,0`.
pub const LIVE: &str = "live:";

/// What a live input keeps: little, so that latency cannot build up.
const LIVE_KEEP: Duration = Duration::from_millis(200);

/// What an HLS stream keeps decoded ahead (it waits for room beyond this).
const HOLD: Duration = Duration::from_secs(4);

/// A read that waits longer than this counts as a dead connection.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Reconnection waits: short, because a relay wants its stream back within seconds.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How a stream is doing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    pub connected: bool,
    /// Bytes received over every connection so far.
    pub bytes: u64,
    /// Connections made (the first, then each reconnection).
    pub connects: u32,
    pub last_error: Option<String>,
    /// How long the audio arriving has had sound without a break; None while it is silent
    /// or nothing arrives.
    pub sound_for: Option<Duration>,
}

struct State {
    connected: bool,
    bytes: u64,
    connects: u32,
    last_error: Option<String>,
    sound_since: Option<Instant>,
}

struct Shared {
    pcm: Mutex<VecDeque<f32>>,
    state: Mutex<State>,
    stop: AtomicBool,
}

/// A network stream being read. Dropping it stops the reading.
pub struct Stream {
    url: String,
    channels: usize,
    shared: Arc<Shared>,
}

impl Stream {
    /// Starts reading `url` now, into audio of `channels` at `rate`; 100 ms blocks whose
    /// peak stays under `silence_db` do not count as sound.
    pub fn open(url: &str, channels: u16, rate: u32, silence_db: f64) -> Stream {
        let shared = Arc::new(Shared {
            pcm: Mutex::new(VecDeque::new()),
            state: Mutex::new(State {
                connected: false,
                bytes: 0,
                connects: 0,
                last_error: None,
                sound_since: None,
            }),
            stop: AtomicBool::new(false),
        });
        let s2 = shared.clone();
        let u = url.to_string();
        let spawned = std::thread::Builder::new()
            .name("relay".into())
            .spawn(move || read_loop(&u, channels, rate, silence_db, &s2));
        if let Err(e) = spawned {
            shared.state.lock().expect("state").last_error =
                Some(format!("cannot start reading the stream: {e}"));
        }
        Stream {
            url: url.to_string(),
            channels: channels as usize,
            shared,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Frames ready to take.
    pub fn available(&self) -> usize {
        self.shared.pcm.lock().map(|p| p.len()).unwrap_or(0) / self.channels
    }

    /// Moves up to `frames` frames into `out`; returns how many.
    pub fn take(&self, frames: usize, out: &mut Vec<f32>) -> usize {
        let Ok(mut p) = self.shared.pcm.lock() else {
            return 0;
        };
        let n = (p.len() / self.channels).min(frames);
        out.extend(p.drain(..n * self.channels));
        n
    }

    pub fn health(&self) -> Health {
        let s = self.shared.state.lock().expect("stream state");
        Health {
            connected: s.connected,
            bytes: s.bytes,
            connects: s.connects,
            last_error: s.last_error.clone(),
            sound_for: s.sound_since.map(|t| t.elapsed()),
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

fn read_loop(url: &str, channels: u16, rate: u32, silence_db: f64, shared: &Arc<Shared>) {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(READ_TIMEOUT)
        .timeout_read(READ_TIMEOUT)
        .redirects(5)
        .user_agent(concat!("loaxa/", env!("CARGO_PKG_VERSION")))
        .build();
    let mut backoff = FIRST_BACKOFF;
    // An HLS stream's next segment, kept across reconnections.
    let next = Arc::new(std::sync::atomic::AtomicU64::new(super::hls::UNSET));
    while !shared.stop.load(Ordering::Relaxed) {
        let began = Instant::now();
        let result = match url.strip_prefix(LIVE) {
            Some(device) => capture(device, channels, rate, silence_db, shared),
            None => session(&agent, url, channels, rate, silence_db, shared, &next),
        };
        {
            let mut s = shared.state.lock().expect("stream state");
            s.connected = false;
            s.sound_since = None;
            s.last_error = Some(match result {
                Ok(()) => "the stream ended (the server closed it)".into(),
                Err(e) => e,
            });
        }
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        // A connection that carried audio for a while starts the backoff over.
        if began.elapsed() > Duration::from_secs(10) {
            backoff = FIRST_BACKOFF;
        }
        let until = Instant::now() + backoff;
        while Instant::now() < until && !shared.stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Counts the bytes that arrive, and ends the read when the stream is no longer wanted.
struct Counted {
    inner: Box<dyn Read + Send + Sync + 'static>,
    shared: Arc<Shared>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.shared.stop.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("stopped"));
        }
        let n = self.inner.read(buf)?;
        if let Ok(mut s) = self.shared.state.lock() {
            s.bytes += n as u64;
        }
        Ok(n)
    }
}

/// One connection: from the request to the end of the stream or an error.
fn session(
    agent: &ureq::Agent,
    url: &str,
    channels: u16,
    rate: u32,
    silence_db: f64,
    shared: &Arc<Shared>,
    next: &Arc<std::sync::atomic::AtomicU64>,
) -> Result<(), String> {
    let resp = agent
        .get(url)
        .set("Icy-MetaData", "0")
        .call()
        .map_err(|e| match e {
            ureq::Error::Status(code, r) => {
                format!("the server answered {code} {}", r.status_text())
            }
            ureq::Error::Transport(t) => format!("cannot reach the stream: {t}"),
        })?;
    let ctype = resp.content_type().to_ascii_lowercase();
    let hls = super::hls::is_playlist(&ctype, resp.get_url());
    if ctype.starts_with("text/") && !hls {
        return Err(format!(
            "the server sent a page ({ctype}), not audio; check the stream's address"
        ));
    }
    let mut hint = Hint::new();
    let inner: Box<dyn Read + Send + Sync> = if hls {
        let at = resp.get_url().to_string();
        let mut body = Vec::new();
        resp.into_reader()
            .take(1 << 20)
            .read_to_end(&mut body)
            .map_err(|e| format!("the HLS playlist broke off: {e}"))?;
        let sh = shared.clone();
        let (segments, ext) = super::hls::Segments::open(
            agent.clone(),
            &at,
            &body,
            next.clone(),
            Arc::new(move || sh.stop.load(Ordering::Relaxed)),
        )?;
        hint.with_extension(ext);
        Box::new(segments)
    } else {
        if let Some(ext) = hint_for(&ctype, url) {
            hint.with_extension(ext);
        }
        Box::new(resp.into_reader())
    };
    {
        let mut s = shared.state.lock().expect("stream state");
        s.connected = true;
        s.connects += 1;
    }
    let reader = Counted {
        inner,
        shared: shared.clone(),
    };
    let mss = MediaSourceStream::new(Box::new(ReadOnlySource::new(reader)), Default::default());
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| format!("the stream is not audio loaxa can read ({e})"))?;
    let mut format = probed.format;
    let mut sink = Sink::new(channels, rate, silence_db, shared);
    // HLS arrives a segment at a time, seconds at once: it waits for room instead of
    // dropping what the playout has not taken.
    sink.hold = hls;
    loop {
        let Some(track) = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .cloned()
        else {
            return Err("the stream has no audio track".into());
        };
        let mut dec = Dec::new(&track.codec_params)?;
        loop {
            let packet = match format.next_packet() {
                Ok(p) => p,
                // A new link of a chained Ogg stream (a new title): new decoder.
                Err(SymError::ResetRequired) => break,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(())
                }
                Err(SymError::IoError(e)) => return Err(format!("the stream broke off: {e}")),
                Err(e) => return Err(format!("the stream cannot be read on: {e}")),
            };
            if packet.track_id() != track.id {
                continue;
            }
            if let Some((frames, cin, r)) = dec.decode(&packet)? {
                sink.push(frames, cin, r);
            }
        }
    }
}

/// A capture device (microphone or line-in) read until it fails or is no longer wanted:
/// small periods, the output's rate when the device offers it, frames handed from the
/// device's callback through a wait-free ring to this thread, which converts and measures
/// them like a stream's.
fn capture(
    device: &str,
    channels: u16,
    rate: u32,
    silence_db: f64,
    shared: &Arc<Shared>,
) -> Result<(), String> {
    use rodio::cpal;
    use rodio::cpal::traits::{DeviceTrait, StreamTrait};
    let dev = super::device::input(device)?;
    let fail = |e: &dyn std::fmt::Display| format!("cannot open capture device `{device}`: {e}");
    let def = dev.default_input_config().map_err(|e| fail(&e))?;
    let chosen = dev
        .supported_input_configs()
        .ok()
        .and_then(|mut l| {
            l.find_map(|c| {
                (c.channels() == def.channels() && c.sample_format() == def.sample_format())
                    .then(|| c.try_with_sample_rate(rate))
                    .flatten()
            })
        })
        .unwrap_or(def);
    let cin = chosen.channels() as usize;
    let rin = chosen.sample_rate();
    // Small periods: each is latency. 5 ms, or the device's smallest above that.
    let sizes = super::device::buffer_sizes(chosen.buffer_size(), (rin / 200).max(32));
    tracing::debug!(
        "live: `{device}` offers {:?}; asking for {sizes:?}",
        chosen.buffer_size()
    );
    let failed: Arc<Mutex<Option<String>>> = Arc::default();
    let mut refused = vec![];
    let (stream, mut rx) = loop {
        let Some(buffer_size) = sizes.get(refused.len()).copied() else {
            return Err(fail(&refused.join("; then ")));
        };
        let config = cpal::StreamConfig {
            channels: chosen.channels(),
            sample_rate: rin,
            buffer_size,
        };
        let (mut tx, rx) = rtrb::RingBuffer::<f32>::new(rin as usize * cin / 2);
        let f2 = failed.clone();
        let on_error = move |e: cpal::Error| {
            if let Ok(mut f) = f2.lock() {
                f.get_or_insert_with(|| format!("the capture device failed: {e}"));
            }
        };
        macro_rules! build {
            ($t:ty, $conv:expr) => {
                dev.build_input_stream(
                    config,
                    move |data: &[$t], _: &cpal::InputCallbackInfo| {
                        // Wait-free: what does not fit is dropped (the reader is stalled).
                        let n = tx.slots().min(data.len());
                        if let Ok(chunk) = tx.write_chunk_uninit(n) {
                            let conv: fn($t) -> f32 = $conv;
                            chunk.fill_from_iter(data.iter().map(|x| conv(*x)));
                        }
                    },
                    on_error,
                    None,
                )
            };
        }
        let built = match chosen.sample_format() {
            cpal::SampleFormat::F32 => build!(f32, |x| x),
            cpal::SampleFormat::I16 => build!(i16, |x| x as f32 / 32768.0),
            cpal::SampleFormat::I32 => build!(i32, |x| x as f32 / 2_147_483_648.0),
            f => return Err(fail(&format!("sample format {f} is not supported"))),
        };
        match built {
            Ok(stream) => break (stream, rx),
            Err(e) => {
                tracing::debug!("live: `{device}` refused {buffer_size:?}: {e}");
                refused.push(e.to_string());
            }
        }
    };
    stream.play().map_err(|e| fail(&e))?;
    {
        let mut s = shared.state.lock().expect("stream state");
        s.connected = true;
        s.connects += 1;
    }
    tracing::info!("live: capturing from `{device}` ({rin} Hz, {cin} channels)");
    let mut sink = Sink::new(channels, rate, silence_db, shared);
    sink.lead_in = 0;
    sink.keep = LIVE_KEEP;
    let mut buf: Vec<f32> = Vec::new();
    let mut heard = Instant::now();
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        if let Some(e) = failed.lock().ok().and_then(|mut f| f.take()) {
            return Err(e);
        }
        let n = rx.slots() / cin * cin;
        if n == 0 {
            if heard.elapsed() > READ_TIMEOUT {
                return Err(format!(
                    "the capture device `{device}` has sent nothing for {} s",
                    READ_TIMEOUT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        heard = Instant::now();
        buf.clear();
        if let Ok(chunk) = rx.read_chunk(n) {
            let (a, b) = chunk.as_slices();
            buf.extend_from_slice(a);
            buf.extend_from_slice(b);
            chunk.commit_all();
        }
        if let Ok(mut s) = shared.state.lock() {
            // As 16-bit PCM: what the device delivered.
            s.bytes += n as u64 * 2;
        }
        sink.push(&buf, cin, rin);
    }
}

/// The decoder for a stream's codec (symphonia's, or libopus for Opus: `media::opus`),
/// with the interleaved buffer it decodes into.
struct Dec(
    Box<dyn symphonia::core::codecs::Decoder>,
    Option<SampleBuffer<f32>>,
);

impl Dec {
    fn new(p: &symphonia::core::codecs::CodecParameters) -> Result<Dec, String> {
        let d = super::opus::codecs()
            .make(p, &DecoderOptions::default())
            .map_err(|e| format!("the stream's codec cannot be decoded ({e})"))?;
        Ok(Dec(d, None))
    }

    /// Decodes a packet: interleaved frames, their channel count and rate. A damaged
    /// packet is skipped (None).
    fn decode(
        &mut self,
        packet: &symphonia::core::formats::Packet,
    ) -> Result<Option<Decoded<'_>>, String> {
        let Dec(d, buf) = self;
        let audio = match d.decode(packet) {
            Ok(a) => a,
            Err(SymError::DecodeError(_)) => return Ok(None),
            Err(e) => return Err(format!("the stream cannot be decoded: {e}")),
        };
        let spec = *audio.spec();
        if buf
            .as_ref()
            .is_none_or(|b| b.capacity() < audio.capacity() * spec.channels.count())
        {
            *buf = Some(SampleBuffer::new(audio.capacity() as u64, spec));
        }
        let b = buf.as_mut().expect("just set");
        b.copy_interleaved_ref(audio);
        Ok(Some((b.samples(), spec.channels.count(), spec.rate)))
    }
}

/// Decoded frames (interleaved), their channel count and rate.
type Decoded<'a> = (&'a [f32], usize, u32);

/// A resampler for one input rate and channel count, with the planar input it has not
/// consumed yet.
struct Resample {
    rate: u32,
    channels: usize,
    r: rubato::FftFixedIn<f32>,
    pending: Vec<Vec<f32>>,
}

/// Where decoded audio goes: converted to the output's channels and rate, measured for
/// sound, and kept in the shared buffer (the oldest dropped beyond [`KEEP`]).
struct Sink<'a> {
    channels: usize,
    rate: u32,
    floor: f32,
    shared: &'a Shared,
    resampler: Option<Resample>,
    mapped: Vec<f32>,
    /// The current 100 ms block: frames so far and its peak.
    block: (usize, f32),
    /// Frames still checked for a connection's lead-in: its first quiet frames (the
    /// decoder's and resampler's priming, ~45 ms for MP3 at 44.1 kHz) are dropped, so a
    /// relay starts on its second with the stream's sound, not with codec delay.
    lead_in: usize,
    /// Wait for room in the buffer (HLS) rather than drop its oldest audio (a live
    /// Icecast stream, which must not fall behind).
    hold: bool,
    /// Audio kept before the oldest is dropped.
    keep: Duration,
}

/// The most of a connection's start that is dropped while quiet.
const LEAD_IN: Duration = Duration::from_millis(250);

impl<'a> Sink<'a> {
    fn new(channels: u16, rate: u32, silence_db: f64, shared: &'a Shared) -> Sink<'a> {
        Sink {
            channels: channels as usize,
            rate,
            floor: 10f32.powf(silence_db as f32 / 20.0),
            shared,
            resampler: None,
            mapped: Vec::new(),
            block: (0, 0.0),
            lead_in: (LEAD_IN.as_secs_f64() * rate as f64) as usize,
            hold: false,
            keep: KEEP,
        }
    }

    fn push(&mut self, frames: &[f32], cin: usize, rate: u32) {
        use rubato::Resampler;
        self.mapped.clear();
        if cin == 0 || rate == 0 {
            return;
        }
        let cout = self.channels;
        if rate == self.rate {
            super::decode::map_channels(frames, cin, cout, 1.0, &mut self.mapped);
        } else {
            let mut planar = Vec::with_capacity(cout * frames.len() / cin);
            super::decode::map_channels(frames, cin, cout, 1.0, &mut planar);
            if self
                .resampler
                .as_ref()
                .is_none_or(|r| r.rate != rate || r.channels != cout)
            {
                let Ok(r) = rubato::FftFixedIn::<f32>::new(
                    rate as usize,
                    self.rate as usize,
                    1024,
                    2,
                    cout,
                ) else {
                    return;
                };
                self.resampler = Some(Resample {
                    rate,
                    channels: cout,
                    r,
                    pending: vec![Vec::new(); cout],
                });
            }
            let Resample { r, pending, .. } = self.resampler.as_mut().expect("just set");
            for f in planar.chunks_exact(cout) {
                for (c, x) in f.iter().enumerate() {
                    pending[c].push(*x);
                }
            }
            while pending[0].len() >= r.input_frames_next() {
                let need = r.input_frames_next();
                let Ok(out) = r.process(
                    &pending.iter().map(|p| &p[..need]).collect::<Vec<_>>(),
                    None,
                ) else {
                    pending.iter_mut().for_each(Vec::clear);
                    break;
                };
                pending.iter_mut().for_each(|p| {
                    p.drain(..need);
                });
                for i in 0..out[0].len() {
                    self.mapped.extend(out.iter().map(|c| c[i]));
                }
            }
        }
        if self.lead_in > 0 {
            let have = self.mapped.len() / cout;
            let quiet = self
                .mapped
                .chunks_exact(cout)
                .take(self.lead_in)
                .take_while(|f| f.iter().all(|x| x.abs() < self.floor))
                .count();
            self.lead_in = if quiet < have && quiet < self.lead_in {
                0
            } else {
                self.lead_in - quiet
            };
            self.mapped.drain(..quiet * cout);
        }
        self.measure();
        let keep = (self.keep.as_secs_f64() * self.rate as f64) as usize * cout;
        if self.hold {
            let room = (HOLD.as_secs_f64() * self.rate as f64) as usize * cout;
            while self.shared.pcm.lock().map(|p| p.len()).unwrap_or(0) > room
                && !self.shared.stop.load(Ordering::Relaxed)
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            if let Ok(mut p) = self.shared.pcm.lock() {
                p.extend(self.mapped.iter().copied());
            }
            return;
        }
        if let Ok(mut p) = self.shared.pcm.lock() {
            p.extend(self.mapped.iter().copied());
            if p.len() > keep {
                let extra = (p.len() - keep) / cout * cout;
                p.drain(..extra);
            }
        }
    }

    /// Tracks continuous sound in 100 ms blocks.
    fn measure(&mut self) {
        let per_block = self.rate as usize / 10;
        for f in self.mapped.chunks_exact(self.channels) {
            let peak = f.iter().fold(0f32, |m, x| m.max(x.abs()));
            self.block.1 = self.block.1.max(peak);
            self.block.0 += 1;
            if self.block.0 == per_block {
                let sound = self.block.1 >= self.floor;
                if let Ok(mut s) = self.shared.state.lock() {
                    match (sound, s.sound_since) {
                        (true, None) => s.sound_since = Some(Instant::now()),
                        (false, _) => s.sound_since = None,
                        _ => {}
                    }
                }
                self.block = (0, 0.0);
            }
        }
    }
}

/// A format hint from the content type, else the address.
fn hint_for(ctype: &str, url: &str) -> Option<&'static str> {
    let by_type = match ctype.split(';').next().unwrap_or("").trim() {
        "audio/mpeg" | "audio/mp3" => Some("mp3"),
        "audio/aac" | "audio/aacp" | "audio/x-aac" => Some("aac"),
        "audio/ogg" | "application/ogg" | "audio/opus" | "audio/vorbis" => Some("ogg"),
        _ => None,
    };
    by_type.or_else(|| {
        let path = url
            .split(['?', '#'])
            .next()
            .unwrap_or(url)
            .to_ascii_lowercase();
        ["mp3", "aac", "ogg", "opus", "oga"]
            .into_iter()
            .find(|e| path.ends_with(&format!(".{e}")))
            .map(|e| match e {
                "opus" | "oga" => "ogg",
                e => e,
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Shared {
        Shared {
            pcm: Mutex::new(VecDeque::new()),
            state: Mutex::new(State {
                connected: true,
                bytes: 0,
                connects: 1,
                last_error: None,
                sound_since: None,
            }),
            stop: AtomicBool::new(false),
        }
    }

    /// A connection's quiet lead-in (codec priming) is dropped up to the first sound;
    /// quiet after that, or a stream that stays quiet past the lead-in, is kept.
    #[test]
    fn a_connections_quiet_lead_in_is_dropped_and_nothing_after_it() {
        let sh = shared();
        let mut s = Sink::new(1, 1000, -45.0, &sh);
        let mut x = vec![0.0f32; 40];
        x.extend([0.5, 0.0, 0.0, 0.5]);
        s.push(&x, 1, 1000);
        s.push(&[0.0; 10], 1, 1000);
        let pcm: Vec<f32> = sh.pcm.lock().unwrap().iter().copied().collect();
        assert_eq!(pcm.len(), 14, "{pcm:?}");
        assert_eq!(pcm[0], 0.5);

        let sh = shared();
        let mut s = Sink::new(1, 1000, -45.0, &sh);
        s.push(&[0.0; 200], 1, 1000);
        s.push(&[0.0; 200], 1, 1000);
        // 250 ms at 1000 Hz dropped, the rest of the silence kept.
        assert_eq!(sh.pcm.lock().unwrap().len(), 150);
    }

    #[test]
    fn the_format_comes_from_the_content_type_then_the_address() {
        assert_eq!(hint_for("audio/mpeg", "http://x/live"), Some("mp3"));
        assert_eq!(
            hint_for("audio/aacp; charset=x", "http://x/live"),
            Some("aac")
        );
        assert_eq!(hint_for("application/ogg", "http://x/a.mp3"), Some("ogg"));
        assert_eq!(hint_for("", "http://x/vov1.opus?token=1"), Some("ogg"));
        assert_eq!(hint_for("application/octet-stream", "http://x/live"), None);
    }
}
