//! The station's decisions: which run goes on air when, what a conflict, an emergency, a
//! skip or a power cut does to the schedule, and what each of those writes to the airtime
//! log. Pure: times and events in, [`Action`]s out. `loaxa run` executes them on a real
//! output and clock; `loaxa simulate` on a simulated one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::airtime::{NewAiring, Status, Trigger};
use crate::config::{format_duration, AfterEmergency, Config, Priority, Programme};
use crate::local;
use crate::playout::deck::Outcome;
use crate::playout::{Item, PlayPlan, PlayerEvent};
use crate::schedule::{self, Candidate, EntryKind};

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
        reason: Option<String>,
    },
    /// Something that never went on air: write a closed row.
    Record {
        airing: NewAiring,
        status: Status,
        reason: String,
    },
}

/// One entry of a run, with what the log needs.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEntry {
    pub kind: EntryKind,
    pub path: PathBuf,
    pub title: String,
    pub category: Option<String>,
    pub id: Option<String>,
    pub hash: Option<String>,
    pub duration: Option<Duration>,
    pub gain_db: f64,
    pub offset: Duration,
}

/// What a run is, apart from its entries.
#[derive(Debug, Clone, PartialEq)]
struct Meta {
    programme: Option<String>,
    priority: Priority,
    trigger: Trigger,
    scheduled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct Run {
    meta: Meta,
    entries: Vec<RunEntry>,
    at: DateTime<Utc>,
    started: HashMap<u32, DateTime<Utc>>,
    /// Items before this index have ended (a retry does not air them again).
    ended: u32,
    current: Option<u32>,
    /// Set when we cut it on purpose: the status and reason its cut item gets.
    cut: Option<(Status, String)>,
    /// What to air after an emergency that cut this run.
    emergency: bool,
}

impl Run {
    fn expected_end(&self) -> DateTime<Utc> {
        self.at
            + cd(self
                .entries
                .iter()
                .map(|e| e.duration.unwrap_or_default().saturating_sub(e.offset))
                .sum())
    }
}

/// A programme waiting for the one on air to finish.
#[derive(Debug, Clone)]
struct Waiting {
    meta: Meta,
    entries: Vec<RunEntry>,
    deadline: DateTime<Utc>,
    /// Who it waits for (for the log).
    behind: String,
}

#[derive(Debug, Clone)]
struct Emergency {
    entries: Vec<RunEntry>,
    left: u32,
    next_at: DateTime<Utc>,
}

/// A programme an emergency cut, to continue afterwards.
#[derive(Debug, Clone)]
struct Interrupted {
    meta: Meta,
    rest: Vec<RunEntry>,
}

/// A run that could not reach the output, to try again.
#[derive(Debug, Clone)]
struct Retry {
    meta: Meta,
    entries: Vec<RunEntry>,
    at: DateTime<Utc>,
    backoff: Duration,
    /// Why the last attempt failed.
    reason: String,
}

/// What is on air and coming, for `loaxa status` and the systemd STATUS line.
#[derive(Debug, Clone, Serialize, Default)]
pub struct StatusView {
    pub on_air: Option<OnAirView>,
    pub next: Option<NextView>,
    pub emergency_active: bool,
    pub waiting: Vec<String>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OnAirView {
    pub programme: Option<String>,
    pub title: String,
    pub item: u32,
    pub items: u32,
    pub position_ms: u64,
    pub duration_ms: Option<u64>,
    pub priority: Priority,
    pub trigger: Trigger,
}

#[derive(Debug, Clone, Serialize)]
pub struct NextView {
    pub programme: String,
    pub at: String,
    pub priority: Priority,
}

pub struct Station {
    config: Arc<Config>,
    items: Vec<Candidate>,
    /// Each item's loudness gain (dB), by path: looked up for every entry cued.
    gains: HashMap<PathBuf, f64>,
    /// Lengths of jingles and fixed files (library items carry their own).
    fixed: crate::library::probe::Lengths,
    last_aired: HashMap<String, DateTime<Utc>>,
    /// Programme starts before this are dealt with.
    cursor: DateTime<Utc>,
    runs: BTreeMap<u64, Run>,
    next_id: u64,
    waiting: Vec<Waiting>,
    emergencies: Vec<Emergency>,
    interrupted: Option<Interrupted>,
    queue: Vec<(Meta, Vec<RunEntry>)>,
    retries: Vec<Retry>,
    /// Runs that are retries, by run id: their backoff and why the previous attempt failed.
    retrying: HashMap<u64, (Duration, String)>,
    /// The next programme start after `cursor`, once computed.
    next_cache: std::cell::RefCell<Option<(DateTime<Utc>, Option<schedule::Occurrence>)>>,
    last_error: Option<String>,
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
}

fn gains_of(items: &[Candidate]) -> HashMap<PathBuf, f64> {
    items.iter().map(|c| (c.path.clone(), c.gain_db)).collect()
}

impl Station {
    /// A station starting at `now`; the actions record what was missed while it was down
    /// and cue what may still air late.
    pub fn new(
        config: Arc<Config>,
        items: Vec<Candidate>,
        history: History,
        now: DateTime<Utc>,
    ) -> (Station, Vec<Action>) {
        let mut st = Station {
            config,
            gains: gains_of(&items),
            items,
            fixed: Default::default(),
            last_aired: history.last_aired,
            cursor: now,
            runs: BTreeMap::new(),
            next_id: 1,
            waiting: vec![],
            emergencies: vec![],
            interrupted: None,
            queue: vec![],
            retries: vec![],
            retrying: HashMap::new(),
            next_cache: std::cell::RefCell::new(None),
            last_error: None,
        };
        let mut acts = vec![];
        if let Some(seen) = history.last_seen {
            let from = seen.max(now - chrono::Duration::days(LOOKBACK_DAYS));
            let occ = schedule::occurrences(&st.config, from, now);
            let catch_up = cd(st.config.catch_up);
            let mut late: Option<schedule::Occurrence> = None;
            for o in occ {
                let p = &st.config.programmes[o.programme];
                if history.logged.contains(&(p.name.clone(), o.at)) {
                    continue;
                }
                if now - o.at <= catch_up {
                    // The latest one within catch_up airs late; earlier ones are missed.
                    if let Some(prev) = late.replace(o) {
                        acts.push(st.missed(
                            prev,
                            now,
                            "a later programme was due when the station came back",
                        ));
                    }
                } else {
                    acts.push(st.missed(o, now, "the station was not running"));
                }
            }
            if let Some(o) = late {
                let delay = now - o.at;
                tracing::info!(
                    "catch-up: `{}` was due {} ago; airing it now",
                    st.config.programmes[o.programme].name,
                    format_duration(delay.to_std().unwrap_or_default())
                );
                acts.extend(st.schedule_programme(o, now + cd(NOW_LEAD), Trigger::CatchUp));
            }
        }
        (st, acts)
    }

