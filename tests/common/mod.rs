//! Helpers shared by the integration tests: a station folder in a temp dir, and the real
//! `loaxa` binary run against it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_loaxa"))
}

/// A throw-away station: `schedule.yaml` + `audio/` with the demo jingles.
pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    pub fn new() -> Site {
        let dir = tempfile::tempdir().expect("tempdir");
        let jingles = dir.path().join("audio/nhac-hieu");
        std::fs::create_dir_all(&jingles).unwrap();
        for f in ["mo-dau.mp3", "ket-thuc.mp3", "canh-bao.mp3"] {
            std::fs::copy(repo().join("audio/nhac-hieu").join(f), jingles.join(f)).unwrap();
        }
        Site { dir }
    }

    /// A station holding the repository's example config and demo audio.
    pub fn example() -> Site {
        let s = Site::new();
        copy_dir(&repo().join("audio"), &s.dir.path().join("audio"));
        // Its console on a port of its own: tests run side by side (and beside a real
        // station on this PC).
        let text = std::fs::read_to_string(repo().join("schedule.yaml")).unwrap();
        let text = text.replace("listen: 0.0.0.0:8080", "listen: 127.0.0.1:0");
        assert!(
            text.contains("listen: 127.0.0.1:0"),
            "the example's console"
        );
        std::fs::write(s.config(), text).unwrap();
        s
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("schedule.yaml")
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(self.config(), text).unwrap();
    }

    /// Runs `loaxa ARGS --config schedule.yaml` in the station folder.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(bin())
            .args(args)
            .arg("--config")
            .arg(self.config())
            .current_dir(self.path())
            .env_remove("LOAXA_CONFIG")
            .env("RUST_LOG", "warn")
            .output()
            .expect("run loaxa")
    }

    /// What the running daemon's `status --format json` says; None while it does not answer.
    pub fn status_json(&self) -> Option<serde_json::Value> {
        let out = self.run(&["status", "--format", "json"]);
        if !out.status.success() {
            return None;
        }
        Some(serde_json::from_slice(&out.stdout).expect("status --format json is JSON"))
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
            // Keep the mtime, as `cp -p` would: a fresh one means "still being copied".
            let mtime = e.metadata().unwrap().modified().unwrap();
            std::fs::File::options()
                .append(true)
                .open(&dst)
                .unwrap()
                .set_modified(mtime)
                .unwrap();
        }
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A mono 16-bit 48 kHz WAV: `secs` of a tone at `amp` (0–1), with `pad` s of silence
/// around it; its mtime set two minutes back (copied a while ago).
pub fn tone(path: &Path, freq: f64, secs: f64, amp: f64, pad: f64) {
    tone_at(path, 48_000, freq, secs, amp, pad)
}

/// [`tone`] at another sample rate (long test items stay small at 8 kHz).
pub fn tone_at(path: &Path, rate: u32, freq: f64, secs: f64, amp: f64, pad: f64) {
    let (p, n) = ((pad * rate as f64) as u32, (secs * rate as f64) as u32);
    let pcm: Vec<i16> = (0..p * 2 + n)
        .map(|i| {
            if i >= p && i < p + n {
                (f64::sin((i - p) as f64 * freq * std::f64::consts::TAU / rate as f64)
                    * amp
                    * 32767.0) as i16
            } else {
                0
            }
        })
        .collect();
    wav(path, rate, &pcm)
}

/// A mono 16-bit WAV of these samples, its mtime two minutes back (copied a while ago).
pub fn wav(path: &Path, rate: u32, pcm: &[i16]) {
    use std::io::Write;
    let data = pcm.len() as u32 * 2;
    let mut b = Vec::with_capacity(44 + data as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 2).to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    for v in pcm {
        b.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::File::create(path).unwrap().write_all(&b).unwrap();
    let f = std::fs::File::options().append(true).open(path).unwrap();
    f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(120))
        .unwrap();
}

/// Starts the audio rig (tests/rig/start.sh; idempotent).
pub fn start_rig() {
    start_rig_in(None)
}

