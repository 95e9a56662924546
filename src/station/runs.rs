//! Runs: a programme (or an operator's play, or an emergency) handed to the player as one
//! running order. Cueing, conflicts between programmes, what is on air, what waits, and
//! the operator's play, skip and stop.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{cd, Action, Level, Meta, RunMap, Station, Why, NOW_LEAD};
use crate::airtime::{NewAiring, Status, Trigger};
use crate::config::{Priority, Programme};
use crate::item::Entry;
use crate::playout::deck::Outcome;
use crate::playout::{PlayItem, PlayPlan, PlayerEvent};
use crate::schedule;

/// A run the station handed to the player.
#[derive(Debug, Clone)]
pub(super) struct Run {
    pub(super) meta: Meta,
    pub(super) entries: Vec<Entry>,
    pub(super) at: DateTime<Utc>,
    /// Items on air: started and not yet ended, with when they started.
    pub(super) started: BTreeMap<u32, DateTime<Utc>>,
    /// Items before this index have ended (a retry does not air them again).
    pub(super) ended: u32,
    pub(super) current: Option<u32>,
    /// Set when the station cut it on purpose: why (and so its status).
    pub(super) cut: Option<Why>,
}

impl Run {
    /// When it will end, if every entry's length is known.
    pub(super) fn expected_end(&self) -> Option<DateTime<Utc>> {
        let mut total = Duration::ZERO;
        for e in &self.entries {
            total += e.remaining()?;
        }
        Some(self.at + cd(total))
    }

    pub(super) fn emergency(&self) -> bool {
        self.meta.trigger == Trigger::Emergency
    }
}

/// A programme waiting for the one on air to finish.
#[derive(Debug, Clone)]
pub(super) struct Waiting {
    meta: Meta,
    entries: Vec<Entry>,
    pub(super) deadline: DateTime<Utc>,
    /// Who it waits for (for the log).
    behind: String,
}

impl Waiting {
    pub(super) fn programme(&self) -> Option<&str> {
        self.meta.programme.as_deref()
    }
}

/// A running order not yet cued: what it is and its entries.
pub(super) type Pending = (Meta, Vec<Entry>);

impl Runs {
    /// What waits and what is queued, for [`super::saved`].
    pub(super) fn owed(&self) -> (Vec<Pending>, Vec<Pending>) {
        (
            (self.waiting.iter())
                .map(|w| (w.meta.clone(), w.entries.clone()))
                .collect(),
            self.queue.clone(),
        )
    }

    /// A programme to air when the air is free, until `deadline`.
    pub(super) fn wait(
        &mut self,
        meta: Meta,
        entries: Vec<Entry>,
        deadline: DateTime<Utc>,
        behind: String,
    ) {
        self.waiting.push(Waiting {
            meta,
            entries,
            deadline,
            behind,
        });
    }

    pub(super) fn enqueue(&mut self, meta: Meta, entries: Vec<Entry>) {
        self.queue.push((meta, entries));
    }
}

/// Everything cued, on air or waiting its turn.
#[derive(Debug, Default)]
pub(super) struct Runs {
    pub(super) map: RunMap,
    next_id: u64,
    pub(super) waiting: Vec<Waiting>,
    /// Operator plays waiting for the air to be free.
    queue: Vec<Pending>,
}

/// The status a cut gives the item it cut.
fn cut_status(why: &Why) -> Status {
    match why {
        Why::Skipped => Status::Skipped,
        _ => Status::Interrupted,
    }
}

impl Station {
    /// The run on air at `at`: an item already handed to the output counts even a little
    /// before its instant (the device plays what it is given a period or two later); a run
    /// of unknown length is on air until it ends.
    pub(super) fn on_air(&self, at: DateTime<Utc>) -> Option<u64> {
        self.runs
            .map
            .iter()
            .filter(|(_, r)| {
                r.current.is_some() || (r.at <= at && r.expected_end().is_none_or(|e| e > at))
            })
            .map(|(id, _)| *id)
            .next_back()
    }

