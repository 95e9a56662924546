//! The monthly report for the commune's CCHC report: per category, what aired, how many
//! distinct items, and whether the plan's target was met. Counting is a pure function of
//! the month's rows and the config; rendering is text, Markdown, HTML (A4) or JSON.
//!
//! What counts: an airing counts when it `completed`; airtime adds up what reached the
//! output (completed and interrupted). Distinct items are distinct contents (hash), so a
//! bulletin overwritten with new content is a new item and one file under two names is
//! one. Month and week boundaries are the station's local midnight.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Datelike, Duration as CDuration, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use serde::Serialize;

use super::{Airing, Status, Trigger};
use crate::config::{Config, Measure, Period, Priority};
use crate::local;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Md,
    Html,
    Json,
}

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn parse(s: &str) -> Result<Month, String> {
        let bad = || format!("`{s}` is not a month; write it as YYYY-MM, e.g. 2026-11");
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        let m = Month {
            year: y.parse().map_err(|_| bad())?,
            month: m.parse().map_err(|_| bad())?,
        };
        m.first_day().ok_or_else(bad)?;
        Ok(m)
    }

    pub fn of(t: DateTime<Utc>, tz: Tz) -> Month {
        let l = t.with_timezone(&tz);
        Month {
            year: l.year(),
            month: l.month(),
        }
    }

    pub fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// `[start, end)` of the month in UTC, from local midnights.
    pub fn range(self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let a = self.first_day().expect("valid month");
        let b = self.next().first_day().expect("valid month");
        (local::start_of_day(a, tz), local::start_of_day(b, tz))
    }

    pub fn label(self) -> String {
        format!("{:02}/{}", self.month, self.year)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MonthReport {
    pub station: String,
    pub report_to: String,
    pub month: String,
    pub timezone: String,
    pub generated_at: String,
    pub categories: Vec<CategoryReport>,
    pub problems: Vec<Problem>,
    pub emergencies: Vec<EmergencyAiring>,
    /// Relay airtime per source, in order of first airing.
    pub relays: Vec<RelayReport>,
    pub total_airings: u32,
    pub total_airtime_minutes: f64,
}

/// One relayed source over the month: how often and how long it aired, and how much of
/// its windows went to fallbacks or silence instead.
#[derive(Debug, Clone, Serialize)]
pub struct RelayReport {
    pub title: String,
    pub url: String,
    /// Windows that ran to their end.
    pub airings: u32,
    pub airtime_minutes: f64,
    pub stream_minutes: f64,
    pub fallback_minutes: f64,
    pub silence_minutes: f64,
}

#[derive(Default)]
struct RelayAcc {
    url: String,
    airings: u32,
    played: Duration,
    stream_ms: u64,
    fallback_ms: u64,
    silence_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryReport {
    pub category: String,
    pub name: String,
    pub airings: u32,
    pub distinct_items: u32,
    pub airtime_minutes: f64,
    pub target: Option<TargetView>,
    /// None when the category has no target.
    pub met: Option<bool>,
    /// How far above (positive) or below (negative) the target; for weekly targets, the
    /// worst full week.
    pub margin: Option<i64>,
    /// Per-week counts for weekly targets.
    pub weeks: Vec<WeekCount>,
    pub items: Vec<ItemLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetView {
    pub measure: &'static str,
    pub count: u32,
    pub per: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct WeekCount {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Weeks cut by the month's start or end are shown but not judged.
    pub full: bool,
    pub count: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemLine {
    pub title: String,
    pub path: String,
    pub content_hash: String,
    pub first: String,
    pub last: String,
    pub count: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub at: String,
    pub programme: String,
    pub category: String,
    pub title: String,
    pub status: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmergencyAiring {
    pub at: String,
    pub title: String,
    pub status: &'static str,
    pub played_seconds: u64,
}

#[derive(Default)]
struct Acc {
    airings: u32,
    played: Duration,
    items: BTreeMap<String, ItemAcc>,
    by_day: HashMap<NaiveDate, u32>,
    /// Which items (by index in `items` order of arrival) aired each day.
    distinct_by_day: HashMap<NaiveDate, std::collections::HashSet<usize>>,
    index: HashMap<String, usize>,
}

struct ItemAcc {
    title: String,
    path: String,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    count: u32,
}

/// Accumulates a month's rows into a report.
pub struct Builder<'a> {
    config: &'a Config,
    month: Month,
    cats: BTreeMap<String, Acc>,
    problems: Vec<Problem>,
    emergencies: Vec<EmergencyAiring>,
    relays: Vec<(String, RelayAcc)>,
    total_airings: u32,
    total_played: Duration,
}

impl<'a> Builder<'a> {
    pub fn new(config: &'a Config, month: Month) -> Self {
        Builder {
            config,
            month,
            cats: BTreeMap::new(),
            problems: vec![],
            emergencies: vec![],
            relays: vec![],
            total_airings: 0,
            total_played: Duration::ZERO,
        }
    }

    pub fn add(&mut self, a: &Airing) {
        let tz = self.config.station.timezone;
        let Some(at) = a.at() else { return };
        let fmt = |t: DateTime<Utc>| t.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string();
        let played = match a.status {
            Status::Completed | Status::Interrupted => a.played.unwrap_or_default(),
            _ => Duration::ZERO,
        };
        self.total_played += played;
        if a.status == Status::Completed {
            self.total_airings += 1;
        }
        if a.trigger == Trigger::Emergency || a.priority == Priority::Emergency {
            self.emergencies.push(EmergencyAiring {
                at: fmt(at),
                title: a.title.clone().unwrap_or_default(),
                status: a.status.vi(),
                played_seconds: played.as_secs(),
            });
        }
        if matches!(
            a.status,
            Status::Failed | Status::Missed | Status::Skipped | Status::Interrupted
        ) {
            self.problems.push(Problem {
                at: fmt(at),
                programme: a.programme.clone().unwrap_or_default(),
                category: a.category.clone().unwrap_or_default(),
                title: a.title.clone().unwrap_or_default(),
                status: a.status.vi(),
                reason: a.reason_for_people().unwrap_or_default().to_string(),
            });
        }
        let source = a.item_path.as_deref().unwrap_or_default();
        if a.detail.is_some() || crate::media::Source::is_stream(source) {
            self.add_relay(a, played);
        }
        let Some(cat) = &a.category else { return };
        let acc = self.cats.entry(cat.clone()).or_default();
        acc.played += played;
        if a.status != Status::Completed {
            return;
        }
        acc.airings += 1;
        let day = at.with_timezone(&tz).date_naive();
        *acc.by_day.entry(day).or_default() += 1;
        let key = a
            .content_hash
            .clone()
            .or_else(|| a.item_path.clone())
            .unwrap_or_default();
        let next = acc.index.len();
        let ix = *acc.index.entry(key.clone()).or_insert(next);
        acc.distinct_by_day.entry(day).or_default().insert(ix);
        let it = acc.items.entry(key).or_insert_with(|| ItemAcc {
            title: a.title.clone().unwrap_or_default(),
            path: a.item_path.clone().unwrap_or_default(),
            first: at,
            last: at,
            count: 0,
        });
        it.first = it.first.min(at);
        it.last = it.last.max(at);
        it.count += 1;
    }

    /// A relay's row. Its detail (the relay's summary) says how its window was made up;
    /// a row without one (simulated, or cut by a crash before the summary was written)
    /// still counts its airtime.
    fn add_relay(&mut self, a: &Airing, played: Duration) {
        let v = a
            .detail
            .as_deref()
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
            .unwrap_or_default();
        let title = a.title.clone().unwrap_or_default();
        let i = match self.relays.iter().position(|(t, _)| *t == title) {
            Some(i) => i,
            None => {
                self.relays.push((title, RelayAcc::default()));
                self.relays.len() - 1
            }
        };
        let acc = &mut self.relays[i].1;
        acc.url = v["url"]
            .as_str()
            .or(a.item_path.as_deref())
            .unwrap_or_default()
            .to_string();
        acc.played += played;
        if a.status == Status::Completed {
            acc.airings += 1;
        }
        for s in v["spans"].as_array().into_iter().flatten() {
            let len = s["to_ms"].as_u64().unwrap_or(0) - s["from_ms"].as_u64().unwrap_or(0);
            match s["fallback"].as_u64() {
                None => acc.stream_ms += len,
                Some(0) => acc.silence_ms += len,
                Some(_) => acc.fallback_ms += len,
            }
        }
    }

    pub fn finish(self, now: DateTime<Utc>) -> MonthReport {
        let tz = self.config.station.timezone;
        let fmt = |t: DateTime<Utc>| t.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string();
        let mut keys: Vec<String> = self
            .config
            .categories
            .iter()
            .map(|c| c.key.clone())
            .collect();
        keys.extend(
            self.cats
                .keys()
                .filter(|k| !keys.contains(k))
                .cloned()
                .collect::<Vec<_>>(),
        );
        let mut cats = self.cats;
        let categories = keys
            .into_iter()
            .filter_map(|k| {
                let acc = cats.remove(&k).unwrap_or_default();
                let cfg = self.config.category(&k);
                let target = cfg.and_then(|c| c.target);
                // Categories with neither a target nor anything aired add nothing.
                if target.is_none() && acc.airings == 0 && acc.played.is_zero() {
                    return None;
                }
                let distinct = acc.items.len() as u32;
                let mut weeks = vec![];
                let (met, margin) = match target {
                    None => (None, None),
                    Some(t) => match t.per {
                        Period::Month => {
                            let got = match t.measure {
                                Measure::DistinctItems => distinct,
                                Measure::Airings => acc.airings,
                            } as i64;
                            (Some(got >= t.count as i64), Some(got - t.count as i64))
                        }
                        Period::Week => {
                            weeks = week_counts(self.month, &acc, t.measure);
                            let worst = weeks
                                .iter()
                                .filter(|w| w.full)
                                .map(|w| w.count as i64 - t.count as i64)
                                .min();
                            match worst {
                                Some(m) => (Some(m >= 0), Some(m)),
                                None => (None, None),
                            }
                        }
                    },
                };
                let mut items: Vec<ItemLine> = acc
                    .items
                    .iter()
                    .map(|(h, i)| ItemLine {
                        title: i.title.clone(),
                        path: i.path.clone(),
                        content_hash: h.clone(),
                        first: fmt(i.first),
                        last: fmt(i.last),
                        count: i.count,
                    })
                    .collect();
                items.sort_by(|a, b| {
                    acc.items[&a.content_hash]
                        .first
                        .cmp(&acc.items[&b.content_hash].first)
                });
                Some(CategoryReport {
                    name: cfg.map(|c| c.name.clone()).unwrap_or_else(|| k.clone()),
                    category: k,
                    airings: acc.airings,
                    distinct_items: distinct,
                    airtime_minutes: minutes(acc.played),
                    target: target.map(|t| TargetView {
                        measure: match t.measure {
                            Measure::DistinctItems => "distinct_items",
                            Measure::Airings => "airings",
                        },
                        count: t.count,
                        per: match t.per {
                            Period::Week => "week",
                            Period::Month => "month",
                        },
                    }),
                    met,
                    margin,
                    weeks,
                    items,
                })
            })
            .collect();
        MonthReport {
            station: self.config.station.name.clone(),
            report_to: self.config.station.report_to.clone(),
            month: format!("{}-{:02}", self.month.year, self.month.month),
            timezone: tz.name().to_string(),
            generated_at: local::rfc3339(now, tz),
            categories,
            problems: self.problems,
            emergencies: self.emergencies,
            relays: self
                .relays
                .into_iter()
                .map(|(title, r)| RelayReport {
                    title,
                    url: r.url,
                    airings: r.airings,
                    airtime_minutes: minutes(r.played),
                    stream_minutes: minutes(Duration::from_millis(r.stream_ms)),
                    fallback_minutes: minutes(Duration::from_millis(r.fallback_ms)),
                    silence_minutes: minutes(Duration::from_millis(r.silence_ms)),
                })
                .collect(),
            total_airings: self.total_airings,
            total_airtime_minutes: minutes(self.total_played),
        }
    }
}

fn minutes(d: Duration) -> f64 {
    (d.as_secs_f64() / 60.0 * 10.0).round() / 10.0
}

/// Monday-to-Sunday weeks touching the month, with the count in each (within the month).
fn week_counts(month: Month, acc: &Acc, measure: Measure) -> Vec<WeekCount> {
    let first = month.first_day().expect("valid");
    let last = month.next().first_day().expect("valid") - CDuration::days(1);
    let mut start = first - CDuration::days(first.weekday().num_days_from_monday() as i64);
    let mut out = vec![];
    while start <= last {
        let end = start + CDuration::days(6);
        let in_week = |d: &NaiveDate| *d >= start && *d <= end;
        let count = match measure {
            Measure::Airings => acc
                .by_day
                .iter()
                .filter(|(d, _)| in_week(d))
                .map(|(_, n)| *n)
                .sum(),
            Measure::DistinctItems => {
                let seen: std::collections::HashSet<usize> = acc
                    .distinct_by_day
                    .iter()
                    .filter(|(d, _)| in_week(d))
                    .flat_map(|(_, s)| s.iter().copied())
                    .collect();
                seen.len() as u32
            }
        };
        out.push(WeekCount {
            from: start.max(first),
            to: end.min(last),
            full: start >= first && end <= last,
            count,
        });
        start += CDuration::days(7);
    }
    debug_assert!(out
        .iter()
        .all(|w| w.from.weekday() == Weekday::Mon || w.from == first));
    out
}

// ---------------------------------------------------------------------------------------
// Rendering

fn target_vi(t: &TargetView) -> String {
    let what = if t.measure == "distinct_items" {
        "bài"
    } else {
        "lượt phát"
    };
    let per = if t.per == "week" {
        Period::Week.vi()
    } else {
        Period::Month.vi()
    };
    format!("{} {what}/{per}", t.count)
}

fn met_vi(c: &CategoryReport) -> String {
    match (c.met, c.margin) {
        (Some(true), Some(0)) => "Đạt".into(),
        (Some(true), Some(m)) => format!("Đạt (vượt {m})"),
        (Some(false), Some(m)) => format!("Chưa đạt (thiếu {})", -m),
        _ => "—".into(),
    }
}

fn num(x: f64) -> String {
    // Vietnamese decimal comma.
    format!("{x:.1}").replace('.', ",")
}

fn title_line(r: &MonthReport) -> String {
    let (y, m) = r.month.split_once('-').unwrap_or(("", ""));
    format!("Báo cáo kết quả phát thanh tháng {m}/{y}")
}

pub fn render(r: &MonthReport, format: Format) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(r).expect("serializable") + "\n",
        Format::Text => text(r),
        Format::Md => markdown(r),
        Format::Html => html(r),
    }
}

fn text(r: &MonthReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", r.station.to_uppercase());
    let _ = writeln!(s, "{}", title_line(r).to_uppercase());
    if !r.report_to.is_empty() {
        let _ = writeln!(s, "Kính gửi: {}", r.report_to);
    }
    let _ = writeln!(
        s,
        "Tổng số lượt phát: {}; tổng thời lượng: {} phút.\n",
        r.total_airings,
        num(r.total_airtime_minutes)
    );
    let _ = writeln!(s, "1. Kết quả theo chuyên mục");
    for c in &r.categories {
        let t = c
            .target
            .as_ref()
            .map(target_vi)
            .unwrap_or_else(|| "không đặt".into());
        let _ = writeln!(
            s,
            "- {}: {} lượt phát, {} bài, {} phút; chỉ tiêu: {t}; kết quả: {}",
            c.name,
            c.airings,
            c.distinct_items,
            num(c.airtime_minutes),
            met_vi(c)
        );
        for w in c.weeks.iter() {
            let _ = writeln!(
                s,
                "    tuần {}–{}: {}{}",
                w.from.format("%d/%m"),
                w.to.format("%d/%m"),
                w.count,
                if w.full {
                    ""
                } else {
                    " (tuần không trọn, không xét)"
                }
            );
        }
        for i in &c.items {
            let _ = writeln!(
                s,
                "    · {} — {} lượt, lần đầu {}, lần cuối {}",
                i.title, i.count, i.first, i.last
            );
        }
    }
    let _ = writeln!(s, "\n2. Chương trình bị lỡ, lỗi hoặc bị ngắt");
    if r.problems.is_empty() {
        let _ = writeln!(s, "- Không có.");
    }
    for p in &r.problems {
        let _ = writeln!(
            s,
            "- {} {} {}: {} — {}",
            p.at, p.programme, p.title, p.status, p.reason
        );
    }
    let _ = writeln!(s, "\n3. Phát thanh khẩn cấp");
    if r.emergencies.is_empty() {
        let _ = writeln!(s, "- Không có.");
    }
    for e in &r.emergencies {
        let _ = writeln!(
            s,
            "- {} {} ({}, {} giây)",
            e.at, e.title, e.status, e.played_seconds
        );
    }
    if !r.relays.is_empty() {
        let _ = writeln!(s, "\n4. Tiếp sóng");
        for x in &r.relays {
            let _ = writeln!(s, "- {}", relay_vi(x));
        }
    }
    s
}

/// "Tiếp sóng VOV1: 30 lượt, 15,0 giờ (…)": the line a commune reports for a relay.
fn relay_vi(x: &RelayReport) -> String {
    let mut out = format!(
        "Tiếp sóng {}: {} lượt, {} giờ",
        x.title,
        x.airings,
        num(x.airtime_minutes / 60.0)
    );
    if x.fallback_minutes > 0.0 || x.silence_minutes > 0.0 {
        let _ = write!(
            out,
            " (nguồn {} phút, dự phòng {} phút, im lặng {} phút)",
            num(x.stream_minutes),
            num(x.fallback_minutes),
            num(x.silence_minutes)
        );
    }
    out
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A table of the report, written by the Markdown and HTML renderers alike: column
/// headers (numeric columns right-aligned) and rows of cells, each with an HTML class.
struct Table {
    cols: &'static [(&'static str, bool)],
    rows: Vec<Vec<(String, &'static str)>>,
}

impl Table {
    fn new(cols: &'static [(&'static str, bool)]) -> Table {
        Table { cols, rows: vec![] }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.into_iter().map(|c| (c, "")).collect());
    }

    fn md(&self, s: &mut String) {
        let head: Vec<&str> = self.cols.iter().map(|c| c.0).collect();
        let align: Vec<&str> = (self.cols.iter())
            .map(|c| if c.1 { "---:" } else { "---" })
            .collect();
        let _ = writeln!(s, "| {} |", head.join(" | "));
        let _ = writeln!(s, "|{}|", align.join("|"));
        for r in &self.rows {
            let cells: Vec<String> = r.iter().map(|c| md_cell(&c.0)).collect();
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        }
    }

    fn html(&self, s: &mut String) {
        let _ = write!(s, "<table><tr>");
        for c in self.cols {
            let _ = write!(s, "<th>{}</th>", esc(c.0));
        }
        let _ = writeln!(s, "</tr>");
        for r in &self.rows {
            let _ = write!(s, "<tr>");
            for ((text, class), col) in r.iter().zip(self.cols) {
                let class = if class.is_empty() && col.1 {
                    "n"
                } else {
                    class
                };
                if class.is_empty() {
                    let _ = write!(s, "<td>{}</td>", esc(text));
                } else {
                    let _ = write!(s, "<td class=\"{class}\">{}</td>", esc(text));
                }
            }
            let _ = writeln!(s, "</tr>");
        }
        let _ = writeln!(s, "</table>");
    }
}

