//! The station's policies over simulated time, on real files and a real airtime log:
//! overlaps, catch-up and missed programmes, quiet hours, empty categories, emergencies,
//! rotation and priority items; and a simulated month of the example schedule.

mod common;
use common::{stderr, stdout, tone_at, Site as Dir};

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use loaxa::airtime::{Airing, Status, Trigger};
use loaxa::config::Config;
use loaxa::library::Library;
use loaxa::simulate::Sim;
use loaxa::station::History;

fn local(d: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, 12, d, h, m, s)
        .unwrap()
        .with_timezone(&Utc)
}

/// A station with categories `tin`, `dvc`, `khan-cap`, `nhac-hieu` and the given
/// programmes and extras; items are tones of the given lengths (seconds).
fn station(
    programmes: &str,
    extra: &str,
    items: &[(&str, f64)],
) -> (Dir, Arc<Config>, Vec<loaxa::item::Item>) {
    let d = Dir::new();
    let a = d.path().join("audio");
    tone_at(&a.join("nhac-hieu/a.wav"), 8000, 880.0, 2.0, 0.5, 0.0);
    tone_at(&a.join("nhac-hieu/coi.wav"), 8000, 1200.0, 3.0, 0.5, 0.0);
    for (i, (name, secs)) in items.iter().enumerate() {
        tone_at(
            &a.join(name),
            8000,
            300.0 + i as f64 * 50.0,
            *secs,
            0.5,
            0.0,
        );
    }
    d.write_config(&format!(
        r#"station:
  name: "Đài thử"
categories:
  tin:
    name: "Tin"
  dvc:
    name: "Dịch vụ công"
    pick: rotate
  khan-cap:
    name: "Khẩn cấp"
    priority: emergency
  nhac-hieu:
    name: "Nhạc hiệu"
programmes:
{programmes}
{extra}"#
    ));
    let config = Arc::new(
        loaxa::config::load(&d.config())
            .unwrap_or_else(|e| panic!("{e}"))
            .config,
    );
    let lib = Library::snapshot(&config, Utc::now(), false);
    let mut items = lib.candidates();
    for c in &mut items {
        c.valid_from = c.valid_from.min(local(1, 0, 0, 0));
    }
    (d, config, items)
}

fn sim(
    d: &Dir,
    config: &Arc<Config>,
    items: &[loaxa::item::Item],
    history: History,
    from: DateTime<Utc>,
) -> Sim {
    Sim::new(
        config.clone(),
        loaxa::media::probe::fixed_lengths(config.fixed_files()),
        items.to_vec(),
        history,
        from,
        &d.path().join("sim.db"),
        None,
    )
    .unwrap()
}

fn rows(s: &Sim) -> Vec<Airing> {
    s.store().tail(10_000).unwrap()
}

