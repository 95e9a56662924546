//! `loaxa check`: the config's own validation plus the checks that need the schedule or
//! the audio files (quiet hours, overlaps, fixed segments longer than `max_duration`).
//! The daemon runs the same checks on reload, so what `check` accepts is what runs.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::{
    self, format_duration, Config, Diagnostic, Diagnostics, Pos, Priority, SegmentKind,
};
use crate::local;
use crate::schedule::{self, Exclusion};

/// How far ahead the schedule-wide checks look.
const HORIZON_DAYS: i64 = 366;
/// How many starts of each `when` expression they look at: enough to see every pattern of
/// a daily, weekly or monthly schedule, and a bounded cost for a programme every second.
const SAMPLE: usize = 32;

/// Overlaps judged in windows starting at up to 8 instants 21 h apart: a frequent
/// programme ends each sampled window within hours (`OverlapSearch::scan`), so one window from
/// `now` alone sees a daily programme or not depending on the hour `check` runs. One
/// window only for very large schedules (the cost bound of `BUDGET`); the search itself stops at
/// `MAX_OVERLAP_PAIRS` pairs or `MAX_OVERLAP_STEPS` comparisons.
fn spread_overlaps(
    config: &Config,
    now: DateTime<Utc>,
    soon: DateTime<Utc>,
    sample: usize,
    specs: usize,
) -> schedule::OverlapSearch {
    let anchors = if specs <= 250 { 8 } else { 1 };
    let mut search = schedule::OverlapSearch::new(MAX_OVERLAP_PAIRS, MAX_OVERLAP_STEPS);
    for k in 0..anchors {
        let at = now + chrono::Duration::hours(21 * k);
        if at >= soon {
            break;
        }
        search.scan(config, at, soon, sample);
    }
    search
}

/// Starts of programme `idx` sampled across the coming week, not only the next ones: a
/// few from each of up to 8 instants 21 h apart (so they fall at every third hour of the
/// day). The next 32 starts of an every-30-minutes programme cover 16 hours only; run at
/// 05:15, `check` would then never see it clash with quiet hours from 22:00.
fn spread_starts(
    config: &Config,
    idx: usize,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    sample: usize,
) -> Vec<DateTime<Utc>> {
    let anchors = sample.clamp(1, 8);
    let per = (sample / anchors).max(1);
    let mut out = Vec::new();
    for k in 0..anchors as i64 {
        let at = from + chrono::Duration::hours(21 * k);
        if at >= until {
            break;
        }
        out.extend(schedule::firings_capped(config, idx, at, until, per));
    }
    out.sort();
    out.dedup();
    out
}
/// Cron evaluations the schedule-wide checks may spend, shared by all expressions.
const BUDGET: usize = 4_000;
/// Overlap warnings listed one by one; more are counted in one line.
const MAX_OVERLAP_WARNINGS: usize = 20;
/// Overlapping pairs counted before the count says "at least": the cost stays bounded
/// when every programme clashes with every other.
const MAX_OVERLAP_PAIRS: usize = 10_000;
/// Comparisons of two airings the overlap search may spend (a few milliseconds).
const MAX_OVERLAP_STEPS: usize = 1_000_000;
/// Overlaps are looked for this far ahead (weekly and monthly patterns show within it).
const OVERLAP_DAYS: i64 = 35;

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
    // The starts looked at per `when` expression: up to SAMPLE, fewer when there are many
    // programmes, so the whole check stays within a bounded number of cron evaluations.
    let specs = config
        .programmes
        .iter()
        .map(|p| p.when.len())
        .sum::<usize>()
        .max(1);
    let sample = (BUDGET / specs).clamp(2, SAMPLE);

    // Quiet hours and date windows, judged on a bounded sample of starts from the day
    // each programme begins.
    let window = |p: &crate::config::Programme| {
        let from = p
            .from
            .map(|d| local::start_of_day(d, tz).max(now))
            .unwrap_or(now);
        (from, until.max(from))
    };
    let all_fires = crate::par::map(config.programmes.len(), 256, |i| {
        let (from, until) = window(&config.programmes[i]);
        if config.quiet_hours.is_empty() {
            // Only whether it airs at all matters: its first start is enough.
            schedule::first_start(config, i, from, until, false)
                .into_iter()
                .collect()
        } else {
            spread_starts(config, i, from, until, sample)
        }
    });
    for ((i, p), fires) in config.programmes.iter().enumerate().zip(all_fires) {
        let (from, until) = window(p);
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
        // "Always" is decided by searching for one start outside quiet hours (a few jumps),
        // not by the sample.
        let always_quiet = !in_window.is_empty()
            && quiet.len() == in_window.len()
            && schedule::first_start(config, i, from, until, true).is_none();
        if always_quiet {
            diags.push(
                Diagnostic::error(&file, pos, format!("programme `{}` always starts in quiet hours ({qh}), so it would never air", p.name))
                    .hint("move it outside quiet hours, change `quiet_hours`, or give it `priority: emergency`"),
            );
        } else if let Some(first) = quiet.first() {
            diags.push(
                Diagnostic::warning(&file, pos, format!("{} of {} starts of `{}` sampled over the coming week fall in quiet hours ({qh}) and will not air, the first {}", quiet.len(), in_window.len(), p.name, local::datetime_vi(***first, tz)))
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

    // Overlaps: one warning per pair of programmes, with the first clash as the example;
    // past a handful, one line says how many more there are.
    let soon = now + chrono::Duration::days(OVERLAP_DAYS);
    let search = spread_overlaps(config, now, soon, sample, specs);
    let overlaps = search.found;
    if overlaps.len() > MAX_OVERLAP_WARNINGS {
        let more = overlaps.len() - MAX_OVERLAP_WARNINGS;
        let more = if search.complete {
            format!("{more} more pairs")
        } else {
            format!("at least {more} more pairs")
        };
        diags.push(
            Diagnostic::warning(
                &file,
                Pos::START,
                format!(
                    "{more} of programmes overlap (only the first {MAX_OVERLAP_WARNINGS} are listed)"
                ),
            )
            .hint("`loaxa plan` shows what airs when"),
        );
    }
    for o in overlaps.into_iter().take(MAX_OVERLAP_WARNINGS) {
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
