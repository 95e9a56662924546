//! `loaxa export`: the airtime log as CSV (for Excel), JSON lines (for tools) or XLSX.
//! Rows stream from the database to the file: memory stays flat however long the log.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{Airing, EachError, Store};
use crate::config::Config;
use crate::local;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Xlsx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

/// Column headers, in the order of [`Row::cells`].
fn headers(lang: Lang) -> [&'static str; 15] {
    match lang {
        Lang::Vi => [
            "STT",
            "Chương trình",
            "Chuyên mục",
            "Mức ưu tiên",
            "Hình thức phát",
            "Tên bài",
            "Tệp",
            "Mã nội dung",
            "Giờ theo lịch",
            "Bắt đầu",
            "Kết thúc",
            "Thời lượng dự kiến (giây)",
            "Thời lượng đã phát (giây)",
            "Trạng thái",
            "Lý do",
        ],
        Lang::En => [
            "ID",
            "Programme",
            "Category",
            "Priority",
            "Trigger",
            "Title",
            "File",
            "Content hash",
            "Scheduled",
            "Started",
            "Ended",
            "Planned (s)",
            "Played (s)",
            "Status",
            "Reason",
        ],
    }
}

/// What to export.
pub struct Options<'a> {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub category: Option<&'a str>,
    pub format: Format,
    pub lang: Lang,
}

/// Writes the export of `store` to `out` (CSV, JSON) or to the file `xlsx_path` (XLSX).
/// Returns the number of rows written.
pub fn export(
    store: &Store,
    config: &Config,
    opts: &Options,
    out: &mut dyn Write,
    xlsx_path: Option<&Path>,
) -> Result<u64, ExportError> {
    let tz = config.station.timezone;
    let mut n = 0u64;
    match opts.format {
        Format::Csv => {
            out.write_all(b"\xEF\xBB\xBF")?; // BOM: Excel then reads the file as UTF-8
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(out);
            w.write_record(headers(opts.lang))?;
            store.each_between(opts.from, opts.to, opts.category, |a| {
                n += 1;
                w.write_record(text_cells(&a, config, tz, opts.lang))
                    .map_err(std::io::Error::other)
            })?;
            w.flush()?;
        }
        Format::Json => {
            let mut buf = std::io::BufWriter::with_capacity(1 << 16, out);
            store.each_between(opts.from, opts.to, opts.category, |a| {
                n += 1;
                serde_json::to_writer(&mut buf, &JsonRow::new(&a, tz))?;
                buf.write_all(b"\n")
            })?;
            buf.flush()?;
        }
        Format::Xlsx => {
            let path = xlsx_path.ok_or(ExportError::XlsxNeedsFile)?;
            n = xlsx(store, config, opts, path)?;
        }
    }
    Ok(n)
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] super::Error),
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write the CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write the spreadsheet: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("an XLSX export is a file: give it with --output FILE.xlsx")]
    XlsxNeedsFile,
}

impl From<EachError> for ExportError {
    fn from(e: EachError) -> Self {
        match e {
            EachError::Store(s) => ExportError::Store(s),
            EachError::Io(i) => ExportError::Io(i),
        }
    }
}

fn local_time(t: Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn secs(d: Option<std::time::Duration>) -> String {
    d.map(|d| format!("{:.0}", d.as_secs_f64()))
        .unwrap_or_default()
}

/// The category's display name when the config knows it, else its key.
pub fn category_name(config: &Config, key: Option<&str>) -> String {
    match key {
        Some(k) => config
            .category(k)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| k.to_string()),
        None => String::new(),
    }
}

/// The text columns of a row, by column index; shared by CSV and XLSX (XLSX writes the
/// others as numbers and dates).
fn text_columns(a: &Airing, config: &Config, lang: Lang) -> [(usize, String); 9] {
    let pick =
        |vi: &'static str, en: &'static str| if lang == Lang::Vi { vi } else { en }.to_string();
    [
        (1, a.programme.clone().unwrap_or_default()),
        (2, category_name(config, a.category.as_deref())),
        (3, pick(a.priority.vi(), a.priority.as_str())),
        (4, pick(a.trigger.vi(), a.trigger.as_str())),
        (5, a.title.clone().unwrap_or_default()),
        (6, a.item_path.clone().unwrap_or_default()),
        (7, a.content_hash.clone().unwrap_or_default()),
        (13, pick(a.status.vi(), a.status.as_str())),
        (
            14,
            match lang {
                Lang::Vi => a.reason_for_people(),
                _ => a.reason.as_deref(),
            }
            .unwrap_or_default()
            .to_string(),
        ),
    ]
}

fn text_cells(a: &Airing, config: &Config, tz: Tz, lang: Lang) -> [String; 15] {
    let mut out: [String; 15] = Default::default();
    out[0] = a.id.to_string();
    for (c, text) in text_columns(a, config, lang) {
        out[c] = text;
    }
    out[8] = local_time(a.scheduled_at, tz);
    out[9] = local_time(a.started_at, tz);
    out[10] = local_time(a.ended_at, tz);
    out[11] = secs(a.planned);
    out[12] = secs(a.played);
    out
}

