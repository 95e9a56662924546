//! Playout: turning a decided running order into sound, and reporting from the audio path
//! when each item really started and ended.
//!
//! [`Player`] is the small face the station talks to. [`RealPlayer`] opens an output by
//! name (sound device, `wav:`, `null`) only while something is cued or on air, hands each
//! run to a decoder thread and the audio thread's [`deck::Deck`]; [`sim::SimPlayer`] plays
//! the same runs on a simulated clock for `loaxa simulate` and the month-long tests.

pub mod deck;
pub mod feed;
pub mod item;
pub mod meter;
pub mod note;

pub mod output;
pub mod relay;
pub mod sim;
pub mod sink;
pub mod tap;

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

pub use self::deck::Waker;
use self::deck::{Cmd, Ev, Outcome};
pub use self::item::PlayItem;
use self::output::{Output, OutputError, Spec};

/// A run to play: items back to back from the instant `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayPlan {
    pub run: u64,
    pub at: DateTime<Utc>,
    /// Cut whatever is on air at `at` (a higher priority, an emergency).
    pub replace: bool,
    pub items: Vec<PlayItem>,
}

/// What happened on air.
#[derive(Debug, Clone, PartialEq)]
pub enum PlayerEvent {
    Started {
        run: u64,
        item: u32,
        at: DateTime<Utc>,
    },
    Ended {
        run: u64,
        item: u32,
        at: DateTime<Utc>,
        played: Duration,
        outcome: Outcome,
    },
    RunDone {
        run: u64,
        at: DateTime<Utc>,
    },
    /// The output could not take the run (no device) or stopped playing it (device lost);
    /// `last_audio` is when the last of its sound went out, if any did.
    Failed {
        run: u64,
        reason: String,
        last_audio: Option<DateTime<Utc>>,
    },
    Underrun {
        run: u64,
        at: DateTime<Utc>,
    },
    /// A relay changed what it airs, or reports its window.
    Source {
        run: u64,
        item: u32,
        at: DateTime<Utc>,
        note: note::SourceNote,
    },
}

pub trait Player: Send {
    fn cue(&mut self, plan: PlayPlan);
    fn cut(&mut self, run: u64);
    /// Events since the last call.
    fn poll(&mut self) -> Vec<PlayerEvent>;
    /// For simulated players: the instant of the next event (the driver advances to it).
    fn next_event_at(&self) -> Option<DateTime<Utc>> {
        None
    }
    /// Simulated players move their clock here; real ones ignore it.
    fn advance(&mut self, _to: DateTime<Utc>) {}
    /// Whether anything is cued or on air.
    fn busy(&self) -> bool;
    /// Whether `poll` has events ready now (the loop polls again before sleeping).
    fn ready(&self) -> bool {
        false
    }
    /// Whether `poll` has timed work of its own (noticing a stalled device, closing an idle
    /// one): the loop then wakes every second.
    fn timed(&self) -> bool {
        self.busy()
    }
    /// Signalled when events arrive, for a loop that sleeps until then; None: poll.
    fn waker(&self) -> Option<Waker> {
        None
    }
    fn describe(&self) -> String;
    /// What is on air now, for the outputs that show it (a stream's title).
    fn now_playing(&mut self, _title: &str) {}
    /// What went out between two instants (loudness, peak, longest silence); None until
    /// measured, or when the output is not measured (a simulation).
    fn measure(
        &self,
        _from: DateTime<Utc>,
        _to: DateTime<Utc>,
        _silence_db: f64,
    ) -> Option<meter::Measured> {
        None
    }
    /// How long the output has been silent; None when it is not measured.
    fn silent_for(&self, _silence_db: f64) -> Option<Duration> {
        None
    }
    /// Whether what it renders is measured at all.
    fn measured(&self) -> bool {
        false
    }
    /// Each output's health: the master first, then any secondary sinks.
    fn health(&self) -> Vec<OutputHealth> {
        vec![OutputHealth {
            name: self.describe(),
            master: true,
            ok: true,
            ..Default::default()
        }]
    }
    /// The output's own delay, as last measured (for `status` and benchmarks).
    fn latency(&self) -> Option<Duration> {
        None
    }
}

