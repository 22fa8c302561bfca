//! `export`: query JRNLE and write normalized changes.

use crate::change::{Anomalies, ChangeRecord, normalize};
use crate::cli::ExportArgs;
use crate::error::Result;
use crate::output::{Destination, Format, write_all};
use crate::workfront::fetch::fetch_all;

pub fn run(args: ExportArgs) -> Result<()> {
    let out = &args.output;
    let destination = Destination::from_arg(out.output.as_deref());
    destination.check()?;
    let format = Format::choose(out.format, out.output.as_deref());
    let query = super::query(&args.connection, &args.filters)?;
    let records = super::runtime()?.block_on(async {
        let client = super::connect(&query).await?;
        fetch_all(&client, &query.filters).await
    })?;
    let mut anomalies = Anomalies::default();
    let changes: Vec<ChangeRecord> = records
        .iter()
        .map(|r| normalize(r, &mut anomalies))
        .collect();
    destination.write_with(|w| write_all(w, &changes, format, !out.no_formula_guard).map(drop))?;
    super::summarize(changes.len(), &destination, &anomalies);
    Ok(())
}
