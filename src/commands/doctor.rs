//! `loaxa doctor`: checks what a station needs and says, one line each, what is wrong and
//! how to fix it. The judgements are small functions of what was measured, so each is
//! tested on both sides.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;

use super::{EXIT_INVALID, EXIT_OK};
use crate::config::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub level: Level,
    pub what: &'static str,
    pub message: String,
    pub fix: Option<String>,
}

impl Finding {
    fn new(
        level: Level,
        what: &'static str,
        message: impl Into<String>,
        fix: Option<&str>,
    ) -> Finding {
        Finding {
            level,
            what,
            message: message.into(),
            fix: fix.map(str::to_string),
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tag = match self.level {
            Level::Ok => "OK  ",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        };
        write!(f, "{tag}  {}: {}", self.what, self.message)?;
        if let Some(x) = &self.fix {
            write!(f, " — {x}")?;
        }
        Ok(())
    }
}

/// Free space in the state folder: under 100 MB the log may stop being written.
pub fn judge_disk(free_bytes: u64) -> Finding {
    let mb = free_bytes / 1_000_000;
    if free_bytes < 100_000_000 {
        Finding::new(
            Level::Fail,
            "disk",
            format!("only {mb} MB free in the state folder"),
            Some("free space on this disk (old files, logs); the airtime log needs room to grow"),
        )
    } else if free_bytes < 1_000_000_000 {
        Finding::new(
            Level::Warn,
            "disk",
            format!("{mb} MB free in the state folder"),
            Some("free some space soon"),
        )
    } else {
        Finding::new(
            Level::Ok,
            "disk",
            format!("{:.1} GB free in the state folder", free_bytes as f64 / 1e9),
            None,
        )
    }
}

/// The kernel's clock state (`adjtimex`): return value 5 (TIME_ERROR) or the STA_UNSYNC
/// status bit mean no time service is keeping the clock right.
pub fn judge_clock(adjtimex_ret: i32, status: i32) -> Finding {
    const TIME_ERROR: i32 = 5;
    const STA_UNSYNC: i32 = 0x0040;
    if adjtimex_ret < 0 {
        Finding::new(
            Level::Warn,
            "clock",
            "cannot read the clock's synchronisation state",
            Some("check `timedatectl`"),
        )
    } else if adjtimex_ret == TIME_ERROR || status & STA_UNSYNC != 0 {
        Finding::new(
            Level::Warn,
            "clock",
            "the system clock is not synchronised (no NTP)",
            Some("programmes air by this clock: enable time sync with `timedatectl set-ntp true` (or install chrony)"),
        )
    } else {
        Finding::new(Level::Ok, "clock", "synchronised (NTP)", None)
    }
}

fn clock() -> Finding {
    // SAFETY: adjtimex with modes = 0 only reads the kernel's clock state into `tx`.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    let ret = unsafe { libc::adjtimex(&mut tx) };
    judge_clock(ret, tx.status)
}

fn free_bytes(p: &Path) -> Option<u64> {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: statvfs fills `s` for a NUL-terminated path.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    (unsafe { libc::statvfs(c.as_ptr(), &mut s) } == 0).then(|| s.f_bavail * s.f_frsize)
}

/// Whether a folder exists and this user can write in it (by writing a hidden file, which
/// the library ignores).
fn writable(p: &Path) -> Result<(), String> {
    if !p.is_dir() {
        return Err("does not exist".into());
    }
    let probe = p.join(format!(".loaxa-doctor-{}", std::process::id()));
    std::fs::write(&probe, b"x").map_err(|e| format!("cannot be written ({e})"))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn who() -> String {
    std::env::var("USER").unwrap_or_else(|_| {
        // SAFETY: geteuid has no preconditions.
        format!("uid {}", unsafe { libc::geteuid() })
    })
}

/// Runs every check; `tone` also plays a short test tone on the output.
pub fn checks(config_path: &Path, tone: bool) -> Vec<Finding> {
    let mut f = vec![];
    let now = Utc::now();
    let lens = crate::media::probe::Lengths::default();
    let config: Option<Config> = match crate::check::check(config_path, now, &|p| lens.get(p)) {
        Ok((c, w)) => {
            let warns = w.warnings().count();
            f.push(Finding::new(
                if warns > 0 { Level::Warn } else { Level::Ok },
                "config",
                format!(
                    "{} is valid ({} categories, {} programmes{})",
                    config_path.display(),
                    c.categories.len(),
                    c.programmes.len(),
                    if warns > 0 {
                        format!(", {warns} warnings")
                    } else {
                        String::new()
                    }
                ),
                (warns > 0).then_some("`loaxa check` shows the warnings"),
            ));
            Some(c)
        }
        Err(d) => {
            let first = d.errors().next().map(|e| e.to_string()).unwrap_or_default();
            f.push(Finding::new(
                Level::Fail,
                "config",
                format!("{} error(s); the first: {first}", d.errors().count()),
                Some("`loaxa check` lists them all"),
            ));
            None
        }
    };
    let Some(c) = config else {
        f.push(Finding::new(
            Level::Warn,
            "other checks",
            "skipped until the config is valid",
            None,
        ));
        return f;
    };

    // Folders.
    let mut bad = vec![];
    for cat in &c.categories {
        if let Err(e) = writable(&cat.folder) {
            bad.push(format!("{} {e}", cat.folder.display()));
        }
    }
    if bad.is_empty() {
        f.push(Finding::new(
            Level::Ok,
            "folders",
            format!(
                "{} category folders under {} are writable",
                c.categories.len(),
                c.paths.audio.display()
            ),
            None,
        ));
    } else {
        let fix = format!(
            "create them with `loaxa init {}`, or give user {} write access (chown)",
            c.base_dir().display(),
            who()
        );
        f.push(Finding::new(
            Level::Fail,
            "folders",
            bad.join("; "),
            Some(&fix),
        ));
    }
    match writable(&c.paths.state) {
        Ok(()) => f.push(Finding::new(
            Level::Ok,
            "state",
            format!("{} is writable", c.paths.state.display()),
            None,
        )),
        Err(e) => {
            let fix = format!("create it and give user {} write access", who());
            f.push(Finding::new(
                Level::Fail,
                "state",
                format!("{} {e}", c.paths.state.display()),
                Some(&fix),
            ));
        }
    }
    let space_at = if c.paths.state.is_dir() {
        c.paths.state.clone()
    } else {
        c.base_dir().to_path_buf()
    };
    if let Some(b) = free_bytes(&space_at) {
        f.push(judge_disk(b));
    }

    // The audio output.
    let spec = crate::playout::output::Spec::parse(c.output.device.as_deref());
    f.push(audio(&spec, tone));

    // Clock and zone.
    f.push(clock());
    let tz = c.station.timezone;
    let sys_tz = std::fs::read_to_string("/etc/timezone")
        .ok()
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    f.push(Finding::new(
        Level::Ok,
        "timezone",
        format!(
            "the station airs by {tz} (now {} there); the system zone is {sys_tz}",
            now.with_timezone(&tz).format("%H:%M")
        ),
        None,
    ));

    // The daemon.
    f.push(
        match crate::control::unix::request(&c.paths.state, &crate::control::Command::Status) {
            Ok(Ok(o)) => Finding::new(
                Level::Ok,
                "daemon",
                format!("running: {}", o.message()),
                None,
            ),
            Ok(Err(e)) => Finding::new(Level::Warn, "daemon", format!("running, but: {e}"), None),
            Err(e @ crate::control::unix::ClientError::Denied(..)) => {
                Finding::new(Level::Warn, "daemon", e.to_string(), None)
            }
            Err(_) => Finding::new(
                Level::Fail,
                "daemon",
                "not running: nothing airs",
                Some("start it: `systemctl start loaxa` (service) or `loaxa run`"),
            ),
        },
    );

    // The console and the HTTP API.
    if let Some(h) = &c.http {
        f.push(console(&c, h));
    }

    // The databases.
    let log = crate::airtime::live_path(&c);
    f.push(if !log.exists() {
        Finding::new(Level::Ok, "airtime log", "none yet (created when the daemon first runs)", None)
    } else {
        match crate::airtime::Store::open_readonly(&log).and_then(|s| Ok((s.integrity()?, s.count()?))) {
            Ok((ok, n)) if ok == "ok" => Finding::new(Level::Ok, "airtime log", format!("{} is healthy ({n} airings)", log.display()), None),
            Ok((msg, _)) => Finding::new(Level::Fail, "airtime log", format!("{} is damaged: {msg}", log.display()), Some("keep a copy, then `sqlite3 airtime.db .recover > fixed.sql`; ask the technician")),
            Err(e) => Finding::new(Level::Fail, "airtime log", format!("{e}"), Some("stop loaxa, move the file aside (keep it: it is the station's record), start again")),
        }
    });
    f
}

fn audio(spec: &crate::playout::output::Spec, tone: bool) -> Finding {
    use crate::playout::{PlayItem, PlayPlan, Player, PlayerEvent, RealPlayer};
    let mut p = RealPlayer::new(spec.clone());
    if let Err(e) = p.probe() {
        return Finding::new(Level::Fail, "audio", e.0, None);
    }
    if !tone {
        return Finding::new(
            Level::Ok,
            "audio",
            format!("the {spec} opens (`loaxa doctor --tone` plays a test tone)"),
            None,
        );
    }
    let dir = std::env::temp_dir().join(format!("loaxa-tone-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let wav = dir.join("tone.wav");
    if let Err(e) = write_tone(&wav) {
        return Finding::new(
            Level::Warn,
            "audio",
            format!("the {spec} opens, but the test tone could not be made: {e}"),
            None,
        );
    }
    p.cue(PlayPlan {
        run: 1,
        at: Utc::now() + chrono::Duration::milliseconds(500),
        replace: false,
        items: vec![PlayItem {
            gain: 0.5,
            expect: Some(Duration::from_secs(1)),
            ..PlayItem::file(&wav)
        }],
    });
    let t = std::time::Instant::now();
    let mut played = None;
    while t.elapsed() < Duration::from_secs(5) {
        for e in p.poll() {
            match e {
                PlayerEvent::Ended { played: d, .. } => played = Some(d),
                PlayerEvent::Failed { reason, .. } => {
                    return Finding::new(Level::Fail, "audio", reason, None)
                }
                _ => {}
            }
        }
        if played.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(&dir);
    match played {
        Some(d) if d >= Duration::from_millis(900) => Finding::new(
            Level::Ok,
            "audio",
            format!("played a 1 s test tone on the {spec} — did you hear it on the loudspeakers?"),
            None,
        ),
        _ => Finding::new(
            Level::Fail,
            "audio",
            format!("the {spec} opened but the test tone did not play through"),
            Some("check the device with `loaxa devices` and the mixer (alsamixer)"),
        ),
    }
}

fn write_tone(p: &Path) -> Result<(), hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(p, spec)?;
    for i in 0..48_000u32 {
        let env = (i.min(48_000 - i) as f64 / 2400.0).min(1.0);
        w.write_sample(
            (f64::sin(i as f64 * 440.0 * std::f64::consts::TAU / 48_000.0) * env * 16000.0) as i16,
        )?;
    }
    w.finalize()
}

/// Whether the console answers where the daemon says it listens, and whether anyone can
/// log in to it.
fn console(c: &Config, h: &crate::config::Http) -> Finding {
    let status = crate::control::unix::request(&c.paths.state, &crate::control::Command::Status);
    let at = match status {
        Ok(Ok(crate::control::Outcome::Status(s))) => s.console.clone(),
        _ => {
            return Finding::new(
                Level::Warn,
                "console",
                format!("configured on {}, but the daemon is not running", h.listen),
                None,
            )
        }
    };
    let Some(at) = at else {
        return Finding::new(
            Level::Fail,
            "console",
            format!("the daemon could not listen on {}", h.listen),
            Some("another program may use that port: set `http.listen` to another and restart"),
        );
    };
    let addr = at
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .replace("0.0.0.0", "127.0.0.1");
    let answers = addr
        .parse::<std::net::SocketAddr>()
        .ok()
        .and_then(|a| {
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)).ok()
        })
        .is_some();
    if !answers {
        return Finding::new(
            Level::Fail,
            "console",
            format!("{at} does not answer"),
            None,
        );
    }
    let users = crate::access::Access::open(&crate::airtime::live_path(c))
        .and_then(|a| a.users())
        .map(|u| u.len())
        .unwrap_or(0);
    if users == 0 {
        return Finding::new(
            Level::Warn,
            "console",
            format!("answers at {at}, but no account can log in"),
            Some("add one: `loaxa user add NAME --role admin --password-stdin`"),
        );
    }
    Finding::new(
        Level::Ok,
        "console",
        format!("answers at {at} ({users} accounts)"),
        None,
    )
}

pub fn doctor_cmd(config_path: &Path, tone: bool, out: &mut dyn Write) -> i32 {
    let f = checks(config_path, tone);
    for x in &f {
        let _ = writeln!(out, "{x}");
    }
    let fails = f.iter().filter(|x| x.level == Level::Fail).count();
    let _ = writeln!(
        out,
        "{}",
        if fails == 0 {
            "All checks passed.".to_string()
        } else {
            format!("{fails} problem(s) found.")
        }
    );
    if fails == 0 {
        EXIT_OK
    } else {
        EXIT_INVALID
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_space_is_judged_by_what_is_left() {
        assert_eq!(judge_disk(50_000_000).level, Level::Fail);
        assert!(judge_disk(50_000_000)
            .to_string()
            .starts_with("FAIL  disk: only 50 MB free"));
        assert_eq!(judge_disk(500_000_000).level, Level::Warn);
        assert_eq!(judge_disk(20_000_000_000).level, Level::Ok);
    }

    #[test]
    fn an_unsynchronised_clock_is_reported_with_the_fix() {
        assert_eq!(judge_clock(0, 0).level, Level::Ok);
        let w = judge_clock(5, 0);
        assert_eq!(w.level, Level::Warn);
        assert!(w.to_string().contains("timedatectl set-ntp true"));
        assert_eq!(judge_clock(0, 0x0040).level, Level::Warn);
        assert_eq!(judge_clock(-1, 0).level, Level::Warn);
    }
}
