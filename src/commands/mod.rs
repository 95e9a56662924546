//! The bodies of the CLI commands: each takes its options and an output, prints what the
//! person asked for and returns the process exit code. `main.rs` only parses arguments.

pub mod access;
pub mod airtime;
pub mod control;
pub mod doctor;
pub mod init;
pub mod library;
pub mod plan;

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::check;
use crate::config::{Config, Diagnostics};
use crate::local;
use crate::media::probe;
use crate::schedule;

/// Exit codes: 0 success, 1 the input is wrong (config errors, bad arguments), 2 usage
/// (clap), 3 the system is not in a state to do it (no daemon, no device).
pub const EXIT_OK: i32 = 0;
pub const EXIT_INVALID: i32 = 1;
pub const EXIT_UNAVAILABLE: i32 = 3;

/// How a command prints what it found: for a person, or as JSON for a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// Loads and checks the config, printing every problem; None when it has errors.
pub fn load_checked(
    path: &Path,
    now: DateTime<Utc>,
    err: &mut dyn Write,
    warnings: bool,
) -> Option<Config> {
    let lens = probe::Lengths::default();
    match check::check(path, now, &|p| lens.get(p)) {
        Ok((config, w)) => {
            if warnings {
                let _ = write!(err, "{w}");
            }
            Some(config)
        }
        Err(diags) => {
            print_diags(&diags, err);
            None
        }
    }
}

pub fn print_diags(diags: &Diagnostics, err: &mut dyn Write) {
    let _ = write!(err, "{diags}");
    let n = diags.errors().count();
    if n > 0 {
        let _ = writeln!(err, "{n} error{} found.", if n == 1 { "" } else { "s" });
    }
}

/// `loaxa check`.
pub fn check_cmd(path: &Path, now: DateTime<Utc>, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let Some(config) = load_checked(path, now, err, true) else {
        return EXIT_INVALID;
    };
    let tz = config.station.timezone;
    let _ = writeln!(
        out,
        "{}: OK — {} ({})",
        path.display(),
        config.station.name,
        tz
    );
    let cats: Vec<String> = config
        .categories
        .iter()
        .map(|c| format!("{} ({})", c.key, c.name))
        .collect();
    let _ = writeln!(out, "  {} categories: {}", cats.len(), cats.join(", "));
    // The first names only: a schedule of thousands would print a page-long line.
    const NAMED: usize = 20;
    let n = config.programmes.len();
    let progs: Vec<&str> = config
        .programmes
        .iter()
        .take(NAMED)
        .map(|p| p.name.as_str())
        .collect();
    let more = if n > NAMED {
        format!(" and {} more", n - NAMED)
    } else {
        String::new()
    };
    let _ = writeln!(out, "  {n} programmes: {}{more}", progs.join(", "));
    match schedule::next_occurrence(&config, now) {
        Some(o) => {
            let p = &config.programmes[o.programme];
            let _ = writeln!(
                out,
                "  next airing: {} — {} ({})",
                local::datetime_vi(o.at, tz),
                p.name,
                p.priority
            );
        }
        None => {
            let _ = writeln!(out, "  next airing: none in the coming year");
        }
    }
    EXIT_OK
}

/// `loaxa simulate`.
#[allow(clippy::too_many_arguments)]
pub fn simulate_cmd(
    path: &Path,
    from: &str,
    days: u32,
    until: Option<&str>,
    db: Option<PathBuf>,
    output: &str,
    now: DateTime<Utc>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(config) = load_checked(path, now, err, false) else {
        return EXIT_INVALID;
    };
    let tz = config.station.timezone;
    let start = match local::parse_datetime(from, tz) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "error: --from: {e}");
            return EXIT_INVALID;
        }
    };
    let wav = match output {
        "null" => None,
        o => match o.strip_prefix("wav:") {
            Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
            _ => {
                let _ = writeln!(
                    err,
                    "error: --output `{o}`: a simulation renders to `null` or `wav:FILE`"
                );
                return EXIT_INVALID;
            }
        },
    };
    let db = db.unwrap_or_else(|| crate::simulate::default_db(&config, start, days));
    let live = crate::airtime::live_path(&config);
    if std::path::absolute(&db).ok() == std::path::absolute(&live).ok() {
        let _ = writeln!(err, "error: {} is the station's live airtime log; a simulation writes to its own file — choose another --db", db.display());
        return EXIT_INVALID;
    }
    if db.exists() {
        let _ = writeln!(err, "error: {} already exists — a simulation starts a fresh log; choose another --db or delete it", db.display());
        return EXIT_INVALID;
    }
    let until = match until.map(|u| local::parse_datetime(u, tz)) {
        None => start + chrono::Duration::days(days as i64),
        Some(Ok(u)) if u > start => u,
        Some(Ok(_)) => {
            let _ = writeln!(err, "error: --until must be after --from");
            return EXIT_INVALID;
        }
        Some(Err(e)) => {
            let _ = writeln!(err, "error: --until: {e}");
            return EXIT_INVALID;
        }
    };
    let days = ((until - start).num_seconds() as f64 / 86_400.0).ceil() as u32;
    let t = std::time::Instant::now();
    match crate::simulate::simulate(
        std::sync::Arc::new(config.clone()),
        start,
        until,
        &db,
        wav.as_deref(),
    ) {
        Ok(sum) => {
            let _ = writeln!(
                out,
                "Simulated {days} days from {} in {:.1} s: {} runs.",
                local::datetime_vi(start, tz),
                t.elapsed().as_secs_f64(),
                sum.runs
            );
            for (cat, n) in &sum.completed {
                let name = if cat.is_empty() {
                    "(ngoài chuyên mục: nhạc hiệu, tệp, tiếp sóng)".to_string()
                } else {
                    format!(
                        "{cat} — {}",
                        config.category(cat).map(|c| c.name.as_str()).unwrap_or("")
                    )
                };
                let _ = writeln!(out, "  {n:>5} airings  {name}");
            }
            for (st, n) in &sum.by_status {
                if *st != "completed" {
                    let _ = writeln!(out, "  {n:>5} {st}");
                }
            }
            let _ = writeln!(out, "Log: {}\n  see it with `loaxa report --db {} --month YYYY-MM` or `loaxa export --db …`", db.display(), db.display());
            if let Some(w) = wav {
                let _ = writeln!(out, "Audio: {}", w.display());
            }
            EXIT_OK
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_INVALID
        }
    }
}
