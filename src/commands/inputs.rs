//! The input of the commands that read a whole history (`report`, `intervals`, `asof`,
//! `durations`): a sync out-dir (verified), files `export` wrote, or a query run exactly as
//! `export` runs it into a private temporary file (the same completeness checks apply), with
//! the evidence of each.

use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::cli::{ConnectionArgs, FilterArgs, HistoryArgs, ReportArgs};
use crate::console;
use crate::deliver::Delivery;
use crate::error::{Error, Result};
use crate::labels::Labeler;
use crate::model::date::format_utc_ms;
use crate::model::tenant_zone::OffsetsSeen;
use crate::output::{Format, WriteOptions, open_sink};
use crate::report::evidence::{self, Evidence};
use crate::settings::Settings;
use crate::source::{ChangeSource, TimeRange};

/// What a command reading a history was given.
pub(super) struct Given<'a> {
    pub inputs: &'a [PathBuf],
    pub connection: &'a ConnectionArgs,
    pub filters: &'a FilterArgs,
    pub labels: bool,
    /// `--labels` also means something with files: the answers' `value_label` column, from the
    /// labels the files carry (the report shows those without it, and warns).
    pub labels_with_files: bool,
    pub allowed_signers: Option<&'a Path>,
    pub tsa_ca: Option<&'a Path>,
    /// `--field` and `--until` mean something with files too (`durations`: the field
    /// measured, the end of open visits), so they are not refused there.
    pub field_and_until_with_files: bool,
    /// What ran the query, as the evidence says (`report`, `command`).
    pub ran_by: &'static str,
    /// Whether export files are hashed for the evidence (the report shows it; the answers
    /// do not, and a second read of a large file is not free).
    pub hash_files: bool,
}

impl<'a> Given<'a> {
    pub fn of_report(args: &'a ReportArgs) -> Given<'a> {
        Given {
            inputs: &args.inputs,
            connection: &args.connection,
            filters: &args.filters,
            labels: args.labels,
            labels_with_files: false,
            allowed_signers: args.allowed_signers.as_deref(),
            tsa_ca: args.tsa_ca.as_deref(),
            field_and_until_with_files: false,
            ran_by: "report",
            hash_files: true,
        }
    }

    pub fn of_history(args: &'a HistoryArgs) -> Given<'a> {
        Given {
            inputs: &args.inputs,
            connection: &args.connection,
            filters: &args.filters,
            labels: args.labels,
            labels_with_files: true,
            allowed_signers: args.allowed_signers.as_deref(),
            tsa_ca: args.tsa_ca.as_deref(),
            field_and_until_with_files: false,
            ran_by: "command",
            hash_files: false,
        }
    }
}

/// The history read: its evidence and its files, with the query's temporary file (when the
/// command ran the query), which must be kept until the files are read.
pub(super) struct History {
    pub evidence: Evidence,
    pub files: Vec<(PathBuf, Format)>,
    pub fetched: Option<tempfile::NamedTempFile>,
    /// The UTC offsets of Workfront's dates the query met (the tenant's zone shows in them),
    /// when the command ran the query.
    pub offsets: Option<OffsetsSeen>,
}

/// Read the input: an out-dir is verified and its newest series' files taken, export files
/// hashed and their format sniffed, a query run into a temporary file.
pub(super) fn read(runtime: &tokio::runtime::Runtime, given: &Given<'_>) -> Result<History> {
    if given.inputs.is_empty() {
        let (evidence, file, offsets) = runtime.block_on(from_query(given))?;
        let path = file.path().to_path_buf();
        return Ok(History {
            evidence,
            files: vec![(path, Format::Ndjson)],
            fetched: Some(file),
            offsets: Some(offsets),
        });
    }
    refuse_filters(given)?;
    if given.labels && !given.labels_with_files {
        console::warn(
            "--labels applies to a query: files carry the labels they were written with \
             (export --labels), and those are shown",
        );
    }
    let (evidence, files) = match given.inputs {
        [dir] if dir.is_dir() => evidence::out_dir(dir, &policy(given)?)?,
        inputs => {
            if let Some(dir) = inputs.iter().find(|p| p.is_dir()) {
                return Err(Error::usage(format!(
                    "{} is a directory: give one sync out-dir on its own, or export files",
                    dir.display()
                )));
            }
            match given.hash_files {
                true => evidence::export_files(inputs)?,
                false => (Evidence::default(), evidence::sniff_files(inputs)?),
            }
        }
    };
    Ok(History {
        evidence,
        files,
        fetched: None,
        offsets: None,
    })
}

/// Filters select what a query fetches; inputs are read whole, so filters with inputs would
/// be silently ignored.
fn refuse_filters(given: &Given<'_>) -> Result<()> {
    let f = given.filters;
    let kept = given.field_and_until_with_files;
    let set = !f.obj_codes.is_empty()
        || (!f.fields.is_empty() && !kept)
        || !f.obj_ids.is_empty()
        || !f.edited_by.is_empty()
        || !f.change_types.is_empty()
        || f.since.is_some()
        || (f.until.is_some() && !kept);
    if given.connection.demo {
        return Err(Error::usage(
            "--demo runs the demo query; with INPUT the inputs are read instead: drop --demo, \
             or drop INPUT",
        ));
    }
    if set {
        return Err(Error::usage(
            "filters select what a query fetches; with INPUT the inputs are read whole: drop \
             the filters, or drop INPUT to run the query",
        ));
    }
    Ok(())
}

/// Run the query as `export` would, into a private temporary file; the evidence is the
/// query's.
async fn from_query(given: &Given<'_>) -> Result<(Evidence, tempfile::NamedTempFile, OffsetsSeen)> {
    let settings = Settings::resolve(given.connection, given.filters)?;
    let client = settings.client().await?;
    let labeler = match given.labels {
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
        labels: given.labels,
        about: Vec::new(),
        source: false,
    };
    let sink = open_sink(Format::Ndjson, &mut out, &options)
        .map_err(|e| Error::io("cannot write the temporary file", e))?;
    let place = PathBuf::from("the temporary file of the query's records");
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
        input: format!("the query this {} ran", given.ran_by),
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

/// How an out-dir's signatures and timestamps are judged: against `--allowed-signers` and
/// `--tsa-ca` when given.
fn policy(given: &Given<'_>) -> Result<crate::evidence::verify::Policy> {
    let allowed_signers = given
        .allowed_signers
        .map(crate::evidence::allowed_signers::AllowedSigners::load)
        .transpose()?;
    Ok(crate::evidence::verify::Policy {
        signatures: crate::evidence::verify::signature::SignaturePolicy {
            allowed_signers,
            require: false,
        },
        timestamps: crate::evidence::verify::timestamp::TimestampPolicy {
            roots: given.tsa_ca.map(super::verify::tsa_roots).transpose()?,
            ..Default::default()
        },
        expect_head: None,
    })
}
