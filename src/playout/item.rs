//! One item as the playout airs it: what the station decided (source, gain, where to start,
//! a relay's fallbacks and dead-air watch), handed down to the feeder and the relay.

use std::time::Duration;

use crate::media::Source;

/// One item to play, as the decoder needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayItem {
    pub source: Source,
    /// Loudness gain × master volume, linear.
    pub gain: f32,
    /// Start this far into the file (resuming after an emergency).
    pub offset: Duration,
    /// Its length, when known: decoding that stops well short of it is a failure.
    pub expect: Option<Duration>,
    /// Its sample rate when known (0: not known).
    pub rate: u32,
    /// A relay's fallbacks, tried in order (each one stream, or files aired in turn).
    pub fallback: Vec<Vec<PlayItem>>,
    /// For a stream: when it counts as dead air.
    pub watch: Option<Watch>,
}

/// When a relayed stream counts as dead air: no data, or a level under `silence_db`, for
/// `after`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Watch {
    pub silence_db: f64,
    pub after: Duration,
}

impl PlayItem {
    /// A file to play whole, at unity gain.
    pub fn file(path: &std::path::Path) -> PlayItem {
        PlayItem {
            source: Source::File(path.to_path_buf()),
            gain: 1.0,
            offset: Duration::ZERO,
            expect: None,
            rate: 0,
            fallback: vec![],
            watch: None,
        }
    }
}