use serde::{Deserialize, Serialize};

/// How one output is doing.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct OutputHealth {
    /// As configured: `default sound device`, `wav:…`, `null`.
    pub name: String,
    /// The master is the clock; a secondary output never fails an airing.
    pub master: bool,
    /// Open and taking audio.
    pub ok: bool,
    /// RFC 3339 (station zone) of the last change between ok and not.
    pub since: Option<String>,
    /// Audio delivered since start (bytes of PCM or of the encoded stream).
    pub bytes: u64,
    /// Times it was reopened after a failure.
    pub reconnects: u64,
    pub last_error: Option<String>,
}

/// A boxed player is a player (the daemon swaps outputs on reload).
impl<P: Player + ?Sized> Player for Box<P> {
    fn cue(&mut self, plan: PlayPlan) {
        (**self).cue(plan)
    }
    fn cut(&mut self, run: u64) {
        (**self).cut(run)
    }
    fn poll(&mut self) -> Vec<PlayerEvent> {
        (**self).poll()
    }
    fn next_event_at(&self) -> Option<DateTime<Utc>> {
        (**self).next_event_at()
    }
    fn advance(&mut self, to: DateTime<Utc>) {
        (**self).advance(to)
    }
    fn busy(&self) -> bool {
        (**self).busy()
    }
    fn ready(&self) -> bool {
        (**self).ready()
    }
    fn timed(&self) -> bool {
        (**self).timed()
    }
    fn waker(&self) -> Option<Waker> {
        (**self).waker()
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn health(&self) -> Vec<OutputHealth> {
        (**self).health()
    }
    fn now_playing(&mut self, title: &str) {
        (**self).now_playing(title)
    }
    fn measure(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        silence_db: f64,
    ) -> Option<meter::Measured> {
        (**self).measure(from, to, silence_db)
    }
    fn silent_for(&self, silence_db: f64) -> Option<Duration> {
        (**self).silent_for(silence_db)
    }
    fn measured(&self) -> bool {
        (**self).measured()
    }
    fn latency(&self) -> Option<Duration> {
        (**self).latency()
    }
}

pub fn ns_to_utc(ns: i128) -> DateTime<Utc> {
    Utc.timestamp_nanos(ns as i64)
}

pub fn utc_to_ns(t: DateTime<Utc>) -> i128 {
    t.timestamp_nanos_opt().unwrap_or(0) as i128
}

/// How long an idle output stays open (an open stream costs CPU; opening one takes
/// ~0.3 s, and programmes are cued ahead of that).
const IDLE_CLOSE: Duration = Duration::from_secs(10);

/// A device silent this long while something should play has stopped working.
const STALL: Duration = Duration::from_secs(2);

/// The player on a real output.
pub struct RealPlayer {
    spec: Spec,
    out: Option<Output>,
    active: HashSet<u64>,
    idle_since: Option<std::time::Instant>,
    pending: Vec<PlayerEvent>,
    waker: Option<Waker>,
    sinks: sink::Sinks,
    /// The master's own health (the sinks keep theirs).
    health: OutputHealth,
    /// Periods played again since the last log line, and when that line was written: one
    /// line a minute at most (a sound server can report underruns by the hundred).
    replays: (u64, Option<std::time::Instant>),
}

impl RealPlayer {
    /// A player on the master output `spec` alone.
    pub fn new(spec: Spec) -> RealPlayer {
        RealPlayer::with_sinks(spec, sink::Sinks::default())
    }

    /// A player on the master output `spec`, feeding `sinks` from what it renders.
    pub fn with_sinks(spec: Spec, sinks: sink::Sinks) -> RealPlayer {
        RealPlayer {
            health: OutputHealth {
                name: spec.to_string(),
                master: true,
                ..Default::default()
            },
            spec,
            out: None,
            active: HashSet::new(),
            idle_since: None,
            pending: vec![],
            waker: Waker::new()
                .inspect_err(|e| tracing::debug!("no eventfd ({e}): polling the output"))
                .ok(),
            sinks,
            replays: (0, None),
        }
    }

