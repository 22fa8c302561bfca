//! The tenant's time zone, as far as Workfront says it. The API names no zone (API notes §5:
//! "which zone a tenant uses is not documented"), but every `entryDate` is written in the
//! tenant's local time with its offset, and the offset moves with daylight saving time. So the
//! offsets seen, each at the instants it was seen, pick out the zones whose rules give exactly
//! those offsets then; among them a well-known zone is preferred, and the choice is always
//! named as inferred (`--tz` names it for certain).

use std::collections::BTreeMap;

use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// Zones preferred, in this order, when several match the offsets seen: the zones most
/// tenants work in, so a Denver tenant's `-0700`/`-0600` reads "America/Denver", not the first
/// of the identical zones by name ("America/Boise"). Beyond them, the first match by name.
const PREFERRED: [&str; 24] = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Toronto",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Helsinki",
    "Europe/Moscow",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Australia/Brisbane",
    "Pacific/Auckland",
];

/// Each offset seen (seconds east of UTC) with the first and last instant it was seen at.
#[derive(Debug, Default, Clone)]
pub struct OffsetsSeen {
    seen: BTreeMap<i32, (DateTime<Utc>, DateTime<Utc>)>,
}

impl OffsetsSeen {
    /// An instant and the offset its date was written with.
    pub fn add(&mut self, at: DateTime<Utc>, offset: i32) {
        let span = self.seen.entry(offset).or_insert((at, at));
        span.0 = span.0.min(at);
        span.1 = span.1.max(at);
    }

    /// The offsets as Workfront writes them (`-0700`, `-0600`), for messages.
    pub fn describe(&self) -> String {
        let text = |s: &i32| {
            let m = s.unsigned_abs() / 60;
            format!(
                "{}{:02}{:02}",
                if *s < 0 { '-' } else { '+' },
                m / 60,
                m % 60
            )
        };
        self.seen.keys().map(text).collect::<Vec<_>>().join(", ")
    }

    /// The zone whose rules give every offset seen at the instants it was seen, or `None`
    /// when nothing was seen or no zone fits (the dates were not in one zone).
    pub fn zone(&self) -> Option<Tz> {
        if self.seen.is_empty() {
            return None;
        }
        let fits = |z: &Tz| {
            self.seen.iter().all(|(offset, (first, last))| {
                [first, last].iter().all(|t| {
                    z.offset_from_utc_datetime(&t.naive_utc())
                        .fix()
                        .local_minus_utc()
                        == *offset
                })
            })
        };
        let preferred = PREFERRED.iter().filter_map(|n| n.parse::<Tz>().ok());
        preferred.chain(by_name()).find(|z| fits(z))
    }
}

/// Every zone by name, the region/city names before the legacy aliases (`US/Mountain`,
/// `MST7MDT`) and the fixed `Etc/` ones.
fn by_name() -> impl Iterator<Item = Tz> {
    let legacy = |z: &Tz| {
        let n = z.name();
        !n.contains('/')
            || [
                "Etc/", "US/", "Canada/", "SystemV/", "Mexico/", "Brazil/", "Chile/",
            ]
            .iter()
            .any(|p| n.starts_with(p))
    };
    let mut all: Vec<Tz> = chrono_tz::TZ_VARIANTS.to_vec();
    all.sort_by_key(|z| (legacy(z), z.name()));
    all.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::date::parse_timestamp;

    fn seen(dates: &[&str]) -> OffsetsSeen {
        let mut s = OffsetsSeen::default();
        for d in dates {
            let t = parse_timestamp(d).unwrap();
            s.add(t.with_timezone(&Utc), t.offset().local_minus_utc());
        }
        s
    }

    #[test]
    fn a_denver_tenant_across_daylight_saving_reads_as_denver() {
        let s = seen(&[
            "2025-01-07T10:00:00:000-0700",
            "2025-07-07T10:00:00:000-0600",
        ]);
        assert_eq!(s.zone(), Some(chrono_tz::America::Denver));
        assert_eq!(s.describe(), "-0700, -0600");
    }

    #[test]
    fn winter_only_offsets_fit_the_first_preferred_zone_with_them() {
        // -0600 in January: Chicago's winter offset (Denver's is -0700).
        let s = seen(&["2025-01-07T10:00:00:000-0600"]);
        assert_eq!(s.zone(), Some(chrono_tz::America::Chicago));
    }

    #[test]
    fn a_zone_off_the_preferred_list_is_found_by_its_rules() {
        // Kathmandu is the one zone at +0545.
        let s = seen(&["2025-01-07T10:00:00:000+0545"]);
        assert_eq!(s.zone(), Some(chrono_tz::Asia::Kathmandu));
    }

    #[test]
    fn offsets_no_zone_gives_at_those_instants_give_none() {
        // -0600 in winter and -0700 in summer: daylight saving the wrong way round.
        let s = seen(&[
            "2025-01-07T10:00:00:000-0600",
            "2025-07-07T10:00:00:000-0700",
        ]);
        assert_eq!(s.zone(), None);
        assert_eq!(OffsetsSeen::default().zone(), None);
    }
}
