//! Relays on the audio rig: a real icecast2 on loopback (started by the test) with ffmpeg as
//! the upstream station, loaxa relaying its mount to the sound card, and a recording of the
//! card that says which tone sounded when. Each test holds the rig alone.

mod common;
use common::{tone, Capture, Icecast, Segment, Site, Tone};

use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Timelike, Utc};
use loaxa::airtime::{Airing, Status, Store};

static RIG: Mutex<()> = Mutex::new(());

const UP: u32 = 1000;
const FALLBACK: u32 = 500;
const OTHER: u32 = 700;

/// The next whole second at least `secs` from now, and its 6-field cron in the zone.
fn second_after(secs: i64) -> (DateTime<Utc>, String) {
    let t = Utc::now() + chrono::Duration::seconds(secs);
    let t = t.with_nanosecond(0).unwrap() + chrono::Duration::seconds(1);
    (t, cron(t))
}

fn cron(t: DateTime<Utc>) -> String {
    let l = t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
    format!("{} {} {} * * *", l.second(), l.minute(), l.hour())
}

/// The upstream station: ffmpeg sending a tone (silence at volume 0) as MP3 to a mount.
struct Upstream(Child);

impl Upstream {
    fn start(ice: &Icecast, hz: u32, volume: f64) -> Upstream {
        let c = Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-re",
                "-f",
                "lavfi",
                "-i",
            ])
            .arg(format!("sine=frequency={hz}:sample_rate=44100"))
            .args(["-af", &format!("volume={volume}"), "-ac", "2"])
            .args(["-c:a", "libmp3lame", "-b:a", "128k"])
            .args(["-content_type", "audio/mpeg", "-f", "mp3"])
            .arg(format!(
                "icecast://source:{}@127.0.0.1:{}/up.mp3",
                ice.password, ice.port
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(ice.dir.join("ffmpeg-up.log")).unwrap())
            .spawn()
            .expect("ffmpeg (scripts/test installs it)");
        let mut up = Upstream(c);
        let t = Instant::now();
        while !ice.has_source("/up.mp3") {
            if t.elapsed() > Duration::from_secs(10) {
                up.kill();
                let err =
                    std::fs::read_to_string(ice.dir.join("ffmpeg-up.log")).unwrap_or_default();
                panic!(
                    "timed out waiting for the upstream's mount on port {}\nffmpeg: {err}\nicecast2:\n{}",
                    ice.port,
                    ice.error_log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        up
    }

    /// The upstream dies (its encoder or its link is gone).
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An HLS upstream: ffmpeg's HLS muxer (AAC in MPEG-TS, 1 s segments) writing into a
/// folder that a loopback HTTP server serves.
struct Hls {
    dir: tempfile::TempDir,
    port: u16,
    server: Child,
    ffmpeg: Option<Child>,
}

impl Hls {
    fn start(hz: u32) -> Hls {
        let dir = tempfile::tempdir().unwrap();
        let port = common::free_port();
        let server = Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .arg("--directory")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut h = Hls {
            dir,
            port,
            server,
            ffmpeg: None,
        };
        h.encode(hz);
        h
    }

    /// (Re)starts the encoder; segment numbers go on from the playlist's.
    fn encode(&mut self, hz: u32) {
        let c = Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-re",
                "-f",
                "lavfi",
                "-i",
            ])
            .arg(format!("sine=frequency={hz}:sample_rate=44100"))
            .args(["-ac", "2", "-c:a", "aac", "-b:a", "128k", "-f", "hls"])
            .args(["-hls_time", "1", "-hls_list_size", "6"])
            .args(["-hls_flags", "delete_segments+append_list+temp_file"])
            .arg(self.dir.path().join("live.m3u8"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ffmpeg (scripts/test installs it)");
        self.ffmpeg = Some(c);
        let list = self.dir.path().join("live.m3u8");
        wait("the HLS playlist", Duration::from_secs(10), || {
            std::fs::read_to_string(&list).is_ok_and(|l| l.matches(".ts").count() >= 3)
        });
    }

    /// The encoder dies without closing its playlist.
    fn kill(&mut self) {
        if let Some(mut c) = self.ffmpeg.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/live.m3u8", self.port)
    }
}

impl Drop for Hls {
    fn drop(&mut self) {
        self.kill();
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn wait(what: &str, max: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < max, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sleep_until(t: DateTime<Utc>) {
    if let Ok(d) = (t - Utc::now()).to_std() {
        std::thread::sleep(d);
    }
}

/// A station whose library has a 500 Hz `nhac` item and a 700 Hz `khac` item, and whose
/// alarm command appends its message to `alarm.txt`.
fn station(programmes: &str) -> Site {
    use std::os::unix::fs::PermissionsExt;
    let st = Site::new();
    tone(
        &st.path().join("audio/nhac/2026-01-01 nhac nen.wav"),
        FALLBACK as f64,
        30.0,
        0.5,
        0.0,
    );
    tone(
        &st.path().join("audio/khac/2026-01-01 nhac khac.wav"),
        OTHER as f64,
        30.0,
        0.5,
        0.0,
    );
    let script = st.path().join("alarm.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$1\" >> '{}'\n",
            st.path().join("alarm.txt").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    st.write_config(&format!(
        r#"station:
  name: "Đài thử"
library:
  settle: 1s
categories:
  nhac: {{name: Nhạc}}
  khac: {{name: Khác}}
alarms:
  after: 2s
  command: {script}
programmes:
{programmes}"#,
        script = script.display()
    ));
    st
}

fn run(st: &Site, env: &[(String, String)]) -> Child {
    common::daemon(st, env, &[])
}

fn stop(c: Child, st: &Site) -> String {
    common::stop_daemon(c, st)
}

fn rows(st: &Site) -> Vec<Airing> {
    Store::open_readonly(&st.path().join("state/airtime.db"))
        .map(|s| s.tail(100).unwrap())
        .unwrap_or_default()
}

/// The relay's row (by programme) once its window has ended and its detail is written.
fn relay_row(st: &Site, programme: &str, max: Duration) -> Airing {
    let mut found = None;
    wait(&format!("the row of {programme}"), max, || {
        found = rows(st).into_iter().find(|r| {
            r.programme.as_deref() == Some(programme)
                && r.status != Status::Playing
                && r.detail.is_some()
        });
        found.is_some()
    });
    found.unwrap()
}

/// Runs of a tone lasting at least 200 ms (a 20 ms window across a switch is neither).
fn heard(tones: &[Tone]) -> Vec<Tone> {
    let mut out: Vec<Tone> = Vec::new();
    for t in tones.iter().filter(|t| t.dur_s >= 0.2 || t.hz == 0) {
        match out.last_mut() {
            Some(l) if l.hz == t.hz => l.end_ns = t.end_ns,
            _ => out.push(t.clone()),
        }
    }
    out.retain(|t| t.hz == 0 || (t.end_ns - t.start_ns) >= 200_000_000);
    out
}

/// ms from `t` to a time in ns since the epoch.
fn ms(t: DateTime<Utc>, ns: i128) -> i64 {
    ((ns - t.timestamp_nanos_opt().unwrap() as i128) / 1_000_000) as i64
}

/// The first run of `hz` starting after `from` (ns), if any.
fn first(tones: &[Tone], hz: u32, from: i128) -> Option<Tone> {
    tones
        .iter()
        .find(|t| t.hz == hz && t.start_ns >= from)
        .cloned()
}

fn show(t: DateTime<Utc>, tones: &[Tone]) -> String {
    tones
        .iter()
        .map(|x| {
            format!(
                "{} Hz {}..{} ms\n",
                x.hz,
                ms(t, x.start_ns),
                ms(t, x.end_ns)
            )
        })
        .collect()
}

/// ms from `t` to the first sample of the segment of sound that starts nearest it.
fn onset(segs: &[Segment], t: DateTime<Utc>) -> i64 {
    segs.iter()
        .map(|s| ms(t, s.start_ns))
        .min_by_key(|m| m.abs())
        .expect("nothing heard")
}

fn spans(row: &Airing) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(row.detail.as_deref().unwrap()).unwrap();
    v["spans"].as_array().unwrap().clone()
}

/// The relay starts on its second; the upstream is killed and the fallback is heard within
/// the silence threshold plus 1 s; the upstream returns and loaxa goes back to it; the
/// window ends on its second; the row says what aired when, as the recording heard it.
#[test]
fn a_relay_airs_on_its_second_falls_back_when_the_upstream_dies_and_goes_back_to_it() {
    let _rig = RIG.lock().unwrap_or_else(|e| e.into_inner());
    common::start_rig();
    let env = common::rig_env();
    let ice = Icecast::start();
    let mut up = Upstream::start(&ice, UP, 1.0);
    let (t, when) = second_after(7);
    let st = station(&format!(
        "  - name: \"Tiếp sóng\"\n    when: \"{when}\"\n    segments:\n      - relay: \"{}\"\n        title: \"Đài tỉnh\"\n        duration: 24s\n        fallback: [{{category: nhac}}]\n",
        ice.url("/up.mp3")
    ));
    let cap = Capture::start(&env, &st.path().join("cap"));
    let d = run(&st, &env);
    sleep_until(t + chrono::Duration::seconds(6));
    up.kill();
    let killed = Utc::now();
    sleep_until(t + chrono::Duration::seconds(12));
    let _up = Upstream::start(&ice, UP, 1.0);
    let back = Utc::now();
    let row = relay_row(&st, "Tiếp sóng", Duration::from_secs(25));
    // What the card plays reaches the recording a little later.
    std::thread::sleep(Duration::from_millis(1500));
    let (tones, segs) = cap.tones();
    let tones = heard(&tones);
    let log = stop(d, &st);
    let tn = t.timestamp_nanos_opt().unwrap() as i128;
    let what = format!("{}\n{log}", show(t, &tones));
    eprintln!("heard (ms from the relay's second):\n{}", show(t, &tones));

    // On its second (the first sample of sound), from the stream.
    let on = first(&tones, UP, tn - 500_000_000).expect(&what);
    let onset = onset(&segs, t);
    eprintln!("relay onset {onset:+} ms");
    assert!(
        onset.abs() < 50 && ms(t, on.start_ns) < 100,
        "the relay starts on its second: {onset} ms\n{what}"
    );
    // The upstream died: the fallback within the threshold (2 s) plus 1 s of the stream's
    // last sound (what was buffered plays out first).
    let fb = first(&tones, FALLBACK, on.start_ns).expect(&what);
    let gap = ms(t, fb.start_ns) - ms(t, on.end_ns);
    assert!(
        (0..=3000).contains(&gap),
        "fallback {gap} ms after the stream fell silent: {what}"
    );
    assert!(
        ms(t, on.end_ns) >= (killed - t).num_milliseconds() - 100,
        "the stream aired until it was killed: {what}"
    );
    // Back to the stream once it has had sound again. Budget: a reconnection's backoff
    // (≤ 2 s), 2 s of sound before going back, the feeder's lead over the air (≤ 1.2 s),
    // connecting and decoding, and slack for a loaded machine; 4.7–5.1 s measured.
    let again = first(&tones, UP, fb.start_ns).expect(&what);
    let t_back = ms(t, again.start_ns) - (back - t).num_milliseconds();
    assert!(
        (0..=7500).contains(&t_back),
        "back on the stream {t_back} ms after it returned: {what}"
    );
    // The window ends on its second: nothing after it.
    let end = ms(t, again.end_ns);
    assert!(
        (23_900..=24_100).contains(&end),
        "the window ends on its second: {end} ms: {what}"
    );
    assert!(
        !tones
            .iter()
            .any(|x| x.hz != 0 && ms(t, x.start_ns) > 24_200),
        "{what}"
    );

    // The row: completed, on the second, its spans as heard.
    assert_eq!(row.status, Status::Completed, "{row:#?}");
    assert!(
        (row.started_at.unwrap() - t).num_milliseconds().abs() <= 50,
        "{row:#?}"
    );
    let s = spans(&row);
    let kinds: Vec<Option<u64>> = s.iter().map(|x| x["fallback"].as_u64()).collect();
    assert_eq!(kinds, vec![None, Some(1), None], "{s:#?}\n{what}");
    for (span, heard) in [(&s[1], &fb), (&s[2], &again)] {
        let from = span["from_ms"].as_i64().unwrap();
        assert!(
            (from - ms(t, heard.start_ns)).abs() <= 300,
            "span {span} vs heard at {} ms",
            ms(t, heard.start_ns)
        );
    }
    assert!(s[1]["why"].as_str().unwrap().len() > 3, "{s:#?}");
    assert_eq!(s[2]["to_ms"].as_u64(), Some(24_000));
    let detail: serde_json::Value = serde_json::from_str(row.detail.as_deref().unwrap()).unwrap();
    assert!(detail["connects"].as_u64().unwrap() >= 2, "{detail}");
    // The moment the stream ran dry before the fallback took over is a dropout.
    let drops = detail["dropouts"].as_array().unwrap();
    assert!(
        drops.iter().any(|x| {
            let at = x["at_ms"].as_i64().unwrap();
            (at - s[1]["from_ms"].as_i64().unwrap()).abs() <= 100
        }),
        "{detail}"
    );
    assert!(
        detail["bytes"].as_u64().unwrap() > 16_000 * 15,
        "128 kb/s for most of 24 s: {detail}"
    );
    assert!(log.contains("airing fallback 1"), "{log}");
    assert!(log.contains("back on the stream"), "{log}");
    // The report counts relay airtime per source.
    let month = t
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .format("%Y-%m")
        .to_string();
    let out = st.run(&["report", "--month", &month]);
    let report = common::stdout(&out);
    assert!(
        report.contains("Tiếp sóng Đài tỉnh: 1 lượt"),
        "{report}\n{}",
        common::stderr(&out)
    );
}

/// An upstream that sends silence (not an error) is left for the fallback after the
/// threshold; a relay whose address never answers airs its fallback from its first
/// second; with no fallback left the relay airs silence and the alarm fires.
#[test]
fn silence_an_unanswering_address_and_no_fallback_left() {
    let _rig = RIG.lock().unwrap_or_else(|e| e.into_inner());
    common::start_rig();
    let env = common::rig_env();
    let ice = Icecast::start();
    let _up = Upstream::start(&ice, UP, 0.0);
    // An address that takes the connection and never answers.
    let mute = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mute_url = format!("http://{}/live.mp3", mute.local_addr().unwrap());
    // And one that refuses it.
    let closed = format!("http://127.0.0.1:{}/live.mp3", common::free_port());
    let (t1, _) = second_after(7);
    let t2 = t1 + chrono::Duration::seconds(9);
    let t3 = t2 + chrono::Duration::seconds(7);
    let st = station(&format!(
        r#"  - name: "Im lặng"
    when: "{c1}"
    segments:
      - relay: "{silent}"
        duration: 7s
        fallback: [{{file: nhac/2026-01-01 nhac nen.wav}}]
  - name: "Không trả lời"
    when: "{c2}"
    segments:
      - relay: "{mute_url}"
        duration: 5s
        fallback: [{{relay: "{closed}"}}, {{category: khac}}]
  - name: "Không dự phòng"
    when: "{c3}"
    segments:
      - relay: "{closed}"
        title: "VOV1"
        duration: 4s
"#,
        c1 = cron(t1),
        c2 = cron(t2),
        c3 = cron(t3),
        silent = ice.url("/up.mp3"),
    ));
    let cap = Capture::start(&env, &st.path().join("cap"));
    let d = run(&st, &env);
    let last = relay_row(&st, "Không dự phòng", Duration::from_secs(40));
    std::thread::sleep(Duration::from_millis(1500));
    let (tones, segs) = cap.tones();
    let tones = heard(&tones);
    let log = stop(d, &st);
    let what = format!("{}\n{log}", show(t1, &tones));
    eprintln!(
        "heard (ms from the first relay's second):\n{}",
        show(t1, &tones)
    );
    let ns = |t: DateTime<Utc>| t.timestamp_nanos_opt().unwrap() as i128;

    // Silence from the stream: the fallback after the 2 s threshold, to the window's end.
    let fb = first(&tones, FALLBACK, ns(t1) - 500_000_000).expect(&what);
    assert!(
        (1900..=2400).contains(&ms(t1, fb.start_ns)),
        "the silent stream is left after 2 s: {what}"
    );
    assert!(
        (6900..=7100).contains(&ms(t1, fb.end_ns)),
        "the fallback airs to the window's end: {what}"
    );
    // Never answers: the second fallback (the first refuses too) from the first second.
    let other = first(&tones, OTHER, ns(t2) - 500_000_000).expect(&what);
    let on = onset(&segs, t2);
    eprintln!("fallback onset {on:+} ms");
    assert!(
        on.abs() < 50 && ms(t2, other.start_ns) < 100,
        "the fallback airs from the relay's second: {on} ms\n{what}"
    );
    assert!((4900..=5100).contains(&ms(t2, other.end_ns)), "{what}");
    // Nothing left: silence through the third window, the alarm raised and sent.
    assert!(
        !tones
            .iter()
            .any(|x| x.hz != 0 && x.end_ns > ns(t3) + 100_000_000),
        "{what}"
    );
    assert!(
        log.contains("relay VOV1:") && log.contains("no fallback left"),
        "{log}"
    );
    let sms = std::fs::read_to_string(st.path().join("alarm.txt")).unwrap_or_default();
    assert!(sms.contains("no fallback left"), "{sms}\n{log}");

    // The rows say the same.
    let r = rows(&st);
    let row = |p: &str| {
        r.iter()
            .find(|x| x.programme.as_deref() == Some(p))
            .unwrap_or_else(|| panic!("no row for {p}: {r:#?}"))
    };
    let s1 = spans(row("Im lặng"));
    assert_eq!(s1.len(), 2, "{s1:#?}");
    assert!(s1[0]["fallback"].is_null());
    assert_eq!(s1[1]["fallback"].as_u64(), Some(1));
    assert!(
        s1[1]["why"].as_str().unwrap().contains("silent for 2s"),
        "{s1:#?}"
    );
    assert!((s1[1]["from_ms"].as_i64().unwrap() - ms(t1, fb.start_ns)).abs() <= 300);
    let s2 = spans(row("Không trả lời"));
    assert_eq!(s2.len(), 1, "{s2:#?}");
    assert_eq!(s2[0]["fallback"].as_u64(), Some(2), "{s2:#?}");
    assert_eq!(s2[0]["from_ms"].as_u64(), Some(0));
    let s3 = spans(&last);
    assert_eq!(s3.len(), 1, "{s3:#?}");
    assert_eq!(s3[0]["fallback"].as_u64(), Some(0), "silence: {s3:#?}");
    for p in ["Im lặng", "Không trả lời", "Không dự phòng"] {
        assert_eq!(row(p).status, Status::Completed, "{:#?}", row(p));
    }
    drop(mute);
}

/// The same for an HLS stream (ffmpeg's HLS muxer served over loopback): on its second,
/// the encoder killed → the fallback once what was buffered has aired, the encoder back →
/// the stream again, the window ending on its second.
#[test]
fn an_hls_relay_airs_on_its_second_falls_back_and_goes_back() {
    let _rig = RIG.lock().unwrap_or_else(|e| e.into_inner());
    common::start_rig();
    let env = common::rig_env();
    let mut hls = Hls::start(UP);
    let (t, when) = second_after(7);
    let st = station(&format!(
        "  - name: \"HLS\"\n    when: \"{when}\"\n    segments:\n      - relay: \"{}\"\n        title: \"VOV1\"\n        duration: 22s\n        fallback: [{{category: nhac}}]\n",
        hls.url()
    ));
    let cap = Capture::start(&env, &st.path().join("cap"));
    let d = run(&st, &env);
    sleep_until(t + chrono::Duration::seconds(4));
    hls.kill();
    sleep_until(t + chrono::Duration::seconds(12));
    hls.encode(UP);
    let back = Utc::now();
    let row = relay_row(&st, "HLS", Duration::from_secs(25));
    std::thread::sleep(Duration::from_millis(1500));
    let (tones, segs) = cap.tones();
    let tones = heard(&tones);
    let log = stop(d, &st);
    let tn = t.timestamp_nanos_opt().unwrap() as i128;
    let what = format!("{}\n{log}", show(t, &tones));
    eprintln!("heard (ms from the relay's second):\n{}", show(t, &tones));

    let on = first(&tones, UP, tn - 500_000_000).expect(&what);
    let onset = onset(&segs, t);
    eprintln!("hls relay onset {onset:+} ms");
    assert!(
        onset.abs() < 50 && ms(t, on.start_ns) < 100,
        "the relay starts on its second: {onset} ms\n{what}"
    );
    // What was buffered (up to 4 s of segments) airs; then the fallback within the
    // threshold plus 1 s.
    let fb = first(&tones, FALLBACK, on.start_ns).expect(&what);
    let gap = ms(t, fb.start_ns) - ms(t, on.end_ns);
    assert!(
        (0..=3000).contains(&gap),
        "fallback {gap} ms after the stream fell silent: {what}"
    );
    assert!(ms(t, on.end_ns) >= 4000, "{what}");
    let again = first(&tones, UP, fb.start_ns).expect(&what);
    let t_back = ms(t, again.start_ns) - (back - t).num_milliseconds();
    // Budget: the first new segment (~1.3 s), a reconnection's backoff (≤ 2 s) or the
    // playlist's next look (0.5 s), 2 s of sound before going back, the feeder's lead
    // (≤ 1.2 s), and slack for a loaded machine; 4.8 s measured.
    assert!(
        (0..=9000).contains(&t_back),
        "back on the stream {t_back} ms after it returned: {what}"
    );
    let end = ms(t, again.end_ns);
    assert!(
        (21_900..=22_100).contains(&end),
        "the window ends on its second: {end} ms: {what}"
    );
    assert_eq!(row.status, Status::Completed, "{row:#?}");
    let s = spans(&row);
    let kinds: Vec<Option<u64>> = s.iter().map(|x| x["fallback"].as_u64()).collect();
    assert_eq!(kinds, vec![None, Some(1), None], "{s:#?}\n{what}");
    assert!((s[1]["from_ms"].as_i64().unwrap() - ms(t, fb.start_ns)).abs() <= 300);
}

/// Beeps of `hz` (0.2 s every second, `n` of them) as a mono 48 kHz WAV.
fn beeps(path: &std::path::Path, hz: f64, n: usize) {
    let rate = 48_000u32;
    let mut pcm: Vec<i16> = vec![];
    for _ in 0..n {
        pcm.extend((0..rate / 5).map(|i| {
            (f64::sin(i as f64 * hz * std::f64::consts::TAU / rate as f64) * 0.5 * 32767.0) as i16
        }));
        pcm.extend(std::iter::repeat_n(0i16, (rate * 4 / 5) as usize));
    }
    common::wav(path, rate, &pcm);
}

/// The delay of each beep from the microphone to the output, ms.
fn delays(mic: &[Segment], out: &[Segment]) -> Vec<f64> {
    mic.iter()
        .filter_map(|m| {
            out.iter()
                .find(|o| o.start_ns > m.start_ns && o.start_ns - m.start_ns < 900_000_000)
                .map(|o| (o.start_ns - m.start_ns) as f64 / 1e6)
        })
        .collect()
}

/// A live segment airs the capture device (a PulseAudio source on the rig, reached through
/// ALSA's default device) for its window, and `play --live` does the same on the
/// operator's word: every beep spoken into the microphone is heard, with a steady delay
/// from microphone to output, measured here.
#[test]
fn live_input_airs_the_capture_device_with_its_latency_measured() {
    let _rig = RIG.lock().unwrap_or_else(|e| e.into_inner());
    // The test's own sound server: it gets a microphone (a null sink whose monitor is the
    // default source) that no other test's server has.
    let rig = common::PrivateRig::start();
    let env = rig.env();
    let pactl = |args: &[&str]| {
        let st = Command::new("pactl")
            .args(args)
            .envs(env.iter().cloned())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "pactl {args:?}");
    };
    pactl(&[
        "load-module",
        "module-null-sink",
        "sink_name=mic",
        "rate=48000",
        "channels=1",
    ]);
    pactl(&["set-default-source", "mic.monitor"]);
    let (t, when) = second_after(7);
    let st = station(&format!(
        "  - name: \"Trực tiếp\"\n    when: \"{when}\"\n    segments:\n      - live: default\n        duration: 6s\n"
    ));
    let talk = st.path().join("beeps.wav");
    beeps(&talk, 1000.0, 5);
    let speak = || {
        let st = Command::new("paplay")
            .arg("--device=mic")
            .arg(&talk)
            .envs(env.iter().cloned())
            .status()
            .unwrap();
        assert!(st.success());
    };
    let out = Capture::start(&env, &st.path().join("out"));
    let mic = Capture::start_from(&env, &st.path().join("mic"), "mic.monitor");
    let d = run(&st, &env);
    sleep_until(t + chrono::Duration::milliseconds(300));
    speak();
    // Once the segment has ended, the operator goes live for 4 s.
    wait("the segment's end", Duration::from_secs(10), || {
        rows(&st)
            .iter()
            .any(|r| r.programme.is_some() && r.status != Status::Playing)
    });
    let live_at = Utc::now();
    let o = st.run(&["play", "--live", "--for", "4s"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(
        common::stdout(&o).contains("trực tiếp (default)"),
        "{}",
        common::stdout(&o)
    );
    std::thread::sleep(Duration::from_millis(600));
    speak();
    let row = {
        let mut found = None;
        wait("the live play's row", Duration::from_secs(15), || {
            found = rows(&st).into_iter().find(|r| {
                r.programme.is_none() && r.status == Status::Completed && r.detail.is_some()
            });
            found.is_some()
        });
        found.unwrap()
    };
    std::thread::sleep(Duration::from_millis(1000));
    let heard = out.stop();
    let spoken = mic.stop();
    let log = stop(d, &st);
    let details: Vec<String> = rows(&st)
        .iter()
        .map(|r| format!("{:?} {:?}", r.title, r.detail))
        .collect();
    let what = format!("mic {spoken:?}\nout {heard:?}\nrows {details:#?}\n{log}");
    let (first, second): (Vec<Segment>, Vec<Segment>) = spoken
        .into_iter()
        .partition(|s| s.start_ns < live_at.timestamp_nanos_opt().unwrap() as i128);
    let a = delays(&first, &heard);
    let b = delays(&second, &heard);
    eprintln!("live: microphone → output delays, segment {a:.1?} ms; play --live {b:.1?} ms");
    // Every beep spoken in a window is heard (the last of the second may fall after it).
    assert_eq!(first.len(), 5, "{what}");
    assert_eq!(a.len(), 5, "every beep of the segment is heard: {what}");
    assert!(b.len() >= 3, "the beeps of play --live are heard: {what}");
    for d in [&a, &b] {
        let (lo, hi) = d
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), x| (l.min(*x), h.max(*x)));
        assert!(hi < 500.0, "microphone to output within 0.5 s: {d:?}");
        assert!(hi - lo < 30.0, "a steady delay, not one that grows: {d:?}");
    }
    // Beeps arrive whole: no dropout inside one.
    let whole = heard
        .iter()
        .filter(|s| (s.dur_s - 0.2).abs() < 0.005)
        .count();
    assert!(whole >= 8, "beeps heard whole: {whole}\n{what}");
    // The rows: the segment's and the operator's, each a live source for its window.
    let r = rows(&st);
    let seg = r
        .iter()
        .find(|x| x.programme.as_deref() == Some("Trực tiếp"))
        .expect("the segment's row");
    assert_eq!(seg.status, Status::Completed, "{seg:#?}");
    assert_eq!(seg.item_path.as_deref(), Some("live:default"));
    assert_eq!(seg.played, Some(Duration::from_secs(6)), "{seg:#?}");
    assert_eq!(row.title.as_deref(), Some("trực tiếp (default)"));
    assert_eq!(row.played, Some(Duration::from_secs(4)), "{row:#?}");
    assert!(spans(&row)[0]["fallback"].is_null(), "{row:#?}");
}
