//! `loaxa check`: the config's own validation plus the checks that need the schedule or
//! the audio files (quiet hours, overlaps, fixed segments longer than `max_duration`).
//! The daemon runs the same checks on reload, so what `check` accepts is what runs.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::{
    self, format_duration, Config, Diagnostic, Diagnostics, Priority, SegmentKind,
};
use crate::local;
use crate::schedule::{self, Exclusion};

/// How far ahead the schedule-wide checks look.
const HORIZON_DAYS: i64 = 366;

/// Loads `path` and runs every check. Ok carries the config and its warnings.
pub fn check(
    path: &Path,
    now: DateTime<Utc>,
    fixed_len: &dyn Fn(&Path) -> Option<Duration>,
) -> Result<(Config, Diagnostics), Diagnostics> {
    let loaded = config::load(path)?;
    let mut diags = loaded.warnings;
    lint(&loaded.config, now, fixed_len, &mut diags);
    diags.sort();
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok((loaded.config, diags))
    }
}

/// The checks that look at the schedule as a whole.
pub fn lint(
    config: &Config,
    now: DateTime<Utc>,
    fixed_len: &dyn Fn(&Path) -> Option<Duration>,
    diags: &mut Diagnostics,
) {
    let file = config.file.clone();
    let show = |p: &Path| {
        p.strip_prefix(config.base_dir())
            .unwrap_or(p)
            .display()
            .to_string()
    };
    let tz = config.station.timezone;
    let until = now + chrono::Duration::days(HORIZON_DAYS);

    for (i, p) in config.programmes.iter().enumerate() {
        // Quiet hours and date windows.
        let fires = schedule::firings(config, i, now, until);
        let in_window: Vec<_> = fires
            .iter()
            .filter(|t| schedule::exclusion(config, p, **t) != Some(Exclusion::NotThatDay))
            .collect();
        let quiet: Vec<_> = in_window
            .iter()
            .filter(|t| schedule::exclusion(config, p, ***t) == Some(Exclusion::QuietHours))
            .collect();
        let pos = p.when_pos.first().copied().unwrap_or(p.pos);
        let qh = config
            .quiet_hours
            .iter()
            .map(|q| q.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        if !in_window.is_empty() && quiet.len() == in_window.len() {
            diags.push(
                Diagnostic::error(&file, pos, format!("programme `{}` always starts in quiet hours ({qh}), so it would never air", p.name))
                    .hint("move it outside quiet hours, change `quiet_hours`, or give it `priority: emergency`"),
            );
        } else if let Some(first) = quiet.first() {
            diags.push(
                Diagnostic::warning(&file, pos, format!("{} of the next year's starts of `{}` fall in quiet hours ({qh}) and will not air, the first {}", quiet.len(), p.name, local::datetime_vi(***first, tz)))
                    .hint("narrow the hour field so it stays outside quiet hours"),
            );
        } else if in_window.is_empty()
            && p.until
                .is_none_or(|u| u >= now.with_timezone(&tz).date_naive())
        {
            diags.push(
                Diagnostic::warning(
                    &file,
                    pos,
                    format!("programme `{}` does not air in the coming year", p.name),
                )
                .hint("check its `when`, `from`, `until` and `skip_dates`"),
            );
        }

        // Fixed segments against max_duration.
        if let Some(max) = p.max_duration {
            let mut fixed = Duration::ZERO;
            for s in &p.segments {
                if let SegmentKind::Jingle(f) | SegmentKind::File(f) = &s.kind {
                    match fixed_len(f) {
                        Some(d) => fixed += d,
                        None => diags.push(
                            Diagnostic::error(
                                &file,
                                s.pos,
                                format!(
                                    "cannot read the length of {}: it is not a playable audio file",
                                    show(f)
                                ),
                            )
                            .hint("replace it with an mp3, wav, flac, ogg or m4a file"),
                        ),
                    }
                }
            }
            if fixed > max {
                diags.push(
                    Diagnostic::error(&file, p.max_duration_pos, format!("programme `{}` has max_duration {} but its jingles and fixed files alone last {}", p.name, format_duration(max), format_duration(fixed)))
                        .hint("raise max_duration or use shorter fixed segments"),
                );
            }
        }
    }

    // Overlaps: one warning per pair of programmes, with the first clash as the example.
    let mut seen = std::collections::HashSet::new();
    for o in schedule::overlaps(config, now, until) {
        if !seen.insert((o.first.programme, o.second.programme)) {
            continue;
        }
        let (a, b) = (
            &config.programmes[o.first.programme],
            &config.programmes[o.second.programme],
        );
        let why = if a.priority == b.priority {
            format!(
                "at equal priority `{}` waits for `{}` if it can still start within catch_up ({}), else it is skipped",
                b.name,
                a.name,
                format_duration(config.catch_up)
            )
        } else {
            let w = &config.programmes[o.winner];
            let tag = if w.priority >= Priority::Emergency {
                "emergency"
            } else {
                "higher priority"
            };
            format!("`{}` wins ({tag})", w.name)
        };
        diags.push(
            Diagnostic::warning(
                &file,
                b.when_pos.first().copied().unwrap_or(b.pos),
                format!(
                    "programmes `{}` (line {}) and `{}` overlap, first {}; {why}",
                    a.name,
                    a.pos.line,
                    b.name,
                    local::datetime_vi(o.second.at, tz)
                ),
            )
            .hint("move one of them, or shorten max_duration"),
        );
    }
}
