//! The audio library: hot folders turned into a trustworthy list of airable items.
//!
//! A file goes through: *settling* (its size and mtime must stay unchanged for `settle`,
//! so a file still being copied is never used) → a fast *header probe* and content hash
//! (its state is then known) → a *full analysis* in the background (exact length,
//! corruption, loudness). A file is never moved, changed or deleted; a bad one is
//! *rejected* with a reason, once, in one log line, and probed again when it changes.
//!
//! This type holds no threads: the caller feeds it paths and times (`scan`, `touch`,
//! `tick`) and runs analyses where it likes. The daemon wires it to a watcher and a
//! low-priority analysis thread (`watch.rs`); the CLI uses it one-shot (`snapshot`).

pub mod index;
pub mod meta;

pub mod watch;
pub use self::watch::SnapshotReader;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use self::index::{Cached, Index};
use self::meta::ReadSidecar;
use crate::config::{nfc, Config, Priority};
use crate::item::Item;
use crate::local;
use crate::media::probe::{self, Analysis, Header, Rejection};

/// The folder (and category key) of files played by hand from outside the library.
pub const PLAY_NOW: &str = "phat-ngay";

/// Shorter items are rejected: a real bulletin or jingle lasts longer.
pub const MIN_LENGTH: Duration = Duration::from_secs(1);
/// Items whose peak stays below this are silent recordings.
pub const SILENT_DB: f64 = -50.0;
/// Loudness normalisation never pushes a peak above this.
pub const PEAK_CEILING_DB: f64 = -1.0;

/// An item's state, as `loaxa library` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Ready,
    Settling,
    NotYetValid,
    Expired,
    Rejected,
    /// Waits for an approver (`approval: required`, or an upstream bulletin to choose).
    Pending,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ready => "ready",
            State::Settling => "settling",
            State::NotYetValid => "not_yet_valid",
            State::Expired => "expired",
            State::Rejected => "rejected",
            State::Pending => "pending",
        }
    }
}

/// Something the daemon may act on.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A file (or a new version of it) became airable.
    Ready { id: String, category: String },
    /// A file disappeared (deleted or renamed away).
    Gone { id: String },
    /// A file was rejected.
    Rejected { id: String, reason: String },
}

#[derive(Debug, Clone)]
enum Stage {
    Settling,
    Probed(Box<Probed>),
    Rejected(Rejection),
}

#[derive(Debug, Clone)]
struct Probed {
    hash: String,
    header: Header,
    analysis: Option<Analysis>,
    sidecar: Result<Option<ReadSidecar>, String>,
}

#[derive(Debug, Clone)]
struct Entry {
    path: PathBuf,
    category: String,
    size: u64,
    mtime_ns: i64,
    /// When this size/mtime was first observed (settling counts from here).
    since: DateTime<Utc>,
    /// When this content arrived (validity starts here when nothing else says).
    arrived: DateTime<Utc>,
    stage: Stage,
    /// Found complete at start-up (older than `settle`, no analysis cached yet): it may air
    /// on its header until its analysis, queued first, says otherwise. A file that arrives
    /// while the station runs airs only once it is known to play to its end.
    early: bool,
}

#[derive(Debug, Clone)]
struct Cat {
    key: String,
    folder: PathBuf,
    priority: Priority,
    max_age: Option<Duration>,
    max_length: Option<Duration>,
    loudness: f64,
    gain_db: f64,
    approval: bool,
}

/// One item as listed by `loaxa library` (and its JSON line).
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    /// Relative to the audio folder, NFC.
    pub path: String,
    pub category: String,
    pub title: String,
    pub duration_ms: Option<u64>,
    pub lufs: Option<f64>,
    pub peak_db: Option<f64>,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    pub state: State,
    pub reason: Option<String>,
    /// Why a rejected file cannot air, as a stable code (`empty`, `not_audio`, `corrupt`,
    /// `silent`, `too_long`…): what the console words in Vietnamese.
    pub reason_code: Option<&'static str>,
    pub codec: Option<String>,
    pub hash: Option<String>,
}

/// What an airable file is, judged against its category.
#[derive(Debug, Clone)]
struct Airable {
    title: String,
    duration: Duration,
    valid_from: DateTime<Utc>,
    valid_until: Option<DateTime<Utc>>,
    priority: Priority,
    gain_db: f64,
    /// Valid from its arrival only (no date in its name or sidecar).
    from_arrival: bool,
    /// Still waiting for something before it may air (length, loudness).
    waiting: Option<String>,
    /// Waiting for an approver.
    pending: bool,
}

