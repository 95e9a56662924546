//! `loaxa run`: the wiring. Config, library, station, player and airtime log, driven by
//! the wall clock, signals, the control socket and file-system events, until SIGTERM.

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
use crate::control::{self, Reply, Request};
use crate::journal::Journal;
use crate::library::{self, watch::Service, Change};
use crate::playout::output::Spec;
use crate::playout::{Player, RealPlayer};
use crate::station::{Action, History, Station};

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
    Control(Request, oneshot::Sender<Reply>),
    ConfigChanged,
    Reload,
    Shutdown(&'static str),
}

/// An emergency file counts as fresh (and airs when it settles) if it changed this
/// recently; older files found on a (re)start are not broadcast again.
const FRESH: Duration = Duration::from_secs(3600);

struct Daemon {
    config_path: PathBuf,
    config: Arc<Config>,
    output_override: Option<String>,
    store: Option<Store>,
    station: Station,
    player: Box<dyn Player>,
    library: Service,
    snapshot: Arc<library::watch::Snapshot>,
    journal: Journal,
    last_heartbeat: Instant,
    started: DateTime<Utc>,
    last_status: String,
    reload_at: Option<Instant>,
    /// `--demo`: air the first programme once the library has settled (or by this time).
    demo_by: Option<Instant>,
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

fn load(path: &Path) -> Result<Config, crate::config::Diagnostics> {
    let lens = crate::library::probe::Lengths::default();
    check::check(path, Utc::now(), &|p| lens.get(p)).map(|(c, w)| {
        for d in w.warnings() {
            tracing::warn!("{d}");
        }
        c
    })
}

fn spec(config: &Config, over: &Option<String>) -> Spec {
    Spec::parse(over.as_deref().or(config.output.device.as_deref()))
}

async fn run_async(opts: Options) -> i32 {
    let clock = SystemClock;
    let now = clock.now();
    let config = match load(&opts.config) {
        Ok(c) => Arc::new(c),
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
    let listener = match control::bind(&config.paths.state) {
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
            History {
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

    let mut player = RealPlayer::new(spec(&config, &opts.output));
    match player.probe() {
        Ok(()) => tracing::info!("output: {}", player.describe()),
        Err(e) => tracing::error!("{e}"),
    }

    let (station, acts) = Station::new(config.clone(), snapshot.candidates.clone(), history, now);
    let mut d = Daemon {
        config_path: opts.config.clone(),
        config: config.clone(),
        output_override: opts.output.clone(),
        store,
        station,
        player: Box::new(player),
        library,
        snapshot,
        journal: Journal::default(),
        last_heartbeat: Instant::now(),
        started: now,
        last_status: String::new(),
        reload_at: None,
        demo_by: opts.demo.then(|| Instant::now() + Duration::from_secs(10)),
    };
    d.exec(acts);

    spawn_signals(tx.clone());
    spawn_control(listener, tx.clone());
    let _config_watch = watch_config(&opts.config, tx.clone());

    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    let watchdog = sd_notify::watchdog_enabled().map(|d| d / 2);
    let mut last_ping = Instant::now();
    tracing::info!(
        "loaxa running: {} — {} programmes, {} items ready; control socket {}",
        d.config.station.name,
        d.config.programmes.len(),
        d.snapshot.counts.get("ready").copied().unwrap_or(0),
        control::socket_path(&d.config.paths.state).display()
    );

    let mut waker: Option<AsyncFd<crate::playout::Waker>> = None;
    let code = loop {
        let now = Utc::now();
        d.pump(now);
        d.housekeeping(now);
        if let Some(w) = watchdog {
            if last_ping.elapsed() >= w {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                last_ping = Instant::now();
            }
        }
        // Sleep until the station or one of our own timers (heartbeat, watchdog, a pending
        // reload, the demo) needs us; library changes, control requests and signals arrive
        // as messages. The player's waker ends the sleep when the audio thread reports a
        // start or an end; while the output is open the loop also wakes every second (a
        // stalled device, the idle close). Without a waker, poll at 4 Hz while airing.
        let w = d.player.waker();
        if w.as_ref().map(|w| w.as_raw_fd()) != waker.as_ref().map(|a| a.get_ref().as_raw_fd()) {
            // SAFETY: a Waker owns its eventfd (shared by Arc), so the fd stays open and the
            // same for as long as this AsyncFd holds the Waker.
            waker = w.and_then(|w| {
                unsafe { AsyncFd::register_with_interest(w, Interest::READABLE) }.ok()
            });
        }
        let at = Instant::now();
        let left = |t: Instant| t.saturating_duration_since(at);
        let mut cap = if d.player.ready() {
            Duration::ZERO
        } else if waker.is_none() && d.player.busy() {
            Duration::from_millis(250)
        } else if d.player.timed() {
            Duration::from_secs(1)
        } else {
            airtime::HEARTBEAT
        };
        cap = cap.min(left(d.last_heartbeat + airtime::HEARTBEAT));
        if let Some(w) = watchdog {
            cap = cap.min(left(last_ping + w));
        }
        for t in [d.reload_at, d.demo_by].into_iter().flatten() {
            cap = cap.min(left(t));
        }
        let until = d
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
        let msg = tokio::select! {
            _ = tokio::time::sleep(until) => None,
            _ = woken => None,
            m = rx.recv() => m,
        };
        match msg {
            None => {}
            Some(Msg::Shutdown(why)) => break d.shutdown(why),
            Some(Msg::Library(c)) => d.library_change(c, Utc::now()),
            Some(Msg::Control(req, reply)) => {
                let r = d.control(req, Utc::now());
                let _ = reply.send(r);
            }
            Some(Msg::ConfigChanged) => {
                d.reload_at = Some(Instant::now() + Duration::from_millis(500))
            }
            Some(Msg::Reload) => {
                let _ = d.reload();
            }
        }
    };
    code
}

impl Daemon {
    /// Player events into the station, then the station's own timers.
    fn pump(&mut self, now: DateTime<Utc>) {
        let snap = self.library.snapshot();
        if !Arc::ptr_eq(&snap, &self.snapshot) {
            self.station.set_library(snap.candidates.clone());
            self.snapshot = snap;
        }
        for e in self.player.poll() {
            let acts = self.station.on_event(e, now);
            self.exec(acts);
        }
        let acts = self.station.tick(now);
        self.exec(acts);
    }

    fn housekeeping(&mut self, now: DateTime<Utc>) {
        if self.last_heartbeat.elapsed() >= airtime::HEARTBEAT {
            self.last_heartbeat = Instant::now();
            if let Some(s) = &self.store {
                self.journal.heartbeat(s, now);
            }
        }
        if let Some(by) = self.demo_by {
            if !self.snapshot.counts.contains_key("settling") || Instant::now() >= by {
                self.demo_by = None;
                tracing::info!("demo: airing the first programme now");
                let acts = self.station.air_programme_now(0, now);
                self.exec(acts);
            }
        }
        if self.reload_at.is_some_and(|t| Instant::now() >= t) {
            self.reload_at = None;
            let _ = self.reload();
        }
        let st = self.status_line(now);
        if st != self.last_status {
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Status(&st)]);
            self.last_status = st;
        }
    }

    fn status_line(&self, now: DateTime<Utc>) -> String {
        let s = self.station.status(now);
        match (s.on_air, s.next) {
            (Some(a), _) => format!(
                "on air: {} — {}",
                a.programme.unwrap_or_else(|| "manual play".into()),
                a.title
            ),
            (None, Some(n)) => format!("idle; next: {} at {}", n.programme, n.at),
            (None, None) => "idle; nothing scheduled".into(),
        }
    }

    fn exec(&mut self, acts: Vec<Action>) {
        for a in acts {
            // One readable line per event.
            match &a {
                Action::Cue(plan) => tracing::debug!(
                    "cue run {} at {} ({} items)",
                    plan.run,
                    plan.at,
                    plan.items.len()
                ),
                Action::Cut(_) => {}
                Action::Start { airing, .. } => tracing::info!(
                    "on air: {} › {}{}",
                    airing.programme.as_deref().unwrap_or("manual play"),
                    airing.title.as_deref().unwrap_or("?"),
                    airing
                        .category
                        .as_deref()
                        .map(|c| format!(" [{c}]"))
                        .unwrap_or_default()
                ),
                Action::Finish {
                    status,
                    played,
                    reason,
                    ..
                } => {
                    let why = reason
                        .as_deref()
                        .map(|r| format!(" — {r}"))
                        .unwrap_or_default();
                    tracing::info!(
                        "{}: {}{why}",
                        status.as_str(),
                        crate::config::format_duration(*played)
                    );
                }
                Action::Record {
                    airing,
                    status,
                    reason,
                } => {
                    tracing::warn!(
                        "{} {}: {reason}",
                        airing.programme.as_deref().unwrap_or("manual play"),
                        status.as_str()
                    )
                }
            }
            if let Some(s) = &self.store {
                if let Err(e) = self.journal.apply(s, &a) {
                    tracing::error!("{e} — this airing is not fully logged");
                }
            }
            match a {
                Action::Cue(plan) => self.player.cue(plan),
                Action::Cut(run) => self.player.cut(run),
                _ => {}
            }
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
        self.station.set_library(self.snapshot.candidates.clone());
        let Some(cand) = self
            .snapshot
            .candidates
            .iter()
            .find(|x| x.id == id)
            .cloned()
        else {
            return;
        };
        let fresh = std::fs::metadata(&cand.path)
            .and_then(|m| m.modified())
            .map(|t| t.elapsed().unwrap_or_default() < FRESH)
            .unwrap_or(false);
        if !fresh || !cand.valid_at(now) {
            tracing::info!("emergency folder: {id} is not new; not broadcasting it again");
            return;
        }
        tracing::warn!(
            "EMERGENCY: {} — interrupting the programme on air",
            cand.title
        );
        let entry = self.station.entry_from_candidate(&cand);
        let acts = self.station.emergency(entry, now);
        self.exec(acts);
    }

    fn control(&mut self, req: Request, now: DateTime<Utc>) -> Reply {
        match req {
            Request::Status => {
                let s = self.station.status(now);
                let counts: serde_json::Value =
                    serde_json::to_value(&self.snapshot.counts).unwrap_or_default();
                let status = serde_json::json!({
                    "station": self.config.station.name,
                    "config": self.config.file,
                    "timezone": self.config.station.timezone.name(),
                    "output": self.player.describe(),
                    "latency_ms": self.player.latency().map(|d| d.as_secs_f64() * 1e3),
                    "up_since": crate::local::rfc3339(self.started, self.config.station.timezone),
                    "library": counts,
                    "on_air": s.on_air,
                    "next": s.next,
                    "waiting": s.waiting,
                    "emergency_active": s.emergency_active,
                    "last_error": s.last_error.or_else(|| self.store.as_ref().and_then(|st| st.last_event("error").ok().flatten()).map(|(_, m)| m)),
                });
                Reply {
                    ok: true,
                    message: self.status_line(now),
                    status: Some(status),
                }
            }
            Request::Play {
                file,
                category,
                emergency,
            } => {
                let entry = match (&file, &category) {
                    (Some(f), _) => self.station.entry_for_file(f),
                    (None, Some(c)) => {
                        if let Err(e) = self.config.known_category(Some(c)) {
                            return Reply::err(e);
                        }
                        self.station.pick_from(c, now).ok_or_else(|| format!("category `{c}` has no item that may air now (`loaxa library --category {c}` shows why)"))
                    }
                    (None, None) => Err("say what to play: a FILE or --category KEY".into()),
                };
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => return Reply::err(e),
                };
                let title = entry.title.clone();
                if emergency {
                    let acts = self.station.emergency(entry, now);
                    self.exec(acts);
                    Reply::ok(format!("EMERGENCY broadcast of \"{title}\" starts now"))
                } else {
                    let (acts, now_) = self.station.play_now(vec![entry], now);
                    self.exec(acts);
                    Reply::ok(if now_ {
                        format!("playing \"{title}\" now")
                    } else {
                        format!("\"{title}\" will play when the programme on air ends")
                    })
                }
            }
            Request::Skip => match self.station.skip(now) {
                Some(acts) => {
                    self.exec(acts);
                    Reply::ok("skipped the item on air")
                }
                None => Reply::err("nothing is on air"),
            },
            Request::Stop => match self.station.stop(now) {
                Some(acts) => {
                    self.exec(acts);
                    Reply::ok("stopped the programme on air")
                }
                None => Reply::err("nothing is on air"),
            },
            Request::Reload => match self.reload() {
                Ok(()) => Reply::ok(format!("reloaded {}", self.config_path.display())),
                Err(e) => Reply::err(e),
            },
        }
    }

    /// Re-reads the config; an invalid one is reported and the last good one keeps running.
    fn reload(&mut self) -> Result<(), String> {
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Reloading]);
        let r = match load(&self.config_path) {
            Ok(c) => {
                let c = Arc::new(c);
                self.library.reload(&c);
                let new_spec = spec(&c, &self.output_override);
                if new_spec.to_string() != self.player.describe() && !self.player.busy() {
                    tracing::info!("output: now {new_spec}");
                    self.player = Box::new(RealPlayer::new(new_spec));
                }
                self.station.reload(c.clone());
                self.config = c;
                tracing::info!("reloaded {}", self.config_path.display());
                Ok(())
            }
            Err(d) => {
                for e in d.errors() {
                    tracing::error!("{e}");
                }
                let first = d.errors().next().map(|e| e.to_string()).unwrap_or_default();
                if let Some(s) = &self.store {
                    let _ = s.event(Utc::now(), "error", &first);
                }
                tracing::error!(
                    "the new configuration has errors; still running the last good one"
                );
                Err(format!("{}the last good configuration keeps running", d))
            }
        };
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        r
    }

