//! `count`: print the number of matching journal entries.

use crate::cli::CountArgs;
use crate::error::Result;
use crate::output::Destination;
use crate::workfront::query::filter_params;

pub fn run(args: CountArgs) -> Result<()> {
    let query = super::query(&args.connection, &args.filters)?;
    let count = super::runtime()?.block_on(async {
        let client = super::connect(&query).await?;
        client.count(&filter_params(&query.filters)).await
    })?;
    Destination::Stdout.write_with(|w| writeln!(w, "{count}"))
}