    /// Opens the output now to check it works (then closes it when idle).
    pub fn probe(&mut self) -> Result<(), OutputError> {
        self.ensure_open(None).map(|_| ())
    }

    /// The master's health changes (`since` marks when it last went from ok to not).
    fn master_ok(&mut self, ok: bool, error: Option<String>) {
        if self.health.ok != ok || self.health.since.is_none() {
            self.health.since = Some(crate::local::rfc3339(Utc::now(), self.sinks.tz()));
        }
        self.health.ok = ok;
        if error.is_some() || ok {
            self.health.last_error = error;
        }
    }

    fn ensure_open(&mut self, prefer_rate: Option<u32>) -> Result<&mut Output, OutputError> {
        if self.out.is_none() {
            let o = match output::open(&self.spec, prefer_rate, self.waker.clone(), &self.sinks) {
                Ok(o) => o,
                Err(e) => {
                    self.master_ok(false, Some(e.0.clone()));
                    return Err(e);
                }
            };
            if !self.health.ok {
                self.health.reconnects += u64::from(self.health.since.is_some());
                self.master_ok(true, None);
            }
            tracing::info!(
                "output: opened the {} ({} Hz, {} channels)",
                self.spec,
                o.rate,
                o.channels
            );
            self.out = Some(o);
            self.idle_since = Some(std::time::Instant::now());
        }
        Ok(self.out.as_mut().expect("just opened"))
    }
}

impl Player for RealPlayer {
    fn cue(&mut self, plan: PlayPlan) {
        let run = plan.run;
        // Opening for this run: at its first item's rate if the device takes it, so the
        // common case (all material at one rate) needs no resampling. The library knows
        // the rate: no file is read here, on the loop that cues programmes.
        let rate = if self.out.is_none() {
            plan.items.first().map(|i| i.rate).filter(|r| *r > 0)
        } else {
            None
        };
        match self.ensure_open(rate) {
            Err(e) => self.pending.push(PlayerEvent::Failed {
                run,
                reason: e.0,
                last_audio: None,
            }),
            Ok(out) => {
                let stream = feed::spawn(
                    run,
                    utc_to_ns(plan.at),
                    plan.replace,
                    plan.items,
                    out.channels,
                    out.rate,
                    out.ahead_ns.clone(),
                );
                match out.remote.cmds.push(Cmd::Cue(stream)) {
                    Ok(()) => {
                        self.active.insert(run);
                    }
                    Err(_) => self.pending.push(PlayerEvent::Failed {
                        run,
                        reason: "the audio thread is not taking commands (stalled output)".into(),
                        last_audio: None,
                    }),
                }
            }
        }
    }

    fn cut(&mut self, run: u64) {
        if let Some(out) = self.out.as_mut() {
            let _ = out.remote.cmds.push(Cmd::Cut(run));
        }
    }

