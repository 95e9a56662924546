//! The audio-thread side of playout: it fills each output buffer from the run on air, starts
//! a cued run on the exact frame its wall-clock instant falls on, and reports, from the
//! audio path itself, when each item's first and last frames will play.
//!
//! Real-time rules: no locks, no allocation, no freeing, no I/O. Runs arrive boxed through a
//! wait-free ring and leave the same way (to be freed elsewhere); samples come from a ring
//! a decoder thread keeps about a second ahead.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

/// Where an item's frames begin and end inside a run, written by the decoder thread.
#[derive(Debug)]
pub struct Marker {
    /// Frame index within the run.
    pub frame: u64,
    pub item: u32,
    pub kind: MarkerKind,
}

#[derive(Debug)]
pub enum MarkerKind {
    Start,
    /// The item's last frame; with a reason when decoding stopped early.
    End(Option<String>),
    /// The item's last frame, all of it played, but its file was overwritten in place while
    /// it played: part of what aired is the new content.
    Changed(String),
    /// The item could not be opened or decoded at all: nothing of it plays.
    Failed(String),
    /// No more items in this run.
    Eof,
    /// A relay's news (a switch, its summary), reported when its frame airs.
    Source(Box<super::note::SourceNote>),
}

/// A run as the audio thread holds it.
pub struct Stream {
    pub run: u64,
    /// Wall-clock instant (ns since the Unix epoch) of its first frame.
    pub at_ns: i128,
    /// Cut whatever is on air at `at_ns`.
    pub replace: bool,
    pub samples: rtrb::Consumer<f32>,
    pub markers: rtrb::Consumer<Marker>,
    /// Set by the decoder when everything is in the ring (an empty ring is then not an
    /// underrun).
    pub decoded: Arc<AtomicBool>,
    /// Set by whoever drops the run, so its decoder stops.
    pub cancel: Arc<AtomicBool>,
    /// How much later than `at_ns` + its frames the run's next frame airs (ns): the
    /// silence the deck played when the ring ran dry, and the card's clock against the
    /// system's. A live feeder counts its lead with it, else each dry spell would add to
    /// its delay for good.
    pub slip_ns: Arc<AtomicI64>,
    frames: u64,
    item: Option<(u32, u64)>,
}

impl Stream {
    pub fn new(
        run: u64,
        at_ns: i128,
        replace: bool,
        samples: rtrb::Consumer<f32>,
        markers: rtrb::Consumer<Marker>,
        decoded: Arc<AtomicBool>,
        cancel: Arc<AtomicBool>,
    ) -> Stream {
        Stream {
            run,
            at_ns,
            replace,
            samples,
            markers,
            decoded,
            cancel,
            slip_ns: Arc::new(AtomicI64::new(0)),
            frames: 0,
            item: None,
        }
    }
}

/// Commands into the audio thread.
pub enum Cmd {
    Cue(Box<Stream>),
    /// Stop a run now (on air: a 10 ms fade; cued: dropped).
    Cut(u64),
}

/// What the audio thread saw. Times are wall-clock ns of when the frame plays.
pub enum Ev {
    Started {
        run: u64,
        item: u32,
        at_ns: i128,
    },
    Ended {
        run: u64,
        item: u32,
        at_ns: i128,
        frames: u64,
        outcome: Outcome,
    },
    RunDone {
        run: u64,
        at_ns: i128,
    },
    Underrun {
        run: u64,
        at_ns: i128,
    },
    Source {
        run: u64,
        item: u32,
        at_ns: i128,
        note: Box<super::note::SourceNote>,
    },
    /// A finished run, handed back to be freed off the audio thread.
    Gone(Box<Stream>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Completed,
    /// Played to its end, but the file changed under it (see [`MarkerKind::Changed`]).
    Changed(String),
    Cut,
    /// Decoding stopped early or never started.
    Failed(String),
}

const FADE_MS: u32 = 10;

/// Wakes the control loop when the audio thread has events for it: an eventfd, written
/// without blocking (a few times per programme), so the daemon sleeps while a programme
/// airs instead of polling for its start and end.
#[derive(Clone, Debug)]
pub struct Waker(Arc<std::os::fd::OwnedFd>);

impl Waker {
    pub fn new() -> std::io::Result<Waker> {
        use std::os::fd::FromRawFd;
        // SAFETY: eventfd has no memory arguments; a valid fd is owned from here on.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: fd was just created and is owned by nothing else.
        Ok(Waker(Arc::new(unsafe {
            std::os::fd::OwnedFd::from_raw_fd(fd)
        })))
    }

