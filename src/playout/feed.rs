//! The feeder thread of one run: reads its items in order through [`Reader`], applies
//! each item's gain, and keeps the run's sample ring about a second ahead of the audio
//! thread. Items follow each other in the same ring, so they play without a gap; markers
//! tell the deck where each item starts and ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::deck::{Marker, MarkerKind, Stream};
use super::item::PlayItem;
use crate::media::Source;

/// How far ahead of the audio thread the decoder runs.
pub const AHEAD: Duration = Duration::from_millis(1500);

/// Starts decoding `items` for run `run`; returns the audio thread's end of it.
pub fn spawn(
    run: u64,
    at_ns: i128,
    replace: bool,
    items: Vec<PlayItem>,
    channels: u16,
    rate: u32,
    ahead_ns: Arc<std::sync::atomic::AtomicU64>,
) -> Box<Stream> {
    let cap = (AHEAD.as_secs_f64() * rate as f64) as usize * channels as usize;
    let (samples_tx, samples_rx) = rtrb::RingBuffer::new(cap.max(4096));
    // Two markers an item, and room for a relay's switches and summary.
    let relays = items
        .iter()
        .filter(|i| matches!(i.source, Source::Stream(_)))
        .count();
    let (markers_tx, markers_rx) = rtrb::RingBuffer::new(items.len() * 2 + relays * 64 + 4);
    let decoded = Arc::new(AtomicBool::new(false));
    let cancel = Arc::new(AtomicBool::new(false));
    let (d2, c2) = (decoded.clone(), cancel.clone());
    // Relays connect now, so their streams are buffered by their second.
    let streams: Vec<Option<super::relay::Streams>> = items
        .iter()
        .map(|i| super::relay::Streams::open(i, channels, rate))
        .collect();
    let stream = Box::new(Stream::new(
        run, at_ns, replace, samples_rx, markers_rx, decoded, cancel,
    ));
    let slip = stream.slip_ns.clone();
    std::thread::Builder::new()
        .name(format!("decode-{run}"))
        .spawn(move || {
            feed(
                items,
                streams,
                samples_tx,
                markers_tx,
                (channels, rate, at_ns),
                (d2, c2),
                (ahead_ns, slip),
            )
        })
        .expect("spawn decoder thread");
    stream
}

fn feed(
    items: Vec<PlayItem>,
    mut streams: Vec<Option<super::relay::Streams>>,
    mut tx: rtrb::Producer<f32>,
    mut markers: rtrb::Producer<Marker>,
    (channels, rate, at_ns): (u16, u32, i128),
    (decoded, cancel): (Arc<AtomicBool>, Arc<AtomicBool>),
    (ahead_ns, slip_ns): (
        Arc<std::sync::atomic::AtomicU64>,
        Arc<std::sync::atomic::AtomicI64>,
    ),
) {
    let mut frames: u64 = 0;
    let mut buf: Vec<f32> = Vec::with_capacity(4096);
    'items: for (i, item) in items.iter().enumerate() {
        if let Some(s) = streams.get_mut(i).and_then(Option::take) {
            let ring = super::relay::Ring {
                tx: &mut tx,
                markers: &mut markers,
                frames: &mut frames,
                at_ns,
                cancel: &cancel,
                ahead_ns: &ahead_ns,
                slip_ns: &slip_ns,
            };
            if !super::relay::air(item, i as u32, s, ring, channels, rate) {
                break 'items;
            }
            continue;
        }
        let i = i as u32;
        let stamp = stamp(&item.source);
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            item.source.open(item.offset, channels, rate)
        }))
        .unwrap_or_else(|_| Err(format!("the decoder cannot read {}", item.source)));
        let mut src = match opened {
            Ok(d) => d,
            Err(e) => {
                let _ = markers.push(Marker {
                    frame: frames,
                    item: i,
                    kind: MarkerKind::Failed(e),
                });
                continue;
            }
        };
        let _ = markers.push(Marker {
            frame: frames,
            item: i,
            kind: MarkerKind::Start,
        });
        let start = frames;
        let per_frame = channels as usize;
        let mut crashed = false;
        loop {
            buf.clear();
            // A decoder that panics on a damaged file ends this item, not the run.
            let more = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                src.next_block(item.gain, channels, &mut buf)
            }));
            match more {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) => {
                    crashed = true;
                    buf.clear();
                    break;
                }
            }
            let mut rest = &buf[..];
            while !rest.is_empty() {
                if cancel.load(Ordering::Relaxed) {
                    break 'items;
                }
                let n = tx.slots().min(rest.len()) / per_frame * per_frame;
                if n == 0 {
                    // Ring full: sleep until a third of it (0.5 s) has played, then refill
                    // in one go. Two wakes a second, and never less than 1 s ahead.
                    let room = (tx.buffer().capacity() / 3).saturating_sub(tx.slots());
                    let secs = (room / per_frame) as f64 / rate as f64;
                    std::thread::sleep(Duration::from_secs_f64(secs.max(0.01)));
                    continue;
                }
                // Fits: n is at most the free slots.
                let _ = tx.push_entire_slice(&rest[..n]);
                frames += (n / per_frame) as u64;
                rest = &rest[n..];
            }
        }
        let got = Duration::from_secs_f64((frames - start) as f64 / rate as f64) + item.offset;
        let reason = item.expect.and_then(|want| {
            (got.as_secs_f64() < want.as_secs_f64() * 0.97 - 0.5).then(|| {
                format!(
                    "decoding stopped at {:.1}s of {:.1}s: the file is damaged or was replaced while airing",
                    got.as_secs_f64(),
                    want.as_secs_f64()
                )
            })
        });
        let reason = reason.or_else(|| {
            crashed.then(|| format!("the decoder failed partway through {}", item.source))
        });
        let kind = match (reason, changed(&stamp, &item.source)) {
            (Some(r), _) => MarkerKind::End(Some(r)),
            (None, true) => MarkerKind::Changed(
                "the file was overwritten while it aired: part of what aired is the new version"
                    .into(),
            ),
            (None, false) => MarkerKind::End(None),
        };
        let _ = markers.push(Marker {
            frame: frames,
            item: i,
            kind,
        });
    }
    let _ = markers.push(Marker {
        frame: frames,
        item: u32::MAX,
        kind: MarkerKind::Eof,
    });
    decoded.store(true, Ordering::Relaxed);
}

/// What identifies a file's content cheaply: its inode, size and mtime.
type Stamp = Option<(u64, u64, std::time::SystemTime)>;

fn stamp(source: &crate::media::Source) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(source.path()?).ok()?;
    Some((m.ino(), m.len(), m.modified().ok()?))
}

/// Whether the file was written over in place while it played (the same inode, another
/// size or mtime). A file replaced by a new one (a new inode) is not: the open file plays
/// out whole, unchanged.
fn changed(before: &Stamp, source: &crate::media::Source) -> bool {
    match (before, stamp(source)) {
        (Some((ino, len, mtime)), Some((ino2, len2, mtime2))) => {
            *ino == ino2 && (*len != len2 || *mtime != mtime2)
        }
        _ => false,
    }
}
