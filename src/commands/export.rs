//! `export`: query JRNLE and stream normalized changes to the output as windows complete.

use std::time::Instant;

use crate::cli::ExportArgs;
use crate::console;
use crate::error::Result;
use crate::model::anomaly::Anomalies;
use crate::output::{Destination, Format, RecordWriter};
use crate::workfront::fetch::fetch;

pub fn run(args: ExportArgs) -> Result<()> {
    let started = Instant::now();
    let out = &args.output;
    let destination = Destination::from_arg(out.output.as_deref());
    destination.check()?;
    let format = Format::choose(out.format, out.output.as_deref());
    let options = super::write_options(out, format, args.labels)?;
    let query = super::query(&args.connection, &args.filters)?;
    let mut output = destination.open()?;
    let mut anomalies = Anomalies::default();
    let progress = console::progress_bar("entries");
    // The asked-for fields that no entry has shown yet.
    let mut seen_fields: std::collections::HashSet<String> =
        query.filters.fields.iter().cloned().collect();
    let (written, requests, retries) = super::runtime()?.block_on(async {
        let client = super::connect(&query).await?;
        let labeler = if args.labels {
            let objects: Vec<String> = if query.filters.obj_codes.is_empty() {
                crate::labels::DEFAULT_OBJECTS
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            } else {
                query.filters.obj_codes.clone()
            };
            Some(crate::labels::Labeler::load(&client, &objects).await)
        } else {
            None
        };
        let mut writer = RecordWriter::with_options(&mut output, format, &options)
            .map_err(|e| destination.error(e))?;
        let stats = fetch(
            &client,
            &query.filters,
            query.options.max_concurrency,
            &progress,
            |window| {
                for mut f in window {
                    anomalies.add(f.anomalies);
                    if let Some(field) = f.record.field_name.as_deref() {
                        seen_fields.remove(field);
                    }
                    if let Some(labeler) = &labeler {
                        f.record.labels = Some(Box::new(labeler.label(&f.record)));
                    }
                    writer.write(&f.record).map_err(|e| destination.error(e))?;
                }
                Ok(())
            },
        )
        .await;
        progress.finish();
        let stats = stats?;
        writer.finish().map_err(|e| destination.error(e))?;
        Ok::<_, crate::error::Error>((stats.entries, client.requests(), client.retries()))
    })?;
    output.commit()?;
    let mut unseen: Vec<&String> = seen_fields.iter().collect();
    unseen.sort();
    for field in unseen {
        console::warn(format!(
            "no entries for --field {field:?} in {}: the field may not be tracked (Setup > \
             Interface > Update Feeds), or is spelled otherwise (`jrnle-audit fields` lists \
             the fields that have entries)",
            query.filters.window()
        ));
    }
    super::summarize(&super::Summary {
        written,
        destination: &destination,
        anomalies: &anomalies,
        requests: Some((requests, retries)),
        elapsed: started.elapsed(),
    });
    Ok(())
}
