//! `loaxa run`: the wiring. Config, library, station, player and airtime log, driven by
//! the wall clock, signals, the control handle and file-system events, until SIGTERM.
//! Commands arrive through [`control::Handle`] from any transport and are applied here,
//! on the loop that cues programmes; probing and hashing happen on the library's threads.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::{mpsc, oneshot};

use crate::airtime::{self, Store};
use crate::check;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::control::{self, Code, Command, Error, Event, Outcome, Target};
use crate::driver::Driver;
use crate::item::Item;
use crate::library::{self, watch::Service, Change};
use crate::playout::output::Spec;
use crate::playout::{Player, RealPlayer};
use crate::station::{History, Lengths, Station};

/// How `loaxa run` was asked to run.
pub struct Options {
    pub config: PathBuf,
    /// `--output`, over the config's `output.device`.
    pub output: Option<String>,
    /// Air the first programme at once, so a newcomer hears something.
    pub demo: bool,
}

enum Msg {
    Library(Change),
    /// A file the library took on request (a play of an item not yet known).
    Ingested(
        Result<Item, String>,
        bool,
        oneshot::Sender<Result<Outcome, Error>>,
    ),
    /// A file the library took on request (an upload): its id and what became of it.
    Taken(
        String,
        Result<Item, String>,
        oneshot::Sender<Result<Outcome, Error>>,
    ),
    ConfigChanged,
    Reload,
    /// A configuration read and checked off the loop (generation, result, who asked).
    Loaded(u64, Box<LoadResult>, Option<Reply>),
    Shutdown(&'static str),
}

type LoadResult = Result<(Config, Lengths), crate::config::Diagnostics>;
type Reply = oneshot::Sender<Result<Outcome, Error>>;

/// An emergency file counts as fresh (and airs when it settles) if it changed this
/// recently; older files found on a (re)start are not broadcast again.
const FRESH: Duration = Duration::from_secs(3600);

struct Daemon {
    config_path: PathBuf,
    config: Arc<Config>,
    output_override: Option<String>,
    driver: Driver<Box<dyn Player>>,
    library: Service,
    snapshot: Arc<library::watch::Snapshot>,
    inbox: control::Inbox,
    tx: mpsc::UnboundedSender<Msg>,
    last_heartbeat: Instant,
    started: DateTime<Utc>,
    reload_at: Option<Instant>,
    /// The last error the daemon logged to the airtime log's events (shown in `status` when
    /// the station has none of its own); kept here, not read back on every wake-up.
    last_error: Option<String>,
    /// What the station owes, as last written (to write only changes).
    last_saved: String,
    /// Reloads started and applied: a slow one never overrides a newer one.
    reloads: (u64, u64),
    /// `--demo`: air the first programme once the library has settled (or by this time).
    demo_by: Option<Instant>,
    /// Where the console listens, once it does.
    console: Option<String>,
    /// The audit trail, written off the loop.
    access: Option<Arc<std::sync::Mutex<crate::access::Access>>>,
}

/// Runs the daemon until a signal; returns the exit code.
pub fn run(opts: Options) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start: {e}");
            return 1;
        }
    };
    rt.block_on(run_async(opts))
}

/// Reads and checks the configuration, and times its fixed files.
fn load(path: &Path) -> Result<(Config, Lengths), crate::config::Diagnostics> {
    let lens = crate::media::probe::Lengths::default();
    let (c, w) = check::check(path, Utc::now(), &|p| lens.get(p))?;
    for d in w.warnings() {
        tracing::warn!("{d}");
    }
    let fixed = crate::media::probe::fixed_lengths(c.fixed_files());
    Ok((c, fixed))
}

fn spec(config: &Config, over: &Option<String>) -> Spec {
    Spec::parse(over.as_deref().or(config.output.device.as_deref()))
}

/// The master output and the secondary sinks a configuration names.
fn player(config: &Config, over: &Option<String>) -> RealPlayer {
    let sinks = crate::playout::sink::Sinks::start(&config.output.sinks, config.station.timezone);
    RealPlayer::with_sinks(spec(config, over), sinks)
}

