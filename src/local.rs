//! Showing times the way the station's people read them: in the station's zone, with
//! Vietnamese weekday names and day/month/year dates. Stored times stay UTC.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// "Thứ Hai" … "Chủ nhật".
pub fn weekday_vi(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "Thứ Hai",
        Weekday::Tue => "Thứ Ba",
        Weekday::Wed => "Thứ Tư",
        Weekday::Thu => "Thứ Năm",
        Weekday::Fri => "Thứ Sáu",
        Weekday::Sat => "Thứ Bảy",
        Weekday::Sun => "Chủ nhật",
    }
}

/// "Thứ Ba, 01/12/2026".
pub fn day_vi(d: NaiveDate) -> String {
    format!("{}, {}", weekday_vi(d.weekday()), d.format("%d/%m/%Y"))
}

/// "Thứ Ba 01/12/2026 05:30" in the station's zone.
pub fn datetime_vi(t: DateTime<Utc>, tz: Tz) -> String {
    let l = t.with_timezone(&tz);
    format!("{} {}", weekday_vi(l.weekday()), l.format("%d/%m/%Y %H:%M"))
}

/// A length as the operator reads it on a player: `0:09`, `12:05`, `1:02:03`.
pub fn clock_len(d: std::time::Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// RFC 3339 with the station's offset, e.g. `2026-12-01T05:30:00+07:00`.
pub fn rfc3339(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

/// Reads a date or date-time given on the command line, in the station's zone:
/// `2026-12-01`, `2026-12-01T05:30`, `2026-12-01 05:30:00`, or RFC 3339 with an offset.
pub fn parse_datetime(s: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    });
    let Some(n) = naive else {
        return Err(format!(
            "`{s}` is not a date or time; write e.g. 2026-12-01 or 2026-12-01T05:30"
        ));
    };
    tz.from_local_datetime(&n)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("`{s}` does not exist in {tz} (a clock change skips it)"))
}

/// Midnight at the start of a local date, as UTC.
pub fn start_of_day(d: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let n = d.and_hms_opt(0, 0, 0).expect("midnight exists");
    tz.from_local_datetime(&n)
        .earliest()
        .unwrap_or_else(|| tz.from_utc_datetime(&n))
        .with_timezone(&Utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_local_times_in_the_station_zone() {
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let t = parse_datetime("2026-12-01T05:30", tz).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-30T22:30:00+00:00");
        assert_eq!(rfc3339(t, tz), "2026-12-01T05:30:00+07:00");
        assert_eq!(
            parse_datetime("2026-12-01", tz).unwrap().to_rfc3339(),
            "2026-11-30T17:00:00+00:00"
        );
        assert_eq!(datetime_vi(t, tz), "Thứ Ba 01/12/2026 05:30");
        assert!(parse_datetime("tomorrow", tz).is_err());
    }
}
