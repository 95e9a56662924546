//! The local control API: a Unix socket in the state folder (owner and group only), one
//! JSON request line in, one JSON reply line out. `loaxa status|play|skip|stop|reload` are
//! its client.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub const SOCKET: &str = "control.sock";

pub fn socket_path(state: &Path) -> PathBuf {
    state.join(SOCKET)
}

/// What a client asks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    Status,
    Play {
        /// An absolute path (the client resolves it).
        file: Option<PathBuf>,
        category: Option<String>,
        #[serde(default)]
        emergency: bool,
    },
    Skip,
    Stop,
    Reload,
}

/// The daemon's answer: `ok`, a message for the person, and details for `status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reply {
    pub ok: bool,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

impl Reply {
    pub fn ok(message: impl Into<String>) -> Reply {
        Reply {
            ok: true,
            message: message.into(),
            status: None,
        }
    }

    pub fn err(message: impl Into<String>) -> Reply {
        Reply {
            ok: false,
            message: message.into(),
            status: None,
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

/// Sends one request to the daemon of the station whose state folder is `state`.
pub fn request(state: &Path, req: &Request) -> Result<Reply, ClientError> {
    let path = socket_path(state);
    let mut s = match UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e) => {
            return Err(match e.kind() {
                std::io::ErrorKind::PermissionDenied => ClientError::Denied(path, e),
                _ => ClientError::NotRunning(path),
            })
        }
    };
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = serde_json::to_string(req)?;
    line.push('\n');
    s.write_all(line.as_bytes())?;
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer)?;
    Ok(serde_json::from_str(&answer)?)
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
