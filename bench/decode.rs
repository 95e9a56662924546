//! CPU cost of decoding an item for the air, as a share of one core per second of audio:
//! the direct symphonia path (files at the output's rate) against rodio's per-sample
//! converter chain (files that need resampling), on the same file and output format.
//! `cargo bench --bench decode [-- FILE [CHANNELS]]` (default: the 1.2 s MP3 fixture to
//! stereo, decoded 50 times); under `cargo test` it runs once as a smoke test.

use std::path::PathBuf;
use std::time::Instant;

use loaxa::media::decode::{self, Direct};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let full = std::env::args().any(|a| a == "--bench");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("tests/fixtures/audio/tone-1s2-a.mp3"));
    let channels: u16 = args
        .get(1)
        .map(|c| c.parse().expect("CHANNELS"))
        .unwrap_or(2);
    let rate = loaxa::media::probe::header(&path)
        .expect("the file opens")
        .sample_rate;
    let rounds = if full { 50 } else { 2 };
    let mut buf = Vec::with_capacity(8192);

    let t = Instant::now();
    let mut direct_frames = 0u64;
    for _ in 0..rounds {
        let mut d = Direct::open(&path, rate)
            .expect("opens")
            .expect("direct path at its own rate");
        loop {
            buf.clear();
            if !d.next_block(0.5, channels, &mut buf) {
                break;
            }
            direct_frames += (buf.len() / channels as usize) as u64;
        }
    }
    let direct = t.elapsed();

    let t = Instant::now();
    let mut rodio_frames = 0u64;
    for _ in 0..rounds {
        let dec = decode::open(&path).expect("opens");
        for _ in decode::converted(dec, channels, rate).map(|s| s * 0.5) {
            rodio_frames += 1;
        }
    }
    rodio_frames /= channels as u64;
    let rodio = t.elapsed();

    assert_eq!(
        direct_frames, rodio_frames,
        "both paths give the same frames"
    );
    let audio_s = direct_frames as f64 / rate as f64;
    let pct = |d: std::time::Duration| d.as_secs_f64() / audio_s * 100.0;
    println!(
        "decode {} → {channels} ch at {rate} Hz, {audio_s:.1} s of audio: direct {:.3} % of a core, rodio chain {:.3} % ({:.1}×)",
        path.file_name().unwrap().to_string_lossy(),
        pct(direct),
        pct(rodio),
        rodio.as_secs_f64() / direct.as_secs_f64()
    );
}
