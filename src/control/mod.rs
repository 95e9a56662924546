//! One command surface for every client: typed [`Command`]s in, typed [`Outcome`]s or
//! [`Error`]s (a stable machine-readable [`Code`] and a one-line message) out, through a
//! cloneable [`Handle`] to the running station. The Unix socket ([`unix`]) is one
//! transport over the handle; other transports (HTTP) sit on the same handle, so the
//! commands' meaning lives only in the daemon, once.

pub mod event;
pub mod handle;
pub mod status;
pub mod unix;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use self::event::Event;
pub use self::handle::{channel, Handle, Inbox, Origin, Request};
pub use self::status::{OutputHealth, Status};

/// What a client asks the station to do.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    /// What airs now and next, the library, the outputs.
    Status,
    /// Play a library item or a category's pick now (after the programme on air), or as an
    /// emergency (at once, cutting what is on air).
    Play {
        #[serde(flatten)]
        target: Target,
        #[serde(default)]
        emergency: bool,
    },
    /// Air a capture device (microphone, line-in) live: now, cutting what airs at a lower
    /// priority (never an emergency), else after it; for `for_s` seconds (30 minutes if
    /// not given) or until `stop`.
    Live {
        #[serde(default = "default_device")]
        device: String,
        #[serde(default)]
        for_s: Option<u64>,
        #[serde(default = "live_priority")]
        priority: crate::config::Priority,
    },
    /// End the item on air; the rest of its programme goes on.
    Skip,
    /// End the programme on air (and an emergency's repeats).
    Stop,
    /// Read schedule.yaml again; an invalid one leaves the running one in place.
    Reload,
    /// Take a complete file under the audio folder (an upload that just ended) into the
    /// library now, without waiting for it to settle; `item` is its id (its path under
    /// the audio folder). The answer says whether it may air, and why not.
    Take { item: String },
}

fn default_device() -> String {
    "default".into()
}

fn live_priority() -> crate::config::Priority {
    crate::config::Priority::Priority
}

/// How long a live input airs when the operator does not say.
pub const LIVE_DEFAULT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// What `play` names: a library item by its id (its path under the audio folder, as
/// `loaxa library` lists it), or a category, whose own pick chooses the item.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Item(String),
    Category(String),
}

/// What a command did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Status(Box<Status>),
    /// An operator's play: it starts now, or after the programme on air.
    Playing {
        title: String,
        now: bool,
    },
    /// An emergency broadcast starts now.
    Emergency {
        title: String,
    },
    Skipped,
    Stopped,
    Reloaded {
        config: PathBuf,
    },
    /// The library took the file: it may air, or `reason` says why not (yet).
    Taken {
        item: String,
        reason: Option<String>,
    },
}

impl Outcome {
    /// One line for the person who asked (English: the CLI is the technician's).
    pub fn message(&self) -> String {
        match self {
            Outcome::Status(s) => s.line(),
            Outcome::Playing { title, now: true } => format!("playing \"{title}\" now"),
            Outcome::Playing { title, now: false } => {
                format!("\"{title}\" will play when the programme on air ends")
            }
            Outcome::Emergency { title } => {
                format!("EMERGENCY broadcast of \"{title}\" starts now")
            }
            Outcome::Skipped => "skipped the item on air".into(),
            Outcome::Stopped => "stopped the programme on air".into(),
            Outcome::Reloaded { config } => format!("reloaded {}", config.display()),
            Outcome::Taken { item, reason: None } => format!("{item} is in the library, ready"),
            Outcome::Taken {
                item,
                reason: Some(r),
            } => format!("{item} is in the library: {r}"),
        }
    }
}

/// Why a command was refused or failed: a stable code for programs, a line for people.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub code: Code,
    pub message: String,
}

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
        }
    }
}

/// The stable error codes of the command surface (listed in docs/technician.md). Clients
/// match on these, never on the message.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// The request could not be read (not JSON, unknown command, missing field).
    BadRequest,
    /// No library item has that id.
    NoSuchItem,
    /// No category has that key.
    NoSuchCategory,
    /// The category has no item that may air now.
    NothingToPlay,
    /// Skip or stop with nothing on air.
    NothingOnAir,
    /// The configuration on disk has errors; the last good one keeps running.
    ConfigInvalid,
    /// The station is taking too many requests at once; try again.
    Busy,
    /// The daemon is shutting down.
    Stopping,
}

impl Code {
    pub const ALL: [Code; 8] = [
        Code::BadRequest,
        Code::NoSuchItem,
        Code::NoSuchCategory,
        Code::NothingToPlay,
        Code::NothingOnAir,
        Code::ConfigInvalid,
        Code::Busy,
        Code::Stopping,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadRequest => "bad_request",
            Code::NoSuchItem => "no_such_item",
            Code::NoSuchCategory => "no_such_category",
            Code::NothingToPlay => "nothing_to_play",
            Code::NothingOnAir => "nothing_on_air",
            Code::ConfigInvalid => "config_invalid",
            Code::Busy => "busy",
            Code::Stopping => "stopping",
        }
    }
}

/// The station's refusal of a play, as a command error.
impl From<crate::station::Refused> for Error {
    fn from(r: crate::station::Refused) -> Error {
        use crate::station::Refused;
        match r {
            Refused::NoSuchItem(id) => Error::new(
                Code::NoSuchItem,
                format!("no library item `{id}` is ready to air — `loaxa library` lists the items and their state"),
            ),
            Refused::NoSuchCategory(k) => Error::new(
                Code::NoSuchCategory,
                format!("unknown category `{k}`"),
            ),
            Refused::EmptyCategory(k) => Error::new(
                Code::NothingToPlay,
                format!("category `{k}` has no item that may air now (`loaxa library --category {k}` shows why)"),
            ),
        }
    }
}
