//! The station's decisions: which run goes on air when, what a conflict, an emergency, a
//! skip or a power cut does to the schedule, and what each of those writes to the airtime
//! log. Pure: times, player events and inputs in; [`Action`]s out. No I/O, no clock and no
//! logging here: the driver carries the actions out on a real or a simulated output.
//!
//! One concern a file: [`runs`] (cueing, conflicts, what is on air, operator commands),
//! [`emergency`] (interruptions, repeats, what resumes after), [`retry`] (a failed output),
//! [`status`] (what `status` shows), [`why`] (the typed reasons rows carry).

mod emergency;
mod retry;
mod runs;
mod saved;
mod status;
mod why;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::airtime::{NewAiring, Status, Trigger};
use crate::config::{format_duration, Config};
use crate::item::{Entry, Item};
use crate::playout::PlayPlan;
use crate::schedule;

pub use self::saved::Saved;
pub use self::status::{NextView, OnAirView, StatusView};
pub use self::why::Why;

/// Programmes are handed to the player this long before their second: the output opens
/// and the decoder fills a second and a half of audio ahead.
pub const PREP: Duration = Duration::from_secs(2);
/// Something to air "now" (operator, emergency, a waiting programme) starts this late.
pub const NOW_LEAD: Duration = Duration::from_millis(400);
/// An emergency starts this late: the output is usually open already, and the decoder
/// needs only its first fraction of a second decoded.
pub const EMERGENCY_LEAD: Duration = Duration::from_millis(200);
/// How far back a restart looks for programmes it missed.
const LOOKBACK_DAYS: i64 = 7;

fn cd(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or_default()
}

/// The lengths of jingles, fixed files and the alert tone, probed by the caller (I/O stays
/// out of the station); None where a file could not be timed.
pub type Lengths = HashMap<PathBuf, Option<Duration>>;

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Cue(PlayPlan),
    Cut(u64),
    /// An item went on air: write its row (`playing`).
    Start {
        run: u64,
        item: u32,
        airing: NewAiring,
        at: DateTime<Utc>,
    },
    /// An item left the air: close its row.
    Finish {
        run: u64,
        item: u32,
        status: Status,
        at: DateTime<Utc>,
        played: Duration,
        reason: Option<Why>,
    },
    /// Something that never went on air: write a closed row.
    Record {
        airing: NewAiring,
        status: Status,
        reason: Why,
    },
    /// A relay switched what it airs, or summed up its window (for its row).
    Relay {
        run: u64,
        item: u32,
        at: DateTime<Utc>,
        programme: Option<String>,
        title: String,
        note: crate::playout::note::SourceNote,
    },
    /// A line for the technician's log.
    Note(Level, String),
}

/// How loud a [`Action::Note`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// Why an operator's play cannot be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    NoSuchItem(String),
    NoSuchCategory(String),
    /// The category has no item that may air now.
    EmptyCategory(String),
}

/// What the log says about the time before this start.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// When each item last aired (for `rotate`).
    pub last_aired: HashMap<String, DateTime<Utc>>,
    /// When the station was last known to be running (None: first start ever).
    pub last_seen: Option<DateTime<Utc>>,
    /// Programme starts already in the log (name, scheduled instant).
    pub logged: HashSet<(String, DateTime<Utc>)>,
    /// What the station owed when it last wrote it down (a crash or a power cut cut it).
    pub saved: Option<Saved>,
}

pub struct Station {
    config: Arc<Config>,
    items: Vec<Item>,
    fixed: Lengths,
    last_aired: HashMap<String, DateTime<Utc>>,
    /// Programme starts before this are dealt with.
    cursor: DateTime<Utc>,
    /// The next programme start after `cursor`, once computed (asked on every wake-up).
    next_cache: std::cell::Cell<Option<(DateTime<Utc>, Option<schedule::Occurrence>)>>,
    runs: runs::Runs,
    emergencies: emergency::Emergencies,
    retries: retry::Retries,
    last_error: Option<String>,
}

