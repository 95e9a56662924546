//! "Now", injected. The deciding code (schedule, station, reports) takes times as
//! arguments and never reads a clock; the edges that do (the library's settle timer, the
//! daemon) read it through [`Clock`]. `loaxa simulate` drives the station with its own
//! simulated instants (see `simulate.rs`).

use chrono::{DateTime, Utc};

/// A source of "now".
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
