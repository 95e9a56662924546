//! `loaxa run` as a real process on the `null` output (real time, no sound card): systemd
//! notifications, files deleted or replaced while they air, and `log --follow`.

mod common;
use common::{tone, Station};

use std::io::{BufRead, BufReader};
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

fn station(when: &str) -> Station {
    let st = Station::new();
    st.write_config(&format!(
        "station:\n  name: \"Đài thử\"\nlibrary:\n  settle: 1s\ncategories:\n  tin: {{name: Tin, pick: all}}\nprogrammes:\n  - name: Thử\n    when: \"{when}\"\n    segments: [{{category: tin}}]\n"
    ));
    st
}

fn spawn(st: &Station, env: &[(&str, String)]) -> Child {
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

fn rows(st: &Station) -> Vec<loaxa::airtime::Airing> {
    Store::open_readonly(&st.path().join("state/airtime.db"))
        .map(|s| s.tail(100).unwrap())
        .unwrap_or_default()
}

fn wait_rows(st: &Station, what: &str, f: impl Fn(&[loaxa::airtime::Airing]) -> bool) {
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
    let st = station("0 0 5 * * *");
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
    std::thread::sleep(Duration::from_millis(800));
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
