//! Fetching every entry of a query exactly once: page through a total order, then check the
//! result against Workfront's own count, refetching on a mismatch.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::input::RawRecord;
use crate::workfront::client::Client;
use crate::workfront::date::parse_timestamp;
use crate::workfront::query::{Filters, MAX_PAGE, filter_params, search_params};

/// How many times a query is fetched in full before a count mismatch is final.
pub const FETCH_ATTEMPTS: usize = 3;

/// Fetch every entry matching `filters`, sorted by `(entryDate, ID)`, each exactly once.
///
/// The check: what was fetched must match Workfront's count. On a live tenant entries keep
/// being journaled, also into a window being fetched (an entry can become visible a little
/// after the instant it carries), so the count is taken again after the pages: a result
/// between the count before and the count after is every entry that existed when the fetch
/// began (journal entries are only ever added, and sorted offset paging never skips an entry
/// when others are inserted, it only repeats one, which is dropped), plus some that arrived
/// during it. Anything else is fetched again.
pub async fn fetch_all(client: &Client, filters: &Filters) -> Result<Vec<RawRecord>> {
    let count_params = filter_params(filters);
    let mut last = (0, 0);
    for attempt in 1..=FETCH_ATTEMPTS {
        let expected = client.count(&count_params).await?;
        let records = fetch_pages(client, filters, expected).await?;
        let got = records.len() as u64;
        if got == expected {
            return Ok(records);
        }
        let after = client.count(&count_params).await?;
        if expected <= got && got <= after {
            crate::report::verbose(format!(
                "{} entries were journaled in {} during the fetch",
                after - expected,
                filters.window()
            ));
            return Ok(records);
        }
        last = (after, got);
        if attempt < FETCH_ATTEMPTS {
            crate::report::warn(format!(
                "Workfront counts {after} entries in {} but {got} were fetched; fetching \
                 again ({attempt}/{FETCH_ATTEMPTS})",
                filters.window()
            ));
        }
    }
    Err(Error::Incomplete {
        window: filters.window(),
        expected: last.0,
        got: last.1,
    })
}

/// Page with `$$FIRST`/`$$LIMIT` through the `(entryDate, ID)` order. The pages the count
/// says exist are fetched concurrently (the client caps requests in flight); if the last of
/// them is full, more follow one by one until a short page. Entries seen twice (the data moved
/// under the pages) are kept once.
async fn fetch_pages(client: &Client, filters: &Filters, expected: u64) -> Result<Vec<RawRecord>> {
    let known = usize::try_from(expected)
        .unwrap_or(usize::MAX)
        .div_ceil(MAX_PAGE)
        .max(1);
    let pages = futures::future::try_join_all((0..known).map(|i| async move {
        client
            .search(&search_params(filters, i * MAX_PAGE, MAX_PAGE))
            .await
    }))
    .await?;
    let mut full = pages.last().is_some_and(|p| p.len() == MAX_PAGE);
    let mut records: Vec<RawRecord> = pages.into_iter().flatten().collect();
    let mut first = known * MAX_PAGE;
    while full {
        let page = client
            .search(&search_params(filters, first, MAX_PAGE))
            .await?;
        full = page.len() == MAX_PAGE;
        first += MAX_PAGE;
        records.extend(page);
    }
    let mut seen = HashSet::new();
    records.retain(|record| match record.get("ID").and_then(Value::as_str) {
        Some(id) => seen.insert(id.to_string()),
        None => true,
    });
    sort_records(&mut records);
    Ok(records)
}

/// The output order: `(entryDate as an instant, ID)`, whatever order the pages came in.
/// An entry whose date does not parse sorts first, by its raw text.
pub fn sort_records(records: &mut [RawRecord]) {
    records.sort_by_cached_key(sort_key);
}

fn sort_key(r: &RawRecord) -> (Option<DateTime<Utc>>, String, String) {
    let text = |k: &str| match r.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let date = text("entryDate");
    let instant = parse_timestamp(&date).map(|d| d.with_timezone(&Utc));
    (
        instant,
        if instant.is_some() {
            String::new()
        } else {
            date
        },
        text("ID"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_by_instant_across_offsets_then_id() {
        let rec = |id: &str, date: &str| {
            json!({"ID": id, "entryDate": date})
                .as_object()
                .unwrap()
                .clone()
        };
        let mut v = vec![
            rec("b", "2025-11-02T01:30:00:000-0700"), // 08:30Z
            rec("c", "2025-11-02T01:30:00:000-0600"), // 07:30Z
            rec("a", "2025-11-02T01:30:00:000-0600"), // 07:30Z, same instant as c
            rec("z", "garbage"),
        ];
        sort_records(&mut v);
        let ids: Vec<_> = v.iter().map(|r| r["ID"].as_str().unwrap()).collect();
        assert_eq!(ids, ["z", "a", "c", "b"]);
    }
}
