//! `schedule.yaml`: the whole configuration of a station, its model and its validation.
//!
//! Loading never stops at the first problem: each section, category, programme and segment
//! is read on its own, so one typo does not hide the next, and every problem comes back as
//! a [`Diagnostic`] with the file, line and column and what to do about it.

pub mod cron;
pub mod diag;
pub mod locate;
pub mod values;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_yaml::Value;

pub use self::cron::CronSpec;
pub use self::diag::{did_you_mean, Diagnostic, Diagnostics, Pos, Severity};
use self::locate::{join_index, join_key, Locator};
pub use self::values::{
    format_duration, AfterEmergency, Date, HumanDuration, Period, Pick, Priority, TimeRange,
};

/// The default config file, looked up in the working directory.
pub const DEFAULT_CONFIG: &str = "schedule.yaml";
pub const DEFAULT_TIMEZONE: Tz = chrono_tz::Asia::Ho_Chi_Minh;
pub const DEFAULT_CATCH_UP: Duration = Duration::from_secs(600);
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(3);
/// Speech on horn loudspeakers wants to be loud and even: -16 LUFS, like spoken-word podcasts.
pub const DEFAULT_LOUDNESS: f64 = -16.0;

/// A validated station configuration. Paths are absolute.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub file: PathBuf,
    pub station: StationInfo,
    pub paths: Paths,
    pub output: Output,
    pub library: LibrarySettings,
    pub categories: Vec<Category>,
    pub programmes: Vec<Programme>,
    pub quiet_hours: Vec<TimeRange>,
    pub catch_up: Duration,
    pub emergency: Option<Emergency>,
    pub alarms: Alarms,
    /// The web console and HTTP API; off without an `http:` section.
    pub http: Option<Http>,
}

/// Where the web console and the HTTP API listen, and their limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Http {
    /// `127.0.0.1:8080` by default (this PC only); `0.0.0.0:8080` for the LAN.
    pub listen: std::net::SocketAddr,
    /// A console session ends after this long without a request.
    pub session: Duration,
    /// The largest upload taken, in bytes.
    pub max_upload: u64,
    /// The category an upstream bulletin lands in when it names none.
    pub bulletins: Option<String>,
}

pub const DEFAULT_MAX_UPLOAD: u64 = 200 * 1000 * 1000;

/// `200MB`, `500KB`, `1GB` or a number of bytes.
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..split].parse().ok()?;
    let mult = match s[split..].trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" | "K" => 1000,
        "MB" | "M" => 1000 * 1000,
        "GB" | "G" => 1000 * 1000 * 1000,
        _ => return None,
    };
    n.checked_mul(mult)
}

pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_SESSION: Duration = Duration::from_secs(8 * 3600);

/// When the output counts as dead air, and who is told.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarms {
    /// A 100 ms stretch whose peak stays below this (dBFS) is silence.
    pub silence_db: f64,
    /// Silence this long while something should air raises the alarm.
    pub after: Duration,
    /// Run with the alarm's message as its argument (an SMS through a GSM modem, say).
    pub command: Option<PathBuf>,
}

impl Default for Alarms {
    fn default() -> Alarms {
        Alarms {
            silence_db: -45.0,
            after: Duration::from_secs(3),
            command: None,
        }
    }
}

/// Who the station is: its name, its time zone, whom its report goes to.
#[derive(Debug, Clone)]
pub struct StationInfo {
    pub name: String,
    pub timezone: Tz,
    /// Who the monthly report is addressed to (free text).
    pub report_to: String,
}

#[derive(Debug, Clone)]
pub struct Paths {
    /// The hot folders' parent: `audio/<category>/`.
    pub audio: PathBuf,
    /// Where the airtime log, the library index and the control socket live.
    pub state: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Output {
    /// The master output: `default` (or absent), an ALSA device name, `wav:PATH` or `null`.
    pub device: Option<String>,
    /// Master volume, 0.0–1.0, applied on top of each item's loudness gain.
    pub volume: f32,
    /// Secondary outputs fed from what the master renders (`outputs:` in schedule.yaml).
    pub sinks: Vec<SinkSpec>,
}

/// A secondary output, by backend name (see `playout::sink::BACKENDS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// A recording of what airs; a `%` date pattern in the name starts a file per period.
    Wav(PathBuf),
    /// A mount on an Icecast server that IP loudspeakers listen to.
    Icecast(Box<Icecast>),
}

impl SinkSpec {
    /// The backend's name.
    pub fn kind(&self) -> &'static str {
        match self {
            SinkSpec::Wav(_) => "wav",
            SinkSpec::Icecast(_) => "icecast",
        }
    }
}

impl std::fmt::Display for SinkSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SinkSpec::Wav(p) => write!(f, "wav:{}", p.display()),
            // Never the password.
            SinkSpec::Icecast(i) => write!(f, "icecast:http://{}:{}{}", i.host, i.port, i.mount),
        }
    }
}

/// An Icecast mount loaxa is the source of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icecast {
    pub host: String,
    pub port: u16,
    /// `/name.mp3`.
    pub mount: String,
    pub user: String,
    pub password: Secret,
    pub format: StreamFormat,
    /// kb/s.
    pub bitrate: u32,
    /// 1 (mono: loudspeakers are, and it costs half the encoding) or 2.
    pub channels: u16,
    /// The stream's name and description, as listeners' players show them.
    pub name: Option<String>,
    pub description: Option<String>,
}

/// How a stream is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamFormat {
    Mp3,
    /// Opus in Ogg (libopus): half the bitrate of MP3 for the same speech; the output
    /// must run at 48 kHz (a soft clock does; a sound card usually does).
    Opus,
}

/// A password: it is never printed, not even in a debug dump.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub struct LibrarySettings {
    /// How long a file's size and mtime must stay unchanged before it is probed.
    pub settle: Duration,
    /// Hold an item back until its loudness is measured, instead of airing it at the
    /// category's default gain.
    pub wait_for_loudness: bool,
}

/// A kind of content with its own hot folder (chuyên mục).
#[derive(Debug, Clone)]
pub struct Category {
    pub key: String,
    /// Display name, in Vietnamese.
    pub name: String,
    pub folder: PathBuf,
    pub priority: Priority,
    pub pick: Pick,
    /// Items older than this (from their valid-from date) expire.
    pub max_age: Option<Duration>,
    /// Items longer than this are rejected.
    pub max_length: Option<Duration>,
    /// Integrated loudness target (LUFS) items are normalised to.
    pub loudness: f64,
    /// Gain (dB) for items whose loudness is not measured yet.
    pub gain_db: f64,
    pub target: Option<Target>,
    /// Its items wait as `pending` until an approver approves them (`approval: required`).
    pub approval: bool,
    pub pos: Pos,
}

/// An indicator from the plan (chỉ tiêu), e.g. at least 2 distinct items a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub measure: Measure,
    pub count: u32,
    pub per: Period,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Distinct items (bài) aired.
    DistinctItems,
    /// Airings (lượt phát).
    Airings,
}

/// A scheduled slot (chương trình).
#[derive(Debug, Clone)]
pub struct Programme {
    pub name: String,
    pub when: Vec<CronSpec>,
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub skip_dates: Vec<NaiveDate>,
    pub priority: Priority,
    pub max_duration: Option<Duration>,
    pub segments: Vec<Segment>,
    pub pos: Pos,
    pub when_pos: Vec<Pos>,
    pub max_duration_pos: Pos,
}

