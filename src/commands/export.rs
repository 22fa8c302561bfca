//! `export`: query JRNLE and stream normalized changes to the output as windows complete.

use std::time::Instant;

use crate::cli::ExportArgs;
use crate::console;
use crate::deliver::Delivery;
use crate::error::{Error, Result};
use crate::labels::Labeler;
use crate::output::partitioned::{Partition, Partitioned};
use crate::output::{Format, RecordSink};
use crate::settings::{OutputSettings, Settings};

pub fn run(args: ExportArgs) -> Result<()> {
    let started = Instant::now();
    if let (Some(_), Some(dir)) = (args.partition_by, args.output.output.as_deref()) {
        crate::output::partitioned::check(dir).map_err(Error::usage)?;
    }
    let mut out = OutputSettings::resolve(&args.output, args.labels)?;
    let settings = Settings::resolve(&args.connection, &args.filters)?;
    let (tenant, api_version) = settings.tenant();
    out.options.about = crate::deliver::about(&tenant, &api_version, &settings.filters, None);
    // Partitioned: a new directory written whole, committed as the sink finishes.
    let mut partitioned = match args.partition_by {
        Some(by) => Some(partitioned(&args, by, &out)?),
        None => None,
    };
    let mut output = match partitioned {
        Some(_) => None,
        None => Some(out.open()?),
    };
    let progress = console::progress_bar("entries");
    let (delivered, requests, retries) = super::runtime()?.block_on(async {
        let client = settings.client().await?;
        let labeler = match args.labels {
            true => Some(Labeler::load(&client, &label_objects(&settings)).await),
            false => None,
        };
        let mut source = settings.journal(&client, progress.clone());
        let sink: Box<dyn RecordSink> = match (partitioned.take(), output.as_mut()) {
            (Some(dir), _) => Box::new(dir),
            (None, Some(output)) => out.sink(output)?,
            (None, None) => return Err(Error::Internal("no output".into())),
        };
        let delivery = Delivery::new(sink, out.destination.name())
            .with_labels(labeler.as_ref())
            .watching(&settings.filters);
        let delivered = delivery.run(&mut source, None).await;
        progress.finish_and_clear();
        let delivered = delivered?;
        let unmatched =
            super::unmatched::warnings(&client, &settings.filters, &delivered.unseen).await;
        Ok::<_, crate::error::Error>(((delivered, unmatched), client.requests(), client.retries()))
    })?;
    let (delivered, unmatched) = delivered;
    if let Some(output) = output {
        output.commit()?;
    }
    for warning in unmatched {
        console::warn(warning);
    }
    super::summarize(&super::Summary {
        written: delivered.written,
        destination: &out.destination,
        anomalies: &delivered.anomalies,
        requests: Some((requests, retries)),
        elapsed: started.elapsed(),
        format: args.output.summary.format,
        command: "export",
    });
    Ok(())
}

/// The object types whose metadata `--labels` reads: the `--obj-code` ones, or the usual ones.
pub(super) fn label_objects(settings: &Settings) -> Vec<String> {
    if settings.filters.obj_codes.is_empty() {
        crate::labels::DEFAULT_OBJECTS
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        settings.filters.obj_codes.clone()
    }
}

/// `--partition-by`: Parquet into a new directory `-o DIR`.
fn partitioned(args: &ExportArgs, by: Partition, out: &OutputSettings) -> Result<Partitioned> {
    let Some(dir) = args.output.output.as_deref() else {
        return Err(Error::usage(
            "--partition-by writes a directory: give it with -o DIR",
        ));
    };
    if args.output.format.is_some_and(|f| f != Format::Parquet) {
        return Err(Error::usage(
            "--partition-by writes Parquet: drop --format, or give --format parquet",
        ));
    }
    Partitioned::create(dir, by, out.options.clone())
}