    fn missed(&self, o: schedule::Occurrence, now: DateTime<Utc>, why: &str) -> Action {
        let p = &self.config.programmes[o.programme];
        let late = (now - o.at).to_std().unwrap_or_default();
        Action::Record {
            airing: NewAiring {
                programme: Some(p.name.clone()),
                priority: p.priority,
                trigger: Some(Trigger::Schedule),
                scheduled_at: Some(o.at),
                ..Default::default()
            },
            status: Status::Missed,
            reason: format!(
                "{why} (due {} ago; catch_up is {})",
                format_duration(late),
                format_duration(self.config.catch_up)
            ),
        }
    }

    /// New library contents.
    pub fn set_library(&mut self, items: Vec<Candidate>) {
        self.gains = gains_of(&items);
        self.items = items;
    }

    /// A new configuration: what is on air continues; what comes next follows the new one.
    pub fn reload(&mut self, config: Arc<Config>) {
        self.config = config;
        self.fixed.clear();
        *self.next_cache.borrow_mut() = None;
    }

    /// The next instant the station needs to act at, if any.
    pub fn next_wakeup(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let prep = cd(PREP);
        let mut t: Vec<DateTime<Utc>> = vec![];
        if let Some(o) = self.next_programme() {
            t.push(o.at - prep);
        }
        t.extend(self.waiting.iter().map(|w| w.deadline));
        t.extend(
            self.emergencies
                .iter()
                .filter(|e| e.left > 0)
                .map(|e| e.next_at - cd(NOW_LEAD)),
        );
        t.extend(self.retries.iter().map(|r| r.at));
        t.into_iter().min().map(|x| x.max(now))
    }