/// The report's tables, shared by the Markdown and HTML renderers.
struct Tables {
    categories: Table,
    /// One per category, in the order of `MonthReport::categories`.
    items: Vec<Table>,
    problems: Table,
    emergencies: Table,
    relays: Table,
}

fn tables(r: &MonthReport) -> Tables {
    let mut categories = Table::new(&[
        ("Chuyên mục", false),
        ("Lượt phát", true),
        ("Số bài", true),
        ("Thời lượng (phút)", true),
        ("Chỉ tiêu", false),
        ("Kết quả", false),
    ]);
    for c in &r.categories {
        let t = c
            .target
            .as_ref()
            .map(target_vi)
            .unwrap_or_else(|| "—".into());
        let class = match c.met {
            Some(true) => "met",
            Some(false) => "unmet",
            None => "",
        };
        categories.rows.push(vec![
            (c.name.clone(), ""),
            (c.airings.to_string(), ""),
            (c.distinct_items.to_string(), ""),
            (num(c.airtime_minutes), ""),
            (t, ""),
            (met_vi(c), class),
        ]);
    }
    let items = (r.categories.iter())
        .map(|c| {
            let mut t = Table::new(&[
                ("Bài", false),
                ("Số lượt", true),
                ("Lần đầu", false),
                ("Lần cuối", false),
            ]);
            for i in &c.items {
                t.row(vec![
                    i.title.clone(),
                    i.count.to_string(),
                    i.first.clone(),
                    i.last.clone(),
                ]);
            }
            t
        })
        .collect();
    let mut problems = Table::new(&[
        ("Thời điểm", false),
        ("Chương trình", false),
        ("Bài", false),
        ("Tình trạng", false),
        ("Lý do", false),
    ]);
    for p in &r.problems {
        problems.row(vec![
            p.at.clone(),
            p.programme.clone(),
            p.title.clone(),
            p.status.to_string(),
            p.reason.clone(),
        ]);
    }
    let mut emergencies = Table::new(&[
        ("Thời điểm", false),
        ("Bản tin", false),
        ("Tình trạng", false),
        ("Thời lượng (giây)", true),
    ]);
    for e in &r.emergencies {
        emergencies.row(vec![
            e.at.clone(),
            e.title.clone(),
            e.status.to_string(),
            e.played_seconds.to_string(),
        ]);
    }
    let mut relays = Table::new(&[
        ("Tiếp sóng", false),
        ("Lượt", true),
        ("Giờ", true),
        ("Từ nguồn (phút)", true),
        ("Dự phòng (phút)", true),
        ("Im lặng (phút)", true),
    ]);
    for x in &r.relays {
        relays.row(vec![
            x.title.clone(),
            x.airings.to_string(),
            num(x.airtime_minutes / 60.0),
            num(x.stream_minutes),
            num(x.fallback_minutes),
            num(x.silence_minutes),
        ]);
    }
    Tables {
        categories,
        items,
        problems,
        emergencies,
        relays,
    }
}

