//! The station alone: a configuration built in code, items that are plain values, a fake
//! player that only records what it is asked and reports what the test says happened, and
//! a simulated clock (instants passed in). No YAML, no audio files, no SQLite.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::config::{
    AfterEmergency, Category, Config, CronSpec, Emergency, LibrarySettings, Output, Paths, Pick,
    Pos, Priority, Programme, Segment, SegmentKind, StationInfo,
};
use crate::item::Item;
use crate::playout::deck::Outcome;
use crate::playout::PlayerEvent;

fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, h, m, s).unwrap()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn programme(name: &str, cron: &str, priority: Priority, segments: Vec<SegmentKind>) -> Programme {
    Programme {
        name: name.into(),
        when: vec![CronSpec::parse(cron).unwrap()],
        from: None,
        until: None,
        skip_dates: vec![],
        priority,
        max_duration: None,
        segments: segments
            .into_iter()
            .map(|kind| Segment {
                kind,
                pos: Pos::START,
            })
            .collect(),
        pos: Pos::START,
        when_pos: vec![],
        max_duration_pos: Pos::START,
    }
}

fn category(key: &str, priority: Priority) -> Category {
    Category {
        key: key.into(),
        name: key.into(),
        folder: PathBuf::from("/audio").join(key),
        priority,
        pick: Pick::Newest,
        max_age: None,
        max_length: None,
        loudness: -16.0,
        gain_db: 0.0,
        target: None,
        approval: false,
        pos: Pos::START,
    }
}

fn cat(key: &str) -> SegmentKind {
    SegmentKind::Category {
        key: key.into(),
        pick: Pick::All,
        count: None,
    }
}

fn config(programmes: Vec<Programme>, repeat: u32) -> Arc<Config> {
    Arc::new(Config {
        file: PathBuf::from("/station/schedule.yaml"),
        station: StationInfo {
            name: "Đài thử".into(),
            // UTC keeps the test's instants readable.
            timezone: chrono_tz::UTC,
            report_to: String::new(),
        },
        paths: Paths {
            audio: PathBuf::from("/audio"),
            state: PathBuf::from("/state"),
        },
        output: Output {
            device: None,
            volume: 1.0,
            sinks: vec![],
        },
        library: LibrarySettings {
            settle: secs(1),
            wait_for_loudness: false,
        },
        categories: vec![
            category("tin", Priority::Normal),
            category("khan-cap", Priority::Emergency),
        ],
        programmes,
        quiet_hours: vec![],
        catch_up: Duration::from_secs(600),
        emergency: Some(Emergency {
            category: "khan-cap".into(),
            repeat,
            every: Duration::from_secs(600),
            alert_tone: None,
            after: AfterEmergency::Resume,
            pos: Pos::START,
        }),
        alarms: Default::default(),
        http: None,
    })
}

fn item(category: &str, name: &str, len: u64) -> Item {
    Item {
        id: format!("{category}/{name}.wav"),
        path: PathBuf::from(format!("/audio/{category}/{name}.wav")),
        category: category.into(),
        title: name.into(),
        duration: secs(len),
        valid_from: t(0, 0, 0),
        valid_until: None,
        priority: Priority::Normal,
        hash: name.into(),
        gain_db: 0.0,
        from_arrival: false,
        rate: 48_000,
        modified: t(0, 0, 0),
    }
}

/// A player that plays nothing: it keeps what it was cued and cut, and the test says
/// when each item starts and ends.
#[derive(Default)]
struct Fake {
    cued: Vec<PlayPlan>,
    cut: Vec<u64>,
    /// The rows the station asked to write, as `title status` lines.
    log: Vec<String>,
}

