//! A key's outlook as a page shows it (the dashboard's strip): the forecast, the points that
//! expire soon, in words from `locales/<lang>/results.ftl` (`forecast-*`, `expiring-*`,
//! `when-*`, `span-*`). Times are Beijing time, said relative to today where that is shorter.

use time::OffsetDateTime;

use super::view::{Layout, points};
use crate::clock::BEIJING;
use crate::i18n::{self, Arg};
use crate::pace::{Basis, Expiring, Forecast};
use crate::runs::outlook::KeyOutlook;

/// A moment in words: `14:00`, `tomorrow 14:00` or `Dec 8, 14:00`.
#[derive(Debug, Clone, PartialEq)]
pub struct When {
    /// `today`, `tomorrow` or `date`.
    pub relative: &'static str,
    pub month: u8,
    pub day: u8,
    pub time: String,
}

impl When {
    pub fn at(unix: i64, now: i64) -> Option<Self> {
        let at = OffsetDateTime::from_unix_timestamp(unix)
            .ok()?
            .to_offset(BEIJING);
        let today = OffsetDateTime::from_unix_timestamp(now)
            .ok()?
            .to_offset(BEIJING)
            .date();
        let relative = if at.date() == today {
            "today"
        } else if Some(at.date()) == today.next_day() {
            "tomorrow"
        } else {
            "date"
        };
        Some(Self {
            relative,
            month: u8::from(at.month()),
            day: at.day(),
            time: format!("{:02}:{:02}", at.hour(), at.minute()),
        })
    }

    pub fn text(&self, layout: &Layout) -> String {
        match self.relative {
            "today" => layout.t1("when-today", "time", &self.time),
            "tomorrow" => layout.t1("when-tomorrow", "time", &self.time),
            _ => layout.t3(
                "when-date",
                &("month", i64::from(self.month)),
                &("day", i64::from(self.day)),
                &("time", &self.time),
            ),
        }
    }
}

/// A length of time in its largest sensible unit: `40 minutes`, `5 hours`, `2 days`.
fn span_text(secs: i64, layout: &Layout) -> String {
    let secs = secs.max(0);
    match secs {
        0..3600 => layout.tn("span-m", "n", (secs / 60).max(1)),
        3600..172_800 => layout.tn("span-h", "n", (secs + 1800) / 3600),
        _ => layout.tn("span-d", "n", (secs + 43_200) / 86_400),
    }
}

pub struct ForecastView {
    forecast: Forecast,
    now: i64,
}

impl ForecastView {
    /// The basis code (`pace`, `no_spend`, …), for tests and styling.
    pub fn basis(&self) -> &'static str {
        self.forecast.basis.as_str()
    }

    pub fn text(&self, layout: &Layout) -> String {
        let f = &self.forecast;
        let hours = ((f.span_secs + 1800) / 3600).max(1);
        match f.basis {
            Basis::Pace => {
                let out = f.runs_out_at.unwrap_or(self.now);
                let when = When::at(out, self.now)
                    .map(|w| w.text(layout))
                    .unwrap_or_default();
                let lasts = span_text(out - self.now, layout);
                let burn = points(f.burn_per_hour.unwrap_or_default());
                i18n::text_with(
                    layout.lang,
                    "forecast-pace",
                    &[
                        ("hours", Arg::Number(hours as f64)),
                        ("burn", burn.as_str().into()),
                        ("when", when.as_str().into()),
                        ("lasts", lasts.as_str().into()),
                    ],
                )
            }
            Basis::NoSpend => layout.tn("forecast-no-spend", "hours", hours),
            Basis::TooFewReadings => layout.t1("forecast-too-few", "readings", f.readings),
            Basis::TooShort => layout.t("forecast-too-short"),
            Basis::Exhausted => layout.t("forecast-exhausted"),
            Basis::NoReadings => String::new(),
        }
    }
}

pub struct ExpiringView {
    expiring: Expiring,
    now: i64,
}

impl ExpiringView {
    pub fn exact(&self) -> bool {
        self.expiring.exact
    }

    pub fn text(&self, layout: &Layout) -> String {
        let when = When::at(self.expiring.at, self.now)
            .map(|w| w.text(layout))
            .unwrap_or_default();
        let id = if self.expiring.exact {
            "expiring-exact"
        } else {
            "expiring-estimate"
        };
        layout.t2(id, "points", points(self.expiring.points), "when", when)
    }
}

/// The strip's additions on the dashboard.
pub struct OutlookView {
    pub forecast: Option<ForecastView>,
    /// Soonest first, within the next day.
    pub expiring: Vec<ExpiringView>,
}

impl OutlookView {
    pub fn of(outlook: &KeyOutlook, now: i64) -> Self {
        Self {
            forecast: (outlook.forecast.basis != Basis::NoReadings).then_some(ForecastView {
                forecast: outlook.forecast,
                now,
            }),
            expiring: outlook
                .expiring
                .iter()
                .filter(|e| e.at <= now + 24 * 3600)
                .map(|e| ExpiringView { expiring: *e, now })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_said_relative_to_today_in_beijing() {
        // 2026-12-01 09:00 in Beijing.
        let now = 1_796_086_800;
        assert_eq!(When::at(now + 5 * 3600, now).unwrap().relative, "today");
        let tomorrow = When::at(now + 20 * 3600, now).unwrap();
        assert_eq!(
            (tomorrow.relative, tomorrow.time.as_str()),
            ("tomorrow", "05:00")
        );
        let later = When::at(now + 7 * 86_400, now).unwrap();
        assert_eq!((later.relative, later.month, later.day), ("date", 12, 8));
    }
}