    fn poll(&mut self) -> Vec<PlayerEvent> {
        let mut evs = std::mem::take(&mut self.pending);
        let Some(out) = self.out.as_mut() else {
            return evs;
        };
        let rate = out.rate as u64;
        while let Ok(e) = out.remote.events.pop() {
            match e {
                Ev::Started { run, item, at_ns } => evs.push(PlayerEvent::Started {
                    run,
                    item,
                    at: ns_to_utc(at_ns),
                }),
                Ev::Ended {
                    run,
                    item,
                    at_ns,
                    frames,
                    outcome,
                } => evs.push(PlayerEvent::Ended {
                    run,
                    item,
                    at: ns_to_utc(at_ns),
                    played: Duration::from_nanos(frames * 1_000_000_000 / rate),
                    outcome,
                }),
                Ev::RunDone { run, at_ns } => {
                    self.active.remove(&run);
                    evs.push(PlayerEvent::RunDone {
                        run,
                        at: ns_to_utc(at_ns),
                    });
                }
                Ev::Underrun { run, at_ns } => evs.push(PlayerEvent::Underrun {
                    run,
                    at: ns_to_utc(at_ns),
                }),
                Ev::Source {
                    run,
                    item,
                    at_ns,
                    note,
                } => evs.push(PlayerEvent::Source {
                    run,
                    item,
                    at: ns_to_utc(at_ns),
                    note: *note,
                }),
                Ev::Gone(s) => {
                    s.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
                    drop(s);
                }
            }
        }
        self.replays.0 += out.replayed.swap(0, std::sync::atomic::Ordering::Relaxed);
        if self.replays.0 > 0
            && self
                .replays
                .1
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(60))
        {
            tracing::warn!(
                "output: the sound device missed {} period(s) of audio (it ran dry: the PC was too busy); each was played again, nothing of the programme is lost",
                self.replays.0
            );
            self.replays = (0, Some(std::time::Instant::now()));
        }
        let mut failure = out.failed.lock().unwrap_or_else(|p| p.into_inner()).take();
        // A device that stopped calling back (its sound server died, it was unplugged)
        // without reporting an error: a silent stall otherwise.
        let last = out
            .last_callback_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        let now_ms = (crate::clock::wall_ns() / 1_000_000) as u64;
        if failure.is_none()
            && !self.active.is_empty()
            && last != u64::MAX
            && now_ms.saturating_sub(last) > STALL.as_millis() as u64
        {
            failure = Some(format!(
                "the sound device stopped playing (no audio for {} s)",
                STALL.as_secs()
            ));
        }
        if let Some(reason) = failure {
            tracing::error!("output: {reason}");
            self.master_ok(false, Some(reason.clone()));
            let last_audio = (last != u64::MAX).then(|| ns_to_utc(last as i128 * 1_000_000));
            for run in self.active.drain() {
                evs.push(PlayerEvent::Failed {
                    run,
                    reason: reason.clone(),
                    last_audio,
                });
            }
            self.out = None;
            return evs;
        }
        // A stream receivers stay connected to wants the output open between programmes.
        if self.active.is_empty() && !self.sinks.continuous() {
            let since = *self.idle_since.get_or_insert_with(std::time::Instant::now);
            if since.elapsed() >= IDLE_CLOSE {
                self.out = None;
                self.idle_since = None;
                tracing::debug!("output: closed while idle");
            }
        } else {
            self.idle_since = None;
        }
        evs
    }

    fn busy(&self) -> bool {
        !self.active.is_empty() || !self.pending.is_empty()
    }

    fn ready(&self) -> bool {
        !self.pending.is_empty()
    }

    fn timed(&self) -> bool {
        self.out.is_some() || self.busy()
    }

    fn waker(&self) -> Option<Waker> {
        self.waker.clone()
    }

    fn describe(&self) -> String {
        self.spec.to_string()
    }

    fn now_playing(&mut self, title: &str) {
        self.sinks.now_playing(title);
    }

    fn measure(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        silence_db: f64,
    ) -> Option<meter::Measured> {
        self.sinks
            .meter()?
            .measure(utc_to_ns(from), utc_to_ns(to), silence_db)
    }

    fn silent_for(&self, silence_db: f64) -> Option<Duration> {
        // Only while the output is open: a closed output is not dead air.
        self.out.as_ref()?;
        Some(self.sinks.meter()?.silent_for(silence_db))
    }

    fn measured(&self) -> bool {
        self.sinks.meter().is_some()
    }

    fn health(&self) -> Vec<OutputHealth> {
        let mut v = vec![self.health.clone()];
        v.extend(self.sinks.health());
        v
    }

    fn latency(&self) -> Option<Duration> {
        self.out
            .as_ref()
            .map(|o| Duration::from_nanos(o.latency_ns.load(std::sync::atomic::Ordering::Relaxed)))
    }
}