impl Fake {
    fn take(&mut self, acts: Vec<Action>) {
        for a in acts {
            match a {
                Action::Cue(p) => self.cued.push(p),
                Action::Cut(r) => self.cut.push(r),
                Action::Start { airing, .. } => self
                    .log
                    .push(format!("{} playing", airing.title.unwrap_or_default())),
                Action::Finish { status, reason, .. } => self.log.push(format!(
                    "ended {}{}",
                    status.as_str(),
                    reason.map(|r| format!(" ({r})")).unwrap_or_default()
                )),
                Action::Record { airing, status, .. } => self.log.push(format!(
                    "{} {}",
                    airing.programme.unwrap_or_default(),
                    status.as_str()
                )),
                Action::Relay { title, note, .. } => self.log.push(format!("{title}: {note:?}")),
                Action::Note(..) => {}
            }
        }
    }

    fn last(&self) -> &PlayPlan {
        self.cued.last().expect("something was cued")
    }
}

fn started(run: u64, item: u32, at: DateTime<Utc>) -> PlayerEvent {
    PlayerEvent::Started { run, item, at }
}

fn ended(run: u64, item: u32, at: DateTime<Utc>, played: u64, outcome: Outcome) -> PlayerEvent {
    PlayerEvent::Ended {
        run,
        item,
        at,
        played: secs(played),
        outcome,
    }
}

#[test]
fn a_programme_is_cued_ahead_of_its_second_and_logged_from_the_players_events() {
    let c = config(
        vec![programme(
            "Sáng",
            "0 6 * * *",
            Priority::Normal,
            vec![cat("tin")],
        )],
        1,
    );
    let items = vec![item("tin", "a", 30), item("tin", "b", 20)];
    let (mut st, acts) = Station::new(c, Lengths::new(), items, History::default(), t(5, 0, 0));
    let mut p = Fake::default();
    p.take(acts);
    assert!(p.cued.is_empty());
    assert_eq!(st.next_wakeup(t(5, 0, 0)), Some(t(5, 59, 58)), "PREP ahead");
    p.take(st.tick(t(5, 59, 58)));
    let plan = p.last().clone();
    assert_eq!(plan.at, t(6, 0, 0));
    assert_eq!(plan.items.len(), 2);
    p.take(st.on_event(started(plan.run, 0, t(6, 0, 0)), t(6, 0, 0)));
    assert_eq!(st.status(t(6, 0, 10)).on_air.unwrap().position_ms, 10_000);
    p.take(st.on_event(
        ended(plan.run, 0, t(6, 0, 30), 30, Outcome::Completed),
        t(6, 0, 30),
    ));
    p.take(st.on_event(started(plan.run, 1, t(6, 0, 30)), t(6, 0, 30)));
    p.take(st.on_event(
        ended(plan.run, 1, t(6, 0, 50), 20, Outcome::Completed),
        t(6, 0, 50),
    ));
    p.take(st.on_event(
        PlayerEvent::RunDone {
            run: plan.run,
            at: t(6, 0, 50),
        },
        t(6, 0, 50),
    ));
    assert_eq!(
        p.log,
        [
            "a playing",
            "ended completed",
            "b playing",
            "ended completed"
        ]
    );
    assert!(st.status(t(6, 1, 0)).on_air.is_none());
}

/// A fixed file the probe could not time has an unknown length: the run holds the air
/// until the player says it ended, and a programme of equal priority waits for it.
#[test]
fn a_source_of_unknown_length_holds_the_air_until_it_ends() {
    let live = PathBuf::from("/audio/live.wav");
    let c = config(
        vec![
            programme(
                "Dài",
                "0 6 * * *",
                Priority::Normal,
                vec![SegmentKind::File(live.clone())],
            ),
            programme("Sau", "1 6 * * *", Priority::Normal, vec![cat("tin")]),
        ],
        1,
    );
    let fixed: Lengths = [(live, None)].into_iter().collect();
    let (mut st, _) = Station::new(
        c,
        fixed,
        vec![item("tin", "a", 30)],
        History::default(),
        t(5, 0, 0),
    );
    let mut p = Fake::default();
    p.take(st.tick(t(5, 59, 58)));
    let first = p.last().clone();
    assert_eq!(first.items[0].expect, None, "length unknown, not zero");
    p.take(st.on_event(started(first.run, 0, t(6, 0, 0)), t(6, 0, 0)));
    // Its second comes while the unknown-length run airs: it waits.
    p.take(st.tick(t(6, 0, 58)));
    assert_eq!(p.cued.len(), 1, "not cued over the run on air");
    assert_eq!(st.status(t(6, 1, 0)).waiting, ["Sau"]);
    // The long one ends at 06:04: the waiting one follows at once.
    p.take(st.on_event(
        ended(first.run, 0, t(6, 4, 0), 240, Outcome::Completed),
        t(6, 4, 0),
    ));
    p.take(st.on_event(
        PlayerEvent::RunDone {
            run: first.run,
            at: t(6, 4, 0),
        },
        t(6, 4, 0),
    ));
    assert_eq!(p.cued.len(), 2);
    assert_eq!(
        p.last().at,
        t(6, 4, 0) + chrono::Duration::from_std(NOW_LEAD).unwrap()
    );
}

