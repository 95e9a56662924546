//! The station's status as every client sees it (`loaxa status`, `--format json`, the
//! console): what airs, what comes next, the library's counts, each output's health.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::playout::OutputHealth;
use crate::station::StatusView;

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Status {
    /// The station's name (schedule.yaml `station.name`).
    pub station: String,
    /// The configuration file running.
    pub config: PathBuf,
    /// IANA zone the times are shown in.
    pub timezone: String,
    /// The master output (the clock and the proof of airtime).
    pub output: String,
    /// The master output's own delay, as last measured (ms).
    pub latency_ms: Option<f64>,
    /// RFC 3339, station zone.
    pub up_since: String,
    /// Library items by state (`ready`, `settling`, `rejected`…).
    pub library: BTreeMap<String, usize>,
    #[serde(flatten)]
    pub air: StatusView,
    /// Every output: the master first, then the secondary sinks.
    pub outputs: Vec<OutputHealth>,
    /// Where the web console answers (`http://ADDRESS:PORT/`), when it is on.
    #[serde(default)]
    pub console: Option<String>,
    /// What needs a person now (the airtime log cannot be written…), one line each.
    #[serde(default)]
    pub alarms: Vec<String>,
}

impl Status {
    /// One line: what is on air, or what comes next (the systemd STATUS line too).
    pub fn line(&self) -> String {
        match (&self.air.on_air, &self.air.next) {
            (Some(a), _) => format!(
                "on air: {} — {}",
                a.programme.as_deref().unwrap_or("manual play"),
                a.title
            ),
            (None, Some(n)) => format!("idle; next: {} at {}", n.programme, n.at),
            (None, None) => "idle; nothing scheduled".into(),
        }
    }
}
