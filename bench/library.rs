//! The library with 10 000 files of 1–2 s: cold indexing (every file with a known state),
//! a no-change restart, and the time until every file is fully analysed (loudness, exact
//! length). Targets: cold ≤ 10 s, restart ≤ 1 s.
//! `cargo bench --bench library [-- N]`; under `cargo test` it runs with 200 files.

use std::sync::Arc;
use std::time::{Duration, Instant};

use loaxa::clock::SystemClock;
use loaxa::library::watch::Service;

#[path = "../tests/common/mod.rs"]
mod common;

fn wait(
    what: &str,
    svc: &Service,
    f: impl Fn(&loaxa::library::watch::Snapshot) -> bool,
) -> Duration {
    let t = Instant::now();
    while !f(&svc.snapshot()) {
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "{what} took too long"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    t.elapsed()
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(if bench { 10_000 } else { 200 });
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("schedule.yaml"),
        "station:\n  name: Bench\ncategories:\n  cchc:\n    name: CCHC\n  dich-vu-cong:\n    name: DVC\n",
    )
    .unwrap();
    let t = Instant::now();
    for i in 0..n {
        let cat = if i % 2 == 0 { "cchc" } else { "dich-vu-cong" };
        let sub = root.join("audio").join(cat).join(format!("{:03}", i / 500));
        std::fs::create_dir_all(&sub).unwrap();
        let (secs, freq) = (1.0 + (i % 10) as f64 / 10.0, 300.0 + (i % 50) as f64 * 10.0);
        common::tone_at(
            &sub.join(format!("Bản tin {i}.wav")),
            8000,
            freq,
            secs,
            0.25,
            0.0,
        );
    }
    let bytes: u64 = walk_size(&root.join("audio"));
    println!(
        "library: {n} files of 1–2 s ({:.0} MB) generated in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    // Files the daemon finds already there on its first start settle like any new file.
    let config = loaxa::config::load(&root.join("schedule.yaml"))
        .unwrap()
        .config;
    let total = |s: &loaxa::library::watch::Snapshot| s.views.len() == n;

    let t = Instant::now();
    let svc = Service::spawn(&config, Arc::new(SystemClock), |_| {});
    let known = wait("cold index", &svc, |s| {
        total(s) && !s.counts.contains_key("settling")
    });
    let cold = t.elapsed();
    let ready = svc.snapshot().counts.get("ready").copied().unwrap_or(0);
    let analysed = wait("full analysis", &svc, |s| {
        s.views.iter().all(|v| v.lufs.is_some())
    });
    let full = t.elapsed();
    drop(svc);
    println!(
        "cold start: every file with a known state after {:.2} s (of which settle 3 s: the probing itself {:.2} s); {ready} ready; full analysis done after {:.2} s ({:.2} s more)",
        cold.as_secs_f64(),
        (known.as_secs_f64() - 3.0).max(0.0),
        full.as_secs_f64(),
        analysed.as_secs_f64()
    );
    assert_eq!(ready, n);

    let mut restarts = vec![];
    for _ in 0..5 {
        let t = Instant::now();
        let svc = Service::spawn(&config, Arc::new(SystemClock), |_| {});
        let s = svc.snapshot();
        assert!(
            total(&s) && s.counts.get("ready") == Some(&n),
            "all known at once: {:?}",
            s.counts
        );
        assert!(s.views.iter().all(|v| v.lufs.is_some()), "analysis cached");
        restarts.push(t.elapsed());
        drop(svc);
    }
    restarts.sort();
    println!(
        "no-change restart (5 runs): median {:.0} ms, max {:.0} ms",
        restarts[2].as_secs_f64() * 1e3,
        restarts[4].as_secs_f64() * 1e3
    );
}

fn walk_size(d: &std::path::Path) -> u64 {
    std::fs::read_dir(d)
        .unwrap()
        .flatten()
        .map(|e| {
            if e.file_type().unwrap().is_dir() {
                walk_size(&e.path())
            } else {
                e.metadata().unwrap().len()
            }
        })
        .sum()
}