/// Emergencies never cut each other, even when the first one's end is unknown: the second
/// waits until the first ends, then airs.
#[test]
fn a_second_emergency_waits_for_one_of_unknown_length() {
    let c = config(vec![], 1);
    let (mut st, _) = Station::new(c, Lengths::new(), vec![], History::default(), t(6, 0, 0));
    let mut p = Fake::default();
    let mut live = Entry::of_item(&item("khan-cap", "truc-tiep", 1));
    live.duration = None;
    p.take(st.emergency(live, t(6, 0, 0)));
    let first = p.last().clone();
    assert!(first.replace);
    p.take(st.on_event(started(first.run, 0, first.at), first.at));
    p.take(st.emergency(Entry::of_item(&item("khan-cap", "bao", 20)), t(6, 0, 5)));
    assert_eq!(p.cued.len(), 1, "the second does not cut the first");
    assert!(st.status(t(6, 0, 6)).emergency_active);
    p.take(st.on_event(
        ended(first.run, 0, t(6, 3, 0), 180, Outcome::Completed),
        t(6, 3, 0),
    ));
    p.take(st.on_event(
        PlayerEvent::RunDone {
            run: first.run,
            at: t(6, 3, 0),
        },
        t(6, 3, 0),
    ));
    assert_eq!(p.cued.len(), 2);
    assert_eq!(
        p.last().items[0].source.path(),
        Some(std::path::Path::new("/audio/khan-cap/bao.wav"))
    );
}

/// An emergency cuts the programme on air; with `after: resume` the programme continues
/// from where it was cut once the emergency ends.
#[test]
fn an_emergency_cuts_and_the_programme_resumes_where_it_stopped() {
    let c = config(
        vec![programme(
            "Sáng",
            "0 6 * * *",
            Priority::Normal,
            vec![cat("tin")],
        )],
        1,
    );
    let (mut st, _) = Station::new(
        c,
        Lengths::new(),
        vec![item("tin", "a", 60)],
        History::default(),
        t(5, 0, 0),
    );
    let mut p = Fake::default();
    p.take(st.tick(t(5, 59, 58)));
    let prog = p.last().clone();
    p.take(st.on_event(started(prog.run, 0, t(6, 0, 0)), t(6, 0, 0)));
    p.take(st.emergency(Entry::of_item(&item("khan-cap", "bao", 20)), t(6, 0, 10)));
    let em = p.last().clone();
    assert!(em.replace, "cuts what is on air");
    // The deck cuts the programme at the emergency's instant.
    let cut_at = em.at;
    p.take(st.on_event(ended(prog.run, 0, cut_at, 10, Outcome::Cut), cut_at));
    p.take(st.on_event(
        PlayerEvent::RunDone {
            run: prog.run,
            at: cut_at,
        },
        cut_at,
    ));
    p.take(st.on_event(started(em.run, 0, cut_at), cut_at));
    let end = cut_at + chrono::Duration::seconds(20);
    p.take(st.on_event(ended(em.run, 0, end, 20, Outcome::Completed), end));
    p.take(st.on_event(
        PlayerEvent::RunDone {
            run: em.run,
            at: end,
        },
        end,
    ));
    let resumed = p.last().clone();
    assert_eq!(resumed.items.len(), 1);
    assert_eq!(resumed.items[0].offset, secs(10), "from where it was cut");
    assert_eq!(
        p.log[..4],
        [
            "a playing",
            "ended interrupted (interrupted by emergency broadcast)",
            "bao playing",
            "ended completed"
        ]
    );
}

