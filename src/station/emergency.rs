//! Emergencies (khẩn cấp): an emergency item interrupts whatever is on air within a second,
//! after the alert tone, repeats as configured, never cuts another emergency, and leaves
//! the programme it cut to continue as `emergency.after` says.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{cd, Action, Level, Meta, Station, Why, EMERGENCY_LEAD, NOW_LEAD, PREP};
use crate::airtime::Trigger;
use crate::config::{AfterEmergency, Priority};
use crate::item::{Entry, EntryKind};

/// A broadcast still to repeat.
#[derive(Debug, Clone)]
struct Repeat {
    entries: Vec<Entry>,
    left: u32,
    next_at: DateTime<Utc>,
}

/// A programme an emergency cut, to continue afterwards.
#[derive(Debug, Clone)]
struct Interrupted {
    meta: Meta,
    rest: Vec<Entry>,
}

#[derive(Debug, Default)]
pub(super) struct Emergencies {
    repeats: Vec<Repeat>,
    interrupted: Option<Interrupted>,
    /// Broadcasts waiting behind an emergency whose end is not known yet.
    behind: Vec<Vec<Entry>>,
}

impl Emergencies {
    /// When the next repeat must be cued.
    pub(super) fn next_due(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.repeats
            .iter()
            .filter(|e| e.left > 0)
            .map(|e| e.next_at - cd(NOW_LEAD))
    }

    /// `stop` during an emergency: no repeats, nothing waiting, and the programme it cut
    /// does not come back.
    pub(super) fn cancel(&mut self) {
        self.repeats.clear();
        self.behind.clear();
        self.interrupted = None;
    }

    /// The programme to continue and the repeats to come, for [`super::saved`].
    #[allow(clippy::type_complexity)]
    pub(super) fn owed(
        &self,
        now: DateTime<Utc>,
    ) -> (
        Option<(Meta, Vec<Entry>)>,
        Vec<(Vec<Entry>, u32, DateTime<Utc>)>,
    ) {
        (
            (self.interrupted.as_ref()).map(|i| (i.meta.clone(), i.rest.clone())),
            (self.repeats.iter())
                .filter(|r| r.left > 0)
                .map(|r| (r.entries.clone(), r.left, r.next_at))
                // A broadcast waiting behind another is owed once, now.
                .chain(self.behind.iter().map(|e| (e.clone(), 1, now)))
                .collect(),
        )
    }

    pub(super) fn set_interrupted(&mut self, meta: Meta, rest: Vec<Entry>) {
        self.interrupted = Some(Interrupted { meta, rest });
    }

    pub(super) fn add_repeat(&mut self, entries: Vec<Entry>, left: u32, next_at: DateTime<Utc>) {
        self.repeats.push(Repeat {
            entries,
            left,
            next_at,
        });
    }

    /// Whether an emergency is on its way (for status).
    pub(super) fn pending(&self) -> bool {
        self.repeats.iter().any(|e| e.left > 0) || !self.behind.is_empty()
    }
}

impl Station {
    /// An emergency item: it interrupts whatever is on air within a second, after the alert
    /// tone, and repeats as configured.
    pub fn emergency(&mut self, item: Entry, now: DateTime<Utc>) -> Vec<Action> {
        let (repeat, every, tone) = match &self.config.emergency {
            Some(e) => (e.repeat, e.every, e.alert_tone.clone()),
            None => (1, Duration::from_secs(300), None),
        };
        let mut entries = vec![];
        if let Some(t) = tone {
            let known = self.items.iter().find(|c| c.path == t);
            let len = self.fixed.get(&t).copied().flatten();
            entries.push(Entry::fixed(EntryKind::Jingle, &t, known, len));
        }
        entries.push(item);
        let at = now + cd(EMERGENCY_LEAD);
        self.emergencies.repeats.push(Repeat {
            entries: entries.clone(),
            left: repeat.saturating_sub(1),
            next_at: at + cd(every),
        });
        self.air_emergency(entries, at)
    }

    /// Repeats that are due.
    pub(super) fn due_repeats(&mut self, now: DateTime<Utc>) -> Vec<Action> {
        let mut acts = vec![];
        let lead = cd(NOW_LEAD);
        let every = self
            .config
            .emergency
            .as_ref()
            .map(|e| e.every)
            .unwrap_or(Duration::from_secs(300));
        let mut due = vec![];
        for e in &mut self.emergencies.repeats {
            if e.left > 0 && e.next_at - lead <= now {
                e.left -= 1;
                let at = e.next_at.max(now + lead);
                e.next_at = at + cd(every);
                due.push((e.entries.clone(), at));
            }
        }
        self.emergencies.repeats.retain(|e| e.left > 0);
        for (entries, at) in due {
            acts.extend(self.air_emergency(entries, at));
        }
        acts
    }

