//! `report`: the audit report of a sync out-dir, of export files, or of a query run exactly
//! as `export` runs it (the records go to a private temporary file first, so the report can
//! read them twice, and the same completeness checks apply).

use std::path::PathBuf;
use std::time::Instant;

use chrono::Utc;

use crate::cli::{FilterArgs, ReportArgs};
use crate::console;
use crate::deliver::Delivery;
use crate::error::{Error, Result};
use crate::labels::Labeler;
use crate::model::date::format_utc_ms;
use crate::model::tenant_zone::OffsetsSeen;
use crate::output::{Destination, Format, WriteOptions, open_sink};
use crate::report::evidence::{self, Evidence};
use crate::report::exceptions::BusinessTime;
use crate::report::{Spec, build};
use crate::settings::Settings;
use crate::source::written::WrittenRecords;
use crate::source::{ChangeSource, TimeRange};

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
    let mut spec = spec(&args)?;
    let runtime = super::runtime()?;
    // Kept until the report is written: the query's records, when the report ran it.
    let mut _fetched = None;
    let (evidence, files) = match args.inputs.as_slice() {
        [] => {
            let (ev, file, offsets) = runtime.block_on(from_query(&args))?;
            if args.tz.is_none() {
                tenant_zone(&mut spec, &offsets);
            }
            let path = file.path().to_path_buf();
            _fetched = Some(file);
            (ev, vec![(path, Format::Ndjson)])
        }
        inputs => {
            refuse_filters(&args.filters, args.connection.demo)?;
            if args.labels {
                console::warn(
                    "--labels applies to a query: files carry the labels they were written \
                     with (export --labels), and those are shown",
                );
            }
            match inputs {
                [dir] if dir.is_dir() => evidence::out_dir(dir, &policy(&args)?)?,
                _ => {
                    if let Some(dir) = inputs.iter().find(|p| p.is_dir()) {
                        return Err(Error::usage(format!(
                            "{} is a directory: give one sync out-dir on its own, or export files",
                            dir.display()
                        )));
                    }
                    evidence::export_files(inputs)?
                }
            }
        }
    };
    let mut source = WrittenRecords::new(files);
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

/// Filters select what a query fetches; inputs are reported whole, so filters with inputs
/// would be silently ignored.
fn refuse_filters(f: &FilterArgs, demo: bool) -> Result<()> {
    let set = !f.obj_codes.is_empty()
        || !f.fields.is_empty()
        || !f.obj_ids.is_empty()
        || !f.edited_by.is_empty()
        || !f.change_types.is_empty()
        || f.since.is_some()
        || f.until.is_some();
    if demo {
        return Err(Error::usage(
            "--demo runs the demo query; with INPUT the inputs are reported instead: drop \
             --demo, or drop INPUT",
        ));
    }
    if set {
        return Err(Error::usage(
            "filters select what a query fetches; with INPUT the inputs are reported whole: \
             drop the filters, or drop INPUT to run the query",
        ));
    }
    Ok(())
}

/// Run the query as `export` would, into a private temporary file; the evidence is the
/// query's.
async fn from_query(args: &ReportArgs) -> Result<(Evidence, tempfile::NamedTempFile, OffsetsSeen)> {
    let settings = Settings::resolve(&args.connection, &args.filters)?;
    let client = settings.client().await?;
    let labeler = match args.labels {
        true => Some(Labeler::load(&client, &super::export::label_objects(&settings)).await),
        false => None,
    };
    let progress = console::progress_bar("entries");
    let mut source = settings.journal(&client, progress.clone());
    let file = tempfile::NamedTempFile::new()
        .map_err(|e| Error::io("cannot create a temporary file for the records", e))?;
    let mut out = std::io::BufWriter::new(file.as_file());
    let options = WriteOptions {
        formula_guard: false,
        zone: None,
        excel: false,
        labels: args.labels,
        about: Vec::new(),
        source: false,
    };
    let sink = open_sink(Format::Ndjson, &mut out, &options)
        .map_err(|e| Error::io("cannot write the temporary file", e))?;
    let place = PathBuf::from("the report's temporary file");
    let delivered = Delivery::new(sink, place)
        .with_labels(labeler.as_ref())
        .watching(&settings.filters)
        .run(&mut source, None)
        .await?;
    progress.finish_and_clear();
    drop(out);
    let f = &settings.filters;
    for warning in super::unmatched::warnings(&client, f, &delivered.unseen).await {
        console::warn(warning);
    }
    let range = TimeRange {
        since: f.since,
        until: f.until,
    };
    let server_count = source.expected(&range).await?;
    let (tenant, api_version) = settings.tenant();
    let lists = f.lists();
    let ev = Evidence {
        input: "the query this report ran".into(),
        tenant_url: Some(tenant),
        api_version: Some(api_version),
        query: evidence::query_of(&lists.map(|(_, flag, values)| (flag, values))),
        window: Some((
            f.since
                .as_ref()
                .map(format_utc_ms)
                .unwrap_or_else(|| "the beginning".into()),
            format_utc_ms(&f.until),
        )),
        extracted: Some(format!(
            "{} ({} requests)",
            format_utc_ms(&Utc::now()),
            client.requests()
        )),
        server_count,
        files: vec![],
        verify: None,
        warnings: delivered
            .anomalies
            .by_kind()
            .into_iter()
            .map(|(k, n)| (k.to_string(), n))
            .collect(),
        warnings_known: true,
        asked_fields: f.fields.clone(),
        ..Evidence::default()
    };
    Ok((ev, file, source.offsets_seen().clone()))
}

/// How the out-dir's signatures are judged: against `--allowed-signers` when given.
fn policy(args: &ReportArgs) -> Result<crate::evidence::verify::Policy> {
    let allowed_signers = args
        .allowed_signers
        .as_deref()
        .map(crate::evidence::allowed_signers::AllowedSigners::load)
        .transpose()?;
    Ok(crate::evidence::verify::Policy {
        signatures: crate::evidence::verify::signature::SignaturePolicy {
            allowed_signers,
            require: false,
        },
        timestamps: crate::evidence::verify::timestamp::TimestampPolicy {
            roots: args
                .tsa_ca
                .as_deref()
                .map(super::verify::tsa_roots)
                .transpose()?,
            ..Default::default()
        },
        expect_head: None,
    })
}
