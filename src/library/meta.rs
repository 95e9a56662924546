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
}

pub fn read_sidecar(path: &Path, tz: Tz) -> Result<ReadSidecar, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read the sidecar: {e}", path.display()))?;
    let at = |line: usize, col: usize| format!("{}:{line}:{col}", path.display());
    let raw: Sidecar = if text.trim().is_empty() {
        Sidecar::default()
    } else {
        serde_yaml::from_str(&text).map_err(|e| {
            let (l, c) = e.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1));
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            format!("{}: error: {msg} — the sidecar takes title, valid_from, valid_until, priority and note", at(l, c))
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
    })
}

/// A date at the start of a file name (`2026-11-25 …`, `20261125_…`, `2026.11.25-…`), and
/// the rest of the name after it.
pub fn leading_date(stem: &str) -> Option<(NaiveDate, &str)> {
    let b = stem.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let (date, rest) = if digits(0..4)
        && matches!(b.get(4), Some(b'-' | b'.' | b'_'))
        && digits(5..7)
        && b.get(7) == b.get(4)
        && digits(8..10)
    {
        let s = &stem[..10];
        let d = NaiveDate::parse_from_str(&s.replace(['.', '_'], "-"), "%Y-%m-%d").ok()?;
        (d, &stem[10..])
    } else if digits(0..8) && !b.get(8).is_some_and(u8::is_ascii_digit) {
        (
            NaiveDate::parse_from_str(&stem[..8], "%Y%m%d").ok()?,
            &stem[8..],
        )
    } else {
        return None;
    };
    Some((
        date,
        rest.trim_start_matches([' ', '_', '-', '.']).trim_start(),
    ))
}

/// The title a file name gives: no extension, no leading date, `_` as spaces, NFC.
pub fn title_from_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = nfc(&stem);
    let rest = leading_date(&stem)
        .map(|(_, r)| r.to_string())
        .unwrap_or_else(|| stem.clone());
    let t = rest.replace('_', " ");
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        stem
    } else {
        t
    }
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

    #[test]
    fn dates_at_the_start_of_names() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert_eq!(leading_date("2026-11-25 Bản tin"), Some((d, "Bản tin")));
        assert_eq!(leading_date("20261125_Ban_tin"), Some((d, "Ban_tin")));
        assert_eq!(leading_date("2026.11.25 - Tin"), Some((d, "Tin")));
        assert_eq!(leading_date("2026-13-25 x"), None);
        assert_eq!(leading_date("123456789 x"), None);
        assert_eq!(leading_date("Bản tin 2026-11-25"), None);
    }

    #[test]
    fn titles_from_names_are_nfc() {
        let nfd = "2026-11-25 Ba\u{309}n tin so\u{302}\u{301} 1.mp3"; // as a Mac types it
        let nfc_ = "2026-11-25 Bản tin số 1.mp3";
        assert_ne!(nfd, nfc_);
        assert_eq!(title_from_name(Path::new(nfd)), "Bản tin số 1");
        assert_eq!(title_from_name(Path::new(nfc_)), "Bản tin số 1");
        assert_eq!(
            title_from_name(Path::new("20261125_Huong_dan.wav")),
            "Huong dan"
        );
    }
}
