//! Secondary outputs ("sinks"): fed from a tap of what the master renders, each on its own
//! thread, with its own reopen timer and health. A sink's failure is logged once and shown
//! in `status`; it never touches the master, so it never fails an airing (the proof of
//! airtime stays the master's). Backends are chosen by name from [`BACKENDS`], the way
//! librespot picks an audio backend and MPD runs each output on its own.

mod icecast;
mod wav;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use chrono_tz::Tz;

use super::tap::{tap, Block, Tap, TapReader};
use super::OutputHealth;
use crate::config::SinkSpec;

/// A backend: what a sink does with the audio it is given.
pub trait Sink: Send {
    /// Opens (or reopens) it for audio of `channels` at `rate`.
    fn open(&mut self, channels: u16, rate: u32) -> Result<(), String>;
    /// Takes one block; returns the bytes it delivered.
    fn write(&mut self, samples: &[f32], block: &Block) -> Result<u64, String>;
    /// Closes it (the master went idle or stops; or after a failure, before reopening).
    fn close(&mut self);
    /// What is on air now, for backends that show it (a stream's metadata).
    fn title(&mut self, _title: &str) {}
    /// Whether it wants audio all the time, silence included (a stream receivers stay
    /// connected to): the master then stays open between programmes.
    fn continuous(&self) -> bool {
        false
    }
}

/// The backends by name, with what each does (for the technician guide and errors).
pub const BACKENDS: &[(&str, &str)] = &[
    (
        "wav",
        "a recording of everything that airs, in a WAV file (a date pattern like %Y-%m-%d starts a file a day)",
    ),
    (
        "icecast",
        "a mount on an Icecast server, MP3, that IP loudspeakers pull; it stays up between programmes",
    ),
];

fn backend(spec: &SinkSpec, tz: Tz) -> Box<dyn Sink> {
    match spec {
        SinkSpec::Wav(p) => Box::new(wav::WavSink::new(p.clone(), tz)),
        SinkSpec::Icecast(i) => Box::new(icecast::IcecastSink::new((**i).clone())),
    }
}

/// What is on air, shared with every sink's thread (a version counter says when it changed).
#[derive(Default)]
struct Title {
    version: std::sync::atomic::AtomicU64,
    text: Mutex<String>,
}

/// First reopen after a failure, doubling up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How often a sink looks for new audio when its tap is empty (the master hands over 40 ms
/// or more at a time).
const POLL: Duration = Duration::from_millis(15);
/// Seconds of audio a tap holds: how far a sink may fall behind before losing blocks.
const TAP_SECS: u32 = 4;

/// One sink's thread and what it shares with the player.
struct Runner {
    continuous: bool,
    taps: mpsc::Sender<TapReader>,
    health: Arc<Mutex<OutputHealth>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Every secondary sink of the station.
#[derive(Default)]
pub struct Sinks {
    runners: Vec<Runner>,
    /// What the master renders, measured (always there: rows and the dead-air alarm).
    meter: Option<super::meter::Meter>,
    /// The zone health times are shown in.
    tz: Tz,
    title: Arc<Title>,
}

impl Sinks {
    /// Starts a thread per sink (idle until the master opens).
    pub fn start(specs: &[SinkSpec], tz: Tz) -> Sinks {
        let title = Arc::new(Title::default());
        let runners = specs
            .iter()
            .map(|spec| {
                let (tx, rx) = mpsc::channel();
                let health = Arc::new(Mutex::new(OutputHealth {
                    name: spec.to_string(),
                    master: false,
                    ..Default::default()
                }));
                let stop = Arc::new(AtomicBool::new(false));
                let (h, s, b, t) = (
                    health.clone(),
                    stop.clone(),
                    backend(spec, tz),
                    title.clone(),
                );
                let continuous = b.continuous();
                let thread = std::thread::Builder::new()
                    .name(format!("sink-{}", spec.kind()))
                    .spawn(move || run(b, rx, h, s, tz, t))
                    .ok();
                Runner {
                    continuous,
                    taps: tx,
                    health,
                    stop,
                    thread,
                }
            })
            .collect();
        Sinks {
            runners,
            meter: Some(super::meter::Meter::start()),
            tz,
            title,
        }
    }

    /// The master opened at `channels` × `rate`: one tap per sink, for its audio thread.
    pub fn attach(&self, channels: u16, rate: u32) -> Vec<Tap> {
        self.runners
            .iter()
            .filter_map(|r| {
                let (t, reader) = tap(channels, rate, TAP_SECS);
                r.taps.send(reader).ok().map(|_| t)
            })
            .chain(self.meter.as_ref().and_then(|m| m.attach(channels, rate)))
            .collect()
    }

