//! Airing a relay: its window filled, frame for frame, from its stream while the stream
//! has sound, and from its fallbacks while it does not, so the window never holds dead air
//! longer than the watch allows and always ends on its second.
//!
//! Runs on the run's feeder thread. Streams are opened when the run is cued (so they are
//! buffered at the relay's second); the decision of what to air is made a 20 ms block at a
//! time, just ahead of the air: the feeder keeps the ring as full as the network allows,
//! and only when what is buffered runs low does missing data become silence and count
//! toward dead air.

use std::time::Duration;

use super::deck::{Marker, MarkerKind};
use super::item::{PlayItem, Watch};
use super::note::{Dropout, RelaySummary, SourceNote, Span};
use crate::media::decode::Reader;
use crate::media::stream::{Stream, LIVE};
use crate::media::Source;

/// A stream that has had sound this long is taken back from a fallback.
pub const RECOVER: Duration = Duration::from_secs(2);
/// Missing data becomes silence only when the air is this close to what is written.
const LOW: Duration = Duration::from_millis(300);
const BLOCK_MS: u32 = 20;
/// How far ahead of the air a relay writes.
const MAX_LEAD: Duration = Duration::from_millis(1200);
/// A live input's pace: what it adds to the capture's and the output's own latency.
/// Silence is written only when the deck is within [`LIVE_LOW`] of what is written, and
/// the feed starts [`LIVE_CUSHION`] further ahead: the capture hands over its periods a
/// little late now and then (a busy CPU, the sound server's own scheduling), and a cushion
/// of one block turned each late period into a 5 ms hole in the announcement.
const LIVE_BLOCK_MS: u32 = 5;
const LIVE_LOW: Duration = Duration::from_millis(15);
const LIVE_CUSHION: Duration = Duration::from_millis(30);
const LIVE_MAX_LEAD: Duration = Duration::from_millis(90);
/// A live input's delay (its capture backlog and its lead over the deck) that stood for
/// this long more than [`LIVE_SLACK`] above where the feed started is dropped from the
/// input: after a stall (a busy CPU, a late device) the delay comes back to where it was
/// instead of staying longer for the rest of the announcement.
const LIVE_TRIM_EVERY: Duration = Duration::from_millis(250);
const LIVE_SLACK: Duration = Duration::from_millis(20);
/// Where a live input is cut (its delay trimmed, input beyond the lead dropped), the
/// audio that would have aired next fades into what airs after the cut over this long,
/// so the cut is not heard as a click.
const LIVE_JOIN_MS: u32 = 5;

/// The streams of a relay, opened when its run is cued.
pub struct Streams {
    primary: Stream,
    /// One per fallback; Some for the stream ones.
    fallback: Vec<Option<Stream>>,
}

impl Streams {
    /// Opens the relay's stream and its fallback streams now; None for an item that is
    /// not a relay.
    pub fn open(item: &PlayItem, channels: u16, rate: u32) -> Option<Streams> {
        let Source::Stream(url) = &item.source else {
            return None;
        };
        let silence = item.watch.map_or(-45.0, |w| w.silence_db);
        Some(Streams {
            primary: Stream::open(url, channels, rate, silence),
            fallback: item
                .fallback
                .iter()
                .map(|g| match g.first().map(|f| &f.source) {
                    Some(Source::Stream(u)) if g.len() == 1 => {
                        Some(Stream::open(u, channels, rate, silence))
                    }
                    _ => None,
                })
                .collect(),
        })
    }
}

/// Files of a fallback aired in turn, looping; where it is kept while the stream airs.
struct Files {
    at: usize,
    reader: Option<Reader>,
    pending: Vec<f32>,
    /// Files that would not play one after another (all of them: the fallback is dead).
    failed_in_a_row: usize,
    /// Whether the open file has given any audio.
    produced: bool,
}

/// What the feeder needs to write into the run's ring.
pub struct Ring<'a> {
    pub tx: &'a mut rtrb::Producer<f32>,
    pub markers: &'a mut rtrb::Producer<Marker>,
    /// Frames written to the run so far.
    pub frames: &'a mut u64,
    /// When the run's first frame airs (ns since the epoch).
    pub at_ns: i128,
    pub cancel: &'a std::sync::atomic::AtomicBool,
    /// How long before its air the deck may take a frame (the output's delay and one
    /// buffer, ns).
    pub ahead_ns: &'a std::sync::atomic::AtomicU64,
    /// How much later than `at_ns` + its frames the deck airs the run's next frame
    /// ([`super::deck::Stream::slip_ns`]).
    pub slip_ns: &'a std::sync::atomic::AtomicI64,
}

