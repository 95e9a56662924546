//! The rows of airings in progress: an item that starts gets a `playing` row, its end
//! closes that row (found by its run and item), something that never aired gets a closed
//! row, and heartbeats record how far each open row has played (power-cut recovery reads
//! them). One place for this, used by `loaxa run` and `loaxa simulate` alike.
//!
//! A row that cannot be written (the disk is full, the file is locked) is not lost: it is
//! kept, in order, and written as soon as the log takes writes again; meanwhile
//! [`Journal::unwritten`] says how many wait, for the alarm.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Error, NewAiring, Status, Store};

/// The row of an item on air.
#[derive(Debug)]
struct OpenRow {
    row: i64,
    started: DateTime<Utc>,
    airing: NewAiring,
}

/// How an airing ended.
#[derive(Debug, Clone)]
struct End {
    status: Status,
    at: DateTime<Utc>,
    played: Duration,
    reason: Option<String>,
    reason_vi: Option<String>,
}

/// A write the log did not take yet.
#[derive(Debug)]
enum Unwritten {
    /// An item that went on air (and, once known, how it ended).
    Started {
        key: (u64, u32),
        airing: NewAiring,
        at: DateTime<Utc>,
        end: Option<End>,
    },
    /// The end of an item whose row is written.
    Finished { row: i64, end: End },
    /// Something that never aired.
    Recorded { airing: NewAiring, end: End },
}

/// A closed item: its row (None while it waits to be written), what it was, when it began.
pub struct Finished {
    pub row: Option<i64>,
    pub airing: NewAiring,
    pub started: DateTime<Utc>,
}

/// The rows of items on air, by (run, item), and the writes waiting for the log.
#[derive(Debug, Default)]
pub struct Journal {
    open: HashMap<(u64, u32), OpenRow>,
    unwritten: VecDeque<Unwritten>,
    /// Why the last write failed, while some wait.
    failure: Option<String>,
}

impl Journal {
    /// Item `item` of run `run` went on air at `at`: its row, open. Ok(None) when the row
    /// waits to be written.
    pub fn start(
        &mut self,
        store: &Store,
        run: u64,
        item: u32,
        airing: &NewAiring,
        at: DateTime<Utc>,
    ) -> Result<Option<i64>, Error> {
        let w = Unwritten::Started {
            key: (run, item),
            airing: airing.clone(),
            at,
            end: None,
        };
        self.write(store, w)
    }

    /// Closes the row of an item that left the air (the reason in English and Vietnamese);
    /// returns its row (None while it waits to be written), what it was and when it
    /// started, or Ok(None) if the item had no row.
    pub fn finish(
        &mut self,
        store: &Store,
        key: (u64, u32),
        status: Status,
        at: DateTime<Utc>,
        played: Duration,
        reason: Option<(&str, &str)>,
    ) -> Result<Option<Finished>, Error> {
        let end = End {
            status,
            at,
            played,
            reason: reason.map(|r| r.0.to_string()),
            reason_vi: reason.map(|r| r.1.to_string()),
        };
        if let Some(o) = self.open.remove(&key) {
            self.write(store, Unwritten::Finished { row: o.row, end })?;
            return Ok(Some(Finished {
                row: Some(o.row),
                airing: o.airing,
                started: o.started,
            }));
        }
        // Its start waits to be written: it is written whole, later.
        for w in self.unwritten.iter_mut() {
            if let Unwritten::Started {
                key: k,
                airing,
                end: e,
                at,
            } = w
            {
                if *k == key && e.is_none() {
                    *e = Some(end);
                    return Ok(Some(Finished {
                        row: None,
                        airing: airing.clone(),
                        started: *at,
                    }));
                }
            }
        }
        Ok(None)
    }

    /// Keeps a relay's summary in the row of the item on air (dropped when its row waits
    /// to be written: the disk is full).
    pub fn detail(&mut self, store: &Store, key: (u64, u32), detail: &str) -> Result<(), Error> {
        if let Some(o) = self.open.get(&key) {
            store.set_detail(o.row, detail)?;
        }
        Ok(())
    }

    /// Writes a closed row for something that never aired. Ok(None) when it waits.
    pub fn record(
        &mut self,
        store: &Store,
        airing: &NewAiring,
        status: Status,
        reason: &str,
        reason_vi: &str,
    ) -> Result<Option<i64>, Error> {
        let end = End {
            status,
            at: Utc::now(),
            played: Duration::ZERO,
            reason: Some(reason.to_string()),
            reason_vi: Some(reason_vi.to_string()),
        };
        self.write(
            store,
            Unwritten::Recorded {
                airing: airing.clone(),
                end,
            },
        )
    }

    /// Writes `w` after whatever waits (in order); keeps it when the log refuses. Err is
    /// returned only the first time writes start failing (the caller raises the alarm).
    fn write(&mut self, store: &Store, w: Unwritten) -> Result<Option<i64>, Error> {
        let was = self.failure.is_some();
        self.flush(store);
        if !self.unwritten.is_empty() {
            self.unwritten.push_back(w);
            return Ok(None);
        }
        match self.apply(store, &w) {
            Ok(row) => Ok(row),
            Err(e) => {
                self.failure = Some(e.to_string());
                self.unwritten.push_back(w);
                if was {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// One write; a started row becomes open (or is closed at once if it has ended).
    fn apply(&mut self, store: &Store, w: &Unwritten) -> Result<Option<i64>, Error> {
        match w {
            Unwritten::Started {
                key,
                airing,
                at,
                end,
            } => {
                let row = store.start(airing, *at)?;
                match end {
                    Some(e) => finish(store, row, e)?,
                    None => {
                        self.open.insert(
                            *key,
                            OpenRow {
                                row,
                                started: *at,
                                airing: airing.clone(),
                            },
                        );
                    }
                }
                Ok(Some(row))
            }
            Unwritten::Finished { row, end } => {
                finish(store, *row, end)?;
                Ok(Some(*row))
            }
            Unwritten::Recorded { airing, end } => Ok(Some(store.record_vi(
                airing,
                end.status,
                end.reason.as_deref().unwrap_or_default(),
                end.reason_vi.as_deref().unwrap_or_default(),
            )?)),
        }
    }

    /// Writes what waits, in order, until the log refuses again. Returns how many it wrote.
    pub fn flush(&mut self, store: &Store) -> usize {
        let mut n = 0;
        while let Some(w) = self.unwritten.pop_front() {
            match self.apply(store, &w) {
                Ok(_) => n += 1,
                Err(e) => {
                    self.failure = Some(e.to_string());
                    self.unwritten.push_front(w);
                    return n;
                }
            }
        }
        self.failure = None;
        n
    }

    /// How many writes wait for the log, and why the last one failed.
    pub fn unwritten(&self) -> Option<(usize, &str)> {
        (!self.unwritten.is_empty()).then(|| {
            (
                self.unwritten.len(),
                self.failure.as_deref().unwrap_or_default(),
            )
        })
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

fn finish(store: &Store, row: i64, e: &End) -> Result<(), Error> {
    store.finish_vi(
        row,
        e.status,
        e.at,
        e.played,
        e.reason.as_deref(),
        e.reason_vi.as_deref(),
    )
}