    /// The next programme start (for status).
    pub fn next_programme(&self) -> Option<schedule::Occurrence> {
        // Asked on every wake-up of the daemon: computed once per cursor position.
        let mut c = self.next_cache.borrow_mut();
        match *c {
            Some((cursor, o)) if cursor == self.cursor => o,
            _ => {
                let o = schedule::next_occurrence(&self.config, self.cursor);
                *c = Some((self.cursor, o));
                o
            }
        }
    }

    fn on_air(&self, at: DateTime<Utc>) -> Option<u64> {
        self.runs
            .iter()
            // An item already handed to the output counts as on air even a little before
            // its instant (the device plays what it is given a period or two later).
            .filter(|(_, r)| r.current.is_some() || (r.at <= at && r.expected_end() > at))
            .map(|(id, _)| *id)
            .next_back()
    }

    /// Due programmes, expired waits, emergency repeats and retries.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Action> {
        let mut acts = vec![];
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
        // Waits that can no longer start within catch_up.
        let (expired, keep): (Vec<Waiting>, Vec<Waiting>) =
            self.waiting.drain(..).partition(|w| w.deadline <= now);
        self.waiting = keep;
        for w in expired {
            acts.push(Action::Record {
                airing: w.meta.airing(),
                status: Status::Skipped,
                reason: format!(
                    "`{}` was still on air; could not start within catch_up ({})",
                    w.behind,
                    format_duration(self.config.catch_up)
                ),
            });
        }
        // Emergency repeats.
        let lead = cd(NOW_LEAD);
        let due: Vec<usize> = (0..self.emergencies.len())
            .filter(|i| self.emergencies[*i].left > 0 && self.emergencies[*i].next_at - lead <= now)
            .collect();
        for i in due {
            let every = self
                .config
                .emergency
                .as_ref()
                .map(|e| e.every)
                .unwrap_or(Duration::from_secs(300));
            let e = &mut self.emergencies[i];
            e.left -= 1;
            let at = e.next_at.max(now + lead);
            e.next_at = at + cd(every);
            let entries = e.entries.clone();
            acts.extend(self.air_emergency(entries, at));
        }
        self.emergencies.retain(|e| e.left > 0);
        // Retries after an output failure.
        let (due, keep): (Vec<Retry>, Vec<Retry>) =
            self.retries.drain(..).partition(|r| r.at <= now);
        self.retries = keep;
        for r in due {
            let deadline = r.meta.scheduled_at.unwrap_or(now) + cd(self.config.catch_up);
            if now > deadline {
                continue;
            }
            let id = self.cue(r.meta, r.entries, now + lead, false, &mut acts);
            if let Some(run) = self.runs.get_mut(&id) {
                run.emergency = false;
            }
            self.retrying.insert(id, (r.backoff, r.reason));
        }
        acts
    }

