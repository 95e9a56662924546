//! The airtime log on real SQLite files: migrations, power cuts (SIGKILL loop against a real
//! writer process), exports read back with real readers, and the monthly report's numbers.

mod common;
use common::{stderr, stdout, Site};

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use loaxa::airtime::{NewAiring, Status, Store, Trigger};
use loaxa::config::Priority;

fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// Writes one finished airing.
fn aired(
    s: &Store,
    cat: &str,
    title: &str,
    hash: &str,
    at: DateTime<Utc>,
    secs: u64,
    status: Status,
) -> i64 {
    let a = NewAiring {
        programme: Some(
            if cat == "cchc" {
                "Chuyên mục Cải cách hành chính"
            } else {
                "Buổi sáng"
            }
            .into(),
        ),
        category: Some(cat.into()),
        priority: if cat == "khan-cap" {
            Priority::Emergency
        } else {
            Priority::Normal
        },
        trigger: Some(if cat == "khan-cap" {
            Trigger::Emergency
        } else {
            Trigger::Schedule
        }),
        item_path: Some(format!("{cat}/{title}.mp3")),
        title: Some(title.into()),
        content_hash: Some(hash.into()),
        scheduled_at: Some(at),
        planned: Some(Duration::from_secs(secs)),
    };
    let id = s.start(&a, at).unwrap();
    let played = if status == Status::Interrupted {
        secs / 2
    } else {
        secs
    };
    let reason = (status == Status::Interrupted).then_some("emergency broadcast");
    s.finish(
        id,
        status,
        at + chrono::Duration::seconds(played as i64),
        Duration::from_secs(played),
        reason,
    )
    .unwrap();
    id
}

/// The fixed set of airings the report and export tests read.
fn fixture_log(path: &Path) {
    let s = Store::open(path).unwrap();
    // CCHC, November: item A twice (once under another file name, same content), item B
    // at 23:30 local on 30 November, which is 16:30 UTC: still November.
    aired(
        &s,
        "cchc",
        "Bản tin A",
        "hash-a",
        local(2026, 11, 3, 6, 0),
        300,
        Status::Completed,
    );
    aired(
        &s,
        "cchc",
        "Bản tin A (bản sao)",
        "hash-a",
        local(2026, 11, 20, 6, 0),
        300,
        Status::Completed,
    );
    aired(
        &s,
        "cchc",
        "Bản tin B",
        "hash-b",
        local(2026, 11, 30, 23, 30),
        240,
        Status::Completed,
    );
    // December: only item C, at 00:10 local on 1 December (17:10 UTC on 30 November).
    aired(
        &s,
        "cchc",
        "Bản tin C",
        "hash-c",
        local(2026, 12, 1, 0, 10),
        200,
        Status::Completed,
    );
    // Public services: 3 airings in each of the full weeks 2–8, 9–15, 16–22; 2 in 23–29.
    for (day, n) in [(2, 3), (9, 3), (16, 3), (23, 2)] {
        for k in 0..n {
            aired(
                &s,
                "dich-vu-cong",
                &format!("Hướng dẫn {k}"),
                &format!("hash-d{k}"),
                local(2026, 11, day + k, 17, 0),
                120,
                Status::Completed,
            );
        }
    }
    // An interrupted airing: its half counts as airtime, not as an airing.
    aired(
        &s,
        "dich-vu-cong",
        "Hướng dẫn 9",
        "hash-d9",
        local(2026, 11, 26, 17, 0),
        120,
        Status::Interrupted,
    );
    // An emergency.
    aired(
        &s,
        "khan-cap",
        "Cảnh báo bão số 9",
        "hash-k",
        local(2026, 11, 26, 17, 1),
        90,
        Status::Completed,
    );
    // A programme missed during a power cut.
    s.record(
        &NewAiring {
            programme: Some("Buổi chiều".into()),
            category: Some("dich-vu-cong".into()),
            trigger: Some(Trigger::Schedule),
            scheduled_at: Some(local(2026, 11, 27, 17, 0)),
            ..Default::default()
        },
        Status::Missed,
        "daemon was not running (missed by 2h)",
    )
    .unwrap();
}

fn station_with_log() -> (Site, PathBuf) {
    let st = Site::example();
    let db = st.path().join("state/airtime.db");
    fixture_log(&db);
    (st, db)
}

