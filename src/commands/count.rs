//! `count`: print the number of matching journal entries.

use crate::cli::CountArgs;
use crate::error::Result;
use crate::output::Destination;
use crate::settings::Settings;
use crate::source::{ChangeSource, TimeRange};

pub fn run(args: CountArgs) -> Result<()> {
    let settings = Settings::resolve(&args.connection, &args.filters)?;
    let range = TimeRange {
        since: settings.filters.since,
        until: settings.filters.until,
    };
    let count = super::runtime()?.block_on(async {
        let client = settings.client().await?;
        let source = settings.journal(&client, indicatif::ProgressBar::hidden());
        source.expected(&range).await
    })?;
    // A journal query always has a count.
    let count = count.unwrap_or_default();
    Destination::Stdout.write_with(|w| writeln!(w, "{count}"))
}
