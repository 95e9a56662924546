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
    pub total_airings: u32,
    pub total_airtime_minutes: f64,
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
                reason: a.reason.clone().unwrap_or_default(),
            });
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
    s
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn markdown(r: &MonthReport) -> String {
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
    let _ = writeln!(
        s,
        "| Chuyên mục | Lượt phát | Số bài | Thời lượng (phút) | Chỉ tiêu | Kết quả |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---|---|");
    for c in &r.categories {
        let t = c
            .target
            .as_ref()
            .map(target_vi)
            .unwrap_or_else(|| "—".into());
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {t} | {} |",
            md_cell(&c.name),
            c.airings,
            c.distinct_items,
            num(c.airtime_minutes),
            met_vi(c)
        );
    }
    for c in r.categories.iter().filter(|c| !c.items.is_empty()) {
        let _ = writeln!(s, "\n### {}\n", c.name);
        let _ = writeln!(s, "| Bài | Số lượt | Lần đầu | Lần cuối |");
        let _ = writeln!(s, "|---|---:|---|---|");
        for i in &c.items {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                md_cell(&i.title),
                i.count,
                i.first,
                i.last
            );
        }
    }
    let _ = writeln!(s, "\n## 2. Chương trình bị lỡ, lỗi hoặc bị ngắt\n");
    if r.problems.is_empty() {
        let _ = writeln!(s, "Không có.");
    } else {
        let _ = writeln!(s, "| Thời điểm | Chương trình | Bài | Tình trạng | Lý do |");
        let _ = writeln!(s, "|---|---|---|---|---|");
        for p in &r.problems {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                p.at,
                md_cell(&p.programme),
                md_cell(&p.title),
                p.status,
                md_cell(&p.reason)
            );
        }
    }
    let _ = writeln!(s, "\n## 3. Phát thanh khẩn cấp\n");
    if r.emergencies.is_empty() {
        let _ = writeln!(s, "Không có.");
    }
    for e in &r.emergencies {
        let _ = writeln!(
            s,
            "- {} — {} ({}, {} giây)",
            e.at,
            md_cell(&e.title),
            e.status,
            e.played_seconds
        );
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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
    let _ = writeln!(s, "<h2>1. Kết quả theo chuyên mục</h2>\n<table><tr><th>Chuyên mục</th><th>Lượt phát</th><th>Số bài</th><th>Thời lượng (phút)</th><th>Chỉ tiêu</th><th>Kết quả</th></tr>");
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
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"{class}\">{}</td></tr>",
            esc(&c.name),
            c.airings,
            c.distinct_items,
            num(c.airtime_minutes),
            esc(&t),
            esc(&met_vi(c))
        );
    }
    let _ = writeln!(s, "</table>");
    for c in r
        .categories
        .iter()
        .filter(|c| !c.items.is_empty() || !c.weeks.is_empty())
    {
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
        if !c.items.is_empty() {
            let _ = writeln!(
                s,
                "<table><tr><th>Bài</th><th>Số lượt</th><th>Lần đầu</th><th>Lần cuối</th></tr>"
            );
            for i in &c.items {
                let _ = writeln!(
                    s,
                    "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&i.title),
                    i.count,
                    i.first,
                    i.last
                );
            }
            let _ = writeln!(s, "</table>");
        }
    }
    let _ = writeln!(s, "<h2>2. Chương trình bị lỡ, lỗi hoặc bị ngắt</h2>");
    if r.problems.is_empty() {
        let _ = writeln!(s, "<p>Không có.</p>");
    } else {
        let _ = writeln!(s, "<table><tr><th>Thời điểm</th><th>Chương trình</th><th>Bài</th><th>Tình trạng</th><th>Lý do</th></tr>");
        for p in &r.problems {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                p.at,
                esc(&p.programme),
                esc(&p.title),
                p.status,
                esc(&p.reason)
            );
        }
        let _ = writeln!(s, "</table>");
    }
    let _ = writeln!(s, "<h2>3. Phát thanh khẩn cấp</h2>");
    if r.emergencies.is_empty() {
        let _ = writeln!(s, "<p>Không có.</p>");
    } else {
        let _ = writeln!(s, "<table><tr><th>Thời điểm</th><th>Bản tin</th><th>Tình trạng</th><th>Thời lượng (giây)</th></tr>");
        for e in &r.emergencies {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                e.at,
                esc(&e.title),
                e.status,
                e.played_seconds
            );
        }
        let _ = writeln!(s, "</table>");
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
