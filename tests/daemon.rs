//! `loaxa run` as a real process on the `null` output (real time, no sound card): systemd
//! notifications, files deleted or replaced while they air, and `log --follow`.

mod common;
use common::{tone, Site};

use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileExt;
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use loaxa::airtime::{Status, Store};

/// A cron for the next whole second at least `secs` from now. Files written just before
/// the daemon starts must settle (1 s) before they can air, and programmes are cued 2 s
/// ahead: 6 s leaves room for a slow start on a loaded machine.
fn second_after(secs: i64) -> String {
    let t = Utc::now() + chrono::Duration::seconds(secs);
    let l = (t.with_nanosecond(0).unwrap() + chrono::Duration::seconds(1))
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
    format!("{} {} {} * * *", l.second(), l.minute(), l.hour())
}

fn station(when: &str) -> Site {
    let st = Site::new();
    st.write_config(&format!(
        "station:\n  name: \"Đài thử\"\nlibrary:\n  settle: 1s\ncategories:\n  tin: {{name: Tin, pick: all}}\nprogrammes:\n  - name: Thử\n    when: \"{when}\"\n    segments: [{{category: tin}}]\n"
    ));
    st
}

/// Waits until the daemon answers `status`: its start takes longer on a busy machine than
/// any fixed pause would allow.
fn wait_answering(st: &Site) {
    let t = Instant::now();
    while st.status_json().is_none() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the daemon never answered on {}",
            st.path().join("state/control.sock").display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn spawn(st: &Site, env: &[(&str, String)]) -> Child {
    let mut c = Command::new(common::bin());
    c.args(["run", "--output", "null", "--config"])
        .arg(st.config())
        .current_dir(st.path())
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c.spawn().unwrap()
}

fn stop(c: Child) -> String {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
    let out = c.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn rows(st: &Site) -> Vec<loaxa::airtime::Airing> {
    Store::open_readonly(&st.path().join("state/airtime.db"))
        .map(|s| s.tail(100).unwrap())
        .unwrap_or_default()
}

fn wait_rows(st: &Site, what: &str, f: impl Fn(&[loaxa::airtime::Airing]) -> bool) {
    let t = Instant::now();
    while !f(&rows(st)) {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}: {:#?}",
            rows(st)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn under_systemd_it_notifies_ready_status_and_watchdog() {
    let st = station(&common::far_daily(0).0);
    let sock_path = st.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let d = spawn(
        &st,
        &[
            ("NOTIFY_SOCKET", sock_path.display().to_string()),
            ("WATCHDOG_USEC", "1000000".into()),
        ],
    );
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5)
        && !(got.contains("READY=1")
            && got.contains("STATUS=")
            && got.matches("WATCHDOG=1").count() >= 2)
    {
        if let Ok(n) = sock.recv(&mut buf) {
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
            got.push('\n');
        }
    }
    // An empty library says so, with what to do.
    let status = Command::new(common::bin())
        .args(["status", "--config"])
        .arg(st.config())
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    let log = stop(d);
    assert!(
        status.contains("library: empty — put audio files in the category folders"),
        "{status}"
    );
    assert!(got.contains("READY=1"), "{got}\n{log}");
    assert!(got.contains("STATUS=idle; next: Thử at"), "{got}");
    assert!(
        got.matches("WATCHDOG=1").count() >= 2,
        "pings every half WatchdogSec: {got}"
    );
    assert!(log.contains("stopped (SIGTERM)"));
}

#[test]
fn a_file_deleted_while_it_airs_plays_to_its_end_and_one_replaced_fails_cleanly() {
    let st = station(&second_after(6));
    let a = st.path().join("audio/tin");
    // Three items, newest first: the first is deleted while it airs, the second replaced.
    tone(&a.join("2026-01-03 xoa.wav"), 440.0, 4.0, 0.5, 0.0);
    tone(&a.join("2026-01-02 thay.wav"), 550.0, 8.0, 0.5, 0.0);
    tone(&a.join("2026-01-01 sau.wav"), 660.0, 1.5, 0.5, 0.0);
    let d = spawn(&st, &[]);
    wait_rows(&st, "the first item on air", |r| {
        r.iter().any(|x| x.title.as_deref() == Some("xoa"))
    });
    std::thread::sleep(Duration::from_millis(500));
    std::fs::remove_file(a.join("2026-01-03 xoa.wav")).unwrap();
    wait_rows(&st, "the second item on air", |r| {
        r.iter().any(|x| x.title.as_deref() == Some("thay"))
    });
    std::thread::sleep(Duration::from_millis(500));
    // Overwritten in place with something short while it airs.
    std::fs::write(
        a.join("2026-01-02 thay.wav"),
        b"RIFF garbage, not the bulletin any more",
    )
    .unwrap();
    wait_rows(&st, "the last item done", |r| {
        r.iter()
            .any(|x| x.title.as_deref() == Some("sau") && x.status != Status::Playing)
    });
    let log = stop(d);
    let r = rows(&st);
    let get = |t: &str| {
        r.iter()
            .find(|x| x.title.as_deref() == Some(t))
            .unwrap_or_else(|| panic!("{t}: {r:#?}\n{log}"))
    };
    let x = get("xoa");
    assert_eq!(
        x.status,
        Status::Completed,
        "deleted while airing: the open file plays out"
    );
    assert_eq!(x.played, Some(Duration::from_secs(4)));
    let t = get("thay");
    assert_eq!(t.status, Status::Failed, "{t:#?}");
    assert!(
        t.reason
            .as_deref()
            .unwrap()
            .contains("damaged or was replaced while airing"),
        "{:?}",
        t.reason
    );
    assert!(t.played.unwrap() < Duration::from_secs(7), "{:?}", t.played);
    let s = get("sau");
    assert_eq!(s.status, Status::Completed, "the next item plays");
}

#[test]
fn log_follow_prints_airings_as_they_start_and_end() {
    let st = station(&second_after(6));
    tone(
        &st.path().join("audio/tin/2026-01-01 mot.wav"),
        440.0,
        2.0,
        0.5,
        0.0,
    );
    let d = spawn(&st, &[]);
    wait_answering(&st);
    let mut f = Command::new(common::bin())
        .args(["log", "--follow", "--config"])
        .arg(st.config())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(f.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.contains("đang phát") && first.contains("Thử") && first.contains("mot"),
        "{first}"
    );
    let second = lines.next().unwrap().unwrap();
    assert!(
        second.contains("đã phát xong") && second.contains("mot") && second.contains("2s"),
        "{second}"
    );
    let _ = f.kill();
    let _ = f.wait();
    stop(d);
}

/// The same schedule and library, once on the real daemon (null output, real time) and
/// once simulated over the same window: the same rows, in the same order, with the same
/// scheduled instants and statuses, and starts and lengths within a few milliseconds.
#[test]
fn run_and_simulate_write_the_same_rows_for_the_same_scripted_day() {
    let t0 = Utc::now();
    let at = |s: i64| {
        let t = (t0 + chrono::Duration::seconds(s))
            .with_nanosecond(0)
            .unwrap();
        let l = t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
        (
            t,
            format!("{} {} {} * * *", l.second(), l.minute(), l.hour()),
        )
    };
    let (_, first) = at(7);
    let (_, second) = at(12);
    let st = Site::new();
    st.write_config(&format!(
        "station:\n  name: \"Đài thử\"\nlibrary:\n  settle: 1s\ncategories:\n  tin: {{name: Tin, pick: rotate}}\n  dvc: {{name: DVC}}\nprogrammes:\n  - name: Một\n    when: \"{first}\"\n    segments: [{{category: tin}}, {{category: dvc}}]\n  - name: Hai\n    when: \"{second}\"\n    segments: [{{category: tin}}, {{category: dvc}}]\n"
    ));
    let a = st.path().join("audio");
    tone(&a.join("tin/2026-01-01 a.wav"), 440.0, 1.5, 0.5, 0.0);
    tone(&a.join("tin/2026-01-02 b.wav"), 550.0, 1.0, 0.5, 0.0);
    tone(&a.join("dvc/2026-01-03 c.wav"), 660.0, 2.0, 0.5, 0.0);
    let d = spawn(&st, &[]);
    wait_rows(&st, "both programmes done", |r| {
        r.len() == 4 && r.iter().all(|x| x.status != Status::Playing)
    });
    stop(d);
    let (end, _) = at(20);
    let db = st.path().join("sim.db");
    let out = st.run(&[
        "simulate",
        "--from",
        &t0.to_rfc3339(),
        "--until",
        &end.to_rfc3339(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let sim = Store::open_readonly(&db).unwrap().tail(100).unwrap();
    let real = rows(&st);
    let key = |r: &[loaxa::airtime::Airing]| -> Vec<String> {
        r.iter()
            .map(|x| {
                format!(
                    "{} {} {} {:?} {:?} {:?}",
                    x.programme.as_deref().unwrap_or("-"),
                    x.title.as_deref().unwrap_or("-"),
                    x.status.as_str(),
                    x.scheduled_at,
                    x.trigger,
                    x.planned
                )
            })
            .collect()
    };
    assert_eq!(key(&real), key(&sim), "real {real:#?}\nsimulated {sim:#?}");
    assert_eq!(key(&real).len(), 4);
    for (r, s) in real.iter().zip(&sim) {
        let dt = (r.started_at.unwrap() - s.started_at.unwrap()).num_milliseconds();
        assert!(dt.abs() < 50, "start {dt} ms apart: {r:#?} {s:#?}");
        let dp = r.played.unwrap().as_millis() as i64 - s.played.unwrap().as_millis() as i64;
        assert!(dp.abs() < 50, "played {dp} ms apart: {r:#?} {s:#?}");
    }
}

/// A secondary output that cannot be written fails alone: the programme airs, its row is
/// completed, `status` names the failing output, and the working recording holds the item.
#[test]
fn a_failing_secondary_output_never_fails_an_airing() {
    let st = Site::new();
    std::fs::write(st.path().join("not-a-folder"), b"x").unwrap();
    st.write_config(&format!(
        "station:\n  name: \"Đài thử\"\nlibrary:\n  settle: 1s\ncategories:\n  tin: {{name: Tin, pick: all}}\noutputs:\n  - wav: ghi-am/%Y-%m-%d.wav\n  - wav: not-a-folder/x.wav\nprogrammes:\n  - name: Thử\n    when: \"{}\"\n    segments: [{{category: tin}}]\n",
        second_after(6)
    ));
    tone(
        &st.path().join("audio/tin/2026-01-01 mot.wav"),
        440.0,
        2.0,
        0.5,
        0.0,
    );
    let d = spawn(&st, &[]);
    wait_rows(&st, "the item aired", |r| {
        r.iter().any(|x| x.status == Status::Completed)
    });
    let out = Command::new(common::bin())
        .args(["status", "--format", "json", "--config"])
        .arg(st.config())
        .output()
        .unwrap();
    let text = Command::new(common::bin())
        .args(["status", "--config"])
        .arg(st.config())
        .output()
        .unwrap();
    let log = stop(d);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outputs = s["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 3, "{s}");
    assert_eq!(outputs[0]["master"], true);
    assert_eq!(outputs[1]["ok"], true, "{s}");
    assert_eq!(outputs[2]["ok"], false, "{s}");
    assert!(
        outputs[2]["last_error"]
            .as_str()
            .unwrap()
            .contains("not-a-folder"),
        "{s}"
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("not-a-folder/x.wav — FAILING"), "{text}");
    // Logged once, not at every retry.
    assert_eq!(
        log.matches("not-a-folder/x.wav: cannot write").count(),
        1,
        "{log}"
    );
    let r = rows(&st);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, Status::Completed);
    // The recording holds what aired: 2 s of 48 kHz stereo, 16-bit (within a buffer).
    let day = std::fs::read_dir(st.path().join("ghi-am"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let secs = (std::fs::metadata(&day).unwrap().len() - 44) as f64 / (48_000.0 * 4.0);
    assert!((secs - 2.0).abs() < 0.2, "recorded {secs} s");
}

/// The command surface over the socket: typed JSON status, stable error codes for what
/// cannot be done, and a malformed request refused without echoing it.
#[test]
fn the_socket_answers_with_typed_outcomes_and_stable_error_codes() {
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    let st = station(&common::far_daily(0).0);
    let d = spawn(&st, &[]);
    wait_answering(&st);
    let ask = |line: &str| -> serde_json::Value {
        let mut s = UnixStream::connect(st.path().join("state/control.sock")).unwrap();
        s.write_all(line.as_bytes()).unwrap();
        s.write_all(b"\n").unwrap();
        let mut a = String::new();
        BufReader::new(s).read_line(&mut a).unwrap();
        serde_json::from_str(&a).unwrap()
    };
    let s = ask(r#"{"cmd":"status"}"#);
    assert_eq!(s["ok"], true);
    assert_eq!(s["outcome"]["outcome"], "status");
    assert_eq!(s["outcome"]["station"], "Đài thử");
    let e = ask(r#"{"cmd":"skip"}"#);
    assert_eq!(
        (e["ok"].as_bool(), e["error"]["code"].as_str()),
        (Some(false), Some("nothing_on_air"))
    );
    let e = ask(r#"{"cmd":"play","item":"tin/khong-co.wav"}"#);
    assert_eq!(e["error"]["code"], "no_such_item");
    let e = ask(r#"{"cmd":"play","category":"xyz"}"#);
    assert_eq!(e["error"]["code"], "no_such_category");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("the categories are tin"));
    let e = ask(r#"{"cmd":"play","category":"tin"}"#);
    assert_eq!(e["error"]["code"], "nothing_to_play");
    let long = format!(r#"{{"cmd":"{}"}}"#, "x".repeat(10_000));
    let e = ask(&long);
    assert_eq!(e["error"]["code"], "bad_request");
    assert!(
        e["message"].as_str().unwrap().len() < 300,
        "not echoed: {e}"
    );
    // The CLI prints the same codes with --format json, and exits 1.
    let out = Command::new(common::bin())
        .args(["skip", "--config"])
        .arg(st.config())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing is on air"));
    stop(d);
}

/// `kill -9` in the middle of a programme, then a start within catch_up: the programme
/// goes on from the item that was cut (restart_item, the default), and every item ends
/// with a row that says what happened.
#[test]
fn a_programme_cut_by_kill_9_continues_when_the_daemon_is_back() {
    let st = station(&second_after(6));
    let a = st.path().join("audio/tin");
    tone(&a.join("2026-01-03 mot.wav"), 440.0, 3.0, 0.5, 0.0);
    tone(&a.join("2026-01-02 hai.wav"), 550.0, 3.0, 0.5, 0.0);
    tone(&a.join("2026-01-01 ba.wav"), 660.0, 3.0, 0.5, 0.0);
    let mut d = spawn(&st, &[]);
    wait_rows(&st, "the second item on air", |r| {
        r.iter().any(|x| x.title.as_deref() == Some("hai"))
    });
    std::thread::sleep(Duration::from_millis(1000));
    d.kill().unwrap();
    let _ = d.wait();
    let d = spawn(&st, &[]);
    wait_rows(&st, "the programme finished", |r| {
        r.iter()
            .any(|x| x.title.as_deref() == Some("ba") && x.status == Status::Completed)
    });
    let log = stop(d);
    let r = rows(&st);
    let got: Vec<(String, Status)> = r
        .iter()
        .map(|x| (x.title.clone().unwrap_or_default(), x.status))
        .collect();
    assert_eq!(
        got,
        [
            ("mot".to_string(), Status::Completed),
            ("hai".to_string(), Status::Interrupted),
            ("hai".to_string(), Status::Completed),
            ("ba".to_string(), Status::Completed),
        ],
        "{r:#?}\n{log}"
    );
    assert_eq!(r[1].reason.as_deref(), Some("daemon stopped unexpectedly"));
    assert_eq!(
        r[2].scheduled_at, r[0].scheduled_at,
        "the same programme slot"
    );
    assert!(log.contains("where the stop cut it"), "{log}");
}

/// A small disk of its own for the state folder (a tmpfs; mounting needs root, as CI
/// runs), unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(at: &std::path::Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(at).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .unwrap();
        assert!(
            st.success(),
            "mounting a small tmpfs needs root (CI runs as root; use `sudo cargo test`)"
        );
        SmallDisk(at.to_path_buf())
    }

    /// Fills it to the last byte.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.0.join("filler")).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let small = [0u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.sync_all();
    }

    fn free(&self) {
        std::fs::remove_file(self.0.join("filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn status_json(st: &Site) -> serde_json::Value {
    st.status_json().unwrap_or_default()
}

/// The state disk fills up while the station airs: airing goes on, `status` raises an
/// alarm, and when space returns every airing that happened meanwhile gets its row.
#[test]
fn a_full_disk_keeps_rows_in_memory_and_writes_them_when_space_returns() {
    let st = station("*/4 * * * * *");
    let disk = SmallDisk::mount(&st.path().join("state"), "3m");
    tone(
        &st.path().join("audio/tin/2026-01-01 mot.wav"),
        440.0,
        1.0,
        0.5,
        0.0,
    );
    let d = spawn(&st, &[]);
    wait_rows(&st, "a first airing", |r| {
        r.iter().any(|x| x.status == Status::Completed)
    });
    disk.fill();
    // Two or three programmes air on a full disk.
    let t = Instant::now();
    let mut alarmed = false;
    while t.elapsed() < Duration::from_secs(10) {
        let s = status_json(&st);
        if s["alarms"].as_array().is_some_and(|a| !a.is_empty()) {
            alarmed = true;
            assert!(
                s["alarms"][0]
                    .as_str()
                    .unwrap()
                    .contains("cannot be written"),
                "{s}"
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(alarmed, "no alarm while the disk was full");
    disk.free();
    let t = Instant::now();
    while status_json(&st)["alarms"]
        .as_array()
        .is_none_or(|a| !a.is_empty())
    {
        assert!(t.elapsed() < Duration::from_secs(15), "the alarm stays");
        std::thread::sleep(Duration::from_millis(300));
    }
    // One airing that starts after the disk is back completes and is written: then the rows
    // kept in memory have had their chance too. (A fixed pause here raced the 4 s cycle.)
    let freed = Utc::now();
    wait_rows(&st, "an airing after the disk was freed", |r| {
        r.iter()
            .any(|x| x.status == Status::Completed && x.started_at.is_some_and(|s| s > freed))
    });
    let log = stop(d);
    let aired = log.matches("completed: 1s").count();
    let r = rows(&st);
    let completed = r.iter().filter(|x| x.status == Status::Completed).count();
    assert!(aired >= 4, "{log}");
    assert_eq!(completed, aired, "every airing has its row\n{r:#?}\n{log}");
    assert!(log.contains("writable again"), "{log}");
    drop(disk);
}

/// A file written over in place while it airs (the same file, new content) plays to its end
/// and is logged completed with a reason saying part of it was the new version; a jingle
/// outside the library is named by its path under the audio folder, like every item.
#[test]
fn a_file_overwritten_while_it_airs_is_logged_as_changed() {
    let st = Site::new();
    st.write_config(&format!(
        "station:\n  name: \"Đài thử\"\nlibrary:\n  settle: 1s\ncategories:\n  tin: {{name: Tin, pick: all}}\nprogrammes:\n  - name: Thử\n    when: \"{}\"\n    segments: [{{jingle: chung/mo.wav}}, {{category: tin}}]\n",
        second_after(6)
    ));
    let a = st.path().join("audio");
    tone(&a.join("chung/mo.wav"), 880.0, 1.0, 0.5, 0.0);
    let item = a.join("tin/2026-01-01 ban tin.wav");
    tone(&item, 440.0, 4.0, 0.5, 0.0);
    let d = spawn(&st, &[]);
    wait_rows(&st, "the item on air", |r| {
        r.iter().any(|x| x.title.as_deref() == Some("ban tin"))
    });
    std::thread::sleep(Duration::from_millis(800));
    // Another bulletin of the same length, written into the same file.
    let other = st.path().join("khac.wav");
    tone(&other, 660.0, 4.0, 0.5, 0.0);
    let bytes = std::fs::read(&other).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&item)
        .unwrap()
        .write_all_at(&bytes, 0)
        .unwrap();
    wait_rows(&st, "the item done", |r| {
        r.iter()
            .any(|x| x.title.as_deref() == Some("ban tin") && x.status != Status::Playing)
    });
    let log = stop(d);
    let r = rows(&st);
    assert_eq!(r[0].item_path.as_deref(), Some("chung/mo.wav"), "{r:#?}");
    let b = r
        .iter()
        .find(|x| x.title.as_deref() == Some("ban tin"))
        .unwrap();
    assert_eq!(b.status, Status::Completed, "{b:#?}\n{log}");
    assert!(
        b.reason
            .as_deref()
            .unwrap_or_default()
            .contains("overwritten while it aired"),
        "{b:#?}"
    );
}

/// Clients that hold the socket (1 100 idle connections, a 50 MB line without an end) cost
/// no airing and no memory: the programme airs on its second, `status` answers (or says
/// `busy` at once), and the daemon's memory stays small.
#[test]
fn idle_floods_and_endless_lines_on_the_socket_cost_no_airing() {
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    // This test's own process needs the file handles for its 1 100 connections.
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: our own process's limits, with a live struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max.min(8192);
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
    let st = station(&second_after(8));
    tone(
        &st.path().join("audio/tin/2026-01-01 mot.wav"),
        440.0,
        1.0,
        0.5,
        0.0,
    );
    let d = spawn(&st, &[]);
    wait_answering(&st);
    let sock = st.path().join("state/control.sock");
    let idle: Vec<UnixStream> = (0..1100)
        .filter_map(|_| UnixStream::connect(&sock).ok())
        .collect();
    assert!(idle.len() >= 1000, "only {} connections", idle.len());
    let mut big = UnixStream::connect(&sock).unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..50 {
        if big.write_all(&chunk).is_err() {
            break; // the daemon dropped it: good
        }
    }
    let rss = common::memory_kb(d.id(), "VmRSS");
    // The status answers within a few seconds: the status itself, or `busy` at once.
    let t = Instant::now();
    let out = Command::new(common::bin())
        .args(["status", "--config"])
        .arg(st.config())
        .output()
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || err.contains("try again in a moment"),
        "{err}"
    );
    wait_rows(&st, "the programme", |r| {
        r.iter().any(|x| x.status == Status::Completed)
    });
    drop(idle);
    drop(big);
    std::thread::sleep(Duration::from_millis(2500));
    let out = Command::new(common::bin())
        .args(["status", "--config"])
        .arg(st.config())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = stop(d);
    let r = rows(&st);
    let late = (r[0].started_at.unwrap() - r[0].scheduled_at.unwrap()).num_milliseconds();
    assert!(late.abs() < 100, "aired {late} ms off its second\n{log}");
    assert!(rss < 100_000, "RSS {rss} kB under the flood");
}

/// One sub-folder the daemon cannot read (the technician copied it as another user) is
/// listed as such, and every other folder stays watched: an emergency dropped afterwards
/// airs within seconds, not at the next 30 s rescan. The daemon runs as `nobody` here, so
/// the folder is unreadable to it even when the tests run as root.
#[test]
fn an_unreadable_folder_is_reported_and_the_rest_stays_watched() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let st = station(&common::far_daily(0).0);
    let cfg = std::fs::read_to_string(st.config()).unwrap().replace(
        "categories:\n",
        "categories:\n  khan-cap: {name: Khẩn cấp, priority: emergency}\n",
    );
    st.write_config(&format!("{cfg}emergency:\n  category: khan-cap\n"));
    let a = st.path().join("audio");
    std::fs::create_dir_all(a.join("khan-cap")).unwrap();
    std::fs::create_dir_all(a.join("tin/riêng")).unwrap();
    tone(&a.join("tin/riêng/x.wav"), 440.0, 2.0, 0.5, 0.0);
    // Everything belongs to the daemon's user but the one folder.
    let root = unsafe { libc::geteuid() } == 0;
    let (uid, gid) = if root {
        (65534, 65534)
    } else {
        unsafe { (libc::geteuid(), libc::getegid()) }
    };
    let chown = |p: &std::path::Path| {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid path; our own test files.
        unsafe { libc::chown(c.as_ptr(), uid, gid) };
    };
    for e in walkdir(st.path()) {
        chown(&e);
    }
    std::fs::set_permissions(st.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let hidden = a.join("tin/riêng");
    // SAFETY: as above; root keeps the folder, the daemon's user gets nothing.
    let c = std::ffi::CString::new(hidden.as_os_str().as_encoded_bytes()).unwrap();
    unsafe { libc::chown(c.as_ptr(), 0, 0) };
    std::fs::set_permissions(&hidden, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut cmd = Command::new(common::bin());
    cmd.args(["run", "--output", "null", "--config"])
        .arg(st.config())
        .current_dir(st.path())
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped());
    if root {
        cmd.uid(uid).gid(gid);
    }
    let d = cmd.spawn().unwrap();
    // Answering means the folders are watched and the first scan is done, so the file
    // below is new to it (a file already there at the first scan is not broadcast).
    wait_answering(&st);
    // An emergency now: a watched folder, so on air within seconds.
    let dropped = Instant::now();
    let bao = a.join("khan-cap/bão.wav");
    tone(&bao, 880.0, 1.5, 0.5, 0.0);
    // tone() backdates the file; an emergency airs only when it is new.
    std::fs::File::options()
        .append(true)
        .open(&bao)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    chown(&bao);
    wait_rows(&st, "the emergency on air", |r| {
        r.iter().any(|x| x.title.as_deref() == Some("bão"))
    });
    let took = dropped.elapsed();
    let listing = Command::new(common::bin())
        .args(["library", "--config"])
        .arg(st.config())
        .uid(uid)
        .gid(gid)
        .output()
        .unwrap();
    let log = stop(d);
    assert!(
        took < Duration::from_secs(10),
        "on air after {took:?}\n{log}"
    );
    let text = String::from_utf8_lossy(&listing.stdout);
    assert!(text.contains("cannot be read"), "{text}\n{log}");
}

fn walkdir(p: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![p.to_path_buf()];
    if p.is_dir() {
        for e in std::fs::read_dir(p).unwrap() {
            out.extend(walkdir(&e.unwrap().path()));
        }
    }
    out
}