#[test]
fn migrates_from_empty_and_from_the_previous_schema() {
    let dir = tempfile::tempdir().unwrap();
    // Empty file → current schema.
    let fresh = dir.path().join("fresh.db");
    let s = Store::open(&fresh).unwrap();
    assert_eq!(s.version().unwrap(), loaxa::airtime::SCHEMA_VERSION);
    drop(s);
    // A log written at schema 1 (no heartbeats, no events) keeps its rows when opened.
    let old = dir.path().join("old.db");
    {
        let s = Store::open_with(&old, 1).unwrap();
        assert_eq!(s.version().unwrap(), 1);
        let c = rusqlite_conn(&old);
        c.execute(
            "INSERT INTO airings (programme, category, trigger, item_path, title, started_at, ended_at, played_ms, status)
             VALUES ('Buổi sáng', 'cchc', 'schedule', 'cchc/a.mp3', 'A', 1764540000000, 1764540060000, 60000, 'completed')",
            [],
        )
        .unwrap();
    }
    let s = Store::open(&old).unwrap();
    assert_eq!(s.version().unwrap(), loaxa::airtime::SCHEMA_VERSION);
    let rows = s.tail(10).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].title.as_deref(), Some("A"));
    assert_eq!(rows[0].played, Some(Duration::from_secs(60)));
    // The new parts work on the migrated file.
    s.event(Utc::now(), "error", "thử").unwrap();
    assert_eq!(s.last_event("error").unwrap().unwrap().1, "thử");
    assert_eq!(s.integrity().unwrap(), "ok");
    // A file from a newer loaxa is refused, not damaged.
    rusqlite_conn(&old)
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let e = Store::open(&old).err().expect("refused").to_string();
    assert!(e.contains("newer loaxa"), "{e}");
}

fn rusqlite_conn(p: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(p).unwrap()
}

#[test]
fn a_crash_leaves_no_row_playing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let s = Store::open(&db).unwrap();
    let t = Utc::now();
    let id = s
        .start(
            &NewAiring {
                title: Some("X".into()),
                planned: Some(Duration::from_secs(60)),
                ..Default::default()
            },
            t,
        )
        .unwrap();
    s.heartbeat(
        id,
        Duration::from_secs(10),
        t + chrono::Duration::seconds(10),
    )
    .unwrap();
    drop(s); // the process dies here
    let s = Store::open(&db).unwrap();
    assert_eq!(s.recover().unwrap(), 1);
    let a = s.get(id).unwrap().unwrap();
    assert_eq!(a.status, Status::Interrupted);
    assert_eq!(a.reason.as_deref(), Some("daemon stopped unexpectedly"));
    assert_eq!(
        a.played,
        Some(Duration::from_secs(10)),
        "played = last heartbeat"
    );
    assert_eq!(
        a.ended_at.unwrap().timestamp(),
        (t + chrono::Duration::seconds(10)).timestamp()
    );
}

