//! What the station owes, kept across a crash or a power cut: the programmes cued or on
//! air (and how far the one on air had played), those waiting their turn, the programme an
//! emergency cut, the emergency repeats still to come, and the operator's queued plays.
//! The daemon writes it as it changes; a restart within `catch_up` takes it up again, and
//! what can no longer air gets a row that says so.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{cd, Action, Level, Meta, Station, Why, EMERGENCY_LEAD, NOW_LEAD};
use crate::airtime::{Status, Trigger};
use crate::config::AfterEmergency;
use crate::item::Entry;

/// A snapshot of what the station owes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    runs: Vec<Owed>,
    waiting: Vec<Owed>,
    interrupted: Option<Owed>,
    repeats: Vec<OwedRepeat>,
    queue: Vec<Owed>,
}

impl Saved {
    /// Nothing owed.
    pub fn is_empty(&self) -> bool {
        *self == Saved::default()
    }
}

/// A running order not finished: its entries from the first that had not ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Owed {
    meta: Meta,
    entries: Vec<Entry>,
    /// How far into its first entry it had played, when that entry was on air.
    #[serde(default)]
    played_ms: Option<u64>,
}

/// A running order not started: owed whole.
impl From<(Meta, Vec<Entry>)> for Owed {
    fn from((meta, entries): (Meta, Vec<Entry>)) -> Owed {
        Owed {
            meta,
            entries,
            played_ms: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct OwedRepeat {
    entries: Vec<Entry>,
    left: u32,
    next_at: DateTime<Utc>,
}

impl Station {
    /// What the station owes at `now`.
    pub fn saved(&self, now: DateTime<Utc>) -> Saved {
        let runs = (self.runs.map.values())
            .map(|r| {
                // An emergency is owed whole (alert tone first); a programme from the
                // first entry that had not ended.
                let from = if r.emergency() { 0 } else { r.ended as usize };
                let played_ms = r.current.filter(|_| !r.emergency()).and_then(|i| {
                    let start = r.started.get(&i)?;
                    let e = r.entries.get(i as usize)?;
                    let p = (now - *start).to_std().unwrap_or_default() + e.offset;
                    Some(p.as_millis() as u64)
                });
                Owed {
                    meta: r.meta.clone(),
                    entries: r.entries.get(from..).unwrap_or_default().to_vec(),
                    played_ms,
                }
            })
            .filter(|o| !o.entries.is_empty())
            .collect();
        let (waiting, queue) = self.runs.owed();
        let (interrupted, repeats) = self.emergencies.owed(now);
        Saved {
            runs,
            waiting: waiting.into_iter().map(Owed::from).collect(),
            interrupted: interrupted.map(Owed::from),
            repeats: repeats
                .into_iter()
                .map(|(entries, left, next_at)| OwedRepeat {
                    entries,
                    left,
                    next_at,
                })
                .collect(),
            queue: queue.into_iter().map(Owed::from).collect(),
        }
    }

    /// Takes up what was owed when the station stopped: what may still air within
    /// `catch_up` airs (the programme cut on air continues as `emergency.after` says, an
    /// emergency cut on air airs again with its alert tone, repeats go on); the rest gets a
    /// row that says it was not aired.
    pub(super) fn restore(&mut self, saved: Saved, now: DateTime<Utc>) -> Vec<Action> {
        let mut acts = vec![];
        let catch_up = cd(self.config.catch_up);
        let in_time = |m: &Meta| m.scheduled_at.is_none_or(|t| now - t <= catch_up);
        let policy = (self.config.emergency.as_ref())
            .map(|e| e.after)
            .unwrap_or_default();
        let mut first = true;
        for o in saved.runs {
            if !in_time(&o.meta) {
                acts.extend(self.unaired(&o, now));
                continue;
            }
            if o.meta.trigger == Trigger::Emergency {
                // The whole broadcast again, alert tone first (its own repeats are
                // owed separately).
                acts.push(Action::Note(
                    Level::Warn,
                    "airing again the emergency broadcast the stop cut".into(),
                ));
                acts.extend(self.air_emergency_from(o.meta, o.entries, now + cd(EMERGENCY_LEAD)));
                continue;
            }
            let mut rest = o.entries;
            if let (Some(p), Some(e)) = (o.played_ms, rest.first_mut()) {
                match policy {
                    AfterEmergency::Resume => e.offset = Duration::from_millis(p),
                    AfterEmergency::RestartItem => e.offset = Duration::ZERO,
                    AfterEmergency::SkipItem => {
                        rest.remove(0);
                    }
                }
            }
            if rest.is_empty() {
                continue;
            }
            acts.push(Action::Note(
                Level::Info,
                format!("continuing `{}` where the stop cut it", o.meta.name()),
            ));
            if first {
                first = false;
                self.cue(o.meta, rest, now + cd(NOW_LEAD), false, &mut acts);
            } else {
                self.runs.wait(
                    o.meta,
                    rest,
                    now + catch_up,
                    "a programme taken up after a stop".into(),
                );
            }
        }
        for o in saved.waiting {
            match o.meta.scheduled_at {
                Some(t) if now - t <= catch_up => {
                    let behind = "a programme taken up after a stop".to_string();
                    if first {
                        first = false;
                        self.cue(o.meta, o.entries, now + cd(NOW_LEAD), false, &mut acts);
                    } else {
                        self.runs.wait(o.meta, o.entries, t + catch_up, behind);
                    }
                }
                _ => acts.extend(self.unaired(&o, now)),
            }
        }
        if let Some(o) = saved.interrupted {
            if in_time(&o.meta) {
                self.emergencies.set_interrupted(o.meta, o.entries);
            } else {
                acts.extend(self.unaired(&o, now));
            }
        }
        for r in saved.repeats {
            // A warning a day old is not repeated; one from this morning is.
            if now - r.next_at <= catch_up {
                self.emergencies.add_repeat(r.entries, r.left, r.next_at);
            }
        }
        for o in saved.queue {
            if in_time(&o.meta) {
                self.runs.enqueue(o.meta, o.entries);
            }
        }
        acts
    }

    /// Rows for what a stop left unaired and can no longer air.
    fn unaired(&self, o: &Owed, now: DateTime<Utc>) -> Vec<Action> {
        let late = o
            .meta
            .scheduled_at
            .map(|t| (now - t).to_std().unwrap_or_default())
            .unwrap_or_default();
        let why = Why::NotRunning {
            late,
            catch_up: self.config.catch_up,
        };
        (o.entries.iter().enumerate())
            // The entry on air has its row already (closed as interrupted at the start).
            .filter(|(i, _)| !(*i == 0 && o.played_ms.is_some()))
            .map(|(_, e)| Action::Record {
                airing: self.entry_airing(&o.meta, e),
                status: Status::Missed,
                reason: why.clone(),
            })
            .collect()
    }
}
