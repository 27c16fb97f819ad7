//! When a monitor runs: every N minutes, or at fixed times of day in Beijing time. Slots are
//! unix seconds; a monitor's jitter (under a minute) is added to each one, so monitors that fall
//! on the same minute spread out. A monitor that was down for several slots runs once, then
//! goes on at its next slot.

use crate::clock;

const DAY: i64 = 86_400;
/// The longest interval (a week).
pub const MAX_EVERY_MINUTES: u32 = 7 * 24 * 60;
/// Free checks may run this often.
pub const MIN_CHECK_MINUTES: u32 = 5;
/// Probes cost points: not more often than this.
pub const MIN_PROBE_MINUTES: u32 = 30;
/// Fixed times of day per monitor.
pub const MAX_AT_TIMES: usize = 24;
/// Jitter stays under this many seconds.
pub const MAX_JITTER_SECS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Every {
        minutes: u32,
    },
    /// Minutes after 00:00 Beijing time, sorted, distinct.
    AtTimes(Vec<u16>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("give every_minutes or at_times")]
    Missing,
    #[error("give every_minutes or at_times, not both")]
    Both,
    #[error("every_minutes must be a whole number from {min} to {MAX_EVERY_MINUTES}")]
    BadInterval { min: u32 },
    #[error("at_times must be up to {MAX_AT_TIMES} times of day like 08:00,20:00")]
    BadTimes,
}

/// `08:00`, `8:05` → minutes after midnight.
pub fn parse_time_of_day(text: &str) -> Option<u16> {
    let (hours, minutes) = text.trim().split_once(':')?;
    if hours.is_empty() || hours.len() > 2 || minutes.len() != 2 {
        return None;
    }
    let hours: u16 = hours.parse().ok()?;
    let minutes: u16 = minutes.parse().ok()?;
    (hours < 24 && minutes < 60).then_some(hours * 60 + minutes)
}

