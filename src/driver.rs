//! One driver for `loaxa run` and `loaxa simulate`: player events go into the station, the
//! station's actions go to the player and the airtime log, and every fact goes out as an
//! [`Event`]. The daemon drives it on the wall clock; the simulator on a simulated one.

use chrono::{DateTime, Utc};

use crate::airtime::journal::Journal;
use crate::airtime::{self, Store};
use crate::control::Event;
use crate::playout::note::SourceNote;
use crate::playout::Player;
use crate::station::{Action, Level, Station};

/// Where events go: the daemon broadcasts them, the simulator counts them.
pub type Publish = Box<dyn FnMut(&Event)>;

pub struct Driver<P: Player> {
    pub station: Station,
    pub player: P,
    store: Option<Store>,
    journal: Journal,
    publish: Publish,
    /// Write one line per action to the technician's log (the daemon does; a simulated
    /// month would flood it).
    log: bool,
    /// The station acted since the last [`Driver::take_dirty`].
    dirty: bool,
    /// Rows are waiting for the log (the alarm is up).
    failing: bool,
    /// Rows to give the output's measures: row, start, end, when asked.
    measures: Vec<(i64, DateTime<Utc>, DateTime<Utc>, std::time::Instant)>,
    /// Dead air on the output: since when the alarm is up.
    dead_air: Option<String>,
    /// A relay with no fallback left is airing silence.
    relay_down: Option<String>,
}

impl<P: Player> Driver<P> {
    pub fn new(
        station: Station,
        player: P,
        store: Option<Store>,
        publish: Publish,
        log: bool,
    ) -> Self {
        Driver {
            station,
            player,
            store,
            journal: Journal::default(),
            publish,
            log,
            dirty: false,
            failing: false,
            measures: vec![],
            dead_air: None,
            relay_down: None,
        }
    }

    /// Whether the station acted since the last call (what it owes may have changed).
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// Player events into the station, then the station's own timers.
    pub fn pump(&mut self, now: DateTime<Utc>) -> Result<(), airtime::Error> {
        let mut result = Ok(());
        for e in self.player.poll() {
            let acts = self.station.on_event(e, now);
            result = result.and(self.exec(acts));
        }
        let acts = self.station.tick(now);
        let result = result.and(self.exec(acts));
        self.watch_output(now);
        result
    }

    /// How long until silence on the output could become the dead-air alarm: the loop
    /// wakes then, so a hole just longer than `alarms.after` is never slept through.
    pub fn watch_due(&self, now: DateTime<Utc>) -> Option<std::time::Duration> {
        if self.dead_air.is_some() {
            return None;
        }
        let after = self.station.config().alarms.after;
        let silent = self
            .player
            .silent_for(self.station.config().alarms.silence_db)?;
        self.station.on_air_view(now)?;
        Some(
            after
                .saturating_sub(silent)
                .max(std::time::Duration::from_millis(20)),
        )
    }

    /// What the output measured goes into each finished airing's row; silence while
    /// something airs for longer than `alarms.after` raises the dead-air alarm (and runs
    /// `alarms.command`), which clears when sound returns or nothing should air.
    fn watch_output(&mut self, now: DateTime<Utc>) {
        let alarms = self.station.config().alarms.clone();
        if let Some(store) = &self.store {
            let player = &self.player;
            self.measures.retain(|(row, from, to, asked)| {
                match player.measure(*from, *to, alarms.silence_db) {
                    Some(m) => {
                        let _ = store.set_measures(*row, m.lufs, m.peak_db, m.longest_silence);
                        false
                    }
                    // Not measured yet; a closed output never will be: give up after a while.
                    None => asked.elapsed() < std::time::Duration::from_secs(30),
                }
            });
        }
        let on_air = self.station.on_air_view(now);
        let silent = self.player.silent_for(alarms.silence_db);
        // Only silence since the item went on air counts (the idle output before it
        // was silent too).
        let silent = silent
            .zip(on_air.as_ref())
            .map(|(d, a)| d.min(std::time::Duration::from_millis(a.position_ms)));
        let dead = match (&on_air, silent) {
            (Some(a), Some(d)) if d >= alarms.after => Some(format!(
                "dead air: the output has been silent for {} while `{}` should be on air — check the source, the mixer and the amplifier",
                crate::config::format_duration(d),
                a.title
            )),
            _ => None,
        };
        match (&self.dead_air, dead) {
            (None, Some(m)) => {
                tracing::error!("{m}");
                (self.publish)(&Event::Alarm {
                    active: true,
                    message: m.clone(),
                    at: now,
                });
                if let Some(cmd) = &alarms.command {
                    run_alarm_command(cmd, &m);
                }
                self.dead_air = Some(m);
            }
            (Some(_), None) => {
                tracing::info!("the output has sound again");
                (self.publish)(&Event::Alarm {
                    active: false,
                    message: "the output has sound again".into(),
                    at: now,
                });
                self.dead_air = None;
            }
            _ => {}
        }
    }

