//! Failed logins counted per key (an address, a user name) over a sliding window: past
//! the limit, further attempts are refused until the oldest failure ages out. Pure: the
//! caller passes the time.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

pub struct Limiter {
    max: usize,
    window: Duration,
    failures: HashMap<String, VecDeque<Instant>>,
}

impl Limiter {
    pub fn new(max: usize, window: Duration) -> Limiter {
        Limiter {
            max,
            window,
            failures: HashMap::new(),
        }
    }

    fn prune(&mut self, key: &str, now: Instant) {
        if let Some(q) = self.failures.get_mut(key) {
            while q
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.window)
            {
                q.pop_front();
            }
            if q.is_empty() {
                self.failures.remove(key);
            }
        }
    }

    /// `Err(wait)` while `key` has used up its attempts: how long until it may try again.
    pub fn check(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        self.prune(key, now);
        match self.failures.get(key) {
            Some(q) if q.len() >= self.max => {
                let oldest = *q.front().expect("non-empty");
                Err(self.window.saturating_sub(now.duration_since(oldest)))
            }
            _ => Ok(()),
        }
    }

    pub fn fail(&mut self, key: &str, now: Instant) {
        self.prune(key, now);
        self.failures.entry(key.into()).or_default().push_back(now);
        // Bounded memory under a flood of distinct keys: forget the stalest entries.
        if self.failures.len() > 10_000 {
            let window = self.window;
            self.failures.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < window / 4)
            });
        }
    }

    /// A successful login forgets the key's failures.
    pub fn succeed(&mut self, key: &str) {
        self.failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_until_the_oldest_failure_ages_out() {
        let t0 = Instant::now();
        let mut l = Limiter::new(3, Duration::from_secs(60));
        for i in 0..3 {
            assert!(l.check("u:lan", t0 + Duration::from_secs(i)).is_ok());
            l.fail("u:lan", t0 + Duration::from_secs(i));
        }
        let wait = l.check("u:lan", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        // Another key is not affected.
        assert!(l.check("u:hoa", t0 + Duration::from_secs(10)).is_ok());
        // After the window of the first failure, one more attempt is allowed.
        assert!(l.check("u:lan", t0 + Duration::from_secs(60)).is_ok());
        l.fail("u:lan", t0 + Duration::from_secs(60));
        assert!(l
            .check("u:lan", t0 + Duration::from_millis(60_500))
            .is_err());
        l.succeed("u:lan");
        assert!(l.check("u:lan", t0 + Duration::from_millis(60_500)).is_ok());
    }
}
