//! The airtime log: one row per airing, durable across power cuts. This module owns the
//! schema and every write; export and the monthly report read through it.
//!
//! SQLite in WAL mode with `synchronous=FULL`: a row's start and its end are each committed
//! before the call returns, so a power cut loses at most the progress since the last
//! heartbeat, never a finished row.

pub mod export;
pub mod journal;
pub mod report;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::config::Priority;

/// The log's file name inside the state folder.
pub const FILE_NAME: &str = "airtime.db";

/// How often the daemon records the progress of the item on air.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("airtime log {path}: {source}")]
    Db {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("airtime log {path} was written by a newer loaxa (schema {found}, this one knows {known}); upgrade loaxa")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cannot create the state folder {path}: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

/// What set an airing off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Schedule,
    Manual,
    Emergency,
    CatchUp,
}

/// Where an airing stands. `Playing` rows are open; every other status is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Playing,
    Completed,
    Interrupted,
    Failed,
    Skipped,
    Missed,
}

macro_rules! str_enum {
    ($t:ty { $($v:ident = $s:literal),* $(,)? }) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)* _ => None }
            }
        }
    };
}
str_enum!(Trigger { Schedule = "schedule", Manual = "manual", Emergency = "emergency", CatchUp = "catch_up" });
str_enum!(Status {
    Playing = "playing",
    Completed = "completed",
    Interrupted = "interrupted",
    Failed = "failed",
    Skipped = "skipped",
    Missed = "missed",
});

impl Status {
    /// Vietnamese label for reports and exports.
    pub fn vi(self) -> &'static str {
        match self {
            Status::Playing => "đang phát",
            Status::Completed => "đã phát xong",
            Status::Interrupted => "bị ngắt",
            Status::Failed => "lỗi",
            Status::Skipped => "bỏ qua",
            Status::Missed => "bỏ lỡ",
        }
    }
}

impl Trigger {
    pub fn vi(self) -> &'static str {
        match self {
            Trigger::Schedule => "theo lịch",
            Trigger::Manual => "phát tay",
            Trigger::Emergency => "khẩn cấp",
            Trigger::CatchUp => "phát bù",
        }
    }
}

/// What is known about an airing when it is written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewAiring {
    pub programme: Option<String>,
    pub category: Option<String>,
    pub priority: Priority,
    pub trigger: Option<Trigger>,
    pub item_path: Option<String>,
    pub title: Option<String>,
    pub content_hash: Option<String>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub planned: Option<Duration>,
}

/// One row of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Airing {
    pub id: i64,
    pub programme: Option<String>,
    pub category: Option<String>,
    pub priority: Priority,
    pub trigger: Trigger,
    pub item_path: Option<String>,
    pub title: Option<String>,
    pub content_hash: Option<String>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub planned: Option<Duration>,
    pub played: Option<Duration>,
    pub status: Status,
    pub reason: Option<String>,
    /// The reason in Vietnamese, where the station wrote one.
    pub reason_vi: Option<String>,
    /// What the output measured while it aired: integrated loudness (LUFS), sample peak
    /// (dBFS) and the longest silence in it.
    pub lufs: Option<f64>,
    pub peak_db: Option<f64>,
    pub longest_silence: Option<Duration>,
    /// A relay's window, what aired in each stretch of it (JSON, see
    /// `playout::note::RelaySummary`).
    pub detail: Option<String>,
}

impl Airing {
    /// The reason a person reads: Vietnamese when there is one.
    pub fn reason_for_people(&self) -> Option<&str> {
        self.reason_vi.as_deref().or(self.reason.as_deref())
    }

    /// The instant the airing belongs to: when it started, else when it was due.
    pub fn at(&self) -> Option<DateTime<Utc>> {
        self.started_at.or(self.scheduled_at)
    }
}

