//! `loaxa check` against real files: the example passes, and each kind of mistake a person
//! can make in schedule.yaml gives its own `FILE:LINE:COL: error:` line and exit 1.

mod common;
use common::{stderr, stdout, Site};

const BASE: &str = r#"station:
  name: "Đài xã Thử"
categories:
  cchc:
    name: "CCHC"
programmes:
  - name: "Sáng"
    when: "30 5 * * *"
    segments:
      - jingle: nhac-hieu/mo-dau.mp3
      - category: cchc
"#;

/// Runs check on `yaml`; asserts exit 1 and a line `schedule.yaml:POS: error: …NEEDLE…`.
fn expect_error(yaml: &str, pos: &str, needle: &str) {
    let s = Site::new();
    s.write_config(yaml);
    let out = s.run(&["check"]);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1 for {needle:?}\n{err}"
    );
    let want = format!("schedule.yaml:{pos}: error: ");
    assert!(
        err.lines().any(|l| l.contains(&want) && l.contains(needle)),
        "expected a line with `{want}` and `{needle}`; got:\n{err}"
    );
    // Every error line names the file and a position, and says what to do.
    for l in err.lines().filter(|l| l.contains(": error: ")) {
        assert!(l.contains("schedule.yaml:"), "{l}");
        assert!(l.contains(" — "), "no fix given: {l}");
    }
}

fn base_with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

