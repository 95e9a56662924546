//! Planning a whole year of the example schedule (target: under 100 ms).
//! `cargo bench --bench plan_year`; under `cargo test` it runs once as a smoke test.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::TimeZone;
use loaxa::item::Item;
use loaxa::schedule;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = loaxa::config::load(&root.join("schedule.yaml"))
        .expect("example loads")
        .config;
    let from = chrono::Utc
        .with_ymd_and_hms(2026, 12, 31, 17, 0, 0)
        .unwrap();
    let until = from + chrono::Duration::days(365);
    // A library the size of a busy year: 60 CCHC bulletins, 40 public-service items.
    let items: Vec<Item> = (0..100)
        .map(|i| {
            let cat = if i < 60 { "cchc" } else { "dich-vu-cong" };
            Item {
                id: format!("{cat}/{i}.mp3"),
                path: root.join(format!("audio/{cat}/{i}.mp3")),
                category: cat.into(),
                title: format!("Bài {i}"),
                duration: Duration::from_secs(120 + i),
                valid_from: from + chrono::Duration::days(i as i64 * 3),
                valid_until: Some(from + chrono::Duration::days(i as i64 * 3 + 60)),
                priority: loaxa::config::Priority::Normal,
                hash: format!("{i:064x}"),
                gain_db: 0.0,
                from_arrival: false,
                rate: 44_100,
                modified: from,
            }
        })
        .collect();
    let fixed = |_: &Path| Some(Duration::from_secs(3));
    let runs = if full { 20 } else { 1 };
    let mut times = vec![];
    let mut n = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let plan = schedule::plan(&config, from, until, &items, &HashMap::new(), &fixed);
        times.push(t.elapsed());
        n = plan.len();
    }
    times.sort();
    let occ_t = Instant::now();
    let occ = schedule::occurrences(&config, from, until).len();
    let occ_t = occ_t.elapsed();
    println!(
        "plan_year: {n} airings, 100 items: median {:.1} ms, max {:.1} ms over {runs} runs; occurrences only: {occ} in {:.1} ms",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        occ_t.as_secs_f64() * 1e3
    );
    assert!(
        n > 700,
        "a year of the example has more than 700 airings, got {n}"
    );
}
