//! `loaxa simulate`: the real station logic (scheduling, picking, conflicts, logging) run
//! by the same [`Driver`] as the daemon, against a simulated clock and player, so a month
//! of the schedule takes seconds. It writes to its own airtime log, never the live one.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::airtime::{Status, Store};
use crate::config::Config;
use crate::control::Event;
use crate::driver::Driver;
use crate::item::Item;
use crate::library::Library;
use crate::playout::sim::SimPlayer;
use crate::playout::Player;
use crate::station::{Action, History, Lengths, Station};

/// What a simulation did.
#[derive(Debug, Default)]
pub struct Summary {
    pub runs: u64,
    /// Completed airings per category ("" for jingles and fixed files).
    pub completed: BTreeMap<String, u64>,
    pub by_status: BTreeMap<&'static str, u64>,
}

impl Summary {
    fn add(&mut self, ev: &Event) {
        match ev {
            Event::ProgrammeCued { .. } => self.runs += 1,
            Event::ItemEnded {
                status, category, ..
            } => {
                *self.by_status.entry(status.as_str()).or_default() += 1;
                if *status == Status::Completed {
                    *self
                        .completed
                        .entry(category.clone().unwrap_or_default())
                        .or_default() += 1;
                }
            }
            Event::Recorded { status, .. } => {
                *self.by_status.entry(status.as_str()).or_default() += 1
            }
            _ => {}
        }
    }
}

/// A station on a simulated clock, writing to a real airtime log.
pub struct Sim {
    pub driver: Driver<SimPlayer>,
    pub now: DateTime<Utc>,
    summary: Rc<RefCell<Summary>>,
}

impl Sim {
    pub fn new(
        config: Arc<Config>,
        fixed: Lengths,
        items: Vec<Item>,
        history: History,
        from: DateTime<Utc>,
        db: &Path,
        wav: Option<&Path>,
    ) -> Result<Sim, String> {
        let store = Store::open(db).map_err(|e| e.to_string())?;
        let player = SimPlayer::new(from, wav)?;
        let (station, acts) = Station::new(config, fixed, items, history, from);
        let summary = Rc::new(RefCell::new(Summary::default()));
        let s2 = summary.clone();
        let publish = Box::new(move |e: &Event| s2.borrow_mut().add(e));
        let mut sim = Sim {
            driver: Driver::new(station, player, Some(store), publish, false),
            now: from,
            summary,
        };
        sim.exec(acts)?;
        Ok(sim)
    }

    pub fn store(&self) -> &Store {
        self.driver
            .store()
            .expect("a simulation always has its log")
    }

    pub fn summary(&self) -> std::cell::Ref<'_, Summary> {
        self.summary.borrow()
    }

    /// Carries out what the station decided.
    pub fn exec(&mut self, acts: Vec<Action>) -> Result<(), String> {
        self.driver.exec(acts).map_err(|e| e.to_string())
    }

    fn events(&mut self) -> Result<(), String> {
        for e in self.driver.player.poll() {
            let acts = self.driver.station.on_event(e, self.now);
            self.exec(acts)?;
        }
        Ok(())
    }

    /// Runs until `until` (and, with `drain`, until the player has finished what it airs).
    pub fn run_until(&mut self, until: DateTime<Utc>, drain: bool) -> Result<(), String> {
        loop {
            let next = [
                self.driver.station.next_wakeup(self.now),
                self.driver.player.next_event_at(),
            ]
            .into_iter()
            .flatten()
            .min();
            let t = match next {
                Some(t) if t < until => t,
                Some(t) if drain && self.driver.player.busy() => t,
                _ => break,
            };
            // Never stand still: time moves at least a millisecond per step.
            self.now = t.max(self.now + chrono::Duration::milliseconds(1));
            self.driver.player.advance(self.now);
            self.events()?;
            if self.now < until {
                let acts = self.driver.station.tick(self.now);
                self.exec(acts)?;
            }
            // What a cue at `now` starts happens at `now` too.
            self.driver.player.advance(self.now);
            self.events()?;
        }
        if self.now < until {
            self.now = until;
            self.driver.player.advance(until);
            self.events()?;
        }
        Ok(())
    }

    /// Lets the test or caller act on the station at the current instant.
    pub fn act(
        &mut self,
        f: impl FnOnce(&mut Station, DateTime<Utc>) -> Vec<Action>,
    ) -> Result<(), String> {
        let acts = f(&mut self.driver.station, self.now);
        self.exec(acts)?;
        self.driver.player.advance(self.now);
        self.events()
    }
}

/// Simulates `[from, until)` with the library as it is now, writing to `db`.
pub fn simulate(
    config: Arc<Config>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    db: &Path,
    wav: Option<&Path>,
) -> Result<Summary, String> {
    let lib = Library::snapshot(&config, Utc::now(), false);
    // Items without a date of their own became valid when this machine first saw them;
    // for a simulation, they are there from its start.
    let mut items = lib.candidates();
    for c in &mut items {
        if c.from_arrival {
            c.valid_from = c.valid_from.min(from);
        }
    }
    let fixed = crate::media::probe::fixed_lengths(config.fixed_files());
    let mut sim = Sim::new(config, fixed, items, History::default(), from, db, wav)?;
    sim.run_until(until, true)?;
    sim.driver.player.finish()?;
    let mut sum = std::mem::take(&mut *sim.summary.borrow_mut());
    sum.completed.retain(|_, v| *v > 0);
    Ok(sum)
}

/// The default log of a simulation: a new file under the state folder.
pub fn default_db(config: &Config, from: DateTime<Utc>, days: u32) -> PathBuf {
    let tz = config.station.timezone;
    let stamp = Utc::now().format("%Y%m%d-%H%M%S");
    config.paths.state.join("simulations").join(format!(
        "sim-{}-{days}d-{stamp}.db",
        from.with_timezone(&tz).format("%Y-%m-%d")
    ))
}
