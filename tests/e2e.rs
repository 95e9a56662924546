//! End to end: `loaxa run` as a real process on the real output path (rodio → cpal → ALSA
//! → the pulse plugin → the test rig's null sink), its sound recorded from the sink's
//! monitor. Each test holds the rig alone (one capture at a time).

mod common;
use common::{stderr, tone, Site};

use std::path::PathBuf;
use std::process::Child;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Timelike, Utc};
use loaxa::airtime::{Airing, Status, Store};

static RIG: Mutex<()> = Mutex::new(());

/// Holds the rig alone for one test (one capture at a time), started.
fn start_rig() -> std::sync::MutexGuard<'static, ()> {
    let guard = RIG.lock().unwrap_or_else(|e| e.into_inner());
    common::start_rig();
    guard
}

fn rig_env() -> Vec<(String, String)> {
    common::rig_env()
}

/// Until the daemon answers `status` and its library has at least `n` items ready and none
/// still settling.
fn wait_library_ready(st: &Site, n: u64) {
    let t = Instant::now();
    loop {
        let lib = st.status_json().map(|v| v["library"].clone());
        if let Some(lib) = &lib {
            if lib["ready"].as_u64().unwrap_or(0) >= n && lib["settling"].as_u64().unwrap_or(0) == 0
            {
                return;
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the library was not ready in 20 s: {lib:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The rig (held for the test), its environment, and a station whose jingle and alert
/// tone are the 0.5 s tones most tests use, with its audio folder.
fn rig_station() -> (
    std::sync::MutexGuard<'static, ()>,
    Vec<(String, String)>,
    Site,
    std::path::PathBuf,
) {
    let rig = start_rig();
    let env = rig_env();
    let st = Site::new();
    let a = st.path().join("audio");
    tone(&a.join("nhac-hieu/a.wav"), 880.0, 0.5, 0.5, 0.0);
    tone(&a.join("nhac-hieu/coi.wav"), 1200.0, 0.5, 0.5, 0.0);
    (rig, env, st, a)
}

/// The next whole second at least `secs` from now, and its 6-field cron in the zone.
fn second_after(secs: i64) -> (DateTime<Utc>, String) {
    let t = Utc::now() + chrono::Duration::seconds(secs);
    let t = t.with_nanosecond(0).unwrap() + chrono::Duration::seconds(1);
    let l = t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
    (
        t,
        format!("{} {} {} * * *", l.second(), l.minute(), l.hour()),
    )
}

fn config(when: &str, extra: &str) -> String {
    format!(
        r#"station:
  name: "Đài thử"
library:
  settle: 1s
output:
  volume: 1.0
categories:
  tin:
    name: "Tin"
    loudness: -20
  khan-cap:
    name: "Khẩn cấp"
    priority: emergency
    loudness: -20
  nhac-hieu:
    name: "Nhạc hiệu"
    loudness: -20
programmes:
  - name: "Thử"
    when: "{when}"
    segments:
      - jingle: nhac-hieu/a.wav
      - category: tin
        pick: all
emergency:
  category: khan-cap
  alert_tone: nhac-hieu/coi.wav
  repeat: 1
  after: restart_item
{extra}"#
    )
}

/// Waits until `title` has `n` rows in the airtime log (each airing has one once it is on
/// air).
fn wait_airings(st: &Site, d: &Run, title: &str, n: usize, max: Duration) {
    let t = Instant::now();
    while rows(st)
        .iter()
        .filter(|x| x.title.as_deref() == Some(title))
        .count()
        < n
    {
        assert!(
            t.elapsed() < max,
            "no airing {n} of `{title}` within {max:?}: {:#?}\n{}",
            rows(st),
            d.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Run {
    child: Child,
    log: PathBuf,
}

impl Run {
    fn start(st: &Site, env: &[(String, String)], args: &[&str]) -> Run {
        let log = st.path().join("daemon.log");
        let child = common::daemon(st, env, args);
        let r = Run { child, log };
        r.wait_log("loaxa running", Duration::from_secs(10));
        r
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_log(&self, needle: &str, max: Duration) {
        let t = Instant::now();
        while !self.log().contains(needle) {
            assert!(
                t.elapsed() < max,
                "no `{needle}` in the daemon's log within {max:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM; returns how long it took to exit.
    fn term(&mut self) -> Duration {
        let t = Instant::now();
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let st = self.child.wait().unwrap();
        assert!(st.success(), "exit status {st:?}\n{}", self.log());
        t.elapsed()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

use common::{Capture, Segment};

fn ns(t: DateTime<Utc>) -> i128 {
    t.timestamp_nanos_opt().unwrap() as i128
}

fn rows(st: &Site) -> Vec<Airing> {
    Store::open_readonly(&st.path().join("state/airtime.db"))
        .unwrap()
        .tail(1000)
        .unwrap()
}

#[test]
fn airs_on_the_second_gapless_and_logs_what_the_output_played() {
    let _rig = start_rig();
    let env = rig_env();
    let st = Site::new();
    let a = st.path().join("audio");
    tone(&a.join("nhac-hieu/a.wav"), 880.0, 1.0, 0.5, 0.0);
    tone(&a.join("nhac-hieu/coi.wav"), 1200.0, 0.5, 0.5, 0.0);
    tone(&a.join("tin/2026-01-01 b.wav"), 440.0, 1.5, 0.5, 0.0);
    tone(&a.join("tin/2026-01-02 c.wav"), 660.0, 1.0, 0.5, 0.0);
    let (at, when) = second_after(6);
    st.write_config(&config(&when, ""));
    let cap = Capture::start(&env, &st.path().join("cap"));
    let mut d = Run::start(&st, &env, &[]);
    d.wait_log("completed: 1.5", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(1500));
    let segs = cap.stop();
    d.term();
    assert!(!segs.is_empty(), "nothing was heard\n{}", d.log());
    let onset_ms = (segs[0].start_ns - ns(at)) as f64 / 1e6;
    eprintln!("onset {onset_ms:+.2} ms; segments {segs:?}");
    assert!(
        onset_ms.abs() < 50.0,
        "first sample {onset_ms:+.1} ms from its second"
    );
    // Three items back to back with no gap: one continuous segment of 1 + 1.5 + 1 s.
    assert_eq!(segs.len(), 1, "{segs:?}");
    assert!(
        (segs[0].dur_s - 3.5).abs() < 0.01,
        "gapless: {} s",
        segs[0].dur_s
    );
    // The log's times are the audio path's.
    let r = rows(&st);
    assert_eq!(r.len(), 3, "{r:?}");
    assert!(r.iter().all(|a| a.status == Status::Completed));
    assert_eq!(r[0].title.as_deref(), Some("a"));
    // `pick: all` airs the newest first.
    assert_eq!(r[1].title.as_deref(), Some("c"));
    assert_eq!(r[2].title.as_deref(), Some("b"));
    assert_eq!(r[1].category.as_deref(), Some("tin"));
    let log_ms = (ns(r[0].started_at.unwrap()) - segs[0].start_ns) as f64 / 1e6;
    assert!(
        log_ms.abs() < 50.0,
        "log start {log_ms:+.1} ms from the captured onset"
    );
    let end_ms = (ns(r[2].ended_at.unwrap()) - segs[0].end_ns) as f64 / 1e6;
    assert!(
        end_ms.abs() < 50.0,
        "log end {end_ms:+.1} ms from the captured end"
    );
    assert_eq!(r[2].played, Some(Duration::from_millis(1500)));
}

#[test]
fn an_emergency_file_interrupts_within_a_second_and_the_programme_resumes() {
    let (_rig, env, st, a) = rig_station();
    tone(&a.join("tin/2026-01-01 dai.wav"), 440.0, 6.0, 0.5, 0.0);
    let (_, when) = second_after(5);
    st.write_config(&config(&when, ""));
    let mut d = Run::start(&st, &env, &[]);
    d.wait_log("on air: Thử › dai", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(1500));
    // The operator drops a warning into the emergency folder.
    let tmp = st.path().join("canh-bao-bao.wav");
    tone(&tmp, 300.0, 1.0, 0.5, 0.0);
    std::fs::rename(&tmp, a.join("khan-cap/canh-bao-bao.wav")).unwrap();
    let dropped = Utc::now();
    d.wait_log("EMERGENCY", Duration::from_secs(5));
    d.wait_log(
        "on air: Phát khẩn cấp › canh-bao-bao",
        Duration::from_secs(5),
    );
    // restart_item: the cut item plays again from its start afterwards.
    d.wait_log("continuing `Thử`", Duration::from_secs(5));
    // Its second airing has a row once it is on air (not at a fixed pause: a busy machine).
    wait_airings(&st, &d, "dai", 2, Duration::from_secs(10));
    d.term();
    let r = rows(&st);
    let cut = r
        .iter()
        .find(|x| x.title.as_deref() == Some("dai"))
        .unwrap();
    assert_eq!(cut.status, Status::Interrupted, "{r:#?}");
    assert_eq!(
        cut.reason.as_deref(),
        Some("interrupted by emergency broadcast")
    );
    let alert = r
        .iter()
        .find(|x| x.title.as_deref() == Some("coi"))
        .unwrap();
    assert_eq!(alert.trigger, loaxa::airtime::Trigger::Emergency);
    // On air within 1 s of the file settling (settle is 1 s here).
    let settled = dropped + chrono::Duration::seconds(1);
    let delay = (alert.started_at.unwrap() - settled).num_milliseconds();
    eprintln!("emergency on air {delay} ms after the file settled");
    assert!(
        delay < 1000,
        "emergency on air {delay} ms after the file settled"
    );
    let item = r
        .iter()
        .find(|x| x.title.as_deref() == Some("canh-bao-bao"))
        .unwrap();
    assert_eq!(item.status, Status::Completed);
    assert_eq!(item.priority, loaxa::config::Priority::Emergency);
    // The interrupted item airs again after the emergency.
    assert!(
        r.iter()
            .filter(|x| x.title.as_deref() == Some("dai"))
            .count()
            == 2,
        "{r:#?}"
    );
    assert!(
        r.iter()
            .position(|x| x.title.as_deref() == Some("canh-bao-bao"))
            < r.iter().rposition(|x| x.title.as_deref() == Some("dai"))
    );
}

#[test]
fn sigterm_mid_item_stops_within_2s_and_logs_interrupted() {
    let (_rig, env, st, a) = rig_station();
    tone(&a.join("tin/2026-01-01 dai.wav"), 440.0, 8.0, 0.5, 0.0);
    let (_, when) = second_after(4);
    st.write_config(&config(&when, ""));
    let mut d = Run::start(&st, &env, &[]);
    d.wait_log("on air: Thử › dai", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(1200));
    let took = d.term();
    assert!(took < Duration::from_secs(2), "stopped in {took:?}");
    let r = rows(&st);
    let last = r.last().unwrap();
    assert_eq!(last.title.as_deref(), Some("dai"));
    assert_eq!(last.status, Status::Interrupted);
    assert_eq!(last.reason.as_deref(), Some("daemon stopped (SIGTERM)"));
    let played = last.played.unwrap().as_secs_f64();
    assert!((0.8..3.0).contains(&played), "played {played} s");
    assert!(d.log().contains("stopped (SIGTERM)"));
}

#[test]
fn an_invalid_edit_is_refused_and_the_old_schedule_keeps_running() {
    let (_rig, env, st, _) = rig_station();
    // Hours far from now, so neither schedule fires (or catches up) during the test.
    let (when, hour) = common::far_daily(0);
    let (_, later) = common::far_daily(1);
    st.write_config(&config(&when, ""));
    let d = Run::start(&st, &env, &[]);
    // A typo saved over the config.
    std::fs::write(
        st.config(),
        config(&when, "").replace("pick: all", "pick: al"),
    )
    .unwrap();
    d.wait_log("still running the last good one", Duration::from_secs(5));
    assert!(
        d.log()
            .contains("schedule.yaml:24:15: error: `al` is not a valid pick — did you mean `all`?"),
        "{}",
        d.log()
    );
    let s = st.run(&["status"]);
    let so = common::stdout(&s);
    assert!(so.contains("next:    Thử at"), "{so}");
    assert!(
        so.contains(&format!("{hour:02}:00")),
        "the old schedule: {so}"
    );
    // `loaxa reload` says the same and fails.
    let r = st.run(&["reload"]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        stderr(&r).contains("`al` is not a valid pick"),
        "{}",
        stderr(&r)
    );
    // A good edit is taken.
    std::fs::write(st.config(), config(&format!("0 30 {later} * * *"), "")).unwrap();
    d.wait_log("reloaded", Duration::from_secs(5));
    let so = common::stdout(&st.run(&["status"]));
    assert!(so.contains(&format!("{later:02}:30")), "{so}");
}

#[test]
fn without_a_sound_device_it_says_so_and_never_pretends_to_air() {
    let _rig = start_rig();
    let st = Site::new();
    let a = st.path().join("audio");
    tone(&a.join("nhac-hieu/a.wav"), 880.0, 0.5, 0.5, 0.0);
    tone(&a.join("nhac-hieu/coi.wav"), 1200.0, 0.5, 0.5, 0.0);
    tone(&a.join("tin/2026-01-01 b.wav"), 440.0, 1.0, 0.5, 0.0);
    let (_, when) = second_after(4);
    st.write_config(&config(&when, ""));
    // No PULSE_SERVER and no sound card: ALSA's default device cannot open.
    let mut d = Run::start(
        &st,
        &[("PULSE_SERVER".into(), "unix:/nonexistent/pulse".into())],
        &[],
    );
    let log = d.log();
    let line = log
        .lines()
        .find(|l| l.contains("cannot open the default sound device"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        line.contains("--output wav:FILE") && line.contains("loaxa devices"),
        "{line}"
    );
    d.wait_log("Thử failed", Duration::from_secs(15));
    d.term();
    let r = rows(&st);
    assert!(!r.is_empty());
    assert!(r.iter().all(|x| x.status == Status::Failed), "{r:#?}");
    assert!(
        r[0].reason.as_deref().unwrap().contains("cannot open"),
        "{:?}",
        r[0].reason
    );
    // The same schedule on the null output airs.
    let (_, when) = second_after(4);
    st.write_config(&config(&when, ""));
    let mut d = Run::start(&st, &[], &["--output", "null"]);
    d.wait_log("completed: 1", Duration::from_secs(15));
    d.term();
    assert!(rows(&st)
        .iter()
        .any(|x| x.status == Status::Completed && x.title.as_deref() == Some("b")));
}

#[test]
fn operator_commands_play_skip_stop_status() {
    let (_rig, env, st, a) = rig_station();
    tone(&a.join("tin/2026-01-01 mot.wav"), 440.0, 5.0, 0.5, 0.0);
    tone(&a.join("tin/2026-01-02 hai.wav"), 550.0, 5.0, 0.5, 0.0);
    st.write_config(&config(&common::far_daily(0).0, ""));
    // Without a daemon: one clear line.
    let r = st.run(&["status"]);
    assert_eq!(r.status.code(), Some(3));
    assert!(
        stderr(&r).starts_with("error: no loaxa daemon is running for this station"),
        "{}",
        stderr(&r)
    );
    let d = Run::start(&st, &env, &[]);
    // Answering, with the two bulletins through their settle time and checks (the
    // category's pick below needs them).
    wait_library_ready(&st, 2);
    let f = st.path().join("ngoài.wav");
    tone(&f, 700.0, 5.0, 0.5, 0.0);
    let r = st.run(&["play", f.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert!(common::stdout(&r).contains("playing \"ngoài\" now"));
    d.wait_log("on air: manual play › ngoài", Duration::from_secs(5));
    let s = common::stdout(&st.run(&["status"]));
    assert!(s.contains("on air:  manual play — ngoài"), "{s}");
    let r = st.run(&["skip"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    d.wait_log("skipped", Duration::from_secs(5));
    // A category's pick; then stop ends it.
    let r = st.run(&["play", "--category", "tin"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    d.wait_log("on air: manual play › hai", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(st.run(&["stop"]).status.code(), Some(0));
    d.wait_log("stopped by operator", Duration::from_secs(5));
    let r = st.run(&["skip"]);
    assert_eq!(r.status.code(), Some(1));
    assert!(stderr(&r).contains("nothing is on air"));
    let rows = rows(&st);
    let played: Vec<(Option<&str>, Status)> = rows
        .iter()
        .map(|x| (x.title.as_deref(), x.status))
        .collect();
    assert_eq!(
        played,
        vec![
            (Some("ngoài"), Status::Skipped),
            (Some("hai"), Status::Interrupted)
        ],
        "{rows:#?}"
    );
    assert!(rows
        .iter()
        .all(|x| x.trigger == loaxa::airtime::Trigger::Manual));
    let mode = std::fs::metadata(st.path().join("state/control.sock"))
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
        .unwrap();
    assert_eq!(mode, 0o660, "owner and group only");
}

#[test]
fn a_lost_device_fails_the_airing_cleanly_and_the_programme_airs_when_it_is_back() {
    // Its own sound server: stopping it never touches the rig other tests play through.
    // The shared rig is still held, so no other capture runs meanwhile.
    let _rig = RIG.lock().unwrap_or_else(|e| e.into_inner());
    let private = common::PrivateRig::start();
    let env = private.env();
    let st = Site::new();
    let a = st.path().join("audio");
    tone(&a.join("nhac-hieu/a.wav"), 880.0, 0.5, 0.5, 0.0);
    tone(&a.join("nhac-hieu/coi.wav"), 1200.0, 0.5, 0.5, 0.0);
    tone(&a.join("tin/2026-01-01 dai.wav"), 440.0, 10.0, 0.5, 0.0);
    let (_, when) = second_after(4);
    st.write_config(&config(&when, ""));
    let mut d = Run::start(&st, &env, &[]);
    d.wait_log("on air: Thử › dai", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(1500));
    // The sound server dies mid-item (like a USB sound card pulled out).
    let lost = Utc::now();
    private.stop();
    d.wait_log("the sound device stopped playing", Duration::from_secs(6));
    // The output notices first and logs it; the station then closes the row. Wait for the
    // row itself, not for the log line that precedes it.
    let t = std::time::Instant::now();
    while rows(&st)
        .iter()
        .any(|x| x.title.as_deref() == Some("dai") && x.status == Status::Playing)
    {
        assert!(t.elapsed() < Duration::from_secs(5), "{:#?}", rows(&st));
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = rows(&st);
    let dai = r
        .iter()
        .find(|x| x.title.as_deref() == Some("dai"))
        .unwrap();
    assert_eq!(dai.status, Status::Failed, "{r:#?}");
    assert!(dai.reason.as_deref().unwrap().contains("stopped playing"));
    // Airtime only up to the last audio that went out.
    let ended = dai.ended_at.unwrap();
    assert!(
        (ended - lost).num_milliseconds().abs() < 700,
        "ended {ended}, lost {lost}"
    );
    // It comes back: the programme is retried (5 s backoff) and airs again.
    private.restart();
    wait_airings(&st, &d, "dai", 2, Duration::from_secs(15));
    d.term();
    let r = rows(&st);
    let again = r
        .iter()
        .rfind(|x| x.title.as_deref() == Some("dai"))
        .unwrap();
    assert_eq!(again.trigger, loaxa::airtime::Trigger::Schedule);
    assert_eq!(
        again.scheduled_at, dai.scheduled_at,
        "the same programme start"
    );
    assert!(again.started_at.unwrap() > ended);
}

#[test]
fn mp3_items_play_back_to_back_without_their_encoder_padding() {
    let (_rig, env, st, a) = rig_station();
    for (f, name) in [
        ("tone-1s2-a.mp3", "2026-01-02 a.mp3"),
        ("tone-1s2-b.mp3", "2026-01-01 b.mp3"),
    ] {
        std::fs::create_dir_all(a.join("tin")).unwrap();
        let p = a.join("tin").join(name);
        std::fs::copy(common::repo().join("tests/fixtures/audio").join(f), &p).unwrap();
        std::fs::File::options()
            .append(true)
            .open(&p)
            .unwrap()
            .set_modified(std::time::SystemTime::now() - Duration::from_secs(120))
            .unwrap();
    }
    let (at, when) = second_after(5);
    // Only the two MP3s: a programme of the `tin` category alone.
    st.write_config(&config(&when, "").replace("      - jingle: nhac-hieu/a.wav\n", ""));
    let cap = Capture::start(&env, &st.path().join("cap"));
    let mut d = Run::start(&st, &env, &[]);
    d.wait_log("on air: Thử › b", Duration::from_secs(20));
    d.wait_log("completed: 1.2", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(2000));
    let segs = cap.stop();
    d.term();
    eprintln!("{segs:?}");
    let near: Vec<&Segment> = segs
        .iter()
        .filter(|s| s.start_ns >= ns(at) - 100_000_000)
        .collect();
    assert_eq!(near.len(), 1, "two MP3s heard as one sound: {segs:?}");
    assert!(
        (near[0].dur_s - 2.4).abs() < 0.01,
        "no encoder padding between them: {} s",
        near[0].dur_s
    );
}

/// What went out is measured and kept in the airing's row (loudness, peak, the longest
/// silence), and silence while a programme airs raises the dead-air alarm, runs the alarm
/// command, and clears when the sound is back.
#[test]
fn the_output_is_measured_into_the_row_and_dead_air_raises_the_alarm() {
    use std::os::unix::fs::PermissionsExt;
    let (_rig, env, st, a) = rig_station();
    // 2 s of tone, 1.5 s of silence, 2 s of tone: one bulletin with a hole in it.
    let rate = 48_000u32;
    let mut pcm: Vec<i16> = vec![];
    for (secs, amp) in [(2.0, 0.5), (1.5, 0.0), (2.0, 0.5)] {
        let n = (secs * rate as f64) as usize;
        pcm.extend((0..n).map(|i| {
            (f64::sin(i as f64 * 440.0 * std::f64::consts::TAU / rate as f64) * amp * 32767.0)
                as i16
        }));
    }
    let item = a.join("tin/2026-01-01 co lo hong.wav");
    common::wav(&item, rate, &pcm);
    let called = st.path().join("alarm.txt");
    let script = st.path().join("alarm.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$1\" >> '{}'\n", called.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (_, when) = second_after(5);
    st.write_config(&config(
        &when,
        &format!("alarms:\n  after: 1s\n  command: {}\n", script.display()),
    ));
    let mut d = Run::start(&st, &env, &[]);
    d.wait_log("on air: Thử › co lo hong", Duration::from_secs(20));
    d.wait_log("completed: 5.500s", Duration::from_secs(10));
    // The row gets its measures once the output has rendered the end.
    let t = Instant::now();
    while rows(&st)
        .iter()
        .any(|r| r.title.as_deref() == Some("co lo hong") && r.lufs.is_none())
    {
        assert!(t.elapsed() < Duration::from_secs(5), "{:#?}", rows(&st));
        std::thread::sleep(Duration::from_millis(100));
    }
    d.term();
    let log = d.log();
    let r = rows(&st);
    let row = r
        .iter()
        .find(|r| r.title.as_deref() == Some("co lo hong"))
        .unwrap();
    let lufs = row.lufs.unwrap();
    assert!(
        (lufs + 20.0).abs() < 1.5,
        "normalised to the category's −20 LUFS: {lufs}"
    );
    let hole = row.longest_silence.unwrap().as_millis() as i64;
    assert!((hole - 1500).abs() <= 200, "the 1.5 s hole: {hole} ms");
    assert!(row.peak_db.unwrap() < -1.0 && row.peak_db.unwrap() > -20.0);
    // The jingle before it: measured too, no hole.
    let jingle = r.iter().find(|r| r.title.as_deref() == Some("a")).unwrap();
    assert!(jingle.longest_silence.unwrap() < Duration::from_millis(300));
    assert!(
        log.contains("dead air: the output has been silent"),
        "{log}"
    );
    assert!(log.contains("the output has sound again"), "{log}");
    let t = Instant::now();
    while !called.exists() && t.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let sms = std::fs::read_to_string(&called).unwrap_or_default();
    assert!(
        sms.contains("dead air") && sms.contains("co lo hong"),
        "{sms}"
    );
}

/// The tone detector every e2e and VM check relies on (tests/rig/capture.py): a crossing
/// that falls between two 20 ms windows is still counted. 650 Hz at 48 kHz is 13 cycles a
/// window, so with the phase set to put a crossing between the last sample of a window and
/// the first of the next, every window read 25 crossings, "600 Hz" (VM test, CI run 43:
/// 0.22 s of a bulletin read off pitch, which split it).
#[test]
fn the_tone_detector_counts_the_crossing_between_two_windows() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("t.wav");
    let rate = 48_000u32;
    // 20 ms of silence (as a recording starts), then 2 s of the tone, falling first (its
    // onset is a crossing too).
    let samples: Vec<i16> = (0..rate * 2 + 960)
        .map(|n| {
            let t = (n as f64 - 959.5) / rate as f64;
            let v = -12_000.0 * (2.0 * std::f64::consts::PI * 650.0 * t).sin();
            if n < 960 {
                0
            } else {
                v as i16
            }
        })
        .collect();
    let mut b = Vec::new();
    let data = (samples.len() * 2) as u32;
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    for v in [16u32, 1 | (1 << 16), rate, rate * 2, 2 | (16 << 16)] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    for s in &samples {
        b.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(&wav, b).unwrap();
    let o = std::process::Command::new("python3")
        .arg(common::repo().join("tests/rig/capture.py"))
        .arg("wav-tones")
        .arg(&wav)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let runs: Vec<(i64, f64)> = v["tones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["hz"].as_i64().unwrap(), r["dur_s"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        runs,
        vec![(0, 0.02), (650, 2.0)],
        "silence, then one run of 650 Hz, the whole 2 s"
    );
}
