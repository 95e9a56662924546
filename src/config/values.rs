//! The small value types of `schedule.yaml`, each parsed the human way with a message that
//! says what to write instead.

use std::fmt;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Deserializer, Serialize};

/// A duration written `90s`, `10m`, `1h30m`, `30d` (humantime syntax).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.chars().all(|c| c.is_ascii_digit()) && !t.is_empty() {
            return Err(format!(
                "`{t}` has no unit; write it with one, e.g. `{t}s`, `{t}m` or `{t}h`"
            ));
        }
        humantime::parse_duration(t)
            .map(HumanDuration)
            .map_err(|e| {
                format!("`{t}` is not a duration ({e}); write e.g. `90s`, `10m`, `1h30m` or `30d`")
            })
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", format_duration(self.0))
    }
}

/// `1h30m`, `90s` → `1m30s`: the compact form used everywhere loaxa prints a duration.
pub fn format_duration(d: Duration) -> String {
    let total = d.as_secs();
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        let ms = d.subsec_millis();
        if ms > 0 && h == 0 && m == 0 {
            out.push_str(&format!("{s}.{ms:03}s"));
        } else {
            out.push_str(&format!("{s}s"));
        }
    }
    out
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = ScalarText::deserialize(d)?;
        HumanDuration::parse(&v.0).map_err(serde::de::Error::custom)
    }
}

/// A calendar date written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub NaiveDate);

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = ScalarText::deserialize(d)?;
        NaiveDate::parse_from_str(v.0.trim(), "%Y-%m-%d")
            .map(Date)
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "`{}` is not a date; write it as YYYY-MM-DD, e.g. 2026-12-01",
                    v.0
                ))
            })
    }
}

/// A scalar read as text, whatever YAML typed it as (`10` or `10m` or `true`), so the
/// value parsers above see what the person wrote.
struct ScalarText(String);

impl<'de> Deserialize<'de> for ScalarText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ScalarText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a plain value")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The three broadcast priority levels of TT 39/2020/TT-BTTTT.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// thường
    #[default]
    #[serde(alias = "thuong")]
    Normal,
    /// ưu tiên
    #[serde(alias = "uu-tien", alias = "uu_tien")]
    Priority,
    /// khẩn cấp
    #[serde(alias = "khan-cap", alias = "khan_cap")]
    Emergency,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::Priority => "priority",
            Priority::Emergency => "emergency",
        }
    }

    /// The Vietnamese name the operator knows.
    pub fn vi(self) -> &'static str {
        match self {
            Priority::Normal => "thường",
            Priority::Priority => "ưu tiên",
            Priority::Emergency => "khẩn cấp",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        match s {
            "normal" => Some(Priority::Normal),
            "priority" => Some(Priority::Priority),
            "emergency" => Some(Priority::Emergency),
            _ => None,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a category segment chooses its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Pick {
    /// The most recent valid items.
    #[default]
    Newest,
    /// Least recently aired first (from the airtime log), so every item gets its turn.
    Rotate,
    /// Every valid item, newest first.
    All,
}

impl Pick {
    pub fn as_str(self) -> &'static str {
        match self {
            Pick::Newest => "newest",
            Pick::Rotate => "rotate",
            Pick::All => "all",
        }
    }
}

/// What happens to a programme an emergency interrupted, once the emergency is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AfterEmergency {
    /// Play the interrupted item again from its start.
    #[default]
    RestartItem,
    /// Continue the interrupted item where it stopped.
    Resume,
    /// Drop the interrupted item and go on with the next one.
    SkipItem,
}

/// The span an indicator target is counted over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Week,
    Month,
}

impl Period {
    pub fn vi(self) -> &'static str {
        match self {
            Period::Week => "tuần",
            Period::Month => "tháng",
        }
    }
}

/// A time-of-day range such as `21:30-05:00` (may cross midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl TimeRange {
    pub fn parse(s: &str) -> Result<TimeRange, String> {
        let bad =
            || format!("`{s}` is not a time range; write it as HH:MM-HH:MM, e.g. \"21:30-05:00\"");
        let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
        let t = |x: &str| NaiveTime::parse_from_str(x.trim(), "%H:%M").map_err(|_| bad());
        let r = TimeRange {
            start: t(a)?,
            end: t(b)?,
        };
        if r.start == r.end {
            return Err(format!(
                "`{s}` starts and ends at the same time; give a range such as \"21:30-05:00\""
            ));
        }
        Ok(r)
    }

    /// Whether a local time of day falls inside (start inclusive, end exclusive).
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end {
            t >= self.start && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_the_human_way() {
        assert_eq!(
            HumanDuration::parse("90s").unwrap().0,
            Duration::from_secs(90)
        );
        assert_eq!(
            HumanDuration::parse("1h30m").unwrap().0,
            Duration::from_secs(5400)
        );
        assert_eq!(
            HumanDuration::parse("30d").unwrap().0,
            Duration::from_secs(30 * 86400)
        );
        assert!(HumanDuration::parse("10").unwrap_err().contains("no unit"));
        assert!(HumanDuration::parse("ten minutes").is_err());
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_millis(2500)), "2.500s");
    }

    #[test]
    fn time_ranges_cross_midnight() {
        let r = TimeRange::parse("21:30-05:00").unwrap();
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(r.contains(t(23, 0)) && r.contains(t(4, 59)) && r.contains(t(21, 30)));
        assert!(!r.contains(t(5, 0)) && !r.contains(t(12, 0)));
        assert!(TimeRange::parse("25:00-05:00").is_err());
        assert!(TimeRange::parse("05:00-05:00").is_err());
    }
}
