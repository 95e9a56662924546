//! Cue one file on the default device at the next whole second + 2 s; print the instant.
use loaxa::playout::{output::Spec, PlayItem, PlayPlan, Player, RealPlayer};
fn main() {
    let path = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    let mut p = RealPlayer::new(Spec::parse(std::env::args().nth(2).as_deref()));
    let now = chrono::Utc::now();
    let at = chrono::DateTime::from_timestamp(now.timestamp() + 2, 0).unwrap();
    p.cue(PlayPlan {
        run: 1,
        at,
        replace: false,
        items: vec![PlayItem::file(&path), PlayItem::file(&path)],
    });
    println!("{}", at.timestamp_nanos_opt().unwrap());
    let t = std::time::Instant::now();
    while t.elapsed() < std::time::Duration::from_secs(9) {
        for e in p.poll() {
            eprintln!("{e:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