/// Raises the open-files limit to what the system allows: the library, the logs and the
/// control socket's clients must never run short of file handles.
fn more_files() {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: get/setrlimit on our own process with a live struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max.min(65_536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

async fn run_async(opts: Options) -> i32 {
    more_files();
    let clock = SystemClock;
    let now = clock.now();
    let (config, fixed) = match load(&opts.config) {
        Ok((c, f)) => (Arc::new(c), f),
        Err(d) => {
            for e in &d.0 {
                tracing::error!("{e}");
            }
            tracing::error!("loaxa cannot start with this configuration; fix it (`loaxa check` lists the problems) and start again");
            return 1;
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();

    // The control socket first: it also refuses a second daemon for the same station.
    let listener = match control::unix::bind(&config.paths.state) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(
                "cannot open the control socket in {}: {e}",
                config.paths.state.display()
            );
            return 1;
        }
    };

    let store_path = airtime::live_path(&config);
    let store = match Store::open(&store_path) {
        Ok(s) => {
            match s.recover() {
                Ok(n) if n > 0 => tracing::warn!("airtime log: {n} airing(s) cut short by the last stop were closed as interrupted"),
                Ok(_) => {}
                Err(e) => tracing::error!("{e}"),
            }
            Some(s)
        }
        Err(e) => {
            tracing::error!("{e} — airings will not be logged until this is fixed");
            None
        }
    };
    let history = match &store {
        Some(s) => {
            let last_seen = s.last_seen().ok().flatten();
            // What a crash or a power cut left owed; a state this loaxa cannot read is
            // dropped with a warning (the rows are safe in the log).
            let saved = match s.load_state() {
                Ok(Some((_, text))) => match serde_json::from_str::<crate::station::Saved>(&text) {
                    Ok(saved) => Some(saved).filter(|x| !x.is_empty()),
                    Err(e) => {
                        tracing::warn!(
                            "the saved station state cannot be read ({e}); not resuming"
                        );
                        None
                    }
                },
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!("{e}");
                    None
                }
            };
            History {
                saved,
                last_aired: s.last_aired().unwrap_or_default(),
                last_seen,
                logged: last_seen
                    .map(|t| {
                        s.logged_since(t - chrono::Duration::days(8))
                            .unwrap_or_default()
                    })
                    .unwrap_or_default(),
            }
        }
        None => History::default(),
    };
    if let Some(s) = &store {
        let _ = s.event(now, "info", "daemon started");
    }

    let ltx = tx.clone();
    let library = Service::spawn(&config, Arc::new(SystemClock), move |c| {
        let _ = ltx.send(Msg::Library(c));
    });
    let snapshot = library.snapshot();

    let mut player = player(&config, &opts.output);
    match player.probe() {
        Ok(()) => tracing::info!("output: {}", player.describe()),
        Err(e) => tracing::error!("{e}"),
    }

    let (station, acts) = Station::new(
        config.clone(),
        fixed,
        snapshot.candidates.clone(),
        history,
        now,
    );
    let last_error = (store.as_ref())
        .and_then(|st| st.last_event("error").ok().flatten())
        .map(|(_, m)| m);
    let (handle, inbox) = control::channel(control::Status::default());
    let events = inbox.events.clone();
    let publish = Box::new(move |e: &Event| {
        let _ = events.send(e.clone());
    });
    let mut d = Daemon {
        config_path: opts.config.clone(),
        config: config.clone(),
        output_override: opts.output.clone(),
        driver: Driver::new(station, Box::new(player), store, publish, true),
        library,
        snapshot,
        inbox,
        tx: tx.clone(),
        last_heartbeat: Instant::now(),
        started: now,
        reload_at: None,
        reloads: (0, 0),
        last_saved: String::new(),
        last_error,
        demo_by: opts.demo.then(|| Instant::now() + Duration::from_secs(10)),
        console: None,
        access: match crate::access::Access::open(&store_path) {
            Ok(a) => Some(Arc::new(std::sync::Mutex::new(a))),
            Err(e) => {
                tracing::error!(
                    "{e} — the console and the audit trail are off until this is fixed"
                );
                None
            }
        },
    };
    d.exec(acts);

    spawn_signals(tx.clone());
    tokio::spawn(control::unix::serve(listener, handle.clone()));
    if let (Some(h), Some(access)) = (&config.http, &d.access) {
        d.console = console(
            h,
            &opts.config,
            &config,
            handle.clone(),
            access.clone(),
            &d.library,
        )
        .await;
    }
    let _config_watch = watch_config(&opts.config, tx.clone());

    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    let watchdog = sd_notify::watchdog_enabled().map(|d| d / 2);
    let mut last_ping = Instant::now();
    tracing::info!(
        "loaxa running: {} — {} programmes, {} items ready; control socket {}",
        d.config.station.name,
        d.config.programmes.len(),
        d.snapshot.counts.get("ready").copied().unwrap_or(0),
        control::unix::socket_path(&d.config.paths.state).display()
    );

    let mut waker: Option<AsyncFd<crate::playout::Waker>> = None;
    let mut last_line = String::new();
    loop {
        let now = Utc::now();
        d.pump(now);
        d.housekeeping(now);
        d.persist(now, false);
        let status = d.status(now);
        let line = status.line();
        if line != last_line {
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Status(&line)]);
            last_line = line;
        }
        d.inbox.status.send_if_modified(|s| {
            let changed = **s != status;
            if changed {
                *s = Arc::new(status);
            }
            changed
        });
        if let Some(w) = watchdog {
            if last_ping.elapsed() >= w {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                last_ping = Instant::now();
            }
        }
        // Sleep until the station or one of our own timers (heartbeat, watchdog, a pending
        // reload, the demo) needs us; library changes, commands and signals arrive as
        // messages. The player's waker ends the sleep when the audio thread reports a
        // start or an end; while the output is open the loop also wakes every second (a
        // stalled device, the idle close). Without a waker, poll at 4 Hz while airing.
        let player = &d.driver.player;
        let w = player.waker();
        if w.as_ref().map(|w| w.as_raw_fd()) != waker.as_ref().map(|a| a.get_ref().as_raw_fd()) {
            // SAFETY: a Waker owns its eventfd (shared by Arc), so the fd stays open and the
            // same for as long as this AsyncFd holds the Waker.
            waker = w.and_then(|w| {
                unsafe { AsyncFd::register_with_interest(w, Interest::READABLE) }.ok()
            });
        }
        let at = Instant::now();
        let left = |t: Instant| t.saturating_duration_since(at);
        let mut cap = if player.ready() {
            Duration::ZERO
        } else if waker.is_none() && player.busy() {
            Duration::from_millis(250)
        } else if player.timed() {
            Duration::from_secs(1)
        } else {
            airtime::HEARTBEAT
        };
        cap = cap.min(left(d.last_heartbeat + airtime::HEARTBEAT));
        if let Some(w) = d.driver.watch_due(now) {
            cap = cap.min(w);
        }
        if let Some(w) = watchdog {
            cap = cap.min(left(last_ping + w));
        }
        for t in [d.reload_at, d.demo_by].into_iter().flatten() {
            cap = cap.min(left(t));
        }
        let until = d
            .driver
            .station
            .next_wakeup(now)
            .map(|t| (t - now).to_std().unwrap_or_default())
            .unwrap_or(cap)
            .min(cap);
        let woken = async {
            match &waker {
                Some(a) => {
                    if let Ok(mut g) = a.readable().await {
                        g.get_inner().clear();
                        g.clear_ready();
                    }
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(until) => {}
            _ = woken => {}
            Some(req) = d.inbox.requests.recv() => {
                let now = Utc::now();
                d.pump(now);
                tracing::debug!("command from {} via {}: {:?}", req.origin.who, req.origin.via, req.command);
                let reply = d.audited(&req.command, req.origin, req.reply);
                d.command(req.command, reply, now);
                d.persist(Utc::now(), false);
            }
            m = rx.recv() => match m {
                None => {}
                Some(Msg::Shutdown(why)) => break d.shutdown(why),
                Some(Msg::Library(c)) => d.library_change(c, Utc::now()),
                Some(Msg::Ingested(item, emergency, reply)) => {
                    let r = item
                        .map_err(|m| Error::new(Code::NoSuchItem, format!("no library item can be played from it: {m} — `loaxa library` lists the items and their state")))
                        .and_then(|i| d.play(crate::item::Entry::of_item(&i), emergency, Utc::now()));
                    let _ = reply.send(r);
                }
                Some(Msg::Taken(item, r, reply)) => {
                    let _ = reply.send(Ok(Outcome::Taken { item, reason: r.err() }));
                }
                Some(Msg::ConfigChanged) => {
                    d.reload_at = Some(Instant::now() + Duration::from_millis(500))
                }
                Some(Msg::Reload) => d.reload(None),
                Some(Msg::Loaded(generation, r, reply)) => d.loaded(generation, *r, reply),
            },
        }
    }
}

/// Starts the web console and API on the configured address; where it listens, or None
/// (logged) when it cannot: the station airs on without it.
async fn console(
    h: &crate::config::Http,
    config_path: &Path,
    config: &Config,
    handle: control::Handle,
    access: Arc<std::sync::Mutex<crate::access::Access>>,
    library: &Service,
) -> Option<String> {
    let listener = match tokio::net::TcpListener::bind(h.listen).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(
                "console: cannot listen on {} ({e}); is another program using that port? Set `http.listen` to another",
                h.listen
            );
            return None;
        }
    };
    let at = listener.local_addr().map(|a| format!("http://{a}/")).ok()?;
    tracing::info!("console: {at}");
    let web = crate::http::Web {
        handle,
        access,
        sessions: Arc::new(std::sync::Mutex::new(crate::http::Sessions::new(h.session))),
        library: library.reader(),
        config_path: config_path.to_path_buf(),
        history: config.paths.state.join("schedule-history"),
        max_upload: h.max_upload,
        bulletins: h.bulletins.clone(),
    };
    tokio::spawn(crate::http::serve(listener, web));
    Some(at)
}

