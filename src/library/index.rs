//! The library's cache: what each file was found to be, keyed by its path, size and mtime,
//! so a restart probes only what changed. Losing it costs a re-probe, never data.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection};

use crate::media::probe::{Analysis, Header, Rejection};

pub const FILE_NAME: &str = "library.db";

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    arrived INTEGER NOT NULL,
    hash TEXT,
    container TEXT,
    codec TEXT,
    rate INTEGER,
    channels INTEGER,
    header_ms INTEGER,
    title_tag TEXT,
    reject_code TEXT,
    reject_msg TEXT,
    analysed INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER,
    lufs REAL,
    peak_db REAL
)";

/// What the cache holds for one file version.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached {
    pub size: u64,
    pub mtime_ns: i64,
    pub arrived: DateTime<Utc>,
    pub hash: Option<String>,
    pub header: Option<Header>,
    pub reject: Option<Rejection>,
    pub analysis: Option<Analysis>,
}

/// How analyses are made; an index from an older way has the affected ones made again.
/// 1: mono files measured as dual-mono (heard on two speakers: 3 dB louder than one).
const ANALYSIS_VERSION: i64 = 1;

fn forget_stale_analyses(conn: &Connection) -> rusqlite::Result<()> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if v < 1 {
        let n = conn.execute(
            "UPDATE files SET analysed = 0, duration_ms = NULL, lufs = NULL, peak_db = NULL
             WHERE analysed = 1 AND channels = 1",
            [],
        )?;
        if n > 0 {
            tracing::info!("{n} mono files are measured again (loudness as heard on two speakers)");
        }
    }
    if v < ANALYSIS_VERSION {
        conn.pragma_update(None, "user_version", ANALYSIS_VERSION)?;
    }
    Ok(())
}

pub struct Index {
    conn: Connection,
}

fn reject_code(code: &str) -> &'static str {
    // Stored codes come back as the static strings the probe uses.
    const CODES: [&str; 9] = [
        "empty",
        "not_audio",
        "unsupported_codec",
        "corrupt",
        "truncated",
        "too_short",
        "silent",
        "unreadable",
        "too_long",
    ];
    CODES
        .iter()
        .find(|c| **c == code)
        .copied()
        .unwrap_or("corrupt")
}

