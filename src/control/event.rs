//! What happens at the station, as it happens: every client can subscribe (the console's
//! live page, `loaxa log --follow`, alarms). Events are facts after the fact; they carry the
//! airtime row they wrote, so a subscriber can read the whole row.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::airtime::Status;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A running order was handed to the output, to start at `at`.
    ProgrammeCued {
        run: u64,
        at: DateTime<Utc>,
        items: usize,
    },
    /// An item went on air; `row` is its airtime row.
    ItemStarted {
        row: Option<i64>,
        programme: Option<String>,
        title: Option<String>,
        category: Option<String>,
        at: DateTime<Utc>,
    },
    /// An item left the air (completed, interrupted, skipped, failed).
    ItemEnded {
        row: Option<i64>,
        programme: Option<String>,
        title: Option<String>,
        category: Option<String>,
        status: Status,
        played_ms: u64,
        reason: Option<String>,
        at: DateTime<Utc>,
    },
    /// Something that never went on air (missed, skipped, failed before it started).
    Recorded {
        row: Option<i64>,
        programme: Option<String>,
        category: Option<String>,
        status: Status,
        reason: String,
    },
    /// The library's contents changed: items by state.
    LibraryChanged { counts: BTreeMap<String, usize> },
    /// The configuration was reloaded (or a reload was refused).
    Reloaded { ok: bool, message: String },
    /// A relay changed what it airs: to fallback `fallback` (from 1), back to its stream
    /// (`fallback` null), or to silence with nothing left.
    RelaySwitched {
        programme: Option<String>,
        title: String,
        to: String,
        fallback: Option<usize>,
        silence: bool,
        why: String,
        at: DateTime<Utc>,
    },
    /// Something needs a person (an output failed, the log cannot be written…), or, with
    /// `active: false`, no longer does.
    Alarm {
        active: bool,
        message: String,
        at: DateTime<Utc>,
    },
}
