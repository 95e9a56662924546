//! What an airable thing is, in one place: a library [`Item`] (what the picker chooses
//! from) and an [`Entry`] of a running order (what the station cues and the log records),
//! and the naming rules that turn a file name into a date and a title.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{nfc, Priority};
use crate::media::Source;

/// An airable item as the library knows it: probed, judged, with its validity window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// Identity in the log and for rotation: the path relative to the audio folder (NFC).
    pub id: String,
    pub path: PathBuf,
    pub category: String,
    pub title: String,
    #[serde(serialize_with = "ser_ms")]
    pub duration: Duration,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    /// Sidecar `priority: priority` items go to the front of the next programme.
    pub priority: Priority,
    pub hash: String,
    /// Gain (dB) that brings the item to its category's loudness target.
    pub gain_db: f64,
    /// Whether `valid_from` is only when the file arrived (no date in its name or sidecar).
    #[serde(skip)]
    pub from_arrival: bool,
    /// Its sample rate (the output opens at it when it can: no resampling), 0 if unknown.
    #[serde(skip)]
    pub rate: u32,
    /// When its file last changed (an emergency file only airs when it is new).
    #[serde(skip)]
    pub modified: DateTime<Utc>,
}

impl Item {
    pub fn valid_at(&self, t: DateTime<Utc>) -> bool {
        self.valid_from <= t && self.valid_until.is_none_or(|u| t < u)
    }
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// What an entry of a running order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Jingle,
    Item,
    File,
    /// An internet radio stream aired for a window.
    Relay,
}

/// One entry of a running order: a library item, a jingle or a fixed file, with what the
/// output and the airtime log need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: EntryKind,
    pub source: Source,
    pub title: String,
    /// Its whole length; None when unknown (a file the probe could not time, and later
    /// live sources): it then lasts until it ends.
    pub duration: Option<Duration>,
    /// The category the item came from (None for jingles and fixed files).
    pub category: Option<String>,
    /// Library identity (relative path); None for jingles/files outside the library.
    pub id: Option<String>,
    pub hash: Option<String>,
    /// Loudness gain (dB) for this entry.
    pub gain_db: f64,
    /// Start this far in (resuming after an emergency).
    pub offset: Duration,
    /// Its sample rate when known (0: not known), so the output opens at it.
    #[serde(default)]
    pub rate: u32,
    /// A relay's fallbacks, tried in order while its stream is down; each is one stream,
    /// or the files a category or file fallback airs in turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback: Vec<Vec<Entry>>,
}

impl Entry {
    /// A library item as an entry.
    pub fn of_item(c: &Item) -> Entry {
        Entry {
            kind: EntryKind::Item,
            source: Source::File(c.path.clone()),
            title: c.title.clone(),
            duration: Some(c.duration),
            category: Some(c.category.clone()),
            id: Some(c.id.clone()),
            hash: Some(c.hash.clone()),
            gain_db: c.gain_db,
            offset: Duration::ZERO,
            rate: c.rate,
            fallback: vec![],
        }
    }

    /// A jingle or fixed file; the library's item when it knows the file (its title,
    /// identity and gain), else its name gives the title.
    pub fn fixed(
        kind: EntryKind,
        path: &Path,
        known: Option<&Item>,
        len: Option<Duration>,
    ) -> Entry {
        Entry {
            kind,
            source: Source::File(path.to_path_buf()),
            title: known
                .map(|c| c.title.clone())
                .unwrap_or_else(|| title_from_name(path)),
            duration: known.map(|c| c.duration).or(len),
            category: None,
            id: known.map(|c| c.id.clone()),
            hash: known.map(|c| c.hash.clone()),
            gain_db: known.map(|c| c.gain_db).unwrap_or(0.0),
            offset: Duration::ZERO,
            rate: known.map(|c| c.rate).unwrap_or(0),
            fallback: vec![],
        }
    }

    /// A stream: a relay for `len` (its fallbacks given), or a fallback stream (no length).
    pub fn stream(
        url: &str,
        title: &str,
        len: Option<Duration>,
        fallback: Vec<Vec<Entry>>,
    ) -> Entry {
        Entry {
            kind: EntryKind::Relay,
            source: Source::Stream(url.to_string()),
            title: title.to_string(),
            duration: len,
            category: None,
            id: None,
            hash: None,
            gain_db: 0.0,
            offset: Duration::ZERO,
            rate: 0,
            fallback,
        }
    }

    /// What is left to play from its offset; None when its length is unknown.
    pub fn remaining(&self) -> Option<Duration> {
        self.duration.map(|d| d.saturating_sub(self.offset))
    }
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
