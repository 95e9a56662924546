//! `loaxa plan` on the example station: the exact text of a fixed week, valid JSON lines,
//! and the example's targets kept in step with the plan's indicators in seeds/.

mod common;
use common::{repo, stderr, stdout, Site};

#[test]
fn json_lines_have_the_promised_fields() {
    let s = Site::example();
    let out = s.run(&[
        "plan",
        "--from",
        "2026-12-01T00:00",
        "--days",
        "7",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    // Mon–Sat 05:30 (6, from Tue 1st to Mon 7th: Tue..Sat + Mon = 6), CCHC Tue+Fri (2),
    // afternoons Mon–Fri (5: Tue..Fri + Mon), Sunday review (1), VOV1 relay Mon, Wed, Thu,
    // Sat (4).
    assert_eq!(lines.len(), 6 + 2 + 5 + 1 + 4);
    let mut prev = String::new();
    for l in &lines {
        let at = l["at"].as_str().unwrap();
        assert!(at.ends_with("+07:00"), "{at}");
        chrono::DateTime::parse_from_rfc3339(at).unwrap();
        assert!(at > prev.as_str(), "time order");
        prev = at.to_string();
        assert!(l["programme"].is_string());
        assert_eq!(l["priority"], "normal");
        assert!(l["items"].is_array());
    }
    assert_eq!(lines[0]["at"], "2026-12-01T05:30:00+07:00");
    assert_eq!(lines[0]["programme"], "Buổi sáng");
    assert_eq!(lines[1]["programme"], "Chuyên mục Cải cách hành chính");
}

#[test]
fn until_and_days_bound_the_plan() {
    let s = Site::example();
    let out = s.run(&[
        "plan",
        "--from",
        "2026-12-06",
        "--until",
        "2026-12-06T23:59",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let o = stdout(&out);
    assert_eq!(o.lines().count(), 1, "{o}");
    assert!(
        o.contains("\"at\":\"2026-12-06T07:00:00+07:00\",\"programme\":\"Điểm tin cuối tuần\""),
        "{o}"
    );
    let bad = s.run(&["plan", "--from", "next tuesday"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("--from: `next tuesday` is not a date or time"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn the_example_targets_come_from_the_plan_seeds() {
    #[derive(serde::Deserialize)]
    struct Seeds {
        indicators: Vec<Indicator>,
    }
    #[derive(serde::Deserialize)]
    struct Indicator {
        category: String,
        target: Option<serde_yaml::Value>,
    }
    let seeds: Seeds = serde_yaml::from_str(
        &std::fs::read_to_string(repo().join("seeds/ke-hoach-cchc-2022.yaml")).unwrap(),
    )
    .unwrap();
    let example: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo().join("schedule.yaml")).unwrap())
            .unwrap();
    let mut n = 0;
    for i in seeds.indicators.iter().filter(|i| i.target.is_some()) {
        let t = &example["categories"][i.category.as_str()]["target"];
        assert_eq!(Some(t), i.target.as_ref(), "category {}", i.category);
        n += 1;
    }
    assert!(n >= 2);
}

#[test]
fn the_text_plan_of_a_fixed_week_is_pinned() {
    let s = Site::example();
    let out = s.run(&["plan", "--from", "2026-11-30", "--days", "7"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let want =
        std::fs::read_to_string(repo().join("tests/fixtures/plan-week-2026-11-30.txt")).unwrap();
    let got = stdout(&out);
    if got != want {
        for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
            assert_eq!(g, w, "line {}", i + 1);
        }
        assert_eq!(got.lines().count(), want.lines().count());
    }
}

#[test]
fn json_items_come_from_the_library_and_rotate() {
    let s = Site::example();
    let out = s.run(&[
        "plan",
        "--from",
        "2026-11-30",
        "--days",
        "7",
        "--format",
        "json",
    ]);
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sunday = lines
        .iter()
        .find(|l| l["programme"] == "Điểm tin cuối tuần")
        .unwrap();
    let items = sunday["items"].as_array().unwrap();
    let titles: Vec<&str> = items.iter().map(|i| i["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        vec![
            "Nhạc hiệu mở đầu",
            "Bản tin CCHC số 1",
            "Bộ phận một cửa: giờ tiếp nhận hồ sơ",
            "Bưu chính công ích: nhận và trả hồ sơ tại nhà",
            "Nhạc hiệu kết thúc"
        ]
    );
    assert_eq!(items[1]["path"], "cchc/2026-11-20 Bản tin CCHC số 1.mp3");
    assert_eq!(items[1]["duration_ms"], 9806);
    // rotate: consecutive public-service picks differ
    let dvc: Vec<&str> = lines
        .iter()
        .flat_map(|l| l["items"].as_array().unwrap().iter())
        .filter(|i| i["category"] == "dich-vu-cong")
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert!(dvc.len() > 10);
    assert!(dvc.windows(2).all(|w| w[0] != w[1]), "{dvc:?}");
    // After the CCHC item expires (19 Jan 2027), `newest` falls back to the other one.
    let out = s.run(&[
        "plan",
        "--from",
        "2027-01-19",
        "--days",
        "7",
        "--format",
        "json",
    ]);
    let cchc: Vec<String> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["programme"] == "Chuyên mục Cải cách hành chính")
        .map(|l| l["items"][1]["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(cchc, vec!["Bộ phận một cửa: giờ tiếp nhận hồ sơ"; 2]);
}

/// What a programme will lack, in Vietnamese for the commune (the console shows
/// `reason_vi`) beside the technician's English: a category with nothing valid, and one
/// whose second item would take the programme past its `max_duration`.
#[test]
fn shortfalls_are_worded_in_vietnamese_with_the_english_beside() {
    let s = Site::new();
    s.write_config(
        r#"station:
  name: "Đài thử"
categories:
  tin: {name: "Tin tức", pick: newest}
  dvc: {name: "Dịch vụ công"}
programmes:
  - name: "Sáng"
    when: "0 6 * * *"
    max_duration: 5s
    segments:
      - category: dvc
      - category: tin
        count: 2
"#,
    );
    let a = s.path().join("audio");
    std::fs::create_dir_all(a.join("dvc")).unwrap();
    common::tone(&a.join("tin/2026-11-01 a.wav"), 440.0, 3.0, 0.5, 0.0);
    common::tone(&a.join("tin/2026-11-02 b.wav"), 440.0, 3.0, 0.5, 0.0);
    let args = ["plan", "--from", "2026-12-01T00:00", "--days", "1"];
    let out = s.run(&[&args[..], &["--format", "json"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().next().expect("one airing")).unwrap();
    let missing = line["missing"].as_array().expect("missing");
    assert_eq!(missing.len(), 2, "{line:#}");
    assert_eq!(missing[0]["category"], "dvc");
    assert_eq!(missing[0]["found"], 0);
    assert_eq!(missing[0]["reason"], "no valid item in the category");
    assert_eq!(
        missing[0]["reason_vi"],
        "chuyên mục không có bài còn hiệu lực"
    );
    assert_eq!(missing[1]["category"], "tin");
    assert_eq!(
        (missing[1]["found"].as_u64(), missing[1]["wanted"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(
        missing[1]["reason"],
        "1 item(s) left out to keep within max_duration"
    );
    assert_eq!(
        missing[1]["reason_vi"],
        "bỏ bớt 1 bài để chương trình không dài quá thời lượng tối đa (max_duration)"
    );
    // The text plan says the same in Vietnamese, naming each category as the commune
    // knows it, not by its key.
    let text = stdout(&s.run(&args));
    assert!(
        text.contains("! Tin tức: thiếu 1/2 bài — bỏ bớt 1 bài để chương trình không dài quá"),
        "{text}"
    );
    assert!(
        text.contains("! Dịch vụ công: thiếu 1/1 bài — chuyên mục không có bài còn hiệu lực"),
        "{text}"
    );
    assert!(
        !text.contains("left out") && !text.contains("no valid") && !text.contains("! tin:"),
        "{text}"
    );
}
