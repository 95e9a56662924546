//! Real and simulated time. Everything that decides *when* takes a [`Clock`], so a month
//! of schedule is tested in milliseconds.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

/// A source of "now".
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to: for simulations and tests.
#[derive(Debug, Clone)]
pub struct SimClock(Arc<Mutex<DateTime<Utc>>>);

impl SimClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        SimClock(Arc::new(Mutex::new(start)))
    }

    /// Moves the clock to `t` (never backwards).
    pub fn set(&self, t: DateTime<Utc>) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if t > *g {
            *g = t;
        }
    }

    pub fn advance(&self, d: chrono::Duration) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *g += d;
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