    /// Signals; never blocks (a full counter is already signalled).
    pub fn wake(&self) {
        use std::os::fd::AsRawFd;
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our own eventfd.
        unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Consumes the signal, so the next wait sleeps again.
    pub fn clear(&self) {
        use std::os::fd::AsRawFd;
        let mut n: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our own non-blocking eventfd.
        unsafe { libc::read(self.0.as_raw_fd(), (&mut n as *mut u64).cast(), 8) };
    }
}

impl std::os::fd::AsRawFd for Waker {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

pub struct Deck {
    channels: usize,
    rate: u32,
    cmds: rtrb::Consumer<Cmd>,
    events: rtrb::Producer<Ev>,
    /// Cued runs, earliest first (a few at most; capacity reserved up front). Boxed so a
    /// run moves in and out of the audio thread as a pointer, never copied or freed here.
    #[allow(clippy::vec_box)]
    cued: Vec<Box<Stream>>,
    current: Option<Box<Stream>>,
    /// A cut run fading out, how many fade frames are left, and the frame of this buffer
    /// the fade starts at.
    fading: Option<(Box<Stream>, u32, usize)>,
    underrun_reported: bool,
    waker: Option<Waker>,
    /// Callbacks seen: the first few after opening report a still-filling delay.
    pub callbacks: u64,
    /// The secondary sinks' taps: every filled buffer is offered to each.
    taps: Vec<super::tap::Tap>,
}

/// The control side's ends of a deck's rings.
pub struct Remote {
    pub cmds: rtrb::Producer<Cmd>,
    pub events: rtrb::Consumer<Ev>,
}

impl Deck {
    pub fn new(channels: u16, rate: u32, waker: Option<Waker>) -> (Deck, Remote) {
        let (cp, cc) = rtrb::RingBuffer::new(64);
        let (ep, ec) = rtrb::RingBuffer::new(4096);
        (
            Deck {
                channels: channels as usize,
                rate,
                cmds: cc,
                events: ep,
                cued: Vec::with_capacity(32),
                current: None,
                fading: None,
                underrun_reported: false,
                waker,
                callbacks: 0,
                taps: Vec::new(),
            },
            Remote {
                cmds: cp,
                events: ec,
            },
        )
    }

