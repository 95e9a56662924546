//! A player on a simulated clock: runs start at their instant and each item lasts its known
//! length, with the same events (and the same cut and replace rules) as the audio thread.
//! With a wav file it also renders what would have aired, back to back.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::deck::Outcome;
use super::{PlayPlan, Player, PlayerEvent};

struct OnAir {
    plan: PlayPlan,
    item: usize,
    item_start: DateTime<Utc>,
    len: Duration,
}

pub struct SimPlayer {
    now: DateTime<Utc>,
    cued: Vec<PlayPlan>,
    on_air: Option<OnAir>,
    events: Vec<PlayerEvent>,
    wav: Option<hound::WavWriter<std::io::BufWriter<std::fs::File>>>,
}

impl SimPlayer {
    pub fn new(now: DateTime<Utc>, wav: Option<&std::path::Path>) -> Result<SimPlayer, String> {
        let wav = match wav {
            None => None,
            Some(p) => Some(
                hound::WavWriter::create(
                    p,
                    hound::WavSpec {
                        channels: 2,
                        sample_rate: 48_000,
                        bits_per_sample: 16,
                        sample_format: hound::SampleFormat::Int,
                    },
                )
                .map_err(|e| format!("cannot write {}: {e}", p.display()))?,
            ),
        };
        Ok(SimPlayer {
            now,
            cued: vec![],
            on_air: None,
            events: vec![],
            wav,
        })
    }

    /// Finishes the wav file, if any.
    pub fn finish(&mut self) -> Result<(), String> {
        if let Some(w) = self.wav.take() {
            w.finalize().map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn next(&self) -> Option<(DateTime<Utc>, bool)> {
        let end = self
            .on_air
            .as_ref()
            .map(|o| o.item_start + chrono::Duration::from_std(o.len).unwrap_or_default());
        let cue = self
            .cued
            .first()
            .filter(|c| self.on_air.is_none() || c.replace)
            .map(|c| c.at.max(self.now));
        match (end, cue) {
            (Some(e), Some(c)) if c < e => Some((c, true)),
            (Some(e), _) => Some((e, false)),
            (None, Some(c)) => Some((c, true)),
            (None, None) => None,
        }
    }

    fn start_item(&mut self, at: DateTime<Utc>) {
        loop {
            let Some(o) = self.on_air.as_mut() else {
                return;
            };
            if o.item >= o.plan.items.len() {
                let run = o.plan.run;
                self.on_air = None;
                self.events.push(PlayerEvent::RunDone { run, at });
                return;
            }
            let it = o.plan.items[o.item].clone();
            let run = o.plan.run;
            let i = o.item as u32;
            if it.source.path().is_some_and(|p| !p.is_file()) {
                self.events.push(PlayerEvent::Ended {
                    run,
                    item: i,
                    at,
                    played: Duration::ZERO,
                    outcome: Outcome::Failed(format!("cannot open {}: no such file", it.source)),
                });
                o.item += 1;
                continue;
            }
            o.item_start = at;
            o.len = it.expect.unwrap_or_default().saturating_sub(it.offset);
            self.events.push(PlayerEvent::Started { run, item: i, at });
            if let Some(w) = self.wav.as_mut() {
                render(w, &it);
            }
            return;
        }
    }
}

fn render(w: &mut hound::WavWriter<std::io::BufWriter<std::fs::File>>, it: &super::PlayItem) {
    let Ok(mut r) = it.source.open(it.offset, 2, 48_000) else {
        // A relay is not reached in a simulation: its window is written as silence.
        if matches!(it.source, crate::media::Source::Stream(_)) {
            let len = it.expect.unwrap_or_default().saturating_sub(it.offset);
            for _ in 0..(len.as_secs_f64() * 48_000.0) as u64 * 2 {
                let _ = w.write_sample(0i16);
            }
        }
        return;
    };
    let mut buf = Vec::with_capacity(8192);
    while r.next_block(it.gain, 2, &mut buf) {
        for s in &buf {
            let _ = w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16);
        }
        buf.clear();
    }
}

impl Player for SimPlayer {
    fn cue(&mut self, plan: PlayPlan) {
        let i = self
            .cued
            .iter()
            .position(|c| c.at > plan.at)
            .unwrap_or(self.cued.len());
        self.cued.insert(i, plan);
    }

    fn cut(&mut self, run: u64) {
        if self.on_air.as_ref().is_some_and(|o| o.plan.run == run) {
            let o = self.on_air.take().expect("checked");
            let at = self.now;
            self.events.push(PlayerEvent::Ended {
                run,
                item: o.item as u32,
                at,
                played: (at - o.item_start).to_std().unwrap_or_default(),
                outcome: Outcome::Cut,
            });
            self.events.push(PlayerEvent::RunDone { run, at });
        } else if let Some(i) = self.cued.iter().position(|c| c.run == run) {
            self.cued.remove(i);
            self.events.push(PlayerEvent::RunDone { run, at: self.now });
        }
    }

    fn poll(&mut self) -> Vec<PlayerEvent> {
        std::mem::take(&mut self.events)
    }

    fn next_event_at(&self) -> Option<DateTime<Utc>> {
        self.next().map(|(t, _)| t)
    }

    fn advance(&mut self, to: DateTime<Utc>) {
        while let Some((t, is_cue)) = self.next() {
            if t > to {
                break;
            }
            self.now = t;
            if is_cue {
                let plan = self.cued.remove(0);
                if let Some(o) = self.on_air.take() {
                    self.events.push(PlayerEvent::Ended {
                        run: o.plan.run,
                        item: o.item as u32,
                        at: t,
                        played: (t - o.item_start).to_std().unwrap_or_default(),
                        outcome: Outcome::Cut,
                    });
                    self.events.push(PlayerEvent::RunDone {
                        run: o.plan.run,
                        at: t,
                    });
                }
                self.on_air = Some(OnAir {
                    plan,
                    item: 0,
                    item_start: t,
                    len: Duration::ZERO,
                });
                self.start_item(t);
            } else if let Some(o) = self.on_air.as_mut() {
                let played = o.len;
                self.events.push(PlayerEvent::Ended {
                    run: o.plan.run,
                    item: o.item as u32,
                    at: t,
                    played,
                    outcome: Outcome::Completed,
                });
                o.item += 1;
                self.start_item(t);
            }
        }
        self.now = self.now.max(to);
    }

    fn busy(&self) -> bool {
        self.on_air.is_some() || !self.cued.is_empty()
    }

    fn describe(&self) -> String {
        "simulated output".into()
    }
}
