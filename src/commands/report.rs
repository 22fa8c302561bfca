//! `report`: the audit report of a sync out-dir, of export files, or of a query run exactly
//! as `export` runs it (the records go to a private temporary file first, so the report can
//! read them twice, and the same completeness checks apply).

use std::time::Instant;

use crate::cli::ReportArgs;
use crate::console;
use crate::error::{Error, Result};
use crate::output::Destination;
use crate::report::exceptions::BusinessTime;
use crate::report::{Spec, build};
use crate::source::written::WrittenRecords;

const DEFAULT_TITLE: &str = "Workfront change history";

pub fn run(args: ReportArgs) -> Result<()> {
    let started = Instant::now();
    let destination = Destination::from_arg(Some(&args.output));
    destination.check()?;
    let ext = args.output.extension().and_then(|e| e.to_str());
    if !ext.is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm")) {
        return Err(Error::usage(format!(
            "--output {}: the report is HTML: name it .html",
            args.output.display()
        )));
    }
    let spec = spec(&args)?;
    let runtime = super::runtime()?;
    // The query's records, when the report ran it, are kept until the report is written.
    let super::inputs::History {
        evidence,
        files,
        fetched: _fetched,
    } = super::inputs::read(&runtime, &super::inputs::Given::of_report(&args))?;
    let mut source = WrittenRecords::new(files);
    let made = runtime.block_on(build(&mut source, &evidence, &spec))?;
    destination.write_with(|w| w.write_all(made.html.as_bytes()))?;
    for id in &made.objects_not_found {
        console::warn(format!(
            "--object {id}: no change of this object in the input"
        ));
    }
    console::note(format!(
        "wrote the report of {} to {} in {:.1} s",
        console::plural(made.rows, "change", "changes"),
        args.output.display(),
        started.elapsed().as_secs_f64()
    ));
    match evidence.verify {
        Some(v) if !v.intact => Err(Error::Verify {
            dir: format!(
                "{} (the report shows the failure at the top)",
                args.inputs[0].display()
            ),
            problems: v.problems,
        }),
        _ => Ok(()),
    }
}

/// The report's options, checked.
fn spec(args: &ReportArgs) -> Result<Spec> {
    let zone = match args.tz.as_deref() {
        None => chrono_tz::UTC,
        Some(z) => z.parse().map_err(|_| {
            Error::usage(format!(
                "unknown --tz {z:?}: use an IANA time zone name such as Europe/Stockholm"
            ))
        })?,
    };
    let business =
        BusinessTime::parse(&args.business_hours, &args.business_days).map_err(Error::usage)?;
    if args.bulk_threshold < 2 {
        return Err(Error::usage(
            "--bulk-threshold must be at least 2: one change is not a bulk edit",
        ));
    }
    Ok(Spec {
        title: args.title.clone().unwrap_or_else(|| DEFAULT_TITLE.into()),
        zone,
        business,
        business_text: format!("{}, {}", args.business_hours, args.business_days),
        bulk_threshold: args.bulk_threshold,
        top: args.top,
        objects: args.objects.clone(),
    })
}
