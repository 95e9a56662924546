//! Property tests of the parsers a person writes for: schedule.yaml, the sidecars and cron
//! expressions. Thousands of generated inputs, hostile and near-valid: none may panic, and
//! every refusal says where (FILE:LINE:COL) and what to do.

use std::path::Path;

use proptest::prelude::*;

const BASE: &str = r#"station:
  name: "Đài xã Thử"
  timezone: Asia/Ho_Chi_Minh
categories:
  cchc:
    name: "CCHC"
    pick: rotate
    target: {distinct_items: 2, per: month}
  khan-cap:
    name: "Khẩn cấp"
    priority: emergency
programmes:
  - name: "Sáng"
    when: ["30 5 * * 1-5", "0 17 * * 0"]
    max_duration: 20m
    segments:
      - category: cchc
        count: 2
quiet_hours: "21:30-05:00"
catch_up: 10m
emergency:
  category: khan-cap
  repeat: 2
  every: 5m
"#;

/// Pieces that make YAML and cron interesting to break.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\n".to_string()),
        Just(": ".to_string()),
        Just("- ".to_string()),
        Just("  ".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("#".to_string()),
        Just("&a".to_string()),
        Just("*a".to_string()),
        Just("!!binary".to_string()),
        Just("\u{feff}".to_string()),
        Just("Đài".to_string()),
        Just("*/0".to_string()),
        Just("99999999999999999999".to_string()),
        Just("-1".to_string()),
        Just("0s".to_string()),
        "[a-z_]{1,12}".prop_map(|s| s),
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

fn check_config(text: &str) {
    match loaxa::config::load_str(text, Path::new("/tmp/p/schedule.yaml")) {
        Ok(_) => {}
        Err(d) => {
            assert!(d.errors().count() > 0, "refused without an error");
            for e in d.errors() {
                let line = e.to_string();
                assert!(
                    line.starts_with("/tmp/p/schedule.yaml:"),
                    "no file in: {line}"
                );
                let pos = line["/tmp/p/schedule.yaml:".len()..]
                    .split(':')
                    .take(2)
                    .map(|n| n.parse::<usize>())
                    .collect::<Vec<_>>();
                assert!(
                    pos.len() == 2 && pos.iter().all(|p| p.as_ref().is_ok_and(|n| *n >= 1)),
                    "no line:col in: {line}"
                );
                assert!(line.contains(" — "), "no fix given: {line}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, .. ProptestConfig::default() })]

    /// Arbitrary text (mostly YAML-shaped) as schedule.yaml.
    #[test]
    fn config_from_pieces_never_panics_and_errors_have_positions(
        parts in prop::collection::vec(piece(), 0..80)
    ) {
        check_config(&parts.concat());
    }

    /// The example with one stretch replaced by junk: near-valid, the hard case.
    #[test]
    fn config_with_one_stretch_mangled(
        at in 0usize..BASE.len(),
        len in 0usize..40,
        junk in prop::collection::vec(piece(), 0..6)
    ) {
        let mut text = BASE.to_string();
        let start = (0..=at).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        let end = (start + len).min(text.len());
        let end = (end..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
        text.replace_range(start..end, &junk.concat());
        check_config(&text);
    }

    /// Any `when` text: parsed or refused with the field at fault, never a panic.
    #[test]
    fn cron_never_panics(fields in prop::collection::vec(
        prop_oneof![
            "[0-9*/,\\-]{1,8}",
            "(MON|TUE|JAN|DEC|SUN)(-(FRI|SAT))?",
            Just("@daily".to_string()),
            Just("@nope".to_string()),
            any::<char>().prop_map(|c| c.to_string()),
        ], 0..8)
    ) {
        let text = fields.join(" ");
        match loaxa::config::CronSpec::parse(&text) {
            Ok(spec) => {
                let t = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
                let _ = spec.next_from(&t);
            }
            Err(p) => {
                prop_assert!(!p.message.is_empty());
                prop_assert!(!p.hint.is_empty());
            }
        }
    }

    /// A sidecar beside an item: read, or refused with `path:line:col: error: … — …`.
    #[test]
    fn sidecar_never_panics_and_errors_have_positions(
        parts in prop::collection::vec(prop_oneof![
            piece(),
            Just("title: ".to_string()),
            Just("valid_from: ".to_string()),
            Just("valid_until: ".to_string()),
            Just("priority: ".to_string()),
            Just("2026-13-45".to_string()),
            Just("2026-12-01T05:30".to_string()),
        ], 0..30)
    ) {
        let text = parts.concat();
        let p = Path::new("/a/tin/bản tin.yaml");
        if let Err(e) = loaxa::library::meta::parse_sidecar(&text, p, chrono_tz::Asia::Ho_Chi_Minh) {
            prop_assert!(e.starts_with("/a/tin/bản tin.yaml:"), "{}", e);
            let rest = &e["/a/tin/bản tin.yaml:".len()..];
            let mut it = rest.split(':');
            let line = it.next().unwrap_or("").parse::<usize>();
            let col = it.next().unwrap_or("").parse::<usize>();
            prop_assert!(line.is_ok() && col.is_ok(), "{}", e);
            prop_assert!(e.contains(" — ") || e.contains("error: `"), "{}", e);
        }
    }
}