/// `480` → `08:00`.
pub fn time_of_day_text(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl Schedule {
    /// From the form's two fields; `min_every` is the shortest interval allowed for this kind.
    pub fn parse(
        every_minutes: Option<&str>,
        at_times: Option<&str>,
        min_every: u32,
    ) -> Result<Self, ScheduleError> {
        let every = every_minutes.map(str::trim).filter(|s| !s.is_empty());
        let at = at_times.map(str::trim).filter(|s| !s.is_empty());
        match (every, at) {
            (None, None) => Err(ScheduleError::Missing),
            (Some(_), Some(_)) => Err(ScheduleError::Both),
            (Some(every), None) => match every.parse::<u32>() {
                Ok(minutes) if (min_every..=MAX_EVERY_MINUTES).contains(&minutes) => {
                    Ok(Self::Every { minutes })
                }
                _ => Err(ScheduleError::BadInterval { min: min_every }),
            },
            (None, Some(at)) => {
                let mut times = Vec::new();
                for part in at
                    .split([',', ' ', '，', ';'])
                    .filter(|p| !p.trim().is_empty())
                {
                    times.push(parse_time_of_day(part).ok_or(ScheduleError::BadTimes)?);
                }
                times.sort_unstable();
                times.dedup();
                if times.is_empty() || times.len() > MAX_AT_TIMES {
                    return Err(ScheduleError::BadTimes);
                }
                Ok(Self::AtTimes(times))
            }
        }
    }

    /// As stored: `(every_minutes, at_times)`.
    pub fn from_stored(every_minutes: Option<i64>, at_times: Option<&str>) -> Option<Self> {
        match (every_minutes, at_times) {
            (Some(minutes), None) => u32::try_from(minutes)
                .ok()
                .filter(|m| *m > 0)
                .map(|minutes| Self::Every { minutes }),
            (None, Some(at)) => {
                let times: Option<Vec<u16>> = at.split(',').map(parse_time_of_day).collect();
                times.filter(|t| !t.is_empty()).map(Self::AtTimes)
            }
            _ => None,
        }
    }

    pub fn every_minutes(&self) -> Option<i64> {
        match self {
            Self::Every { minutes } => Some(i64::from(*minutes)),
            Self::AtTimes(_) => None,
        }
    }

    /// `08:00,20:00`.
    pub fn at_times_text(&self) -> Option<String> {
        match self {
            Self::Every { .. } => None,
            Self::AtTimes(times) => Some(
                times
                    .iter()
                    .map(|t| time_of_day_text(*t))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        }
    }

    pub fn runs_per_day(&self) -> f64 {
        match self {
            Self::Every { minutes } => 1440.0 / f64::from(*minutes),
            Self::AtTimes(times) => times.len() as f64,
        }
    }

    /// A new monitor's first slot: within a minute for an interval (the jitter), else the next
    /// time of day.
    pub fn first_slot(&self, now: i64, jitter: i64) -> i64 {
        match self {
            Self::Every { .. } => now + jitter,
            Self::AtTimes(_) => self.next_time_of_day(now, jitter),
        }
    }

    /// The slot after a run of `slot` that ended at `now`: never in the past, and only one
    /// run for any number of slots missed.
    pub fn next_slot(&self, slot: i64, now: i64, jitter: i64) -> i64 {
        match self {
            Self::Every { minutes } => {
                let period = i64::from(*minutes) * 60;
                let mut next = slot + period;
                if next <= now {
                    let behind = now - slot;
                    next = slot + (behind / period + 1) * period;
                }
                next
            }
            Self::AtTimes(_) => self.next_time_of_day(now.max(slot), jitter),
        }
    }

    /// The first time of day (plus jitter) after `now`.
    fn next_time_of_day(&self, now: i64, jitter: i64) -> i64 {
        let Self::AtTimes(times) = self else {
            return now;
        };
        let midnight = clock::last_midnight(now);
        for day in 0..=1 {
            for t in times {
                let at = midnight + day * DAY + i64::from(*t) * 60 + jitter;
                if at > now {
                    return at;
                }
            }
        }
        midnight + 2 * DAY + i64::from(times[0]) * 60 + jitter
    }
}

/// A random jitter in `[1, MAX_JITTER_SECS)`, smaller for very short intervals. Never 0, so a
/// new or resumed monitor's first slot is always just after the moment it was saved.
pub fn random_jitter(schedule: &Schedule) -> i64 {
    let span = match schedule {
        Schedule::Every { minutes } => (i64::from(*minutes) * 60 / 4).clamp(1, MAX_JITTER_SECS - 1),
        Schedule::AtTimes(_) => MAX_JITTER_SECS - 1,
    };
    let mut bytes = [0u8; 8];
    // Jitter only spreads load: without randomness the monitor just runs a second late.
    if getrandom::fill(&mut bytes).is_err() {
        return 1;
    }
    1 + i64::try_from(u64::from_le_bytes(bytes) % span.unsigned_abs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-01-01 00:00 Beijing.
    const MIDNIGHT: i64 = 1_767_196_800;

    #[test]
    fn parses_both_forms() {
        assert_eq!(
            Schedule::parse(Some("5"), None, 5),
            Ok(Schedule::Every { minutes: 5 })
        );
        assert_eq!(
            Schedule::parse(Some("4"), None, 5),
            Err(ScheduleError::BadInterval { min: 5 })
        );
        assert_eq!(
            Schedule::parse(Some("10"), None, 30),
            Err(ScheduleError::BadInterval { min: 30 })
        );
        assert_eq!(
            Schedule::parse(None, Some("20:00, 8:00,08:00"), 5),
            Ok(Schedule::AtTimes(vec![480, 1200]))
        );
        assert_eq!(
            Schedule::parse(None, Some("25:00"), 5),
            Err(ScheduleError::BadTimes)
        );
        assert_eq!(
            Schedule::parse(Some("5"), Some("08:00"), 5),
            Err(ScheduleError::Both)
        );
        assert_eq!(
            Schedule::parse(Some(" "), Some(""), 5),
            Err(ScheduleError::Missing)
        );
        let at = Schedule::AtTimes(vec![480, 1200]);
        assert_eq!(at.at_times_text().as_deref(), Some("08:00,20:00"));
        assert_eq!(Schedule::from_stored(None, Some("08:00,20:00")), Some(at));
    }

    #[test]
    fn missed_slots_run_once_and_the_grid_holds() {
        let every = Schedule::Every { minutes: 5 };
        let slot = MIDNIGHT + 7;
        assert_eq!(every.next_slot(slot, slot + 2, 7), slot + 300);
        // Down for an hour and a bit: the next slot is the first one after now, on the grid.
        let now = slot + 3_700;
        let next = every.next_slot(slot, now, 7);
        assert!(next > now && next - now <= 300);
        assert_eq!((next - slot) % 300, 0);
    }

    #[test]
    fn times_of_day_are_beijing_time() {
        let at = Schedule::AtTimes(vec![480, 1200]);
        assert_eq!(at.first_slot(MIDNIGHT, 9), MIDNIGHT + 8 * 3600 + 9);
        assert_eq!(
            at.next_slot(MIDNIGHT + 8 * 3600 + 9, MIDNIGHT + 8 * 3600 + 20, 9),
            MIDNIGHT + 20 * 3600 + 9
        );
        assert_eq!(
            at.next_slot(MIDNIGHT + 20 * 3600, MIDNIGHT + 21 * 3600, 0),
            MIDNIGHT + DAY + 8 * 3600
        );
        assert_eq!(at.runs_per_day(), 2.0);
        assert_eq!(Schedule::Every { minutes: 30 }.runs_per_day(), 48.0);
    }

    #[test]
    fn jitter_stays_under_a_minute() {
        for _ in 0..100 {
            let j = random_jitter(&Schedule::Every { minutes: 5 });
            assert!((1..MAX_JITTER_SECS).contains(&j));
        }
    }
}
