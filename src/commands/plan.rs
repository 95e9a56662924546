//! `loaxa plan`: the coming airings, for the operator (text) or for tools (JSON lines).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Format;
use crate::config::Config;
use crate::i18n::vi;
use crate::item::{EntryKind, Item};
use crate::local;
use crate::schedule::{self, Planned, Shortfall};

/// `loaxa plan`: checks the config, looks at the library and the log, prints the plan.
#[allow(clippy::too_many_arguments)]
pub fn plan_cmd(
    path: &Path,
    from: Option<&str>,
    days: Option<u32>,
    until: Option<&str>,
    format: Format,
    now: DateTime<Utc>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(config) = super::load_checked(path, now, err, false) else {
        return super::EXIT_INVALID;
    };
    let tz = config.station.timezone;
    let parse = |s: Option<&str>, what: &str, err: &mut dyn Write| match s
        .map(|s| local::parse_datetime(s, tz))
        .transpose()
    {
        Ok(t) => Ok(t),
        Err(e) => {
            let _ = writeln!(err, "error: --{what}: {e}");
            Err(())
        }
    };
    let Ok(from) = parse(from, "from", err).map(|t| t.unwrap_or(now)) else {
        return super::EXIT_INVALID;
    };
    let Ok(until) = parse(until, "until", err)
        .map(|t| t.unwrap_or(from + chrono::Duration::days(days.unwrap_or(7) as i64)))
    else {
        return super::EXIT_INVALID;
    };
    if until <= from {
        let _ = writeln!(err, "error: the end of the plan is not after its start — give a later --until or a positive --days");
        return super::EXIT_INVALID;
    }
    let lib = crate::library::Library::snapshot(&config, now, false);
    let history = crate::airtime::Store::open_readonly(&crate::airtime::live_path(&config))
        .and_then(|s| s.last_aired())
        .unwrap_or_default();
    match print(
        &config,
        from,
        until,
        &lib.candidates(),
        &history,
        format,
        out,
    ) {
        Ok(()) => super::EXIT_OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => super::EXIT_OK,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            super::EXIT_INVALID
        }
    }
}

/// Prints the plan for `[from, until)`.
#[allow(clippy::too_many_arguments)]
pub fn print(
    config: &Config,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    items: &[Item],
    history: &HashMap<String, DateTime<Utc>>,
    format: Format,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let lens = crate::media::probe::Lengths::default();
    let planned = schedule::plan(config, from, until, items, history, &|p| lens.get(p));
    match format {
        Format::Json => {
            for p in &planned {
                serde_json::to_writer(&mut *out, &json_line(config, p))?;
                writeln!(out)?;
            }
        }
        Format::Text => text(config, from, until, &planned, out)?,
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonLine<'a> {
    at: String,
    programme: &'a str,
    priority: &'static str,
    items: Vec<JsonItem>,
    missing: Vec<JsonMissing<'a>>,
}

/// A shortfall with its reason in English (for the technician) and in Vietnamese (shown
/// in the console).
#[derive(Serialize)]
struct JsonMissing<'a> {
    #[serde(flatten)]
    shortfall: &'a Shortfall,
    reason_vi: String,
}

#[derive(Serialize)]
struct JsonItem {
    kind: EntryKind,
    path: String,
    title: String,
    category: Option<String>,
    duration_ms: Option<u64>,
}

/// A file under the audio folder by its relative path; a stream by its address.
fn rel(config: &Config, s: &crate::media::Source) -> String {
    match s.path() {
        Some(p) => p
            .strip_prefix(&config.paths.audio)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned(),
        None => s.to_string(),
    }
}

fn json_line<'a>(config: &'a Config, p: &'a Planned) -> JsonLine<'a> {
    let prog = &config.programmes[p.programme];
    JsonLine {
        at: local::rfc3339(p.at, config.station.timezone),
        programme: &prog.name,
        priority: prog.priority.as_str(),
        items: p
            .running
            .entries
            .iter()
            .map(|e| JsonItem {
                kind: e.kind,
                path: rel(config, &e.source),
                title: e.title.clone(),
                category: e.category.clone(),
                duration_ms: e.duration.map(|d| d.as_millis() as u64),
            })
            .collect(),
        missing: p
            .running
            .shortfalls
            .iter()
            .map(|s| JsonMissing {
                shortfall: s,
                reason_vi: vi::shortfall(s.found, s.trimmed),
            })
            .collect(),
    }
}

fn text(
    config: &Config,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    planned: &[Planned],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let tz = config.station.timezone;
    writeln!(out, "Lịch phát — {} ({tz})", config.station.name)?;
    writeln!(
        out,
        "Từ {} đến {}",
        local::datetime_vi(from, tz),
        local::datetime_vi(until, tz)
    )?;
    if planned.is_empty() {
        writeln!(out, "\nKhông có chương trình nào trong khoảng này.")?;
        return Ok(());
    }
    // A commune reads the category's Vietnamese name; the key is the technician's.
    let shown = |key: &str| {
        config
            .category(key)
            .map_or_else(|| key.to_string(), |c| c.name.clone())
    };
    let mut day = None;
    for p in planned {
        let l = p.at.with_timezone(&tz);
        if day != Some(l.date_naive()) {
            day = Some(l.date_naive());
            writeln!(out, "\n{}", local::day_vi(l.date_naive()))?;
        }
        let prog = &config.programmes[p.programme];
        let total: std::time::Duration = p.running.entries.iter().filter_map(|e| e.duration).sum();
        let len = if total.is_zero() {
            String::new()
        } else {
            format!(", {}", local::clock_len(total))
        };
        writeln!(
            out,
            "  {}  {}  [{}{len}]",
            l.format("%H:%M"),
            prog.name,
            prog.priority.vi()
        )?;
        for e in &p.running.entries {
            let what = match e.kind {
                EntryKind::Jingle => "nhạc hiệu".to_string(),
                EntryKind::File => "tệp".to_string(),
                EntryKind::Item => e.category.as_deref().map(shown).unwrap_or_default(),
                EntryKind::Relay => {
                    let backups: Vec<String> = e
                        .fallback
                        .iter()
                        .filter_map(|g| g.first())
                        .map(|f| match (&f.kind, &f.category) {
                            (EntryKind::Relay, _) => f.title.clone(),
                            (_, Some(c)) => shown(c),
                            _ => f.title.clone(),
                        })
                        .collect();
                    let src = e.source.to_string();
                    let what = match src.strip_prefix(crate::media::stream::LIVE) {
                        Some(dev) => format!("trực tiếp từ thiết bị thu {dev}"),
                        None => format!("tiếp sóng {src}"),
                    };
                    if backups.is_empty() {
                        what
                    } else {
                        format!("{what}; dự phòng: {}", backups.join(" → "))
                    }
                }
            };
            let d = e
                .duration
                .map(local::clock_len)
                .unwrap_or_else(|| "?".into());
            writeln!(out, "         · {} ({d}) — {what}", e.title)?;
        }
        for s in &p.running.shortfalls {
            writeln!(
                out,
                "         ! {}: thiếu {}/{} bài — {}",
                shown(&s.category),
                s.wanted - s.found,
                s.wanted,
                vi::shortfall(s.found, s.trimmed)
            )?;
        }
    }
    Ok(())
}
