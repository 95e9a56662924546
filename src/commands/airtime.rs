//! `loaxa export`, `loaxa report` and `loaxa log`: reading the airtime log.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{EXIT_INVALID, EXIT_OK, EXIT_UNAVAILABLE};
use crate::airtime::{self, export, report, Airing, Status, Store};
use crate::config::{format_duration, Config};
use crate::local;

/// Opens the log to read: `--db FILE`, else the station's live log.
pub fn open_log(config: &Config, db: Option<&Path>, err: &mut dyn Write) -> Option<Store> {
    let path = db
        .map(Path::to_path_buf)
        .unwrap_or_else(|| airtime::live_path(config));
    if !path.is_file() {
        let hint = if db.is_some() {
            "check the path given with --db"
        } else {
            "nothing has aired yet: start the daemon with `loaxa run`, or give another log with --db FILE"
        };
        let _ = writeln!(err, "error: no airtime log at {} — {hint}", path.display());
        return None;
    }
    match Store::open_readonly(&path) {
        Ok(s) => Some(s),
        Err(e) => {
            let _ = writeln!(
                err,
                "error: {e} — is it a loaxa airtime log? `loaxa doctor` checks it"
            );
            None
        }
    }
}

/// A `--from`/`--to` bound: a date means that whole day (so `--to` is inclusive).
fn bound(s: &str, tz: Tz, end: bool) -> Result<DateTime<Utc>, String> {
    let t = local::parse_datetime(s, tz)?;
    let date_only = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").is_ok();
    Ok(if end && date_only {
        t + chrono::Duration::days(1)
    } else {
        t
    })
}

/// `loaxa export`'s options (parsed by clap in main.rs).
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// First day (or date-time), local: 2026-11-01.
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, inclusive (or an exact end date-time).
    #[arg(long)]
    pub to: Option<String>,
    /// Only this category.
    #[arg(long)]
    pub category: Option<String>,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: export::Format,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Language of the CSV/XLSX headers and labels.
    #[arg(long, value_enum, default_value = "vi")]
    pub lang: export::Lang,
    /// Read this log instead of the station's live one.
    #[arg(long)]
    pub db: Option<PathBuf>,
}

pub fn export_cmd(
    config: &Config,
    a: ExportArgs,
    now: DateTime<Utc>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let tz = config.station.timezone;
    let (mfrom, mto) = report::Month::of(now, tz).range(tz);
    let from = match a.from.as_deref().map(|s| bound(s, tz, false)).transpose() {
        Ok(t) => t.unwrap_or(mfrom),
        Err(e) => return usage(err, "--from", &e),
    };
    let to = match a.to.as_deref().map(|s| bound(s, tz, true)).transpose() {
        Ok(t) => t.unwrap_or(if a.from.is_some() {
            now.max(from) + chrono::Duration::seconds(1)
        } else {
            mto
        }),
        Err(e) => return usage(err, "--to", &e),
    };
    if let Err(e) = config.known_category(a.category.as_deref()) {
        let _ = writeln!(err, "error: {e}");
        return EXIT_INVALID;
    }
    let Some(store) = open_log(config, a.db.as_deref(), err) else {
        return EXIT_UNAVAILABLE;
    };
    let opts = export::Options {
        from,
        to,
        category: a.category.as_deref(),
        format: a.format,
        lang: a.lang,
    };
    let xlsx_default = PathBuf::from(format!(
        "nhat-ky-phat-{}.xlsx",
        from.with_timezone(&tz).format("%Y-%m")
    ));
    let result = match (&a.output, a.format) {
        (_, export::Format::Xlsx) => {
            let path = a.output.clone().unwrap_or(xlsx_default);
            export::export(&store, config, &opts, &mut std::io::sink(), Some(&path))
                .map(|n| (n, Some(path)))
        }
        (Some(path), _) => match std::fs::File::create(path) {
            Ok(f) => {
                let mut w = std::io::BufWriter::new(f);
                export::export(&store, config, &opts, &mut w, None)
                    .and_then(|n| w.flush().map(|_| n).map_err(Into::into))
                    .map(|n| (n, Some(path.clone())))
            }
            Err(e) => {
                let _ = writeln!(
                    err,
                    "error: cannot create {}: {e} — choose a folder you can write to",
                    path.display()
                );
                return EXIT_INVALID;
            }
        },
        (None, _) => export::export(&store, config, &opts, out, None).map(|n| (n, None)),
    };
    match result {
        Ok((n, Some(path))) => {
            let _ = writeln!(err, "{n} airings written to {}", path.display());
            EXIT_OK
        }
        Ok((_, None)) => EXIT_OK,
        Err(export::ExportError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_INVALID
        }
    }
}