/// Airs relay `item` (entry `index` of the run) for its window. Returns false when the
/// run was cancelled.
pub fn air(
    item: &PlayItem,
    index: u32,
    streams: Streams,
    ring: Ring<'_>,
    channels: u16,
    rate: u32,
) -> bool {
    use std::sync::atomic::Ordering;
    let ch = channels as usize;
    let watch = item.watch.unwrap_or(Watch {
        silence_db: -45.0,
        after: Duration::from_secs(3),
    });
    let floor = 10f32.powf(watch.silence_db as f32 / 20.0);
    let after = (watch.after.as_secs_f64() * rate as f64) as u64;
    // A live input airs as it is captured: small blocks, a short lead kept short (input
    // beyond it is dropped), and quiet is not dead air (a speaker pauses), only no input.
    let live = matches!(&item.source, Source::Stream(u) if u.starts_with(LIVE));
    let (block_ms, low, max_lead) = if live {
        (LIVE_BLOCK_MS, LIVE_LOW, LIVE_MAX_LEAD)
    } else {
        (BLOCK_MS, LOW, MAX_LEAD)
    };
    let block = (rate * block_ms / 1000) as u64;
    let total = item
        .expect
        .map(|d| (d.saturating_sub(item.offset).as_secs_f64() * rate as f64) as u64)
        .unwrap_or(u64::MAX);
    let ns_per_frame = 1_000_000_000f64 / rate as f64;
    let groups = item.fallback.len();
    let mut files: Vec<Files> = (0..groups)
        .map(|_| Files {
            at: 0,
            reader: None,
            pending: Vec::new(),
            failed_in_a_row: 0,
            produced: false,
        })
        .collect();
    let title = |k: usize| -> String {
        match k {
            0 => item.source.to_string(),
            k => item.fallback[k - 1]
                .first()
                .map(|f| match &f.source {
                    Source::Stream(u) => u.clone(),
                    // A file fallback by its name; a category's files by their folder.
                    Source::File(p) if item.fallback[k - 1].len() == 1 => {
                        crate::item::title_from_name(p)
                    }
                    Source::File(p) => p
                        .parent()
                        .and_then(|d| d.file_name())
                        .map(|d| d.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                })
                .unwrap_or_default(),
        }
    };
    let stream_of = |k: usize| -> Option<&Stream> {
        if k == 0 {
            Some(&streams.primary)
        } else {
            streams.fallback[k - 1].as_ref()
        }
    };
    let start = *ring.frames;
    let _ = ring.markers.push(Marker {
        frame: start,
        item: index,
        kind: MarkerKind::Start,
    });
    // What airs: 0 the stream, k the k-th fallback, groups + 1 silence.
    let silence = groups + 1;
    let mut spans: Vec<Span> = Vec::new();
    let mut dropouts: Vec<Dropout> = Vec::new();
    let mut span_from = 0u64;
    let mut why: Option<String> = None;
    let mut active = 0usize;
    let mut dead = 0u64;
    // The least delay (capture backlog and lead, frames) seen since `standing_since`, and
    // what is still to be dropped of it (live input only).
    let (mut standing, mut standing_since) = (u64::MAX, std::time::Instant::now());
    let mut owed = 0u64;
    // The first frames of a live input cut out (see `LIVE_JOIN_MS`), faded from into the
    // next block aired.
    let join_len = (rate * LIVE_JOIN_MS / 1000) as usize * ch;
    let mut cut: Vec<f32> = Vec::with_capacity(join_len);
    let mut buf: Vec<f32> = Vec::with_capacity(block as usize * ch * 2);
    let mut written = 0u64;
    let ms = |f: u64| f * 1000 / rate as u64;

    // A source that can take the air now: a stream with audio buffered, files that open.
    let ready = |k: usize, files: &mut Vec<Files>| -> bool {
        if k == 0 || k > groups {
            return k == 0 && streams.primary.available() as u64 >= block;
        }
        match stream_of(k) {
            Some(s) => s.available() as u64 >= block,
            None => files[k - 1].failed_in_a_row < item.fallback[k - 1].len().max(1),
        }
    };
    // When the deck takes a frame: its air time (as the deck has slipped), less the
    // output's delay for a live input (whose lead over the deck is kept short); a relay's
    // lead is counted to the air.
    let taken = |air: i128| -> i128 {
        let air = air + ring.slip_ns.load(Ordering::Relaxed) as i128;
        if live {
            air - ring.ahead_ns.load(Ordering::Relaxed) as i128
        } else {
            air
        }
    };
    let start_lead = if live { low + LIVE_CUSHION } else { low };
    let target = ((start_lead + LIVE_SLACK).as_secs_f64() * rate as f64) as u64;
    // Wait for the stream until the window's first frame is about to air (the feeder
    // reaches a relay that opens its run two seconds early).
    while !ready(0, &mut files) || live {
        let air = taken(ring.at_ns + (*ring.frames as f64 * ns_per_frame) as i128);
        if air - crate::clock::wall_ns() <= start_lead.as_nanos() as i128
            || ring.cancel.load(Ordering::Relaxed)
        {
            break;
        }
        if live {
            // What was captured before the window is not aired: only the newest block.
            let extra = streams.primary.available().saturating_sub(block as usize);
            streams.primary.take(extra, &mut buf);
            buf.clear();
        }
        std::thread::sleep(Duration::from_millis(if live { 2 } else { 10 }));
    }
    // The stream has nothing at the window's first second: the first fallback airs at
    // once, and the stream is taken back when it has sound.
    if !ready(0, &mut files) {
        let h = streams.primary.health();
        let reason = h
            .last_error
            .unwrap_or_else(|| "the stream has not answered yet".into());
        active = (1..=groups)
            .find(|k| ready(*k, &mut files))
            .unwrap_or(silence);
        why = Some(reason.clone());
        note_switch(ring.markers, start, index, active, silence, &title, &reason);
    }

    while written < total {
        if ring.cancel.load(Ordering::Relaxed) {
            return false;
        }
        let now = crate::clock::wall_ns();
        let air_of_next = taken(ring.at_ns + (*ring.frames as f64 * ns_per_frame) as i128);
        let lead = air_of_next - now;
        let n = block.min(total - written);
        if ring.tx.slots() < n as usize * ch || lead > max_lead.as_nanos() as i128 {
            if live && active == 0 {
                // Far enough ahead: input beyond the lead is dropped, so latency stays put.
                let extra = streams.primary.available().min(n as usize);
                buf.clear();
                streams.primary.take(extra, &mut buf);
                keep_cut(&mut cut, &buf, join_len);
                buf.clear();
            }
            std::thread::sleep(Duration::from_millis(block_ms as u64));
            continue;
        }
        buf.clear();
        let mut starved = false;
        let block_start = written;
        let mut gain = item.gain;
        if active == 0 || (active <= groups && stream_of(active).is_some()) {
            let s = stream_of(active).expect("a stream");
            if active > 0 {
                gain = item.fallback[active - 1][0].gain;
            }
            if s.available() as u64 >= n {
                if live && active == 0 {
                    let lead_frames = (lead.max(0) as f64 / ns_per_frame) as u64;
                    standing = standing.min(s.available() as u64 - n + lead_frames);
                    if standing_since.elapsed() >= LIVE_TRIM_EVERY {
                        owed = standing.saturating_sub(target);
                        (standing, standing_since) = (u64::MAX, std::time::Instant::now());
                    }
                    if owed > 0 {
                        let d = owed.min(s.available() as u64);
                        s.take(d as usize, &mut buf);
                        keep_cut(&mut cut, &buf, join_len);
                        buf.clear();
                        owed -= d;
                        if (s.available() as u64) < n {
                            continue;
                        }
                    }
                }
                s.take(n as usize, &mut buf);
                if live && active == 0 {
                    join(&cut, &mut buf, ch);
                }
                let peak = buf.iter().fold(0f32, |m, x| m.max(x.abs()));
                dead = if peak * gain < floor && !(live && active == 0) {
                    dead + n
                } else {
                    0
                };
            } else if lead > low.as_nanos() as i128 {
                // Buffered enough on air: wait for the network (or the device).
                std::thread::sleep(Duration::from_millis(if live { 1 } else { 10 }));
                continue;
            } else {
                starved = true;
                buf.resize(n as usize * ch, 0.0);
                dead += n;
            }
        } else if active <= groups {
            let g = &item.fallback[active - 1];
            if !fill_files(
                g,
                &mut files[active - 1],
                n as usize,
                channels,
                rate,
                &mut buf,
            ) {
                buf.clear();
            }
            gain = 1.0; // fill_files applies each file's own gain
        }
        if buf.len() < n as usize * ch {
            // Silence: nothing is left (or a fallback's files all failed just now).
            buf.resize(n as usize * ch, 0.0);
        }

        for x in buf.iter_mut() {
            *x *= gain;
        }
        // Fits: the ring had room for the block (checked at the top of the loop).
        let _ = ring.tx.push_entire_slice(&buf);
        *ring.frames += n;
        written += n;
        // A cut is faded over only into the block right after it (joined above).
        cut.clear();
        match (starved, dropouts.last_mut()) {
            (true, Some(d)) if d.at_ms + d.ms >= ms(block_start) => d.ms = ms(written) - d.at_ms,
            (true, _) => dropouts.push(Dropout {
                at_ms: ms(block_start),
                ms: ms(written) - ms(block_start),
            }),
            _ => {}
        }

        // Leave a stream that is down: at once when its connection is gone and nothing is
        // buffered, else after `after` of silence or missing data.
        let mut leave: Option<String> = None;
        if active <= groups && stream_of(active).is_some() {
            let s = stream_of(active).expect("a stream");
            let h = s.health();
            if starved && !h.connected && h.last_error.is_some() {
                leave = h.last_error.clone();
            } else if dead >= after {
                leave = Some(if starved {
                    format!(
                        "no audio for {}",
                        crate::config::format_duration(watch.after)
                    )
                } else {
                    format!(
                        "silent for {} (under {} dBFS)",
                        crate::config::format_duration(watch.after),
                        watch.silence_db
                    )
                });
            }
        } else if active > 0
            && active <= groups
            && files[active - 1].failed_in_a_row >= item.fallback[active - 1].len()
        {
            leave = Some("none of its files can be played".into());
        }
        // Come back to a better source: a stream that has had sound for RECOVER.
        let back = (0..active.min(silence)).find(|k| {
            stream_of(*k).is_some_and(|s| {
                s.health().sound_for.is_some_and(|d| d >= RECOVER) && s.available() as u64 >= n
            })
        });
        let next = match (back, &leave) {
            (Some(k), _) => Some((k, "the stream has sound again".to_string())),
            (None, Some(r)) => Some((
                (active + 1..=groups)
                    .find(|k| ready(*k, &mut files))
                    .unwrap_or(silence),
                r.clone(),
            )),
            (None, None) if active == silence => (1..=groups)
                .find(|k| ready(*k, &mut files) && stream_of(*k).is_none())
                .map(|k| (k, "a fallback can play again".to_string())),
            _ => None,
        };
        if let Some((k, reason)) = next.filter(|(k, _)| *k != active) {
            // The block just written was the old source's; the new one starts here.
            spans.push(Span {
                from_ms: ms(span_from),
                to_ms: ms(written),
                source: if active == silence {
                    String::new()
                } else {
                    title(active)
                },
                fallback: (active > 0).then_some(if active == silence { 0 } else { active }),
                why: why.take(),
            });
            span_from = written;
            why = (k != 0).then(|| reason.clone());
            note_switch(
                ring.markers,
                *ring.frames,
                index,
                k,
                silence,
                &title,
                &reason,
            );
            active = k;
            dead = 0;
        }
    }
    spans.push(Span {
        from_ms: ms(span_from),
        to_ms: ms(written),
        source: if active == silence {
            String::new()
        } else {
            title(active)
        },
        fallback: (active > 0).then_some(if active == silence { 0 } else { active }),
        why,
    });
    let h = streams.primary.health();
    let _ = ring.markers.push(Marker {
        frame: *ring.frames,
        item: index,
        kind: MarkerKind::Source(Box::new(SourceNote::Summary(RelaySummary {
            url: item.source.to_string(),
            bytes: h.bytes,
            connects: h.connects,
            spans,
            dropouts,
        }))),
    });
    let _ = ring.markers.push(Marker {
        frame: *ring.frames,
        item: index,
        kind: MarkerKind::End(None),
    });
    true
}

fn note_switch(
    markers: &mut rtrb::Producer<Marker>,
    frame: u64,
    index: u32,
    to: usize,
    silence: usize,
    title: &dyn Fn(usize) -> String,
    why: &str,
) {
    // The marker ring has room for a few switches per run; beyond that they are dropped
    // (the summary still holds every span).
    let _ = markers.push(Marker {
        frame,
        item: index,
        kind: MarkerKind::Source(Box::new(SourceNote::Switched {
            to: if to == silence {
                String::new()
            } else {
                title(to)
            },
            fallback: (to > 0).then_some(if to == silence { 0 } else { to }),
            silence: to == silence,
            why: why.to_string(),
        })),
    });
}

/// Appends exactly `n` frames of a fallback's files (each at its own gain), moving to the
/// next file when one ends and looping to the first after the last. False when none of
/// them plays.
fn fill_files(
    g: &[PlayItem],
    f: &mut Files,
    n: usize,
    channels: u16,
    rate: u32,
    out: &mut Vec<f32>,
) -> bool {
    let ch = channels as usize;
    let mut tmp = Vec::new();
    while f.pending.len() < n * ch {
        if f.failed_in_a_row >= g.len().max(1) {
            return false;
        }
        let it = &g[f.at % g.len()];
        if f.reader.is_none() {
            match it.source.open(Duration::ZERO, channels, rate) {
                Ok(r) => {
                    f.reader = Some(r);
                    f.produced = false;
                }
                Err(e) => {
                    tracing::warn!("relay fallback: {e}");
                    f.failed_in_a_row += 1;
                    f.at += 1;
                    continue;
                }
            }
        }
        tmp.clear();
        let r = f.reader.as_mut().expect("just opened");
        let more = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            r.next_block(it.gain, channels, &mut tmp)
        }))
        .unwrap_or(false);
        if !tmp.is_empty() {
            f.failed_in_a_row = 0;
            f.produced = true;
            f.pending.extend_from_slice(&tmp);
        }
        if !more {
            if !f.produced {
                f.failed_in_a_row += 1;
            }
            f.reader = None;
            f.at += 1;
        }
    }
    out.extend(f.pending.drain(..n * ch));
    true
}