/// Sections 2 and 3 of the report, with "none" where they are empty.
fn problem_sections(t: &Tables) -> [(&'static str, &Table); 2] {
    [
        ("2. Chương trình bị lỡ, lỗi hoặc bị ngắt", &t.problems),
        ("3. Phát thanh khẩn cấp", &t.emergencies),
    ]
}

fn markdown(r: &MonthReport) -> String {
    let t = tables(r);
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", title_line(r));
    let _ = writeln!(s, "**{}**", r.station);
    if !r.report_to.is_empty() {
        let _ = writeln!(s, "\nKính gửi: {}", r.report_to);
    }
    let _ = writeln!(
        s,
        "\nTổng số lượt phát: {}; tổng thời lượng: {} phút.\n",
        r.total_airings,
        num(r.total_airtime_minutes)
    );
    let _ = writeln!(s, "## 1. Kết quả theo chuyên mục\n");
    t.categories.md(&mut s);
    for (c, items) in r.categories.iter().zip(&t.items) {
        if !items.rows.is_empty() {
            let _ = writeln!(s, "\n### {}\n", c.name);
            items.md(&mut s);
        }
    }
    for (title, table) in problem_sections(&t) {
        let _ = writeln!(s, "\n## {title}\n");
        if table.rows.is_empty() {
            let _ = writeln!(s, "Không có.");
        } else {
            table.md(&mut s);
        }
    }
    if !t.relays.rows.is_empty() {
        let _ = writeln!(s, "\n## 4. Tiếp sóng\n");
        t.relays.md(&mut s);
    }
    s
}

fn html(r: &MonthReport) -> String {
    let mut s = String::new();
    let (y, m) = r.month.split_once('-').unwrap_or(("", ""));
    let _ = write!(
        s,
        r#"<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>{title}</title>
<style>
@page {{ size: A4; margin: 20mm 18mm 20mm 25mm; }}
body {{ font-family: "Times New Roman", "Liberation Serif", serif; font-size: 13pt; line-height: 1.35; color: #000; max-width: 170mm; margin: 0 auto; }}
.head {{ display: flex; justify-content: space-between; text-align: center; margin-bottom: 6mm; }}
.head div {{ width: 48%; }}
h1 {{ text-align: center; font-size: 15pt; text-transform: uppercase; margin: 6mm 0 2mm; }}
h2 {{ font-size: 13pt; margin: 5mm 0 2mm; }}
h3 {{ font-size: 12pt; margin: 4mm 0 1mm; font-style: italic; }}
table {{ width: 100%; border-collapse: collapse; font-size: 11pt; page-break-inside: auto; }}
tr {{ page-break-inside: avoid; }}
th, td {{ border: 1px solid #000; padding: 1.5mm 2mm; vertical-align: top; }}
th {{ background: #eee; }}
td.n {{ text-align: right; }}
.met {{ font-weight: bold; }} .unmet {{ font-weight: bold; color: #b00; }}
.sign {{ display: flex; justify-content: flex-end; margin-top: 12mm; text-align: center; }}
.sign div {{ width: 60%; }}
@media print {{ body {{ max-width: none; }} }}
</style></head><body>
<div class="head"><div><b>{station}</b></div><div><b>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</b><br><u>Độc lập - Tự do - Hạnh phúc</u></div></div>
<h1>Báo cáo kết quả phát thanh tháng {m}/{y}</h1>
"#,
        title = esc(&title_line(r)),
        station = esc(&r.station.to_uppercase()),
    );
    if !r.report_to.is_empty() {
        let _ = writeln!(
            s,
            "<p style=\"text-align:center\">Kính gửi: {}</p>",
            esc(&r.report_to)
        );
    }
    let _ = writeln!(
        s,
        "<p>Tổng số lượt phát trong tháng: <b>{}</b>; tổng thời lượng: <b>{} phút</b>.</p>",
        r.total_airings,
        num(r.total_airtime_minutes)
    );
    let t = tables(r);
    let _ = writeln!(s, "<h2>1. Kết quả theo chuyên mục</h2>");
    t.categories.html(&mut s);
    for (c, items) in r.categories.iter().zip(&t.items) {
        if c.items.is_empty() && c.weeks.is_empty() {
            continue;
        }
        let _ = writeln!(s, "<h3>{}</h3>", esc(&c.name));
        if !c.weeks.is_empty() {
            let weeks: Vec<String> = c
                .weeks
                .iter()
                .map(|w| {
                    format!(
                        "{}–{}: {}{}",
                        w.from.format("%d/%m"),
                        w.to.format("%d/%m"),
                        w.count,
                        if w.full { "" } else { "*" }
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "<p>Theo tuần: {} (* tuần không trọn trong tháng, không xét chỉ tiêu)</p>",
                esc(&weeks.join("; "))
            );
        }
        if !items.rows.is_empty() {
            items.html(&mut s);
        }
    }
    for (title, table) in problem_sections(&t) {
        let _ = writeln!(s, "<h2>{title}</h2>");
        if table.rows.is_empty() {
            let _ = writeln!(s, "<p>Không có.</p>");
        } else {
            table.html(&mut s);
        }
    }
    if !t.relays.rows.is_empty() {
        let _ = writeln!(s, "<h2>4. Tiếp sóng</h2>");
        t.relays.html(&mut s);
    }
    let gen = r.generated_at.get(..10).unwrap_or("");
    let _ = writeln!(
        s,
        "<div class=\"sign\"><div><i>Lập ngày {}</i><br><b>NGƯỜI LẬP BÁO CÁO</b><br><br><br><br></div></div>\n<p style=\"font-size:9pt;color:#555\">Số liệu từ nhật ký phát loaxa; giờ theo múi {}.</p>\n</body></html>",
        NaiveDate::parse_from_str(gen, "%Y-%m-%d").map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or_default(),
        esc(&r.timezone)
    );
    s
}