    /// Decides what a programme start does: air, preempt, wait or be skipped.
    fn schedule_programme(
        &mut self,
        o: schedule::Occurrence,
        at: DateTime<Utc>,
        trigger: Trigger,
    ) -> Vec<Action> {
        let mut acts = vec![];
        let p = self.config.programmes[o.programme].clone();
        let meta = Meta {
            programme: Some(p.name.clone()),
            priority: p.priority,
            trigger,
            scheduled_at: Some(o.at),
        };
        let (entries, shortfalls) = self.running_order(&p, o.at, at);
        for s in shortfalls {
            acts.push(Action::Record {
                airing: NewAiring {
                    category: Some(s.category.clone()),
                    ..meta.airing()
                },
                status: Status::Skipped,
                reason: format!(
                    "category `{}`: {} of {} item(s) — {}",
                    s.category, s.found, s.wanted, s.reason
                ),
            });
        }
        if entries.is_empty() {
            return acts;
        }
        if let Some(cur) = self.on_air(at) {
            let c = &self.runs[&cur];
            if meta.priority > c.meta.priority && !c.emergency {
                let name = c.meta.programme.clone().unwrap_or_else(|| "manual".into());
                tracing::info!("`{}` ({}) preempts `{name}`", p.name, p.priority);
                if let Some(r) = self.runs.get_mut(&cur) {
                    r.cut = Some((
                        Status::Interrupted,
                        format!("preempted by higher-priority programme `{}`", p.name),
                    ));
                }
                self.cue(meta, entries, at, true, &mut acts);
            } else {
                let behind = c
                    .meta
                    .programme
                    .clone()
                    .unwrap_or_else(|| "an emergency broadcast".into());
                self.waiting.push(Waiting {
                    meta,
                    entries,
                    deadline: o.at + cd(self.config.catch_up),
                    behind,
                });
            }
        } else {
            self.cue(meta, entries, at, false, &mut acts);
        }
        acts
    }

