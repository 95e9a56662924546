//! Cron expressions with the Unix (Vixie) meaning every Linux technician knows.
//!
//! Evaluation is croner's: it follows POSIX/Vixie rules out of the box (five fields with an
//! optional leading seconds field, 0 and 7 = Sunday, 1 = Monday, `MON`–`SUN`/`JAN`–`DEC`,
//! day-of-month OR day-of-week when both are restricted), where the `cron` crate is
//! Quartz-style and would need a translation layer. What loaxa adds is the diagnosis: which
//! field is wrong and what it accepts.

use chrono::DateTime;
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

/// A parsed `when` expression. The croner expression is shared, not copied: it holds
/// ~5 KB (its year field), and thousands of programmes may share one expression.
#[derive(Debug, Clone)]
pub struct CronSpec {
    text: String,
    cron: std::sync::Arc<Cron>,
}

/// Why an expression was refused, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronProblem {
    pub message: String,
    pub hint: String,
}

const FIELDS: [(&str, &str); 6] = [
    ("second", "0-59"),
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31"),
    ("month", "1-12 or JAN-DEC"),
    (
        "day-of-week",
        "0-7 or SUN-SAT (0 and 7 are Sunday, 1 is Monday)",
    ),
];

const NICKNAMES: [&str; 7] = [
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

fn parser() -> CronParser {
    parser_for(Seconds::Optional, Year::Disallowed)
}

/// The years an expression fires in. croner's `*` year sets 5 000 bits one by one, most of
/// the 25 µs a parse takes; 2 000 programmes took 50 ms of it. Two centuries cover any
/// station's life, and the simulated clock's dates.
const YEARS: &str = "1970-2199";

/// [`parser`] with the seconds and year fields written out.
fn parser_with_years() -> CronParser {
    parser_for(Seconds::Required, Year::Required)
}

/// Vixie cron's meaning (day-of-month OR day-of-week, 0 and 7 = Sunday) with the given
/// seconds and year fields.
fn parser_for(seconds: Seconds, year: Year) -> CronParser {
    CronParser::builder()
        .seconds(seconds)
        .year(year)
        .dom_and_dow(false)
        .alternative_weekdays(false)
        .build()
}

impl CronSpec {
    pub fn parse(text: &str) -> Result<CronSpec, CronProblem> {
        let t = text.trim();
        let usage = "write five fields `minute hour day-of-month month day-of-week`, e.g. \"30 5 * * *\" for 05:30 every day (a sixth, leading field gives seconds)";
        if t.is_empty() {
            return Err(CronProblem {
                message: "the cron expression is empty".into(),
                hint: usage.into(),
            });
        }
        if t.starts_with('@') && !NICKNAMES.contains(&t.to_ascii_lowercase().as_str()) {
            return Err(CronProblem {
                message: format!("`{t}` is not a cron nickname loaxa knows"),
                hint: format!("use one of {} or {usage}", NICKNAMES.join(", ")),
            });
        }
        // The common case parses once; only a refused expression is taken apart. Years are
        // bounded (see `YEARS`); nicknames and refused expressions take the plain parser.
        let fields = t.split_whitespace().count();
        if !t.starts_with('@') && (fields == 5 || fields == 6) {
            let seconds = if fields == 5 { "0 " } else { "" };
            if let Ok(cron) = parser_with_years().parse(&format!("{seconds}{t} {YEARS}")) {
                return Ok(CronSpec {
                    text: t.to_string(),
                    cron: std::sync::Arc::new(cron),
                });
            }
        }
        let err = match parser().parse(t) {
            Ok(cron) => {
                return Ok(CronSpec {
                    text: t.to_string(),
                    cron: std::sync::Arc::new(cron),
                })
            }
            Err(e) => e,
        };
        if !t.starts_with('@') {
            let fields: Vec<&str> = t.split_whitespace().collect();
            let names: &[(&str, &str)] = match fields.len() {
                5 => &FIELDS[1..],
                6 => &FIELDS[..],
                n => {
                    return Err(CronProblem {
                        message: format!("`{t}` has {n} fields"),
                        hint: usage.into(),
                    })
                }
            };
            // Find the field at fault by parsing each one alone with the rest as `*`.
            for (i, (field, (name, range))) in fields.iter().zip(names).enumerate() {
                let mut probe = vec!["*"; fields.len()];
                probe[i] = field;
                if fields.len() == 6 && i != 0 {
                    probe[0] = "0";
                }
                if let Err(e) = parser().parse(&probe.join(" ")) {
                    return Err(CronProblem {
                        message: format!(
                            "in `{t}`, the {name} field `{field}` is invalid ({})",
                            simplify(&e.to_string())
                        ),
                        hint: format!("the {name} field takes {range}, lists `1,3`, ranges `1-5` and steps `*/15`"),
                    });
                }
            }
        }
        Err(CronProblem {
            message: format!(
                "`{t}` is not a valid cron expression ({})",
                simplify(&err.to_string())
            ),
            hint: usage.into(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first firing strictly after `t`, in `t`'s zone.
    pub fn next_after(&self, t: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        self.cron.find_next_occurrence(t, false).ok()
    }

    /// The first firing at or after `t`.
    pub fn next_from(&self, t: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        self.cron.find_next_occurrence(t, true).ok()
    }
}

/// croner's messages name internal terms ("Component error:"); keep the useful part.
fn simplify(msg: &str) -> String {
    let m = msg
        .trim_start_matches("Component error: ")
        .trim_start_matches("Invalid pattern: ")
        .trim_end_matches('.');
    m.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate, TimeZone, Timelike, Weekday};

    fn tz() -> Tz {
        chrono_tz::Asia::Ho_Chi_Minh
    }

    /// Every firing in the week starting Monday 2026-11-30 00:00 local.
    fn week(expr: &str) -> Vec<DateTime<Tz>> {
        let c = CronSpec::parse(expr).unwrap();
        let start = tz().with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let end = start + chrono::Duration::days(7);
        let mut out = vec![];
        let mut t = c.next_from(&start).unwrap();
        while t < end {
            out.push(t);
            t = c.next_after(&t).unwrap();
        }
        out
    }

    fn weekdays(expr: &str) -> Vec<Weekday> {
        week(expr).iter().map(|t| t.weekday()).collect()
    }

    /// The bounded-years parse fires exactly when croner's own `*` year does: over a
    /// year of firings for each kind of expression (seconds, steps, lists, names, day of
    /// month OR day of week, last day, leap day), from dates either side of a leap year.
    #[test]
    fn bounded_years_fire_as_croners_own_parse() {
        let exprs = [
            "30 5 * * *",
            "*/7 * * * * *",
            "15 */4 * * MON-FRI",
            "0 6 1,15 * 0",
            "0 0 29 2 *",
            "0 12 L * *",
            "0 18 * JAN-MAR 7",
            "5 4 3 2 1 *",
            "@weekly",
        ];
        for e in exprs {
            let ours = CronSpec::parse(e).unwrap();
            let plain = parser().parse(e).unwrap();
            for year in [2027, 2028] {
                let mut t = tz().with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap();
                let end = tz().with_ymd_and_hms(2033, 1, 1, 0, 0, 0).unwrap();
                for _ in 0..400 {
                    let a = ours.next_after(&t).unwrap();
                    let b = plain.find_next_occurrence(&t, false).unwrap();
                    assert_eq!(a, b, "`{e}` after {t}");
                    if a > end {
                        break;
                    }
                    t = a;
                }
            }
        }
        // Outside the bounded years nothing fires (the station's clock is never there).
        let c = CronSpec::parse("30 5 * * *").unwrap();
        assert!(c
            .next_from(&tz().with_ymd_and_hms(2200, 1, 1, 0, 0, 0).unwrap())
            .is_none());
    }

    #[test]
    fn weekday_range_is_monday_to_friday() {
        use Weekday::*;
        assert_eq!(weekdays("0 6 * * 1-5"), vec![Mon, Tue, Wed, Thu, Fri]);
        assert_eq!(weekdays("0 6 * * MON-FRI"), vec![Mon, Tue, Wed, Thu, Fri]);
    }

    #[test]
    fn sunday_is_zero_and_seven() {
        assert_eq!(weekdays("0 17 * * 0"), vec![Weekday::Sun]);
        assert_eq!(weekdays("0 17 * * 7"), vec![Weekday::Sun]);
        assert_eq!(weekdays("0 17 * * sun"), vec![Weekday::Sun]);
        assert_eq!(weekdays("0 17 * * 6,0"), vec![Weekday::Sat, Weekday::Sun]);
    }

    #[test]
    fn steps_lists_and_seconds() {
        let v = week("*/20 6 * * 1");
        let mins: Vec<u32> = v.iter().map(|t| t.minute()).collect();
        assert_eq!(mins, vec![0, 20, 40]);
        let v = week("30 0 6,17 * * 2");
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].hour(), v[0].second()), (6, 30));
        assert_eq!(v[1].hour(), 17);
        let v = week("0 6-8/2 * * 3");
        assert_eq!(v.iter().map(|t| t.hour()).collect::<Vec<_>>(), vec![6, 8]);
    }

    #[test]
    fn month_names() {
        let c = CronSpec::parse("0 7 1 JAN,jul *").unwrap();
        let t = tz().with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
        let a = c.next_after(&t).unwrap();
        let b = c.next_after(&a).unwrap();
        assert_eq!((a.year(), a.month(), a.day()), (2027, 1, 1));
        assert_eq!((b.month(), b.day()), (7, 1));
    }

    #[test]
    fn day_of_month_or_day_of_week_when_both_restricted() {
        // 1st of the month OR any Friday (Vixie rule), in December 2026.
        let c = CronSpec::parse("0 8 1 * 5").unwrap();
        let mut t = tz().with_ymd_and_hms(2026, 11, 30, 23, 0, 0).unwrap();
        let mut days = vec![];
        for _ in 0..5 {
            t = c.next_after(&t).unwrap();
            days.push(t.day());
        }
        // Dec 1 (Tue) is the 1st; Fridays are 4, 11, 18, 25.
        assert_eq!(days, vec![1, 4, 11, 18, 25]);
        // One day field restricted: only it counts.
        let c = CronSpec::parse("0 8 1 * *").unwrap();
        let n = c.next_after(&t).unwrap();
        assert_eq!((n.month(), n.day()), (1, 1));
    }

    #[test]
    fn evaluated_in_the_station_zone() {
        let c = CronSpec::parse("30 5 * * *").unwrap();
        let t = tz().with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let n = c.next_after(&t).unwrap();
        assert_eq!(
            n.naive_utc(),
            NaiveDate::from_ymd_opt(2026, 11, 30)
                .unwrap()
                .and_hms_opt(22, 30, 0)
                .unwrap()
        );
        // The same expression in another zone fires at another instant.
        let berlin = chrono_tz::Europe::Berlin;
        let tb = berlin.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let nb = c.next_after(&tb).unwrap();
        assert_eq!(
            nb.naive_utc().time(),
            chrono::NaiveTime::from_hms_opt(4, 30, 0).unwrap()
        );
    }

    #[test]
    fn names_the_bad_field() {
        let e = CronSpec::parse("0 25 * * *").unwrap_err();
        assert!(e.message.contains("hour field `25`"), "{e:?}");
        let e = CronSpec::parse("61 6 * * *").unwrap_err();
        assert!(e.message.contains("minute field `61`"), "{e:?}");
        let e = CronSpec::parse("0 6 * * MOO").unwrap_err();
        assert!(e.message.contains("day-of-week field"), "{e:?}");
        let e = CronSpec::parse("0 6 * 13 *").unwrap_err();
        assert!(e.message.contains("month field `13`"), "{e:?}");
        let e = CronSpec::parse("0 6 * *").unwrap_err();
        assert!(e.message.contains("4 fields"), "{e:?}");
        let e = CronSpec::parse("0 0 6 * * * 2027").unwrap_err();
        assert!(e.message.contains("7 fields"), "{e:?}");
        assert!(CronSpec::parse("@daily").is_ok());
        assert!(CronSpec::parse("@reboot").is_err());
    }
}