impl Station {
    /// A station starting at `now`; the actions record what was missed while it was down
    /// and cue what may still air late.
    pub fn new(
        config: Arc<Config>,
        fixed: Lengths,
        items: Vec<Item>,
        history: History,
        now: DateTime<Utc>,
    ) -> (Station, Vec<Action>) {
        let mut st = Station {
            config,
            items,
            fixed,
            last_aired: history.last_aired,
            cursor: now,
            next_cache: std::cell::Cell::new(None),
            runs: Default::default(),
            emergencies: Default::default(),
            retries: Default::default(),
            last_error: None,
        };
        let mut acts = vec![];
        if let Some(saved) = history.saved {
            acts.extend(st.restore(saved, now));
        }
        if let Some(seen) = history.last_seen {
            acts.extend(st.catch_up(seen, now, &history.logged));
        }
        (st, acts)
    }

    /// The station was not deciding between `seen` and `now` (it was off, or the clock
    /// jumped forward): what fell in between is logged missed, except the latest start
    /// within `catch_up`, which airs late. Starts already in the log are left alone.
    fn catch_up(
        &mut self,
        seen: DateTime<Utc>,
        now: DateTime<Utc>,
        logged: &HashSet<(String, DateTime<Utc>)>,
    ) -> Vec<Action> {
        let mut acts = vec![];
        let from = seen.max(now - chrono::Duration::days(LOOKBACK_DAYS));
        let catch_up = cd(self.config.catch_up);
        let mut late: Option<schedule::Occurrence> = None;
        for o in schedule::occurrences(&self.config, from, now) {
            let p = &self.config.programmes[o.programme];
            if logged.contains(&(p.name.clone(), o.at)) {
                continue;
            }
            if now - o.at <= catch_up {
                // The latest one within catch_up airs late; earlier ones are missed.
                if let Some(prev) = late.replace(o) {
                    acts.push(self.missed(prev, now, true));
                }
            } else {
                acts.push(self.missed(o, now, false));
            }
        }
        if let Some(o) = late {
            let delay = (now - o.at).to_std().unwrap_or_default();
            acts.push(Action::Note(
                Level::Info,
                format!(
                    "catch-up: `{}` was due {} ago; airing it now",
                    self.config.programmes[o.programme].name,
                    format_duration(delay)
                ),
            ));
            acts.extend(self.schedule_programme(o, now + cd(NOW_LEAD), Trigger::CatchUp));
        }
        self.cursor = self.cursor.max(now);
        acts
    }

    fn missed(&self, o: schedule::Occurrence, now: DateTime<Utc>, later_due: bool) -> Action {
        let p = &self.config.programmes[o.programme];
        let late = (now - o.at).to_std().unwrap_or_default();
        let catch_up = self.config.catch_up;
        Action::Record {
            airing: NewAiring {
                programme: Some(p.name.clone()),
                priority: p.priority,
                trigger: Some(Trigger::Schedule),
                scheduled_at: Some(o.at),
                ..Default::default()
            },
            status: Status::Missed,
            reason: if later_due {
                Why::LaterDue { late, catch_up }
            } else {
                Why::NotRunning { late, catch_up }
            },
        }
    }

    /// New library contents.
    pub fn set_library(&mut self, items: Vec<Item>) {
        self.items = items;
    }