impl Daemon {
    /// For a command that changes something, a reply that first writes who asked, from
    /// where, and how it ended into the audit trail (off the loop); `reply` itself
    /// otherwise. Every transport's commands pass here.
    fn audited(
        &self,
        cmd: &Command,
        origin: control::Origin,
        reply: oneshot::Sender<Result<Outcome, Error>>,
    ) -> oneshot::Sender<Result<Outcome, Error>> {
        let (action, target) = match cmd {
            Command::Status => return reply,
            Command::Play { target, emergency } => {
                let t = match target {
                    Target::Item(i) => format!("item:{i}"),
                    Target::Category(c) => format!("category:{c}"),
                };
                (if *emergency { "emergency" } else { "play" }, Some(t))
            }
            Command::Live { device, .. } => ("live", Some(device.clone())),
            Command::Skip => ("skip", None),
            Command::Stop => ("stop", None),
            Command::Reload => ("reload", None),
            Command::Take { item } => ("take", Some(item.clone())),
        };
        let Some(access) = self.access.clone() else {
            return reply;
        };
        let (tx, rx) = oneshot::channel::<Result<Outcome, Error>>();
        // The row is written before the client hears back: what it was told is on record.
        tokio::spawn(async move {
            let Ok(r) = rx.await else { return };
            let outcome = match &r {
                Ok(_) => "ok".to_string(),
                Err(e) => e.code.as_str().to_string(),
            };
            let entry = crate::access::AuditEntry {
                at: Utc::now(),
                who: origin.who,
                via: origin.via,
                address: origin.address,
                action: action.into(),
                target,
                outcome,
            };
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = access
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .record(&entry)
                {
                    tracing::error!("audit trail: {e}");
                }
            })
            .await;
            let _ = reply.send(r);
        });
        tx
    }

    fn exec(&mut self, acts: Vec<crate::station::Action>) {
        if let Err(e) = self.driver.exec(acts) {
            tracing::error!("airtime log: {e} — airing goes on; rows are kept in memory and written when the log takes them again");
        }
    }

    /// The library's latest snapshot into the station, player events, the station's timers.
    fn pump(&mut self, now: DateTime<Utc>) {
        let snap = self.library.snapshot();
        if !Arc::ptr_eq(&snap, &self.snapshot) {
            self.driver.station.set_library(snap.candidates.clone());
            if snap.counts != self.snapshot.counts {
                let _ = self.inbox.events.send(Event::LibraryChanged {
                    counts: counts(&snap),
                });
            }
            self.snapshot = snap;
        }
        if let Err(e) = self.driver.pump(now) {
            tracing::error!("airtime log: {e} — airing goes on; rows are kept in memory and written when the log takes them again");
        }
    }

    fn housekeeping(&mut self, now: DateTime<Utc>) {
        if self.last_heartbeat.elapsed() >= airtime::HEARTBEAT {
            self.last_heartbeat = Instant::now();
            self.driver.heartbeat(now);
            // How far the item on air has played, for a restart after a power cut.
            self.persist(now, true);
        }
        if let Some(by) = self.demo_by {
            if !self.snapshot.counts.contains_key("settling") || Instant::now() >= by {
                self.demo_by = None;
                tracing::info!("demo: airing the first programme now");
                let acts = self.driver.station.air_programme_now(0, now);
                self.exec(acts);
            }
        }
        if self.reload_at.is_some_and(|t| Instant::now() >= t) {
            self.reload_at = None;
            self.reload(None);
        }
    }

    /// Writes down what the station owes when it changed (or, with `progress`, also how
    /// far the item on air has played), so a restart after a crash takes it up again.
    fn persist(&mut self, now: DateTime<Utc>, progress: bool) {
        if !self.driver.take_dirty() && !progress {
            return;
        }
        let saved = self.driver.station.saved(now);
        let text = serde_json::to_string(&saved).unwrap_or_default();
        if text == self.last_saved {
            return;
        }
        if let Some(s) = self.driver.store() {
            match s.save_state(now, &text) {
                Ok(()) => self.last_saved = text,
                // The rows' own alarm says the log cannot be written; once is enough here.
                Err(e) if self.driver.alarm().is_none() => {
                    tracing::error!("{e} — a restart may not resume what is on air")
                }
                Err(_) => {}
            }
        }
    }

    /// The typed status every client sees.
    fn status(&self, now: DateTime<Utc>) -> control::Status {
        let tz = self.config.station.timezone;
        let player = &self.driver.player;
        let mut air = self.driver.station.status(now);
        if air.last_error.is_none() {
            air.last_error = self.last_error.clone();
        }
        control::Status {
            station: self.config.station.name.clone(),
            config: self.config.file.clone(),
            timezone: tz.name().to_string(),
            output: player.describe(),
            latency_ms: player.latency().map(|d| d.as_secs_f64() * 1e3),
            up_since: crate::local::rfc3339(self.started, tz),
            library: counts(&self.snapshot),
            air,
            outputs: player.health(),
            alarms: self.driver.alarms(),
            console: self.console.clone(),
        }
    }

    fn library_change(&mut self, c: Change, now: DateTime<Utc>) {
        let Change::Ready { id, category } = c else {
            return;
        };
        let Some(em) = &self.config.emergency else {
            return;
        };
        if category != em.category {
            return;
        }
        // Take the freshest snapshot: the item just became airable.
        self.snapshot = self.library.snapshot();
        self.driver
            .station
            .set_library(self.snapshot.candidates.clone());
        let Some(cand) = self
            .snapshot
            .candidates
            .iter()
            .find(|x| x.id == id)
            .cloned()
        else {
            return;
        };
        let fresh = now - cand.modified < chrono::Duration::from_std(FRESH).unwrap_or_default();
        if !fresh || !cand.valid_at(now) {
            tracing::info!("emergency folder: {id} is not new; not broadcasting it again");
            return;
        }
        tracing::warn!(
            "EMERGENCY: {} — interrupting the programme on air",
            cand.title
        );
        let acts = self
            .driver
            .station
            .emergency(crate::item::Entry::of_item(&cand), now);
        self.exec(acts);
    }

    /// Applies one command; the reply goes back now, or (a file the library must take
    /// first) once the library has it.
    fn command(
        &mut self,
        cmd: Command,
        reply: oneshot::Sender<Result<Outcome, Error>>,
        now: DateTime<Utc>,
    ) {
        let r = match cmd {
            Command::Status => Ok(Outcome::Status(Box::new(self.status(now)))),
            Command::Play { target, emergency } => {
                let entry = match &target {
                    Target::Item(id) => match self.driver.station.item(id) {
                        Err(_) if self.ingestible(id).is_some() => {
                            let path = self.ingestible(id).expect("checked");
                            let tx = self.tx.clone();
                            self.library.ingest(path, move |item| {
                                let _ = tx.send(Msg::Ingested(item, emergency, reply));
                            });
                            return;
                        }
                        r => r.map_err(Error::from),
                    },
                    Target::Category(c) => self
                        .config
                        .known_category(Some(c))
                        .map_err(|m| Error::new(Code::NoSuchCategory, m))
                        .and_then(|()| self.driver.station.pick(c, now).map_err(Error::from)),
                };
                entry.and_then(|e| self.play(e, emergency, now))
            }
            Command::Live {
                device,
                for_s,
                priority,
            } => {
                if priority == crate::config::Priority::Emergency {
                    Err(Error::new(
                        Code::BadRequest,
                        "a live input airs at `normal` or `priority`; an emergency is a file in the emergency folder",
                    ))
                } else {
                    let len = for_s
                        .map(std::time::Duration::from_secs)
                        .unwrap_or(crate::control::LIVE_DEFAULT);
                    let entry = crate::item::Entry::stream(
                        &format!("{}{device}", crate::media::stream::LIVE),
                        &format!("trực tiếp ({device})"),
                        Some(len),
                        vec![],
                    );
                    tracing::info!("live: the operator goes live from `{device}` ({priority})");
                    let (acts, now_) = self.driver.station.go_live(entry, priority, now);
                    self.exec(acts);
                    Ok(Outcome::Playing {
                        title: format!("trực tiếp ({device})"),
                        now: now_,
                    })
                }
            }
            Command::Skip => match self.driver.station.skip(now) {
                Some(acts) => {
                    self.exec(acts);
                    Ok(Outcome::Skipped)
                }
                None => Err(nothing_on_air()),
            },
            Command::Stop => match self.driver.station.stop(now) {
                Some(acts) => {
                    self.exec(acts);
                    Ok(Outcome::Stopped)
                }
                None => Err(nothing_on_air()),
            },
            Command::Reload => return self.reload(Some(reply)),
            Command::Take { item } => match self.ingestible(&item) {
                Some(path) => {
                    let tx = self.tx.clone();
                    self.library.ingest(path, move |r| {
                        let _ = tx.send(Msg::Taken(item, r, reply));
                    });
                    return;
                }
                None => Err(Error::new(
                    Code::BadRequest,
                    format!("`{item}` is not a path under the audio folder"),
                )),
            },
        };
        let _ = reply.send(r);
    }

    /// Where an id the library does not list yet would be (a file just copied in): a
    /// plain relative path under the audio folder, never `..` or absolute. The library,
    /// on its own thread, looks at the file.
    fn ingestible(&self, id: &str) -> Option<PathBuf> {
        let rel = Path::new(id);
        let plain = !id.is_empty()
            && rel
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        plain.then(|| self.config.paths.audio.join(rel))
    }

    fn play(
        &mut self,
        entry: crate::item::Entry,
        emergency: bool,
        now: DateTime<Utc>,
    ) -> Result<Outcome, Error> {
        let title = entry.title.clone();
        if emergency {
            tracing::warn!("EMERGENCY: {title} — played by the operator");
            let acts = self.driver.station.emergency(entry, now);
            self.exec(acts);
            Ok(Outcome::Emergency { title })
        } else {
            let (acts, now_) = self.driver.station.play(vec![entry], now);
            self.exec(acts);
            Ok(Outcome::Playing { title, now: now_ })
        }
    }

    /// Re-reads the config on a thread of its own: reading, checking and timing the fixed
    /// files never delays what airs, however slow or hostile the file is.
    fn reload(&mut self, reply: Option<Reply>) {
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Reloading]);
        self.reloads.0 += 1;
        let generation = self.reloads.0;
        let (path, tx) = (self.config_path.clone(), self.tx.clone());
        tokio::task::spawn_blocking(move || {
            let r = load(&path);
            let _ = tx.send(Msg::Loaded(generation, Box::new(r), reply));
        });
    }

    /// A reload's result: a valid configuration takes over what comes next; an invalid one
    /// is reported and the last good one keeps running.
    fn loaded(&mut self, generation: u64, r: LoadResult, reply: Option<Reply>) {
        let outcome = if generation < self.reloads.1 {
            // A newer reload was applied already.
            Ok(Outcome::Reloaded {
                config: self.config_path.clone(),
            })
        } else {
            self.reloads.1 = generation;
            self.apply(r)
        };
        if let Some(reply) = reply {
            let _ = reply.send(outcome);
        }
        if self.reloads.1 == self.reloads.0 {
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        }
    }

    fn apply(&mut self, r: LoadResult) -> Result<Outcome, Error> {
        match r {
            Ok((c, fixed)) => {
                let c = Arc::new(c);
                self.library.reload(&c);
                let new_spec = spec(&c, &self.output_override);
                let changed = new_spec.to_string() != self.driver.player.describe()
                    || c.output.sinks != self.config.output.sinks;
                if changed && !self.driver.player.busy() {
                    tracing::info!("output: now {new_spec}");
                    self.driver.player = Box::new(player(&c, &self.output_override));
                }
                self.driver.station.reload(c.clone(), fixed, Utc::now());
                if c.http != self.config.http {
                    // The listener and its limits are set when the daemon starts.
                    tracing::warn!(
                        "http: the console's settings changed; they take effect when loaxa restarts (systemctl restart loaxa)"
                    );
                }
                self.config = c;
                tracing::info!("reloaded {}", self.config_path.display());
                let _ = self.inbox.events.send(Event::Reloaded {
                    ok: true,
                    message: format!("reloaded {}", self.config_path.display()),
                });
                Ok(Outcome::Reloaded {
                    config: self.config_path.clone(),
                })
            }
            Err(d) => {
                for e in d.errors() {
                    tracing::error!("{e}");
                }
                let first = d.errors().next().map(|e| e.to_string()).unwrap_or_default();
                if let Some(s) = self.driver.store() {
                    let _ = s.event(Utc::now(), "error", &first);
                }
                self.last_error = Some(first.clone());
                tracing::error!(
                    "the new configuration has errors; still running the last good one"
                );
                let _ = self.inbox.events.send(Event::Reloaded {
                    ok: false,
                    message: first,
                });
                Err(Error::new(
                    Code::ConfigInvalid,
                    format!("{}the last good configuration keeps running", d),
                ))
            }
        }
    }

    fn shutdown(&mut self, why: &str) -> i32 {
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
        let now = Utc::now();
        // What is on air is owed to the next start (a restart within catch_up continues it).
        self.persist(now, true);
        if let Err(e) = self.driver.shutdown(now, why) {
            tracing::error!("airtime log: {e}");
        }
        self.driver.flush();
        if let Some(a) = self.driver.alarm() {
            tracing::error!("stopping with rows unwritten: {a}");
        }
        if let Some(s) = self.driver.store() {
            let _ = s.event(now, "info", &format!("daemon stopped ({why})"));
        }
        let _ = std::fs::remove_file(control::unix::socket_path(&self.config.paths.state));
        tracing::info!("stopped ({why})");
        0
    }
}

