//! The live library for the daemon: a thread that owns the [`Library`], fed by an inotify
//! watcher (notify) and a periodic rescan (network shares send no inotify events), and a
//! low-priority thread for full analyses, so probing never delays playout.
//!
//! Raw notify events are enough: the library's own settle rule already waits for a file to
//! stop changing, and a debouncer's thread would wake several times a second for ever.
//! What it knows is published as an immutable [`Snapshot`]; changes go to a callback.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use notify::{EventKind, RecursiveMode, Watcher as _};

use super::{Change, ItemView, Job, Library};
use crate::clock::Clock;
use crate::config::Config;
use crate::item::Item;
use crate::media::probe::{self, Analysis, Rejection};

/// How often settling files are re-checked.
const TICK: Duration = Duration::from_millis(100);
/// Small changes (an analysis done) are published at most this often.
const PUBLISH: Duration = Duration::from_secs(1);
/// File events arriving within this long of the first are handled as one batch.
const GATHER: Duration = Duration::from_millis(100);
/// A full rescan as a safety net for lost or unsupported watch events.
const RESCAN: Duration = Duration::from_secs(30);

/// What the library knows at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub candidates: Vec<Item>,
    pub views: Vec<ItemView>,
    pub counts: BTreeMap<&'static str, usize>,
    pub at: DateTime<Utc>,
}

impl Snapshot {
    fn of(lib: &Library, now: DateTime<Utc>) -> Snapshot {
        let candidates = lib.candidates();
        let views = lib.views(now);
        let mut counts = BTreeMap::new();
        for v in &views {
            *counts.entry(v.state.as_str()).or_default() += 1;
        }
        Snapshot {
            candidates,
            views,
            counts,
            at: now,
        }
    }
}

/// A cheap, cloneable view of the running library's latest snapshot.
#[derive(Clone)]
pub struct SnapshotReader(Arc<Mutex<Arc<Snapshot>>>);

