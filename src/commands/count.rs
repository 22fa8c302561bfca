//! `count`: print the number of matching journal entries, and say which filter values match
//! nothing (a value that matches nothing is most often a typo).

use crate::cli::CountArgs;
use crate::console;
use crate::error::Result;
use crate::output::Destination;
use crate::settings::Settings;
use crate::source::journal::JournalSource;
use crate::source::{ChangeSource, TimeRange};
use crate::workfront::client::Client;
use crate::workfront::query::Filters;

pub fn run(args: CountArgs) -> Result<()> {
    let settings = Settings::resolve(&args.connection, &args.filters)?;
    let filters = &settings.filters;
    let (count, (unseen, warnings), requests) = super::runtime()?.block_on(async {
        let client = settings.client().await?;
        let count = count_of(&client, filters).await?;
        let unseen = unseen_values(&client, filters, count).await?;
        let warnings = super::unmatched::warnings(&client, filters, &unseen).await;
        Ok::<_, crate::error::Error>((
            count,
            (unseen, warnings),
            (client.requests(), client.retries()),
        ))
    })?;
    Destination::Stdout.write_with(|w| writeln!(w, "{count}"))?;
    if args.summary.json() {
        let unmatched: Vec<serde_json::Value> = unseen
            .iter()
            .map(|(flag, value)| serde_json::json!({"flag": flag, "value": value}))
            .collect();
        console::summary_json(&serde_json::json!({
            "command": "count",
            "count": count,
            "window": filters.window(),
            "requests": requests.0,
            "retries": requests.1,
            "unmatched": unmatched,
        }));
        return Ok(());
    }
    for warning in warnings {
        console::warn(warning);
    }
    Ok(())
}

async fn count_of(client: &Client, filters: &Filters) -> Result<u64> {
    let range = TimeRange {
        since: filters.since,
        until: filters.until,
    };
    let source = JournalSource::new(client, filters.clone(), 1, indicatif::ProgressBar::hidden());
    // A journal query always has a count.
    Ok(source.expected(&range).await?.unwrap_or_default())
}

/// The values of `--field`, `--obj-code` and `--change-type` that match nothing: all of them
/// when the count is 0; otherwise each value of a filter with several is counted alone.
async fn unseen_values(
    client: &Client,
    filters: &Filters,
    total: u64,
) -> Result<Vec<(&'static str, String)>> {
    let mut unseen = Vec::new();
    for (_, flag, values) in filters.lists() {
        if !Filters::CHECKED.contains(&flag) {
            continue;
        }
        for value in values {
            let nothing = match (total, values.len()) {
                (0, _) => true,
                (_, 1) => false,
                _ => count_of(client, &filters.with_only(flag, value)).await? == 0,
            };
            if nothing {
                unseen.push((flag, value.clone()));
            }
        }
    }
    Ok(unseen)
}