    /// Feeds every buffer to these taps as well (set before the audio thread starts).
    pub fn set_taps(&mut self, taps: Vec<super::tap::Tap>) {
        self.taps = taps;
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    fn emit(&mut self, e: Ev) {
        // A full event ring means the control side stalled; dropping is better than blocking
        // the audio thread, and the control side notices the gap.
        let _ = self.events.push(e);
        if let Some(w) = &self.waker {
            w.wake();
        }
    }

    fn at(&self, t_first: i128, frame: usize) -> i128 {
        t_first + frame as i128 * 1_000_000_000 / self.rate as i128
    }

    /// Fills `out` (interleaved, device channels) whose first frame plays at `t_first` ns.
    /// `placing` is false while the device's timing is not yet trustworthy (cues wait).
    /// Returns whether anything played in this buffer.
    pub fn fill(&mut self, out: &mut [f32], t_first: i128, placing: bool) -> bool {
        self.callbacks += 1;
        out.fill(0.0);
        self.take_commands(t_first);
        let ch = self.channels;
        let n = out.len() / ch;
        let mut pos = 0usize;
        let mut pos_played = false;
        self.underrun_reported = false;
        loop {
            // The frame at which the next cue starts, if it falls in this buffer.
            let cue_frame = self.cued.first().filter(|_| placing).map(|s| {
                let k = (s.at_ns - t_first) * self.rate as i128;
                let k = (k + 500_000_000).div_euclid(1_000_000_000);
                k.clamp(0, n as i128) as usize
            });
            let limit = match (cue_frame, &self.current) {
                (Some(k), None) if k < n => k.max(pos),
                (Some(k), Some(_)) if k < n && self.cued[0].replace => k.max(pos),
                _ => n,
            };
            if self.current.is_some() {
                pos_played = true;
                let (reached, eof) = self.render(out, pos, limit, t_first);
                pos = reached;
                if eof {
                    if let Some(s) = self.current.take() {
                        self.emit(Ev::Gone(s));
                    }
                    continue;
                }
            } else {
                pos = limit;
            }
            if pos >= n {
                break;
            }
            // A cue is due at `pos`.
            if cue_frame.is_some_and(|k| k <= pos) {
                let s = self.cued.remove(0);
                if let Some(old) = self.current.take() {
                    self.cut_current(old, self.at(t_first, pos), pos);
                }
                self.current = Some(s);
            } else if self.current.is_none() {
                pos = n;
            }
        }
        let active = self.current.is_some() || self.fading.is_some() || pos_played;
        self.fade(out);
        for t in &mut self.taps {
            t.offer(out, n, t_first, active);
        }
        active
    }

    fn take_commands(&mut self, t_first: i128) {
        while let Ok(cmd) = self.cmds.pop() {
            match cmd {
                Cmd::Cue(s) => {
                    let i = self
                        .cued
                        .iter()
                        .position(|c| c.at_ns > s.at_ns)
                        .unwrap_or(self.cued.len());
                    if self.cued.len() < self.cued.capacity() {
                        self.cued.insert(i, s);
                    } else {
                        self.emit(Ev::RunDone {
                            run: s.run,
                            at_ns: t_first,
                        });
                        self.emit(Ev::Gone(s));
                    }
                }
                Cmd::Cut(run) => {
                    if self.current.as_ref().is_some_and(|s| s.run == run) {
                        let s = self.current.take().expect("checked");
                        self.cut_current(s, t_first, 0);
                    } else if let Some(i) = self.cued.iter().position(|s| s.run == run) {
                        let s = self.cued.remove(i);
                        s.cancel.store(true, Ordering::Relaxed);
                        self.emit(Ev::RunDone {
                            run,
                            at_ns: t_first,
                        });
                        self.emit(Ev::Gone(s));
                    }
                }
            }
        }
    }

    /// Ends the run on air at `at_ns`: its item is reported cut, and it fades out.
    fn cut_current(&mut self, s: Box<Stream>, at_ns: i128, pos: usize) {
        s.cancel.store(true, Ordering::Relaxed);
        if let Some((item, start)) = s.item {
            let frames = s.frames - start;
            self.emit(Ev::Ended {
                run: s.run,
                item,
                at_ns,
                frames,
                outcome: Outcome::Cut,
            });
        }
        self.emit(Ev::RunDone { run: s.run, at_ns });
        if let Some((old, _, _)) = self.fading.take() {
            self.emit(Ev::Gone(old));
        }
        self.fading = Some((s, self.rate * FADE_MS / 1000, pos));
    }

    /// Copies the run on air into `out[from..to)`; stops early at the run's end.
    fn render(&mut self, out: &mut [f32], from: usize, to: usize, t_first: i128) -> (usize, bool) {
        let ch = self.channels;
        let mut pos = from;
        let mut events: [Option<Ev>; 8] = Default::default();
        let mut ne = 0;
        let (reached, eof) = {
            let s = self.current.as_mut().expect("render needs a run");
            let at = |p: usize| t_first + p as i128 * 1_000_000_000 / self.rate as i128;
            'outer: loop {
                // Markers due at this frame.
                while let Ok(m) = s.markers.peek() {
                    if m.frame > s.frames {
                        break;
                    }
                    let m = s.markers.pop().expect("peeked");
                    let ev = match m.kind {
                        MarkerKind::Start => {
                            s.item = Some((m.item, s.frames));
                            Ev::Started {
                                run: s.run,
                                item: m.item,
                                at_ns: at(pos),
                            }
                        }
                        MarkerKind::End(_) | MarkerKind::Changed(_) => {
                            let start = s.item.take().map(|(_, f)| f).unwrap_or(s.frames);
                            Ev::Ended {
                                run: s.run,
                                item: m.item,
                                at_ns: at(pos),
                                frames: s.frames - start,
                                outcome: match m.kind {
                                    MarkerKind::End(Some(r)) => Outcome::Failed(r),
                                    MarkerKind::Changed(r) => Outcome::Changed(r),
                                    _ => Outcome::Completed,
                                },
                            }
                        }
                        MarkerKind::Source(note) => Ev::Source {
                            run: s.run,
                            item: m.item,
                            at_ns: at(pos),
                            note,
                        },
                        MarkerKind::Failed(r) => Ev::Ended {
                            run: s.run,
                            item: m.item,
                            at_ns: at(pos),
                            frames: 0,
                            outcome: Outcome::Failed(r),
                        },
                        MarkerKind::Eof => {
                            events[ne] = Some(Ev::RunDone {
                                run: s.run,
                                at_ns: at(pos),
                            });
                            ne += 1;
                            break 'outer (pos, true);
                        }
                    };
                    events[ne] = Some(ev);
                    ne += 1;
                    if ne == events.len() {
                        break 'outer (pos, false);
                    }
                }
                if pos >= to {
                    break (pos, false);
                }
                let nominal = s.at_ns + s.frames as i128 * 1_000_000_000 / self.rate as i128;
                s.slip_ns
                    .store((at(pos) - nominal) as i64, Ordering::Relaxed);
                let next_marker = s.markers.peek().map(|m| m.frame).unwrap_or(u64::MAX);
                let want = ((to - pos) as u64).min(next_marker.saturating_sub(s.frames)) as usize;
                let avail = s.samples.slots() / ch;
                let take = want.min(avail);
                if take == 0 {
                    if want > 0 && !self.underrun_reported && s.item.is_some() {
                        self.underrun_reported = true;
                        events[ne] = Some(Ev::Underrun {
                            run: s.run,
                            at_ns: at(pos),
                        });
                        ne += 1;
                    }
                    // Nothing to play yet: silence for the rest of this buffer.
                    break (to, false);
                }
                if let Ok(chunk) = s.samples.read_chunk(take * ch) {
                    let (a, b) = chunk.as_slices();
                    let dst = &mut out[pos * ch..(pos + take) * ch];
                    dst[..a.len()].copy_from_slice(a);
                    dst[a.len()..].copy_from_slice(b);
                    chunk.commit_all();
                }
                s.frames += take as u64;
                pos += take;
            }
        };
        for e in events.iter_mut().take(ne) {
            if let Some(e) = e.take() {
                self.emit(e);
            }
        }
        (reached, eof)
    }

