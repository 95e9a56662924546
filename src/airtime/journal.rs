//! The rows of airings in progress: an item that starts gets a `playing` row, its end
//! closes that row (found by its run and item), something that never aired gets a closed
//! row, and heartbeats record how far each open row has played (power-cut recovery reads
//! them). One place for this, used by `loaxa run` and `loaxa simulate` alike.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{NewAiring, Result, Status, Store};

/// The row of an item on air.
#[derive(Debug)]
struct OpenRow {
    row: i64,
    started: DateTime<Utc>,
    airing: NewAiring,
}

/// The rows of items on air, by (run, item).
#[derive(Debug, Default)]
pub struct Journal {
    open: HashMap<(u64, u32), OpenRow>,
}

impl Journal {
    /// Item `item` of run `run` went on air at `at`: its row, open.
    pub fn start(
        &mut self,
        store: &Store,
        run: u64,
        item: u32,
        airing: &NewAiring,
        at: DateTime<Utc>,
    ) -> Result<i64> {
        let row = store.start(airing, at)?;
        self.open.insert(
            (run, item),
            OpenRow {
                row,
                started: at,
                airing: airing.clone(),
            },
        );
        Ok(row)
    }

    /// Closes the row of an item that left the air (the reason in English and Vietnamese);
    /// Ok(None) if it had none open.
    pub fn finish(
        &mut self,
        store: &Store,
        (run, item): (u64, u32),
        status: Status,
        at: DateTime<Utc>,
        played: Duration,
        reason: Option<(&str, &str)>,
    ) -> Result<Option<(i64, NewAiring)>> {
        match self.open.remove(&(run, item)) {
            Some(o) => {
                let (en, vi) = (reason.map(|r| r.0), reason.map(|r| r.1));
                store.finish_vi(o.row, status, at, played, en, vi)?;
                Ok(Some((o.row, o.airing)))
            }
            None => Ok(None),
        }
    }

    /// What an open row is (before it is finished).
    pub fn airing(&self, run: u64, item: u32) -> Option<&NewAiring> {
        self.open.get(&(run, item)).map(|o| &o.airing)
    }

    /// Records how far each item on air has played.
    pub fn heartbeat(&self, store: &Store, now: DateTime<Utc>) {
        for o in self.open.values() {
            let _ = store.heartbeat(o.row, (now - o.started).to_std().unwrap_or_default(), now);
        }
    }
}
