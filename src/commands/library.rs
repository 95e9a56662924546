//! `loaxa library`: every file in the hot folders, its state and why.

use std::io::Write;

use chrono::{DateTime, Utc};

use super::Format;
use super::{EXIT_INVALID, EXIT_OK};
use crate::config::Config;
use crate::library::{ItemView, Library, State};

pub fn library_cmd(
    config: &Config,
    category: Option<&str>,
    format: Format,
    analyse: bool,
    now: DateTime<Utc>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    if let Err(e) = config.known_category(category) {
        let _ = writeln!(err, "error: {e}");
        return EXIT_INVALID;
    }
    let lib = Library::snapshot(config, now, analyse);
    let views: Vec<ItemView> = lib
        .views(now)
        .into_iter()
        .filter(|v| category.is_none_or(|c| v.category == c))
        .collect();
    let r = match format {
        Format::Json => views.iter().try_for_each(|v| {
            serde_json::to_writer(&mut *out, v)?;
            writeln!(out).map_err(serde_json::Error::io)
        }),
        Format::Text => text(config, category, &views, out).map_err(serde_json::Error::io),
    };
    match r {
        Ok(()) => EXIT_OK,
        Err(e) if e.is_io() => EXIT_OK, // closed pipe
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_INVALID
        }
    }
}

fn text(
    config: &Config,
    only: Option<&str>,
    views: &[ItemView],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for c in config
        .categories
        .iter()
        .filter(|c| only.is_none_or(|k| c.key == k))
    {
        let items: Vec<&ItemView> = views.iter().filter(|v| v.category == c.key).collect();
        let ready = items.iter().filter(|v| v.state == State::Ready).count();
        let folder = c
            .folder
            .strip_prefix(config.base_dir())
            .unwrap_or(&c.folder);
        writeln!(
            out,
            "{} — {} ({}/): {} ready of {}",
            c.key,
            c.name,
            folder.display(),
            ready,
            items.len()
        )?;
        for v in items {
            let d = v
                .duration_ms
                .map(|ms| crate::local::clock_len(std::time::Duration::from_millis(ms)))
                .unwrap_or_else(|| "?".into());
            let l = v
                .lufs
                .map(|l| format!("{l:.1} LUFS"))
                .unwrap_or_else(|| "LUFS ?".into());
            // valid_until is the first instant it no longer airs; show the last day it does.
            let last_day = |u: &str| {
                chrono::DateTime::parse_from_rfc3339(u)
                    .map(|t| {
                        (t - chrono::Duration::seconds(1))
                            .format("%Y-%m-%d")
                            .to_string()
                    })
                    .unwrap_or_default()
            };
            let valid = match (&v.valid_from, &v.valid_until) {
                (Some(f), Some(u)) => format!("{} → {}", &f[..10], last_day(u)),
                (Some(f), None) => format!("{} →", &f[..10]),
                _ => String::new(),
            };
            writeln!(
                out,
                "  {:<13} {}  ({d}, {l}) {valid}  [{}]",
                v.state.as_str(),
                v.title,
                v.path
            )?;
            if let Some(r) = &v.reason {
                writeln!(out, "                {r}")?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}
