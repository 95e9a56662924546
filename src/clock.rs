//! "Now", injected. The deciding code (schedule, station, reports) takes times as
//! arguments and never reads a clock; the edges that do (the library's settle timer, the
//! daemon) read it through [`Clock`]. `loaxa simulate` drives the station with its own
//! simulated instants (see `simulate.rs`).

use chrono::{DateTime, Utc};

/// Wall-clock now in ns since the Unix epoch (CLOCK_REALTIME): the time base the playout
/// stamps audio with (each buffer's air time), so wall-clock schedules and sound agree.
pub fn wall_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

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