pub struct Library {
    audio: PathBuf,
    settle: Duration,
    tz: Tz,
    wait_for_loudness: bool,
    cats: Vec<Cat>,
    entries: BTreeMap<String, Entry>,
    cache: HashMap<String, Cached>,
    index: Index,
}

fn mtime_ns(m: &std::fs::Metadata) -> i64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// The id of a file: its path relative to the audio folder, NFC, `/`-separated.
pub fn rel_id(audio: &Path, path: &Path) -> String {
    nfc(&path.strip_prefix(audio).unwrap_or(path).to_string_lossy())
}

impl Library {
    /// Opens the library of `config`, with its index cache in the state folder (in memory
    /// when the state folder cannot be written).
    pub fn open(config: &Config) -> Library {
        let path = config.paths.state.join(index::FILE_NAME);
        let index = match Index::open_or_rebuild(&path) {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!("library index {} cannot be opened ({e}); keeping it in memory, every start will probe again", path.display());
                Index::in_memory()
            }
        };
        let cache = index.load().unwrap_or_default();
        let mut lib = Library {
            audio: config.paths.audio.clone(),
            settle: config.library.settle,
            tz: config.station.timezone,
            wait_for_loudness: config.library.wait_for_loudness,
            cats: vec![],
            entries: BTreeMap::new(),
            cache,
            index,
        };
        lib.set_config(config);
        lib
    }

    /// Takes a reloaded config (categories, settle, limits). Call `scan` afterwards.
    pub fn set_config(&mut self, config: &Config) {
        self.audio = config.paths.audio.clone();
        self.settle = config.library.settle;
        self.tz = config.station.timezone;
        self.wait_for_loudness = config.library.wait_for_loudness;
        self.cats = config
            .categories
            .iter()
            .map(|c| Cat {
                key: c.key.clone(),
                folder: c.folder.clone(),
                priority: c.priority,
                max_age: c.max_age,
                max_length: c.max_length,
                loudness: c.loudness,
                gain_db: c.gain_db,
                approval: c.approval,
            })
            .collect();
        // Files an operator plays from outside the library are copied here (`loaxa play
        // FILE`); no programme picks from it unless a category of the config names it.
        if !self.cats.iter().any(|c| c.key == PLAY_NOW) {
            let d = config.categories.first();
            self.cats.push(Cat {
                key: PLAY_NOW.into(),
                folder: config.paths.audio.join(PLAY_NOW),
                priority: Priority::Normal,
                max_age: None,
                max_length: None,
                loudness: d.map_or(crate::config::DEFAULT_LOUDNESS, |c| c.loudness),
                gain_db: 0.0,
                approval: false,
            });
        }
        // Deepest folders first, so a category nested in another's folder wins its files.
        self.cats
            .sort_by_key(|c| std::cmp::Reverse(c.folder.components().count()));
    }

    pub fn audio_dir(&self) -> &Path {
        &self.audio
    }

    /// The category folders (for the watcher).
    pub fn folders(&self) -> Vec<PathBuf> {
        self.cats.iter().map(|c| c.folder.clone()).collect()
    }

    fn category_of(&self, path: &Path) -> Option<&Cat> {
        self.cats.iter().find(|c| path.starts_with(&c.folder))
    }

    /// Walks every category folder; new and changed files start settling, vanished ones
    /// go. Files the cache knows unchanged are known at once.
    pub fn scan(&mut self, now: DateTime<Utc>) -> Vec<Change> {
        let mut found = vec![];
        let mut dirs = std::collections::HashSet::new();
        for c in &self.cats {
            walk(&c.folder, &self.audio, &mut found, &mut dirs);
        }
        // A file spelled in NFC takes the NFC id; a twin in another spelling gets its own.
        found.sort_by_cached_key(|f| {
            let p = match f {
                Found::File(p, _) | Found::Odd(p, _) => p,
            };
            let raw = p.to_string_lossy();
            nfc(&raw) != raw
        });
        let mut seen = std::collections::HashSet::new();
        let mut changes = vec![];
        for f in found {
            changes.extend(self.found(f, now, &mut seen));
        }
        let gone: Vec<String> = self
            .entries
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        for id in gone {
            changes.extend(self.forget(&id));
        }
        changes
    }

    /// Records one thing a walk found; `seen` holds the ids taken so far, so two files whose
    /// names differ only in their Unicode spelling (NFC and NFD) are both shown.
    fn found(
        &mut self,
        f: Found,
        now: DateTime<Utc>,
        seen: &mut std::collections::HashSet<String>,
    ) -> Vec<Change> {
        let (path, odd) = match f {
            Found::File(p, md) => (p, Err(md)),
            Found::Odd(p, r) => (p, Ok(r)),
        };
        let id = rel_id(&self.audio, &path);
        if !seen.insert(id.clone()) {
            // Its NFC spelling is another file's: keep it visible under its own bytes.
            let raw = path
                .strip_prefix(&self.audio)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            if seen.insert(raw.clone()) {
                let r = Rejection::new(
                    "same_name",
                    format!("another file here has the same name written differently ({id}); rename one of them"),
                );
                return self.observe_odd(raw, path, r, now);
            }
            return vec![];
        }
        match odd {
            Ok(r) => self.observe_odd(id, path, r, now),
            Err(md) => self.observe(id, path, &md, now),
        }
    }

    /// Records something that can never air, with why (logged once, until it changes).
    fn observe_odd(
        &mut self,
        id: String,
        path: PathBuf,
        r: Rejection,
        now: DateTime<Utc>,
    ) -> Vec<Change> {
        let Some(cat) = self.category_of(&path).map(|c| c.key.clone()) else {
            return vec![];
        };
        if let Some(e) = self.entries.get(&id) {
            if matches!(&e.stage, Stage::Rejected(old) if *old == r) {
                return vec![];
            }
        }
        self.entries.insert(
            id.clone(),
            Entry {
                path,
                category: cat,
                size: 0,
                mtime_ns: 0,
                since: now,
                arrived: now,
                stage: Stage::Rejected(r),
                early: false,
            },
        );
        self.judge_change(&id)
    }

    /// Records what the file system shows for one file.
    fn observe(
        &mut self,
        id: String,
        path: PathBuf,
        md: &std::fs::Metadata,
        now: DateTime<Utc>,
    ) -> Vec<Change> {
        let Some(cat) = self.category_of(&path).map(|c| c.key.clone()) else {
            return vec![];
        };
        let (size, mt) = (md.len(), mtime_ns(md));
        if let Some(e) = self.entries.get_mut(&id) {
            if e.size == size && e.mtime_ns == mt && e.category == cat && e.path == path {
                return vec![];
            }
            // Changed: settle again, keep its arrival until the content proves new.
            e.size = size;
            e.mtime_ns = mt;
            e.since = now;
            e.category = cat;
            e.path = path;
            e.stage = Stage::Settling;
            e.early = false;
            return vec![];
        }
        let cached = self
            .cache
            .get(&id)
            .filter(|c| c.size == size && c.mtime_ns == mt)
            .cloned();
        let arrived = self.cache.get(&id).map(|c| c.arrived).unwrap_or(now);
        let stage = match cached {
            Some(Cached {
                reject: Some(r), ..
            }) => Stage::Rejected(r),
            Some(Cached {
                hash: Some(hash),
                header: Some(header),
                analysis,
                ..
            }) => Stage::Probed(Box::new(Probed {
                hash,
                header,
                analysis,
                sidecar: read_meta(&path, self.tz),
            })),
            _ => Stage::Settling,
        };
        let known = !matches!(stage, Stage::Settling);
        self.entries.insert(
            id.clone(),
            Entry {
                path,
                category: cat.clone(),
                size,
                mtime_ns: mt,
                since: now,
                arrived,
                stage,
                early: false,
            },
        );
        if known {
            self.judge_change(&id)
        } else {
            vec![]
        }
    }

    fn forget(&mut self, id: &str) -> Vec<Change> {
        if self.entries.remove(id).is_some() {
            let _ = self.index.remove(id);
            self.cache.remove(id);
            tracing::info!("library: {id} is gone");
            vec![Change::Gone { id: id.to_string() }]
        } else {
            vec![]
        }
    }

    /// The watcher saw something happen at `path` (file, folder or sidecar).
    pub fn touch(&mut self, path: &Path, now: DateTime<Utc>) -> Vec<Change> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let lower = name.to_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            return self.sidecar_changed(path);
        }
        match node(path, &self.audio) {
            Some(Node::Dir) => {
                // Readable again, perhaps: the walk says what it is now.
                let dir_id = rel_id(&self.audio, path);
                let mut ch = vec![];
                if self.entries.get(&dir_id).is_some_and(|e| {
                    e.size == 0
                        && matches!(&e.stage, Stage::Rejected(r) if r.code == "unreadable_folder")
                }) {
                    ch.extend(self.forget(&dir_id));
                }
                let mut found = vec![];
                walk(path, &self.audio, &mut found, &mut Default::default());
                let mut seen: std::collections::HashSet<String> = Default::default();
                for f in found {
                    ch.extend(self.found(f, now, &mut seen));
                }
                ch
            }
            Some(Node::File(md)) if !meta::ignored(&name) => {
                let id = rel_id(&self.audio, path);
                let twin = self
                    .entries
                    .get(&id)
                    .is_some_and(|e| e.path != path && e.path.exists());
                let mut seen = std::collections::HashSet::new();
                if twin {
                    // Another file already has this name in its NFC spelling.
                    seen.insert(id);
                }
                self.found(Found::File(path.to_path_buf(), md), now, &mut seen)
            }
            Some(Node::Odd(r)) if !meta::ignored(&name) => {
                self.observe_odd(rel_id(&self.audio, path), path.to_path_buf(), r, now)
            }
            Some(_) => vec![],
            None => {
                // Gone: the file, or a folder and everything under it.
                let id = rel_id(&self.audio, path);
                let prefix = format!("{id}/");
                let gone: Vec<String> = self
                    .entries
                    .keys()
                    .filter(|k| **k == id || k.starts_with(&prefix))
                    .cloned()
                    .collect();
                gone.iter().flat_map(|g| self.forget(g)).collect()
            }
        }
    }

    fn sidecar_changed(&mut self, sidecar: &Path) -> Vec<Change> {
        let stem = sidecar.with_extension("");
        let ids: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| e.path.with_extension("") == stem)
            .map(|(k, _)| k.clone())
            .collect();
        let mut ch = vec![];
        for id in ids {
            let tz = self.tz;
            if let Some(e) = self.entries.get_mut(&id) {
                if let Stage::Probed(p) = &mut e.stage {
                    p.sidecar = read_meta(&e.path, tz);
                }
            }
            ch.extend(self.judge_change(&id));
        }
        ch
    }

    /// Takes a file known to be complete (an upload that ended, a copy the CLI renamed into
    /// place) without waiting for it to settle: probed now, and its item returned, or why
    /// it cannot air (yet).
    pub fn ingest(
        &mut self,
        path: &Path,
        now: DateTime<Utc>,
    ) -> (Result<Item, String>, Vec<Change>) {
        let id = rel_id(&self.audio, path);
        let md = match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return (Err(format!("{id} is not a regular file")), vec![]),
            Err(e) => return (Err(format!("cannot read {id}: {e}")), vec![]),
        };
        let mut changes = self.observe(id.clone(), path.to_path_buf(), &md, now);
        if self
            .entries
            .get(&id)
            .is_some_and(|e| matches!(e.stage, Stage::Settling))
        {
            changes.extend(self.probe(vec![id.clone()], now));
        }
        // Known to play to its end before it is offered (a few milliseconds a minute of
        // audio; this runs on the library's thread, never the one that cues programmes).
        if let Some(job) = self.analysis_jobs().into_iter().find(|j| j.id == id) {
            let r = probe::analyse(&job.path);
            changes.extend(self.apply_analysis(&job, r));
        }
        let item = match self.entries.get(&id).map(|e| (e, self.judge(e))) {
            None => Err(format!("{id} is not in a category folder")),
            Some((_, Err(r))) => Err(format!("{id}: {}", r.message)),
            Some((_, Ok(a))) if a.pending => {
                Err(format!("{id}: waits for an approver to approve it"))
            }
            Some((_, Ok(a))) if a.waiting.is_some() => Err(format!(
                "{id}: {} — try again in a few seconds",
                a.waiting.unwrap_or_default()
            )),
            Some(_) => self
                .candidates()
                .into_iter()
                .find(|c| c.id == id)
                .ok_or_else(|| format!("{id} cannot air")),
        };
        (item, changes)
    }

    /// Files unchanged for longer than `settle` already when first seen were complete
    /// before we looked (a restart, a reboot): they need not wait, and are probed now.
    pub fn settle_old(&mut self, now: DateTime<Utc>) -> Vec<Change> {
        let settle = chrono::Duration::from_std(self.settle).unwrap_or_default();
        let wall = Utc::now();
        let mut old = vec![];
        for (id, e) in self.entries.iter_mut() {
            if wall - DateTime::<Utc>::from_timestamp_nanos(e.mtime_ns) < settle {
                continue;
            }
            match &e.stage {
                Stage::Settling => {
                    e.early = true;
                    old.push(id.clone());
                }
                // Known from the index but not analysed yet: it was there before, too.
                Stage::Probed(p) if p.analysis.is_none() => e.early = true,
                _ => {}
            }
        }
        self.probe(old, now)
    }

    /// Whether any file is still settling (the caller should tick soon).
    pub fn has_settling(&self) -> bool {
        self.entries
            .values()
            .any(|e| matches!(e.stage, Stage::Settling))
    }

    /// Re-checks settling files; probes those that have settled. Returns what changed.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Change> {
        let mut ch = vec![];
        let mut ready = vec![];
        let settling: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| matches!(e.stage, Stage::Settling))
            .map(|(k, _)| k.clone())
            .collect();
        for id in settling {
            let e = self.entries.get_mut(&id).expect("listed");
            match std::fs::metadata(&e.path) {
                Err(_) => ch.extend(self.forget(&id)),
                Ok(md) => {
                    let (size, mt) = (md.len(), mtime_ns(&md));
                    if size != e.size || mt != e.mtime_ns {
                        e.size = size;
                        e.mtime_ns = mt;
                        e.since = now;
                    } else if now - e.since
                        >= chrono::Duration::from_std(self.settle).unwrap_or_default()
                    {
                        ready.push(id);
                    }
                }
            }
        }
        ch.extend(self.probe(ready, now));
        ch
    }

    /// Header probe + hash of settled files, in parallel over the machine's cores.
    fn probe(&mut self, ids: Vec<String>, now: DateTime<Utc>) -> Vec<Change> {
        if ids.is_empty() {
            return vec![];
        }
        let jobs: Vec<(String, PathBuf, u64, i64)> = ids
            .iter()
            .filter_map(|id| {
                self.entries
                    .get(id)
                    .map(|e| (id.clone(), e.path.clone(), e.size, e.mtime_ns))
            })
            .collect();
        let tz = self.tz;
        let results = parallel(&jobs, |(_, path, _, _)| probe_file(path, tz));
        let mut ch = vec![];
        let index = &self.index;
        let entries = &mut self.entries;
        let cache = &mut self.cache;
        let mut judged = vec![];
        index.batch(|index| {
            for ((id, path, size, mt), result) in jobs.into_iter().zip(results) {
                let Some(e) = entries.get_mut(&id) else {
                    continue;
                };
                // Changed while we probed: settle again.
                let now_md = std::fs::metadata(&path).ok();
                if now_md.as_ref().map(|m| (m.len(), mtime_ns(m))) != Some((size, mt)) {
                    e.since = now;
                    if let Some(m) = now_md {
                        e.size = m.len();
                        e.mtime_ns = mtime_ns(&m);
                    }
                    continue;
                }
                let old_hash = cache.get(&id).and_then(|c| c.hash.clone());
                let c = match result {
                    Ok((header, hash, sidecar)) => {
                        // New content arrived when it last changed (it has been stable since).
                        if old_hash.as_deref() != Some(hash.as_str()) && old_hash.is_some() {
                            e.arrived = e.since;
                        }
                        let c = Cached {
                            size,
                            mtime_ns: mt,
                            arrived: e.arrived,
                            hash: Some(hash.clone()),
                            header: Some(header.clone()),
                            reject: None,
                            analysis: None,
                        };
                        e.stage = Stage::Probed(Box::new(Probed {
                            hash,
                            header,
                            analysis: None,
                            sidecar,
                        }));
                        c
                    }
                    Err(r) => {
                        e.stage = Stage::Rejected(r.clone());
                        Cached {
                            size,
                            mtime_ns: mt,
                            arrived: e.arrived,
                            hash: None,
                            header: None,
                            reject: Some(r),
                            analysis: None,
                        }
                    }
                };
                let _ = index.save(&id, &c);
                cache.insert(id.clone(), c);
                judged.push(id);
            }
        });
        for id in judged {
            ch.extend(self.judge_change(&id));
        }
        ch
    }

    /// Logs and reports what a settled or re-read entry now is.
    fn judge_change(&self, id: &str) -> Vec<Change> {
        let Some(e) = self.entries.get(id) else {
            return vec![];
        };
        match self.judge(e) {
            Err(r) => {
                tracing::warn!("library: rejected {}: {}", e.path.display(), r.message);
                vec![Change::Rejected {
                    id: id.to_string(),
                    reason: r.message,
                }]
            }
            Ok(a) if a.waiting.is_none() && !a.pending => vec![Change::Ready {
                id: id.to_string(),
                category: e.category.clone(),
            }],
            Ok(_) => vec![],
        }
    }

    /// Items waiting for the full analysis, most urgent first: unknown length, emergency
    /// category, newest.
    pub fn analysis_jobs(&self) -> Vec<Job> {
        let mut jobs: Vec<(u8, DateTime<Utc>, Job)> = self
            .entries
            .iter()
            .filter_map(|(id, e)| match &e.stage {
                Stage::Probed(p) if p.analysis.is_none() => {
                    let urgent = if p.header.duration.is_none() {
                        0
                    } else if self
                        .cats
                        .iter()
                        .any(|c| c.key == e.category && c.priority == Priority::Emergency)
                    {
                        1
                    } else {
                        2
                    };
                    Some((
                        urgent,
                        e.arrived,
                        Job {
                            id: id.clone(),
                            path: e.path.clone(),
                            size: e.size,
                            mtime_ns: e.mtime_ns,
                        },
                    ))
                }
                _ => None,
            })
            .collect();
        jobs.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        jobs.into_iter().map(|j| j.2).collect()
    }

    /// Takes the result of a full analysis (ignored if the file changed meanwhile).
    pub fn apply_analysis(
        &mut self,
        job: &Job,
        result: Result<Analysis, Rejection>,
    ) -> Vec<Change> {
        let fallback = match self.entries.get(&job.id) {
            Some(e) if e.size == job.size && e.mtime_ns == job.mtime_ns => match &e.stage {
                Stage::Probed(p) => Cached {
                    size: e.size,
                    mtime_ns: e.mtime_ns,
                    arrived: e.arrived,
                    hash: Some(p.hash.clone()),
                    header: Some(p.header.clone()),
                    reject: None,
                    analysis: None,
                },
                _ => return vec![],
            },
            _ => return vec![],
        };
        let was_waiting = self.judge_entry_waiting(&job.id);
        let was_rejected = self
            .entries
            .get(&job.id)
            .is_some_and(|e| self.judge(e).is_err());
        let mut c = self.cache.get(&job.id).cloned().unwrap_or(fallback);
        let e = self.entries.get_mut(&job.id).expect("checked above");
        match result {
            Ok(a) => {
                if let Stage::Probed(p) = &mut e.stage {
                    p.analysis = Some(a.clone());
                }
                c.analysis = Some(a);
            }
            Err(r) => {
                e.stage = Stage::Rejected(r.clone());
                c.reject = Some(r);
            }
        }
        let _ = self.index.save(&job.id, &c);
        self.cache.insert(job.id.clone(), c);
        match self.entries.get(&job.id).map(|e| self.judge(e)) {
            // Rejected now, and not already (each rejection is logged once).
            Some(Err(_)) if !was_rejected => self.judge_change(&job.id),
            Some(Ok(a)) if a.waiting.is_none() && was_waiting => self.judge_change(&job.id),
            _ => vec![],
        }
    }

    fn judge_entry_waiting(&self, id: &str) -> bool {
        self.entries
            .get(id)
            .map(|e| matches!(self.judge(e), Ok(a) if a.waiting.is_some()))
            .unwrap_or(false)
    }

    /// Whether an entry can air, and what it is if so.
    fn judge(&self, e: &Entry) -> Result<Airable, Rejection> {
        let cat = self.cats.iter().find(|c| c.key == e.category);
        let p = match &e.stage {
            Stage::Settling => {
                return Ok(Airable {
                    title: crate::item::title_from_name(&e.path),
                    duration: Duration::ZERO,
                    valid_from: e.arrived,
                    valid_until: None,
                    priority: Priority::Normal,
                    gain_db: 0.0,
                    from_arrival: true,
                    waiting: Some(format!(
                        "new or changed: waits until unchanged for {}",
                        crate::config::format_duration(self.settle)
                    )),
                    pending: false,
                })
            }
            Stage::Rejected(r) => return Err(r.clone()),
            Stage::Probed(p) => p,
        };
        let side = match &p.sidecar {
            Err(msg) => return Err(Rejection::new("bad_sidecar", msg.clone())),
            Ok(s) => s.clone().unwrap_or(ReadSidecar {
                title: None,
                valid_from: None,
                valid_until: None,
                priority: None,
                note: None,
                approved: None,
            }),
        };
        let pending = side.approved == Some(false)
            || (cat.is_some_and(|c| c.approval) && side.approved != Some(true));
        let duration = p
            .analysis
            .as_ref()
            .map(|a| a.duration)
            .or(p.header.duration);
        let mut waiting = None;
        if let Some(d) = duration {
            if d < MIN_LENGTH {
                return Err(Rejection::new(
                    "too_short",
                    format!(
                        "it lasts {:.1}s; items must last at least 1 s",
                        d.as_secs_f64()
                    ),
                ));
            }
            if let Some(max) = cat.and_then(|c| c.max_length) {
                if d > max {
                    return Err(Rejection::new(
                        "too_long",
                        format!(
                            "it lasts {} but category `{}` allows at most {}; shorten it or raise max_length",
                            crate::config::format_duration(d),
                            e.category,
                            crate::config::format_duration(max)
                        ),
                    ));
                }
            }
        } else {
            waiting = Some("measuring its length (the header does not say)".to_string());
        }
        if p.analysis.is_none() && !e.early && waiting.is_none() {
            waiting = Some("checking that it plays to its end and is not silent".to_string());
        }
        if let Some(a) = &p.analysis {
            if a.peak_db < SILENT_DB {
                return Err(Rejection::new(
                    "silent",
                    format!(
                        "it is silent (peak {:.0} dBFS); check the recording",
                        a.peak_db
                    ),
                ));
            }
        }
        let gain_db = match (&p.analysis, cat) {
            (
                Some(Analysis {
                    lufs: Some(l),
                    peak_db,
                    ..
                }),
                Some(c),
            ) => (c.loudness - l).min(PEAK_CEILING_DB - peak_db),
            (_, Some(c)) => {
                if self.wait_for_loudness && waiting.is_none() {
                    waiting = Some("waiting for its loudness to be measured".into());
                }
                c.gain_db
            }
            _ => 0.0,
        };
        let stem = nfc(&e
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default());
        let name_date =
            crate::item::leading_date(&stem).map(|(d, _)| local::start_of_day(d, self.tz));
        let from_arrival = side.valid_from.is_none() && name_date.is_none();
        let valid_from = side.valid_from.or(name_date).unwrap_or(e.arrived);
        let valid_until = side.valid_until.or_else(|| {
            cat.and_then(|c| c.max_age)
                .map(|a| valid_from + chrono::Duration::from_std(a).unwrap_or_default())
        });
        Ok(Airable {
            title: side
                .title
                .or_else(|| p.header.title.as_deref().map(nfc))
                .unwrap_or_else(|| crate::item::title_from_name(&e.path)),
            duration: duration.unwrap_or_default(),
            valid_from,
            valid_until,
            priority: side
                .priority
                .or(cat.map(|c| c.priority))
                .unwrap_or_default(),
            gain_db,
            from_arrival,
            waiting,
            pending,
        })
    }

    /// Every file as `loaxa library` lists it, judged at `now`.
    pub fn views(&self, now: DateTime<Utc>) -> Vec<ItemView> {
        self.entries
            .iter()
            .map(|(id, e)| {
                let (probed, hash) = match &e.stage {
                    Stage::Probed(p) => (Some(p.as_ref()), Some(p.hash.clone())),
                    _ => (None, None),
                };
                let analysis = probed.and_then(|p| p.analysis.as_ref());
                let base = ItemView {
                    path: id.clone(),
                    category: e.category.clone(),
                    title: crate::item::title_from_name(&e.path),
                    duration_ms: None,
                    lufs: analysis.and_then(|a| a.lufs),
                    peak_db: analysis.map(|a| a.peak_db),
                    valid_from: None,
                    valid_until: None,
                    state: State::Rejected,
                    reason: None,
                    reason_code: None,
                    codec: probed.map(|p| p.header.codec.clone()),
                    hash,
                };
                match self.judge(e) {
                    Err(r) => ItemView {
                        reason: Some(r.message),
                        reason_code: Some(r.code),
                        ..base
                    },
                    Ok(a) => {
                        let (state, reason) = if let Some(w) = a.waiting {
                            (State::Settling, Some(w))
                        } else if a.pending {
                            (
                                State::Pending,
                                Some("waits for an approver to approve it".to_string()),
                            )
                        } else if now < a.valid_from {
                            (
                                State::NotYetValid,
                                Some(format!(
                                    "airs from {}",
                                    local::datetime_vi(a.valid_from, self.tz)
                                )),
                            )
                        } else if a.valid_until.is_some_and(|u| now >= u) {
                            (
                                State::Expired,
                                Some(format!(
                                    "expired {}",
                                    local::datetime_vi(a.valid_until.unwrap_or(now), self.tz)
                                )),
                            )
                        } else {
                            (State::Ready, None)
                        };
                        let settled = !matches!(e.stage, Stage::Settling);
                        ItemView {
                            title: a.title,
                            duration_ms: (!a.duration.is_zero())
                                .then_some(a.duration.as_millis() as u64),
                            valid_from: settled.then(|| local::rfc3339(a.valid_from, self.tz)),
                            valid_until: a
                                .valid_until
                                .filter(|_| settled)
                                .map(|u| local::rfc3339(u, self.tz)),
                            state,
                            reason,
                            ..base
                        }
                    }
                }
            })
            .collect()
    }

    /// The airable items (whatever their validity window) for the scheduler.
    pub fn candidates(&self) -> Vec<Item> {
        self.entries
            .iter()
            .filter_map(|(id, e)| {
                let Stage::Probed(p) = &e.stage else {
                    return None;
                };
                let a = self
                    .judge(e)
                    .ok()
                    .filter(|a| a.waiting.is_none() && !a.pending)?;
                Some(Item {
                    id: id.clone(),
                    path: e.path.clone(),
                    category: e.category.clone(),
                    title: a.title,
                    duration: a.duration,
                    valid_from: a.valid_from,
                    valid_until: a.valid_until,
                    priority: a.priority,
                    hash: p.hash.clone(),
                    gain_db: a.gain_db,
                    from_arrival: a.from_arrival,
                    rate: p.header.sample_rate,
                    modified: DateTime::<Utc>::from_timestamp_nanos(e.mtime_ns),
                })
            })
            .collect()
    }

    /// A one-shot view for the CLI: scans, treats files whose mtime is older than `settle`
    /// as settled (it cannot watch them over time), probes them, and optionally analyses
    /// what is not yet analysed.
    pub fn snapshot(config: &Config, now: DateTime<Utc>, analyse: bool) -> Library {
        let mut lib = Library::open(config);
        lib.scan(now);
        lib.settle_old(now);
        if analyse {
            let jobs = lib.analysis_jobs();
            let results = parallel(&jobs, |j| probe::analyse(&j.path));
            for (j, r) in jobs.iter().zip(results) {
                lib.apply_analysis(j, r);
            }
        }
        lib
    }
}

