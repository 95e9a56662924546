//! Retries after the output failed (no device, a device lost mid-programme): the run is
//! tried again with a backoff while the programme may still air within `catch_up`, from the
//! item that failed (after its opening jingles), and a failure repeating for the same
//! reason is not logged twice.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{cd, Action, Level, Meta, Station, Why, NOW_LEAD};
use crate::airtime::{Status, Trigger};
use crate::item::{Entry, EntryKind};

const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// A run that could not reach the output, to try again.
#[derive(Debug, Clone)]
struct Retry {
    meta: Meta,
    entries: Vec<Entry>,
    at: DateTime<Utc>,
    backoff: Duration,
    /// Why the last attempt failed.
    reason: String,
}

#[derive(Debug, Default)]
pub(super) struct Retries {
    due: Vec<Retry>,
    /// Runs that are retries, by run id: their backoff and why the attempt before failed.
    attempts: HashMap<u64, (Duration, String)>,
}

impl Retries {
    pub(super) fn next_due(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.due.iter().map(|r| r.at)
    }
}

impl Station {
    /// The output failed under run `run`: close what was on air (airtime only up to the last
    /// audio that reached the output) and plan a retry.
    pub(super) fn failed(
        &mut self,
        run: u64,
        reason: String,
        last_audio: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Vec<Action> {
        let mut acts = vec![];
        let Some(r) = self.runs.map.remove(&run) else {
            return acts;
        };
        let end = last_audio.unwrap_or(now).min(now);
        self.last_error = Some(reason.clone());
        acts.push(Action::Note(
            Level::Error,
            format!("{}: {reason}", r.meta.name()),
        ));
        for (item, start) in &r.started {
            acts.push(Action::Finish {
                run,
                item: *item,
                status: Status::Failed,
                at: end.max(*start),
                played: (end - *start).to_std().unwrap_or_default(),
                reason: Some(Why::Failed(reason.clone())),
            });
        }
        let previous = self.retries.attempts.remove(&run);
        // A retry failing for the same reason is not logged again.
        let again = previous.as_ref().is_some_and(|(_, why)| *why == reason);
        if r.started.is_empty() && !again {
            acts.push(Action::Record {
                airing: r.meta.airing(),
                status: Status::Failed,
                reason: Why::Failed(reason.clone()),
            });
        }
        let backoff = previous
            .map(|(b, _)| (b * 2).min(MAX_BACKOFF))
            .unwrap_or(FIRST_BACKOFF);
        // From the item that failed: what already aired is not aired twice, but the opening
        // jingle comes first again to announce the rest.
        let from = (r.started.keys().next().copied())
            .unwrap_or(r.ended)
            .min(r.entries.len() as u32) as usize;
        let intro = (r.entries.iter())
            .take_while(|e| e.kind == EntryKind::Jingle)
            .count()
            .min(from);
        let entries: Vec<Entry> = (r.entries[..intro].iter())
            .chain(&r.entries[from..])
            .cloned()
            .collect();
        if r.meta.trigger != Trigger::Manual && from < r.entries.len() {
            self.retries.due.push(Retry {
                meta: r.meta.clone(),
                entries,
                at: now + cd(backoff),
                backoff,
                reason,
            });
        }
        acts
    }

    /// Retries whose backoff has passed, while their programme may still air.
    pub(super) fn due_retries(&mut self, now: DateTime<Utc>) -> Vec<Action> {
        let mut acts = vec![];
        let (due, keep): (Vec<Retry>, Vec<Retry>) =
            self.retries.due.drain(..).partition(|r| r.at <= now);
        self.retries.due = keep;
        for r in due {
            let deadline = r.meta.scheduled_at.unwrap_or(now) + cd(self.config.catch_up);
            if now > deadline {
                continue;
            }
            let id = self.cue(r.meta, r.entries, now + cd(NOW_LEAD), false, &mut acts);
            self.retries.attempts.insert(id, (r.backoff, r.reason));
        }
        acts
    }
}