    /// Decides what a programme start does: air, preempt, wait or be skipped.
    pub(super) fn schedule_programme(
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
                reason: Why::Shortfall {
                    category: s.category,
                    wanted: s.wanted,
                    found: s.found,
                    reason: s.reason,
                    trimmed: s.trimmed,
                },
            });
        }
        if entries.is_empty() {
            return acts;
        }
        match self.on_air(at) {
            Some(cur) => {
                let c = &self.runs.map[&cur];
                if meta.priority > c.meta.priority && !c.emergency() {
                    acts.push(Action::Note(
                        Level::Info,
                        format!("`{}` ({}) preempts `{}`", p.name, p.priority, c.meta.name()),
                    ));
                    if let Some(r) = self.runs.map.get_mut(&cur) {
                        r.cut = Some(Why::Preempted { by: p.name.clone() });
                    }
                    self.cue(meta, entries, at, true, &mut acts);
                } else {
                    let behind = c
                        .meta
                        .programme
                        .clone()
                        .unwrap_or_else(|| "an emergency broadcast".into());
                    self.runs.waiting.push(Waiting {
                        meta,
                        entries,
                        deadline: o.at + cd(self.config.catch_up),
                        behind,
                    });
                }
            }
            None => {
                self.cue(meta, entries, at, false, &mut acts);
            }
        }
        acts
    }

    /// A programme's entries at `at` (quiet hours trim it like max_duration does).
    fn running_order(
        &self,
        p: &Programme,
        due: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> (Vec<Entry>, Vec<schedule::Shortfall>) {
        let mut p = p.clone();
        if p.priority < Priority::Emergency {
            if let Some(room) = self.until_quiet(at) {
                p.max_duration = Some(p.max_duration.map_or(room, |m| m.min(room)));
            }
        }
        let len = |path: &std::path::Path| self.fixed.get(path).copied().flatten();
        let tz = self.config.station.timezone;
        let run = schedule::running_order(&p, due, tz, &self.items, &self.last_aired, &len);
        (run.entries, run.shortfalls)
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

    fn plan(&self, run: u64, at: DateTime<Utc>, replace: bool, entries: &[Entry]) -> PlayPlan {
        PlayPlan {
            run,
            at,
            replace,
            items: entries.iter().map(|e| self.play_item(e)).collect(),
        }
    }

    /// What the player needs of an entry (and of a relay's fallbacks).
    fn play_item(&self, e: &Entry) -> PlayItem {
        let a = &self.config.alarms;
        PlayItem {
            source: e.source.clone(),
            gain: (10f64.powf(e.gain_db / 20.0) as f32) * self.config.output.volume,
            offset: e.offset,
            expect: e.duration,
            rate: e.rate,
            fallback: e
                .fallback
                .iter()
                .map(|g| g.iter().map(|f| self.play_item(f)).collect())
                .collect(),
            watch: matches!(e.source, crate::media::Source::Stream(_)).then_some(
                crate::playout::item::Watch {
                    silence_db: a.silence_db,
                    after: a.after,
                },
            ),
        }
    }

    /// Hands a run to the player; returns its id.
    pub(super) fn cue(
        &mut self,
        meta: Meta,
        entries: Vec<Entry>,
        at: DateTime<Utc>,
        replace: bool,
        acts: &mut Vec<Action>,
    ) -> u64 {
        self.runs.next_id += 1;
        let id = self.runs.next_id;
        acts.push(Action::Cue(self.plan(id, at, replace, &entries)));
        self.runs.map.insert(
            id,
            Run {
                meta,
                entries,
                at,
                started: BTreeMap::new(),
                ended: 0,
                current: None,
                cut: None,
            },
        );
        id
    }

    /// The airing row of entry `i` of a run.
    pub(super) fn airing(&self, r: &Run, i: u32) -> NewAiring {
        self.entry_airing(&r.meta, &r.entries[i as usize])
    }

    /// The airing row of entry `e` of a running order described by `meta`.
    pub(super) fn entry_airing(&self, meta: &Meta, e: &Entry) -> NewAiring {
        NewAiring {
            category: e.category.clone(),
            item_path: Some(self.item_path(e)),
            title: Some(e.title.clone()),
            content_hash: e.hash.clone(),
            planned: e.remaining(),
            ..meta.airing()
        }
    }

    /// How the log names an entry: its library id, or its path under the audio folder (a
    /// jingle the library does not list), or, outside it, its full path.
    pub(super) fn item_path(&self, e: &Entry) -> String {
        e.id.clone().unwrap_or_else(|| {
            match e
                .source
                .path()
                .and_then(|p| p.strip_prefix(&self.config.paths.audio).ok())
            {
                Some(rel) => crate::config::nfc(&rel.to_string_lossy()),
                None => e.source.to_string(),
            }
        })
    }

    /// Something the player reported.
    pub fn on_event(&mut self, ev: PlayerEvent, now: DateTime<Utc>) -> Vec<Action> {
        match ev {
            PlayerEvent::Started { run, item, at } => self.started(run, item, at),
            PlayerEvent::Ended {
                run,
                item,
                at,
                played,
                outcome,
            } => self.ended(run, item, at, played, outcome),
            PlayerEvent::RunDone { run, at } => self.run_done(run, at, now),
            PlayerEvent::Failed {
                run,
                reason,
                last_audio,
            } => self.failed(run, reason, last_audio, now),
            PlayerEvent::Source {
                run,
                item,
                at,
                note,
            } => {
                let Some(r) = self.runs.map.get(&run) else {
                    return vec![];
                };
                vec![Action::Relay {
                    run,
                    item,
                    at,
                    programme: r.meta.airing().programme,
                    title: r
                        .entries
                        .get(item as usize)
                        .map(|e| e.title.clone())
                        .unwrap_or_default(),
                    note,
                }]
            }
            PlayerEvent::Underrun { run, .. } => vec![Action::Note(
                Level::Warn,
                format!("run {run}: the decoder fell behind (a moment of silence)"),
            )],
        }
    }

    fn started(&mut self, run: u64, item: u32, at: DateTime<Utc>) -> Vec<Action> {
        let Some(r) = self.runs.map.get_mut(&run) else {
            return vec![];
        };
        r.started.insert(item, at);
        r.current = Some(item);
        if let Some(id) = r.entries.get(item as usize).and_then(|e| e.id.clone()) {
            self.last_aired.insert(id, at);
        }
        let r = &self.runs.map[&run];
        vec![Action::Start {
            run,
            item,
            airing: self.airing(r, item),
            at,
        }]
    }

    fn ended(
        &mut self,
        run: u64,
        item: u32,
        at: DateTime<Utc>,
        played: Duration,
        outcome: Outcome,
    ) -> Vec<Action> {
        let mut acts = vec![];
        let Some(r) = self.runs.map.get(&run) else {
            return acts;
        };
        let (status, reason) = match &outcome {
            Outcome::Completed => (Status::Completed, None),
            Outcome::Changed(why) => (Status::Completed, Some(Why::Changed(why.clone()))),
            Outcome::Failed(why) => (Status::Failed, Some(Why::Failed(why.clone()))),
            Outcome::Cut => match &r.cut {
                Some(w) => (cut_status(w), Some(w.clone())),
                None => (Status::Interrupted, Some(Why::CutShort)),
            },
        };
        if r.started.contains_key(&item) {
            acts.push(Action::Finish {
                run,
                item,
                status,
                at,
                played,
                reason,
            });
        } else if let Some(reason) = reason.filter(|_| status == Status::Failed) {
            acts.push(Action::Record {
                airing: self.airing(r, item),
                status,
                reason,
            });
        }
        if let Outcome::Failed(why) = &outcome {
            let title = &r.entries[item as usize].title;
            acts.push(Action::Note(Level::Warn, format!("{title}: {why}")));
            self.last_error = Some(why.clone());
        }
        let r = self.runs.map.get_mut(&run).expect("present");
        r.started.remove(&item);
        r.ended = r.ended.max(item + 1);
        if r.current == Some(item) {
            r.current = None;
        }
        // An emergency cut this programme: remember where, to continue it.
        if outcome == Outcome::Cut && r.cut == Some(Why::Emergency) && !r.emergency() {
            let (meta, entries) = (r.meta.clone(), r.entries.clone());
            self.remember_cut(meta, &entries, item as usize, played);
        }
        acts
    }

    fn run_done(&mut self, run: u64, at: DateTime<Utc>, now: DateTime<Utc>) -> Vec<Action> {
        let Some(r) = self.runs.map.remove(&run) else {
            return vec![];
        };
        // An emergency cut it before any item started: continue it whole.
        if r.started.is_empty()
            && r.current.is_none()
            && r.cut == Some(Why::Emergency)
            && !r.emergency()
            && at < r.at
        {
            self.remember_whole(&r);
        }
        self.after_run(&r, now)
    }

    /// After a run leaves the air: what an emergency queued or cut, then what waits.
    fn after_run(&mut self, r: &Run, now: DateTime<Utc>) -> Vec<Action> {
        let mut acts = vec![];
        let soon = now + cd(NOW_LEAD);
        if self.on_air(now).is_some() || self.runs.map.values().any(|x| x.at <= soon) {
            return acts;
        }
        if let Some(a) = self.after_emergency(r, soon) {
            return a;
        }
        if !self.runs.waiting.is_empty() {
            let w = self.runs.waiting.remove(0);
            // Never before its own second, when the one it waited for ended just before.
            let at = w.meta.scheduled_at.map_or(soon, |s| s.max(soon));
            self.cue(w.meta, w.entries, at, false, &mut acts);
        } else if !self.runs.queue.is_empty() {
            let (m, e) = self.runs.queue.remove(0);
            self.cue(m, e, soon, false, &mut acts);
        }
        acts
    }

    /// Waits that can no longer start within catch_up are logged skipped.
    pub(super) fn expire_waits(&mut self, now: DateTime<Utc>) -> Vec<Action> {
        let (expired, keep): (Vec<Waiting>, Vec<Waiting>) =
            self.runs.waiting.drain(..).partition(|w| w.deadline <= now);
        self.runs.waiting = keep;
        expired
            .into_iter()
            .map(|w| Action::Record {
                airing: w.meta.airing(),
                status: Status::Skipped,
                reason: Why::StillOnAir {
                    behind: w.behind,
                    catch_up: self.config.catch_up,
                },
            })
            .collect()
    }

    /// Operator: play these now, or right after what is on air. True when it starts now.
    pub fn play(&mut self, entries: Vec<Entry>, now: DateTime<Utc>) -> (Vec<Action>, bool) {
        let meta = Meta {
            programme: None,
            priority: Priority::Normal,
            trigger: Trigger::Manual,
            scheduled_at: Some(now),
        };
        let mut acts = vec![];
        if self.on_air(now).is_some() || !self.runs.map.is_empty() {
            self.runs.queue.push((meta, entries));
            return (acts, false);
        }
        self.cue(meta, entries, now + cd(NOW_LEAD), false, &mut acts);
        (acts, true)
    }

    /// Operator: go live at `priority`: now, cutting what airs at a lower priority (never
    /// an emergency); else after what is on air. True when it starts now.
    pub fn go_live(
        &mut self,
        entry: Entry,
        priority: Priority,
        now: DateTime<Utc>,
    ) -> (Vec<Action>, bool) {
        let meta = Meta {
            programme: None,
            priority,
            trigger: Trigger::Manual,
            scheduled_at: Some(now),
        };
        let mut acts = vec![];
        let cur = self.on_air(now);
        let lower = cur
            .and_then(|id| self.runs.map.get(&id))
            .is_some_and(|c| priority > c.meta.priority && !c.emergency());
        match cur {
            Some(id) if lower => {
                let name = self.runs.map[&id].meta.name();
                acts.push(Action::Note(
                    Level::Info,
                    format!("live input ({priority}) preempts `{name}`"),
                ));
                if let Some(r) = self.runs.map.get_mut(&id) {
                    r.cut = Some(Why::Preempted {
                        by: "live input".into(),
                    });
                }
                self.cue(meta, vec![entry], now + cd(NOW_LEAD), true, &mut acts);
                (acts, true)
            }
            None if self.runs.map.is_empty() => {
                self.cue(meta, vec![entry], now + cd(NOW_LEAD), false, &mut acts);
                (acts, true)
            }
            _ => {
                self.runs.queue.push((meta, vec![entry]));
                (acts, false)
            }
        }
    }

    /// Operator: end the item on air; the rest of its programme goes on. None: nothing on air.
    pub fn skip(&mut self, now: DateTime<Utc>) -> Option<Vec<Action>> {
        let id = self.on_air(now)?;
        let r = self.runs.map.get_mut(&id)?;
        let i = r.current? as usize;
        r.cut = Some(Why::Skipped);
        let rest = r.entries[i + 1..].to_vec();
        let meta = r.meta.clone();
        let mut acts = vec![Action::Cut(id)];
        if !rest.is_empty() {
            self.cue(meta, rest, now + cd(NOW_LEAD), true, &mut acts);
        }
        Some(acts)
    }

    /// Operator: end the programme on air (an emergency's repeats too). None: nothing on air.
    pub fn stop(&mut self, now: DateTime<Utc>) -> Option<Vec<Action>> {
        let id = self.on_air(now)?;
        let r = self.runs.map.get_mut(&id)?;
        r.cut = Some(Why::Stopped);
        if r.emergency() {
            self.emergencies.cancel();
        }
        Some(vec![Action::Cut(id)])
    }

    /// Shutting down: every item on air is closed as interrupted, now.
    pub fn shutdown(&mut self, now: DateTime<Utc>, why: &str) -> Vec<Action> {
        let mut acts = vec![];
        for (id, r) in std::mem::take(&mut self.runs.map) {
            for (item, start) in r.started {
                acts.push(Action::Finish {
                    run: id,
                    item,
                    status: Status::Interrupted,
                    at: now,
                    played: (now - start).to_std().unwrap_or_default(),
                    reason: Some(Why::Shutdown(why.to_string())),
                });
            }
            acts.push(Action::Cut(id));
        }
        acts
    }
}