/// A full-analysis job.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
}

type ProbeResult = Result<(Header, String, Result<Option<ReadSidecar>, String>), Rejection>;

fn probe_file(path: &Path, tz: Tz) -> ProbeResult {
    let header = probe::header(path)?;
    let hash = hash_file(path)
        .map_err(|e| Rejection::new("unreadable", format!("cannot read the file: {e}")))?;
    Ok((header, hash, read_meta(path, tz)))
}

fn read_meta(path: &Path, tz: Tz) -> Result<Option<ReadSidecar>, String> {
    match meta::sidecar_path(path) {
        None => Ok(None),
        Some(s) => meta::read_sidecar(&s, tz).map(Some),
    }
}

/// BLAKE3 of the file's bytes: the content's identity in the airtime log.
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut h = blake3::Hasher::new();
    h.update_reader(crate::media::open_file(path)?)?;
    Ok(h.finalize().to_hex().to_string())
}

/// Runs `f` over `items` on all cores, keeping order.
fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len().max(1));
    if n <= 1 || items.len() < 4 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("probe thread"))
            .collect()
    })
}

/// What a walk of the hot folders found.
enum Found {
    File(PathBuf, std::fs::Metadata),
    /// Something that is not an airable file (a pipe, a broken link, a folder that cannot
    /// be read…), with why. Never opened.
    Odd(PathBuf, Rejection),
}