fn writer_bin() -> PathBuf {
    // target/debug/deps/airtime-HASH → target/debug/examples/airtime_writer
    let exe = std::env::current_exe().unwrap();
    let p = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/airtime_writer");
    {
        // `cargo test --all-targets` builds examples; a narrower run may not have, or may
        // have left an old one (a schema behind): cargo makes sure (a no-op when fresh).
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = std::process::Command::new(cargo)
            .args(["build", "--example", "airtime_writer"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(st.success());
    }
    assert!(p.exists(), "{} is missing", p.display());
    p
}

#[test]
fn kill_9_at_random_moments_never_loses_a_finished_row() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("airtime.db");
    let bin = writer_bin();
    let mut confirmed: Vec<i64> = vec![];
    let mut seed: u64 = 0x9E3779B97F4A7C15 ^ std::process::id() as u64;
    let kills = 60;
    for round in 0..kills {
        let mut child = std::process::Command::new(&bin)
            .arg(&db)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // xorshift: a random moment between 2 and 60 ms after start
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let wait = 2 + seed % 59;
        std::thread::sleep(Duration::from_millis(wait));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        for line in out.lines().map_while(Result::ok) {
            if let Some(id) = line.strip_prefix("done ") {
                confirmed.push(id.parse().unwrap());
            }
        }
        if round % 10 == 9 {
            let s = Store::open_readonly(&db).unwrap();
            assert_eq!(s.integrity().unwrap(), "ok", "after {} kills", round + 1);
        }
    }
    let s = Store::open(&db).unwrap();
    assert_eq!(s.integrity().unwrap(), "ok");
    s.recover().unwrap();
    assert!(
        confirmed.len() > kills,
        "the writer got work done between kills ({})",
        confirmed.len()
    );
    for id in &confirmed {
        let a = s
            .get(*id)
            .unwrap()
            .unwrap_or_else(|| panic!("finished row {id} lost"));
        assert_eq!(a.status, Status::Completed, "row {id}");
        assert_eq!(a.played, Some(Duration::from_secs(60)));
    }
    let total = s.count().unwrap();
    assert!(total >= confirmed.len() as i64);
    // Nothing left open, and every row the crashes cut short says so.
    let open = s
        .tail(total as usize)
        .unwrap()
        .into_iter()
        .filter(|a| a.status == Status::Playing)
        .count();
    assert_eq!(open, 0);
    eprintln!(
        "{kills} kills, {} confirmed rows, {total} rows in all",
        confirmed.len()
    );
}

#[test]
fn csv_export_reads_back_in_excel_form() {
    let (st, _) = station_with_log();
    let out = st.run(&[
        "export",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--category",
        "cchc",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.starts_with(b"\xEF\xBB\xBF"), "BOM first");
    let mut r = csv::Reader::from_reader(&out.stdout[3..]);
    let h = r.headers().unwrap().clone();
    assert_eq!(&h[0], "STT");
    assert_eq!(&h[9], "Bắt đầu");
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(
        rows.len(),
        3,
        "November CCHC: A, A again, and B at 23:30 on the 30th"
    );
    assert_eq!(&rows[0][2], "Cải cách hành chính");
    assert_eq!(&rows[0][5], "Bản tin A");
    assert_eq!(&rows[0][9], "2026-11-03 06:00:00", "local time");
    assert_eq!(&rows[2][9], "2026-11-30 23:30:00");
    assert_eq!(&rows[2][12], "240");
    assert_eq!(&rows[2][13], "đã phát xong");
    // English headers on request.
    let en = st.run(&[
        "export",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--lang",
        "en",
    ]);
    let mut r = csv::Reader::from_reader(&en.stdout[3..]);
    assert_eq!(&r.headers().unwrap()[9], "Started");
    assert_eq!(r.records().count(), 3 + 11 + 1 + 1 + 1);
}

#[test]
fn json_export_is_one_valid_object_per_line() {
    let (st, _) = station_with_log();
    let out = st.run(&[
        "export",
        "--from",
        "2026-11-01",
        "--to",
        "2026-12-31",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4 + 11 + 1 + 1 + 1);
    let c = rows.iter().find(|r| r["title"] == "Bản tin C").unwrap();
    assert_eq!(c["started_at"], "2026-12-01T00:10:00+07:00");
    assert_eq!(c["category"], "cchc");
    assert_eq!(c["status"], "completed");
    assert_eq!(c["played_ms"], 200_000);
    let missed = rows.iter().find(|r| r["status"] == "missed").unwrap();
    assert!(missed["started_at"].is_null());
    assert_eq!(missed["scheduled_at"], "2026-11-27T17:00:00+07:00");
}

#[test]
fn xlsx_export_reads_back_with_calamine() {
    use calamine::{open_workbook_auto, Data, Reader};
    let (st, _) = station_with_log();
    let file = st.path().join("thang-11.xlsx");
    let out = st.run(&[
        "export",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--format",
        "xlsx",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("17 airings written to"),
        "{}",
        stderr(&out)
    );
    let mut wb = open_workbook_auto(&file).unwrap();
    assert_eq!(wb.sheet_names(), vec!["Nhật ký phát".to_string()]);
    let range = wb.worksheet_range("Nhật ký phát").unwrap();
    assert_eq!(range.height(), 1 + 17);
    assert_eq!(range.get((0, 5)), Some(&Data::String("Tên bài".into())));
    // Oldest first: the first public-service airing, 17:00 on 2 November.
    assert_eq!(range.get((1, 5)), Some(&Data::String("Hướng dẫn 0".into())));
    assert_eq!(
        range.get((1, 2)),
        Some(&Data::String(
            "Dịch vụ công trực tuyến, bưu chính công ích".into()
        ))
    );
    match range.get((1, 9)) {
        Some(Data::DateTime(d)) => {
            let dt = d.as_datetime().unwrap();
            assert_eq!(
                dt.to_string(),
                "2026-11-02 17:00:00",
                "a date cell in local time"
            );
        }
        other => panic!("started is not a date cell: {other:?}"),
    }
    assert_eq!(range.get((1, 12)), Some(&Data::Float(120.0)));
}

fn report_json(st: &Site, month: &str) -> serde_json::Value {
    let out = st.run(&["report", "--month", month, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn cat<'a>(r: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    r["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == key)
        .unwrap_or_else(|| panic!("{key} in {r}"))
}

#[test]
fn november_report_counts_and_targets() {
    let (st, _) = station_with_log();
    let r = report_json(&st, "2026-11");
    assert_eq!(r["station"], "Đài truyền thanh xã Tân Hòa");
    assert_eq!(r["month"], "2026-11");
    let c = cat(&r, "cchc");
    assert_eq!(
        c["airings"], 3,
        "the 23:30 airing on the 30th is November's"
    );
    assert_eq!(
        c["distinct_items"], 2,
        "same content under two names is one item"
    );
    assert_eq!(c["airtime_minutes"], 14.0);
    assert_eq!(c["target"]["count"], 2);
    assert_eq!(c["met"], true);
    assert_eq!(c["margin"], 0);
    let items = c["items"].as_array().unwrap();
    assert_eq!(items[0]["count"], 2);
    assert_eq!(items[0]["first"], "03/11/2026 06:00");
    assert_eq!(items[0]["last"], "20/11/2026 06:00");
    let d = cat(&r, "dich-vu-cong");
    assert_eq!(d["airings"], 11, "the interrupted airing is not counted");
    assert_eq!(
        d["airtime_minutes"], 23.0,
        "11 × 2 min + half of the interrupted one"
    );
    assert_eq!(d["met"], false, "the week of 23–29 has only 2");
    assert_eq!(d["margin"], -1);
    let weeks = d["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 6);
    assert_eq!(weeks.iter().filter(|w| w["full"] == true).count(), 4);
    assert_eq!(r["emergencies"].as_array().unwrap().len(), 1);
    let problems = r["problems"].as_array().unwrap();
    assert!(problems
        .iter()
        .any(|p| p["status"] == "bỏ lỡ" && p["reason"].as_str().unwrap().contains("not running")));
    assert!(problems.iter().any(|p| p["status"] == "bị ngắt"));
}

#[test]
fn a_month_with_one_cchc_item_misses_the_target() {
    let (st, _) = station_with_log();
    let r = report_json(&st, "2026-12");
    let c = cat(&r, "cchc");
    assert_eq!(c["airings"], 1, "00:10 local on 1 December is December's");
    assert_eq!(c["distinct_items"], 1);
    assert_eq!(c["met"], false);
    assert_eq!(c["margin"], -1);
    let text = st.run(&["report", "--month", "2026-12"]);
    let t = stdout(&text);
    assert!(
        t.contains("BÁO CÁO KẾT QUẢ PHÁT THANH THÁNG 12/2026"),
        "{t}"
    );
    assert!(t.contains("Chưa đạt (thiếu 1)"), "{t}");
}

#[test]
fn html_and_markdown_reports() {
    let (st, _) = station_with_log();
    let file = st.path().join("bao-cao.html");
    let out = st.run(&[
        "report",
        "--month",
        "2026-11",
        "--format",
        "html",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let h = std::fs::read_to_string(&file).unwrap();
    assert!(h.starts_with("<!DOCTYPE html>"));
    assert!(h.contains("size: A4"));
    assert!(h.contains("Báo cáo kết quả phát thanh tháng 11/2026"));
    assert!(h.contains("Kính gửi: Ủy ban nhân dân xã Tân Hòa"));
    assert!(
        !h.contains("<script") && !h.contains("http"),
        "self-contained"
    );
    let md = stdout(&st.run(&["report", "--month", "2026-11", "--format", "md"]));
    assert!(
        md.contains("| Cải cách hành chính | 3 | 2 | 14,0 | 2 bài/tháng | Đạt |"),
        "{md}"
    );
}

#[test]
fn log_shows_the_latest_airings() {
    let (st, _) = station_with_log();
    let out = st.run(&["log", "--tail", "3"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let o = stdout(&out);
    let lines: Vec<&str> = o.lines().collect();
    assert_eq!(lines.len(), 3, "{o}");
    assert!(
        lines[2].contains("bỏ lỡ") && lines[2].contains("Buổi chiều"),
        "{o}"
    );
    assert!(lines[1].contains("Cảnh báo bão số 9"), "{o}");
}

#[test]
fn a_missing_log_says_what_to_do() {
    let st = Site::example();
    let out = st.run(&["report"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("no airtime log at"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("loaxa run"));
    let out = st.run(&["export", "--db", "/nonexistent/x.db"]);
    assert!(stderr(&out).contains("check the path given with --db"));
}

/// A mistyped `--category` is one line naming the categories there are, for every command
/// that takes one.
#[test]
fn an_unknown_category_is_refused_with_the_list() {
    let (st, _) = station_with_log();
    for args in [
        &["export", "--from", "2026-11-01", "--category", "cchd"][..],
        &["library", "--category", "cchd"][..],
    ] {
        let out = st.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let e = stderr(&out);
        assert_eq!(
            e.trim(),
            "error: unknown category `cchd` — the categories are cchc, dich-vu-cong, khan-cap, nhac-hieu",
            "{args:?}"
        );
    }
}