    /// Mixes the fading-out tail of a cut run over the start of the buffer.
    fn fade(&mut self, out: &mut [f32]) {
        let ch = self.channels;
        let Some((s, left, from)) = self.fading.as_mut() else {
            return;
        };
        let total = (self.rate * FADE_MS / 1000).max(1) as f32;
        let room = (out.len() / ch).saturating_sub(*from);
        let n = room.min(*left as usize).min(s.samples.slots() / ch);
        let base = *from * ch;
        if let Ok(chunk) = s.samples.read_chunk(n * ch) {
            let (a, b) = chunk.as_slices();
            for (i, v) in a.iter().chain(b.iter()).enumerate() {
                let f = i / ch;
                let g = (*left as f32 - f as f32) / total;
                out[base + i] += v * g.max(0.0);
            }
            chunk.commit_all();
        }
        *left = left.saturating_sub(n as u32);
        *from = 0;
        if *left == 0 || n == 0 {
            let (s, _, _) = self.fading.take().expect("fading");
            self.emit(Ev::Gone(s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 1000; // 1 frame per ms keeps the arithmetic readable

    /// A run of `items` items of `len` frames each (mono), all decoded up front.
    fn run(deck: &mut Remote, id: u64, at_ns: i128, replace: bool, items: &[(u32, f32)]) {
        let total: usize = items.iter().map(|(n, _)| *n as usize).sum();
        let (mut sp, sc) = rtrb::RingBuffer::new(total.max(1));
        let (mut mp, mc) = rtrb::RingBuffer::new(64);
        let mut frame = 0u64;
        for (i, (n, v)) in items.iter().enumerate() {
            mp.push(Marker {
                frame,
                item: i as u32,
                kind: MarkerKind::Start,
            })
            .unwrap();
            for _ in 0..*n {
                sp.push(*v).unwrap();
            }
            frame += *n as u64;
            mp.push(Marker {
                frame,
                item: i as u32,
                kind: MarkerKind::End(None),
            })
            .unwrap();
        }
        mp.push(Marker {
            frame,
            item: 0,
            kind: MarkerKind::Eof,
        })
        .unwrap();
        let s = Stream::new(
            id,
            at_ns,
            replace,
            sc,
            mc,
            Arc::new(AtomicBool::new(true)),
            Arc::new(AtomicBool::new(false)),
        );
        assert!(deck.cmds.push(Cmd::Cue(Box::new(s))).is_ok());
    }

    fn ms(x: i128) -> i128 {
        x * 1_000_000
    }

    fn events(r: &mut Remote) -> Vec<String> {
        let mut v = vec![];
        while let Ok(e) = r.events.pop() {
            match e {
                Ev::Started { run, item, at_ns } => {
                    v.push(format!("start {run}.{item} @{}", at_ns / 1_000_000))
                }
                Ev::Ended {
                    run,
                    item,
                    at_ns,
                    frames,
                    outcome,
                } => v.push(format!(
                    "end {run}.{item} @{} {frames}f {outcome:?}",
                    at_ns / 1_000_000
                )),
                Ev::RunDone { run, at_ns } => v.push(format!("done {run} @{}", at_ns / 1_000_000)),
                Ev::Underrun { run, .. } => v.push(format!("underrun {run}")),
                Ev::Source { run, item, .. } => v.push(format!("source {run}.{item}")),
                Ev::Gone(_) => {}
            }
        }
        v
    }

    #[test]
    fn starts_on_the_frame_of_its_instant_and_plays_items_gapless() {
        let (mut deck, mut r) = Deck::new(1, RATE, None);
        run(&mut r, 1, ms(1_037), false, &[(30, 0.5), (20, 0.25)]);
        let mut buf = vec![0.0f32; 100];
        deck.fill(&mut buf, ms(1_000), true);
        // frames 0..37 silent, 37..67 item 0, 67..87 item 1 (no gap), then silence
        assert!(buf[..37].iter().all(|v| *v == 0.0));
        assert!(buf[37..67].iter().all(|v| *v == 0.5));
        assert!(buf[67..87].iter().all(|v| *v == 0.25));
        assert!(buf[87..].iter().all(|v| *v == 0.0));
        assert_eq!(
            events(&mut r),
            vec![
                "start 1.0 @1037",
                "end 1.0 @1067 30f Completed",
                "start 1.1 @1067",
                "end 1.1 @1087 20f Completed",
                "done 1 @1087"
            ]
        );
    }

    /// The control loop sleeps until the deck signals: a start or an end must signal it,
    /// and buffers without events must not.
    #[test]
    fn events_signal_the_waker_and_quiet_buffers_do_not() {
        use std::os::fd::AsRawFd;
        let waker = Waker::new().expect("eventfd");
        let signalled = |w: &Waker| {
            let mut p = libc::pollfd {
                fd: w.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one live pollfd, zero timeout.
            unsafe { libc::poll(&mut p, 1, 0) == 1 }
        };
        let (mut deck, mut r) = Deck::new(1, RATE, Some(waker.clone()));
        let mut buf = vec![0.0f32; 100];
        deck.fill(&mut buf, ms(0), true);
        assert!(!signalled(&waker), "an idle buffer signals nothing");
        run(&mut r, 1, ms(1_050), false, &[(10, 0.5)]);
        deck.fill(&mut buf, ms(900), true);
        assert!(!signalled(&waker), "a cued run not yet due signals nothing");
        deck.fill(&mut buf, ms(1_000), true);
        assert!(signalled(&waker), "start and end signal the loop");
        waker.clear();
        assert!(!signalled(&waker), "cleared until the next event");
        assert_eq!(events(&mut r).len(), 3);
    }

    #[test]
    fn a_late_cue_starts_at_once_and_an_early_one_waits() {
        let (mut deck, mut r) = Deck::new(1, RATE, None);
        let mut buf = vec![0.0f32; 100];
        assert!(!deck.fill(&mut buf, ms(0), true), "idle: nothing played");
        run(&mut r, 1, ms(500), false, &[(10, 1.0)]);
        run(&mut r, 2, ms(1_150), false, &[(10, 0.5)]);
        assert!(deck.fill(&mut buf, ms(1_000), true), "something played");
        assert!(buf[..10].iter().all(|v| *v == 1.0), "late: from frame 0");
        assert_eq!(events(&mut r)[0], "start 1.0 @1000");
        deck.fill(&mut buf, ms(1_100), true);
        assert!(buf[..50].iter().all(|v| *v == 0.0) && buf[50..60].iter().all(|v| *v == 0.5));
    }

    #[test]
    fn a_replacing_cue_cuts_the_run_on_air_at_its_instant() {
        let (mut deck, mut r) = Deck::new(1, RATE, None);
        run(&mut r, 1, ms(0), false, &[(200, 0.5)]);
        run(&mut r, 2, ms(40), true, &[(10, 1.0)]);
        let mut buf = vec![0.0f32; 100];
        deck.fill(&mut buf, ms(0), true);
        assert!(buf[..40].iter().all(|v| *v == 0.5));
        assert!(
            buf[40..50].iter().all(|v| *v >= 1.0),
            "new run at frame 40 (with the old one fading under it)"
        );
        let ev = events(&mut r);
        assert_eq!(
            ev[..3],
            ["start 1.0 @0", "end 1.0 @40 40f Cut", "done 1 @40"]
        );
        assert_eq!(ev[3], "start 2.0 @40");
    }

    #[test]
    fn waits_out_an_underrun_and_reports_it_and_its_slip() {
        let (mut deck, mut r) = Deck::new(1, RATE, None);
        let (mut sp, sc) = rtrb::RingBuffer::new(100);
        let (mut mp, mc) = rtrb::RingBuffer::new(8);
        mp.push(Marker {
            frame: 0,
            item: 0,
            kind: MarkerKind::Start,
        })
        .unwrap();
        for _ in 0..10 {
            sp.push(0.5).unwrap();
        }
        let s = Stream::new(
            7,
            0,
            false,
            sc,
            mc,
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let slip = s.slip_ns.clone();
        let _ = r.cmds.push(Cmd::Cue(Box::new(s)));
        let mut buf = vec![0.0f32; 50];
        deck.fill(&mut buf, 0, true);
        assert_eq!(slip.load(Ordering::Relaxed), 0, "on time so far");
        assert!(buf[..10].iter().all(|v| *v == 0.5) && buf[10..].iter().all(|v| *v == 0.0));
        assert_eq!(events(&mut r), vec!["start 7.0 @0", "underrun 7"]);
        for _ in 0..5 {
            sp.push(0.25).unwrap();
        }
        mp.push(Marker {
            frame: 15,
            item: 0,
            kind: MarkerKind::End(None),
        })
        .unwrap();
        mp.push(Marker {
            frame: 15,
            item: 0,
            kind: MarkerKind::Eof,
        })
        .unwrap();
        deck.fill(&mut buf, ms(50), true);
        assert!(buf[..5].iter().all(|v| *v == 0.25));
        // Frame 10 was due at 10 ms and aired at 50: what the feeder counts its lead with.
        assert_eq!(slip.load(Ordering::Relaxed) as i128, ms(40));
        assert_eq!(
            events(&mut r),
            vec!["end 7.0 @55 15f Completed", "done 7 @55"]
        );
    }

    #[test]
    fn cut_command_ends_the_run_now() {
        let (mut deck, mut r) = Deck::new(1, RATE, None);
        run(&mut r, 3, 0, false, &[(400, 0.5)]);
        let mut buf = vec![0.0f32; 100];
        deck.fill(&mut buf, 0, true);
        let _ = r.cmds.push(Cmd::Cut(3));
        deck.fill(&mut buf, ms(100), true);
        let ev = events(&mut r);
        assert_eq!(
            ev,
            vec!["start 3.0 @0", "end 3.0 @100 100f Cut", "done 3 @100"]
        );
        assert!(
            buf[..2].iter().all(|v| *v > 0.0) && buf[10..].iter().all(|v| *v == 0.0),
            "a 10 ms fade then silence"
        );
    }
}