/// What a path is, without opening it (a named pipe blocks whoever opens it).
enum Node {
    File(std::fs::Metadata),
    Dir,
    Odd(Rejection),
}

/// Classifies `path`; None when it is gone. Links are followed only inside `root`.
fn node(path: &Path, root: &Path) -> Option<Node> {
    let lmd = std::fs::symlink_metadata(path).ok()?;
    let md = if lmd.file_type().is_symlink() {
        let target = match std::fs::canonicalize(path) {
            Ok(t) => t,
            Err(e) => {
                return Some(Node::Odd(Rejection::new(
                    "broken_link",
                    format!(
                        "a link that leads nowhere ({e}); remove it, or put the file itself here"
                    ),
                )))
            }
        };
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        if !target.starts_with(&root) {
            return Some(Node::Odd(Rejection::new(
                "link_outside",
                format!(
                    "a link to {}, outside the audio folder; copy the file itself here",
                    target.display()
                ),
            )));
        }
        match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                return Some(Node::Odd(Rejection::new(
                    "broken_link",
                    format!("a link that cannot be followed ({e})"),
                )))
            }
        }
    } else {
        lmd
    };
    Some(if md.is_dir() {
        Node::Dir
    } else if md.is_file() {
        Node::File(md)
    } else {
        Node::Odd(Rejection::new(
            "not_a_file",
            "not a regular file (a pipe, a socket or a device); loaxa never opens it — remove it",
        ))
    })
}

/// Everything under `dir`: files, odd things and unreadable folders. `seen` holds the
/// folders already walked, so a link back up cannot loop.
fn walk(
    dir: &Path,
    root: &Path,
    out: &mut Vec<Found>,
    seen: &mut std::collections::HashSet<PathBuf>,
) {
    let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !seen.insert(real) {
        return;
    }
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            out.push(Found::Odd(
                dir.to_path_buf(),
                Rejection::new(
                    "unreadable_folder",
                    format!("this folder cannot be read ({e}); give the `loaxa` user read access: `chmod -R g+rX` and `chgrp -R loaxa`"),
                ),
            ));
            return;
        }
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = e.path();
        match node(&path, root) {
            Some(Node::Dir) => walk(&path, root, out, seen),
            Some(Node::File(md)) if !meta::ignored(&name) => out.push(Found::File(path, md)),
            Some(Node::Odd(r)) if !meta::ignored(&name) => out.push(Found::Odd(path, r)),
            _ => {}
        }
    }
}
