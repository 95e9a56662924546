//! `loaxa simulate`: the real station logic (scheduling, picking, conflicts, logging) run
//! against a simulated clock and player, so a month of the schedule takes seconds. It
//! writes to its own airtime log, never the live one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::airtime::{Status, Store};
use crate::config::Config;
use crate::library::Library;
use crate::playout::sim::SimPlayer;
use crate::playout::Player;
use crate::station::{Action, History, Station};

/// What a simulation did.
#[derive(Debug, Default)]
pub struct Summary {
    pub runs: u64,
    /// Completed airings per category ("" for jingles and fixed files).
    pub completed: BTreeMap<String, u64>,
    pub by_status: BTreeMap<&'static str, u64>,
}

/// Simulates `[from, until)` with the library as it is now, writing to `db`.
pub fn simulate(
    config: Arc<Config>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    db: &Path,
    wav: Option<&Path>,
) -> Result<Summary, String> {
    let store = Store::open(db).map_err(|e| e.to_string())?;
    let lib = Library::snapshot(&config, Utc::now(), false);
    // Items without a date of their own became valid when this machine first saw them;
    // for a simulation, they are there from its start.
    let mut items = lib.candidates();
    for c in &mut items {
        if c.from_arrival {
            c.valid_from = c.valid_from.min(from);
        }
    }
    let gains = items.iter().map(|c| (c.path.clone(), c.gain_db)).collect();
    let mut player = SimPlayer::new(from, wav)?;
    let (mut station, acts) = Station::new(config, items, gains, History::default(), from);
    let mut sum = Summary::default();
    let mut open: std::collections::HashMap<(u64, u32), i64> = Default::default();
    let mut exec =
        |acts: Vec<Action>, player: &mut SimPlayer, sum: &mut Summary| -> Result<(), String> {
            for a in acts {
                match a {
                    Action::Cue(p) => {
                        sum.runs += 1;
                        player.cue(p)
                    }
                    Action::Cut(r) => player.cut(r),
                    Action::Start {
                        run,
                        item,
                        airing,
                        at,
                    } => {
                        let id = store.start(&airing, at).map_err(|e| e.to_string())?;
                        open.insert((run, item), id);
                        *sum.completed
                            .entry(airing.category.clone().unwrap_or_default())
                            .or_default() += 0;
                    }
                    Action::Finish {
                        run,
                        item,
                        status,
                        at,
                        played,
                        reason,
                    } => {
                        if let Some(id) = open.remove(&(run, item)) {
                            store
                                .finish(id, status, at, played, reason.as_deref())
                                .map_err(|e| e.to_string())?;
                            *sum.by_status.entry(status.as_str()).or_default() += 1;
                            if status == Status::Completed {
                                let cat = store
                                    .get(id)
                                    .ok()
                                    .flatten()
                                    .and_then(|a| a.category)
                                    .unwrap_or_default();
                                *sum.completed.entry(cat).or_default() += 1;
                            }
                        }
                    }
                    Action::Record {
                        airing,
                        status,
                        reason,
                    } => {
                        store
                            .record(&airing, status, &reason)
                            .map_err(|e| e.to_string())?;
                        *sum.by_status.entry(status.as_str()).or_default() += 1;
                    }
                }
            }
            Ok(())
        };
    exec(acts, &mut player, &mut sum)?;
    let mut now = from;
    loop {
        let next = [station.next_wakeup(now), player.next_event_at()]
            .into_iter()
            .flatten()
            .min();
        let Some(t) = next else { break };
        if t >= until && !player.busy() {
            break;
        }
        // Never stand still: time moves at least a millisecond per step.
        now = t.max(now + chrono::Duration::milliseconds(1));
        player.advance(now);
        for e in player.poll() {
            let acts = station.on_event(e, now);
            exec(acts, &mut player, &mut sum)?;
        }
        if now < until {
            let acts = station.tick(now);
            exec(acts, &mut player, &mut sum)?;
        }
        // What a cue at `now` starts happens at `now` too.
        player.advance(now);
        for e in player.poll() {
            let acts = station.on_event(e, now);
            exec(acts, &mut player, &mut sum)?;
        }
    }
    player.finish()?;
    sum.completed.retain(|_, v| *v > 0);
    Ok(sum)
}

/// The default log of a simulation: a new file under the state folder.
pub fn default_db(config: &Config, from: DateTime<Utc>, days: u32) -> PathBuf {
    let tz = config.station.timezone;
    let stamp = Utc::now().format("%Y%m%d-%H%M%S");
    config.paths.state.join("simulations").join(format!(
        "sim-{}-{days}d-{stamp}.db",
        from.with_timezone(&tz).format("%Y-%m-%d")
    ))
}