/// Skip ends the item and the rest of the programme goes on; stop during an emergency ends
/// it and cancels its repeats.
#[test]
fn skip_moves_on_and_stop_cancels_an_emergencys_repeats() {
    let c = config(
        vec![programme(
            "Sáng",
            "0 6 * * *",
            Priority::Normal,
            vec![cat("tin")],
        )],
        3,
    );
    let items = vec![item("tin", "a", 60), item("tin", "b", 60)];
    let (mut st, _) = Station::new(c, Lengths::new(), items, History::default(), t(5, 0, 0));
    let mut p = Fake::default();
    assert!(st.skip(t(5, 0, 0)).is_none(), "nothing on air");
    p.take(st.tick(t(5, 59, 58)));
    let prog = p.last().clone();
    p.take(st.on_event(started(prog.run, 0, t(6, 0, 0)), t(6, 0, 0)));
    p.take(st.skip(t(6, 0, 5)).unwrap());
    assert_eq!(p.cut, [prog.run]);
    let rest = p.last().clone();
    assert_eq!(rest.items.len(), 1, "only b is left");
    assert!(rest.replace);
    p.take(st.on_event(ended(prog.run, 0, t(6, 0, 5), 5, Outcome::Cut), t(6, 0, 5)));
    assert_eq!(p.log.last().unwrap(), "ended skipped (skipped by operator)");
    // An emergency with two repeats to come; stop ends it and the repeats.
    p.take(st.emergency(Entry::of_item(&item("khan-cap", "bao", 20)), t(6, 1, 0)));
    let em = p.last().clone();
    p.take(st.on_event(started(em.run, 0, em.at), em.at));
    assert!(
        st.next_wakeup(t(6, 1, 1)).is_some_and(|w| w < t(6, 12, 0)),
        "a repeat is due"
    );
    p.take(st.stop(t(6, 1, 5)).unwrap());
    p.take(st.on_event(ended(em.run, 0, t(6, 1, 5), 5, Outcome::Cut), t(6, 1, 5)));
    p.take(st.on_event(
        PlayerEvent::RunDone {
            run: em.run,
            at: t(6, 1, 5),
        },
        t(6, 1, 5),
    ));
    assert!(!st.status(t(6, 1, 6)).emergency_active, "no repeats left");
    let before = p.cued.len();
    p.take(st.tick(t(6, 11, 0)));
    assert_eq!(p.cued.len(), before, "no repeat at 06:11");
}

/// An operator plays by library id or by a category's pick; unknown ones are refused.
#[test]
fn plays_are_resolved_from_the_library_or_refused() {
    let c = config(vec![], 1);
    let items = vec![item("tin", "cu", 10), {
        let mut n = item("tin", "moi", 10);
        n.valid_from = t(1, 0, 0);
        n
    }];
    let (mut st, _) = Station::new(c, Lengths::new(), items, History::default(), t(6, 0, 0));
    assert_eq!(st.item("tin/cu.wav").unwrap().title, "cu");
    assert_eq!(
        st.item("tin/khong.wav"),
        Err(Refused::NoSuchItem("tin/khong.wav".into()))
    );
    assert_eq!(
        st.pick("tin", t(6, 0, 0)).unwrap().title,
        "moi",
        "newest first"
    );
    assert_eq!(
        st.pick("khan-cap", t(6, 0, 0)),
        Err(Refused::EmptyCategory("khan-cap".into()))
    );
    assert_eq!(
        st.pick("xyz", t(6, 0, 0)),
        Err(Refused::NoSuchCategory("xyz".into()))
    );
    let (acts, now) = st.play(vec![st.item("tin/cu.wav").unwrap()], t(6, 0, 0));
    assert!(now);
    assert!(
        matches!(&acts[0], Action::Cue(p) if p.at == t(6, 0, 0) + chrono::Duration::from_std(NOW_LEAD).unwrap())
    );
    let (acts, now) = st.play(vec![st.item("tin/moi.wav").unwrap()], t(6, 0, 0));
    assert!(!now && acts.is_empty(), "queued behind the first");
}

