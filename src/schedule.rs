//! When each programme is due, and what it picks. Pure: config, items, history and a time
//! in; a plan out. No I/O and no clock reading, so a year is planned in milliseconds.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use crate::config::{Config, Fallback, Pick, Priority, Programme, RelayLength, SegmentKind};
use crate::item::{Entry, EntryKind, Item};

/// One start of one programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub at: DateTime<Utc>,
    /// Index into `config.programmes`.
    pub programme: usize,
}

/// Why a cron firing does not become an airing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion {
    /// Outside `from`/`until`, or on a `skip_dates` day.
    NotThatDay,
    /// A non-emergency start inside quiet hours.
    QuietHours,
}

/// Whether a firing of `p` at `at` airs, and if not why.
pub fn exclusion(config: &Config, p: &Programme, at: DateTime<Utc>) -> Option<Exclusion> {
    let local = at.with_timezone(&config.station.timezone);
    if !p.runs_on(local.date_naive()) {
        return Some(Exclusion::NotThatDay);
    }
    if p.priority < Priority::Emergency && config.in_quiet_hours(local.time()) {
        return Some(Exclusion::QuietHours);
    }
    None
}

/// Every cron firing of programme `idx` in `[from, until)`, before exclusions.
pub fn firings(
    config: &Config,
    idx: usize,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    firings_capped(config, idx, from, until, usize::MAX)
}

