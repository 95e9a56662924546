//! The output, watched: what the master renders is measured 100 ms at a time (EBU R128
//! loudness, sample peak) from a tap, on a thread of its own. Each airing's row gets the
//! integrated loudness, peak and longest silence of what really went out (proof of what
//! aired, not only that a file was started), and silence while something should air is
//! dead air, whatever its cause.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::tap::{tap, Tap, TapReader};

/// One measured 100 ms.
#[derive(Debug, Clone, Copy)]
struct Sub {
    /// Wall-clock ns of its first frame.
    t_ns: i128,
    /// K-weighted mean square (BS.1770), 0 for digital silence.
    power: f64,
    /// Sample peak, linear.
    peak: f64,
}

/// What an airing measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// Integrated loudness (LUFS, gated); None when it was silent throughout.
    pub lufs: Option<f64>,
    pub peak_db: f64,
    pub longest_silence: Duration,
}

const SUB_NS: i128 = 100_000_000;
/// How much history is kept (the longest airing measured whole).
const KEEP: usize = 20 * 60 * 10;

#[derive(Default)]
struct Measures {
    subs: VecDeque<Sub>,
}

pub struct Meter {
    taps: mpsc::Sender<TapReader>,
    measures: Arc<Mutex<Measures>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Default for Meter {
    fn default() -> Meter {
        Meter::start()
    }
}

impl Meter {
    pub fn start() -> Meter {
        let (tx, rx) = mpsc::channel();
        let measures = Arc::new(Mutex::new(Measures::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (measures.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("meter".into())
            .spawn(move || run(rx, m, s))
            .ok();
        Meter {
            taps: tx,
            measures,
            stop,
            thread,
        }
    }

    /// The master opened: a tap for its audio thread.
    pub fn attach(&self, channels: u16, rate: u32) -> Option<Tap> {
        let (t, reader) = tap(channels, rate, 4);
        self.taps.send(reader).ok().map(|_| t)
    }

    /// What went out between `from_ns` and `to_ns`; None until it is all measured.
    pub fn measure(&self, from_ns: i128, to_ns: i128, silence_db: f64) -> Option<Measured> {
        let m = self.measures.lock().ok()?;
        let last = m.subs.back()?;
        if last.t_ns + SUB_NS < to_ns {
            return None;
        }
        let subs: Vec<Sub> = (m.subs.iter())
            .filter(|s| s.t_ns + SUB_NS > from_ns && s.t_ns < to_ns)
            .copied()
            .collect();
        Some(summarise(&subs, silence_db))
    }

    /// How long the output has been silent, up to the latest measure.
    pub fn silent_for(&self, silence_db: f64) -> Duration {
        let floor = 10f64.powf(silence_db / 20.0);
        let Ok(m) = self.measures.lock() else {
            return Duration::ZERO;
        };
        let n = m.subs.iter().rev().take_while(|s| s.peak < floor).count();
        Duration::from_millis(n as u64 * 100)
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// BS.1770 integrated loudness over 400 ms blocks (75 % overlap) with the absolute
/// (−70 LUFS) and relative (−10 LU) gates; the peak; the longest run of silent 100 ms.
fn summarise(subs: &[Sub], silence_db: f64) -> Measured {
    let loud = |p: f64| -0.691 + 10.0 * p.log10();
    let blocks: Vec<f64> = if subs.len() >= 4 {
        subs.windows(4)
            .map(|w| w.iter().map(|s| s.power).sum::<f64>() / 4.0)
            .collect()
    } else if subs.is_empty() {
        vec![]
    } else {
        vec![subs.iter().map(|s| s.power).sum::<f64>() / subs.len() as f64]
    };
    let above: Vec<f64> = blocks
        .iter()
        .copied()
        .filter(|p| *p > 0.0 && loud(*p) > -70.0)
        .collect();
    let lufs = (!above.is_empty()).then(|| {
        let rel = loud(above.iter().sum::<f64>() / above.len() as f64) - 10.0;
        let kept: Vec<f64> = above.into_iter().filter(|p| loud(*p) > rel).collect();
        loud(kept.iter().sum::<f64>() / kept.len().max(1) as f64)
    });
    let peak = subs.iter().map(|s| s.peak).fold(0.0, f64::max);
    let floor = 10f64.powf(silence_db / 20.0);
    let (mut run, mut longest) = (0u64, 0u64);
    for s in subs {
        run = if s.peak < floor { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    Measured {
        lufs,
        peak_db: if peak > 0.0 {
            20.0 * peak.log10()
        } else {
            -120.0
        },
        longest_silence: Duration::from_millis(longest * 100),
    }
}

fn run(taps: mpsc::Receiver<TapReader>, measures: Arc<Mutex<Measures>>, stop: Arc<AtomicBool>) {
    let mut reader: Option<TapReader> = None;
    let mut r128: Option<ebur128::EbuR128> = None;
    let mut buf: Vec<f32> = Vec::with_capacity(1 << 16);
    // The sub-block being filled: its start time and the frames in it so far.
    let mut sub: Vec<f32> = Vec::with_capacity(1 << 14);
    let mut sub_t: i128 = 0;
    while !stop.load(Ordering::Relaxed) {
        let Some(r) = reader.as_mut() else {
            match taps.recv_timeout(Duration::from_millis(200)) {
                Ok(t) => {
                    r128 = ebur128::EbuR128::new(
                        t.channels as u32,
                        t.rate,
                        ebur128::Mode::M | ebur128::Mode::SAMPLE_PEAK,
                    )
                    .ok();
                    sub.clear();
                    reader = Some(t);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
            continue;
        };
        buf.clear();
        let Some(block) = r.next(&mut buf) else {
            if r.closed() {
                reader = None;
            } else {
                std::thread::sleep(Duration::from_millis(20));
            }
            continue;
        };
        let (ch, rate) = (r.channels as usize, r.rate as i128);
        let per_sub = (rate / 10) as usize;
        let Some(meter) = r128.as_mut() else {
            continue;
        };
        let mut frame = 0usize;
        let frames = buf.len() / ch;
        while frame < frames {
            if sub.is_empty() {
                sub_t = block.t_first_ns + frame as i128 * 1_000_000_000 / rate;
            }
            let take = (per_sub - sub.len() / ch).min(frames - frame);
            sub.extend_from_slice(&buf[frame * ch..(frame + take) * ch]);
            frame += take;
            if sub.len() / ch == per_sub {
                let _ = meter.add_frames_f32(&sub);
                let l = meter.loudness_window(100).unwrap_or(f64::NEG_INFINITY);
                let power = if l.is_finite() {
                    10f64.powf((l + 0.691) / 10.0)
                } else {
                    0.0
                };
                let peak = (0..ch as u32)
                    .filter_map(|c| meter.prev_sample_peak(c).ok())
                    .fold(0.0, f64::max);
                if let Ok(mut m) = measures.lock() {
                    m.subs.push_back(Sub {
                        t_ns: sub_t,
                        power,
                        peak,
                    });
                    if m.subs.len() > KEEP {
                        m.subs.pop_front();
                    }
                }
                sub.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(i: i128, power: f64, peak: f64) -> Sub {
        Sub {
            t_ns: i * SUB_NS,
            power,
            peak,
        }
    }

    #[test]
    fn a_steady_tone_reads_its_own_loudness_and_a_gap_is_the_longest_silence() {
        // −20 LUFS: mean square 10^((−20 + 0.691)/10).
        let p = 10f64.powf((-20.0 + 0.691) / 10.0);
        let steady: Vec<Sub> = (0..50).map(|i| sub(i, p, 0.3)).collect();
        let lufs = summarise(&steady, -45.0).lufs.unwrap();
        assert!((lufs + 20.0).abs() < 0.01, "{lufs}");
        let mut subs: Vec<Sub> = (0..20).map(|i| sub(i, p, 0.3)).collect();
        subs.extend((20..35).map(|i| sub(i, 0.0, 0.0)));
        subs.extend((35..50).map(|i| sub(i, p, 0.3)));
        let m = summarise(&subs, -45.0);
        // The silent blocks fall under the gate; the six 400 ms blocks straddling its
        // edges hold 3 blocks' worth of tone between them and pass it: 32/35 of the power.
        let lufs = m.lufs.unwrap();
        let want = -20.0 + 10.0 * (32.0f64 / 35.0).log10();
        assert!((lufs - want).abs() < 0.01, "{lufs} vs {want}");
        assert_eq!(m.longest_silence, Duration::from_millis(1500));
        assert!((m.peak_db - 20.0 * 0.3f64.log10()).abs() < 1e-9);
        assert_eq!(summarise(&[], -45.0).lufs, None);
    }
}
