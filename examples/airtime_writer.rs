//! A process that writes airings through the real store as fast as a busy station would,
//! for the power-cut test (`tests/airtime.rs` kills it with SIGKILL at random moments).
//! Prints `done ID` after each airing's final commit.
//! usage: airtime_writer DB

use std::io::Write;
use std::time::Duration;

use loaxa::airtime::{NewAiring, Status, Store, Trigger};

fn main() {
    let db = std::env::args().nth(1).expect("usage: airtime_writer DB");
    let store = Store::open(std::path::Path::new(&db)).expect("open");
    store.recover().expect("recover");
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let t = chrono::Utc::now();
        let a = NewAiring {
            programme: Some("Buổi sáng".into()),
            category: Some("cchc".into()),
            trigger: Some(Trigger::Schedule),
            item_path: Some(format!("cchc/bản tin {}.mp3", i % 7)),
            title: Some(format!("Bản tin {}", i % 7)),
            content_hash: Some(format!("{:016x}", i % 7)),
            scheduled_at: Some(t),
            planned: Some(Duration::from_secs(60)),
            ..Default::default()
        };
        let id = store.start(&a, t).expect("start");
        for k in 1..=3 {
            store
                .heartbeat(id, Duration::from_secs(k * 5), chrono::Utc::now())
                .expect("heartbeat");
        }
        store
            .finish(
                id,
                Status::Completed,
                chrono::Utc::now(),
                Duration::from_secs(60),
                None,
            )
            .expect("finish");
        writeln!(out, "done {id}").unwrap();
        out.flush().unwrap();
    }
}
