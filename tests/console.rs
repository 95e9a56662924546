//! The console in a real headless Chromium (Debian's `chromium`, driven by playwright-core
//! from tests/console/run.js) on a real daemon playing through its own audio rig: log in,
//! upload a Vietnamese-named file, record from the fake microphone, approve, play (heard
//! on the rig), the emergency button with its confirmation and banner, the schedule
//! editor's errors and a save that changes the plan, the XLSX download read back, and
//! screenshots of every page at phone and desktop width (kept in
//! target/console-screenshots/ to look at).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{tone, Capture, PrivateRig, Site};
use serde_json::Value;

const PASSWORD: &str = "mật khẩu đài 2026";

fn schedule() -> String {
    let (when, _) = common::far_daily(0);
    r#"station:
  name: "Đài truyền thanh xã Thử"
library:
  settle: 1s
output:
  volume: 1.0
categories:
  tin: {name: "Tin tức", loudness: -20, pick: all}
  duyet: {name: "Cần duyệt", loudness: -20, approval: required}
  khan-cap: {name: "Khẩn cấp", priority: emergency, loudness: -20}
emergency:
  category: khan-cap
  repeat: 1
programmes:
  - name: "Sáng"
    when: "WHEN"
    segments:
      - category: tin
http:
  listen: 127.0.0.1:0
"#
    .replace("WHEN", &when)
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn console_url(st: &Site) -> String {
    let t = Instant::now();
    loop {
        let o = st.run(&["status", "--format", "json"]);
        if o.status.success() {
            let v: Value = serde_json::from_slice(&o.stdout).unwrap();
            if let Some(c) = v["console"].as_str() {
                return c.to_string();
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the console did not start: {}",
            std::fs::read_to_string(st.path().join("daemon.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn add_admin(st: &Site) {
    let mut c = Command::new(common::bin())
        .args([
            "user",
            "add",
            "chu-tich",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .arg("--config")
        .arg(st.config())
        .current_dir(st.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(c.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(c.wait().unwrap().success());
}

/// Where playwright-core is (scripts/test installs it with `npm ci`).
fn runner() -> std::path::PathBuf {
    let dir = common::repo().join("tests/console");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is missing: run scripts/test (it installs chromium and runs `npm ci --prefix tests/console`)"
    );
    dir.join("run.js")
}

#[test]
fn an_operator_runs_the_station_from_the_console_in_chromium() {
    let script = runner();
    let rig = PrivateRig::start();
    let env = rig.env();
    let st = Site::new();
    st.write_config(&schedule());
    let a = st.path().join("audio");
    tone(&a.join("tin/2026-01-01 ban tin.wav"), 500.0, 4.0, 0.5, 0.0);
    tone(&a.join("khan-cap/bao lu.wav"), 1000.0, 2.0, 0.5, 0.0);
    std::fs::create_dir_all(a.join("duyet")).unwrap();
    let work = st.path().join("work");
    tone(&work.join("Bản tin thử nghiệm.wav"), 300.0, 1.5, 0.5, 0.0);
    tone(&work.join("can duyet.wav"), 350.0, 1.5, 0.5, 0.0);
    // The fake microphone speaks a 700 Hz tone: the recording is heard on the rig by it.
    let mic = st.path().join("mic.wav");
    tone(&mic, 700.0, 30.0, 0.5, 0.0);
    add_admin(&st);

    let log = st.path().join("daemon.log");
    let _d = Daemon(common::daemon(&st, &env, &[]));
    let url = console_url(&st);

    let out = common::repo().join("target/console-screenshots");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let cap = Capture::start(&env, &st.path().join("cap"));
    let run = Command::new("node")
        .arg(&script)
        .env("LOAXA_URL", &url)
        .env("LOAXA_USER", "chu-tich")
        .env("LOAXA_PASSWORD", PASSWORD)
        .env("WORK", &work)
        .env("MIC", &mic)
        .env("OUT", &out)
        .output()
        .expect("node (scripts/test installs nodejs)");
    let (tones, _) = cap.tones();
    let steps: Vec<Value> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let daemon_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        run.status.success() && steps.last().is_some_and(|s| s["step"] == "done"),
        "the browser run failed (screenshot: {}):\n{}\n{}\n--- daemon ---\n{daemon_log}",
        out.join("failure.png").display(),
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    let step = |name: &str| steps.iter().find(|s| s["step"] == name).unwrap().clone();

    // Heard on the rig: the item played from the console (500 Hz), the browser's recording
    // (700 Hz, from the fake microphone, through WebM/Opus) and the emergency (1000 Hz).
    let heard = |hz: u32| -> f64 { tones.iter().filter(|t| t.hz == hz).map(|t| t.dur_s).sum() };
    assert!(
        heard(500) > 3.8,
        "the played item: {} s\n{tones:?}",
        heard(500)
    );
    assert!(
        heard(700) > 2.0,
        "the recording: {} s\n{tones:?}",
        heard(700)
    );
    assert!(
        heard(1000) > 1.8,
        "the emergency: {} s\n{tones:?}",
        heard(1000)
    );

    // The airtime log: the cancelled emergency aired nothing; the confirmed one aired
    // once, after the confirmation, as an emergency.
    let confirmed: chrono::DateTime<chrono::Utc> = step("emergency")["confirmed_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let rows = loaxa::airtime::Store::open_readonly(&st.path().join("state/airtime.db"))
        .unwrap()
        .tail(100)
        .unwrap();
    let em: Vec<_> = rows
        .iter()
        .filter(|r| r.item_path.as_deref() == Some("khan-cap/bao lu.wav"))
        .collect();
    assert_eq!(em.len(), 1, "{em:?}");
    assert_eq!(em[0].trigger, loaxa::airtime::Trigger::Emergency);
    assert!(em[0].started_at.unwrap() > confirmed, "{em:?}");
    let rec = step("record")["item"].as_str().unwrap().to_string();
    assert!(
        rows.iter()
            .any(|r| r.item_path.as_deref() == Some(rec.as_str())
                && r.status == loaxa::airtime::Status::Completed),
        "the recording {rec} aired to its end: {rows:?}"
    );

    // The schedule saved from the editor is the file on disk, and the old one was kept.
    let saved = std::fs::read_to_string(st.config()).unwrap();
    assert!(saved.contains("Bản tin trưa") && saved.contains("segments:"));
    let kept = std::fs::read_dir(st.path().join("state/schedule-history"))
        .unwrap()
        .count();
    assert_eq!(kept, 1, "one save keeps one earlier version");
    assert_eq!(
        step("schedule-typo")["line"].as_u64().unwrap() as usize,
        saved.lines().position(|l| l.contains("segments:")).unwrap() + 1
    );

    // The XLSX the console downloaded reads back with the airings in it.
    use calamine::{open_workbook_auto, Data, Reader};
    let mut wb = open_workbook_auto(step("xlsx")["path"].as_str().unwrap()).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    let cells: Vec<String> = range
        .rows()
        .flat_map(|r| r.iter())
        .filter_map(|c| match c {
            Data::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert!(cells.iter().any(|c| c == "bao lu"), "{cells:?}");
    assert!(cells.iter().any(|c| c == "ban tin"), "{cells:?}");

    // The audit trail says who did it, from the browser.
    let audit = st.run(&["audit", "--format", "json"]);
    let audit: Vec<Value> = common::stdout(&audit)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    for action in ["login", "take", "approve", "play", "schedule.save"] {
        assert!(
            audit
                .iter()
                .any(|e| e["who"] == "chu-tich" && e["via"] == "http" && e["action"] == action),
            "{action} by chu-tich over http is audited:\n{audit:?}"
        );
    }

    // Every page at both widths (looked at by a person: target/console-screenshots/).
    for tag in ["phone", "desktop"] {
        for page in ["dang-phat", "thu-vien", "phat-ngay", "lich", "nhat-ky"] {
            let p = out.join(format!("{tag}-{page}.png"));
            let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            assert!(len > 10_000, "{} is {len} bytes", p.display());
        }
    }
}