    /// The output's measures (see [`super::meter`]).
    pub fn meter(&self) -> Option<&super::meter::Meter> {
        self.meter.as_ref()
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// Whether a sink wants audio all the time (the master then stays open).
    pub fn continuous(&self) -> bool {
        self.runners.iter().any(|r| r.continuous)
    }

    /// What is on air now, for the sinks that show it.
    pub fn now_playing(&self, title: &str) {
        if let Ok(mut t) = self.title.text.lock() {
            if *t != title {
                *t = title.to_string();
                self.title.version.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn health(&self) -> Vec<OutputHealth> {
        self.runners
            .iter()
            .map(|r| r.health.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect()
    }
}

impl Drop for Sinks {
    fn drop(&mut self) {
        for r in &self.runners {
            r.stop.store(true, Ordering::Relaxed);
        }
        for r in &mut self.runners {
            if let Some(t) = r.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// A sink's thread: reads its tap, opens the backend when audio comes, writes, and after a
/// failure closes it and tries again later (logging the failure once, and the recovery).
fn run(
    mut sink: Box<dyn Sink>,
    taps: mpsc::Receiver<TapReader>,
    health: Arc<Mutex<OutputHealth>>,
    stop: Arc<AtomicBool>,
    tz: Tz,
    title: Arc<Title>,
) {
    let name = health.lock().map(|h| h.name.clone()).unwrap_or_default();
    // The title version this sink last showed (0: none yet).
    let mut shown = 0u64;
    let set = |f: &dyn Fn(&mut OutputHealth)| {
        if let Ok(mut h) = health.lock() {
            f(&mut h)
        }
    };
    let now_s = || crate::local::rfc3339(Utc::now(), tz);
    let mut reader: Option<TapReader> = None;
    let mut open = false;
    let mut failing = false;
    let mut retry_at = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    let mut buf: Vec<f32> = Vec::with_capacity(1 << 16);
    while !stop.load(Ordering::Relaxed) {
        let Some(r) = reader.as_mut() else {
            match taps.recv_timeout(Duration::from_millis(200)) {
                Ok(t) => reader = Some(t),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            continue;
        };
        buf.clear();
        let Some(block) = r.next(&mut buf) else {
            if r.closed() {
                // The master closed (idle): so does the sink, until it opens again.
                reader = None;
                if open {
                    sink.close();
                    open = false;
                }
            } else {
                std::thread::sleep(POLL);
            }
            continue;
        };
        if !open {
            if Instant::now() < retry_at {
                continue;
            }
            match sink.open(r.channels, r.rate) {
                Ok(()) => {
                    open = true;
                    // A new connection shows what is on air at once.
                    shown = u64::MAX;
                    if failing {
                        tracing::info!("output {name}: working again");
                        failing = false;
                        set(&|h| h.reconnects += 1);
                    }
                    backoff = FIRST_BACKOFF;
                    let since = now_s();
                    set(&|h| {
                        if !h.ok {
                            h.since = Some(since.clone());
                        }
                        h.ok = true;
                        h.last_error = None;
                    });
                }
                Err(e) => {
                    fail(&name, &e, &mut failing, &health, now_s());
                    retry_at = Instant::now() + backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            }
        }
        let v = title.version.load(Ordering::Relaxed);
        if v != shown {
            shown = v;
            let t = title.text.lock().map(|t| t.clone()).unwrap_or_default();
            if !t.is_empty() {
                sink.title(&t);
            }
        }
        match sink.write(&buf, &block) {
            Ok(n) => set(&|h| h.bytes += n),
            Err(e) => {
                sink.close();
                open = false;
                fail(&name, &e, &mut failing, &health, now_s());
                retry_at = Instant::now() + backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    if open {
        sink.close();
    }
}

/// Records a failure; logs it only when it starts (not on every retry).
fn fail(name: &str, e: &str, failing: &mut bool, health: &Mutex<OutputHealth>, now: String) {
    if !*failing {
        tracing::error!("output {name}: {e} — airing goes on; retrying in the background");
        *failing = true;
    }
    if let Ok(mut h) = health.lock() {
        if h.ok || h.since.is_none() {
            h.since = Some(now);
        }
        h.ok = false;
        h.last_error = Some(e.to_string());
    }
}
