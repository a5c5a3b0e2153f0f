//! Day numbers and calendar periods (days since 1970-01-01, proleptic Gregorian).

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ParamError;

/// The longest duration (horizon, window, within, new_days) a computation
/// takes, in days: a billion years, longer than any log spans. A log's day
/// numbers lie within 5.8 million years of 1970 ([`crate::Transactions`]), so
/// a day plus or minus a duration stays far inside `i64` and never wraps.
pub const MAX_DURATION_DAYS: i64 = 365_242_500_000;

/// `days` if it is a duration of at most [`MAX_DURATION_DAYS`] either way, else a
/// [`ParamError`] naming `name` (never a wrapped result downstream).
pub fn check_duration(name: &'static str, days: i64) -> Result<i64, ParamError> {
    if days.unsigned_abs() > MAX_DURATION_DAYS as u64 {
        return Err(ParamError::new(
            name,
            format!("{days} days is longer than the longest duration accepted ({MAX_DURATION_DAYS} days)"),
        ));
    }
    Ok(days)
}

/// A calendar period used to bucket transactions, as in pandas' `to_period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Period {
    /// Calendar days.
    Day,
    /// Weeks ending on Sunday (pandas `W` = `W-SUN`), starting on Monday.
    Week,
    /// Calendar months.
    Month,
}

impl FromStr for Period {
    type Err = ParamError;
    fn from_str(s: &str) -> Result<Self, ParamError> {
        match s {
            "D" => Ok(Period::Day),
            "W" | "W-SUN" => Ok(Period::Week),
            "M" | "MS" | "ME" => Ok(Period::Month),
            other => Err(ParamError::new("freq", format!("expected 'D', 'W' or 'M', got {other:?}"))),
        }
    }
}

impl Period {
    /// The ordinal of the period containing `day` (consecutive periods have
    /// consecutive ordinals).
    pub fn ordinal(self, day: i64) -> i64 {
        match self {
            Period::Day => day,
            // 1970-01-05 (day 4) is a Monday: weeks run Monday..Sunday.
            Period::Week => (day + 3).div_euclid(7),
            Period::Month => {
                let (y, m, _) = civil_from_days(day);
                y * 12 + (m as i64 - 1)
            }
        }
    }

    /// First day of the period with ordinal `ord`.
    pub fn start_day(self, ord: i64) -> i64 {
        match self {
            Period::Day => ord,
            Period::Week => ord * 7 - 3,
            Period::Month => days_from_civil(ord.div_euclid(12), (ord.rem_euclid(12) + 1) as u32, 1),
        }
    }

    /// Length of one period in the time unit that `lifetimes` divides by
    /// (`np.timedelta64(1, freq)`): days for `D`, 7 days for `W`. Months are
    /// measured as whole calendar months between period starts instead (see
    /// [`Period::span`]).
    pub fn span(self, from_ord: i64, to_ord: i64) -> f64 {
        match self {
            Period::Day => (self.start_day(to_ord) - self.start_day(from_ord)) as f64,
            Period::Week => (self.start_day(to_ord) - self.start_day(from_ord)) as f64 / 7.0,
            Period::Month => (to_ord - from_ord) as f64,
        }
    }
}

/// `YYYY-MM-DD` of a day number, for messages (`day N` beyond ±2^40 days,
/// where the calendar arithmetic would overflow).
pub fn iso_date(day: i64) -> String {
    if day.unsigned_abs() > 1 << 40 {
        return format!("day {day}");
    }
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// (year, month 1-12, day 1-31) of a day number (H. Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Day number of (year, month 1-12, day 1-31).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(1997, 9, 30), 10_134);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        for z in -800_000..800_000 {
            if z % 997 == 0 {
                let (y, m, d) = civil_from_days(z);
                assert_eq!(days_from_civil(y, m, d), z);
            }
        }
    }

    #[test]
    fn weeks_start_on_monday() {
        // 1997-01-01 was a Wednesday; its W-SUN period starts Monday 1996-12-30.
        let d = days_from_civil(1997, 1, 1);
        let w = Period::Week;
        assert_eq!(w.start_day(w.ordinal(d)), days_from_civil(1996, 12, 30));
        assert_eq!(w.ordinal(days_from_civil(1997, 1, 5)), w.ordinal(d)); // Sunday
        assert_eq!(w.ordinal(days_from_civil(1997, 1, 6)), w.ordinal(d) + 1); // Monday
    }

    #[test]
    fn months() {
        let m = Period::Month;
        let d = days_from_civil(1997, 3, 17);
        assert_eq!(m.start_day(m.ordinal(d)), days_from_civil(1997, 3, 1));
        assert_eq!(m.span(m.ordinal(days_from_civil(1996, 12, 31)), m.ordinal(d)), 3.0);
    }
}
