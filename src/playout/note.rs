//! What a relay reports as it airs (a switch to a fallback and back, the window's summary):
//! made by the relay's feeder, carried by the deck's events, written to the airtime row.

use serde::Serialize;

/// What a relay's feeder reports as it airs, for the log and the console.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceNote {
    /// What airs changed: to a fallback (`fallback` its position, from 1), back to the
    /// stream (`fallback` None), or to silence when nothing is left.
    Switched {
        to: String,
        fallback: Option<usize>,
        silence: bool,
        why: String,
    },
    /// The whole window, written to its row when it ends.
    Summary(RelaySummary),
}

/// What a relay's window was made of.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelaySummary {
    pub url: String,
    /// Bytes received from the stream during the window (and the buffering before it).
    pub bytes: u64,
    /// Times the stream was (re)connected.
    pub connects: u32,
    /// Each stretch of the window and what aired in it, in order.
    pub spans: Vec<Span>,
    /// Moments a stream on air had no data and silence was aired in its place.
    pub dropouts: Vec<Dropout>,
}

/// A dropout: ms from the window's start, and how long.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dropout {
    pub at_ms: u64,
    pub ms: u64,
}

/// A stretch of a relay's window: ms from the window's start, what aired and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    pub from_ms: u64,
    pub to_ms: u64,
    /// The stream's or fallback's title; "" for silence.
    pub source: String,
    /// None: the stream itself; Some(n): the n-th fallback (from 1); Some(0): silence.
    pub fallback: Option<usize>,
    /// Why it aired instead of the stream (None for the stream).
    pub why: Option<String>,
}
