//! `loaxa plan` on the example station: the exact text of a fixed week, valid JSON lines,
//! and the example's targets kept in step with the plan's indicators in seeds/.

mod common;
use common::{repo, stderr, stdout, Station};

#[test]
fn json_lines_have_the_promised_fields() {
    let s = Station::example();
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
    // afternoons Mon–Fri (5: Tue..Fri + Mon), Sunday review (1).
    assert_eq!(lines.len(), 6 + 2 + 5 + 1);
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
    let s = Station::example();
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