/// A stop (crash, power cut) in the middle of a programme: a restart within catch_up takes
/// it up where it was cut (the station here resumes, as `after: resume` says); later than
/// catch_up, every entry it had not reached gets a `missed` row.
#[test]
fn a_programme_cut_by_a_stop_continues_after_a_restart_within_catch_up() {
    let c = config(
        vec![programme(
            "Sáng",
            "0 6 * * *",
            Priority::Normal,
            vec![cat("tin")],
        )],
        1,
    );
    let items = vec![
        item("tin", "a", 30),
        item("tin", "b", 20),
        item("tin", "c", 10),
    ];
    let (mut st, _) = Station::new(
        c.clone(),
        Lengths::new(),
        items.clone(),
        History::default(),
        t(5, 0, 0),
    );
    let mut p = Fake::default();
    p.take(st.tick(t(5, 59, 58)));
    let run = p.last().run;
    p.take(st.on_event(started(run, 0, t(6, 0, 0)), t(6, 0, 0)));
    p.take(st.on_event(
        ended(run, 0, t(6, 0, 30), 30, Outcome::Completed),
        t(6, 0, 30),
    ));
    p.take(st.on_event(started(run, 1, t(6, 0, 30)), t(6, 0, 30)));
    // The power goes at 06:00:37, 7 s into b; what was owed survives as text.
    let saved = st.saved(t(6, 0, 37));
    let text = serde_json::to_string(&saved).unwrap();
    let saved: Saved = serde_json::from_str(&text).unwrap();
    // Back at 06:03 (within the 10-minute catch_up).
    let history = History {
        saved: Some(saved.clone()),
        ..Default::default()
    };
    let (_, acts) = Station::new(
        c.clone(),
        Lengths::new(),
        items.clone(),
        history,
        t(6, 3, 0),
    );
    let mut q = Fake::default();
    q.take(acts);
    let resumed = q.last();
    assert_eq!(resumed.items.len(), 2, "b and c, not a again");
    assert_eq!(resumed.items[0].offset, secs(7), "b from where it was cut");
    assert_eq!(
        resumed.at,
        t(6, 3, 0) + chrono::Duration::from_std(NOW_LEAD).unwrap()
    );
    // Back at 06:30: too late; b (its row closed at the restart) and c are missed.
    let history = History {
        saved: Some(saved),
        ..Default::default()
    };
    let (_, acts) = Station::new(c, Lengths::new(), items, history, t(6, 30, 0));
    let mut q = Fake::default();
    q.take(acts);
    assert!(q.cued.is_empty());
    assert_eq!(q.log, ["Sáng missed"], "one row, for c");
}

/// An emergency cut by a stop airs again after the restart, and its repeats go on.
#[test]
fn an_emergency_and_its_repeats_survive_a_stop() {
    let c = config(vec![], 3);
    let (mut st, _) = Station::new(
        c.clone(),
        Lengths::new(),
        vec![],
        History::default(),
        t(6, 0, 0),
    );
    let mut p = Fake::default();
    p.take(st.emergency(Entry::of_item(&item("khan-cap", "bao", 20)), t(6, 0, 0)));
    let em = p.last().clone();
    p.take(st.on_event(started(em.run, 0, em.at), em.at));
    let saved = st.saved(t(6, 0, 1));
    let history = History {
        saved: Some(saved),
        ..Default::default()
    };
    let (mut st2, acts) = Station::new(c, Lengths::new(), vec![], history, t(6, 0, 30));
    let mut q = Fake::default();
    q.take(acts);
    assert_eq!(q.cued.len(), 1, "aired again at once");
    assert!(q.last().replace);
    assert!(st2.status(t(6, 0, 31)).emergency_active);
    // The next repeat is still due at 06:10 (every 10 minutes), then one more.
    assert_eq!(
        st2.next_wakeup(t(6, 0, 31)),
        Some(
            t(6, 10, 0) + chrono::Duration::from_std(EMERGENCY_LEAD).unwrap()
                - chrono::Duration::from_std(NOW_LEAD).unwrap()
        )
    );
    let first = q.last().run;
    q.take(st2.on_event(
        PlayerEvent::RunDone {
            run: first,
            at: t(6, 0, 51),
        },
        t(6, 0, 51),
    ));
    q.take(st2.tick(t(6, 10, 0)));
    assert_eq!(q.cued.len(), 2, "the repeat airs");
}