impl Programme {
    /// Whether the programme may air on this local date (its from/until window and skips).
    pub fn runs_on(&self, day: NaiveDate) -> bool {
        self.from.is_none_or(|f| day >= f)
            && self.until.is_none_or(|u| day <= u)
            && !self.skip_dates.contains(&day)
    }
}

#[derive(Debug, Clone)]
pub struct Segment {
    pub kind: SegmentKind,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SegmentKind {
    /// A station jingle or ident (nhạc hiệu), absolute path.
    Jingle(PathBuf),
    /// Picks from a category.
    Category {
        key: String,
        pick: Pick,
        /// How many items; None with `all`.
        count: Option<u32>,
    },
    /// A fixed file, absolute path.
    File(PathBuf),
    /// An internet radio stream aired for a window (tiếp sóng).
    Relay(Relay),
}

/// A relay segment: a stream, how long it airs, and what airs when it fails.
#[derive(Debug, Clone, PartialEq)]
pub struct Relay {
    pub url: String,
    /// What the log and the report call it (default: the stream's host).
    pub title: String,
    pub length: RelayLength,
    /// Tried in order when the stream fails or falls silent.
    pub fallback: Vec<Fallback>,
}

/// How long a relay airs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RelayLength {
    For(Duration),
    /// Until this local time (the next one after the relay begins).
    Until(chrono::NaiveTime),
}

/// What airs while a relay's stream is down.
#[derive(Debug, Clone, PartialEq)]
pub enum Fallback {
    Relay { url: String, title: String },
    Category { key: String, pick: Pick },
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Emergency {
    pub category: String,
    /// How many times each emergency item airs in all.
    pub repeat: u32,
    /// Time between the starts of two repeats.
    pub every: Duration,
    pub alert_tone: Option<PathBuf>,
    pub after: AfterEmergency,
    pub pos: Pos,
}

impl Config {
    pub fn category(&self, key: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.key == key)
    }

    /// Checks a category named on the command line or the control socket (None: all);
    /// the error lists the categories there are.
    pub fn known_category(&self, key: Option<&str>) -> Result<(), String> {
        match key {
            Some(k) if self.category(k).is_none() => {
                let keys: Vec<&str> = self.categories.iter().map(|c| c.key.as_str()).collect();
                Err(format!(
                    "unknown category `{k}` — the categories are {}",
                    keys.join(", ")
                ))
            }
            _ => Ok(()),
        }
    }

    /// Every file the configuration names to play as is: jingles, fixed segments and the
    /// alert tone (absolute paths, each once).
    pub fn fixed_files(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self
            .programmes
            .iter()
            .flat_map(|p| &p.segments)
            .flat_map(|s| match &s.kind {
                SegmentKind::Jingle(f) | SegmentKind::File(f) => vec![f.clone()],
                SegmentKind::Category { .. } => vec![],
                SegmentKind::Relay(r) => r
                    .fallback
                    .iter()
                    .filter_map(|f| match f {
                        Fallback::File(p) => Some(p.clone()),
                        _ => None,
                    })
                    .collect(),
            })
            .chain(self.emergency.iter().filter_map(|e| e.alert_tone.clone()))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether a local time of day falls in quiet hours.
    pub fn in_quiet_hours(&self, t: chrono::NaiveTime) -> bool {
        self.quiet_hours.iter().any(|q| q.contains(t))
    }

    /// The config file's folder: relative paths in it are resolved from here.
    pub fn base_dir(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new("."))
    }
}

/// A loaded configuration with the warnings it raised.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Diagnostics,
}

/// The state folder a config names, even when the rest of the file has errors: the
/// control clients need only this to reach a daemon that still runs the last good config.
pub fn state_dir(path: &Path) -> PathBuf {
    lenient_path(path, "state")
}

/// The audio folder a config names, read leniently like [`state_dir`].
pub fn audio_dir(path: &Path) -> PathBuf {
    lenient_path(path, "audio")
}

fn lenient_path(path: &Path, key: &str) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let base = abs.parent().map(Path::to_path_buf).unwrap_or_default();
    let named = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_yaml::from_str::<Value>(&t).ok())
        .and_then(|v| v.get("paths")?.get(key)?.as_str().map(PathBuf::from));
    base.join(named.unwrap_or_else(|| key.into()))
}

/// Reads and validates a config file. Err holds every error found (and the warnings).
/// A schedule.yaml this long is not one a person wrote: refused before parsing.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;
/// Flow brackets nested deeper than this are refused before parsing (a hostile file must
/// not make a reload take seconds).
const MAX_NESTING: usize = 64;

pub fn load(path: &Path) -> Result<Loaded, Diagnostics> {
    let one = |pos: Pos, msg: String, hint: &str| {
        Err(Diagnostics(vec![
            Diagnostic::error(path, pos, msg).hint(hint)
        ]))
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                "create one with `loaxa init DIR`, or name it with --config FILE or LOAXA_CONFIG"
            } else {
                "check the file's permissions and that it is UTF-8 text"
            };
            return Err(Diagnostics(vec![Diagnostic::error(
                path,
                Pos { line: 0, col: 0 },
                format!("cannot read the config file: {e}"),
            )
            .hint(hint)]));
        }
    };
    if bytes.len() > MAX_CONFIG_BYTES {
        return one(
            Pos::START,
            format!(
                "the file is {} KiB; a schedule is a few KiB",
                bytes.len() / 1024
            ),
            "check that this is the right file",
        );
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let good = std::str::from_utf8(good).unwrap_or_default();
            let line = good.matches('\n').count() + 1;
            let col = good.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            return one(
                Pos { line, col },
                "the file is not UTF-8 text (Vietnamese letters in another encoding?)".into(),
                "save it as UTF-8: in Notepad, Save As → Encoding: UTF-8; or `iconv -f CP1258 -t UTF-8`",
            );
        }
    };
    load_str(&text, path)
}

