//! Media: what a source of sound is and how it is read. The header probe and the full
//! analysis (library) and the decoders (playout, simulation) live here, so both sides read
//! audio the same way.

pub mod decode;
pub mod device;
pub mod hls;
pub mod opus;
pub mod probe;
pub mod stream;

use std::path::{Path, PathBuf};

/// Opens an audio file for reading, never blocking: a named pipe or a device dropped into a
/// hot folder would make a plain `open` wait for ever. Anything but a regular file is
/// refused.
pub fn open_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(f)
}

/// Where an entry's sound comes from: a file, or an internet radio stream (relayed by
/// [`stream::Stream`]); live inputs will be a further kind, read by the same playout.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    File(PathBuf),
    /// A stream's address (`http://` or `https://`).
    Stream(String),
}

impl Source {
    /// Whether an address names a stream (a relay or a live input) rather than a file.
    pub fn is_stream(address: &str) -> bool {
        ["http://", "https://", stream::LIVE]
            .iter()
            .any(|p| address.starts_with(p))
    }

    /// The file behind it, for the sources that are files.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Source::File(p) => Some(p),
            Source::Stream(_) => None,
        }
    }

    /// Opens a file source for reading at `offset`, converted to `channels` at `rate`.
    /// A stream is read by the relay, not here.
    pub fn open(
        &self,
        offset: std::time::Duration,
        channels: u16,
        rate: u32,
    ) -> Result<decode::Reader, String> {
        match self {
            Source::File(p) => decode::Reader::open(p, offset, channels, rate),
            Source::Stream(u) => Err(format!("{u} is a stream: the relay reads it")),
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Stream(u) => write!(f, "{u}"),
        }
    }
}