/// The wall clock steps forward by three days while idle (a PC whose clock was wrong, set
/// right by NTP): the starts in between are logged missed, the one within catch_up airs
/// late, and nothing airs twice or all at once. A step back never re-airs a start.
#[test]
fn a_clock_step_forward_catches_up_once_and_a_step_back_airs_nothing_twice() {
    let c = config(
        vec![programme(
            "Sáng",
            "0 6 * * *",
            Priority::Normal,
            vec![cat("tin")],
        )],
        1,
    );
    let items = vec![item("tin", "a", 30)];
    let (mut st, _) = Station::new(c, Lengths::new(), items, History::default(), t(5, 0, 0));
    let mut p = Fake::default();
    // 05:00 on the 1st, then the clock reads 06:05 on the 4th.
    let jumped = t(6, 5, 0) + chrono::Duration::days(3);
    p.take(st.tick(jumped));
    assert_eq!(p.cued.len(), 1, "only the latest start airs");
    assert_eq!(
        p.log.iter().filter(|l| l.ends_with("missed")).count(),
        3,
        "{:?}",
        p.log
    );
    let run = p.last().run;
    p.take(st.on_event(started(run, 0, jumped), jumped));
    p.take(st.on_event(
        ended(
            run,
            0,
            jumped + chrono::Duration::seconds(30),
            30,
            Outcome::Completed,
        ),
        jumped,
    ));
    p.take(st.on_event(
        PlayerEvent::RunDone {
            run,
            at: jumped + chrono::Duration::seconds(30),
        },
        jumped,
    ));
    // Back an hour: 06:00 on the 4th comes again; it is not aired a second time.
    let back = jumped - chrono::Duration::hours(1);
    for m in 0..70 {
        p.take(st.tick(back + chrono::Duration::minutes(m)));
    }
    assert_eq!(p.cued.len(), 1, "nothing aired twice");
    // And the next day airs as usual.
    p.take(st.tick(t(5, 59, 58) + chrono::Duration::days(4)));
    assert_eq!(p.cued.len(), 2);
}

/// A reload long after the last start: the new schedule is taken up from now, never
/// "caught up" with starts only it has (found by the hostile-input run: a reload to a
/// programme every second logged ten seconds of `missed` rows).
#[test]
fn a_reload_takes_the_new_schedule_up_from_now() {
    let c = config(
        vec![programme(
            "Sáng",
            "0 6 * * *",
            Priority::Normal,
            vec![cat("tin")],
        )],
        1,
    );
    let items = vec![item("tin", "a", 1)];
    // Up at 06:30, after the morning's start; nothing is due until tomorrow.
    let (mut st, _) = Station::new(c, Lengths::new(), items, History::default(), t(6, 30, 0));
    let mut p = Fake::default();
    p.take(st.tick(t(6, 30, 0)));
    let every_second = config(
        vec![programme(
            "Mỗi giây",
            "* * * * * *",
            Priority::Normal,
            vec![cat("tin")],
        )],
        1,
    );
    st.reload(every_second, Lengths::new(), t(7, 0, 0));
    p.take(st.tick(t(7, 0, 0)));
    assert!(!p.log.iter().any(|l| l.ends_with("missed")), "{:?}", p.log);
    assert!(!p.cued.is_empty(), "the coming seconds' starts");
    assert!(
        p.cued.iter().all(|c| c.at >= t(7, 0, 0)),
        "none from the past"
    );
}
