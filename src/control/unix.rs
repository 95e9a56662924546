//! The local transport: a Unix socket in the state folder (owner and group only), one JSON
//! request line in, one JSON reply line out, over the station's [`Handle`]. A request
//! `{"cmd":"events"}` turns the connection into a stream of event lines instead.
//! `loaxa status|play|skip|stop|reload|log --follow` are its clients.
//!
//! A client can never hurt the station: at most 256 connections are open at once (more are
//! answered `busy` and closed at once), a request line is at most 64 KiB, a client that has
//! not sent its line within 2 s is dropped, and accept errors (no file descriptors left)
//! back off instead of spinning.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Code, Command, Error, Event, Handle, Origin, Outcome};

pub const SOCKET: &str = "control.sock";
/// The longest request line taken.
const MAX_LINE: usize = 64 * 1024;
/// Connections open at once; more are answered `busy` and closed.
const MAX_CONNECTIONS: usize = 256;
/// A client sends its request line at once; one silent this long is dropped.
const IDLE: Duration = Duration::from_secs(2);

pub fn socket_path(state: &Path) -> PathBuf {
    state.join(SOCKET)
}

/// One reply line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reply {
    pub ok: bool,
    /// One line for a person.
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Error>,
}

impl Reply {
    fn of(r: Result<Outcome, Error>) -> Reply {
        match r {
            Ok(o) => Reply {
                ok: true,
                message: o.message(),
                outcome: Some(o),
                error: None,
            },
            Err(e) => Reply {
                ok: false,
                message: e.message.clone(),
                outcome: None,
                error: Some(e),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no loaxa daemon is running for this station (no control socket at {0}) — start it with `loaxa run` or `systemctl start loaxa`")]
    NotRunning(PathBuf),
    #[error("cannot reach the loaxa daemon at {0}: {1} — check that you are in the `loaxa` group, or run as the service's user")]
    Denied(PathBuf, std::io::Error),
    #[error("the loaxa daemon did not answer: {0}")]
    Io(#[from] std::io::Error),
    #[error("the loaxa daemon sent an answer this loaxa does not understand: {0}")]
    Bad(#[from] serde_json::Error),
}

fn connect(state: &Path) -> Result<UnixStream, ClientError> {
    let path = socket_path(state);
    UnixStream::connect(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => ClientError::Denied(path, e),
        _ => ClientError::NotRunning(path),
    })
}

/// Sends one command to the daemon of the station whose state folder is `state`.
pub fn request(state: &Path, cmd: &Command) -> Result<Result<Outcome, Error>, ClientError> {
    let mut s = connect(state)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = serde_json::to_string(cmd)?;
    line.push('\n');
    // A daemon with too many clients answers `busy` and closes at once, maybe before the
    // request is written: its answer is still there to read.
    let sent = s.write_all(line.as_bytes());
    let mut answer = String::new();
    let read = BufReader::new(s).read_line(&mut answer);
    if answer.is_empty() {
        sent?;
        read?;
    }
    let r: Reply = serde_json::from_str(&answer)?;
    Ok(match (r.outcome, r.error) {
        (Some(o), _) if r.ok => Ok(o),
        (_, Some(e)) => Err(e),
        _ => Err(Error::new(Code::BadRequest, r.message)),
    })
}

/// Subscribes to the daemon's events: each is handed to `f` until it returns false or the
/// daemon stops.
pub fn follow(state: &Path, mut f: impl FnMut(Event) -> bool) -> Result<(), ClientError> {
    let mut s = connect(state)?;
    s.write_all(b"{\"cmd\":\"events\"}\n")?;
    let mut lines = BufReader::new(s).lines();
    // The first line acknowledges the subscription.
    if lines.next().transpose()?.is_none() {
        return Ok(());
    }
    for line in lines {
        let ev: Event = serde_json::from_str(&line?)?;
        if !f(ev) {
            break;
        }
    }
    Ok(())
}

/// Binds the socket (replacing a stale one a crash left), readable by owner and group.
pub fn bind(state: &Path) -> std::io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(state)?;
    let path = socket_path(state);
    if path.exists() {
        if UnixStream::connect(&path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!(
                    "another loaxa daemon is already running for this station ({})",
                    path.display()
                ),
            ));
        }
        std::fs::remove_file(&path)?;
    }
    let l = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660))?;
    Ok(l)
}

/// Serves the socket over `handle` until the task is dropped.
pub async fn serve(listener: tokio::net::UnixListener, handle: Handle) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of file descriptors, most likely: wait instead of spinning.
                tracing::warn!("control socket: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        if open.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let mut s = stream;
                let busy = Reply::of(Err(Error::new(
                    Code::Busy,
                    "too many clients are connected; try again in a moment",
                )));
                let mut line = serde_json::to_string(&busy).unwrap_or_default();
                line.push('\n');
                let _ = tokio::time::timeout(IDLE, s.write_all(line.as_bytes())).await;
            });
            continue;
        }
        open.fetch_add(1, Ordering::Relaxed);
        let (handle, open) = (handle.clone(), open.clone());
        tokio::spawn(async move {
            connection(stream, handle).await;
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

async fn connection(stream: tokio::net::UnixStream, handle: Handle) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let origin = Origin::unix(stream.peer_cred().ok().map(|c| c.uid()));
    let (r, mut w) = stream.into_split();
    let mut line = Vec::new();
    let mut reader = tokio::io::BufReader::new(r).take(MAX_LINE as u64 + 1);
    let read = tokio::time::timeout(IDLE, reader.read_until(b'\n', &mut line)).await;
    let reply = match read {
        Err(_) | Ok(Err(_)) | Ok(Ok(0)) => return,
        Ok(Ok(_)) if line.len() > MAX_LINE => Reply::of(Err(Error::new(
            Code::BadRequest,
            format!("request longer than {} KiB", MAX_LINE / 1024),
        ))),
        Ok(Ok(_)) => match parse(&line) {
            Ok(Parsed::Events) => {
                events(handle, &mut w).await;
                return;
            }
            Ok(Parsed::Command(cmd)) => Reply::of(handle.call(cmd, origin).await),
            Err(e) => Reply::of(Err(e)),
        },
    };
    let mut out = serde_json::to_string(&reply).unwrap_or_default();
    out.push('\n');
    let _ = w.write_all(out.as_bytes()).await;
}

enum Parsed {
    Command(Command),
    Events,
}

fn parse(line: &[u8]) -> Result<Parsed, Error> {
    let bad = |e: &dyn std::fmt::Display| {
        // Never echo the request back: it may be huge or hostile.
        let mut m = e.to_string();
        m.truncate(200);
        Error::new(Code::BadRequest, format!("bad request: {m}"))
    };
    let v: serde_json::Value = serde_json::from_slice(line).map_err(|e| bad(&e))?;
    if v.get("cmd").and_then(|c| c.as_str()) == Some("events") {
        return Ok(Parsed::Events);
    }
    serde_json::from_value(v)
        .map(Parsed::Command)
        .map_err(|e| bad(&e))
}

async fn events(handle: Handle, w: &mut tokio::net::unix::OwnedWriteHalf) {
    use tokio::io::AsyncWriteExt;
    let mut rx = handle.subscribe();
    if w.write_all(b"{\"ok\":true,\"message\":\"subscribed\"}\n")
        .await
        .is_err()
    {
        return;
    }
    loop {
        match rx.recv().await {
            Ok(ev) => {
                let mut line = serde_json::to_string(&ev).unwrap_or_default();
                line.push('\n');
                if w.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}