/// Keeps the first frames of input being cut out, unless a cut is already kept since the
/// last aired block (that one continues what aired).
fn keep_cut(cut: &mut Vec<f32>, dropped: &[f32], join_len: usize) {
    if cut.is_empty() {
        cut.extend_from_slice(&dropped[..dropped.len().min(join_len)]);
    }
}

/// Fades `next` (interleaved, `ch` channels) in from `cut`, the audio that followed the
/// last aired frame before a cut: its first frame continues the waveform that aired and
/// the fade reaches `next` alone after `cut`'s length. Equal-power, as the two sides of a
/// cut are unrelated audio.
fn join(cut: &[f32], next: &mut [f32], ch: usize) {
    let k = (cut.len() / ch).min(next.len() / ch);
    for f in 0..k {
        let w = f as f32 / k as f32 * std::f32::consts::FRAC_PI_2;
        let (from, to) = (w.cos(), w.sin());
        for c in 0..ch {
            let i = f * ch + c;
            next[i] = cut[i] * from + next[i] * to;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 440 Hz stereo sine, `frames` long from frame `from`.
    fn sine(from: usize, frames: usize) -> Vec<f32> {
        (from..from + frames)
            .flat_map(|f| {
                let x = (f as f32 * 440.0 * std::f32::consts::TAU / 48_000.0).sin();
                [x, x]
            })
            .collect()
    }

    /// The largest step between two frames in a row of channel 0.
    fn largest_step(pcm: &[f32]) -> f32 {
        pcm.iter()
            .step_by(2)
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn a_cut_in_a_live_input_is_faded_over_not_clicked() {
        let aired = sine(0, 1000);
        let natural = largest_step(&aired);
        // 40 frames cut out: the waveform jumps by most of its height.
        let (mut cut, dropped) = (Vec::new(), sine(1000, 40));
        keep_cut(&mut cut, &dropped, 240 * 2);
        keep_cut(&mut cut, &sine(5000, 10), 240 * 2); // a second cut keeps the first
        assert_eq!(cut, dropped);
        let after = sine(1040, 240);
        let raw: Vec<f32> = aired.iter().chain(&after).copied().collect();
        assert!(
            largest_step(&raw) > 10.0 * natural,
            "the test's cut is a click"
        );

        let mut next = after.clone();
        join(&cut, &mut next, 2);
        let heard: Vec<f32> = aired.iter().chain(&next).copied().collect();
        assert!(
            largest_step(&heard) < 2.0 * natural,
            "{} against {natural}",
            largest_step(&heard)
        );
        // After the fade the input airs as it came.
        assert_eq!(next[80..], after[80..]);
    }
}