    /// Carries out what the station decided. Every action reaches the player even when the
    /// log cannot be written (airing never waits on the log); the first log error is
    /// returned.
    pub fn exec(&mut self, acts: Vec<Action>) -> Result<(), airtime::Error> {
        let mut result = Ok(());
        self.dirty |= !acts.is_empty();
        for a in acts {
            if self.log {
                log_action(&a);
            }
            if let Err(e) = self.record(&a) {
                if result.is_ok() {
                    result = Err(e);
                }
            }
            self.log_health();
            match a {
                Action::Cue(plan) => {
                    (self.publish)(&Event::ProgrammeCued {
                        run: plan.run,
                        at: plan.at,
                        items: plan.items.len(),
                    });
                    self.player.cue(plan)
                }
                Action::Cut(run) => self.player.cut(run),
                _ => {}
            }
        }
        result
    }

    /// Writes a logging action to the airtime log (when there is one) and publishes it.
    fn record(&mut self, a: &Action) -> Result<(), airtime::Error> {
        match a {
            Action::Start {
                run,
                item,
                airing,
                at,
            } => {
                let title = match (&airing.programme, &airing.title) {
                    (Some(p), Some(t)) => format!("{p} — {t}"),
                    (None, Some(t)) => t.clone(),
                    (p, None) => p.clone().unwrap_or_default(),
                };
                self.player.now_playing(&title);
                let row = match &self.store {
                    Some(s) => self.journal.start(s, *run, *item, airing, *at)?,
                    None => None,
                };
                (self.publish)(&Event::ItemStarted {
                    row,
                    programme: airing.programme.clone(),
                    title: airing.title.clone(),
                    category: airing.category.clone(),
                    at: *at,
                });
            }
            Action::Finish {
                run,
                item,
                status,
                at,
                played,
                reason,
            } => {
                let texts = reason
                    .as_ref()
                    .map(|w| (w.to_string(), crate::i18n::vi::why(w)));
                let reason = texts.as_ref().map(|t| t.0.clone());
                let (row, airing) = match &self.store {
                    Some(s) => match self.journal.finish(
                        s,
                        (*run, *item),
                        *status,
                        *at,
                        *played,
                        texts.as_ref().map(|(en, vi)| (en.as_str(), vi.as_str())),
                    )? {
                        Some(crate::airtime::journal::Finished {
                            row,
                            airing,
                            started,
                        }) => {
                            if let Some(row) = row.filter(|_| self.player.measured()) {
                                // Measured once the output has rendered to its end.
                                self.measures
                                    .push((row, started, *at, std::time::Instant::now()));
                            }
                            (row, airing)
                        }
                        None => return Ok(()),
                    },
                    None => (None, Default::default()),
                };
                (self.publish)(&Event::ItemEnded {
                    row,
                    programme: airing.programme,
                    title: airing.title,
                    category: airing.category,
                    status: *status,
                    played_ms: played.as_millis() as u64,
                    reason,
                    at: *at,
                });
            }
            Action::Record {
                airing,
                status,
                reason,
            } => {
                let vi = crate::i18n::vi::why(reason);
                let reason = reason.to_string();
                let row = match &self.store {
                    Some(s) => self.journal.record(s, airing, *status, &reason, &vi)?,
                    None => None,
                };
                (self.publish)(&Event::Recorded {
                    row,
                    programme: airing.programme.clone(),
                    category: airing.category.clone(),
                    status: *status,
                    reason,
                });
            }
            Action::Relay {
                run,
                item,
                at,
                programme,
                title,
                note,
            } => self.relay(*run, *item, *at, programme, title, note)?,
            Action::Cue(_) | Action::Cut(_) | Action::Note(..) => {}
        }
        Ok(())
    }

    /// Records how far each item on air has played, and writes rows that waited.
    pub fn heartbeat(&mut self, now: DateTime<Utc>) {
        if let Some(s) = &self.store {
            self.journal.heartbeat(s, now);
            self.flush();
        }
    }

    /// Writes the rows the log refused before (a full disk), in order; says so when they
    /// are all written.
    pub fn flush(&mut self) {
        let Some(s) = &self.store else { return };
        if self.journal.unwritten().is_some() {
            self.journal.flush(s);
        }
        self.log_health();
    }

    /// Raises the alarm when rows start waiting for the log, and clears it (saying so)
    /// when they are all written, whichever write it was that got through.
    fn log_health(&mut self) {
        let failing = self.journal.unwritten().is_some();
        if failing == self.failing {
            return;
        }
        self.failing = failing;
        let (active, message) = match self.alarm() {
            Some(m) => (true, m),
            None => {
                let m = "the airtime log is writable again; the rows kept meanwhile are written";
                tracing::info!("airtime log: {m}");
                (false, m.to_string())
            }
        };
        (self.publish)(&Event::Alarm {
            active,
            message,
            at: Utc::now(),
        });
    }

    /// Rows waiting for the log, as an alarm line (None when all is written).
    pub fn alarm(&self) -> Option<String> {
        self.journal.unwritten().map(|(n, why)| {
            format!("the airtime log cannot be written ({why}); {n} airing row(s) are kept in memory and will be written when it can be — free space on the state disk")
        })
    }

