//! The handle every transport holds: request/response into the station's loop, a watch of
//! its typed status, and a broadcast of its events. Cloning it is cheap; the station side
//! ([`Inbox`]) is owned by the daemon's loop, which alone applies commands.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::{Code, Command, Error, Event, Outcome, Status};

/// Who asked, through what and from where: for the log and the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `cli:<unix user>` (the control socket), a user name, or an API token's name.
    pub who: String,
    /// The transport: `unix`, `http` (a console session), `api` (a token).
    pub via: String,
    /// The client's network address, when it has one.
    pub address: Option<String>,
}

impl Origin {
    /// The control socket's client, named by its Unix user.
    pub fn unix(uid: Option<u32>) -> Origin {
        Origin {
            who: match uid {
                Some(u) => format!("cli:{}", crate::access::user_name(u)),
                None => "cli".into(),
            },
            via: "unix".into(),
            address: None,
        }
    }
}

/// One command on its way to the station, with where to send the answer.
pub struct Request {
    pub command: Command,
    pub origin: Origin,
    pub reply: oneshot::Sender<Result<Outcome, Error>>,
}

/// Requests queued beyond this are refused as `busy` (a flood never grows memory).
const QUEUE: usize = 64;
/// Events a slow subscriber may fall behind by before it misses some.
const EVENTS: usize = 256;

#[derive(Clone)]
pub struct Handle {
    tx: mpsc::Sender<Request>,
    status: watch::Receiver<Arc<Status>>,
    events: broadcast::Sender<Event>,
}

/// The station's side of the handle.
pub struct Inbox {
    pub requests: mpsc::Receiver<Request>,
    pub status: watch::Sender<Arc<Status>>,
    pub events: broadcast::Sender<Event>,
}

/// A handle and its station side, starting from `initial`.
pub fn channel(initial: Status) -> (Handle, Inbox) {
    let (tx, requests) = mpsc::channel(QUEUE);
    let (status_tx, status) = watch::channel(Arc::new(initial));
    let (events, _) = broadcast::channel(EVENTS);
    (
        Handle {
            tx,
            status,
            events: events.clone(),
        },
        Inbox {
            requests,
            status: status_tx,
            events,
        },
    )
}

impl Handle {
    /// Sends a command and waits for its outcome.
    pub async fn call(&self, command: Command, origin: Origin) -> Result<Outcome, Error> {
        let (reply, answer) = oneshot::channel();
        let req = Request {
            command,
            origin,
            reply,
        };
        match self.tx.try_send(req) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                return Err(Error::new(
                    Code::Busy,
                    "the station is busy with other requests; try again in a moment",
                ))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(stopping()),
        }
        answer.await.unwrap_or_else(|_| Err(stopping()))
    }

    /// The latest status (refreshed by the station whenever it changes).
    pub fn status(&self) -> Arc<Status> {
        self.status.borrow().clone()
    }

    /// A receiver that wakes when the status changes.
    pub fn watch(&self) -> watch::Receiver<Arc<Status>> {
        self.status.clone()
    }

    /// Every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }
}

fn stopping() -> Error {
    Error::new(Code::Stopping, "the daemon is stopping")
}