fn summary(r: &[Airing]) -> Vec<String> {
    r.iter()
        .map(|a| {
            format!(
                "{} {} {} {}{}",
                a.at()
                    .map(|t| t
                        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
                        .format("%H:%M:%S")
                        .to_string())
                    .unwrap_or_default(),
                a.programme.as_deref().unwrap_or("-"),
                a.title.as_deref().unwrap_or("-"),
                a.status.as_str(),
                a.reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn a_higher_priority_programme_preempts_at_its_second() {
    let (d, c, items) = station(
        r#"  - name: "Dài"
    when: "0 6 * * *"
    segments: [{category: tin}]
  - name: "Ưu tiên"
    when: "5 6 * * *"
    priority: priority
    segments: [{category: dvc}]"#,
        "",
        &[
            ("tin/2026-01-01 dai.wav", 600.0),
            ("dvc/2026-01-01 ngan.wav", 30.0),
        ],
    );
    let mut s = sim(&d, &c, &items, History::default(), local(1, 5, 59, 0));
    s.run_until(local(1, 6, 20, 0), true).unwrap();
    assert_eq!(
        summary(&rows(&s)),
        vec![
            "06:00:00 Dài dai interrupted (preempted by higher-priority programme `Ưu tiên`)",
            "06:05:00 Ưu tiên ngan completed"
        ]
    );
    let r = rows(&s);
    assert_eq!(r[0].played, Some(Duration::from_secs(300)));
}

#[test]
fn an_equal_priority_programme_waits_within_catch_up_or_is_skipped() {
    let (d, c, items) = station(
        r#"  - name: "Năm phút"
    when: "0 6 * * *"
    segments: [{file: tin/2026-01-01 nam.wav}]
  - name: "Sau"
    when: "2 6 * * *"
    segments: [{category: dvc}]
  - name: "Mười lăm phút"
    when: "0 7 * * *"
    segments: [{file: tin/2026-01-02 muoi-lam.wav}]
  - name: "Không kịp"
    when: "2 7 * * *"
    segments: [{category: dvc}]"#,
        "catch_up: 10m",
        &[
            ("tin/2026-01-01 nam.wav", 300.0),
            ("dvc/2026-01-01 ngan.wav", 30.0),
            ("tin/2026-01-02 muoi-lam.wav", 900.0),
        ],
    );
    let mut s = sim(&d, &c, &items, History::default(), local(1, 5, 59, 0));
    s.run_until(local(1, 7, 30, 0), true).unwrap();
    let r = summary(&rows(&s));
    assert_eq!(
        r,
        vec![
            "06:00:00 Năm phút nam completed".to_string(),
            "06:05:00 Sau ngan completed".to_string(),
            "07:00:00 Mười lăm phút muoi-lam completed".to_string(),
            "07:02:00 Không kịp - skipped (`Mười lăm phút` was still on air; could not start within catch_up (10m))".to_string(),
        ],
        "{r:#?}"
    );
}

#[test]
fn after_downtime_a_recent_programme_airs_late_and_older_ones_are_missed() {
    let (d, c, items) = station(
        r#"  - name: "Sáng"
    when: "30 5 * * *"
    segments: [{category: tin}]
  - name: "Sáu giờ"
    when: "0 6 * * *"
    segments: [{category: tin}]"#,
        "catch_up: 10m",
        &[("tin/2026-01-01 a.wav", 60.0)],
    );
    // The power came back at 06:07; the station was last seen at 05:00.
    let history = History {
        last_seen: Some(local(1, 5, 0, 0)),
        ..Default::default()
    };
    let mut s = sim(&d, &c, &items, history, local(1, 6, 7, 0));
    s.run_until(local(1, 6, 20, 0), true).unwrap();
    let r = rows(&s);
    assert_eq!(r[0].status, Status::Missed);
    assert_eq!(r[0].programme.as_deref(), Some("Sáng"));
    assert!(
        r[0].reason
            .as_deref()
            .unwrap()
            .contains("the station was not running (due 37m ago; catch_up is 10m)"),
        "{:?}",
        r[0].reason
    );
    assert_eq!(r[1].trigger, Trigger::CatchUp);
    assert_eq!(r[1].programme.as_deref(), Some("Sáu giờ"));
    assert_eq!(r[1].scheduled_at, Some(local(1, 6, 0, 0)));
    assert_eq!(r[1].status, Status::Completed);
    let delay = r[1].started_at.unwrap() - r[1].scheduled_at.unwrap();
    assert!(
        delay >= chrono::Duration::minutes(7) && delay < chrono::Duration::minutes(8),
        "logged with its delay: {delay}"
    );
    // A programme already in the log is not aired twice after a restart.
    let history = History {
        last_seen: Some(local(1, 5, 0, 0)),
        logged: [("Sáu giờ".to_string(), local(1, 6, 0, 0))]
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let d2 = Dir::new();
    let s2 = Sim::new(
        c.clone(),
        Default::default(),
        items.clone(),
        history,
        local(1, 6, 7, 0),
        &d2.path().join("b.db"),
        None,
    )
    .unwrap();
    assert!(rows(&s2)
        .iter()
        .all(|a| a.programme.as_deref() != Some("Sáu giờ")));
}

#[test]
fn quiet_hours_trim_a_programme_and_never_start_one() {
    let (d, c, items) = station(
        r#"  - name: "Tối"
    when: "0 21 * * *"
    segments: [{category: tin, pick: all}]
  - name: "Khuya"
    when: "0 22 * * *"
    segments: [{category: tin}]"#,
        "quiet_hours: \"21:30-05:00\"",
        &[
            ("tin/2026-01-01 a.wav", 1200.0),
            ("tin/2026-01-02 b.wav", 1200.0),
        ],
    );
    let mut s = sim(&d, &c, &items, History::default(), local(1, 20, 0, 0));
    s.run_until(local(1, 23, 0, 0), true).unwrap();
    let r = summary(&rows(&s));
    // Only one 20-minute item fits before 21:30; 22:00 never starts.
    assert_eq!(r.len(), 2, "{r:#?}");
    assert!(r[0].contains("21:00:00 Tối - skipped (category `tin`: 1 of 2 item(s) — 1 item(s) left out to keep within max_duration)"), "{r:#?}");
    assert_eq!(r[1], "21:00:00 Tối b completed");
}

#[test]
fn an_empty_category_is_logged_and_the_rest_of_the_programme_airs() {
    let (d, c, items) = station(
        r#"  - name: "Sáng"
    when: "0 6 * * *"
    segments:
      - jingle: nhac-hieu/a.wav
      - category: dvc
      - category: tin"#,
        "",
        &[("tin/2026-01-01 a.wav", 10.0)],
    );
    let mut s = sim(&d, &c, &items, History::default(), local(1, 5, 59, 0));
    s.run_until(local(1, 6, 5, 0), true).unwrap();
    assert_eq!(
        summary(&rows(&s)),
        vec![
            "06:00:00 Sáng - skipped (category `dvc`: 0 of 1 item(s) — no valid item in the category)",
            "06:00:00 Sáng a completed",
            "06:00:02 Sáng a completed"
        ]
    );
    assert_eq!(rows(&s)[0].category.as_deref(), Some("dvc"));
}

fn emergency_case(after: &str) -> Vec<Airing> {
    let (d, c, items) = station(
        r#"  - name: "Sáng"
    when: "0 6 * * *"
    segments: [{category: tin, pick: all}]"#,
        &format!("emergency:\n  category: khan-cap\n  alert_tone: nhac-hieu/coi.wav\n  repeat: 2\n  every: 10m\n  after: {after}"),
        &[("tin/2026-01-01 mot.wav", 60.0), ("tin/2026-01-02 hai.wav", 60.0), ("khan-cap/bao.wav", 20.0)],
    );
    let mut s = sim(&d, &c, &items, History::default(), local(1, 5, 59, 0));
    s.run_until(local(1, 6, 0, 20), false).unwrap();
    let em = items
        .iter()
        .find(|i| i.category == "khan-cap")
        .unwrap()
        .clone();
    s.act(|st, now| {
        let e = loaxa::item::Entry::of_item(&em);
        st.emergency(e, now)
    })
    .unwrap();
    s.run_until(local(1, 6, 30, 0), true).unwrap();
    rows(&s)
}

#[test]
fn an_emergency_interrupts_repeats_and_the_programme_restarts_its_item() {
    let r = emergency_case("restart_item");
    assert_eq!(
        summary(&r),
        vec![
            "06:00:00 Sáng hai interrupted (interrupted by emergency broadcast)",
            "06:00:20 Phát khẩn cấp coi completed",
            "06:00:23 Phát khẩn cấp bao completed",
            "06:00:43 Sáng hai completed",
            "06:01:43 Sáng mot completed",
            "06:10:20 Phát khẩn cấp coi completed",
            "06:10:23 Phát khẩn cấp bao completed",
        ]
    );
    // Cued 0.2 s after the call (EMERGENCY_LEAD), so the item played 20.2 s.
    assert_eq!(r[0].played, Some(Duration::from_millis(20_200)));
    assert!(r[1..3].iter().all(
        |a| a.trigger == Trigger::Emergency && a.priority == loaxa::config::Priority::Emergency
    ));
}

#[test]
fn after_an_emergency_resume_continues_where_it_stopped_and_skip_item_moves_on() {
    let r = emergency_case("resume");
    assert_eq!(r[3].title.as_deref(), Some("hai"));
    assert_eq!(
        r[3].planned,
        Some(Duration::from_millis(39_800)),
        "the remaining 39.8 s"
    );
    assert_eq!(r[3].played, Some(Duration::from_millis(39_800)));
    let r = emergency_case("skip_item");
    assert_eq!(r[3].title.as_deref(), Some("mot"), "{:#?}", summary(&r));
}

#[test]
fn rotate_airs_the_least_recently_aired_first_from_the_log() {
    let (d, c, items) = station(
        r#"  - name: "Sáng"
    when: "0 6 * * *"
    segments: [{category: dvc}]"#,
        "",
        &[
            ("dvc/2026-01-01 a.wav", 10.0),
            ("dvc/2026-01-02 b.wav", 10.0),
            ("dvc/2026-01-03 c.wav", 10.0),
        ],
    );
    // The log says c aired yesterday, a the day before; b never.
    let history = History {
        last_aired: [
            (
                "dvc/2026-01-03 c.wav".to_string(),
                local(1, 6, 0, 0) - chrono::Duration::days(1),
            ),
            (
                "dvc/2026-01-01 a.wav".to_string(),
                local(1, 6, 0, 0) - chrono::Duration::days(2),
            ),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let mut s = sim(&d, &c, &items, history, local(1, 0, 0, 0));
    s.run_until(local(4, 0, 0, 0), true).unwrap();
    let titles: Vec<String> = rows(&s).iter().map(|a| a.title.clone().unwrap()).collect();
    assert_eq!(titles, vec!["b", "a", "c"]);
}

#[test]
fn a_priority_item_goes_to_the_front_of_the_next_programme() {
    let (d, c, items) = station(
        r#"  - name: "Sáng"
    when: "0 6 * * *"
    segments:
      - jingle: nhac-hieu/a.wav
      - category: dvc
      - category: tin"#,
        "",
        &[
            ("dvc/2026-01-01 a.wav", 10.0),
            ("tin/2026-01-01 b.wav", 10.0),
            ("tin/2026-01-02 gap.wav", 10.0),
        ],
    );
    std::fs::write(
        d.path().join("audio/tin/2026-01-02 gap.yaml"),
        "title: \"Thông báo gấp\"\npriority: priority\n",
    )
    .unwrap();
    let lib = Library::snapshot(&c, Utc::now(), false);
    let mut items2 = lib.candidates();
    for x in &mut items2 {
        x.valid_from = x.valid_from.min(local(1, 0, 0, 0));
    }
    let _ = items;
    let mut s = sim(&d, &c, &items2, History::default(), local(1, 0, 0, 0));
    s.run_until(local(2, 12, 0, 0), true).unwrap();
    let titles: Vec<String> = rows(&s).iter().map(|a| a.title.clone().unwrap()).collect();
    // Jingle `a`, then the priority item before the segments; `tin` then picks the next.
    assert_eq!(titles[..4], ["a", "Thông báo gấp", "a", "b"], "{titles:?}");
    // Once aired, it is an ordinary item again (the newest of `tin`).
    assert_eq!(titles[4..], ["a", "a", "Thông báo gấp"], "{titles:?}");
}

#[test]
fn a_simulated_month_of_the_example_gives_the_expected_counts() {
    let st = Dir::example();
    let db = st.path().join("thang-12.db");
    let out = st.run(&[
        "simulate",
        "--from",
        "2026-12-01",
        "--days",
        "31",
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let o = stdout(&out);
    // December 2026: 27 Mon–Sat mornings, 9 CCHC columns (5 Tue + 4 Fri), 23 weekday
    // afternoons, 4 Sunday reviews (2 CCHC + 1 public-service item each); 2 jingles each;
    // 18 VOV1 relays (4 Mon, 5 Wed, 5 Thu, 4 Sat: the simulated relay airs its window).
    assert!(o.contains("   17 airings  cchc"), "{o}");
    assert!(o.contains("   54 airings  dich-vu-cong"), "{o}");
    assert!(o.contains("  144 airings  (ngoài chuyên mục"), "{o}");
    assert!(o.contains("81 runs"), "{o}");
    // The report on that log meets both targets.
    let rep = st.run(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--month",
        "2026-12",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&rep.stdout).unwrap();
    let cats = v["categories"].as_array().unwrap();
    let cchc = cats.iter().find(|c| c["category"] == "cchc").unwrap();
    assert_eq!(
        (
            cchc["airings"].as_u64(),
            cchc["distinct_items"].as_u64(),
            cchc["met"].as_bool()
        ),
        (Some(17), Some(2), Some(true))
    );
    let dvc = cats
        .iter()
        .find(|c| c["category"] == "dich-vu-cong")
        .unwrap();
    assert_eq!(dvc["met"], true);
    assert_eq!(
        dvc["weeks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["full"] == true)
            .map(|w| w["count"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![12, 12, 12]
    );
    // The 18 VOV1 windows of 30 minutes are counted as relay airtime, though a simulated
    // relay leaves no summary of what the stream did.
    let relays = v["relays"].as_array().unwrap();
    assert_eq!(relays.len(), 1, "{relays:?}");
    assert_eq!(relays[0]["url"], "http://127.0.0.1:8000/vov1.mp3");
    assert_eq!(relays[0]["airings"], 18);
    assert_eq!(relays[0]["airtime_minutes"].as_f64(), Some(540.0));
    // Never the live log.
    let live = st.path().join("state/airtime.db");
    let r = st.run(&[
        "simulate",
        "--from",
        "2026-12-01",
        "--days",
        "1",
        "--db",
        live.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        stderr(&r).contains("is the station's live airtime log"),
        "{}",
        stderr(&r)
    );
}

#[test]
fn simulate_renders_what_would_air_to_a_wav_file() {
    let st = Dir::example();
    let wav = st.path().join("ngay.wav");
    let db = st.path().join("ngay.db");
    let out = st.run(&[
        "simulate",
        "--from",
        "2026-12-01",
        "--days",
        "1",
        "--db",
        db.to_str().unwrap(),
        "--output",
        &format!("wav:{}", wav.display()),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("Audio: {}", wav.display())));
    // 1 December 2026 (a Tuesday): morning, CCHC column, afternoon — what the log says
    // aired is what the file holds, back to back.
    let played: f64 = loaxa::airtime::Store::open_readonly(&db)
        .unwrap()
        .tail(100)
        .unwrap()
        .iter()
        .filter_map(|a| a.played)
        .map(|d| d.as_secs_f64())
        .sum();
    let meta = std::fs::metadata(&wav).unwrap();
    let secs = (meta.len() - 44) as f64 / (48_000.0 * 2.0 * 2.0);
    assert!(played > 30.0, "{played}");
    assert!((secs - played).abs() < 0.5, "wav {secs} s, log {played} s");
}

/// A jingle that is also a library item (the 2 s `nhac-hieu/a.wav`) counts against
/// `max_duration` like any fixed file: 2 s + 10 s + 10 s would overrun 21 s.
#[test]
fn a_library_jingle_counts_against_max_duration() {
    let (d, c, items) = station(
        r#"  - name: "Trưa"
    when: "0 12 * * *"
    max_duration: 21s
    segments:
      - jingle: nhac-hieu/a.wav
      - {category: tin, pick: all}"#,
        "",
        &[
            ("tin/2026-01-01 a.wav", 10.0),
            ("tin/2026-01-02 b.wav", 10.0),
        ],
    );
    assert!(
        items.iter().any(|i| i.path.ends_with("nhac-hieu/a.wav")),
        "the jingle is a library item"
    );
    let mut s = sim(&d, &c, &items, History::default(), local(1, 11, 59, 0));
    s.run_until(local(1, 12, 5, 0), true).unwrap();
    let r = summary(&rows(&s));
    assert_eq!(r.len(), 3, "{r:#?}");
    assert!(
        r[0].contains("1 item(s) left out to keep within max_duration"),
        "{r:#?}"
    );
    assert_eq!(r[1], "12:00:00 Trưa a completed");
    assert_eq!(r[2], "12:00:02 Trưa b completed");
}

/// The device is lost during the third entry of jingle + two items: the retry airs the
/// opening jingle and then only the item that failed, not the one that already aired.
#[test]
fn a_retry_after_a_lost_device_resumes_from_the_item_that_failed() {
    use loaxa::playout::deck::Outcome;
    use loaxa::playout::PlayerEvent;
    use loaxa::station::{Action, Station};
    let (_d, c, items) = station(
        r#"  - name: "Sáng"
    when: "0 6 * * *"
    segments:
      - jingle: nhac-hieu/a.wav
      - {category: tin, pick: all}"#,
        "",
        &[
            ("tin/2026-01-01 a.wav", 10.0),
            ("tin/2026-01-02 b.wav", 10.0),
        ],
    );
    let names = |plan: &loaxa::playout::PlayPlan| -> Vec<String> {
        plan.items
            .iter()
            .map(|i| {
                i.source
                    .path()
                    .and_then(|p| p.file_name())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    };
    let cues = |acts: Vec<Action>| -> Vec<loaxa::playout::PlayPlan> {
        acts.into_iter()
            .filter_map(|a| match a {
                Action::Cue(p) => Some(p),
                _ => None,
            })
            .collect()
    };
    let start = local(1, 6, 0, 0);
    let fixed = loaxa::media::probe::fixed_lengths(c.fixed_files());
    let (mut st, _) = Station::new(c, fixed, items, History::default(), local(1, 5, 59, 0));
    let mut plans = cues(st.tick(start - chrono::Duration::seconds(2)));
    assert_eq!(plans.len(), 1);
    let plan = plans.remove(0);
    let first = names(&plan);
    assert_eq!(first.len(), 3);
    assert_eq!(first[0], "a.wav");
    let s = |secs: i64| start + chrono::Duration::seconds(secs);
    let run = plan.run;
    for (item, from, to) in [(0u32, 0, 2), (1, 2, 12)] {
        st.on_event(
            PlayerEvent::Started {
                run,
                item,
                at: s(from),
            },
            s(from),
        );
        st.on_event(
            PlayerEvent::Ended {
                run,
                item,
                at: s(to),
                played: Duration::from_secs((to - from) as u64),
                outcome: Outcome::Completed,
            },
            s(to),
        );
    }
    st.on_event(
        PlayerEvent::Started {
            run,
            item: 2,
            at: s(12),
        },
        s(12),
    );
    let acts = st.on_event(
        PlayerEvent::Failed {
            run,
            reason: "the sound device stopped playing".into(),
            last_audio: Some(s(15)),
        },
        s(17),
    );
    assert!(
        acts.iter().any(|a| matches!(
            a,
            Action::Finish {
                item: 2,
                status: Status::Failed,
                ..
            }
        )),
        "{acts:?}"
    );
    assert!(cues(st.tick(s(18))).is_empty(), "backoff first");
    let retry = cues(st.tick(s(23)));
    assert_eq!(retry.len(), 1, "retried after 5 s");
    assert_eq!(names(&retry[0]), [first[0].clone(), first[2].clone()]);
}

/// What the commune reads is Vietnamese: the reasons the station wrote into the log appear
/// in Vietnamese in the monthly report (the English text stays for the technician).
#[test]
fn the_report_gives_the_stations_reasons_in_vietnamese() {
    let (d, c, items) = station(
        r#"  - name: "Sáng"
    when: "0 6 * * *"
    segments:
      - jingle: nhac-hieu/a.wav
      - category: dvc
      - category: tin"#,
        "",
        &[("tin/2026-01-01 a.wav", 10.0)],
    );
    let mut s = sim(&d, &c, &items, History::default(), local(1, 5, 59, 0));
    s.run_until(local(1, 6, 5, 0), true).unwrap();
    let r = rows(&s);
    assert_eq!(
        r[0].reason.as_deref(),
        Some("category `dvc`: 0 of 1 item(s) — no valid item in the category")
    );
    assert_eq!(
        r[0].reason_vi.as_deref(),
        Some("chuyên mục «dvc»: có 0/1 bài — chuyên mục không có bài còn hiệu lực")
    );
    drop(s);
    let out = d.run(&[
        "report",
        "--db",
        d.path().join("sim.db").to_str().unwrap(),
        "--month",
        "2026-12",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems = v["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["reason"]
            .as_str()
            .unwrap()
            .contains("chuyên mục không có bài còn hiệu lực")),
        "{problems:#?}"
    );
    assert!(
        !problems
            .iter()
            .any(|p| p["reason"].as_str().unwrap().contains("no valid item")),
        "{problems:#?}"
    );
}
