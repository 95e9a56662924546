//! The audio library on real files in real folders: formats, every rejection reason,
//! settling, overwrites, names, dates, expiry, the index cache and the live watcher.

mod common;
use common::{repo, stderr, stdout, Site};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use loaxa::clock::SystemClock;
use loaxa::config::Config;
use loaxa::library::watch::Service;
use loaxa::library::{Change, ItemView, Library, State};

const CONFIG: &str = r#"station:
  name: "Đài xã Thử"
library:
  settle: 1s
categories:
  cchc:
    name: "Cải cách hành chính"
    max_age: 30d
    max_length: 10m
  ngan:
    name: "Tin ngắn"
    max_length: 2s
  khan-cap:
    name: "Khẩn cấp"
    priority: emergency
"#;

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/audio").join(name)
}

fn setup() -> (Site, Config) {
    let st = Site::new();
    st.write_config(CONFIG);
    for d in ["cchc", "ngan", "khan-cap"] {
        std::fs::create_dir_all(st.path().join("audio").join(d)).unwrap();
    }
    let config = loaxa::config::load(&st.config()).unwrap().config;
    (st, config)
}

fn put(st: &Site, rel: &str, fixture_name: &str) -> PathBuf {
    let p = st.path().join("audio").join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::copy(fixture(fixture_name), &p).unwrap();
    p
}

/// Makes a file look as if it was copied a minute ago (the one-shot CLI treats files
/// unchanged for `settle` by their mtime as settled).
fn age(p: &Path) {
    let f = std::fs::File::options().append(true).open(p).unwrap();
    f.set_modified(std::time::SystemTime::now() - Duration::from_secs(60))
        .unwrap();
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap()
}

/// Scan, settle and fully analyse everything, as the daemon would over time.
fn settled(config: &Config, now: DateTime<Utc>) -> Library {
    let mut lib = Library::open(config);
    lib.scan(now);
    lib.tick(now + chrono::Duration::seconds(5));
    for j in lib.analysis_jobs() {
        let r = loaxa::media::probe::analyse(&j.path);
        lib.apply_analysis(&j, r);
    }
    lib
}

fn view<'a>(views: &'a [ItemView], path: &str) -> &'a ItemView {
    views
        .iter()
        .find(|v| v.path == path)
        .unwrap_or_else(|| panic!("{path} not in {views:#?}"))
}

#[test]
fn every_accepted_format_is_ready_with_length_and_loudness() {
    let (st, config) = setup();
    for f in [
        "voice.wav",
        "voice.flac",
        "voice.mp3",
        "voice.ogg",
        "voice.m4a",
        "voice-vbr-noxing.mp3",
        "stereo-44k.flac",
        // What phones, browsers and chat apps record.
        "voice.opus",
        "voice.webm",
        "voice-fragmented.mp4",
    ] {
        put(&st, &format!("cchc/{f}"), f);
    }
    // Chromium's MediaRecorder (the console's recorder): live WebM, without sizes or
    // duration, 3 s of the fake microphone's beeps.
    put(&st, "cchc/ghi âm.webm", "chrome-recorder.webm");
    let lib = settled(&config, t0());
    let views = lib.views(t0() + chrono::Duration::seconds(10));
    assert_eq!(views.len(), 11);
    let rec = view(&views, "cchc/ghi âm.webm");
    assert_eq!(rec.state, State::Ready, "{rec:?}");
    let d = rec.duration_ms.unwrap();
    assert!((2700..=3300).contains(&d), "the recording lasts {d} ms");
    for v in views.iter().filter(|v| v.path != "cchc/ghi âm.webm") {
        assert_eq!(v.state, State::Ready, "{v:?}");
        let d = v.duration_ms.unwrap();
        assert!((2900..=3100).contains(&d), "{} lasts {d} ms", v.path);
        let l = v.lufs.unwrap();
        assert!((-25.0..-18.0).contains(&l), "{} at {l} LUFS", v.path);
        assert_eq!(v.hash.as_ref().unwrap().len(), 64);
    }
    // The VBR MP3 without a Xing header: its header guesses 2.77 s, decoding finds 3.02 s.
    assert_eq!(
        view(&views, "cchc/voice-vbr-noxing.mp3").duration_ms,
        Some(3024)
    );
    // Loudness normalisation: the gain brings -22.7 LUFS to the -16 default target.
    let c = lib.candidates();
    let wav = c.iter().find(|c| c.id == "cchc/voice.wav").unwrap();
    assert!(
        (wav.gain_db - 1.0 * (-16.0 - view(&views, "cchc/voice.wav").lufs.unwrap())).abs() < 0.01
            || wav.gain_db <= 2.0,
        "{}",
        wav.gain_db
    );
    assert!(
        wav.gain_db <= -1.0 - view(&views, "cchc/voice.wav").peak_db.unwrap() + 1e-9,
        "peak stays under -1 dBFS"
    );
}