/// The first place flow brackets (`[`, `{`) nest deeper than [`MAX_NESTING`], if any.
fn too_deep(text: &str) -> Option<Pos> {
    let (mut depth, mut line, mut col) = (0usize, 1, 0);
    let mut quote: Option<char> = None;
    for c in text.chars() {
        col += 1;
        match (quote, c) {
            (_, '\n') => {
                line += 1;
                col = 0;
                if quote == Some('#') {
                    quote = None;
                }
            }
            (Some(q), c) if c == q && q != '#' => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => quote = Some('#'),
            (None, '[' | '{') => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(Pos { line, col });
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Text from which the two reads of a document run on two threads (~1 000 lines).
const PARALLEL_READ: usize = 32 * 1024;

/// Validates config text as if it were read from `path`.
pub fn load_str(text: &str, path: &Path) -> Result<Loaded, Diagnostics> {
    // A byte-order mark (Windows Notepad writes one) is not part of the YAML.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(pos) = too_deep(text) {
        return Err(Diagnostics(vec![Diagnostic::error(
            path,
            pos,
            format!("brackets nested more than {MAX_NESTING} deep"),
        )
        .hint(
            "a schedule needs a few levels; check for a runaway `[` or `{`",
        )]));
    }
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    // The values and the positions are two reads of the text; a large schedule (thousands
    // of programmes) has them read side by side.
    let (loc, doc) = if text.len() >= PARALLEL_READ {
        std::thread::scope(|sc| {
            let loc = sc.spawn(|| Locator::new(text));
            let doc = serde_yaml::from_str::<Value>(text);
            (loc.join().unwrap_or_default(), doc)
        })
    } else {
        (Locator::new(text), serde_yaml::from_str::<Value>(text))
    };
    let mut cx = Cx {
        file: path.to_path_buf(),
        loc,
        diags: Diagnostics::default(),
    };
    let config = cx.config(doc, abs);
    cx.diags.sort();
    match config {
        Some(config) if !cx.diags.has_errors() => Ok(Loaded {
            config,
            warnings: cx.diags,
        }),
        _ => Err(cx.diags),
    }
}

// ---------------------------------------------------------------------------------------
// The YAML shapes, read one element at a time.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStation {
    name: String,
    timezone: Option<String>,
    report_to: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPaths {
    audio: Option<PathBuf>,
    state: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    device: Option<String>,
    volume: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLibrary {
    settle: Option<HumanDuration>,
    wait_for_loudness: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    name: String,
    folder: Option<PathBuf>,
    #[serde(default)]
    priority: Priority,
    #[serde(default)]
    pick: Pick,
    max_age: Option<HumanDuration>,
    max_length: Option<HumanDuration>,
    loudness: Option<f64>,
    gain: Option<f64>,
    target: Option<RawTarget>,
    approval: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    distinct_items: Option<u32>,
    airings: Option<u32>,
    per: Period,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgramme {
    name: String,
    when: Value,
    from: Option<Date>,
    until: Option<Date>,
    #[serde(default)]
    skip_dates: Vec<Date>,
    #[serde(default)]
    priority: Priority,
    max_duration: Option<HumanDuration>,
    segments: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSegment {
    jingle: Option<PathBuf>,
    category: Option<String>,
    pick: Option<Pick>,
    count: Option<u32>,
    file: Option<PathBuf>,
    relay: Option<String>,
    /// A capture device aired live: `default` or a name `loaxa devices` lists.
    live: Option<String>,
    title: Option<String>,
    duration: Option<HumanDuration>,
    until: Option<String>,
    fallback: Option<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmergency {
    category: String,
    repeat: Option<u32>,
    every: Option<HumanDuration>,
    alert_tone: Option<PathBuf>,
    #[serde(default)]
    after: AfterEmergency,
}

/// A `when` expression read but not yet parsed: of programme `programme` (its index in the
/// list read), at `pos`.
struct PendingWhen {
    programme: usize,
    text: String,
    pos: Pos,
}

/// Every distinct `when` expression of these programmes, trimmed, in order of appearance.
fn when_texts(items: &[Value]) -> Vec<String> {
    let mut texts: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for v in items {
        let when = v.get("when");
        let list: Vec<&Value> = match when {
            Some(Value::Sequence(l)) => l.iter().collect(),
            Some(w) => vec![w],
            None => vec![],
        };
        for w in list {
            if let Value::String(t) = w {
                let t = t.trim().to_string();
                if seen.insert(t.clone()) {
                    texts.push(t);
                }
            }
        }
    }
    texts
}

/// A stream's host, its name when none is given.
fn host_of(url: &str) -> String {
    if url.starts_with(crate::media::stream::LIVE) {
        return "trực tiếp".into();
    }
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| url.to_string())
}

/// The backends an `outputs:` entry may name.
const OUTPUT_KINDS: [&str; 3] = ["device", "wav", "icecast"];

/// The bitrates LAME encodes at (kb/s).
pub const MP3_BITRATES: [u32; 14] = [
    32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIcecast {
    icecast: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    password_file: Option<PathBuf>,
    #[serde(default)]
    format: Option<StreamFormat>,
    #[serde(default)]
    bitrate: Option<u32>,
    #[serde(default)]
    channels: Option<u16>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

const TOP_KEYS: [&str; 12] = [
    "station",
    "paths",
    "output",
    "outputs",
    "library",
    "categories",
    "programmes",
    "quiet_hours",
    "catch_up",
    "emergency",
    "alarms",
    "http",
];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: Option<String>,
    session: Option<HumanDuration>,
    max_upload: Option<serde_yaml::Value>,
    bulletins: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAlarms {
    silence: Option<f64>,
    after: Option<HumanDuration>,
    command: Option<PathBuf>,
}

/// The loading context: the file, its position index and what was found wrong so far.
struct Cx {
    file: PathBuf,
    loc: Locator,
    diags: Diagnostics,
}

impl Cx {
    fn error(&mut self, pos: Pos, msg: impl Into<String>, hint: impl Into<String>) {
        let d = Diagnostic::error(&self.file, pos, msg).hint(hint);
        self.diags.push(d);
    }

    fn warn(&mut self, pos: Pos, msg: impl Into<String>, hint: impl Into<String>) {
        let d = Diagnostic::warning(&self.file, pos, msg).hint(hint);
        self.diags.push(d);
    }

    /// Deserializes one element; on failure records a positioned error and returns None.
    fn read<T: DeserializeOwned>(&mut self, path: &str, what: &str, v: Value) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(v) {
            Ok(x) => Some(x),
            Err(e) => {
                let sub = e.path().to_string();
                let full = if sub == "." {
                    path.to_string()
                } else if sub.starts_with('[') {
                    format!("{path}{sub}")
                } else {
                    join_key(path, &sub)
                };
                let msg = e.into_inner().to_string();
                self.serde_error(&full, what, &msg);
                None
            }
        }
    }

    fn serde_error(&mut self, full: &str, what: &str, msg: &str) {
        let msg = msg.split(" at line ").next().unwrap_or(msg);
        if let Some(field) = between(msg, "unknown field `", "`") {
            let expected = expected_list(msg);
            let key_path = if full.ends_with(field) {
                full.to_string()
            } else {
                join_key(full, field)
            };
            let hint = match did_you_mean(field, expected.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("the keys allowed here are {}", backticked(&expected)),
            };
            self.error(
                self.loc.key(&key_path),
                format!("unknown key `{field}` in {what}"),
                hint,
            );
        } else if let Some(field) = between(msg, "missing field `", "`") {
            self.error(
                self.loc.value(full),
                format!("{what} has no `{field}`"),
                format!("add `{field}:` to it"),
            );
        } else if let Some(variant) = between(msg, "unknown variant `", "`") {
            let expected = expected_list(msg);
            let hint = match did_you_mean(variant, expected.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("write one of {}", backticked(&expected)),
            };
            let field = full.rsplit('.').next().unwrap_or(full);
            self.error(
                self.loc.value(full),
                format!("`{variant}` is not a valid {field}"),
                hint,
            );
        } else if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
            let field = full.rsplit('.').next().unwrap_or(full);
            self.error(
                self.loc.value(full),
                format!("wrong kind of value for `{field}`: {msg}"),
                "see the example schedule.yaml for the form this key takes",
            );
        } else {
            // Our own value parsers' messages already say what to write.
            let (m, h) = msg
                .split_once("; ")
                .unwrap_or((msg, "see the example schedule.yaml"));
            self.error(self.loc.value(full), m.to_string(), h.to_string());
        }
    }

    fn config(&mut self, doc: Result<Value, serde_yaml::Error>, abs: PathBuf) -> Option<Config> {
        let doc: Value = match doc {
            Ok(v) => v,
            Err(e) => {
                let pos = e
                    .location()
                    .map(|l| Pos {
                        line: l.line(),
                        col: l.column(),
                    })
                    .unwrap_or(Pos::START);
                let msg = e.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                self.error(
                    pos,
                    format!("this is not valid YAML: {msg}"),
                    "check the indentation (spaces, not tabs) and that every `key: value` has its colon",
                );
                return None;
            }
        };
        let map = match doc {
            Value::Mapping(m) => m,
            Value::Null => {
                self.error(
                    Pos::START,
                    "the config file is empty",
                    "start from the example: `loaxa init DIR` writes one",
                );
                return None;
            }
            _ => {
                self.error(
                    Pos::START,
                    "the config file must be a set of `key: value` sections",
                    "start from the example: `loaxa init DIR` writes one",
                );
                return None;
            }
        };
        let mut sec = std::collections::HashMap::new();
        for (k, v) in map {
            let Some(k) = k.as_str().map(str::to_string) else {
                self.error(
                    Pos::START,
                    "a top-level key is not text",
                    "use the section names of the example",
                );
                continue;
            };
            if TOP_KEYS.contains(&k.as_str()) {
                sec.insert(k, v);
            } else {
                let hint = match did_you_mean(&k, TOP_KEYS) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "the sections are {}",
                        backticked(&TOP_KEYS.map(String::from))
                    ),
                };
                self.error(self.loc.key(&k), format!("unknown section `{k}`"), hint);
            }
        }
        let mut take = |k: &str| sec.remove(k).filter(|v| !v.is_null());

        let base = abs.parent().map(Path::to_path_buf).unwrap_or_default();
        let station = match take("station") {
            None => {
                self.error(
                    Pos::START,
                    "the config has no `station` section",
                    "add `station:` with at least `name:`",
                );
                None
            }
            Some(v) => self.station(v),
        };
        let paths: RawPaths = take("paths")
            .and_then(|v| self.read("paths", "`paths`", v))
            .unwrap_or_default();
        let paths = Paths {
            audio: base.join(paths.audio.unwrap_or_else(|| "audio".into())),
            state: base.join(paths.state.unwrap_or_else(|| "state".into())),
        };
        let mut output = self.output(take("output"));
        if let Some(v) = take("outputs") {
            self.outputs(v, &base, &mut output);
        }
        let library = self.library(take("library"));
        let cats = take("categories");
        // Every key written, even of a category that failed to read, so a segment naming
        // it is not reported as unknown as well.
        let keys: Vec<String> = match &cats {
            Some(Value::Mapping(m)) => m
                .keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect(),
            _ => vec![],
        };
        let categories = self.categories(cats, &paths.audio);
        let picks: std::collections::HashMap<String, Pick> =
            categories.iter().map(|c| (c.key.clone(), c.pick)).collect();
        let programmes = self.programmes(take("programmes"), &keys, &picks, &paths.audio);
        let quiet_hours = self.quiet_hours(take("quiet_hours"));
        let catch_up = match take("catch_up") {
            None => DEFAULT_CATCH_UP,
            Some(v) => self
                .read::<HumanDuration>("catch_up", "`catch_up`", v)
                .map(|d| d.0)
                .unwrap_or(DEFAULT_CATCH_UP),
        };
        let emergency =
            take("emergency").and_then(|v| self.emergency(v, &keys, &categories, &paths.audio));
        let alarms = self.alarms(take("alarms"), &base);
        let http = take("http").map(|v| self.http(v, &keys));

        Some(Config {
            file: abs,
            station: station?,
            paths,
            output,
            library,
            categories,
            programmes,
            quiet_hours,
            catch_up,
            emergency,
            alarms,
            http,
        })
    }

    fn http(&mut self, v: Value, keys: &[String]) -> Http {
        // `http:` alone (a null) turns the console on with the defaults.
        let raw: RawHttp = match v {
            Value::Null => RawHttp::default(),
            v => self.read("http", "`http`", v).unwrap_or_default(),
        };
        let mut h = Http {
            listen: DEFAULT_HTTP_LISTEN.parse().expect("a valid default"),
            session: DEFAULT_SESSION,
            max_upload: DEFAULT_MAX_UPLOAD,
            bulletins: None,
        };
        if let Some(k) = raw.bulletins {
            if keys.contains(&k) {
                h.bulletins = Some(k);
            } else {
                let hint = match did_you_mean(&k, keys.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("name one of the categories ({})", backticked(keys)),
                };
                self.error(
                    self.loc.value("http.bulletins"),
                    format!("unknown category `{k}`"),
                    hint,
                );
            }
        }
        if let Some(v) = raw.max_upload {
            let text = match &v {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => String::new(),
            };
            match parse_size(&text) {
                Some(n) if n >= 1000 => h.max_upload = n,
                _ => self.error(
                    self.loc.value("http.max_upload"),
                    format!("`max_upload: {text}` is not a size"),
                    "write e.g. `max_upload: 200MB`",
                ),
            }
        }
        if let Some(l) = raw.listen {
            match l.trim().parse::<std::net::SocketAddr>() {
                Ok(a) => h.listen = a,
                Err(_) => self.error(
                    self.loc.value("http.listen"),
                    format!("`{l}` is not an address and port to listen on"),
                    "write e.g. `listen: 127.0.0.1:8080` (this PC only) or `listen: 0.0.0.0:8080` (the LAN)",
                ),
            }
        }
        if let Some(d) = raw.session {
            if d.0 < Duration::from_secs(60) {
                self.error(
                    self.loc.value("http.session"),
                    format!(
                        "`session: {}` is too short to use the console",
                        format_duration(d.0)
                    ),
                    "write e.g. `session: 8h`",
                );
            } else {
                h.session = d.0;
            }
        }
        h
    }

    fn station(&mut self, v: Value) -> Option<StationInfo> {
        let raw: RawStation = self.read("station", "`station`", v)?;
        let timezone = match raw.timezone {
            None => DEFAULT_TIMEZONE,
            Some(tz) => match tz.trim().parse::<Tz>() {
                Ok(t) => t,
                Err(_) => {
                    let names = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name());
                    let hint = match did_you_mean(&tz, names) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "use an IANA zone name such as Asia/Ho_Chi_Minh".into(),
                    };
                    self.error(
                        self.loc.value("station.timezone"),
                        format!("unknown time zone `{tz}`"),
                        hint,
                    );
                    DEFAULT_TIMEZONE
                }
            },
        };
        if raw.name.trim().is_empty() {
            self.error(
                self.loc.value("station.name"),
                "the station name is empty",
                "write the station's name, e.g. \"Đài truyền thanh xã Tân Hòa\"",
            );
        }
        Some(StationInfo {
            name: nfc(raw.name.trim()),
            timezone,
            report_to: nfc(raw.report_to.unwrap_or_default().trim()),
        })
    }

    fn output(&mut self, v: Option<Value>) -> Output {
        let raw: RawOutput = v
            .and_then(|v| self.read("output", "`output`", v))
            .unwrap_or_default();
        let volume = raw.volume.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&volume) {
            self.error(
                self.loc.value("output.volume"),
                format!("master volume {volume} is out of range"),
                "write a number from 0.0 (silent) to 1.0 (full), e.g. 0.8 for 80 %",
            );
        }
        let device = raw
            .device
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty() && d != "default");
        if let Some(d) = &device {
            if let Some(p) = d.strip_prefix("wav:") {
                if p.is_empty() {
                    self.error(
                        self.loc.value("output.device"),
                        "`wav:` needs a file name",
                        "write e.g. `wav:/tmp/loaxa.wav`",
                    );
                }
            }
        }
        Output {
            device,
            volume: volume.clamp(0.0, 1.0) as f32,
            sinks: vec![],
        }
    }

    /// `outputs:`: a list of `{device: NAME}` (the master, at most one) and secondary
    /// outputs such as `{wav: FILE}`.
    fn outputs(&mut self, v: Value, base: &Path, output: &mut Output) {
        let Value::Sequence(list) = v else {
            self.error(
                self.loc.value("outputs"),
                "`outputs` must be a list",
                "write `outputs:` then one `- device: default` or `- wav: FILE` per line",
            );
            return;
        };
        let mut device_at: Option<Pos> = None;
        for (i, entry) in list.into_iter().enumerate() {
            let path = join_index("outputs", i);
            let pos = self.loc.value(&path);
            let Value::Mapping(m) = entry else {
                self.error(
                    pos,
                    "an output is written `device: NAME` or `wav: FILE`",
                    "e.g. `- device: default`",
                );
                continue;
            };
            if m.contains_key("icecast") {
                if let Some(spec) = self.icecast(Value::Mapping(m), &path, base) {
                    output.sinks.push(SinkSpec::Icecast(Box::new(spec)));
                }
                continue;
            }
            if m.len() != 1 {
                self.error(
                    pos,
                    "each output names one backend",
                    format!(
                        "write one of {} per list entry",
                        backticked(&OUTPUT_KINDS.map(String::from))
                    ),
                );
                continue;
            }
            let (k, val) = m.into_iter().next().expect("one entry");
            let key = k.as_str().unwrap_or_default().to_string();
            let at = self.loc.value(&join_key(&path, &key));
            let text = match &val {
                Value::String(t) => t.trim().to_string(),
                _ => {
                    self.error(
                        at,
                        format!("`{key}` takes a name or a file"),
                        "write it as text, e.g. `wav: ghi-am/%Y-%m-%d.wav`",
                    );
                    continue;
                }
            };
            match key.as_str() {
                "device" => {
                    if device_at.is_some() || output.device.is_some() {
                        self.error(
                            at,
                            "more than one sound device",
                            "one sound device is the master (the clock and the proof of airtime); remove the others, and `output.device` if it is set",
                        );
                        continue;
                    }
                    device_at = Some(at);
                    if !text.is_empty() && text != "default" {
                        output.device = Some(text);
                    }
                }
                "wav" => {
                    if text.is_empty() {
                        self.error(
                            at,
                            "`wav` needs a file name",
                            "write e.g. `wav: ghi-am/%Y-%m-%d.wav`",
                        );
                        continue;
                    }
                    output.sinks.push(SinkSpec::Wav(base.join(text)));
                }
                other => {
                    let hint = match did_you_mean(other, OUTPUT_KINDS) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!(
                            "the outputs are {}",
                            backticked(&OUTPUT_KINDS.map(String::from))
                        ),
                    };
                    self.error(
                        self.loc.key(&join_key(&path, other)),
                        format!("unknown output `{other}`"),
                        hint,
                    );
                }
            }
        }
        // Outputs listed without a sound device: no sound card, a soft clock is the master.
        if device_at.is_none() && output.device.is_none() {
            output.device = Some("null".into());
        }
    }

    /// An `icecast:` output: the mount's URL, credentials (the password from the config or
    /// a file only the service reads), encoding and what listeners see.
    fn icecast(&mut self, v: Value, path: &str, base: &Path) -> Option<Icecast> {
        let raw: RawIcecast = self.read(path, "the `icecast` output", v)?;
        let at = |k: &str| join_key(path, k);
        let url_at = self.loc.value(&at("icecast"));
        let url = raw.icecast.trim();
        let Some(rest) = url.strip_prefix("http://") else {
            self.error(
                url_at,
                format!("`{url}` is not an http:// address"),
                "write the mount's address, e.g. `http://127.0.0.1:8000/xa.mp3` (Icecast on the LAN speaks plain HTTP)",
            );
            return None;
        };
        let (hostport, mount) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().ok()),
            None => (hostport, Some(8000)),
        };
        if host.is_empty() || port.is_none() || mount.len() < 2 || mount.contains(['?', '#', ' ']) {
            self.error(
                url_at,
                format!("`{url}` is not a mount address"),
                "write `http://HOST:PORT/MOUNT`, e.g. `http://127.0.0.1:8000/xa.mp3`",
            );
            return None;
        }
        let password = match (raw.password, raw.password_file) {
            (Some(p), None) => p,
            (None, Some(f)) => {
                let f = base.join(f);
                match std::fs::read_to_string(&f) {
                    Ok(t) => t.trim_end_matches(['\n', '\r']).to_string(),
                    Err(e) => {
                        self.error(
                            self.loc.value(&at("password_file")),
                            format!("cannot read the password file {}: {e}", f.display()),
                            "create it with the mount's source password, readable by the service (`chmod 640`, group `loaxa`)",
                        );
                        return None;
                    }
                }
            }
            (Some(_), Some(_)) => {
                self.error(
                    self.loc.key(&at("password_file")),
                    "both `password` and `password_file`",
                    "keep one: `password_file` keeps the password out of schedule.yaml",
                );
                return None;
            }
            (None, None) => {
                self.error(
                    url_at,
                    "the Icecast output has no password",
                    "add `password_file: /etc/loaxa/icecast.pass` (or `password:`), the source password of icecast.xml",
                );
                return None;
            }
        };
        let format = raw.format.unwrap_or(StreamFormat::Mp3);
        let bitrate = raw.bitrate.unwrap_or(match format {
            StreamFormat::Mp3 => 128,
            StreamFormat::Opus => 64,
        });
        if format == StreamFormat::Opus && !(6..=510).contains(&bitrate) {
            self.error(
                self.loc.value(&at("bitrate")),
                format!("{bitrate} kb/s is not an Opus bitrate"),
                "use 32 to 64 for speech on loudspeakers (Opus takes 6–510)",
            );
            return None;
        }
        if format == StreamFormat::Mp3 && !MP3_BITRATES.contains(&bitrate) {
            self.error(
                self.loc.value(&at("bitrate")),
                format!("{bitrate} kb/s is not an MP3 bitrate"),
                "use 64 or 96 for speech on loudspeakers, 128 for music",
            );
            return None;
        }
        let channels = raw.channels.unwrap_or(2);
        if !(1..=2).contains(&channels) {
            self.error(
                self.loc.value(&at("channels")),
                format!("`channels: {channels}` — a stream is mono or stereo"),
                "write `channels: 1` (mono, for loudspeakers) or `channels: 2`",
            );
            return None;
        }
        Some(Icecast {
            host: host.to_string(),
            port: port.unwrap_or(8000),
            mount: mount.to_string(),
            user: raw.user.unwrap_or_else(|| "source".into()),
            password: Secret(password),
            format,
            bitrate,
            channels,
            name: raw.name.map(|n| nfc(n.trim())),
            description: raw.description.map(|d| nfc(d.trim())),
        })
    }

    fn alarms(&mut self, v: Option<Value>, base: &Path) -> Alarms {
        let raw: RawAlarms = v
            .and_then(|v| self.read("alarms", "`alarms`", v))
            .unwrap_or_default();
        let mut a = Alarms::default();
        if let Some(db) = raw.silence {
            if !(-90.0..=-10.0).contains(&db) {
                self.error(
                    self.loc.value("alarms.silence"),
                    format!("{db} dBFS is not a silence level"),
                    "write a level from -90 to -10, e.g. `silence: -45`",
                );
            } else {
                a.silence_db = db;
            }
        }
        if let Some(d) = raw.after {
            if d.0 < Duration::from_millis(500) {
                self.error(
                    self.loc.value("alarms.after"),
                    format!(
                        "`after: {}` would raise the alarm at every pause",
                        format_duration(d.0)
                    ),
                    "write e.g. `after: 3s`",
                );
            } else {
                a.after = d.0;
            }
        }
        if let Some(c) = raw.command {
            let c = base.join(c);
            if !c.is_file() {
                self.error(
                    self.loc.value("alarms.command"),
                    format!("the alarm command {} does not exist", c.display()),
                    "give the path of a program or script (it gets the alarm's message as its argument)",
                );
            } else {
                a.command = Some(c);
            }
        }
        a
    }

    fn library(&mut self, v: Option<Value>) -> LibrarySettings {
        let raw: RawLibrary = v
            .and_then(|v| self.read("library", "`library`", v))
            .unwrap_or_default();
        let settle = match raw.settle.map(|d| d.0) {
            Some(d) if d < Duration::from_secs(1) => {
                self.error(
                    self.loc.value("library.settle"),
                    format!(
                        "`settle: {}` would air files still being copied",
                        format_duration(d)
                    ),
                    "write at least `1s` (the default is 3s)",
                );
                DEFAULT_SETTLE
            }
            d => d.unwrap_or(DEFAULT_SETTLE),
        };
        LibrarySettings {
            settle,
            wait_for_loudness: raw.wait_for_loudness.unwrap_or(false),
        }
    }

    fn categories(&mut self, v: Option<Value>, audio: &Path) -> Vec<Category> {
        let mut out = Vec::new();
        let Some(v) = v else {
            self.error(
                Pos::START,
                "the config has no `categories`",
                "add at least one category, e.g. `cchc: {name: \"Cải cách hành chính\"}`",
            );
            return out;
        };
        let Value::Mapping(m) = v else {
            self.error(
                self.loc.value("categories"),
                "`categories` must map a key to each category",
                "write `categories:` then `  cchc:` with its settings indented below",
            );
            return out;
        };
        for (k, v) in m {
            let Some(key) = k.as_str().map(str::to_string) else {
                self.error(
                    self.loc.value("categories"),
                    "a category key is not text",
                    "use short names such as `cchc`",
                );
                continue;
            };
            let path = join_key("categories", &key);
            if key.is_empty()
                || !key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            {
                self.error(self.loc.key(&path), format!("category key `{key}` must be lower-case letters, digits and `-`"), "write it without accents or spaces, e.g. `dich-vu-cong`; put the Vietnamese name in `name:`");
                continue;
            }
            let Some(raw) = self.read::<RawCategory>(&path, &format!("category `{key}`"), v) else {
                continue;
            };
            let loudness = raw.loudness.unwrap_or(DEFAULT_LOUDNESS);
            if !(-40.0..=-5.0).contains(&loudness) {
                self.error(
                    self.loc.value(&join_key(&path, "loudness")),
                    format!("loudness target {loudness} LUFS is out of range"),
                    "write a negative LUFS value between -40 and -5, e.g. -16",
                );
            }
            let gain_db = raw.gain.unwrap_or(0.0);
            if !(-40.0..=20.0).contains(&gain_db) {
                self.error(
                    self.loc.value(&join_key(&path, "gain")),
                    format!("gain {gain_db} dB is out of range"),
                    "write a value in dB between -40 and 20, e.g. 0",
                );
            }
            let target = raw.target.and_then(|t| {
                let tp = join_key(&path, "target");
                match (t.distinct_items, t.airings) {
                    (Some(n), None) => Some(Target { measure: Measure::DistinctItems, count: n, per: t.per }),
                    (None, Some(n)) => Some(Target { measure: Measure::Airings, count: n, per: t.per }),
                    _ => {
                        self.error(self.loc.value(&tp), "a target counts either `distinct_items` or `airings`", "write e.g. `{distinct_items: 2, per: month}` or `{airings: 3, per: week}`");
                        None
                    }
                }
            });
            if raw.name.trim().is_empty() {
                self.error(
                    self.loc.value(&join_key(&path, "name")),
                    format!("category `{key}` has an empty name"),
                    "write its Vietnamese display name",
                );
            }
            let approval = match raw.approval.as_deref().map(str::trim) {
                None | Some("none") => false,
                Some("required") => true,
                Some(other) => {
                    self.error(
                        self.loc.value(&join_key(&path, "approval")),
                        format!("`approval: {other}` is not a choice"),
                        "write `approval: required` (items wait for an approver) or leave it out",
                    );
                    false
                }
            };
            out.push(Category {
                approval,
                folder: audio.join(raw.folder.unwrap_or_else(|| key.clone().into())),
                name: nfc(raw.name.trim()),
                priority: raw.priority,
                pick: raw.pick,
                max_age: raw.max_age.map(|d| d.0),
                max_length: raw.max_length.map(|d| d.0),
                loudness,
                gain_db,
                target,
                pos: self.loc.key(&path),
                key,
            });
        }
        if out.is_empty() && !self.diags.has_errors() {
            self.error(
                self.loc.value("categories"),
                "no categories are defined",
                "add at least one, e.g. `cchc: {name: \"Cải cách hành chính\"}`",
            );
        }
        out
    }

    fn programmes(
        &mut self,
        v: Option<Value>,
        keys: &[String],
        picks: &std::collections::HashMap<String, Pick>,
        audio: &Path,
    ) -> Vec<Programme> {
        let Some(v) = v else {
            self.warn(
                Pos::START,
                "no `programmes`: the station airs nothing on its own (only emergencies and what the operator plays)",
                "add programmes, e.g. `- name: \"Bản tin sáng\"` with `when:` and `segments:`",
            );
            return Vec::new();
        };
        if matches!(&v, Value::Sequence(l) if l.is_empty()) {
            self.warn(
                self.loc.value("programmes"),
                "`programmes` is empty: the station airs nothing on its own (only emergencies and what the operator plays)",
                "add programmes, e.g. `- name: \"Bản tin sáng\"` with `when:` and `segments:`",
            );
            return Vec::new();
        }
        let Value::Sequence(items) = v else {
            self.error(
                self.loc.value("programmes"),
                "`programmes` must be a list",
                "start each programme with `- name: ...`",
            );
            return Vec::new();
        };
        // Each distinct `when` expression is parsed once (programmes sharing it share it),
        // on the other core while this one reads the programmes: croner's parse is most of
        // the cost of checking thousands of programmes.
        let texts = when_texts(&items);
        let (parsed, (mut out, pending)) = crate::par::map_beside(
            texts.len(),
            256,
            |i| CronSpec::parse(&texts[i]),
            || self.programme_list(items, keys, picks, audio),
        );
        let index: std::collections::HashMap<&str, usize> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i))
            .collect();
        for PendingWhen {
            programme: p,
            text,
            pos,
        } in pending
        {
            let r = match index.get(text.trim()) {
                Some(&i) => parsed[i].clone(),
                None => CronSpec::parse(&text),
            };
            match r {
                Ok(c) => {
                    out[p].when.push(c);
                    out[p].when_pos.push(pos);
                }
                Err(e) => self.error(pos, e.message, e.hint),
            }
        }
        out
    }

    /// The programmes as written, each with no `when` yet: their expressions come back
    /// beside them, to be resolved once parsed.
    fn programme_list(
        &mut self,
        items: Vec<Value>,
        keys: &[String],
        picks: &std::collections::HashMap<String, Pick>,
        audio: &Path,
    ) -> (Vec<Programme>, Vec<PendingWhen>) {
        let mut out: Vec<Programme> = Vec::new();
        let mut pending = Vec::new();
        // Names seen so far and the line of each (a set: thousands of programmes check in
        // linear time).
        let mut names: std::collections::HashMap<String, usize> = Default::default();
        for (i, v) in items.into_iter().enumerate() {
            let path = join_index("programmes", i);
            let Some(raw) = self.read::<RawProgramme>(&path, &format!("programme {}", i + 1), v)
            else {
                continue;
            };
            let name = nfc(raw.name.trim());
            if let Some(line) = names.get(&name).copied() {
                self.error(
                    self.loc.value(&join_key(&path, "name")),
                    format!("a second programme is named `{name}`"),
                    format!("programme names must differ (the first is at line {line})"),
                );
            }
            let when_path = join_key(&path, "when");
            for (text, p) in self.strings(&when_path, raw.when, "`when`") {
                pending.push(PendingWhen {
                    programme: out.len(),
                    pos: self.loc.value(&p),
                    text,
                });
            }
            if let (Some(f), Some(u)) = (raw.from, raw.until) {
                if f > u {
                    self.error(
                        self.loc.value(&join_key(&path, "until")),
                        format!("`until` {} is before `from` {}", u.0, f.0),
                        "swap them, or fix the year",
                    );
                }
            }
            let mut segments = Vec::new();
            if raw.segments.is_empty() {
                self.error(
                    self.loc.value(&join_key(&path, "segments")),
                    format!("programme `{name}` has no segments"),
                    "list what it airs, e.g. `- category: cchc`",
                );
            }
            for (j, sv) in raw.segments.into_iter().enumerate() {
                let sp = join_index(&join_key(&path, "segments"), j);
                if let Some(s) = self.segment(&sp, sv, keys, picks, audio) {
                    segments.push(s);
                }
            }
            let pos = self.loc.value(&path);
            names.entry(name.clone()).or_insert(pos.line);
            out.push(Programme {
                name,
                when: Vec::new(),
                from: raw.from.map(|d| d.0),
                until: raw.until.map(|d| d.0),
                skip_dates: raw.skip_dates.into_iter().map(|d| d.0).collect(),
                priority: raw.priority,
                max_duration: raw.max_duration.map(|d| d.0),
                segments,
                pos,
                when_pos: Vec::new(),
                max_duration_pos: self.loc.value(&join_key(&path, "max_duration")),
            });
        }
        (out, pending)
    }

    fn segment(
        &mut self,
        path: &str,
        v: Value,
        keys: &[String],
        picks: &std::collections::HashMap<String, Pick>,
        audio: &Path,
    ) -> Option<Segment> {
        if let Value::String(s) = &v {
            self.error(
                self.loc.value(path),
                format!("segment `{s}` does not say what it is"),
                format!("write `- jingle: {s}`, `- file: {s}` or `- category: {s}`"),
            );
            return None;
        }
        let raw: RawSegment = self.read(path, "segment", v)?;
        let pos = self.loc.value(path);
        let kinds = [
            raw.jingle.is_some(),
            raw.category.is_some(),
            raw.file.is_some(),
            raw.relay.is_some(),
            raw.live.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            self.error(
                pos,
                "a segment is exactly one of `jingle`, `category`, `file`, `relay` or `live`",
                "split it into one segment per line, each starting with `- `",
            );
            return None;
        }
        let live = match raw.live {
            Some(dev) => Some(self.live_device(&join_key(path, "live"), dev.trim())?),
            None => None,
        };
        if let Some(url) = raw.relay.or(live) {
            if raw.pick.is_some() || raw.count.is_some() {
                self.error(
                    pos,
                    "`pick` and `count` belong to a `category` segment",
                    "remove them from the relay",
                );
                return None;
            }
            return self
                .relay(
                    path,
                    url,
                    raw.title,
                    raw.duration,
                    raw.until,
                    raw.fallback,
                    keys,
                    picks,
                    audio,
                )
                .map(|r| Segment {
                    kind: SegmentKind::Relay(r),
                    pos,
                });
        }
        for (key, set) in [
            ("title", raw.title.is_some()),
            ("duration", raw.duration.is_some()),
            ("until", raw.until.is_some()),
            ("fallback", raw.fallback.is_some()),
        ] {
            if set {
                self.error(
                    self.loc.key(&join_key(path, key)),
                    format!("`{key}` belongs to a `relay` segment"),
                    "remove it, or make this a `relay:` segment",
                );
                return None;
            }
        }
        if raw.category.is_none() && (raw.pick.is_some() || raw.count.is_some()) {
            self.error(
                pos,
                "`pick` and `count` belong to a `category` segment",
                "remove them, or make this a `category:` segment",
            );
            return None;
        }
        let kind = if let Some(key) = raw.category {
            if !keys.contains(&key) {
                self.unknown_category(path, &key, keys);
                return None;
            }
            if raw.count == Some(0) {
                self.error(
                    self.loc.value(&join_key(path, "count")),
                    "`count: 0` airs nothing",
                    "write 1 or more, or remove the segment",
                );
                return None;
            }
            // Without its own `pick`, a segment takes its category's.
            let pick = raw
                .pick
                .or_else(|| picks.get(&key).copied())
                .unwrap_or_default();
            SegmentKind::Category {
                key,
                pick,
                count: raw.count,
            }
        } else {
            let (field, rel) = match (raw.jingle, raw.file) {
                (Some(j), _) => ("jingle", j),
                (_, Some(f)) => ("file", f),
                _ => unreachable!("checked above"),
            };
            let abs = audio.join(&rel);
            self.expect_file(&join_key(path, field), &abs, &format!("`{field}` file"));
            if field == "jingle" {
                SegmentKind::Jingle(abs)
            } else {
                SegmentKind::File(abs)
            }
        };
        Some(Segment { kind, pos })
    }

    /// A segment's or fallback's `category:` that `categories:` does not define.
    fn unknown_category(&mut self, path: &str, key: &str, keys: &[String]) {
        let hint = match did_you_mean(key, keys.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "define it under `categories:` (known: {})",
                backticked(keys)
            ),
        };
        self.error(
            self.loc.value(&join_key(path, "category")),
            format!("unknown category `{key}`"),
            hint,
        );
    }

    /// A capture device for a live segment, as its stream address (`live:NAME`): `default`
    /// or a device this PC has.
    fn live_device(&mut self, path: &str, dev: &str) -> Option<String> {
        if dev != "default" {
            let known = crate::media::device::inputs();
            if !known.iter().any(|(id, desc)| id == dev || desc == dev) {
                self.error(
                    self.loc.value(path),
                    format!("unknown capture device `{dev}`"),
                    format!(
                        "write `live: default`, or one of: {} (`loaxa devices` lists them)",
                        if known.is_empty() {
                            "none found".to_string()
                        } else {
                            known
                                .iter()
                                .map(|(id, _)| format!("`{id}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ),
                );
                return None;
            }
        }
        Some(format!("{}{dev}", crate::media::stream::LIVE))
    }

    /// A stream address: `http://` or `https://` with a host.
    fn stream_url(&mut self, path: &str, url: &str) -> Option<String> {
        let ok = url::Url::parse(url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if ok.is_none() {
            self.error(
                self.loc.value(path),
                format!("`{url}` is not a stream address"),
                "write the stream's full address, e.g. `relay: \"http://radio.example.vn:8000/live.mp3\"`",
            );
        }
        ok.map(|_| url.trim().to_string())
    }

    #[allow(clippy::too_many_arguments)]
    fn relay(
        &mut self,
        path: &str,
        url: String,
        title: Option<String>,
        duration: Option<HumanDuration>,
        until: Option<String>,
        fallback: Option<Vec<Value>>,
        keys: &[String],
        picks: &std::collections::HashMap<String, Pick>,
        audio: &Path,
    ) -> Option<Relay> {
        let url = if url.starts_with(crate::media::stream::LIVE) {
            Some(url)
        } else {
            self.stream_url(&join_key(path, "relay"), &url)
        };
        let length = match (duration, until) {
            (Some(_), Some(_)) => {
                self.error(
                    self.loc.value(path),
                    "a relay has `duration` or `until`, not both",
                    "keep one: `duration: 30m` or `until: \"06:30\"`",
                );
                None
            }
            (None, None) => {
                self.error(
                    self.loc.value(path),
                    "a relay needs to know when it ends",
                    "add `duration: 30m` or `until: \"06:30\"`",
                );
                None
            }
            (Some(d), None) if d.0 < Duration::from_secs(1) => {
                self.error(
                    self.loc.value(&join_key(path, "duration")),
                    format!("`duration: {}` airs nothing", format_duration(d.0)),
                    "write how long the relay airs, e.g. `duration: 30m`",
                );
                None
            }
            (Some(d), None) => Some(RelayLength::For(d.0)),
            (None, Some(u)) => match chrono::NaiveTime::parse_from_str(u.trim(), "%H:%M") {
                Ok(t) => Some(RelayLength::Until(t)),
                Err(_) => {
                    self.error(
                        self.loc.value(&join_key(path, "until")),
                        format!("`until: {u}` is not a time of day"),
                        "write it as HH:MM, e.g. `until: \"06:30\"`",
                    );
                    None
                }
            },
        };
        let mut seen: Vec<String> = url.iter().cloned().collect();
        let mut chain = Vec::new();
        for (i, v) in fallback.unwrap_or_default().into_iter().enumerate() {
            let fp = join_index(&join_key(path, "fallback"), i);
            if let Some(f) = self.fallback(&fp, v, &mut seen, keys, picks, audio) {
                chain.push(f);
            }
        }
        let url = url?;
        Some(Relay {
            title: title
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| host_of(&url)),
            url,
            length: length?,
            fallback: chain,
        })
    }

    fn fallback(
        &mut self,
        path: &str,
        v: Value,
        seen: &mut Vec<String>,
        keys: &[String],
        picks: &std::collections::HashMap<String, Pick>,
        audio: &Path,
    ) -> Option<Fallback> {
        let raw: RawSegment = self.read(path, "fallback", v)?;
        let pos = self.loc.value(path);
        let kinds = [
            raw.category.is_some(),
            raw.file.is_some(),
            raw.relay.is_some(),
        ];
        if raw.jingle.is_some() || kinds.iter().filter(|k| **k).count() != 1 {
            self.error(
                pos,
                "a fallback is exactly one of `relay`, `category` or `file`",
                "write one per line, each starting with `- `",
            );
            return None;
        }
        if raw.duration.is_some() || raw.until.is_some() || raw.fallback.is_some() {
            self.error(
                pos,
                "a fallback airs for as long as it is needed: it has no `duration`, `until` or `fallback` of its own",
                "remove them; list further fallbacks after this one",
            );
            return None;
        }
        if let Some(url) = raw.relay {
            let url = self.stream_url(&join_key(path, "relay"), &url)?;
            if seen.contains(&url) {
                self.error(
                    self.loc.value(&join_key(path, "relay")),
                    format!("the fallback chain loops: {url} is already in it"),
                    "remove it: each source is tried once, in order",
                );
                return None;
            }
            seen.push(url.clone());
            return Some(Fallback::Relay {
                title: raw
                    .title
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or_else(|| host_of(&url)),
                url,
            });
        }
        if let Some(key) = raw.category {
            if !keys.contains(&key) {
                self.unknown_category(path, &key, keys);
                return None;
            }
            let pick = raw
                .pick
                .or_else(|| picks.get(&key).copied())
                .unwrap_or_default();
            return Some(Fallback::Category { key, pick });
        }
        let f = raw.file.expect("checked");
        let abs = audio.join(&f);
        self.expect_file(&join_key(path, "file"), &abs, "fallback file");
        Some(Fallback::File(abs))
    }

    fn expect_file(&mut self, path: &str, abs: &Path, what: &str) {
        if !abs.is_file() {
            self.error(
                self.loc.value(path),
                format!("{what} not found: {}", abs.display()),
                "put the file there, or fix the path (it is relative to the audio folder)",
            );
        }
    }

    fn quiet_hours(&mut self, v: Option<Value>) -> Vec<TimeRange> {
        let Some(v) = v else { return vec![] };
        let mut out = vec![];
        for (text, p) in self.strings("quiet_hours", v, "`quiet_hours`") {
            match TimeRange::parse(&text) {
                Ok(r) => out.push(r),
                Err(e) => {
                    let (m, h) = e.split_once("; ").unwrap_or((&e, ""));
                    self.error(self.loc.value(&p), m.to_string(), h.to_string());
                }
            }
        }
        out
    }

    fn emergency(
        &mut self,
        v: Value,
        keys: &[String],
        cats: &[Category],
        audio: &Path,
    ) -> Option<Emergency> {
        let raw: RawEmergency = self.read("emergency", "`emergency`", v)?;
        if !keys.contains(&raw.category) {
            let hint = match did_you_mean(&raw.category, keys.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "define it under `categories:` with `priority: emergency`".into(),
            };
            self.error(
                self.loc.value("emergency.category"),
                format!("unknown category `{}`", raw.category),
                hint,
            );
            return None;
        }
        if let Some(c) = cats.iter().find(|c| c.key == raw.category) {
            if c.priority != Priority::Emergency {
                self.warn(
                    self.loc.value("emergency.category"),
                    format!(
                        "category `{}` is the emergency category but its priority is `{}`",
                        c.key, c.priority
                    ),
                    "set `priority: emergency` on it so the reports show it as khẩn cấp",
                );
            }
        }
        let repeat = raw.repeat.unwrap_or(1);
        if repeat == 0 {
            self.error(
                self.loc.value("emergency.repeat"),
                "`repeat: 0` would never air an emergency",
                "write how many times each emergency item airs, e.g. 3",
            );
        }
        let alert_tone = raw.alert_tone.map(|p| {
            let abs = audio.join(p);
            self.expect_file("emergency.alert_tone", &abs, "alert tone");
            abs
        });
        Some(Emergency {
            category: raw.category,
            repeat: repeat.max(1),
            every: match raw.every.map(|d| d.0) {
                Some(d) if d.is_zero() => {
                    self.error(
                        self.loc.value("emergency.every"),
                        "`every: 0s` would air the repeats on top of each other",
                        "write the time between repeats, e.g. `every: 10m`",
                    );
                    Duration::from_secs(300)
                }
                d => d.unwrap_or(Duration::from_secs(300)),
            },
            alert_tone,
            after: raw.after,
            pos: self.loc.value("emergency"),
        })
    }

    /// A value that may be one string or a list of them, with each one's path.
    fn strings(&mut self, path: &str, v: Value, what: &str) -> Vec<(String, String)> {
        match v {
            Value::String(s) => vec![(s, path.to_string())],
            Value::Sequence(items) if !items.is_empty() => {
                let mut out = vec![];
                for (i, it) in items.into_iter().enumerate() {
                    let p = join_index(path, i);
                    match it {
                        Value::String(s) => out.push((s, p)),
                        _ => self.error(
                            self.loc.value(&p),
                            format!("each entry of {what} must be text"),
                            "put it in double quotes",
                        ),
                    }
                }
                out
            }
            _ => {
                self.error(
                    self.loc.value(path),
                    format!("{what} must be text or a list of texts"),
                    "write it in double quotes, e.g. \"30 5 * * *\"",
                );
                vec![]
            }
        }
    }
}

/// Unicode NFC, so names typed on a Mac (NFD) and on Windows (NFC) compare equal.
pub fn nfc(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfc().collect()
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

/// The names in serde's "expected one of `a`, `b`" tail.
fn expected_list(msg: &str) -> Vec<String> {
    let Some(i) = msg.find("expected") else {
        return vec![];
    };
    msg[i..]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn backticked(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