    fn air_emergency(&mut self, entries: Vec<Entry>, at: DateTime<Utc>) -> Vec<Action> {
        let meta = Meta {
            programme: Some("Phát khẩn cấp".into()),
            priority: Priority::Emergency,
            trigger: Trigger::Emergency,
            scheduled_at: Some(at),
        };
        self.air_emergency_from(meta, entries, at)
    }

    /// Airs an emergency broadcast described by `meta` at `at` (or after the one on air).
    pub(super) fn air_emergency_from(
        &mut self,
        meta: Meta,
        entries: Vec<Entry>,
        at: DateTime<Utc>,
    ) -> Vec<Action> {
        let mut acts = vec![];
        // Emergencies never cut each other: a second one follows the first (when the first
        // one's end is unknown, as soon as it ends).
        let on = self.runs.map.values().filter(|r| r.emergency());
        let ends: Vec<Option<DateTime<Utc>>> = on.map(|r| r.expected_end()).collect();
        let (start, replace) = if ends.iter().any(Option::is_none) {
            self.emergencies.behind.push(entries);
            return acts;
        } else {
            match ends.into_iter().flatten().max() {
                Some(end) if end > at => (end, false),
                _ => (at, true),
            }
        };
        for r in self
            .runs
            .map
            .values_mut()
            .filter(|r| !r.emergency() && r.at <= start + cd(PREP))
        {
            r.cut = Some(Why::Emergency);
        }
        // Cued runs that have not started yet wait for the emergency to finish.
        let later: Vec<u64> = (self.runs.map.iter())
            .filter(|(_, r)| !r.emergency() && r.at > start)
            .map(|(id, _)| *id)
            .collect();
        for id in later {
            if let Some(r) = self.runs.map.get_mut(&id) {
                r.cut = Some(Why::Emergency);
            }
            acts.push(Action::Cut(id));
        }
        self.cue(meta, entries, start, replace, &mut acts);
        acts
    }

    /// An emergency cut entry `i` of a programme after `played`: keep what is left, as
    /// `emergency.after` says, to continue it afterwards.
    pub(super) fn remember_cut(
        &mut self,
        meta: Meta,
        entries: &[Entry],
        i: usize,
        played: Duration,
    ) {
        let policy = self
            .config
            .emergency
            .as_ref()
            .map(|e| e.after)
            .unwrap_or_default();
        let mut rest: Vec<Entry> = match policy {
            AfterEmergency::SkipItem => entries[i + 1..].to_vec(),
            _ => entries[i..].to_vec(),
        };
        if let Some(first) = rest.first_mut() {
            match policy {
                AfterEmergency::Resume => first.offset += played,
                AfterEmergency::RestartItem => first.offset = Duration::ZERO,
                AfterEmergency::SkipItem => {}
            }
        }
        if self.emergencies.interrupted.is_none() {
            self.emergencies.interrupted = Some(Interrupted { meta, rest });
        }
    }

    /// An emergency cut a programme before it started: it continues whole afterwards.
    pub(super) fn remember_whole(&mut self, r: &super::runs::Run) {
        if self.emergencies.interrupted.is_none() {
            self.emergencies.interrupted = Some(Interrupted {
                meta: r.meta.clone(),
                rest: r.entries.clone(),
            });
        }
    }

    /// After run `r` left the air at `soon`: the next emergency waiting behind it, or the
    /// programme an emergency cut (once no repeat is about to start).
    pub(super) fn after_emergency(
        &mut self,
        r: &super::runs::Run,
        soon: DateTime<Utc>,
    ) -> Option<Vec<Action>> {
        if !self.emergencies.behind.is_empty() {
            let entries = self.emergencies.behind.remove(0);
            return Some(self.air_emergency(entries, soon));
        }
        let repeat_soon = (self.emergencies.repeats.iter())
            .any(|e| e.left > 0 && e.next_at <= soon - cd(NOW_LEAD) + cd(PREP));
        if !r.emergency() || repeat_soon {
            return None;
        }
        let i = self.emergencies.interrupted.take()?;
        if i.rest.is_empty() {
            return None;
        }
        let mut acts = vec![Action::Note(
            Level::Info,
            format!(
                "continuing `{}` after the emergency broadcast",
                i.meta.name()
            ),
        )];
        self.cue(i.meta, i.rest, soon, false, &mut acts);
        Some(acts)
    }
}