    /// The library items the station picks from.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// A new configuration (and the lengths of its fixed files): what is on air continues;
    /// what comes next follows the new one.
    ///
    /// Starts before `now` that only the new configuration has were never owed: the
    /// schedule is taken up from `now` (never "caught up" as if the station had been off).
    pub fn reload(&mut self, config: Arc<Config>, fixed: Lengths, now: DateTime<Utc>) {
        self.config = config;
        self.fixed = fixed;
        self.cursor = self.cursor.max(now);
        self.next_cache.set(None);
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// The next instant the station needs to act at, if any.
    pub fn next_wakeup(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut t: Vec<DateTime<Utc>> = vec![];
        if let Some(o) = self.next_programme() {
            t.push(o.at - cd(PREP));
        }
        t.extend(self.runs.waiting.iter().map(|w| w.deadline));
        t.extend(self.emergencies.next_due());
        t.extend(self.retries.next_due());
        t.into_iter().min().map(|x| x.max(now))
    }

    /// The next programme start (for status).
    pub fn next_programme(&self) -> Option<schedule::Occurrence> {
        match self.next_cache.get() {
            Some((cursor, o)) if cursor == self.cursor => o,
            _ => {
                let o = schedule::next_occurrence(&self.config, self.cursor);
                self.next_cache.set(Some((self.cursor, o)));
                o
            }
        }
    }

    /// Due programmes, expired waits, emergency repeats and retries.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Action> {
        let mut acts = vec![];
        // The clock jumped forward (an NTP correction, a PC whose clock was wrong) or the
        // loop could not run for a while: like a restart, the latest start within catch_up
        // airs and the others are logged missed, never all of them at once.
        // (A start is cued PREP ahead; one whose second passed by more than that was never
        // cued.)
        if let Some(o) = self.next_programme().filter(|o| o.at + cd(PREP) < now) {
            acts.push(Action::Note(
                Level::Warn,
                format!(
                    "`{}` was due {} ago and never cued: the clock moved forward or the station stalled; taking up the schedule from now",
                    self.config.programmes[o.programme].name,
                    format_duration((now - o.at).to_std().unwrap_or_default())
                ),
            ));
            acts.extend(self.catch_up(o.at, now, &HashSet::new()));
        }
        let horizon = now + cd(PREP);
        // Only when a start is due: finding occurrences costs more than this check.
        if horizon >= self.cursor && self.next_programme().is_some_and(|o| o.at <= horizon) {
            for o in schedule::occurrences(
                &self.config,
                self.cursor,
                horizon + chrono::Duration::nanoseconds(1),
            ) {
                acts.extend(self.schedule_programme(o, o.at, Trigger::Schedule));
            }
            self.cursor = horizon + chrono::Duration::nanoseconds(1);
        }
        acts.extend(self.expire_waits(now));
        acts.extend(self.due_repeats(now));
        acts.extend(self.due_retries(now));
        acts
    }

    /// Airs programme `idx` now, as a manual run (`run --demo`).
    pub fn air_programme_now(&mut self, idx: usize, now: DateTime<Utc>) -> Vec<Action> {
        if idx >= self.config.programmes.len() {
            return vec![];
        }
        let o = schedule::Occurrence {
            at: now,
            programme: idx,
        };
        self.schedule_programme(o, now + cd(NOW_LEAD), Trigger::Manual)
    }

    /// A library item by its id, as an entry to play.
    pub fn item(&self, id: &str) -> Result<Entry, Refused> {
        let id = crate::config::nfc(id);
        self.items
            .iter()
            .find(|c| c.id == id)
            .map(Entry::of_item)
            .ok_or(Refused::NoSuchItem(id))
    }

    /// The item a category's own pick would air now (for `play --category`).
    pub fn pick(&self, category: &str, now: DateTime<Utc>) -> Result<Entry, Refused> {
        let cat = self
            .config
            .category(category)
            .ok_or_else(|| Refused::NoSuchCategory(category.to_string()))?;
        let mut pool: Vec<&Item> = self
            .items
            .iter()
            .filter(|c| c.category == category && c.valid_at(now))
            .collect();
        schedule::order(&mut pool, cat.pick, &self.last_aired);
        pool.first()
            .map(|c| Entry::of_item(c))
            .ok_or_else(|| Refused::EmptyCategory(category.to_string()))
    }
}

/// Every run's own description, apart from its entries.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Meta {
    programme: Option<String>,
    priority: crate::config::Priority,
    trigger: Trigger,
    scheduled_at: Option<DateTime<Utc>>,
}

impl Meta {
    fn airing(&self) -> NewAiring {
        NewAiring {
            programme: self.programme.clone(),
            priority: self.priority,
            trigger: Some(self.trigger),
            scheduled_at: self.scheduled_at,
            ..Default::default()
        }
    }

    /// How the log and the technician name it.
    fn name(&self) -> &str {
        self.programme.as_deref().unwrap_or("manual play")
    }
}

/// The runs on air or cued, by id.
type RunMap = BTreeMap<u64, runs::Run>;
