//! What an item is called and when it may air: sidecar files, tags and file names.
//!
//! Title: the sidecar's `title`, else the file's title tag, else the file name without its
//! extension and leading date. Validity: the sidecar's dates, else a date at the start of
//! the name, else the time the file arrived; it expires after the category's `max_age`
//! unless the sidecar sets `valid_until`. Names are NFC so a Mac (NFD) and a Windows (NFC)
//! spelling of the same title are equal.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::config::{nfc, Priority};
use crate::local;

/// Whether a directory entry is ignored outright: hidden files, partial downloads and
/// editor/office temporaries, notes beside the audio.
pub fn ignored(name: &str) -> bool {
    let lower = name.to_lowercase();
    name.starts_with('.')
        || name.starts_with('~')
        || lower.starts_with(".~lock")
        || lower.starts_with(".goutputstream-")
        || [".part", ".tmp", ".crdownload", ".filepart", ".partial", ".download", ".swp"]
            .iter()
            .any(|s| lower.ends_with(s))
        // notes and instructions kept in the folders, and sidecars (read with their item)
        || [".txt", ".md", ".yaml", ".yml", ".pdf", ".doc", ".docx", ".ini", ".db"]
            .iter()
            .any(|s| lower.ends_with(s))
        || lower == "thumbs.db"
        || lower == "desktop.ini"
}

/// The sidecar's fields.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    pub title: Option<String>,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    pub priority: Option<Priority>,
    pub note: Option<String>,
    /// `false`: waits as pending for an approver; `true`: approved (by `approved_by`).
    pub approved: Option<bool>,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
}

/// The sidecar path of an audio file: `NAME.yaml` (or `.yml`) beside it.
pub fn sidecar_path(audio: &Path) -> Option<PathBuf> {
    ["yaml", "yml"]
        .iter()
        .map(|e| audio.with_extension(e))
        .find(|p| p.is_file())
}

/// A sidecar read and checked. Err is a one-line `FILE:LINE:COL: what — fix` message.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadSidecar {
    pub title: Option<String>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub priority: Option<Priority>,
    pub note: Option<String>,
    pub approved: Option<bool>,
}

pub fn read_sidecar(path: &Path, tz: Tz) -> Result<ReadSidecar, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read the sidecar: {e}", path.display()))?;
    parse_sidecar(&text, path, tz)
}

/// A sidecar's text, as if read from `path` (every error names `path:line:col`).
pub fn parse_sidecar(text: &str, path: &Path, tz: Tz) -> Result<ReadSidecar, String> {
    let at = |line: usize, col: usize| format!("{}:{line}:{col}", path.display());
    let raw: Sidecar = if text.trim().is_empty() {
        Sidecar::default()
    } else {
        serde_yaml::from_str(text).map_err(|e| {
            let (l, c) = e.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1));
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            format!("{}: error: {msg} — the sidecar takes title, valid_from, valid_until, priority, note and approved", at(l, c))
        })?
    };
    let locate = |key: &str| {
        text.lines()
            .enumerate()
            .find(|(_, l)| l.trim_start().starts_with(&format!("{key}:")))
            .map(|(i, l)| (i + 1, l.find(':').map(|c| c + 3).unwrap_or(1)))
            .unwrap_or((1, 1))
    };
    let date =
        |key: &str, v: &Option<String>, end: bool| -> Result<Option<DateTime<Utc>>, String> {
            let Some(v) = v else { return Ok(None) };
            let t = local::parse_datetime(v, tz).map_err(|e| {
                let (l, c) = locate(key);
                format!("{}: error: `{key}`: {e}", at(l, c))
            })?;
            // A date alone as an end means the whole of that day.
            let date_only = NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").is_ok();
            Ok(Some(if end && date_only {
                t + chrono::Duration::days(1)
            } else {
                t
            }))
        };
    let valid_from = date("valid_from", &raw.valid_from, false)?;
    let valid_until = date("valid_until", &raw.valid_until, true)?;
    if let (Some(f), Some(u)) = (valid_from, valid_until) {
        if u <= f {
            let (l, c) = locate("valid_until");
            return Err(format!(
                "{}: error: `valid_until` is not after `valid_from` — fix the dates",
                at(l, c)
            ));
        }
    }
    Ok(ReadSidecar {
        title: raw.title.map(|t| nfc(t.trim())).filter(|t| !t.is_empty()),
        valid_from,
        valid_until,
        priority: raw.priority,
        note: raw.note,
        approved: raw.approved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporaries_and_notes_are_ignored() {
        for n in [
            ".hidden.mp3",
            "bản tin.mp3.part",
            "x.tmp",
            "a.crdownload",
            "b.filepart",
            "~\u{24}ban tin.docx",
            ".~lock.x#",
            ".goutputstream-ABC",
            "HUONG-DAN.txt",
            "bản tin.yaml",
        ] {
            assert!(ignored(n), "{n}");
        }
        for n in ["bản tin.mp3", "2026-11-25 tin.wav", "x.m4a", "nhạc.ogg"] {
            assert!(!ignored(n), "{n}");
        }
    }
}
