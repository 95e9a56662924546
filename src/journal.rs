//! Writes the station's logging decisions into the airtime log: an item that starts gets a
//! `playing` row, its end closes that row, something that never aired gets a closed row.
//! One place for this, used by `loaxa run` and `loaxa simulate` alike.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::airtime::{NewAiring, Status, Store};
use crate::station::Action;

/// What one logged action was, for the caller's own report.
#[derive(Debug, Clone, PartialEq)]
pub enum Logged {
    Started {
        airing: NewAiring,
    },
    Finished {
        status: Status,
        category: Option<String>,
        played: Duration,
    },
    Recorded {
        status: Status,
    },
}

/// The row of an item on air.
#[derive(Debug)]
struct OpenRow {
    row: i64,
    started: DateTime<Utc>,
    category: Option<String>,
}

/// The rows of items on air, by (run, item).
#[derive(Debug, Default)]
pub struct Journal {
    open: HashMap<(u64, u32), OpenRow>,
}

impl Journal {
    /// Applies a logging action (others are not its business: returns Ok(None)).
    pub fn apply(
        &mut self,
        store: &Store,
        a: &Action,
    ) -> Result<Option<Logged>, crate::airtime::Error> {
        match a {
            Action::Start {
                run,
                item,
                airing,
                at,
            } => {
                let row = store.start(airing, *at)?;
                let open = OpenRow {
                    row,
                    started: *at,
                    category: airing.category.clone(),
                };
                self.open.insert((*run, *item), open);
                Ok(Some(Logged::Started {
                    airing: airing.clone(),
                }))
            }
            Action::Finish {
                run,
                item,
                status,
                at,
                played,
                reason,
            } => match self.open.remove(&(*run, *item)) {
                Some(OpenRow { row, category, .. }) => {
                    store.finish(row, *status, *at, *played, reason.as_deref())?;
                    Ok(Some(Logged::Finished {
                        status: *status,
                        category,
                        played: *played,
                    }))
                }
                None => Ok(None),
            },
            Action::Record {
                airing,
                status,
                reason,
            } => {
                store.record(airing, *status, reason)?;
                Ok(Some(Logged::Recorded { status: *status }))
            }
            Action::Cue(_) | Action::Cut(_) => Ok(None),
        }
    }

    /// Records how far each item on air has played (power-cut recovery reads this).
    pub fn heartbeat(&self, store: &Store, now: DateTime<Utc>) {
        for o in self.open.values() {
            let _ = store.heartbeat(o.row, (now - o.started).to_std().unwrap_or_default(), now);
        }
    }
}