#[test]
fn every_rejection_has_its_reason_and_the_file_is_left_alone() {
    let (st, config) = setup();
    let dir = st.path().join("audio/cchc");
    std::fs::write(dir.join("trống.mp3"), b"").unwrap();
    std::fs::write(
        dir.join("văn bản.mp3"),
        "đây không phải âm thanh\n".repeat(20),
    )
    .unwrap();
    let wav = std::fs::read(fixture("voice.wav")).unwrap();
    std::fs::write(dir.join("cắt dở.wav"), &wav[..wav.len() / 2]).unwrap();
    let mut flac = std::fs::read(fixture("voice.flac")).unwrap();
    let mid = flac.len() / 2;
    for (i, b) in flac[mid..mid + 2000].iter_mut().enumerate() {
        *b = (i * 37) as u8;
    }
    std::fs::write(dir.join("hỏng.flac"), &flac).unwrap();
    let mut mp3 = std::fs::read(fixture("voice.mp3")).unwrap();
    let mid = mp3.len() / 2;
    for (i, b) in mp3[mid..mid + 2000].iter_mut().enumerate() {
        *b = (i * 37) as u8;
    }
    std::fs::write(dir.join("hỏng.mp3"), &mp3).unwrap();
    put(&st, "cchc/ngắn.wav", "short.wav");
    put(&st, "cchc/im lặng.wav", "silent.wav");
    put(&st, "ngan/dài.wav", "tone-3s.wav");
    put(&st, "cchc/có sidecar.mp3", "voice.mp3");
    std::fs::write(
        dir.join("có sidecar.yaml"),
        "title: \"Bản tin\"\nvalid_from: ngày mai\n",
    )
    .unwrap();
    put(&st, "cchc/sidecar lạ.mp3", "voice.mp3");
    std::fs::write(
        dir.join("sidecar lạ.yaml"),
        "title: \"Bản tin\"\nhạn: 2026-12-01\n",
    )
    .unwrap();
    let before: Vec<(PathBuf, Vec<u8>)> = walk(&st.path().join("audio"));

    let lib = settled(&config, t0());
    let views = lib.views(t0());
    let expect = [
        ("cchc/trống.mp3", "empty (0 bytes)"),
        ("cchc/văn bản.mp3", "not an audio file"),
        ("cchc/cắt dở.wav", "cut short"),
        ("cchc/hỏng.flac", "damaged"),
        ("cchc/hỏng.mp3", "damaged"),
        ("cchc/ngắn.wav", "at least 1 s"),
        ("cchc/im lặng.wav", "silent"),
        ("ngan/dài.wav", "allows at most 2s"),
        ("cchc/có sidecar.mp3", "có sidecar.yaml:2:"),
        (
            "cchc/sidecar lạ.mp3",
            "sidecar lạ.yaml:2:1: error: unknown field `hạn`",
        ),
    ];
    for (path, reason) in expect {
        let v = view(&views, path);
        assert_eq!(v.state, State::Rejected, "{v:?}");
        let r = v.reason.as_deref().unwrap();
        assert!(r.contains(reason), "{path}: {r:?} should say {reason:?}");
        assert!(!r.contains('\n'), "one line: {r:?}");
    }
    assert!(lib.candidates().is_empty());
    // Nothing was moved, changed or deleted.
    assert_eq!(walk(&st.path().join("audio")), before);

    // A fixed file is probed again.
    std::fs::copy(fixture("voice.wav"), dir.join("cắt dở.wav")).unwrap();
    let lib = settled(&config, t0() + chrono::Duration::minutes(1));
    assert_eq!(
        view(
            &lib.views(t0() + chrono::Duration::minutes(2)),
            "cchc/cắt dở.wav"
        )
        .state,
        State::Ready
    );
}