fn usage(err: &mut dyn Write, flag: &str, e: &str) -> i32 {
    let _ = writeln!(err, "error: {flag}: {e}");
    EXIT_INVALID
}

/// `loaxa report`'s options (parsed by clap in main.rs).
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The month, YYYY-MM (default: this month).
    #[arg(long)]
    pub month: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: report::Format,
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[arg(long)]
    pub db: Option<PathBuf>,
}

pub fn report_cmd(
    config: &Config,
    a: ReportArgs,
    now: DateTime<Utc>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let tz = config.station.timezone;
    let month = match a.month.as_deref().map(report::Month::parse).transpose() {
        Ok(m) => m.unwrap_or_else(|| report::Month::of(now, tz)),
        Err(e) => return usage(err, "--month", &e),
    };
    let Some(store) = open_log(config, a.db.as_deref(), err) else {
        return EXIT_UNAVAILABLE;
    };
    let (from, to) = month.range(tz);
    let mut b = report::Builder::new(config, month);
    if let Err(e) = store.each_between(from, to, None, |row| {
        b.add(&row);
        Ok(())
    }) {
        let _ = writeln!(err, "error: {e}");
        return EXIT_INVALID;
    }
    let text = report::render(&b.finish(now), a.format);
    match &a.output {
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => {
                let _ = writeln!(
                    err,
                    "report for {} written to {}",
                    month.label(),
                    path.display()
                );
                EXIT_OK
            }
            Err(e) => {
                let _ = writeln!(
                    err,
                    "error: cannot write {}: {e} — choose a folder you can write to",
                    path.display()
                );
                EXIT_INVALID
            }
        },
        None => {
            let _ = out.write_all(text.as_bytes());
            EXIT_OK
        }
    }
}

/// One line of `loaxa log`.
pub fn log_line(a: &Airing, tz: Tz) -> String {
    let at = a
        .at()
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default();
    let what = match (&a.title, &a.category) {
        (Some(t), Some(c)) => format!("{t} [{c}]"),
        (Some(t), None) => t.clone(),
        (None, Some(c)) => format!("[{c}]"),
        (None, None) => String::new(),
    };
    let len = match (a.played, a.planned) {
        (Some(p), Some(t)) if a.status != Status::Completed => {
            format!(" {}/{}", format_duration(p), format_duration(t))
        }
        (Some(p), _) => format!(" {}", format_duration(p)),
        _ => String::new(),
    };
    let reason = a
        .reason
        .as_deref()
        .map(|r| format!(" — {r}"))
        .unwrap_or_default();
    format!(
        "{at}  {:<13} {}  {what}{len}{reason}",
        a.status.vi(),
        a.programme.as_deref().unwrap_or("(phát tay)")
    )
}

pub fn log_cmd(
    config: &Config,
    tail: usize,
    follow: bool,
    db: Option<&Path>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let tz = config.station.timezone;
    let Some(store) = open_log(config, db, err) else {
        return EXIT_UNAVAILABLE;
    };
    let rows = match store.tail(tail) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return EXIT_INVALID;
        }
    };
    let mut last = 0;
    let mut open: Vec<i64> = vec![];
    for a in &rows {
        if writeln!(out, "{}", log_line(a, tz)).is_err() {
            return EXIT_OK;
        }
        last = last.max(a.id);
        if a.status == Status::Playing {
            open.push(a.id);
        }
    }
    if !follow {
        return EXIT_OK;
    }
    let _ = out.flush();
    // Then, as the daemon reports them: each row as it starts and as it ends.
    let mut failed = None;
    let r = crate::control::unix::follow(&config.paths.state, |ev| {
        use crate::control::Event;
        let row = match ev {
            Event::ItemStarted { row, .. }
            | Event::ItemEnded { row, .. }
            | Event::Recorded { row, .. } => row,
            _ => None,
        };
        let Some(id) = row.filter(|id| open.contains(id) || *id > last) else {
            return true;
        };
        match store.get(id) {
            Ok(Some(a)) => {
                last = last.max(a.id);
                if a.status == Status::Playing {
                    open.push(a.id);
                } else {
                    open.retain(|x| *x != a.id);
                }
                writeln!(out, "{}", log_line(&a, tz)).is_ok() && out.flush().is_ok()
            }
            Ok(None) => true,
            Err(e) => {
                failed = Some(e.to_string());
                false
            }
        }
    });
    if let Some(e) = failed {
        let _ = writeln!(err, "error: {e}");
        return EXIT_INVALID;
    }
    match r {
        Ok(()) => {
            let _ = writeln!(err, "the daemon stopped; nothing more to follow");
            EXIT_OK
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_UNAVAILABLE
        }
    }
}