    fn shutdown(&mut self, why: &str) -> i32 {
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
        let now = Utc::now();
        let acts = self
            .station
            .shutdown(now, &format!("daemon stopped ({why})"));
        self.exec(acts);
        if let Some(s) = &self.store {
            let _ = s.event(now, "info", &format!("daemon stopped ({why})"));
        }
        let _ = std::fs::remove_file(control::socket_path(&self.config.paths.state));
        tracing::info!("stopped ({why})");
        0
    }
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

fn spawn_control(listener: tokio::net::UnixListener, tx: mpsc::UnboundedSender<Msg>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut line = String::new();
                if BufReader::new(r).read_line(&mut line).await.is_err() {
                    return;
                }
                let reply = match serde_json::from_str::<Request>(&line) {
                    Ok(req) => {
                        let (rtx, rrx) = oneshot::channel();
                        if tx.send(Msg::Control(req, rtx)).is_err() {
                            return;
                        }
                        rrx.await
                            .unwrap_or_else(|_| Reply::err("the daemon is stopping"))
                    }
                    Err(e) => Reply::err(format!("bad request: {e}")),
                };
                let mut out = serde_json::to_string(&reply).unwrap_or_default();
                out.push('\n');
                let _ = w.write_all(out.as_bytes()).await;
            });
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