/// One JSON line: machine field names, RFC 3339 times with the station's offset.
#[derive(Serialize)]
pub struct JsonRow<'a> {
    id: i64,
    programme: Option<&'a str>,
    category: Option<&'a str>,
    priority: &'static str,
    trigger: &'static str,
    item_path: Option<&'a str>,
    title: Option<&'a str>,
    content_hash: Option<&'a str>,
    scheduled_at: Option<String>,
    started_at: Option<String>,
    ended_at: Option<String>,
    planned_ms: Option<u64>,
    played_ms: Option<u64>,
    status: &'static str,
    reason: Option<&'a str>,
    reason_vi: Option<&'a str>,
    lufs: Option<f64>,
    peak_db: Option<f64>,
    longest_silence_ms: Option<u64>,
    /// A relay's window: the stream, bytes, and what aired in each stretch.
    relay: Option<serde_json::Value>,
}

impl<'a> JsonRow<'a> {
    pub fn new(a: &'a Airing, tz: Tz) -> Self {
        let t = |t: Option<DateTime<Utc>>| t.map(|t| local::rfc3339(t, tz));
        JsonRow {
            id: a.id,
            programme: a.programme.as_deref(),
            category: a.category.as_deref(),
            priority: a.priority.as_str(),
            trigger: a.trigger.as_str(),
            item_path: a.item_path.as_deref(),
            title: a.title.as_deref(),
            content_hash: a.content_hash.as_deref(),
            scheduled_at: t(a.scheduled_at),
            started_at: t(a.started_at),
            ended_at: t(a.ended_at),
            planned_ms: a.planned.map(|d| d.as_millis() as u64),
            played_ms: a.played.map(|d| d.as_millis() as u64),
            status: a.status.as_str(),
            reason: a.reason.as_deref(),
            reason_vi: a.reason_vi.as_deref(),
            lufs: a.lufs.map(|l| (l * 10.0).round() / 10.0),
            peak_db: a.peak_db.map(|l| (l * 10.0).round() / 10.0),
            longest_silence_ms: a.longest_silence.map(|d| d.as_millis() as u64),
            relay: a
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok()),
        }
    }
}

fn xlsx(store: &Store, config: &Config, opts: &Options, path: &Path) -> Result<u64, ExportError> {
    use rust_xlsxwriter::{Color, Format as XFormat, FormatBorder, Workbook};
    let tz = config.station.timezone;
    let mut wb = Workbook::new();
    // Most of the save time is compressing the sheet XML: the fastest level keeps a
    // million-row month export in seconds, at 1.5× the file size.
    wb.set_zip_compression_level(1);
    let head = XFormat::new()
        .set_bold()
        .set_background_color(Color::RGB(0xDDEBF7))
        .set_border(FormatBorder::Thin)
        .set_text_wrap();
    let date = XFormat::new().set_num_format("dd/mm/yyyy hh:mm:ss");
    let ws = wb.add_worksheet_with_low_memory()?;
    ws.set_name(if opts.lang == Lang::Vi {
        "Nhật ký phát"
    } else {
        "Airtime log"
    })?;
    let widths = [
        7.0, 28.0, 24.0, 11.0, 12.0, 36.0, 36.0, 18.0, 19.0, 19.0, 19.0, 12.0, 12.0, 14.0, 36.0,
    ];
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    for (c, h) in headers(opts.lang).iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &head)?;
    }
    ws.set_freeze_panes(1, 0)?;
    let mut row: u32 = 0;
    let mut failure: Option<rust_xlsxwriter::XlsxError> = None;
    store
        .each_between(opts.from, opts.to, opts.category, |a| {
            row += 1;
            let cells = text_columns(&a, config, opts.lang);
            let r = (|| -> Result<(), rust_xlsxwriter::XlsxError> {
                ws.write_number(row, 0, a.id as f64)?;
                for (c, text) in &cells {
                    if !text.is_empty() {
                        ws.write_string(row, *c as u16, text)?;
                    }
                }
                for (c, t) in [(8u16, a.scheduled_at), (9, a.started_at), (10, a.ended_at)] {
                    if let Some(t) = t {
                        ws.write_datetime_with_format(
                            row,
                            c,
                            t.with_timezone(&tz).naive_local(),
                            &date,
                        )?;
                    }
                }
                for (c, d) in [(11u16, a.planned), (12, a.played)] {
                    if let Some(d) = d {
                        ws.write_number(row, c, (d.as_secs_f64() * 10.0).round() / 10.0)?;
                    }
                }
                Ok(())
            })();
            r.map_err(|e| {
                let msg = e.to_string();
                failure = Some(e);
                std::io::Error::other(msg)
            })
        })
        .map_err(|e| match failure.take() {
            Some(x) => ExportError::Xlsx(x),
            None => e.into(),
        })?;
    if row > 0 {
        ws.autofilter(0, 0, row, 14)?;
    }
    wb.save(path)?;
    Ok(row as u64)
}