impl Index {
    pub fn open(path: &Path) -> rusqlite::Result<Index> {
        if let Some(d) = path.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        forget_stale_analyses(&conn)?;
        // A power cut can damage the file; a damaged cache must be noticed at open,
        // not as odd results later.
        let verdict: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if verdict != "ok" {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                Some(verdict),
            ));
        }
        Ok(Index { conn })
    }

    /// Opens the cache at `path`; one that cannot be opened (damaged, not a database) is
    /// only a cache, so it is set aside as `FILE.damaged` and rebuilt from the files.
    pub fn open_or_rebuild(path: &Path) -> rusqlite::Result<Index> {
        match Index::open(path) {
            Ok(i) => Ok(i),
            Err(e) if path.is_file() => {
                let aside = path.with_extension("db.damaged");
                for ext in ["-wal", "-shm"] {
                    let mut p = path.as_os_str().to_owned();
                    p.push(ext);
                    let _ = std::fs::remove_file(p);
                }
                if std::fs::rename(path, &aside).is_err() {
                    return Err(e);
                }
                tracing::warn!(
                    "library index {} was damaged ({e}); set aside as {} and rebuilt from the audio folder",
                    path.display(),
                    aside.display()
                );
                Index::open(path)
            }
            Err(e) => Err(e),
        }
    }

    /// An index that lives in memory only (when the state folder cannot be written).
    pub fn in_memory() -> Index {
        let conn = Connection::open_in_memory().expect("sqlite in memory");
        conn.execute_batch(SCHEMA).expect("schema");
        Index { conn }
    }

    /// Everything cached, by relative path.
    pub fn load(&self) -> rusqlite::Result<HashMap<String, Cached>> {
        let mut st = self.conn.prepare("SELECT * FROM files")?;
        let rows = st.query_map([], |r| {
            let ms = |v: Option<i64>| v.map(|m| Duration::from_millis(m.max(0) as u64));
            let codec: Option<String> = r.get("codec")?;
            let header = codec.map(|codec| -> rusqlite::Result<Header> {
                Ok(Header {
                    container: r.get::<_, Option<String>>("container")?.unwrap_or_default(),
                    codec,
                    sample_rate: r.get::<_, Option<u32>>("rate")?.unwrap_or(0),
                    channels: r.get::<_, Option<u16>>("channels")?.unwrap_or(0),
                    duration: ms(r.get("header_ms")?),
                    title: r.get("title_tag")?,
                })
            });
            let code: Option<String> = r.get("reject_code")?;
            let analysed: bool = r.get("analysed")?;
            Ok((
                r.get::<_, String>("path")?,
                Cached {
                    size: r.get::<_, i64>("size")? as u64,
                    mtime_ns: r.get("mtime_ns")?,
                    arrived: Utc
                        .timestamp_millis_opt(r.get("arrived")?)
                        .single()
                        .unwrap_or_default(),
                    hash: r.get("hash")?,
                    header: header.transpose()?,
                    reject: match code {
                        Some(c) => Some(Rejection::new(
                            reject_code(&c),
                            r.get::<_, Option<String>>("reject_msg")?
                                .unwrap_or_default(),
                        )),
                        None => None,
                    },
                    analysis: if analysed {
                        Some(Analysis {
                            duration: ms(r.get("duration_ms")?).unwrap_or_default(),
                            lufs: r.get("lufs")?,
                            peak_db: r.get::<_, Option<f64>>("peak_db")?.unwrap_or(-120.0),
                        })
                    } else {
                        None
                    },
                },
            ))
        })?;
        rows.collect()
    }

    /// Saves what is known of a file version (replacing the previous version's row).
    pub fn save(&self, rel: &str, c: &Cached) -> rusqlite::Result<()> {
        let h = c.header.as_ref();
        let a = c.analysis.as_ref();
        self.conn.execute(
            "INSERT OR REPLACE INTO files (path, size, mtime_ns, arrived, hash, container, codec, rate, channels,
                header_ms, title_tag, reject_code, reject_msg, analysed, duration_ms, lufs, peak_db)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            params![
                rel,
                c.size as i64,
                c.mtime_ns,
                c.arrived.timestamp_millis(),
                c.hash,
                h.map(|h| h.container.as_str()),
                h.map(|h| h.codec.as_str()),
                h.map(|h| h.sample_rate),
                h.map(|h| h.channels),
                h.and_then(|h| h.duration).map(|d| d.as_millis() as i64),
                h.and_then(|h| h.title.as_deref()),
                c.reject.as_ref().map(|r| r.code),
                c.reject.as_ref().map(|r| r.message.as_str()),
                a.is_some(),
                a.map(|a| a.duration.as_millis() as i64),
                a.and_then(|a| a.lufs),
                a.map(|a| a.peak_db),
            ],
        )?;
        Ok(())
    }

    pub fn remove(&self, rel: &str) -> rusqlite::Result<()> {
        self.conn
            .execute("DELETE FROM files WHERE path = ?1", [rel])?;
        Ok(())
    }

    /// Runs `f` in one transaction (a scan saving thousands of rows).
    pub fn batch<T>(&self, f: impl FnOnce(&Index) -> T) -> T {
        let _ = self.conn.execute_batch("BEGIN");
        let v = f(self);
        let _ = self.conn.execute_batch("COMMIT");
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(channels: u16) -> Cached {
        Cached {
            size: 10,
            mtime_ns: 1,
            arrived: Utc::now(),
            hash: Some("h".into()),
            header: Some(Header {
                container: "wav".into(),
                codec: "pcm".into(),
                sample_rate: 48_000,
                channels,
                duration: Some(Duration::from_secs(2)),
                title: None,
            }),
            reject: None,
            analysis: Some(Analysis {
                duration: Duration::from_secs(2),
                lufs: Some(-19.0),
                peak_db: -3.0,
            }),
        }
    }

    #[test]
    fn an_index_from_before_dual_mono_measures_its_mono_files_again() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(FILE_NAME);
        {
            let i = Index::open(&p).unwrap();
            i.save("mono.wav", &cached(1)).unwrap();
            i.save("stereo.wav", &cached(2)).unwrap();
            i.conn.pragma_update(None, "user_version", 0).unwrap();
        }
        let all = Index::open(&p).unwrap().load().unwrap();
        assert_eq!(all["mono.wav"].analysis, None);
        assert_eq!(all["mono.wav"].hash.as_deref(), Some("h"));
        assert_eq!(all["stereo.wav"].analysis, cached(2).analysis);
        // Once made again, an analysis is kept across opens.
        Index::open(&p)
            .unwrap()
            .save("mono.wav", &cached(1))
            .unwrap();
        let all = Index::open(&p).unwrap().load().unwrap();
        assert_eq!(all["mono.wav"].analysis, cached(1).analysis);
    }
}
