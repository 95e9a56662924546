//! Why something happened to an airing, as a value: the station decides with these (not
//! with strings), the airtime log stores their English text for the technician, and the
//! person-facing texts translate them.

use std::time::Duration;

use crate::config::format_duration;

/// The reason an airing row carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Why {
    /// Missed while the station was off, beyond `catch_up`.
    NotRunning {
        late: Duration,
        catch_up: Duration,
    },
    /// Missed: a later programme was due when the station came back (only the latest airs).
    LaterDue {
        late: Duration,
        catch_up: Duration,
    },
    /// Waited behind another airing until it could no longer start within `catch_up`.
    StillOnAir {
        behind: String,
        catch_up: Duration,
    },
    /// A category segment found fewer items than it wanted.
    Shortfall {
        category: String,
        wanted: u32,
        found: u32,
        reason: String,
        /// How many were left out to keep within `max_duration` (0: none were valid).
        trimmed: u32,
    },
    Preempted {
        by: String,
    },
    Emergency,
    Skipped,
    Stopped,
    /// Cut by the output without a cause we gave.
    CutShort,
    /// The daemon stopped (the signal).
    Shutdown(String),
    /// The output or the decoder failed: their own one-line message.
    Failed(String),
    /// It played to its end, but its file changed under it (the message says how).
    Changed(String),
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::NotRunning { late, catch_up } => write!(
                f,
                "the station was not running (due {} ago; catch_up is {})",
                format_duration(*late),
                format_duration(*catch_up)
            ),
            Why::LaterDue { late, catch_up } => write!(
                f,
                "a later programme was due when the station came back (due {} ago; catch_up is {})",
                format_duration(*late),
                format_duration(*catch_up)
            ),
            Why::StillOnAir { behind, catch_up } => write!(
                f,
                "`{behind}` was still on air; could not start within catch_up ({})",
                format_duration(*catch_up)
            ),
            Why::Shortfall {
                category,
                wanted,
                found,
                reason,
                ..
            } => write!(
                f,
                "category `{category}`: {found} of {wanted} item(s) — {reason}"
            ),
            Why::Preempted { by } => write!(f, "preempted by higher-priority programme `{by}`"),
            Why::Emergency => f.write_str("interrupted by emergency broadcast"),
            Why::Skipped => f.write_str("skipped by operator"),
            Why::Stopped => f.write_str("stopped by operator"),
            Why::CutShort => f.write_str("cut short"),
            Why::Shutdown(why) => write!(f, "daemon stopped ({why})"),
            Why::Failed(why) | Why::Changed(why) => f.write_str(why),
        }
    }
}