    /// A programme's entries at `at` (quiet hours trim it like max_duration does).
    fn running_order(
        &mut self,
        p: &Programme,
        due: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> (Vec<RunEntry>, Vec<schedule::Shortfall>) {
        let mut p = p.clone();
        if p.priority < Priority::Emergency {
            if let Some(room) = self.until_quiet(at) {
                p.max_duration = Some(p.max_duration.map_or(room, |m| m.min(room)));
            }
        }
        let len = |path: &std::path::Path| self.fixed.get(path);
        let run = schedule::running_order(&p, due, &self.items, &self.last_aired, &len);
        let entries = run.entries.into_iter().map(|e| self.entry(e)).collect();
        (entries, run.shortfalls)
    }

    /// Time from `at` until the next quiet hours begin, if that is within a day.
    fn until_quiet(&self, at: DateTime<Utc>) -> Option<Duration> {
        let tz = self.config.station.timezone;
        let local = at.with_timezone(&tz);
        self.config
            .quiet_hours
            .iter()
            .filter_map(|q| {
                let today = local.date_naive().and_time(q.start);
                let start = if today > local.naive_local() {
                    today
                } else {
                    today + chrono::Duration::days(1)
                };
                (start - local.naive_local()).to_std().ok()
            })
            .min()
    }

    fn entry(&self, e: schedule::Entry) -> RunEntry {
        RunEntry {
            gain_db: self.gains.get(&e.path).copied().unwrap_or(0.0),
            kind: e.kind,
            path: e.path,
            title: e.title,
            category: e.category,
            id: e.id,
            hash: e.hash,
            duration: e.duration,
            offset: Duration::ZERO,
        }
    }

    fn plan(&self, run: u64, at: DateTime<Utc>, replace: bool, entries: &[RunEntry]) -> PlayPlan {
        let vol = self.config.output.volume;
        PlayPlan {
            run,
            at,
            replace,
            items: entries
                .iter()
                .map(|e| Item {
                    path: e.path.clone(),
                    gain: (10f64.powf(e.gain_db / 20.0) as f32) * vol,
                    offset: e.offset,
                    expect: e.duration,
                })
                .collect(),
        }
    }

    fn cue(
        &mut self,
        meta: Meta,
        entries: Vec<RunEntry>,
        at: DateTime<Utc>,
        replace: bool,
        acts: &mut Vec<Action>,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        acts.push(Action::Cue(self.plan(id, at, replace, &entries)));
        self.runs.insert(
            id,
            Run {
                meta,
                entries,
                at,
                started: HashMap::new(),
                ended: 0,
                current: None,
                cut: None,
                emergency: false,
            },
        );
        id
    }

    /// The airing row of entry `i` of a run.
    fn airing(&self, r: &Run, i: u32) -> NewAiring {
        let e = &r.entries[i as usize];
        NewAiring {
            category: e.category.clone(),
            item_path: Some(e.id.clone().unwrap_or_else(|| e.path.display().to_string())),
            title: Some(e.title.clone()),
            content_hash: e.hash.clone(),
            planned: e.duration.map(|d| d.saturating_sub(e.offset)),
            ..r.meta.airing()
        }
    }

    /// Something the player reported.
    pub fn on_event(&mut self, ev: PlayerEvent, now: DateTime<Utc>) -> Vec<Action> {
        let mut acts = vec![];
        match ev {
            PlayerEvent::Started { run, item, at } => {
                let Some(r) = self.runs.get_mut(&run) else {
                    return acts;
                };
                r.started.insert(item, at);
                r.current = Some(item);
                if let Some(id) = r.entries.get(item as usize).and_then(|e| e.id.clone()) {
                    self.last_aired.insert(id, at);
                }
                let r = &self.runs[&run];
                acts.push(Action::Start {
                    run,
                    item,
                    airing: self.airing(r, item),
                    at,
                });
            }
            PlayerEvent::Ended {
                run,
                item,
                at,
                played,
                outcome,
            } => {
                let Some(r) = self.runs.get(&run) else {
                    return acts;
                };
                let was_started = r.started.contains_key(&item);
                let (status, reason) = match &outcome {
                    Outcome::Completed => (Status::Completed, None),
                    Outcome::Failed(why) => (Status::Failed, Some(why.clone())),
                    Outcome::Cut => match &r.cut {
                        Some((s, why)) => (*s, Some(why.clone())),
                        None => (Status::Interrupted, Some("cut short".to_string())),
                    },
                };
                if was_started {
                    acts.push(Action::Finish {
                        run,
                        item,
                        status,
                        at,
                        played,
                        reason,
                    });
                } else if matches!(outcome, Outcome::Failed(_)) {
                    acts.push(Action::Record {
                        airing: self.airing(r, item),
                        status: Status::Failed,
                        reason: reason.unwrap_or_default(),
                    });
                    self.last_error = Some(format!(
                        "{}: {}",
                        local::rfc3339(now, self.config.station.timezone),
                        r.entries[item as usize].title
                    ));
                }
                if let Outcome::Failed(why) = &outcome {
                    tracing::warn!("{}: {why}", r.entries[item as usize].title);
                    self.last_error = Some(why.clone());
                }
                let r = self.runs.get_mut(&run).expect("present");
                r.started.remove(&item);
                r.ended = r.ended.max(item + 1);
                if r.current == Some(item) {
                    r.current = None;
                }
                // An emergency cut this programme: remember where, to continue it.
                if outcome == Outcome::Cut
                    && r.cut
                        .as_ref()
                        .is_some_and(|(_, w)| w.starts_with("interrupted by emergency"))
                    && !r.emergency
                {
                    let policy = self
                        .config
                        .emergency
                        .as_ref()
                        .map(|e| e.after)
                        .unwrap_or_default();
                    let i = item as usize;
                    let mut rest: Vec<RunEntry> = match policy {
                        AfterEmergency::SkipItem => r.entries[i + 1..].to_vec(),
                        _ => r.entries[i..].to_vec(),
                    };
                    if policy == AfterEmergency::Resume {
                        if let Some(first) = rest.first_mut() {
                            first.offset += played;
                        }
                    } else if policy == AfterEmergency::RestartItem {
                        if let Some(first) = rest.first_mut() {
                            first.offset = Duration::ZERO;
                        }
                    }
                    if self.interrupted.is_none() {
                        self.interrupted = Some(Interrupted {
                            meta: r.meta.clone(),
                            rest,
                        });
                    }
                }
            }
            PlayerEvent::RunDone { run, at } => {
                let Some(r) = self.runs.remove(&run) else {
                    return acts;
                };
                // An emergency cut it before any item started: continue it whole.
                if r.started.is_empty()
                    && r.current.is_none()
                    && r.cut
                        .as_ref()
                        .is_some_and(|(_, w)| w.starts_with("interrupted by emergency"))
                    && self.interrupted.is_none()
                    && !r.emergency
                    && at < r.at
                {
                    self.interrupted = Some(Interrupted {
                        meta: r.meta.clone(),
                        rest: r.entries.clone(),
                    });
                }
                acts.extend(self.after_run(&r, now));
            }
            PlayerEvent::Failed {
                run,
                reason,
                last_audio,
            } => {
                let Some(r) = self.runs.remove(&run) else {
                    return acts;
                };
                // Airtime counts only up to the last audio that reached the output.
                let end = last_audio.unwrap_or(now).min(now);
                self.last_error = Some(reason.clone());
                tracing::error!(
                    "{}: {reason}",
                    r.meta.programme.as_deref().unwrap_or("manual play")
                );
                for (item, start) in &r.started {
                    acts.push(Action::Finish {
                        run,
                        item: *item,
                        status: Status::Failed,
                        at: end.max(*start),
                        played: (end - *start).to_std().unwrap_or_default(),
                        reason: Some(reason.clone()),
                    });
                }
                let previous = self.retrying.remove(&run);
                // A retry failing for the same reason is not logged again.
                let again = previous.as_ref().is_some_and(|(_, why)| *why == reason);
                if r.started.is_empty() && !again {
                    acts.push(Action::Record {
                        airing: r.meta.airing(),
                        status: Status::Failed,
                        reason: reason.clone(),
                    });
                }
                // Try again while the programme may still air late.
                let backoff = previous
                    .map(|(b, _)| (b * 2).min(Duration::from_secs(60)))
                    .unwrap_or(Duration::from_secs(5));
                // From the item that failed: what already aired is not aired twice, but
                // the opening jingle comes first again to announce the rest.
                let from = (r.started.keys().min().copied())
                    .unwrap_or(r.ended)
                    .min(r.entries.len() as u32) as usize;
                let intro = (r.entries.iter())
                    .take_while(|e| e.kind == EntryKind::Jingle)
                    .count()
                    .min(from);
                let entries: Vec<RunEntry> = (r.entries[..intro].iter())
                    .chain(&r.entries[from..])
                    .cloned()
                    .collect();
                if r.meta.trigger != Trigger::Manual && from < r.entries.len() {
                    self.retries.push(Retry {
                        meta: r.meta.clone(),
                        entries,
                        at: now + cd(backoff),
                        backoff,
                        reason: reason.clone(),
                    });
                }
            }
            PlayerEvent::Underrun { run, .. } => {
                tracing::warn!("run {run}: the decoder fell behind (a moment of silence)");
            }
        }
        acts
    }

    /// After a run leaves the air: continue what an emergency cut, then what waits.
    fn after_run(&mut self, r: &Run, now: DateTime<Utc>) -> Vec<Action> {
        let mut acts = vec![];
        if self.on_air(now).is_some() || self.runs.values().any(|x| x.at <= now + cd(NOW_LEAD)) {
            return acts;
        }
        let at = now + cd(NOW_LEAD);
        let emergency_waiting = self
            .emergencies
            .iter()
            .any(|e| e.left > 0 && e.next_at <= now + cd(PREP));
        if r.emergency && !emergency_waiting {
            if let Some(i) = self.interrupted.take() {
                if !i.rest.is_empty() {
                    tracing::info!(
                        "continuing `{}` after the emergency broadcast",
                        i.meta.programme.as_deref().unwrap_or("manual play")
                    );
                    self.cue(i.meta, i.rest, at, false, &mut acts);
                    return acts;
                }
            }
        }
        if let Some(w) = (!self.waiting.is_empty()).then(|| self.waiting.remove(0)) {
            self.cue(w.meta, w.entries, at, false, &mut acts);
            return acts;
        }
        if !self.queue.is_empty() {
            let (m, e) = self.queue.remove(0);
            self.cue(m, e, at, false, &mut acts);
        }
        acts
    }

    /// An emergency item: it interrupts whatever is on air within a second, after the alert
    /// tone, and repeats as configured.
    pub fn emergency(&mut self, item: RunEntry, now: DateTime<Utc>) -> Vec<Action> {
        let (repeat, every, tone) = match &self.config.emergency {
            Some(e) => (e.repeat, e.every, e.alert_tone.clone()),
            None => (1, Duration::from_secs(300), None),
        };
        let mut entries = vec![];
        if let Some(t) = tone {
            let d = self.fixed.get(&t);
            entries.push(RunEntry {
                kind: EntryKind::Jingle,
                title: self
                    .items
                    .iter()
                    .find(|c| c.path == t)
                    .map(|c| c.title.clone())
                    .unwrap_or_else(|| crate::library::meta::title_from_name(&t)),
                gain_db: self.gains.get(&t).copied().unwrap_or(0.0),
                path: t,
                category: None,
                id: None,
                hash: None,
                duration: d,
                offset: Duration::ZERO,
            });
        }
        entries.push(item);
        let at = now + cd(EMERGENCY_LEAD);
        self.emergencies.push(Emergency {
            entries: entries.clone(),
            left: repeat.saturating_sub(1),
            next_at: at + cd(every),
        });
        self.air_emergency(entries, at)
    }

    fn air_emergency(&mut self, entries: Vec<RunEntry>, at: DateTime<Utc>) -> Vec<Action> {
        let mut acts = vec![];
        let meta = Meta {
            programme: Some("Phát khẩn cấp".into()),
            priority: Priority::Emergency,
            trigger: Trigger::Emergency,
            scheduled_at: Some(at),
        };
        // Emergencies never cut each other: a second one follows the first.
        let busy_emergency = self
            .runs
            .values()
            .filter(|r| r.emergency)
            .map(|r| r.expected_end())
            .max();
        let (start, replace) = match busy_emergency {
            Some(end) if end > at => (end, false),
            _ => (at, true),
        };
        for r in self
            .runs
            .values_mut()
            .filter(|r| !r.emergency && r.at <= start + cd(PREP))
        {
            r.cut = Some((
                Status::Interrupted,
                "interrupted by emergency broadcast".into(),
            ));
        }
        // Cued runs that have not started yet wait for the emergency to finish.
        let later: Vec<u64> = self
            .runs
            .iter()
            .filter(|(_, r)| !r.emergency && r.at > start)
            .map(|(id, _)| *id)
            .collect();
        for id in later {
            acts.push(Action::Cut(id));
        }
        let id = self.cue(meta, entries, start, replace, &mut acts);
        if let Some(r) = self.runs.get_mut(&id) {
            r.emergency = true;
        }
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

    /// Operator: play these now, or right after what is on air.
    pub fn play_now(&mut self, entries: Vec<RunEntry>, now: DateTime<Utc>) -> (Vec<Action>, bool) {
        let meta = Meta {
            programme: None,
            priority: Priority::Normal,
            trigger: Trigger::Manual,
            scheduled_at: Some(now),
        };
        let mut acts = vec![];
        if self.on_air(now).is_some() || !self.runs.is_empty() {
            self.queue.push((meta, entries));
            return (acts, false);
        }
        self.cue(meta, entries, now + cd(NOW_LEAD), false, &mut acts);
        (acts, true)
    }

    /// Operator: end the item on air; the rest of its programme goes on.
    pub fn skip(&mut self, now: DateTime<Utc>) -> Option<Vec<Action>> {
        let id = self.on_air(now)?;
        let r = self.runs.get_mut(&id)?;
        let i = r.current? as usize;
        r.cut = Some((Status::Skipped, "skipped by operator".into()));
        let rest = r.entries[i + 1..].to_vec();
        let meta = r.meta.clone();
        let emergency = r.emergency;
        let mut acts = vec![Action::Cut(id)];
        if !rest.is_empty() {
            let nid = self.cue(meta, rest, now + cd(NOW_LEAD), true, &mut acts);
            if let Some(r) = self.runs.get_mut(&nid) {
                r.emergency = emergency;
            }
        }
        Some(acts)
    }

    /// Operator: end the programme on air.
    pub fn stop(&mut self, now: DateTime<Utc>) -> Option<Vec<Action>> {
        let id = self.on_air(now)?;
        let r = self.runs.get_mut(&id)?;
        r.cut = Some((Status::Interrupted, "stopped by operator".into()));
        if r.emergency {
            // Stopping an emergency also stops its repeats.
            self.emergencies.clear();
            self.interrupted = None;
        }
        Some(vec![Action::Cut(id)])
    }

    /// Shutting down: every item on air is closed as interrupted, now.
    pub fn shutdown(&mut self, now: DateTime<Utc>, why: &str) -> Vec<Action> {
        let mut acts = vec![];
        for (id, r) in std::mem::take(&mut self.runs) {
            for (item, start) in r.started {
                acts.push(Action::Finish {
                    run: id,
                    item,
                    status: Status::Interrupted,
                    at: now,
                    played: (now - start).to_std().unwrap_or_default(),
                    reason: Some(why.to_string()),
                });
            }
            acts.push(Action::Cut(id));
        }
        acts
    }

    pub fn status(&self, now: DateTime<Utc>) -> StatusView {
        let tz = self.config.station.timezone;
        let on_air = self.runs.values().find(|r| r.current.is_some()).map(|r| {
            let i = r.current.expect("filtered");
            let e = &r.entries[i as usize];
            OnAirView {
                programme: r.meta.programme.clone(),
                title: e.title.clone(),
                item: i + 1,
                items: r.entries.len() as u32,
                position_ms: r
                    .started
                    .get(&i)
                    .map(|s| {
                        (now - *s).num_milliseconds().max(0) as u64 + e.offset.as_millis() as u64
                    })
                    .unwrap_or(0),
                duration_ms: e.duration.map(|d| d.as_millis() as u64),
                priority: r.meta.priority,
                trigger: r.meta.trigger,
            }
        });
        let next = self.next_programme().map(|o| {
            let p = &self.config.programmes[o.programme];
            NextView {
                programme: p.name.clone(),
                at: local::rfc3339(o.at, tz),
                priority: p.priority,
            }
        });
        StatusView {
            on_air,
            next,
            emergency_active: self.runs.values().any(|r| r.emergency)
                || self.emergencies.iter().any(|e| e.left > 0),
            waiting: self
                .waiting
                .iter()
                .filter_map(|w| w.meta.programme.clone())
                .collect(),
            last_error: self.last_error.clone(),
        }
    }

    /// A run entry for a file the operator names (from the library when it knows it).
    pub fn entry_for_file(&self, path: &std::path::Path) -> Result<RunEntry, String> {
        if !path.is_file() {
            return Err(format!("no such file: {}", path.display()));
        }
        if let Some(c) = self.items.iter().find(|c| c.path == path) {
            return Ok(self.entry_from_candidate(c));
        }
        let h = crate::library::probe::header(path)
            .map_err(|r| format!("{}: {}", path.display(), r.message))?;
        let duration = match h.duration {
            Some(d) => Some(d),
            None => crate::library::probe::duration(path),
        };
        Ok(RunEntry {
            kind: EntryKind::File,
            title: h
                .title
                .unwrap_or_else(|| crate::library::meta::title_from_name(path)),
            path: path.to_path_buf(),
            category: None,
            id: None,
            hash: crate::library::hash_file(path).ok(),
            duration,
            gain_db: 0.0,
            offset: Duration::ZERO,
        })
    }

    pub fn entry_from_candidate(&self, c: &Candidate) -> RunEntry {
        RunEntry {
            kind: EntryKind::Item,
            path: c.path.clone(),
            title: c.title.clone(),
            category: Some(c.category.clone()),
            id: Some(c.id.clone()),
            hash: Some(c.hash.clone()),
            duration: Some(c.duration),
            gain_db: c.gain_db,
            offset: Duration::ZERO,
        }
    }

    /// The item a category's default pick would air now (for `play --category`).
    pub fn pick_from(&self, category: &str, now: DateTime<Utc>) -> Option<RunEntry> {
        let cat = self.config.category(category)?;
        let mut pool: Vec<&Candidate> = self
            .items
            .iter()
            .filter(|c| c.category == category && c.valid_at(now))
            .collect();
        match cat.pick {
            crate::config::Pick::Rotate => pool.sort_by(|a, b| {
                self.last_aired
                    .get(&a.id)
                    .cmp(&self.last_aired.get(&b.id))
                    .then(b.valid_from.cmp(&a.valid_from))
            }),
            _ => pool.sort_by_key(|c| std::cmp::Reverse(c.valid_from)),
        }
        pool.first().map(|c| self.entry_from_candidate(c))
    }
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
}
