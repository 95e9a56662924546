//! A wait-free tap of what the master output renders, for the secondary sinks: the audio
//! thread offers each buffer it filled, and a sink's own thread reads it at its own pace.
//! A sink that falls behind loses blocks (counted), never time on the audio thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One buffer as the master rendered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub frames: u32,
    /// Wall-clock ns at which its first frame plays on the master.
    pub t_first_ns: i128,
    /// Whether anything aired in it (false: silence between programmes).
    pub active: bool,
}

/// The audio thread's end.
pub struct Tap {
    samples: rtrb::Producer<f32>,
    blocks: rtrb::Producer<Block>,
    dropped: Arc<AtomicU64>,
}

/// A sink's end.
pub struct TapReader {
    samples: rtrb::Consumer<f32>,
    blocks: rtrb::Consumer<Block>,
    pub channels: u16,
    pub rate: u32,
    /// Frames the sink lost by falling more than the tap's length behind.
    pub dropped: Arc<AtomicU64>,
}

/// A tap holding `secs` seconds of audio of `channels` at `rate`.
pub fn tap(channels: u16, rate: u32, secs: u32) -> (Tap, TapReader) {
    let n = (rate * secs) as usize * channels as usize;
    let (sp, sc) = rtrb::RingBuffer::new(n);
    let (bp, bc) = rtrb::RingBuffer::new(1024);
    let dropped = Arc::new(AtomicU64::new(0));
    (
        Tap {
            samples: sp,
            blocks: bp,
            dropped: dropped.clone(),
        },
        TapReader {
            samples: sc,
            blocks: bc,
            channels,
            rate,
            dropped,
        },
    )
}

impl Tap {
    /// Offers a filled buffer (interleaved); never blocks, never allocates.
    pub fn offer(&mut self, buf: &[f32], frames: usize, t_first_ns: i128, active: bool) {
        if self.samples.slots() < buf.len() || self.blocks.slots() == 0 {
            self.dropped.fetch_add(frames as u64, Ordering::Relaxed);
            return;
        }
        // Fits: checked above.
        let _ = self.samples.push_entire_slice(buf);
        let _ = self.blocks.push(Block {
            frames: frames as u32,
            t_first_ns,
            active,
        });
    }
}

impl TapReader {
    /// The next block and its samples (appended to `out`), if one is ready.
    pub fn next(&mut self, out: &mut Vec<f32>) -> Option<Block> {
        let b = self.blocks.pop().ok()?;
        let n = b.frames as usize * self.channels as usize;
        if let Ok(chunk) = self.samples.read_chunk(n.min(self.samples.slots())) {
            let (x, y) = chunk.as_slices();
            out.extend_from_slice(x);
            out.extend_from_slice(y);
            chunk.commit_all();
        }
        Some(b)
    }

    /// Whether the master closed (nothing more will come through this tap).
    pub fn closed(&self) -> bool {
        self.blocks.is_abandoned() && self.blocks.is_empty()
    }
}
