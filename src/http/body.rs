//! Bodies made on the blocking pool and sent while they are made: an export of a year's
//! airtime log goes out a chunk at a time, so it costs the daemon a few chunks of memory
//! however long the log is (it was made whole first: ~100 MB for a million rows).

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use tokio::sync::mpsc;

use super::ApiError;

/// What is handed to the client at a time, and how many may wait for it. Each chunk costs
/// one turn of the runtime, which 50 busy console clients make ~13 ms long: 64 KB chunks
/// took a 101 MB export from 19–26 s (made whole) to 48 s; 256 KB keeps it near the old
/// time for ~1.3 MB in flight.
const CHUNK: usize = 256 * 1024;
const WAITING: usize = 4;

enum Piece {
    Data(Bytes),
    /// The CLI body failed: its first error line.
    Failed(String),
}

/// A writer that hands what it is given to the response in chunks; a client that went
/// away is a broken pipe, which ends the export quietly.
struct Chunks {
    tx: mpsc::Sender<Piece>,
    buf: Vec<u8>,
}

impl Write for Chunks {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Piece::Data(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client left"))
    }
}

/// Runs a CLI body (`f(out, err)`, its exit code) on the blocking pool and streams what it
/// writes. Its failure before the first chunk left (a bad date, an unknown category, a
/// log that cannot be opened: all found before any row) answers `422 invalid` with its
/// first error line, as [`super::api`]'s buffered reads do; a failure later cuts the body.
pub async fn streamed(
    f: impl FnOnce(&mut dyn Write, &mut Vec<u8>) -> i32 + Send + 'static,
) -> Result<Body, ApiError> {
    let (tx, mut rx) = mpsc::channel(WAITING);
    let failed = tx.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = Chunks {
            tx,
            buf: Vec::with_capacity(CHUNK),
        };
        let mut err = Vec::new();
        let code = f(&mut out, &mut err);
        if code == 0 {
            let _ = out.flush(); // an error here is a client that left
        } else {
            // What is still buffered of a failed body is not sent: the error replaces it.
            let _ = failed.blocking_send(Piece::Failed(first_error(&err)));
        }
    });
    match rx.recv().await {
        None => Ok(Body::empty()),
        Some(Piece::Failed(m)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            m,
        )),
        Some(Piece::Data(first)) => {
            let rest = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|p| {
                    let item = match p {
                        Piece::Data(b) => Ok(b),
                        Piece::Failed(m) => Err(std::io::Error::other(m)),
                    };
                    (item, rx)
                })
            });
            let first = futures_util::stream::once(async move { Ok(first) });
            Ok(Body::from_stream(futures_util::StreamExt::chain(
                first, rest,
            )))
        }
    }
}

/// The first line of what a CLI body wrote to its error stream, without "error: ".
pub fn first_error(err: &[u8]) -> String {
    let m = String::from_utf8_lossy(err);
    m.lines()
        .next()
        .unwrap_or("failed")
        .trim_start_matches("error: ")
        .to_string()
}

/// JSON lines, written on as one JSON array (`[` first, `]` by [`LinesToArray::finish`]):
/// serde_json escapes a newline inside a string, so every newline ends a row.
pub struct LinesToArray<W: Write> {
    inner: W,
    /// A row ended: a comma goes before the next one.
    ended: bool,
}

impl<W: Write> LinesToArray<W> {
    pub fn new(mut inner: W) -> std::io::Result<Self> {
        inner.write_all(b"[")?;
        Ok(LinesToArray {
            inner,
            ended: false,
        })
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        self.inner.write_all(b"]")?;
        self.inner.flush()
    }
}

impl<W: Write> Write for LinesToArray<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        for (i, part) in b.split(|c| *c == b'\n').enumerate() {
            if i > 0 {
                self.ended = true;
            }
            if part.is_empty() {
                continue;
            }
            if self.ended {
                self.inner.write_all(b",")?;
                self.ended = false;
            }
            self.inner.write_all(part)?;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_become_one_array_however_they_are_split() {
        let lines = b"{\"a\":\"x\\ny\"}\n{\"a\":2}\n{\"a\":3}\n";
        for cut in 0..lines.len() {
            let mut out = Vec::new();
            let mut w = LinesToArray::new(&mut out).unwrap();
            w.write_all(&lines[..cut]).unwrap();
            w.write_all(&lines[cut..]).unwrap();
            w.finish().unwrap();
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(
                v,
                serde_json::json!([{"a": "x\ny"}, {"a": 2}, {"a": 3}]),
                "cut at {cut}"
            );
        }
        let mut out = Vec::new();
        LinesToArray::new(&mut out).unwrap().finish().unwrap();
        assert_eq!(out, b"[]");
    }
}