fn walk(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push((e.path(), std::fs::read(e.path()).unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn a_file_is_not_probed_until_it_has_settled() {
    let (st, config) = setup();
    let mut lib = Library::open(&config);
    let p = put(&st, "cchc/tin.wav", "voice.wav");
    lib.scan(t0());
    let state = |lib: &Library, t| view(&lib.views(t), "cchc/tin.wav").state;
    assert_eq!(state(&lib, t0()), State::Settling);
    lib.tick(t0() + chrono::Duration::milliseconds(900));
    assert_eq!(state(&lib, t0()), State::Settling, "900 ms < settle 1 s");
    // It grows: the settle clock starts again.
    std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    std::io::Write::write_all(&mut f, &[0u8; 4096]).unwrap();
    lib.tick(t0() + chrono::Duration::milliseconds(1500));
    assert_eq!(state(&lib, t0()), State::Settling);
    lib.tick(t0() + chrono::Duration::milliseconds(2400));
    assert_eq!(
        state(&lib, t0()),
        State::Settling,
        "unchanged for 0.9 s only"
    );
    lib.tick(t0() + chrono::Duration::milliseconds(2600));
    // Settled and probed; it airs once it is known to play to its end.
    let v = view(&lib.views(t0()), "cchc/tin.wav").clone();
    assert_eq!(v.state, State::Settling);
    assert!(v.reason.unwrap().contains("plays to its end"));
    analyse_all(&mut lib);
    assert_eq!(
        state(&lib, t0() + chrono::Duration::seconds(3)),
        State::Ready
    );
}

/// Runs the full analyses the library asks for, as its background thread would.
fn analyse_all(lib: &mut Library) {
    for j in lib.analysis_jobs() {
        let r = loaxa::media::probe::analyse(&j.path);
        lib.apply_analysis(&j, r);
    }
}

#[test]
fn overwritten_in_place_is_a_new_version() {
    let (st, config) = setup();
    let p = put(&st, "cchc/Bản tin tuần.mp3", "voice.mp3");
    let lib = settled(&config, t0());
    let first = lib.candidates()[0].clone();
    std::fs::copy(fixture("voice.ogg"), &p).unwrap(); // same name, new content
    let later = t0() + chrono::Duration::days(2);
    let mut lib = Library::open(&config);
    lib.scan(later);
    assert_eq!(
        view(&lib.views(later), "cchc/Bản tin tuần.mp3").state,
        State::Settling,
        "changed content settles again"
    );
    lib.tick(later + chrono::Duration::seconds(5));
    analyse_all(&mut lib);
    let second = lib.candidates()[0].clone();
    assert_eq!(first.id, second.id, "the same item");
    assert_ne!(first.hash, second.hash, "a new version");
    assert_eq!(second.valid_from, later, "it arrived now");
    assert_eq!(
        view(&lib.views(later), "cchc/Bản tin tuần.mp3")
            .codec
            .as_deref(),
        Some("vorbis")
    );
}

#[test]
fn nfd_and_nfc_names_give_the_same_title() {
    let (st, config) = setup();
    put(
        &st,
        "cchc/Ba\u{309}n tin so\u{302}\u{301} 5.mp3",
        "voice.mp3",
    ); // typed on a Mac
    put(&st, "ngan/Bản tin số 5.wav", "short.wav"); // typed on Windows (rejected, still titled)
    let lib = settled(&config, t0());
    let views = lib.views(t0());
    assert_eq!(views.len(), 2);
    assert_eq!(views[0].title, "Bản tin số 5");
    assert_eq!(views[0].title, views[1].title);
    assert_eq!(views[0].path, "cchc/Bản tin số 5.mp3", "ids are NFC too");
}

#[test]
fn validity_from_sidecars_names_and_arrival_with_expiry() {
    let (st, config) = setup();
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let local = |y, m, d| {
        tz.with_ymd_and_hms(y, m, d, 0, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    };
    put(&st, "cchc/2026-12-01 Tin tháng 12.mp3", "voice.mp3");
    put(&st, "cchc/20261110_Tin_cu.mp3", "voice.mp3");
    put(&st, "cchc/có hạn.mp3", "voice.mp3");
    std::fs::write(st.path().join("audio/cchc/có hạn.yaml"), "title: \"Lịch tiêm chủng\"\nvalid_from: 2026-11-20\nvalid_until: 2026-11-28\npriority: priority\n").unwrap();
    put(&st, "cchc/không ngày.mp3", "voice.mp3");
    let lib = settled(&config, t0());
    let at = |t: DateTime<Utc>| {
        let v = lib.views(t);
        [
            "cchc/2026-12-01 Tin tháng 12.mp3",
            "cchc/20261110_Tin_cu.mp3",
            "cchc/có hạn.mp3",
            "cchc/không ngày.mp3",
        ]
        .map(|p| view(&v, p).state)
    };
    use State::*;
    // 25 Nov (after the undated file arrived): December's item waits; 10 Nov + 30 days
    // is still valid; the sidecar window is open.
    assert_eq!(
        at(t0() + chrono::Duration::hours(1)),
        [NotYetValid, Ready, Ready, Ready]
    );
    assert_eq!(at(local(2026, 11, 25))[3], NotYetValid, "before it arrived");
    // 29 Nov: the sidecar's valid_until (28th, inclusive) has passed.
    assert_eq!(
        at(local(2026, 11, 29)),
        [NotYetValid, Ready, Expired, Ready]
    );
    // 10 Dec: 30 days after 10 Nov → expired; December's item airs.
    assert_eq!(at(local(2026, 12, 10)), [Ready, Expired, Expired, Ready]);
    // Arrival (t0, 25 Nov) + 30 days.
    assert_eq!(at(t0() + chrono::Duration::days(31))[3], Expired);
    let v = lib.views(t0());
    assert_eq!(view(&v, "cchc/có hạn.mp3").title, "Lịch tiêm chủng");
    assert_eq!(view(&v, "cchc/20261110_Tin_cu.mp3").title, "Tin cu");
    assert_eq!(
        view(&v, "cchc/2026-12-01 Tin tháng 12.mp3")
            .valid_from
            .as_deref(),
        Some("2026-12-01T00:00:00+07:00")
    );
    let c = lib.candidates();
    assert_eq!(
        c.iter()
            .find(|c| c.id == "cchc/có hạn.mp3")
            .unwrap()
            .priority,
        loaxa::config::Priority::Priority
    );
}

#[test]
fn a_restart_probes_only_what_changed() {
    let (st, config) = setup();
    put(&st, "cchc/a.mp3", "voice.mp3");
    put(&st, "cchc/b.wav", "voice.wav");
    let lib = settled(&config, t0());
    assert_eq!(lib.candidates().len(), 2);
    drop(lib);
    // Restart: both known at once from the index, no settling, analysis kept.
    let mut lib = Library::open(&config);
    let ch = lib.scan(t0() + chrono::Duration::hours(1));
    assert_eq!(
        ch.iter()
            .filter(|c| matches!(c, Change::Ready { .. }))
            .count(),
        2
    );
    assert!(
        lib.analysis_jobs().is_empty(),
        "analysis results were cached"
    );
    assert_eq!(lib.candidates().len(), 2);
    assert!(st.path().join("state/library.db").is_file());
}

/// The live service: watcher events drive it, in real time.
struct Live {
    svc: Service,
    changes: Arc<Mutex<Vec<Change>>>,
}

fn live(config: &Config) -> Live {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let changes = Arc::new(Mutex::new(vec![]));
    let c2 = changes.clone();
    let svc = Service::spawn(config, Arc::new(SystemClock), move |c| {
        c2.lock().unwrap().push(c)
    });
    Live { svc, changes }
}

impl Live {
    fn ready(&self, id: &str) -> bool {
        self.svc.snapshot().candidates.iter().any(|c| c.id == id)
    }
    fn wait_for(&self, what: &str, f: impl Fn(&Live) -> bool) {
        let t = std::time::Instant::now();
        while !f(self) {
            assert!(
                t.elapsed() < Duration::from_secs(15),
                "timed out waiting for {what}; changes: {:?}; views: {:?}",
                self.changes.lock().unwrap(),
                self.svc.snapshot().views
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn a_file_written_in_chunks_over_5s_is_never_ready_before_its_last_byte() {
    let (st, config) = setup();
    let lib = live(&config);
    let bytes = std::fs::read(fixture("voice.wav")).unwrap();
    let path = st.path().join("audio/cchc/đang chép.wav");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunks = 10;
    let per = bytes.len().div_ceil(chunks);
    let mut last_write = std::time::Instant::now();
    for (i, c) in bytes.chunks(per).enumerate() {
        std::io::Write::write_all(&mut f, c).unwrap();
        f.sync_data().unwrap();
        last_write = std::time::Instant::now();
        // Between chunks (0.5 s each, 5 s in all) it must never be airable.
        let until = std::time::Instant::now() + Duration::from_millis(500);
        while std::time::Instant::now() < until {
            assert!(
                !lib.ready("cchc/đang chép.wav"),
                "ready after chunk {i} of {chunks}"
            );
            std::thread::sleep(Duration::from_millis(40));
        }
    }
    drop(f);
    lib.wait_for("the settled file", |l| l.ready("cchc/đang chép.wav"));
    let took = last_write.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "ready {took:?} after the last byte: it must settle for 1 s"
    );
    let c = lib.svc.snapshot().candidates[0].clone();
    assert_eq!(
        c.hash,
        loaxa::library::hash_file(&fixture("voice.wav")).unwrap(),
        "the whole file"
    );
}

#[test]
fn watcher_sees_create_modify_rename_and_delete() {
    let (st, config) = setup();
    let lib = live(&config);
    let dir = st.path().join("audio/cchc");
    // create
    std::fs::copy(fixture("voice.mp3"), dir.join("mới.mp3")).unwrap();
    lib.wait_for("create", |l| l.ready("cchc/mới.mp3"));
    let h1 = lib.svc.snapshot().candidates[0].hash.clone();
    // modify in place
    std::fs::copy(fixture("voice.flac"), dir.join("mới.mp3")).unwrap();
    lib.wait_for("modify", |l| {
        l.svc.snapshot().candidates.iter().any(|c| c.hash != h1)
    });
    // rename: the old name goes, the new one comes
    std::fs::rename(dir.join("mới.mp3"), dir.join("đổi tên.mp3")).unwrap();
    lib.wait_for("rename", |l| {
        l.ready("cchc/đổi tên.mp3") && !l.ready("cchc/mới.mp3")
    });
    // a sub-folder counts
    std::fs::create_dir(dir.join("tháng 12")).unwrap();
    std::fs::copy(fixture("voice.ogg"), dir.join("tháng 12/tin.ogg")).unwrap();
    lib.wait_for("sub-folder", |l| l.ready("cchc/tháng 12/tin.ogg"));
    // delete
    std::fs::remove_file(dir.join("đổi tên.mp3")).unwrap();
    lib.wait_for("delete", |l| !l.ready("cchc/đổi tên.mp3"));
    // temporaries are ignored
    std::fs::copy(fixture("voice.mp3"), dir.join("tải về.mp3.crdownload")).unwrap();
    std::fs::copy(fixture("voice.mp3"), dir.join(".ẩn.mp3")).unwrap();
    std::thread::sleep(Duration::from_millis(1800));
    assert_eq!(
        lib.svc.snapshot().views.len(),
        1,
        "{:?}",
        lib.svc.snapshot().views
    );
    let ch = lib.changes.lock().unwrap().clone();
    assert!(ch.contains(&Change::Ready {
        id: "cchc/mới.mp3".into(),
        category: "cchc".into()
    }));
    assert!(ch.contains(&Change::Gone {
        id: "cchc/mới.mp3".into()
    }));
    assert!(ch.contains(&Change::Gone {
        id: "cchc/đổi tên.mp3".into()
    }));
}

#[test]
fn library_command_lists_every_file_with_its_state() {
    let st = Site::example();
    age(&put(&st, "cchc/ngắn.wav", "short.wav"));
    put(&st, "cchc/vừa chép.wav", "voice.wav"); // just copied: still settling
    let out = st.run(&["library", "--format", "json", "--analyse"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 9, "7 demo files + 2");
    let fresh = rows
        .iter()
        .find(|r| r["path"] == "cchc/vừa chép.wav")
        .unwrap();
    assert_eq!(fresh["state"], "settling");
    for r in &rows {
        for k in [
            "path",
            "category",
            "title",
            "duration_ms",
            "lufs",
            "valid_from",
            "valid_until",
            "state",
            "reason",
        ] {
            assert!(r.get(k).is_some(), "{k} in {r}");
        }
    }
    let short = rows.iter().find(|r| r["path"] == "cchc/ngắn.wav").unwrap();
    assert_eq!(short["state"], "rejected");
    let bulletin = rows
        .iter()
        .find(|r| r["path"] == "cchc/2026-11-20 Bản tin CCHC số 1.mp3")
        .unwrap();
    assert_eq!(bulletin["title"], "Bản tin CCHC số 1");
    assert_eq!(bulletin["valid_from"], "2026-11-20T00:00:00+07:00");
    assert!(bulletin["lufs"].as_f64().unwrap() < -10.0);
    let text = stdout(&st.run(&["library", "--category", "cchc"]));
    assert!(
        text.starts_with("cchc — Cải cách hành chính (audio/cchc/)"),
        "{text}"
    );
    assert!(
        text.contains("rejected") && text.contains("at least 1 s"),
        "{text}"
    );
}

/// The index is only a cache: a damaged one (a power cut mid-write, a disk error) is set
/// aside and rebuilt, and the library carries on as on a first start.
#[test]
fn a_damaged_index_is_set_aside_and_rebuilt() {
    let (st, config) = setup();
    put(&st, "cchc/a.mp3", "voice.mp3");
    drop(settled(&config, t0()));
    let db = st.path().join("state/library.db");
    let mut bytes = std::fs::read(&db).unwrap();
    // Keep SQLite's header, scribble over the pages.
    for b in bytes.iter_mut().skip(100) {
        *b = 0x5a;
    }
    std::fs::write(&db, &bytes).unwrap();
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(st.path().join(format!("state/library.db{ext}")));
    }
    let lib = settled(&config, t0() + chrono::Duration::hours(1));
    assert_eq!(lib.candidates().len(), 1, "the file is found again");
    assert!(st.path().join("state/library.db.damaged").is_file());
    drop(lib);
    // The rebuilt index is a good one: the next start knows the file at once.
    let mut lib = Library::open(&config);
    let ch = lib.scan(t0() + chrono::Duration::hours(2));
    assert_eq!(
        ch.iter()
            .filter(|c| matches!(c, Change::Ready { .. }))
            .count(),
        1
    );
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

/// Things that are not audio files (a pipe, a socket, broken and looping links, a link
/// out of the audio folder) are listed with a reason and never opened; a folder named like
/// a file is a folder; a link to a file inside the audio folder is that file.
#[test]
fn odd_things_in_a_hot_folder_are_shown_with_a_reason_and_never_opened() {
    let (st, config) = setup();
    let dir = st.path().join("audio/cchc");
    mkfifo(&dir.join("ống.mp3"));
    let _sock = std::os::unix::net::UnixListener::bind(dir.join("ổ cắm.mp3")).unwrap();
    std::os::unix::fs::symlink(dir.join("không có.mp3"), dir.join("gãy.mp3")).unwrap();
    std::os::unix::fs::symlink(dir.join("vòng.mp3"), dir.join("vòng.mp3")).unwrap();
    let outside = st.path().join("ngoài.mp3");
    std::fs::copy(fixture("voice.mp3"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("ra ngoài.mp3")).unwrap();
    let real = put(&st, "cchc/thật.mp3", "voice.mp3");
    std::os::unix::fs::symlink(&real, dir.join("liên kết.mp3")).unwrap();
    put(&st, "cchc/thư mục.mp3/bên trong.mp3", "voice.mp3");
    for p in [&real, &dir.join("thư mục.mp3/bên trong.mp3")] {
        age(p);
    }
    // Finishes: nothing was opened in a way that blocks.
    let lib = Library::snapshot(&config, Utc::now(), false);
    let views = lib.views(Utc::now());
    let reason = |id: &str| {
        let v = view(&views, id);
        assert_eq!(v.state, State::Rejected, "{v:?}");
        v.reason.clone().unwrap()
    };
    assert!(reason("cchc/ống.mp3").contains("not a regular file"));
    assert!(reason("cchc/ổ cắm.mp3").contains("not a regular file"));
    assert!(reason("cchc/gãy.mp3").contains("leads nowhere"));
    assert!(reason("cchc/vòng.mp3").contains("leads nowhere"));
    assert!(reason("cchc/ra ngoài.mp3").contains("outside the audio folder"));
    assert_eq!(view(&views, "cchc/thật.mp3").state, State::Ready);
    assert_eq!(view(&views, "cchc/liên kết.mp3").state, State::Ready);
    assert_eq!(
        view(&views, "cchc/thư mục.mp3/bên trong.mp3").state,
        State::Ready
    );
}

/// A named pipe dropped into a watched folder must not stop the library: a file copied in
/// afterwards (an emergency, say) still becomes airable.
#[test]
fn a_pipe_in_a_watched_folder_does_not_block_the_library() {
    let (st, config) = setup();
    let lib = live(&config);
    mkfifo(&st.path().join("audio/khan-cap/ống.mp3"));
    std::thread::sleep(Duration::from_millis(1500));
    put(&st, "khan-cap/bão.mp3", "voice.mp3");
    lib.wait_for("the file after the pipe", |l| l.ready("khan-cap/bão.mp3"));
    let v = lib.svc.snapshot().views.clone();
    let pipe = view(&v, "khan-cap/ống.mp3");
    assert_eq!(pipe.state, State::Rejected);
    drop(lib);
}

/// Two files whose names differ only in their Unicode spelling (NFD from a Mac, NFC from
/// Windows) are two files: both are listed, neither hides the other.
#[test]
fn nfd_and_nfc_spellings_of_one_name_are_both_listed() {
    let (st, config) = setup();
    let nfc = "cchc/Bản tin.mp3";
    let nfd = "cchc/Ba\u{309}n tin.mp3";
    for n in [nfc, nfd] {
        let p = put(&st, n, "voice.mp3");
        age(&p);
    }
    let lib = Library::snapshot(&config, Utc::now(), false);
    let views = lib.views(Utc::now());
    assert_eq!(views.len(), 2, "{views:?}");
    let states: Vec<State> = views.iter().map(|v| v.state).collect();
    assert!(states.contains(&State::Ready), "{views:?}");
    assert!(
        views
            .iter()
            .any(|v| v.reason.as_deref().is_some_and(|r| r.contains("same name"))),
        "{views:?}"
    );
}

/// Files already there when the daemon starts (older than `settle`) are airable in the
/// first snapshot, before any tick: a programme due in the first seconds finds them.
#[test]
fn files_older_than_settle_are_ready_at_the_first_snapshot() {
    let (st, config) = setup();
    let p = put(&st, "cchc/cũ.mp3", "voice.mp3");
    age(&p);
    let fresh = put(&st, "cchc/mới chép.mp3", "voice.mp3");
    let lib = live(&config);
    let snap = lib.svc.snapshot();
    assert!(
        snap.candidates.iter().any(|c| c.id == "cchc/cũ.mp3"),
        "{:?}",
        snap.views
    );
    assert!(
        !snap.candidates.iter().any(|c| c.id == "cchc/mới chép.mp3"),
        "a file written just now still settles"
    );
    let _ = fresh;
}

/// A file cut short (its header promises more than it holds) or a silent recording, dropped
/// into a watched folder, is never airable: not even for the moment before its analysis.
#[test]
fn broken_and_silent_files_are_never_airable_even_before_their_analysis() {
    let (st, config) = setup();
    let lib = live(&config);
    let dir = st.path().join("audio/cchc");
    // A WAV whose header says 10 s but holds 1 s.
    let rate = 8000u32;
    let mut b = Vec::new();
    let promised = rate * 2 * 10;
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + promised).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 2).to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&promised.to_le_bytes());
    for i in 0..rate {
        let v = ((i as f64 * 0.3).sin() * 8000.0) as i16;
        b.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(dir.join("cụt.wav"), &b).unwrap();
    common::tone_at(&dir.join("im lặng.wav"), rate, 440.0, 5.0, 0.0, 0.0);
    let t = std::time::Instant::now();
    while t.elapsed() < Duration::from_secs(6) {
        assert!(
            !lib.ready("cchc/cụt.wav"),
            "the truncated file became airable"
        );
        assert!(
            !lib.ready("cchc/im lặng.wav"),
            "the silent file became airable"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let v = lib.svc.snapshot().views.clone();
    assert_eq!(view(&v, "cchc/cụt.wav").state, State::Rejected, "{v:?}");
    assert_eq!(view(&v, "cchc/im lặng.wav").state, State::Rejected, "{v:?}");
}

/// A file that makes the decoder itself panic (a WAV claiming 0 Hz) is rejected; the
/// library's threads live on and the next file is taken as usual.
#[test]
fn a_file_that_crashes_the_decoder_is_rejected_and_the_library_goes_on() {
    let (st, config) = setup();
    let lib = live(&config);
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36u32 + 32000).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes()); // 0 Hz
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&32000u32.to_le_bytes());
    b.extend(std::iter::repeat_n(0x11u8, 32000));
    std::fs::write(st.path().join("audio/cchc/0 Hz.wav"), &b).unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    put(&st, "cchc/sau.mp3", "voice.mp3");
    lib.wait_for("the next file", |l| l.ready("cchc/sau.mp3"));
    let v = lib.svc.snapshot().views.clone();
    assert_eq!(view(&v, "cchc/0 Hz.wav").state, State::Rejected, "{v:?}");
}
