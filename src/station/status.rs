//! What is on air and coming, as `status`, the console and the systemd STATUS line show it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Station;
use crate::airtime::Trigger;
use crate::config::Priority;
use crate::local;

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct StatusView {
    pub on_air: Option<OnAirView>,
    pub next: Option<NextView>,
    pub emergency_active: bool,
    /// Programmes waiting for the one on air to end.
    pub waiting: Vec<String>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OnAirView {
    pub programme: Option<String>,
    pub title: String,
    /// 1-based position in the running order, and how many entries it has.
    pub item: u32,
    pub items: u32,
    pub position_ms: u64,
    /// None while its length is unknown.
    pub duration_ms: Option<u64>,
    pub priority: Priority,
    pub trigger: Trigger,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NextView {
    pub programme: String,
    /// RFC 3339 in the station's zone.
    pub at: String,
    pub priority: Priority,
}

impl Station {
    pub fn status(&self, now: DateTime<Utc>) -> StatusView {
        let tz = self.config.station.timezone;
        let next = self.next_programme().map(|o| {
            let p = &self.config.programmes[o.programme];
            NextView {
                programme: p.name.clone(),
                at: local::rfc3339(o.at, tz),
                priority: p.priority,
            }
        });
        StatusView {
            on_air: self.on_air_view(now),
            next,
            emergency_active: self.runs.map.values().any(|r| r.emergency())
                || self.emergencies.pending(),
            waiting: (self.runs.waiting.iter())
                .filter_map(|w| w.programme().map(str::to_string))
                .collect(),
            last_error: self.last_error.clone(),
        }
    }

    /// What is on air now, alone: the output's dead-air watch asks it on every turn of the
    /// loop and needs nothing else of the status.
    pub fn on_air_view(&self, now: DateTime<Utc>) -> Option<OnAirView> {
        (self.runs.map.values())
            .find(|r| r.current.is_some())
            .map(|r| {
                let i = r.current.expect("filtered");
                let e = &r.entries[i as usize];
                let since = r.started.get(&i).copied();
                OnAirView {
                    programme: r.meta.programme.clone(),
                    title: e.title.clone(),
                    item: i + 1,
                    items: r.entries.len() as u32,
                    position_ms: since
                        .map(|s| {
                            (now - s).num_milliseconds().max(0) as u64 + e.offset.as_millis() as u64
                        })
                        .unwrap_or(0),
                    duration_ms: e.duration.map(|d| d.as_millis() as u64),
                    priority: r.meta.priority,
                    trigger: r.meta.trigger,
                }
            })
    }
}