#[test]
fn the_example_passes() {
    let s = Site::example();
    let out = s.run(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let o = stdout(&out);
    assert!(
        o.contains("OK — Đài truyền thanh xã Tân Hòa (Asia/Ho_Chi_Minh)"),
        "{o}"
    );
    assert!(o.contains("4 categories"), "{o}");
    assert!(o.contains("next airing: "), "{o}");
    assert!(!stderr(&out).contains("error"), "{}", stderr(&out));
}

#[test]
fn config_path_comes_from_env_or_working_dir() {
    let s = Site::example();
    let via_env = std::process::Command::new(common::bin())
        .arg("check")
        .env("LOAXA_CONFIG", s.config())
        .output()
        .unwrap();
    assert_eq!(via_env.status.code(), Some(0), "{}", stderr(&via_env));
    let via_cwd = std::process::Command::new(common::bin())
        .arg("check")
        .current_dir(s.path())
        .env_remove("LOAXA_CONFIG")
        .output()
        .unwrap();
    assert_eq!(via_cwd.status.code(), Some(0), "{}", stderr(&via_cwd));
    let missing = std::process::Command::new(common::bin())
        .args(["check", "--config", "/nonexistent/schedule.yaml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("/nonexistent/schedule.yaml: error: cannot read the config file")
    );
    assert!(stderr(&missing).contains("loaxa init"));
}

#[test]
fn yaml_syntax_error() {
    expect_error(
        "station:\n  name: x\n   bad: [1, 2\n",
        "3:7",
        "not valid YAML",
    );
}

#[test]
fn empty_file() {
    expect_error("", "1:1", "the config file is empty");
}

#[test]
fn unknown_section_with_suggestion() {
    expect_error(
        &format!("{BASE}quiet_hour: \"22:00-05:00\"\n"),
        "12:1",
        "unknown section `quiet_hour` — did you mean `quiet_hours`?",
    );
}

#[test]
fn missing_station() {
    let y = BASE.replace("station:\n  name: \"Đài xã Thử\"\n", "");
    expect_error(&y, "1:1", "no `station` section");
}

#[test]
fn station_without_name() {
    expect_error(
        &base_with("  name: \"Đài xã Thử\"", "  timezone: UTC"),
        "2:3",
        "`station` has no `name`",
    );
}

#[test]
fn unknown_time_zone() {
    expect_error(
        &base_with(
            "  name: \"Đài xã Thử\"",
            "  name: X\n  timezone: Asia/Hanoi",
        ),
        "3:13",
        "unknown time zone `Asia/Hanoi`",
    );
}

#[test]
fn unknown_category_key_with_suggestion() {
    expect_error(
        &base_with("    name: \"CCHC\"", "    name: \"CCHC\"\n    pik: newest"),
        "6:5",
        "unknown key `pik` in category `cchc` — did you mean `pick`?",
    );
}

#[test]
fn bad_priority_level() {
    expect_error(
        &base_with(
            "    name: \"CCHC\"",
            "    name: \"CCHC\"\n    priority: urgent",
        ),
        "6:15",
        "`urgent` is not a valid priority",
    );
}

#[test]
fn bad_pick_policy() {
    expect_error(
        &base_with(
            "      - category: cchc",
            "      - category: cchc\n        pick: random",
        ),
        "12:15",
        "`random` is not a valid pick",
    );
}

#[test]
fn duration_without_unit() {
    expect_error(
        &base_with("    name: \"CCHC\"", "    name: \"CCHC\"\n    max_age: 30"),
        "6:14",
        "`30` has no unit",
    );
}

#[test]
fn duration_not_understood() {
    expect_error(
        &base_with(
            "    name: \"CCHC\"",
            "    name: \"CCHC\"\n    max_length: long",
        ),
        "6:17",
        "`long` is not a duration",
    );
}

#[test]
fn target_needs_one_measure() {
    expect_error(
        &base_with(
            "    name: \"CCHC\"",
            "    name: \"CCHC\"\n    target: {per: month}",
        ),
        "6:13",
        "either `distinct_items` or `airings`",
    );
}

#[test]
fn target_period_unknown() {
    expect_error(
        &base_with(
            "    name: \"CCHC\"",
            "    name: \"CCHC\"\n    target: {airings: 2, per: moth}",
        ),
        "6:31",
        "`moth` is not a valid per — did you mean `month`?",
    );
}

#[test]
fn loudness_out_of_range() {
    expect_error(
        &base_with("    name: \"CCHC\"", "    name: \"CCHC\"\n    loudness: 16"),
        "6:15",
        "loudness target 16 LUFS is out of range",
    );
}

#[test]
fn category_key_with_capitals() {
    expect_error(
        &base_with(
            "  cchc:\n    name: \"CCHC\"",
            "  cchc:\n    name: \"CCHC\"\n  Tin Tức:\n    name: T",
        ),
        "6:3",
        "category key `Tin Tức` must be lower-case",
    );
}

#[test]
fn no_categories() {
    let y = base_with("  cchc:\n    name: \"CCHC\"\n", "").replace("      - category: cchc\n", "");
    expect_error(&y, "1:1", "the config has no `categories`");
}

#[test]
fn programmes_not_a_list() {
    let y = BASE.split("programmes:").next().unwrap().to_string() + "programmes:\n  name: x\n";
    expect_error(&y, "7:3", "`programmes` must be a list");
}

#[test]
fn programme_without_when() {
    expect_error(
        &base_with("    when: \"30 5 * * *\"\n", ""),
        "7:5",
        "programme 1 has no `when`",
    );
}

#[test]
fn programme_unknown_key_with_suggestion() {
    expect_error(
        &base_with("    when: ", "    whne: "),
        "8:5",
        "unknown key `whne` in programme 1 — did you mean `when`?",
    );
}

#[test]
fn cron_with_four_fields() {
    expect_error(
        &base_with("\"30 5 * * *\"", "\"30 5 * *\""),
        "8:11",
        "has 4 fields",
    );
}

#[test]
fn cron_hour_out_of_range() {
    expect_error(
        &base_with("\"30 5 * * *\"", "\"30 25 * * *\""),
        "8:11",
        "the hour field `25` is invalid",
    );
}

#[test]
fn cron_weekday_name_unknown() {
    expect_error(
        &base_with("\"30 5 * * *\"", "[\"0 6 * * 1\", \"30 5 * * MOO\"]"),
        "8:25",
        "the day-of-week field `MOO` is invalid",
    );
}

#[test]
fn cron_month_out_of_range() {
    expect_error(
        &base_with("\"30 5 * * *\"", "\"30 5 1 13 *\""),
        "8:11",
        "the month field `13` is invalid",
    );
}

#[test]
fn cron_bad_step() {
    expect_error(
        &base_with("\"30 5 * * *\"", "\"*/0 5 * * *\""),
        "8:11",
        "the minute field `*/0` is invalid",
    );
}

#[test]
fn unknown_category_in_segment_with_suggestion() {
    expect_error(
        &base_with("      - category: cchc", "      - category: cchd"),
        "11:19",
        "unknown category `cchd` — did you mean `cchc`?",
    );
}

#[test]
fn missing_jingle_file() {
    expect_error(
        &base_with("nhac-hieu/mo-dau.mp3", "nhac-hieu/khong-co.mp3"),
        "10:17",
        "`jingle` file not found",
    );
}

#[test]
fn missing_fixed_file() {
    expect_error(
        &base_with("      - category: cchc", "      - file: ban-tin.mp3"),
        "11:15",
        "`file` file not found",
    );
}

#[test]
fn segment_with_two_kinds() {
    expect_error(
        &base_with(
            "      - category: cchc",
            "      - category: cchc\n        jingle: nhac-hieu/mo-dau.mp3",
        ),
        "11:9",
        "exactly one of `jingle`, `category`, `file`, `relay` or `live`",
    );
}

/// A relay segment with a fallback chain of every kind passes.
#[test]
fn a_relay_with_its_fallbacks_passes() {
    let s = Site::new();
    s.write_config(&base_with(
        "      - category: cchc",
        "      - relay: \"http://127.0.0.1:9/vov1.mp3\"\n        until: \"06:00\"\n        fallback:\n          - relay: \"https://127.0.0.1:9/vov2\"\n          - category: cchc\n          - file: nhac-hieu/mo-dau.mp3",
    ));
    let out = s.run(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn relay(rest: &str) -> String {
    base_with(
        "      - category: cchc",
        &format!("      - relay: \"http://127.0.0.1:9/vov1.mp3\"\n{rest}"),
    )
}

#[test]
fn relay_mistakes_are_positioned() {
    expect_error(
        &base_with(
            "      - category: cchc",
            "      - relay: vov1\n        duration: 30m",
        ),
        "11:16",
        "`vov1` is not a stream address",
    );
    expect_error(&relay(""), "11:9", "a relay needs to know when it ends");
    expect_error(
        &relay("        duration: 30m\n        until: \"06:00\""),
        "11:9",
        "`duration` or `until`, not both",
    );
    expect_error(
        &relay("        until: \"6h\""),
        "12:16",
        "`until: 6h` is not a time of day",
    );
    expect_error(
        &relay("        duration: 0s"),
        "12:19",
        "`duration: 0s` airs nothing",
    );
    expect_error(
        &base_with(
            "      - category: cchc",
            "      - category: cchc\n        duration: 5m",
        ),
        "12:9",
        "`duration` belongs to a `relay` segment",
    );
}

/// A live segment names `default` or a capture device this PC has.
#[test]
fn a_live_segment_names_a_capture_device_this_pc_has() {
    let s = Site::new();
    s.write_config(&base_with(
        "      - category: cchc",
        "      - live: default\n        duration: 10m",
    ));
    let out = s.run(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    expect_error(
        &base_with(
            "      - category: cchc",
            "      - live: \"hw:9,9\"\n        duration: 10m",
        ),
        "11:15",
        "unknown capture device `hw:9,9`",
    );
}

#[test]
fn fallback_mistakes_are_positioned() {
    let fb = |f: &str| relay(&format!("        duration: 5m\n        fallback:\n{f}"));
    expect_error(
        &fb("          - relay: \"http://127.0.0.1:9/vov1.mp3\""),
        "14:20",
        "the fallback chain loops",
    );
    expect_error(
        &fb("          - category: tin"),
        "14:23",
        "unknown category `tin`",
    );
    expect_error(
        &fb("          - file: khong/co.mp3"),
        "14:19",
        "fallback file not found",
    );
    expect_error(
        &fb("          - category: cchc\n            duration: 5m"),
        "14:13",
        "no `duration`, `until` or `fallback` of its own",
    );
    expect_error(
        &fb("          - category: cchc\n            file: a.mp3"),
        "14:13",
        "exactly one of `relay`, `category` or `file`",
    );
}

#[test]
fn pick_on_a_jingle() {
    expect_error(
        &base_with(
            "      - jingle: nhac-hieu/mo-dau.mp3",
            "      - jingle: nhac-hieu/mo-dau.mp3\n        pick: newest",
        ),
        "10:9",
        "`pick` and `count` belong to a `category` segment",
    );
}

#[test]
fn count_zero() {
    expect_error(
        &base_with(
            "      - category: cchc",
            "      - category: cchc\n        count: 0",
        ),
        "12:16",
        "`count: 0` airs nothing",
    );
}

#[test]
fn segment_as_bare_word() {
    expect_error(
        &base_with("      - category: cchc", "      - cchc"),
        "11:9",
        "segment `cchc` does not say what it is",
    );
}

#[test]
fn programme_without_segments() {
    let y = BASE.split("    segments:").next().unwrap().to_string() + "    segments: []\n";
    expect_error(&y, "9:15", "has no segments");
}

#[test]
fn bad_date() {
    expect_error(
        &base_with(
            "    when: \"30 5 * * *\"",
            "    when: \"30 5 * * *\"\n    from: 2026-13-01",
        ),
        "9:11",
        "`2026-13-01` is not a date",
    );
}

#[test]
fn until_before_from() {
    expect_error(
        &base_with(
            "    when: \"30 5 * * *\"",
            "    when: \"30 5 * * *\"\n    from: 2026-12-01\n    until: 2026-11-01",
        ),
        "10:12",
        "`until` 2026-11-01 is before `from` 2026-12-01",
    );
}

#[test]
fn duplicate_programme_name() {
    let y = format!("{BASE}  - name: \"Sáng\"\n    when: \"0 6 * * *\"\n    segments:\n      - category: cchc\n");
    expect_error(&y, "12:11", "a second programme is named `Sáng`");
}

#[test]
fn bad_quiet_hours() {
    expect_error(
        &format!("{BASE}quiet_hours: \"22h-5h\"\n"),
        "12:14",
        "`22h-5h` is not a time range",
    );
}

#[test]
fn programme_always_in_quiet_hours() {
    expect_error(
        &format!("{BASE}quiet_hours: \"21:30-06:00\"\n"),
        "8:11",
        "always starts in quiet hours",
    );
}

#[test]
fn max_duration_shorter_than_fixed_segments() {
    expect_error(
        &base_with(
            "    when: \"30 5 * * *\"",
            "    when: \"30 5 * * *\"\n    max_duration: 1s",
        ),
        "9:19",
        "its jingles and fixed files alone last 2.100s",
    );
}

#[test]
fn bad_catch_up() {
    expect_error(
        &format!("{BASE}catch_up: soon\n"),
        "12:11",
        "`soon` is not a duration",
    );
}

#[test]
fn volume_out_of_range() {
    expect_error(
        &format!("{BASE}output:\n  volume: 90\n"),
        "13:11",
        "master volume 90 is out of range",
    );
}

#[test]
fn emergency_unknown_category() {
    expect_error(
        &format!("{BASE}emergency:\n  category: khan-cap\n"),
        "13:13",
        "unknown category `khan-cap`",
    );
}

#[test]
fn emergency_missing_alert_tone() {
    expect_error(
        &format!("{BASE}emergency:\n  category: cchc\n  alert_tone: nhac-hieu/coi.mp3\n"),
        "14:15",
        "alert tone not found",
    );
}

#[test]
fn emergency_repeat_zero() {
    expect_error(
        &format!("{BASE}emergency:\n  category: cchc\n  repeat: 0\n"),
        "14:11",
        "`repeat: 0` would never air",
    );
}

#[test]
fn emergency_after_policy_unknown() {
    expect_error(
        &format!("{BASE}emergency:\n  category: cchc\n  after: resum\n"),
        "14:10",
        "`resum` is not a valid after — did you mean `resume`?",
    );
}

#[test]
fn wrong_value_type() {
    expect_error(
        &base_with(
            "      - category: cchc",
            "      - category: cchc\n        count: many",
        ),
        "12:16",
        "wrong kind of value for `count`",
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let y = format!(
        "{}quiet_hours: \"nope\"\ncatch_up: 10\n",
        base_with("      - category: cchc", "      - category: cchd")
    );
    let s = Site::new();
    s.write_config(&y);
    let out = s.run(&["check"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("schedule.yaml:11:19: error: unknown category `cchd`"),
        "{err}"
    );
    assert!(
        err.contains("schedule.yaml:12:14: error: `nope` is not a time range"),
        "{err}"
    );
    assert!(
        err.contains("schedule.yaml:13:11: error: `10` has no unit"),
        "{err}"
    );
    assert!(err.contains("3 errors found"), "{err}");
}

#[test]
fn overlaps_and_partial_quiet_hours_are_warnings() {
    let y = format!(
        "{}  - name: \"Tin nhanh\"\n    when: \"*/30 * * * *\"\n    priority: priority\n    segments:\n      - category: cchc\nquiet_hours: \"22:00-05:00\"\n",
        base_with("    when: \"30 5 * * *\"", "    when: \"30 5 * * *\"\n    max_duration: 20m")
    );
    let s = Site::new();
    s.write_config(&y);
    let out = s.run(&["check"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning: programmes `Tin nhanh` (line 13) and `Sáng` overlap"),
        "{err}"
    );
    assert!(err.contains("`Tin nhanh` wins (higher priority)"), "{err}");
    assert!(
        err.contains("warning: ") && err.contains("fall in quiet hours"),
        "{err}"
    );
}

#[test]
fn vietnamese_priority_aliases_are_accepted() {
    let s = Site::new();
    s.write_config(&base_with(
        "    name: \"CCHC\"",
        "    name: \"CCHC\"\n    priority: uu-tien",
    ));
    let out = s.run(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Notepad saves UTF-8 with a byte-order mark: it is read like any other file, and the
/// positions of errors after it are right.
#[test]
fn a_byte_order_mark_is_not_an_error_and_positions_stay_right() {
    let s = Site::new();
    s.write_config(&format!("\u{feff}{BASE}"));
    let out = s.run(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    expect_error(
        &format!("\u{feff}{}", base_with("30 5 * * *", "30 25 * * *")),
        "8:11",
        "hour",
    );
}

/// A file in another encoding (Vietnamese in Windows-1258, say) is refused with the
/// position of the first byte that is not UTF-8.
#[test]
fn a_file_that_is_not_utf8_gets_the_position_of_its_first_bad_byte() {
    let s = Site::new();
    let mut bytes = b"station:\n  name: \"\xD0ai x\xE3\"\n".to_vec();
    bytes.extend_from_slice(b"categories:\n  a: {name: A}\n");
    std::fs::write(s.config(), bytes).unwrap();
    let out = s.run(&["check"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("schedule.yaml:2:10: error: the file is not UTF-8 text"),
        "{err}"
    );
    assert!(err.contains("UTF-8"), "{err}");
}

#[test]
fn an_empty_programme_list_warns_that_nothing_airs() {
    let s = Site::new();
    s.write_config("station:\n  name: \"Đài\"\ncategories:\n  a: {name: A}\nprogrammes: []\n");
    let out = s.run(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("schedule.yaml:5:13: warning: `programmes` is empty"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn emergency_every_zero_and_settle_zero_are_refused() {
    expect_error(
        &format!("{BASE}emergency:\n  category: cchc\n  repeat: 2\n  every: 0s\n"),
        "15:10",
        "`every: 0s`",
    );
    expect_error(
        &base_with("categories:", "library:\n  settle: 0s\ncategories:"),
        "4:11",
        "`settle: 0s`",
    );
}

/// Brackets nested without end (a hostile or broken file) are refused at once, at the
/// bracket that goes too deep, not after seconds of parsing.
#[test]
fn deeply_nested_brackets_are_refused_with_their_position() {
    let deep = format!("{BASE}extra: {}\n", "[".repeat(100_000));
    expect_error(&deep, "12:72", "nested more than 64 deep");
}

/// Schedules whose starts are many (a programme every second, 2 000 programmes) still
/// check: the schedule-wide checks look at a bounded sample of starts.
#[test]
fn a_programme_every_second_and_two_thousand_programmes_check() {
    let s = Site::new();
    s.write_config(&base_with("30 5 * * *", "* * * * * *"));
    let out = s.run(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut many =
        String::from("station:\n  name: \"Đài\"\ncategories:\n  a: {name: A}\nprogrammes:\n");
    for i in 0..2000 {
        many.push_str(&format!(
            "  - name: \"P{i}\"\n    when: \"{} {} * * *\"\n    segments: [{{category: a}}]\n",
            i % 60,
            i % 24
        ));
    }
    s.write_config(&many);
    let out = s.run(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("2000 programmes"), "{}", stdout(&out));
}

/// 2 000 programmes at one instant are two million overlapping pairs: the check counts a
/// bounded number of them and says "at least" (it used to list them all in memory: 3.4 s
/// and 370 MB), and the summary names the first programmes, not all 2 000.
#[test]
fn two_thousand_programmes_at_one_instant_check_in_bounded_work() {
    let s = Site::new();
    let mut many =
        String::from("station:\n  name: \"Đài\"\ncategories:\n  a: {name: A}\nprogrammes:\n");
    for i in 0..2000 {
        many.push_str(&format!(
            "  - name: \"P{i}\"\n    when: \"0 0 5 * * *\"\n    max_duration: 1h\n    segments: [{{category: a}}]\n"
        ));
    }
    s.write_config(&many);
    let out = s.run(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: at least 9980 more pairs of programmes overlap (only the first 20 are listed)"),
        "{err}"
    );
    assert_eq!(err.matches("overlap, first").count(), 20, "{err}");
    let o = stdout(&out);
    assert!(o.contains("2000 programmes: P0, P1, P2,"), "{o}");
    assert!(o.contains("P19 and 1980 more\n"), "{o}");
    assert!(!o.contains("P20"), "{o}");
}

/// An Icecast output's mistakes, each at its position; the password never in a message.
#[test]
fn icecast_output_mistakes_are_positioned() {
    let with = |out: &str| format!("{BASE}outputs:\n{out}");
    expect_error(
        &with("  - icecast: \"https://a:8000/x.mp3\"\n    password: p\n"),
        "13:14",
        "not an http:// address",
    );
    expect_error(
        &with("  - icecast: \"http://a:port/x.mp3\"\n    password: p\n"),
        "13:14",
        "not a mount address",
    );
    expect_error(
        &with("  - icecast: \"http://a:8000/x.mp3\"\n"),
        "13:14",
        "no password",
    );
    expect_error(
        &with("  - icecast: \"http://a:8000/x.mp3\"\n    password_file: khong-co.pass\n"),
        "14:20",
        "cannot read the password file",
    );
    expect_error(
        &with("  - icecast: \"http://a:8000/x.mp3\"\n    password: bi-mat\n    channels: 6\n"),
        "15:15",
        "a stream is mono or stereo",
    );
    expect_error(
        &with("  - icecast: \"http://a:8000/x.mp3\"\n    password: bi-mat\n    bitrate: 100\n"),
        "15:14",
        "100 kb/s is not an MP3 bitrate",
    );
    expect_error(
        &with("  - icecast: \"http://a:8000/x.mp3\"\n    password: bi-mat\n    bitrat: 64\n"),
        "15:5",
        "bitrat",
    );
    let s = Site::new();
    s.write_config(&with(
        "  - icecast: \"http://a:8000/x.mp3\"\n    password: bi-mat-lam\n    bitrate: 100\n",
    ));
    let out = s.run(&["check"]);
    assert!(!stderr(&out).contains("bi-mat-lam"), "{}", stderr(&out));
}

#[test]
fn alarm_mistakes_are_positioned() {
    expect_error(
        &format!("{BASE}alarms:\n  silence: 3\n"),
        "13:12",
        "3 dBFS is not a silence level",
    );
    expect_error(
        &format!("{BASE}alarms:\n  after: 100ms\n"),
        "13:10",
        "would raise the alarm at every pause",
    );
    expect_error(
        &format!("{BASE}alarms:\n  command: khong-co.sh\n"),
        "13:12",
        "the alarm command",
    );
    expect_error(
        &format!("{BASE}alarms:\n  silense: -40\n"),
        "13:3",
        "did you mean `silence`?",
    );
}

/// The lints do not depend on when `check` runs: an every-30-minutes programme clashes
/// with 22:00–05:00 and with the 05:30 programme whatever the hour (they once looked only
/// at the next 32 starts, 16 hours, and saw nothing when run at 05:15 or 05:45).
#[test]
fn quiet_hours_and_overlap_lints_are_the_same_at_every_hour_of_the_day() {
    let y = format!(
        "{}  - name: \"Tin nhanh\"\n    when: \"*/30 * * * *\"\n    priority: priority\n    segments:\n      - category: cchc\nquiet_hours: \"22:00-05:00\"\n",
        base_with("    when: \"30 5 * * *\"", "    when: \"30 5 * * *\"\n    max_duration: 20m")
    );
    let s = Site::new();
    s.write_config(&y);
    let day: chrono::DateTime<chrono::Utc> = "2026-11-29T17:00:00Z".parse().unwrap();
    for quarter in 0..96 {
        let now = day + chrono::Duration::minutes(15 * quarter);
        let lens = loaxa::media::probe::Lengths::default();
        let (_, d) = loaxa::check::check(&s.config(), now, &|p| lens.get(p)).unwrap();
        let w: Vec<&String> = d.warnings().map(|w| &w.message).collect();
        assert!(
            w.iter()
                .any(|m| m.contains("`Tin nhanh`") && m.contains("fall in quiet hours")),
            "checked at {now}: {w:?}"
        );
        assert!(
            w.iter()
                .any(|m| m.contains("programmes `Tin nhanh` (line 13) and `Sáng` overlap")),
            "checked at {now}: {w:?}"
        );
    }
}

/// A large schedule has its `when` expressions parsed on a second thread while the
/// programmes are read: each programme still gets its own expressions, in order, at their
/// positions, and a bad one among hundreds is reported at its line:column.
#[test]
fn hundreds_of_programmes_keep_their_own_when_and_positions() {
    let head = "station:\n  name: \"Đài\"\ncategories:\n  a: {name: A}\nprogrammes:\n";
    let lines_before = head.lines().count();
    let mut yaml = String::from(head);
    for i in 0..400 {
        // Four lines a programme; its `when` list is on its second line.
        let first = format!("{} {} * * *", i % 60, i / 60);
        let second = if i == 333 {
            "61 5 * * *".to_string()
        } else {
            "30 4 * * 1".to_string()
        };
        yaml.push_str(&format!(
            "  - name: \"P{i}\"\n    when: [\"{first}\", \"{second}\"]\n    segments: [{{category: a}}]\n    priority: normal\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schedule.yaml");
    let diags = match loaxa::config::load_str(&yaml, &path) {
        Ok(_) => panic!("programme 333's `61 5 * * *` was accepted"),
        Err(d) => d,
    };
    let errors: Vec<_> = diags.errors().collect();
    assert_eq!(errors.len(), 1, "{diags}");
    let line = lines_before + 333 * 4 + 2;
    // At the opening quote: `    when: [` + the first expression in quotes + `, `.
    let col = "    when: [".len() + format!("\"{} {} * * *\", ", 333 % 60, 333 / 60).len() + 1;
    assert_eq!((errors[0].line, errors[0].col), (line, col), "{diags}");
    assert!(errors[0].message.contains("`61 5 * * *`"), "{diags}");

    // The same schedule without the mistake: every programme has its two expressions.
    let good = yaml.replace("61 5 * * *", "1 5 * * *");
    let config = loaxa::config::load_str(&good, &path).unwrap().config;
    assert_eq!(config.programmes.len(), 400);
    for (i, p) in config.programmes.iter().enumerate() {
        let second = if i == 333 { "1 5 * * *" } else { "30 4 * * 1" };
        let texts: Vec<&str> = p.when.iter().map(|w| w.as_str()).collect();
        assert_eq!(
            texts,
            [format!("{} {} * * *", i % 60, i / 60).as_str(), second],
            "P{i}"
        );
        assert_eq!(p.when_pos.len(), 2);
        assert_eq!(p.when_pos[0].line, lines_before + i * 4 + 2, "P{i}");
        assert!(p.when_pos[1].col > p.when_pos[0].col, "P{i}");
    }
}