/// Each schema step, applied in order; `PRAGMA user_version` counts the ones applied.
const MIGRATIONS: &[&str] = &[
    // 1: the airings table.
    "CREATE TABLE airings (
        id INTEGER PRIMARY KEY,
        programme TEXT,
        category TEXT,
        priority TEXT NOT NULL DEFAULT 'normal',
        trigger TEXT NOT NULL,
        item_path TEXT,
        title TEXT,
        content_hash TEXT,
        scheduled_at INTEGER,
        started_at INTEGER,
        ended_at INTEGER,
        planned_ms INTEGER,
        played_ms INTEGER,
        status TEXT NOT NULL,
        reason TEXT
    );
    CREATE INDEX airings_started ON airings(started_at);",
    // 2: heartbeats (power-cut recovery), lookups by item and open rows, and the station's
    // own events (start, stop, device lost) for `status` and `doctor`.
    // `at` is when the airing belongs (its start, else when it was due): the one column
    // exports, reports and month boundaries select and sort on.
    "ALTER TABLE airings ADD COLUMN heartbeat_at INTEGER;
    ALTER TABLE airings ADD COLUMN at INTEGER;
    UPDATE airings SET at = COALESCE(started_at, scheduled_at);
    CREATE INDEX airings_at ON airings(at, id);
    CREATE INDEX airings_item ON airings(item_path, started_at);
    CREATE INDEX airings_open ON airings(status) WHERE status = 'playing';
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        level TEXT NOT NULL,
        message TEXT NOT NULL
    );",
    // 3: the reason in Vietnamese beside the technician's English one (the report and the
    // console show it), and what the station had cued and owed when it last wrote (so a
    // restart after a crash or a power cut resumes it).
    "ALTER TABLE airings ADD COLUMN reason_vi TEXT;
    CREATE TABLE station_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        at INTEGER NOT NULL,
        state TEXT NOT NULL
    );",
    // 4: what the output measured while the airing went out (proof of what aired).
    "ALTER TABLE airings ADD COLUMN lufs REAL;
    ALTER TABLE airings ADD COLUMN peak_db REAL;
    ALTER TABLE airings ADD COLUMN silence_ms INTEGER;",
    // 5: what a relay's window was made of (JSON: the stream, bytes, each stretch and
    // which fallback aired in it and why).
    "ALTER TABLE airings ADD COLUMN detail TEXT;",
    // 6: who may use the console and the API, and the audit trail of what they did
    // (see `access`).
    "CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        changed_at INTEGER NOT NULL
    );
    CREATE TABLE tokens (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        who TEXT NOT NULL,
        via TEXT NOT NULL,
        address TEXT,
        action TEXT NOT NULL,
        target TEXT,
        outcome TEXT NOT NULL
    );
    CREATE INDEX audit_at ON audit(at, id);",
];

/// The reason of an airing a crash or a power cut cut short, closed at the next start.
pub const STOPPED_UNEXPECTEDLY: &str = "daemon stopped unexpectedly";
/// The same, for the people who read the report.
pub const STOPPED_UNEXPECTEDLY_VI: &str = "phần mềm dừng đột ngột (mất điện hoặc lỗi máy)";

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The airtime log of one station.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: Option<i64>) -> Option<DateTime<Utc>> {
    v.and_then(|m| Utc.timestamp_millis_opt(m).single())
}

fn dur_ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