fn nothing_on_air() -> Error {
    Error::new(Code::NothingOnAir, "nothing is on air")
}

fn counts(s: &library::watch::Snapshot) -> std::collections::BTreeMap<String, usize> {
    s.counts.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn spawn_signals(tx: mpsc::UnboundedSender<Msg>) {
    use tokio::signal::unix::{signal, SignalKind};
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            tracing::error!("cannot listen for signals");
            return;
        };
        loop {
            tokio::select! {
                _ = term.recv() => { let _ = tx.send(Msg::Shutdown("SIGTERM")); }
                _ = int.recv() => { let _ = tx.send(Msg::Shutdown("SIGINT")); }
                _ = hup.recv() => { let _ = tx.send(Msg::Reload); }
            }
        }
    });
}

/// Watches the config file (its folder: editors replace files) and reports saves.
fn watch_config(path: &Path, tx: mpsc::UnboundedSender<Msg>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let abs = std::path::absolute(path).ok()?;
    let dir = abs.parent()?.to_path_buf();
    let name = abs.file_name()?.to_os_string();
    let mut w = notify::recommended_watcher(move |r: notify::Result<notify::Event>| {
        if let Ok(e) = r {
            let relevant = matches!(
                e.kind,
                notify::EventKind::Create(_) | notify::EventKind::Modify(_)
            );
            if relevant
                && e.paths
                    .iter()
                    .any(|p| p.file_name() == Some(name.as_os_str()))
            {
                let _ = tx.send(Msg::ConfigChanged);
            }
        }
    })
    .ok()?;
    if let Err(e) = w.watch(&dir, notify::RecursiveMode::NonRecursive) {
        tracing::warn!(
            "cannot watch {} for changes ({e}); reload with SIGHUP or `loaxa reload`",
            abs.display()
        );
        return None;
    }
    Some(w)
}
