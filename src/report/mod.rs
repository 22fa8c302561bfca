//! The audit report (`report`): a change history made into one self-contained HTML file an
//! auditor can read, print and trust: the evidence (where the records came from, counts,
//! file hashes, `verify`'s result), coverage and caveats, totals, changes over time with the
//! gaps marked, review prompts, per-object timelines and the changes themselves.
//!
//! Records come from files this tool wrote, read back ([`WrittenRecords`], a
//! [`crate::source::ChangeSource`]). A third pass replays the history ([`answers`]) for the
//! chain breaks and the time in each status. The report reads them twice: once to count everything
//! ([`figures::Figures`]), once for the timelines of the objects the counts chose. Memory grows
//! with the input only by what the page embeds: every change's cells, compactly
//! ([`columns::AllChanges`]), for "All changes".

pub mod answers;
pub mod columns;
pub mod evidence;
pub mod exceptions;
pub mod figures;
pub mod render;
pub mod row;
pub mod time_chart;

use chrono_tz::Tz;

use crate::error::Result;
use crate::source::ChangeSource;
use crate::source::written::WrittenRecords;

use evidence::Evidence;
use exceptions::{BusinessTime, Exceptions};
use figures::{Figures, Timelines};

/// What the user asked the report to be.
pub struct Spec {
    pub title: String,
    pub zone: Tz,
    /// The zone and where it came from, for the page and the summary line.
    pub zone_note: String,
    pub business: BusinessTime,
    /// As the user wrote it, for the page.
    pub business_text: String,
    pub bulk_threshold: u64,
    pub top: usize,
    pub objects: Vec<String>,
    /// The most changes "All changes" embeds (`--table-rows`).
    pub table_rows: u64,
}

/// What was made: the page, and what the command reports about it.
pub struct Made {
    pub html: String,
    pub rows: u64,
    /// Whether the evidence failed `verify` (the page says so at the top).
    pub failed_verify: bool,
    /// `--object` ids with no change in the input.
    pub objects_not_found: Vec<String>,
}

/// Read `source` twice and render the page.
pub async fn build(source: &mut WrittenRecords, evidence: &Evidence, spec: &Spec) -> Result<Made> {
    let exceptions = Exceptions::new(spec.zone, spec.business.clone(), spec.bulk_threshold);
    let mut figures = Figures::new(spec.zone, exceptions);
    figures.table_limit = spec.table_rows;
    source.deliver(None, &mut figures).await?;
    let table_cut = table_cut(&figures, source);
    // Open visits count up to the window's end, or the last entry when the input has no window.
    let until = evidence
        .window
        .as_ref()
        .and_then(|(_, to)| crate::model::date::parse_timestamp(to))
        .map(|t| t.with_timezone(&chrono::Utc))
        .or(figures.last)
        .unwrap_or_else(chrono::Utc::now);
    let found = answers::replay(source, until).await?;
    let answers = answers::Answers::of(found, until, &spec.zone);
    let shown = figures.shown_objects(spec.top, &spec.objects);
    let mut timelines = Timelines::new(spec.zone, &shown);
    source.deliver(None, &mut timelines).await?;
    let objects_not_found: Vec<String> = spec
        .objects
        .iter()
        .filter(|id| !figures.objects.contains_key(*id))
        .cloned()
        .collect();
    let lines: Vec<_> = shown
        .into_iter()
        .map(|id| {
            let rows = timelines.rows.remove(&id).unwrap_or_default();
            (id, rows)
        })
        .collect();
    let options = render::Options {
        title: &spec.title,
        generated_at: crate::model::date::format_utc_ms(&chrono::Utc::now()),
        business: spec.business_text.clone(),
        zone_note: spec.zone_note.clone(),
        bulk_threshold: spec.bulk_threshold,
        top: spec.top,
        asked_objects: !spec.objects.is_empty(),
        table_cut,
        answers,
    };
    let html = render::render(&mut figures, evidence, lines, &options)?;
    Ok(Made {
        html,
        rows: figures.rows,
        failed_verify: evidence.verify.as_ref().is_some_and(|v| !v.intact),
        objects_not_found,
    })
}

/// When `--table-rows` cut "All changes" short: where it ends, and the files holding the rest
/// (the file the cut falls in and every later one; none for a query's temporary file).
fn table_cut(figures: &Figures, source: &WrittenRecords) -> Option<render::TableCut> {
    if figures.rows <= figures.table_rows {
        return None;
    }
    let mut before = 0;
    let mut files = Vec::new();
    for (path, n) in source.per_file() {
        before += n;
        if before > figures.table_rows {
            let name = path.file_name().unwrap_or(path.as_os_str());
            files.push(name.to_string_lossy().into_owned());
        }
    }
    Some(render::TableCut {
        shown: figures.table_rows,
        last: figures.table_last.clone().unwrap_or_default(),
        files,
    })
}