/// Starts the rig whose files live in `dir` (None: the shared one).
pub fn start_rig_in(dir: Option<&Path>) {
    let mut c = Command::new(repo().join("tests/rig/start.sh"));
    if let Some(d) = dir {
        c.env("RIG_DIR", d);
    }
    let st = c
        .output()
        .expect("tests/rig/start.sh (needs pulseaudio: scripts/test installs it)");
    assert!(st.status.success(), "the audio rig did not start (scripts/test installs pulseaudio, pulseaudio-utils, libasound2-plugins): {}", String::from_utf8_lossy(&st.stderr));
}

/// The environment that points ALSA's default device at the rig.
pub fn rig_env() -> Vec<(String, String)> {
    rig_env_in(None)
}

/// The environment of the rig whose files live in `dir` (None: the shared one).
pub fn rig_env_in(dir: Option<&Path>) -> Vec<(String, String)> {
    let mut c = Command::new("bash");
    if let Some(d) = dir {
        c.env("RIG_DIR", d);
    }
    let out = c
        .arg("-c")
        .arg(format!(". {}/tests/rig/env.sh && env", repo().display()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| {
            [
                "RIG_DIR",
                "XDG_RUNTIME_DIR",
                "PULSE_SERVER",
                "PULSE_COOKIE",
                "PULSE_SINK",
            ]
            .contains(k)
        })
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A PulseAudio server of one test's own, for a test that stops and restarts its sound
/// server: the shared rig other tests play through is never touched. Stopped on drop.
pub struct PrivateRig {
    pub dir: tempfile::TempDir,
}

impl PrivateRig {
    pub fn start() -> PrivateRig {
        let dir = tempfile::Builder::new()
            .prefix("rig")
            .tempdir_in("/tmp")
            .unwrap();
        start_rig_in(Some(dir.path()));
        PrivateRig { dir }
    }

    pub fn env(&self) -> Vec<(String, String)> {
        rig_env_in(Some(self.dir.path()))
    }

    /// Stops the server (a sound card pulled out).
    pub fn stop(&self) {
        let st = Command::new(repo().join("tests/rig/stop.sh"))
            .env("RIG_DIR", self.dir.path())
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Starts it again (the card is back).
    pub fn restart(&self) {
        start_rig_in(Some(self.dir.path()));
    }
}

impl Drop for PrivateRig {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("tests/rig/stop.sh"))
            .env("RIG_DIR", self.dir.path())
            .status();
    }
}

/// A TCP port on loopback for a test's own server, free when handed out and handed out once
/// per test process. Taken from the 8 000 ports just below the kernel's ephemeral range:
/// binding port 0 returned an ephemeral port, which an outgoing connection could take
/// before the test's server bound it (fresh-clone CI run 53: "icecast2 does not answer"),
/// and which a second bind(0) could return again to a test running beside it.
/// A memory figure of a live process from /proc, kB: `VmRSS` (now) or `VmHWM` (its peak).
pub fn memory_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("process {pid} is gone: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let low: u32 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let base = low.saturating_sub(8000).max(1024);
    let span = low.saturating_sub(base).max(1);
    // Each test process starts at its own place, so two at once do not walk the same ports.
    let start = std::process::id().wrapping_mul(97);
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (base + start.wrapping_add(n) % span) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {base}..{low}");
}

/// A private icecast2 on loopback, for one test: its own config, port and folder; stopped
/// when dropped. `scripts/test` installs Debian's `icecast2`.
pub struct Icecast {
    pub dir: PathBuf,
    pub port: u16,
    pub password: String,
}

impl Icecast {
    pub fn start() -> Icecast {
        // icecast2 refuses to run as root: it changes to `nobody`, who must reach its folder.
        let dir = tempfile::Builder::new()
            .prefix("ice")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .unwrap();
        let port = free_port();
        let ice = Icecast {
            dir,
            port,
            password: "mat-khau-nguon".into(),
        };
        let xml = format!(
            r#"<icecast>
  <limits><clients>400</clients><sources>4</sources><queue-size>524288</queue-size>
    <source-timeout>10</source-timeout><burst-on-connect>0</burst-on-connect><burst-size>0</burst-size></limits>
  <authentication><source-password>{pw}</source-password>
    <admin-user>admin</admin-user><admin-password>{pw}-admin</admin-password></authentication>
  <hostname>127.0.0.1</hostname><location>{loc}</location>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>1</fileserve>
  <paths><basedir>{d}</basedir><logdir>{d}</logdir><pidfile>{d}/icecast.pid</pidfile>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>
  <security><chroot>0</chroot><changeowner><user>nobody</user><group>nogroup</group></changeowner></security>
</icecast>
"#,
            pw = ice.password,
            d = ice.dir.display(),
            loc = ice.token()
        );
        std::fs::write(ice.dir.join("icecast.xml"), xml).unwrap();
        ice.run();
        ice
    }

    fn run(&self) {
        let st = Command::new("icecast2")
            .arg("-b")
            .arg("-c")
            .arg(self.dir.join("icecast.xml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("icecast2 (scripts/test installs it)");
        assert!(st.success(), "icecast2 did not start");
        // The server that answers must be this one (its location is this test's folder):
        // a server of another test on the same port would take this test's sources.
        let t = std::time::Instant::now();
        while !self
            .get("/status-json.xsl")
            .is_some_and(|b| b.contains(&self.token()))
        {
            assert!(
                t.elapsed() < std::time::Duration::from_secs(10),
                "icecast2 of {} does not answer on port {}: {:?}\n{}",
                self.dir.display(),
                self.port,
                self.get("/status-json.xsl"),
                self.error_log()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// What names this server in its status: its folder's name.
    fn token(&self) -> String {
        self.dir.file_name().unwrap().to_string_lossy().into_owned()
    }

    /// A GET on the server; the body, or None if it does not answer.
    pub fn get(&self, path: &str) -> Option<String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(std::time::Duration::from_secs(3)))
            .ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        out.contains(" 200 ")
            .then(|| out.split("\r\n\r\n").nth(1).unwrap_or("").to_string())
    }

    /// Whether `mount` has a source now.
    pub fn has_source(&self, mount: &str) -> bool {
        self.get("/status-json.xsl")
            .is_some_and(|b| b.contains(&format!("/{}\"", mount.trim_start_matches('/'))))
    }

    pub fn url(&self, mount: &str) -> String {
        format!("http://127.0.0.1:{}{mount}", self.port)
    }

    /// The last lines of icecast2's error log, for a failing test's message.
    pub fn error_log(&self) -> String {
        let all = std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
        let lines: Vec<&str> = all.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    pub fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.join("icecast.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Kills the server (the network link to it is gone).
    pub fn kill(&self) {
        if let Some(pid) = self.pid() {
            // SAFETY: signalling the server this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let t = std::time::Instant::now();
            while self.get("/status-json.xsl").is_some() && t.elapsed().as_secs() < 5 {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        let _ = std::fs::remove_file(self.dir.join("icecast.pid"));
    }

    /// Starts it again on the same port.
    pub fn restart(&self) {
        self.run();
    }
}

impl Drop for Icecast {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a listener received: (arrival time, bytes so far) per read, and the bytes.
type Received = (Vec<(std::time::SystemTime, usize)>, Vec<u8>);

/// A receiver on an Icecast mount: it records the stream's bytes with the time each
/// arrived. When a sound was heard is found afterwards: the capture is decoded (ffmpeg) and
/// the first loud sample mapped back, through the constant bitrate, to the byte that
/// carried it and so to when that byte arrived. No decoder buffering skews the figure.
pub struct Listener {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    got: std::sync::Arc<std::sync::Mutex<Received>>,
    kbps: u32,
    dir: tempfile::TempDir,
}

impl Listener {
    pub fn start(port: u16, mount: &str, kbps: u32) -> Listener {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "GET {mount} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_millis(500)))
            .unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let got = std::sync::Arc::new(std::sync::Mutex::new((vec![], vec![])));
        let (stop2, got2) = (stop.clone(), got.clone());
        std::thread::spawn(move || {
            let mut head = vec![];
            let mut b = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && s.read_exact(&mut b).is_ok() {
                head.push(b[0]);
            }
            let mut buf = [0u8; 8192];
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                match s.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let at = std::time::SystemTime::now();
                        let mut g = got2.lock().unwrap();
                        g.1.extend_from_slice(&buf[..n]);
                        let total = g.1.len();
                        g.0.push((at, total));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                    Err(_) => break,
                }
            }
        });
        Listener {
            stop,
            got,
            kbps,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// When sound (RMS above 0.05 in a 20 ms block) first arrived at or after `from`.
    pub fn heard_after(&self, from: std::time::SystemTime) -> Option<std::time::SystemTime> {
        let (log, data) = self.got.lock().unwrap().clone();
        // The listener joined mid-frame: start at the first MP3 frame header.
        let start = (0..data.len().saturating_sub(4)).find(|&i| {
            data[i] == 0xFF && data[i + 1] & 0xE0 == 0xE0 && !matches!(data[i + 2] & 0xF0, 0 | 0xF0)
        })?;
        let mp3 = self.dir.path().join("capture.mp3");
        std::fs::write(&mp3, &data[start..]).unwrap();
        let pcm = Command::new("ffmpeg")
            .args(["-loglevel", "error", "-i"])
            .arg(&mp3)
            .args(["-f", "s16le", "-ac", "1", "-ar", "8000", "-"])
            .output()
            .expect("ffmpeg (scripts/test installs it)")
            .stdout;
        let bytes_per_s = self.kbps as f64 * 125.0;
        let arrival = |sample: usize| {
            let byte = start + (sample as f64 / 8000.0 * bytes_per_s) as usize;
            log.iter().find(|(_, total)| *total > byte).map(|(t, _)| *t)
        };
        for (i, block) in pcm.chunks_exact(320).enumerate() {
            let rms = (block
                .chunks_exact(2)
                .map(|c| (i16::from_le_bytes([c[0], c[1]]) as f64 / 32768.0).powi(2))
                .sum::<f64>()
                / 160.0)
                .sqrt();
            let at = arrival(i * 160)?;
            if at >= from && rms > 0.05 {
                // The first loud sample within the block.
                let first = block
                    .chunks_exact(2)
                    .position(|c| i16::from_le_bytes([c[0], c[1]]).unsigned_abs() > 1600)
                    .unwrap_or(0);
                return arrival(i * 160 + first);
            }
        }
        None
    }

    /// The loudest 20 ms block of an Ogg stream received so far (decoded by ffmpeg from the
    /// first Ogg page), as RMS 0–1.
    pub fn ogg_peak_rms(&self) -> f64 {
        let data = self.got.lock().unwrap().1.clone();
        let Some(start) = data.windows(4).position(|w| w == b"OggS") else {
            return 0.0;
        };
        let f = self.dir.path().join("capture.ogg");
        std::fs::write(&f, &data[start..]).unwrap();
        let pcm = Command::new("ffmpeg")
            .args(["-loglevel", "error", "-i"])
            .arg(&f)
            .args(["-f", "s16le", "-ac", "1", "-ar", "8000", "-"])
            .output()
            .unwrap()
            .stdout;
        pcm.chunks_exact(320)
            .map(|b| {
                (b.chunks_exact(2)
                    .map(|c| (i16::from_le_bytes([c[0], c[1]]) as f64 / 32768.0).powi(2))
                    .sum::<f64>()
                    / 160.0)
                    .sqrt()
            })
            .fold(0.0, f64::max)
    }

    /// Whether the received bytes contain `needle` (an Ogg comment, say).
    pub fn received_contains(&self, needle: &[u8]) -> bool {
        self.got
            .lock()
            .unwrap()
            .1
            .windows(needle.len())
            .any(|w| w == needle)
    }

    /// How many seconds of stream it has received.
    pub fn seconds(&self) -> f64 {
        self.got.lock().unwrap().1.len() as f64 / (self.kbps as f64 * 125.0)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A recording of the rig's output (tests/rig/capture.py), analysed into the segments of
/// sound it heard, each with its wall-clock start and end.
pub struct Capture {
    child: std::process::Child,
    out: PathBuf,
}

#[derive(Debug, serde::Deserialize)]
pub struct Segment {
    pub start_ns: i128,
    pub end_ns: i128,
    pub dur_s: f64,
}

/// A run of one pure tone in a capture (`hz` 0: silence).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Tone {
    pub hz: u32,
    pub start_ns: i128,
    pub end_ns: i128,
    pub dur_s: f64,
}

impl Capture {
    pub fn start(env: &[(String, String)], out: &Path) -> Capture {
        Capture::start_from(env, out, "rig.monitor")
    }

    /// Records another PulseAudio source of the rig (e.g. a microphone's).
    pub fn start_from(env: &[(String, String)], out: &Path, device: &str) -> Capture {
        let child = Command::new("python3")
            .arg(repo().join("tests/rig").join("capture.py"))
            .arg("record")
            .arg(out)
            .arg(format!("--device={device}"))
            .envs(env.iter().cloned())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(700));
        Capture {
            child,
            out: out.to_path_buf(),
        }
    }

    /// Stops recording; which tone sounded when (runs of 20 ms windows), and the
    /// segments of sound (to the sample).
    pub fn tones(mut self) -> (Vec<Tone>, Vec<Segment>) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap();
        let o = Command::new("python3")
            .arg(repo().join("tests/rig").join("capture.py"))
            .arg("tones")
            .arg(&self.out)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
        (
            serde_json::from_value(v["tones"].clone()).unwrap(),
            serde_json::from_value(v["segments"].clone()).unwrap(),
        )
    }

    pub fn stop(mut self) -> Vec<Segment> {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap();
        let o = Command::new("python3")
            .arg(repo().join("tests/rig").join("capture.py"))
            .arg("analyze")
            .arg(&self.out)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
        serde_json::from_value(v["segments"].clone()).unwrap()
    }
}

/// `loaxa run ARGS` on `st` with a rig's environment `env` (this process's own PulseAudio
/// variables removed first, so the daemon reaches that rig only); its log goes to
/// `st/daemon.log`.
pub fn daemon(st: &Site, env: &[(String, String)], args: &[&str]) -> std::process::Child {
    use std::process::Stdio;
    let mut c = Command::new(bin());
    c.arg("run")
        .args(args)
        .arg("--config")
        .arg(st.config())
        .current_dir(st.path())
        .env_remove("LOAXA_CONFIG")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(st.path().join("daemon.log")).unwrap());
    for k in [
        "PULSE_SERVER",
        "XDG_RUNTIME_DIR",
        "PULSE_COOKIE",
        "PULSE_SINK",
    ] {
        c.env_remove(k);
    }
    c.envs(env.iter().cloned());
    c.spawn().unwrap()
}

/// The daemon's log so far (see [`daemon`]).
pub fn daemon_log(st: &Site) -> String {
    std::fs::read_to_string(st.path().join("daemon.log")).unwrap_or_default()
}

/// SIGTERM to a daemon from [`daemon`]; waits for it and returns its log.
pub fn stop_daemon(mut c: std::process::Child, st: &Site) -> String {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
    let _ = c.wait();
    daemon_log(st)
}

/// A daily start 12 hours (plus `extra`) from now in the stations' time zone, as a cron
/// expression and its hour: a programme that cannot fire while a test runs, whatever
/// the hour the suite runs at (a fixed "05:00" fires when a run crosses 22:00 UTC).
pub fn far_daily(extra: u32) -> (String, u32) {
    use chrono::Timelike;
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
    let h = (now.hour() + 12 + extra) % 24;
    (format!("0 0 {h} * * *"), h)
}