impl Store {
    /// Opens (creating if needed) the log at `path` for writing, migrating its schema.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Folder {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        Self::open_with(path, SCHEMA_VERSION)
    }

    /// Opens at a given schema version (tests build "previous schema" files with this).
    #[doc(hidden)]
    pub fn open_with(path: &Path, version: i64) -> Result<Store> {
        let db = |source| Error::Db {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate(version)?;
        Ok(store)
    }

    /// Opens an existing log for reading only (export, report, log while the daemon runs).
    pub fn open_readonly(path: &Path) -> Result<Store> {
        let db = |source| Error::Db {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(db)?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        let v = store.version()?;
        if v > SCHEMA_VERSION {
            return Err(Error::TooNew {
                path: path.to_path_buf(),
                found: v,
                known: SCHEMA_VERSION,
            });
        }
        if v < SCHEMA_VERSION {
            // An old file opened read-only: migrate a writable handle first.
            drop(store);
            drop(Store::open(path)?);
            return Store::open_readonly(path);
        }
        Ok(store)
    }

    fn db(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        move |source| Error::Db {
            path: self.path.clone(),
            source,
        }
    }

    /// The connection, for the other tables of the station's database (`access`).
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn db_error(&self, source: rusqlite::Error) -> Error {
        Error::Db {
            path: self.path.clone(),
            source,
        }
    }

    pub fn version(&self) -> Result<i64> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(self.db())
    }

    fn migrate(&mut self, target: i64) -> Result<()> {
        let v = self.version()?;
        if v > SCHEMA_VERSION {
            return Err(Error::TooNew {
                path: self.path.clone(),
                found: v,
                known: SCHEMA_VERSION,
            });
        }
        let path = self.path.clone();
        let db = move |source| Error::Db {
            path: path.clone(),
            source,
        };
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .take(target as usize)
            .skip(v as usize)
        {
            let tx = self.conn.transaction().map_err(&db)?;
            tx.execute_batch(sql).map_err(&db)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(&db)?;
            tx.commit().map_err(&db)?;
        }
        Ok(())
    }

    /// Writes an airing that starts now (`playing`); returns its id.
    pub fn start(&self, a: &NewAiring, started_at: DateTime<Utc>) -> Result<i64> {
        self.insert(a, Some(started_at), Status::Playing, None, None)
    }

    /// Writes an airing that never started (`skipped`, `missed`, `failed`) with its reason.
    pub fn record(&self, a: &NewAiring, status: Status, reason: &str) -> Result<i64> {
        self.insert(a, None, status, Some(reason), None)
    }

    /// [`Store::record`] with the reason in Vietnamese too.
    pub fn record_vi(
        &self,
        a: &NewAiring,
        status: Status,
        reason: &str,
        reason_vi: &str,
    ) -> Result<i64> {
        self.insert(a, None, status, Some(reason), Some(reason_vi))
    }

    fn insert(
        &self,
        a: &NewAiring,
        started: Option<DateTime<Utc>>,
        status: Status,
        reason: Option<&str>,
        reason_vi: Option<&str>,
    ) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO airings (programme, category, priority, trigger, item_path, title, content_hash,
                    scheduled_at, started_at, planned_ms, played_ms, status, reason, heartbeat_at, at, reason_vi)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?9, COALESCE(?9, ?8), ?14)",
                params![
                    a.programme,
                    a.category,
                    a.priority.as_str(),
                    a.trigger.unwrap_or(Trigger::Schedule).as_str(),
                    a.item_path,
                    a.title,
                    a.content_hash,
                    a.scheduled_at.map(ms),
                    started.map(ms),
                    a.planned.map(dur_ms),
                    started.map(|_| 0i64),
                    status.as_str(),
                    reason,
                    reason_vi,
                ],
            )
            .map_err(self.db())?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records the progress of an airing on air (called every [`HEARTBEAT`]).
    pub fn heartbeat(&self, id: i64, played: Duration, at: DateTime<Utc>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE airings SET played_ms = ?2, heartbeat_at = ?3 WHERE id = ?1 AND status = 'playing'",
                params![id, dur_ms(played), ms(at)],
            )
            .map_err(self.db())?;
        Ok(())
    }

    /// Closes an airing with its final status.
    pub fn finish(
        &self,
        id: i64,
        status: Status,
        ended_at: DateTime<Utc>,
        played: Duration,
        reason: Option<&str>,
    ) -> Result<()> {
        self.finish_vi(id, status, ended_at, played, reason, None)
    }

    /// [`Store::finish`] with the reason in Vietnamese too.
    pub fn finish_vi(
        &self,
        id: i64,
        status: Status,
        ended_at: DateTime<Utc>,
        played: Duration,
        reason: Option<&str>,
        reason_vi: Option<&str>,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE airings SET status = ?2, ended_at = ?3, played_ms = ?4, reason = ?5, heartbeat_at = ?3,
                    reason_vi = ?6
                 WHERE id = ?1 AND status = 'playing'",
                params![id, status.as_str(), ms(ended_at), dur_ms(played), reason, reason_vi],
            )
            .map_err(self.db())?;
        Ok(())
    }

    /// Closes every row a crash left `playing` as `interrupted`, its played duration the
    /// last heartbeat's. Called once when the daemon starts; returns how many.
    pub fn recover(&self) -> Result<usize> {
        self.conn
            .execute(
                "UPDATE airings SET status = 'interrupted',
                    reason = ?1, reason_vi = ?2,
                    ended_at = COALESCE(heartbeat_at, started_at)
                 WHERE status = 'playing'",
                params![STOPPED_UNEXPECTEDLY, STOPPED_UNEXPECTEDLY_VI],
            )
            .map_err(self.db())
    }

    /// What the output measured while airing `id` went out.
    pub fn set_measures(
        &self,
        id: i64,
        lufs: Option<f64>,
        peak_db: f64,
        longest_silence: Duration,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE airings SET lufs = ?2, peak_db = ?3, silence_ms = ?4 WHERE id = ?1",
                params![id, lufs, peak_db, dur_ms(longest_silence)],
            )
            .map_err(self.db())?;
        Ok(())
    }

    /// Keeps what a relay's window was made of in its row.
    pub fn set_detail(&self, id: i64, detail: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE airings SET detail = ?2 WHERE id = ?1",
                params![id, detail],
            )
            .map_err(self.db())?;
        Ok(())
    }

    /// Writes what the station owes (JSON, see `station::Saved`), replacing the last.
    pub fn save_state(&self, at: DateTime<Utc>, state: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO station_state (id, at, state) VALUES (1, ?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET at = ?1, state = ?2",
                params![ms(at), state],
            )
            .map_err(self.db())?;
        Ok(())
    }

    /// What the station owed when it last wrote it, and when.
    pub fn load_state(&self) -> Result<Option<(DateTime<Utc>, String)>> {
        self.conn
            .query_row(
                "SELECT at, state FROM station_state WHERE id = 1",
                [],
                |r| Ok((from_ms(r.get(0)?).unwrap_or_default(), r.get(1)?)),
            )
            .optional()
            .map_err(self.db())
    }

    /// A station event (daemon start, device lost, …) for `status` and `doctor`.
    pub fn event(&self, at: DateTime<Utc>, level: &str, message: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO events (at, level, message) VALUES (?1, ?2, ?3)",
                params![ms(at), level, message],
            )
            .map_err(self.db())?;
        Ok(())
    }

    /// The latest event at `level`, if any.
    pub fn last_event(&self, level: &str) -> Result<Option<(DateTime<Utc>, String)>> {
        self.conn
            .query_row(
                "SELECT at, message FROM events WHERE level = ?1 ORDER BY id DESC LIMIT 1",
                [level],
                |r| Ok((from_ms(r.get(0)?).unwrap_or_default(), r.get(1)?)),
            )
            .optional()
            .map_err(self.db())
    }

    /// When each item last went to air (for `rotate`), by item path.
    pub fn last_aired(&self) -> Result<std::collections::HashMap<String, DateTime<Utc>>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT item_path, MAX(started_at) FROM airings
                 WHERE item_path IS NOT NULL AND started_at IS NOT NULL AND status IN ('completed', 'interrupted', 'playing')
                 GROUP BY item_path",
            )
            .map_err(self.db())?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, from_ms(r.get(1)?))))
            .map_err(self.db())?;
        let mut out = std::collections::HashMap::new();
        for r in rows {
            let (p, t) = r.map_err(self.db())?;
            if let Some(t) = t {
                out.insert(p, t);
            }
        }
        Ok(out)
    }

    /// When the station was last known to be running: its latest event, heartbeat or row.
    pub fn last_seen(&self) -> Result<Option<DateTime<Utc>>> {
        let v: Option<i64> = self
            .conn
            .query_row(
                "SELECT MAX(t) FROM (
                    SELECT MAX(at) AS t FROM events
                    UNION ALL SELECT MAX(COALESCE(ended_at, heartbeat_at, at)) FROM airings)",
                [],
                |r| r.get(0),
            )
            .map_err(self.db())?;
        Ok(from_ms(v))
    }

    /// Programme starts (name, scheduled instant) the log has a row for since `t`.
    pub fn logged_since(
        &self,
        t: DateTime<Utc>,
    ) -> Result<std::collections::HashSet<(String, DateTime<Utc>)>> {
        let mut st = self
            .conn
            .prepare("SELECT DISTINCT programme, scheduled_at FROM airings WHERE programme IS NOT NULL AND scheduled_at >= ?1")
            .map_err(self.db())?;
        let rows = st
            .query_map([ms(t)], |r| {
                Ok((r.get::<_, String>(0)?, from_ms(r.get(1)?)))
            })
            .map_err(self.db())?;
        let mut out = std::collections::HashSet::new();
        for r in rows {
            if let (p, Some(at)) = r.map_err(self.db())? {
                out.insert((p, at));
            }
        }
        Ok(out)
    }

    /// Streams the airings whose time (start, else schedule) is in `[from, to)`, oldest
    /// first, optionally of one category, without holding them all in memory.
    pub fn each_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        category: Option<&str>,
        mut f: impl FnMut(Airing) -> std::io::Result<()>,
    ) -> std::result::Result<(), EachError> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM airings
                 WHERE at >= ?1 AND at < ?2 AND (?3 IS NULL OR category = ?3)
                 ORDER BY at, id"
            ))
            .map_err(|e| EachError::Store(self.db()(e)))?;
        let mut rows = st
            .query(params![ms(from), ms(to), category])
            .map_err(|e| EachError::Store(self.db()(e)))?;
        while let Some(r) = rows.next().map_err(|e| EachError::Store(self.db()(e)))? {
            let a = airing(r).map_err(|e| EachError::Store(self.db()(e)))?;
            f(a).map_err(EachError::Io)?;
        }
        Ok(())
    }

    /// The latest `n` airings, oldest first.
    pub fn tail(&self, n: usize) -> Result<Vec<Airing>> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM (SELECT * FROM airings ORDER BY id DESC LIMIT ?1) ORDER BY id"))
            .map_err(self.db())?;
        let rows = st.query_map([n as i64], airing).map_err(self.db())?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.db())
    }

    /// Airings with an id above `id` or still playing, oldest first (for `log --follow`).
    pub fn since(&self, id: i64) -> Result<Vec<Airing>> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM airings WHERE id > ?1 ORDER BY id"
            ))
            .map_err(self.db())?;
        let rows = st.query_map([id], airing).map_err(self.db())?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.db())
    }

    pub fn get(&self, id: i64) -> Result<Option<Airing>> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM airings WHERE id = ?1"),
                [id],
                airing,
            )
            .optional()
            .map_err(self.db())
    }

    pub fn count(&self) -> Result<i64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM airings", [], |r| r.get(0))
            .map_err(self.db())
    }

    /// `PRAGMA integrity_check`: "ok" when the file is sound.
    pub fn integrity(&self) -> Result<String> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(self.db())
    }

    /// Runs `f` inside one transaction (bulk inserts in tests and benchmarks).
    pub fn batch<T>(&mut self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN").map_err(self.db())?;
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch("COMMIT").map_err(self.db())?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// A streaming read failed in the store or in what the rows were written to.
#[derive(Debug, thiserror::Error)]
pub enum EachError {
    #[error(transparent)]
    Store(#[from] Error),
    #[error(transparent)]
    Io(std::io::Error),
}

/// The columns [`airing`] reads, by position (name lookups cost more than the row).
const COLUMNS: &str =
    "id, programme, category, priority, trigger, item_path, title, content_hash, \
     scheduled_at, started_at, ended_at, planned_ms, played_ms, status, reason, reason_vi, \
     lufs, peak_db, silence_ms, detail";

fn airing(r: &Row<'_>) -> rusqlite::Result<Airing> {
    let ms_dur = |v: Option<i64>| v.map(|v| Duration::from_millis(v.max(0) as u64));
    let priority: String = r.get(3)?;
    let trigger: String = r.get(4)?;
    let status: String = r.get(13)?;
    Ok(Airing {
        id: r.get(0)?,
        programme: r.get(1)?,
        category: r.get(2)?,
        priority: Priority::parse(&priority).unwrap_or_default(),
        trigger: Trigger::parse(&trigger).unwrap_or(Trigger::Schedule),
        item_path: r.get(5)?,
        title: r.get(6)?,
        content_hash: r.get(7)?,
        scheduled_at: from_ms(r.get(8)?),
        started_at: from_ms(r.get(9)?),
        ended_at: from_ms(r.get(10)?),
        planned: ms_dur(r.get(11)?),
        played: ms_dur(r.get(12)?),
        status: Status::parse(&status).unwrap_or(Status::Failed),
        reason: r.get(14)?,
        reason_vi: r.get(15)?,
        lufs: r.get(16)?,
        peak_db: r.get(17)?,
        longest_silence: ms_dur(r.get(18)?),
        detail: r.get(19)?,
    })
}

/// The live log of a station: `STATE/airtime.db`.
pub fn live_path(config: &crate::config::Config) -> PathBuf {
    config.paths.state.join(FILE_NAME)
}
