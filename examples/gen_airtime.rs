//! Fills an airtime log with N synthetic airings spread over November 2026, for the export
//! and report benchmarks (bench/airtime.py).
//! usage: gen_airtime DB N

use std::time::Duration;

use chrono::TimeZone;
use loaxa::airtime::{NewAiring, Status, Store, Trigger};

fn main() {
    let mut args = std::env::args().skip(1);
    let db = args.next().expect("usage: gen_airtime DB N");
    let n: i64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .expect("usage: gen_airtime DB N");
    let mut store = Store::open(std::path::Path::new(&db)).expect("open");
    let start = chrono::Utc
        .with_ymd_and_hms(2026, 10, 31, 17, 0, 0)
        .unwrap();
    let step_ms = 30 * 86_400_000 / n.max(1);
    let cats = ["cchc", "dich-vu-cong", "nhac-hieu", "khan-cap"];
    let chunk = 50_000;
    let mut done = 0;
    while done < n {
        let end = (done + chunk).min(n);
        store
            .batch(|s| {
                for i in done..end {
                    let at = start + chrono::Duration::milliseconds(i * step_ms);
                    let cat = cats[(i % 4) as usize];
                    let a = NewAiring {
                        programme: Some("Buổi sáng".into()),
                        category: Some(cat.into()),
                        trigger: Some(Trigger::Schedule),
                        item_path: Some(format!("{cat}/Bản tin số {}.mp3", i % 500)),
                        title: Some(format!("Bản tin số {}", i % 500)),
                        content_hash: Some(format!("{:064x}", i % 500)),
                        scheduled_at: Some(at),
                        planned: Some(Duration::from_secs(120)),
                        ..Default::default()
                    };
                    let id = s.start(&a, at)?;
                    s.finish(
                        id,
                        Status::Completed,
                        at + chrono::Duration::seconds(120),
                        Duration::from_secs(120),
                        None,
                    )?;
                }
                Ok(())
            })
            .expect("insert");
        done = end;
    }
    println!("{n} airings in {db}");
}