    /// Every alarm that is up, one line each.
    pub fn alarms(&self) -> Vec<String> {
        self.alarm()
            .into_iter()
            .chain(self.dead_air.clone())
            .chain(self.relay_down.clone())
            .collect()
    }

    /// A relay's news: a switch is logged, published and, when nothing is left to air,
    /// raised as an alarm; its summary goes into its row.
    fn relay(
        &mut self,
        run: u64,
        item: u32,
        at: DateTime<Utc>,
        programme: &Option<String>,
        title: &str,
        note: &SourceNote,
    ) -> Result<(), airtime::Error> {
        match note {
            SourceNote::Switched {
                to,
                fallback,
                silence,
                why,
            } => {
                let m = match (fallback, silence) {
                    (None, _) => format!("relay {title}: back on the stream ({why})"),
                    (_, true) => {
                        format!("relay {title}: {why} — no fallback left: the relay airs silence")
                    }
                    (Some(n), _) => format!("relay {title}: {why} — airing fallback {n}: {to}"),
                };
                match (fallback, silence) {
                    (None, _) => tracing::info!("{m}"),
                    (_, true) => tracing::error!("{m}"),
                    _ => tracing::warn!("{m}"),
                }
                (self.publish)(&Event::RelaySwitched {
                    programme: programme.clone(),
                    title: title.to_string(),
                    to: to.clone(),
                    fallback: *fallback,
                    silence: *silence,
                    why: why.clone(),
                    at,
                });
                if *silence {
                    self.raise_relay_alarm(Some(m), at);
                } else {
                    self.raise_relay_alarm(None, at);
                }
            }
            SourceNote::Summary(sum) => {
                self.raise_relay_alarm(None, at);
                if let Some(s) = &self.store {
                    let json = serde_json::to_string(sum).unwrap_or_default();
                    self.journal.detail(s, (run, item), &json)?;
                }
            }
        }
        Ok(())
    }

    fn raise_relay_alarm(&mut self, m: Option<String>, at: DateTime<Utc>) {
        match (&self.relay_down, m) {
            (None, Some(m)) => {
                (self.publish)(&Event::Alarm {
                    active: true,
                    message: m.clone(),
                    at,
                });
                if let Some(cmd) = &self.station.config().alarms.command {
                    run_alarm_command(cmd, &m);
                }
                self.relay_down = Some(m);
            }
            (Some(_), None) => {
                (self.publish)(&Event::Alarm {
                    active: false,
                    message: "the relay airs sound again".into(),
                    at,
                });
                self.relay_down = None;
            }
            _ => {}
        }
    }

    /// Shutting down: what is on air is closed as interrupted.
    pub fn shutdown(&mut self, now: DateTime<Utc>, why: &str) -> Result<(), airtime::Error> {
        let acts = self.station.shutdown(now, why);
        self.exec(acts)
    }
}

/// One readable line per action, for the technician.
fn log_action(a: &Action) {
    match a {
        Action::Cue(plan) => tracing::debug!(
            "cue run {} at {} ({} items)",
            plan.run,
            plan.at,
            plan.items.len()
        ),
        Action::Cut(_) => {}
        Action::Start { airing, .. } => tracing::info!(
            "on air: {} › {}{}",
            airing.programme.as_deref().unwrap_or("manual play"),
            airing.title.as_deref().unwrap_or("?"),
            airing
                .category
                .as_deref()
                .map(|c| format!(" [{c}]"))
                .unwrap_or_default()
        ),
        Action::Finish {
            status,
            played,
            reason,
            ..
        } => {
            let why = reason
                .as_ref()
                .map(|r| format!(" — {r}"))
                .unwrap_or_default();
            tracing::info!(
                "{}: {}{why}",
                status.as_str(),
                crate::config::format_duration(*played)
            );
        }
        Action::Record {
            airing,
            status,
            reason,
        } => tracing::warn!(
            "{} {}: {reason}",
            airing.programme.as_deref().unwrap_or("manual play"),
            status.as_str()
        ),
        Action::Relay { .. } => {}
        Action::Note(Level::Info, m) => tracing::info!("{m}"),
        Action::Note(Level::Warn, m) => tracing::warn!("{m}"),
        Action::Note(Level::Error, m) => tracing::error!("{m}"),
    }
}

/// Runs the station's alarm command with the message as its argument, without waiting for
/// it (an SMS through a GSM modem can take seconds); its exit is reaped on a thread.
fn run_alarm_command(cmd: &std::path::Path, message: &str) {
    match std::process::Command::new(cmd)
        .arg(message)
        .stdin(std::process::Stdio::null())
        .spawn()
    {
        Ok(mut child) => {
            std::thread::spawn(move || {
                if let Ok(st) = child.wait() {
                    if !st.success() {
                        tracing::warn!("the alarm command exited with {st}");
                    }
                }
            });
        }
        Err(e) => tracing::error!("cannot run the alarm command {}: {e}", cmd.display()),
    }
}