impl SnapshotReader {
    pub fn get(&self) -> Arc<Snapshot> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

enum Msg {
    Fs(Vec<PathBuf>, bool),
    Analysed(Job, Result<Analysis, Rejection>),
    Reload(Box<Config>),
    Ingest(PathBuf, Box<dyn FnOnce(Result<Item, String>) + Send>),
    Stop,
}

/// The running library.
pub struct Service {
    snapshot: Arc<Mutex<Arc<Snapshot>>>,
    tx: mpsc::Sender<Msg>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Service {
    /// Scans, starts watching and returns once the first snapshot is published.
    pub fn spawn(
        config: &Config,
        clock: Arc<dyn Clock>,
        on_change: impl Fn(Change) + Send + 'static,
    ) -> Service {
        let (tx, rx) = mpsc::channel::<Msg>();
        let mut lib = Library::open(config);
        for f in lib.folders() {
            if !f.exists() {
                match std::fs::create_dir_all(&f) {
                    Ok(()) if f.ends_with(super::PLAY_NOW) => {}
                    Ok(()) => {
                        tracing::warn!("library: folder {} did not exist; created it", f.display())
                    }
                    Err(e) => tracing::warn!(
                        "library: folder {} does not exist and cannot be created: {e}",
                        f.display()
                    ),
                }
            }
        }
        // Watch first, then scan: a file arriving in between is seen by one or the other.
        let watcher = watch(&lib, &tx);
        let now = clock.now();
        lib.scan(now);
        // What was there before the start is airable at once: a catch-up or a programme
        // due in the first seconds must find it.
        lib.settle_old(now);
        lib.tick(now);
        let snapshot = Arc::new(Mutex::new(Arc::new(Snapshot::of(&lib, now))));
        let shared = snapshot.clone();
        let tx2 = tx.clone();
        let thread = std::thread::Builder::new()
            .name("library".into())
            .spawn(move || run(lib, watcher, clock, rx, tx2, shared, on_change))
            .expect("spawn library thread");
        Service {
            snapshot,
            tx,
            thread: Some(thread),
        }
    }

    /// What the library knows now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A view of the latest snapshot that other threads and transports can hold.
    pub fn reader(&self) -> SnapshotReader {
        SnapshotReader(self.snapshot.clone())
    }

    /// Takes a complete file now (see [`Library::ingest`]); `done` gets its item, or why
    /// not, on the library's thread once it is published.
    pub fn ingest(&self, path: PathBuf, done: impl FnOnce(Result<Item, String>) + Send + 'static) {
        if let Err(mpsc::SendError(Msg::Ingest(_, done))) =
            self.tx.send(Msg::Ingest(path, Box::new(done)))
        {
            done(Err("the library has stopped".into()));
        }
    }

    pub fn reload(&self, config: &Config) {
        let _ = self.tx.send(Msg::Reload(Box::new(config.clone())));
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type Watcher = notify::RecommendedWatcher;

fn watch(lib: &Library, tx: &mpsc::Sender<Msg>) -> Option<Watcher> {
    let tx = tx.clone();
    let mut d = match notify::recommended_watcher(move |r: notify::Result<notify::Event>| {
        match r {
            // Opening and reading (our own scans, players) change nothing; reacting to them
            // would make every scan trigger the next.
            Ok(e) if matches!(e.kind, EventKind::Access(_)) => {}
            Ok(e) => {
                let rescan = e.need_rescan();
                if !e.paths.is_empty() || rescan {
                    let _ = tx.send(Msg::Fs(e.paths, rescan));
                }
            }
            Err(e) => {
                tracing::warn!("library watcher: {e}");
                let _ = tx.send(Msg::Fs(vec![], true));
            }
        }
    }) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(
                "library: cannot watch folders ({e}); checking them every {}s instead",
                RESCAN.as_secs()
            );
            return None;
        }
    };
    let dir = lib.audio_dir().to_path_buf();
    if let Err(e) = d.watch(&dir, RecursiveMode::NonRecursive) {
        tracing::warn!(
            "library: cannot watch {} ({e}); checking it every {}s instead",
            dir.display(),
            RESCAN.as_secs()
        );
        return Some(d);
    }
    add_watches(&mut d, &dir);
    Some(d)
}

/// Watches every readable folder under `dir`, each on its own: a recursive watch fails
/// whole when one sub-folder cannot be read, and one folder must not turn off watching for
/// all the others. A folder that cannot be read is reported by the library's scan.
fn add_watches(w: &mut Watcher, dir: &std::path::Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir || e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let p = e.path();
        if w.watch(&p, RecursiveMode::NonRecursive).is_ok() {
            add_watches(w, &p);
        }
    }
}

fn run(
    mut lib: Library,
    mut watcher: Option<Watcher>,
    clock: Arc<dyn Clock>,
    rx: mpsc::Receiver<Msg>,
    tx: mpsc::Sender<Msg>,
    shared: Arc<Mutex<Arc<Snapshot>>>,
    on_change: impl Fn(Change),
) {
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let res_tx = tx.clone();
    let analyser = std::thread::Builder::new()
        .name("analysis".into())
        .spawn(move || {
            lower_priority();
            for job in job_rx {
                let r = probe::analyse(&job.path);
                if res_tx.send(Msg::Analysed(job, r)).is_err() {
                    break;
                }
            }
        })
        .expect("spawn analysis thread");
    let mut busy = false;
    let mut last_scan = std::time::Instant::now();
    let mut last_publish = std::time::Instant::now();
    let mut dirty = false;
    let mut deferred = std::collections::VecDeque::new();
    loop {
        let mut changes = vec![];
        // Tick often only while files settle or an analysis runs; otherwise sleep until an
        // event or the next rescan (an idle station should cost nothing).
        let wait = if busy || lib.has_settling() {
            TICK
        } else if dirty {
            // Something is not published yet: come back when it is due.
            PUBLISH.saturating_sub(last_publish.elapsed()).max(TICK)
        } else {
            RESCAN.saturating_sub(last_scan.elapsed()).max(TICK)
        };
        let msg = match deferred.pop_front() {
            Some(m) => Ok(m),
            None => rx.recv_timeout(wait),
        };
        match msg {
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Ok(Msg::Fs(paths, rescan)) => {
                // A copy sends an event per write: gather what comes in the next moment
                // as one batch (other messages wait their turn in order).
                let mut rescan = rescan;
                let mut paths: std::collections::BTreeSet<PathBuf> = paths.into_iter().collect();
                let until = std::time::Instant::now() + GATHER;
                while let Ok(m) =
                    rx.recv_timeout(until.saturating_duration_since(std::time::Instant::now()))
                {
                    match m {
                        Msg::Fs(p, r) => {
                            rescan |= r;
                            paths.extend(p);
                        }
                        other => deferred.push_back(other),
                    }
                }
                let now = clock.now();
                if let Some(w) = watcher.as_mut() {
                    for p in paths.iter().filter(|p| p.is_dir()) {
                        if w.watch(p, RecursiveMode::NonRecursive).is_ok() {
                            add_watches(w, p);
                        }
                    }
                }
                if rescan {
                    changes.extend(lib.scan(now));
                }
                for p in paths {
                    changes.extend(lib.touch(&p, now));
                }
                dirty = true;
            }
            Ok(Msg::Analysed(job, r)) => {
                busy = false;
                changes.extend(lib.apply_analysis(&job, r));
                dirty = true;
            }
            Ok(Msg::Reload(config)) => {
                lib.set_config(&config);
                drop(watcher.take());
                watcher = watch(&lib, &tx);
                changes.extend(lib.scan(clock.now()));
                dirty = true;
            }
            Ok(Msg::Ingest(path, done)) => {
                let (item, ch) = lib.ingest(&path, clock.now());
                changes.extend(ch);
                // Published before the answer: whoever acts on it finds it in the snapshot.
                *shared.lock().unwrap_or_else(|e| e.into_inner()) =
                    Arc::new(Snapshot::of(&lib, clock.now()));
                last_publish = std::time::Instant::now();
                done(item);
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        let now = clock.now();
        if last_scan.elapsed() >= RESCAN {
            last_scan = std::time::Instant::now();
            // A folder that became readable is watched from now on.
            if let Some(w) = watcher.as_mut() {
                add_watches(w, lib.audio_dir());
            }
            changes.extend(lib.scan(now));
            dirty = true;
        }
        let ticked = lib.tick(now);
        dirty |= !ticked.is_empty();
        changes.extend(ticked);
        if !busy {
            if let Some(job) = lib.analysis_jobs().into_iter().next() {
                busy = job_tx.send(job).is_ok();
            }
        }
        // Publish at once when something became airable or went; otherwise at most once a
        // second (a cold start analyses thousands of files, each a small change).
        if !changes.is_empty() || (dirty && last_publish.elapsed() >= PUBLISH) {
            last_publish = std::time::Instant::now();
            *shared.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(Snapshot::of(&lib, now));
            dirty = false;
        }
        for c in changes {
            on_change(c);
        }
    }
    drop(job_tx);
    let _ = analyser.join();
}

/// Full analyses run at the lowest CPU priority: they must never take time from playout.
fn lower_priority() {
    // SAFETY: setpriority on our own thread id; no memory is passed.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
    }
}
