//! `report`: the audit report of a sync out-dir, of export files, or of a query run exactly
//! as `export` runs it (the records go to a private temporary file first, so the report can
//! read them twice, and the same completeness checks apply).

use std::time::Instant;

use crate::cli::ReportArgs;
use crate::console;
use crate::error::{Error, Result};
use crate::model::tenant_zone::OffsetsSeen;
use crate::output::Destination;
use crate::report::exceptions::BusinessTime;
use crate::report::{Spec, build};
use crate::source::written::WrittenRecords;

const DEFAULT_TITLE: &str = "Workfront change history";

pub fn run(args: ReportArgs) -> Result<()> {
    let started = Instant::now();
    let destination = Destination::from_arg(Some(&args.output));
    destination.check()?;
    destination.refuse_over(&args.inputs)?;
    let ext = args.output.extension().and_then(|e| e.to_str());
    if !ext.is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm")) {
        return Err(Error::usage(format!(
            "--output {}: the report is HTML: name it .html",
            args.output.display()
        )));
    }
    let mut spec = spec(&args)?;
    let runtime = super::runtime()?;
    // The query's records, when the report ran it, are kept until the report is written.
    let super::inputs::History {
        evidence,
        files,
        fetched: _fetched,
        offsets,
    } = super::inputs::read(&runtime, &super::inputs::Given::of_report(&args))?;
    if let (None, Some(offsets)) = (&args.tz, &offsets) {
        tenant_zone(&mut spec, offsets);
    }
    let mut source = WrittenRecords::new(files).unguarded(&evidence.unguarded);
    let made = runtime.block_on(build(&mut source, &evidence, &spec))?;
    destination.write_with(|w| w.write_all(made.html.as_bytes()))?;
    for id in &made.objects_not_found {
        console::warn(format!(
            "--object {id}: no change of this object in the input"
        ));
    }
    console::note(format!(
        "wrote the report of {} to {} in {:.1} s; times and business hours in {}",
        console::plural(made.rows, "change", "changes"),
        args.output.display(),
        started.elapsed().as_secs_f64(),
        spec.zone_note
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
    let (zone, zone_note) = match args.tz.as_deref() {
        None => (
            chrono_tz::UTC,
            "UTC (files keep UTC: --tz ZONE, e.g. the tenant's, shows them in a zone)".to_string(),
        ),
        Some(z) => {
            let zone: chrono_tz::Tz = z.parse().map_err(|_| {
                Error::usage(format!(
                    "unknown --tz {z:?}: use an IANA time zone name such as Europe/Stockholm"
                ))
            })?;
            (zone, format!("{} (--tz)", zone.name()))
        }
    };
    let business =
        BusinessTime::parse(&args.business_hours, &args.business_days).map_err(Error::usage)?;
    if args.table_rows == 0 {
        return Err(Error::usage(
            "--table-rows must be at least 1 (it is how many changes \"All changes\" embeds)",
        ));
    }
    if args.bulk_threshold < 2 {
        return Err(Error::usage(
            "--bulk-threshold must be at least 2: one change is not a bulk edit",
        ));
    }
    Ok(Spec {
        title: args.title.clone().unwrap_or_else(|| DEFAULT_TITLE.into()),
        zone,
        zone_note,
        business,
        business_text: format!("{}, {}", args.business_hours, args.business_days),
        bulk_threshold: args.bulk_threshold,
        top: args.top,
        objects: args.objects.clone(),
        table_rows: args.table_rows,
    })
}

/// Without `--tz`, a query's report is in the tenant's zone as Workfront's dates show it (each
/// `entryDate` carries the tenant's offset of its day; API notes §5), and says it was inferred.
fn tenant_zone(spec: &mut Spec, offsets: &OffsetsSeen) {
    match offsets.zone() {
        Some(zone) => {
            spec.zone = zone;
            spec.zone_note = format!(
                "{} (the tenant's zone, as the offsets of Workfront's dates show it: {}; \
                 --tz sets it)",
                zone.name(),
                offsets.describe()
            );
        }
        None if !offsets.describe().is_empty() => {
            spec.zone_note = format!(
                "UTC (Workfront's dates came with offsets no one zone gives: {}; --tz sets \
                 the zone)",
                offsets.describe()
            );
        }
        None => {}
    }
}