/// At most the first `cap` firings of each of programme `idx`'s `when` expressions in
/// `[from, until)`, sorted: the schedule-wide checks look at a bounded sample, so a
/// programme every second costs no more to check than one a day.
pub fn firings_capped(
    config: &Config,
    idx: usize,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    cap: usize,
) -> Vec<DateTime<Utc>> {
    let tz = config.station.timezone;
    let start = from.with_timezone(&tz);
    let mut out = Vec::new();
    if cap == 0 {
        return out;
    }
    for spec in &config.programmes[idx].when {
        let mut t = spec.next_from(&start);
        let mut n = 0;
        while let Some(x) = t {
            let u = x.with_timezone(&Utc);
            if u >= until {
                break;
            }
            // croner works in whole seconds: a sub-second `from` can return the second
            // it falls in, which is before `from`.
            if u >= from {
                out.push(u);
                n += 1;
                // Stop at the cap before asking for one more start: each costs a cron
                // search, and the lints ask for one or two starts per programme.
                if n == cap {
                    break;
                }
            }
            t = spec.next_after(&x);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Every airing start in `[from, until)`, in time order (higher priority first at the same
/// instant, then file order), with date windows, skip dates and quiet hours applied.
pub fn occurrences(config: &Config, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Occurrence> {
    let mut out: Vec<Occurrence> = (0..config.programmes.len())
        .flat_map(|i| {
            firings(config, i, from, until)
                .into_iter()
                .filter(move |t| exclusion(config, &config.programmes[i], *t).is_none())
                .map(move |at| Occurrence { at, programme: i })
        })
        .collect();
    out.sort_by_key(|o| {
        (
            o.at,
            std::cmp::Reverse(config.programmes[o.programme].priority),
            o.programme,
        )
    });
    out
}

/// The first airing at or after `from` (looks ahead up to about a year).
pub fn next_occurrence(config: &Config, from: DateTime<Utc>) -> Option<Occurrence> {
    let limit = from + chrono::Duration::days(366);
    let key = |o: &Occurrence| {
        (
            o.at,
            std::cmp::Reverse(config.programmes[o.programme].priority),
            o.programme,
        )
    };
    // Each search stops at the best start found so far (a programme that does not air for
    // months costs nothing once another airs sooner); large schedules search two halves of
    // the programmes, one on each core.
    let search = |range: std::ops::Range<usize>| {
        let mut best: Option<Occurrence> = None;
        for programme in range {
            let until = best.map_or(limit, |b| b.at + chrono::Duration::nanoseconds(1));
            if let Some(at) = first_start(config, programme, from, until, true) {
                let o = Occurrence { at, programme };
                if best.is_none_or(|b| key(&o) < key(&b)) {
                    best = Some(o);
                }
            }
        }
        best
    };
    let n = config.programmes.len();
    let parts = if n >= 256 { 2 } else { 1 };
    crate::par::map(parts, 2, |h| search(h * n / parts..(h + 1) * n / parts))
        .into_iter()
        .flatten()
        .min_by_key(key)
}

/// The first start of programme `idx` in `[from, until)` on a day it airs (and, with
/// `quiet`, outside quiet hours). Lazy: it steps over a day it does not air and over quiet
/// hours in one jump each, so a programme every second costs a handful of steps, not a
/// day's worth of firings.
pub fn first_start(
    config: &Config,
    idx: usize,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    quiet: bool,
) -> Option<DateTime<Utc>> {
    let tz = config.station.timezone;
    let p = &config.programmes[idx];
    let mut best: Option<DateTime<Utc>> = None;
    for spec in &p.when {
        let mut t = spec.next_from(&from.with_timezone(&tz));
        // Each step either finds the start or jumps past a day or a quiet range.
        for _ in 0..10_000 {
            let Some(x) = t else { break };
            let u = x.with_timezone(&Utc);
            if u >= until || best.is_some_and(|b| u >= b) {
                break;
            }
            if u < from {
                t = spec.next_after(&x);
                continue;
            }
            match exclusion(config, p, u) {
                None => {
                    best = Some(u);
                    break;
                }
                Some(Exclusion::QuietHours) if !quiet => {
                    best = Some(u);
                    break;
                }
                Some(Exclusion::NotThatDay) => {
                    let next_day = x
                        .date_naive()
                        .succ_opt()
                        .and_then(|d| d.and_hms_opt(0, 0, 0));
                    let at = next_day.and_then(|d| tz.from_local_datetime(&d).earliest());
                    t = at.and_then(|a| spec.next_from(&a));
                }
                Some(Exclusion::QuietHours) => {
                    // To the end of the quiet range it falls in (today or tomorrow).
                    let now = x.time();
                    let end = config
                        .quiet_hours
                        .iter()
                        .filter(|q| q.contains(now))
                        .map(|q| q.end)
                        .next();
                    let at = end.and_then(|e| {
                        let day = if e > now {
                            x.date_naive()
                        } else {
                            x.date_naive().succ_opt()?
                        };
                        tz.from_local_datetime(&day.and_time(e)).earliest()
                    });
                    t = match at {
                        Some(a) if a > x => spec.next_from(&a),
                        _ => spec.next_after(&x),
                    };
                }
            }
        }
    }
    best
}

/// Something a programme meant to air but could not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shortfall {
    pub category: String,
    pub wanted: u32,
    pub found: u32,
    pub reason: String,
    /// How many were left out to keep within `max_duration` (0: the category had none).
    #[serde(skip)]
    pub trimmed: u32,
}

/// A programme's running order at one airing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Running {
    pub entries: Vec<Entry>,
    pub shortfalls: Vec<Shortfall>,
}

/// Picks the running order of programme `p` airing at `at`.
///
/// `last_aired` maps an item id to when it last aired (for `rotate`); `durations` gives the
/// length of jingles and fixed files where known, so `max_duration` can be honoured by
/// leaving picks out rather than cutting an item short.
pub fn running_order(
    p: &Programme,
    at: DateTime<Utc>,
    tz: chrono_tz::Tz,
    items: &[Item],
    last_aired: &HashMap<String, DateTime<Utc>>,
    fixed_len: &dyn Fn(&std::path::Path) -> Option<Duration>,
) -> Running {
    let mut run = Running::default();
    // A fixed file's length: the library's when it is an item there, else probed.
    let len_of = |f: &std::path::Path| {
        items
            .iter()
            .find(|c| c.path == f)
            .map(|c| c.duration)
            .or_else(|| fixed_len(f))
    };
    let fixed: Duration = p
        .segments
        .iter()
        .filter_map(|s| match &s.kind {
            SegmentKind::Jingle(f) | SegmentKind::File(f) => len_of(f),
            SegmentKind::Category { .. } | SegmentKind::Relay(_) => None,
        })
        .sum();
    let mut budget = p.max_duration.map(|m| m.saturating_sub(fixed));
    let mut used: Vec<&str> = Vec::new();

    // Priority items (ưu tiên) of this programme's categories go first, after the opening
    // jingles, whether or not their segment would have picked them.
    let cats: Vec<&str> = p
        .segments
        .iter()
        .filter_map(|s| match &s.kind {
            SegmentKind::Category { key, .. } => Some(key.as_str()),
            _ => None,
        })
        .collect();
    let mut urgent: Vec<&Item> = items
        .iter()
        .filter(|c| {
            c.priority >= Priority::Priority
                && cats.contains(&c.category.as_str())
                && c.valid_at(at)
        })
        .filter(|c| last_aired.get(&c.id).is_none_or(|t| *t < c.valid_from))
        .collect();
    urgent.sort_by(|a, b| b.valid_from.cmp(&a.valid_from).then(a.id.cmp(&b.id)));
    let lead = p
        .segments
        .iter()
        .take_while(|s| matches!(s.kind, SegmentKind::Jingle(_)))
        .count();

    for (i, seg) in p.segments.iter().enumerate() {
        if i == lead {
            for c in &urgent {
                if fits(&mut budget, c.duration) {
                    used.push(&c.id);
                    run.entries.push(Entry::of_item(c));
                }
            }
        }
        match &seg.kind {
            SegmentKind::Jingle(f) | SegmentKind::File(f) => {
                // A fixed file the library knows (jingles live in a category folder) takes
                // its title, identity and gain from there.
                let kind = if matches!(seg.kind, SegmentKind::Jingle(_)) {
                    EntryKind::Jingle
                } else {
                    EntryKind::File
                };
                let known = items.iter().find(|c| &c.path == f);
                run.entries.push(Entry::fixed(kind, f, known, len_of(f)))
            }
            SegmentKind::Relay(r) => {
                // A window: it begins when what is before it ends, and is cut short to fit
                // max_duration (and quiet hours) rather than left out.
                let begins = at
                    + chrono::Duration::from_std(
                        run.entries
                            .iter()
                            .filter_map(|e| e.duration)
                            .sum::<Duration>(),
                    )
                    .unwrap_or_default();
                let mut len = relay_length(r.length, begins, tz);
                if let Some(b) = budget.as_mut() {
                    len = len.min(*b);
                    *b -= len;
                }
                if len.is_zero() {
                    continue;
                }
                let fallback = r
                    .fallback
                    .iter()
                    .map(|f| fallback_entries(f, at, items, last_aired, &len_of))
                    .filter(|g| !g.is_empty())
                    .collect();
                run.entries
                    .push(Entry::stream(&r.url, &r.title, Some(len), fallback));
            }
            SegmentKind::Category { key, pick, count } => {
                let mut pool: Vec<&Item> = items
                    .iter()
                    .filter(|c| {
                        &c.category == key && c.valid_at(at) && !used.contains(&c.id.as_str())
                    })
                    .collect();
                order(&mut pool, *pick, last_aired);
                let wanted = match (pick, count) {
                    (Pick::All, None) => pool.len() as u32,
                    (_, c) => c.unwrap_or(1),
                };
                let mut found = 0;
                let mut trimmed = 0;
                for c in pool {
                    if found >= wanted {
                        break;
                    }
                    if !fits(&mut budget, c.duration) {
                        trimmed += 1;
                        continue;
                    }
                    used.push(&c.id);
                    run.entries.push(Entry::of_item(c));
                    found += 1;
                }
                if found < wanted || (wanted == 0 && matches!(pick, Pick::All)) {
                    let reason = if trimmed > 0 {
                        format!("{trimmed} item(s) left out to keep within max_duration")
                    } else {
                        "no valid item in the category".to_string()
                    };
                    run.shortfalls.push(Shortfall {
                        category: key.clone(),
                        wanted: wanted.max(1),
                        found,
                        reason,
                        trimmed,
                    });
                }
            }
        }
    }
    if lead == p.segments.len() {
        for c in &urgent {
            if fits(&mut budget, c.duration) {
                run.entries.push(Entry::of_item(c));
            }
        }
    }
    run
}

/// How long a relay that begins at `begins` airs.
pub fn relay_length(l: RelayLength, begins: DateTime<Utc>, tz: chrono_tz::Tz) -> Duration {
    match l {
        RelayLength::For(d) => d,
        RelayLength::Until(t) => {
            let local = begins.with_timezone(&tz);
            let mut day = local.date_naive();
            loop {
                // The next `t` after it begins (a time that does not exist on a
                // daylight-saving day is skipped to the next day).
                if let Some(end) = tz.from_local_datetime(&day.and_time(t)).earliest() {
                    if end > local {
                        return (end.with_timezone(&Utc) - begins)
                            .to_std()
                            .unwrap_or_default();
                    }
                }
                day = day.succ_opt().unwrap_or(day);
            }
        }
    }
}

/// What a fallback airs: a stream, or files in the order a pick takes them (all the valid
/// items of a category, up to 50; they loop for as long as the fallback is needed).
fn fallback_entries(
    f: &Fallback,
    at: DateTime<Utc>,
    items: &[Item],
    last_aired: &HashMap<String, DateTime<Utc>>,
    len_of: &dyn Fn(&std::path::Path) -> Option<Duration>,
) -> Vec<Entry> {
    match f {
        Fallback::Relay { url, title } => vec![Entry::stream(url, title, None, vec![])],
        Fallback::File(p) => {
            let known = items.iter().find(|c| &c.path == p);
            vec![Entry::fixed(EntryKind::File, p, known, len_of(p))]
        }
        Fallback::Category { key, pick } => {
            let mut pool: Vec<&Item> = items
                .iter()
                .filter(|c| &c.category == key && c.valid_at(at))
                .collect();
            order(&mut pool, *pick, last_aired);
            pool.into_iter().take(50).map(Entry::of_item).collect()
        }
    }
}

fn fits(budget: &mut Option<Duration>, d: Duration) -> bool {
    match budget {
        None => true,
        Some(b) if *b >= d => {
            *b -= d;
            true
        }
        Some(_) => false,
    }
}

/// Sorts a category's valid items in the order a pick policy takes them.
pub fn order(pool: &mut [&Item], pick: Pick, last_aired: &HashMap<String, DateTime<Utc>>) {
    match pick {
        Pick::Newest | Pick::All => {
            pool.sort_by(|a, b| b.valid_from.cmp(&a.valid_from).then(a.id.cmp(&b.id)))
        }
        // Never aired first (newest of those first), then least recently aired.
        Pick::Rotate => pool.sort_by(|a, b| {
            let la = last_aired.get(&a.id);
            let lb = last_aired.get(&b.id);
            la.cmp(&lb)
                .then(b.valid_from.cmp(&a.valid_from))
                .then(a.id.cmp(&b.id))
        }),
    }
}

/// One planned airing, as `loaxa plan` shows it.
#[derive(Debug, Clone)]
pub struct Planned {
    pub at: DateTime<Utc>,
    pub programme: usize,
    pub running: Running,
}

/// The coming airings in `[from, until)` with what each would pick, advancing rotation as
/// if each planned airing happened.
pub fn plan(
    config: &Config,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    items: &[Item],
    history: &HashMap<String, DateTime<Utc>>,
    fixed_len: &dyn Fn(&std::path::Path) -> Option<Duration>,
) -> Vec<Planned> {
    let mut last = history.clone();
    occurrences(config, from, until)
        .into_iter()
        .map(|o| {
            let p = &config.programmes[o.programme];
            let running = running_order(p, o.at, config.station.timezone, items, &last, fixed_len);
            for e in &running.entries {
                if let Some(id) = &e.id {
                    last.insert(id.clone(), o.at);
                }
            }
            Planned {
                at: o.at,
                programme: o.programme,
                running,
            }
        })
        .collect()
}

/// Two airings whose time spans intersect, and which one wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    pub first: Occurrence,
    pub second: Occurrence,
    /// Index of the programme that airs.
    pub winner: usize,
}

/// A search for overlapping airings with bounded cost, whatever the schedule: 2 000
/// programmes at one instant are two million pairs, and listing them all took 3 s and
/// 370 MB. Each pair of programmes is kept once, at its first clash found.
#[derive(Debug)]
pub struct OverlapSearch {
    /// The pairs found, in the order found (time order within a window).
    pub found: Vec<Overlap>,
    seen: std::collections::HashSet<(usize, usize)>,
    max_pairs: usize,
    steps_left: usize,
    /// False when the search stopped at `max_pairs` or its step budget: there are at least
    /// as many pairs as found, maybe more.
    pub complete: bool,
}

impl OverlapSearch {
    /// Stops after `max_pairs` distinct pairs or `max_steps` comparisons of two airings.
    pub fn new(max_pairs: usize, max_steps: usize) -> OverlapSearch {
        OverlapSearch {
            found: Vec::new(),
            seen: std::collections::HashSet::new(),
            max_pairs,
            steps_left: max_steps,
            complete: true,
        }
    }

    /// Looks for airings in `[from, until)` that overlap, taking each programme's extent as
    /// its `max_duration` (a point when it has none), over a bounded sample: at most `cap`
    /// firings per `when` expression, and the window ends where the first programme's
    /// sample does (so no programme is missing from its end). A higher priority wins; at
    /// equal priority the one already on air does.
    pub fn scan(&mut self, config: &Config, from: DateTime<Utc>, until: DateTime<Utc>, cap: usize) {
        if !self.complete {
            return;
        }
        let mut end = until;
        let mut occ: Vec<Occurrence> = vec![];
        let all = crate::par::map(config.programmes.len(), 256, |i| {
            firings_capped(config, i, from, until, cap)
        });
        for (i, f) in all.into_iter().enumerate() {
            if f.len() >= cap {
                if let Some(last) = f.last() {
                    end = end.min(*last);
                }
            }
            let p = &config.programmes[i];
            occ.extend(
                f.into_iter()
                    .filter(|t| exclusion(config, p, *t).is_none())
                    .map(|at| Occurrence { at, programme: i }),
            );
        }
        occ.retain(|o| o.at <= end);
        occ.sort_by_key(|o| {
            (
                o.at,
                std::cmp::Reverse(config.programmes[o.programme].priority),
                o.programme,
            )
        });
        let extent = |o: &Occurrence| {
            config.programmes[o.programme]
                .max_duration
                .unwrap_or(Duration::ZERO)
        };
        for (i, a) in occ.iter().enumerate() {
            let a_end = a.at + chrono::Duration::from_std(extent(a)).unwrap_or_default();
            for b in &occ[i + 1..] {
                if b.at > a_end || (b.at == a_end && extent(a) > Duration::ZERO) {
                    break;
                }
                if self.steps_left == 0 || self.seen.len() >= self.max_pairs {
                    self.complete = false;
                    return;
                }
                self.steps_left -= 1;
                if b.programme == a.programme {
                    continue;
                }
                let key = (a.programme.min(b.programme), a.programme.max(b.programme));
                if !self.seen.insert(key) {
                    continue;
                }
                let (pa, pb) = (
                    config.programmes[a.programme].priority,
                    config.programmes[b.programme].priority,
                );
                let winner = if pb > pa { b.programme } else { a.programme };
                self.found.push(Overlap {
                    first: *a,
                    second: *b,
                    winner,
                });
            }
        }
    }
}
