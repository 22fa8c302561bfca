//! What `intervals`, `asof` and `durations` share: the history read as `report` reads it, the
//! rows written as `export` writes (any format, stdout or an atomic file, `--tz`), instants and
//! seconds as cells, and the summary line (which always names the zone).

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Instant;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::cli::{HistoryArgs, OutputArgs, SummaryFormat};
use crate::console;
use crate::error::{Error, Result};
use crate::history::{Listener, Order, Scope, Totals};
use crate::model::change::{Cell, Value, ValueType};
use crate::model::date::{parse_timestamp, write_utc_ms};
use crate::output::{RowSink, Table, open_rows};
use crate::settings::OutputSettings;
use crate::source::written::WrittenRecords;

/// A command's resolved output and the history it reads.
pub(super) struct Answer {
    pub out: OutputSettings,
    /// The zone of the output's instants: `--tz`, else UTC (as `export` writes).
    pub zone: Tz,
    /// The zone of business calendars: `--tz`, else the tenant's zone when a query ran and
    /// Workfront's date offsets show it, else UTC; and where it came from, for the summary.
    pub calendar_zone: Tz,
    pub calendar_note: String,
    pub labels: bool,
    pub order: Order,
    history: super::inputs::History,
    runtime: tokio::runtime::Runtime,
    pub started: Instant,
}

impl Answer {
    /// Check the output flags, then read the input (an out-dir that does not verify is
    /// refused before anything is written: exit 5).
    pub fn prepare(history: &HistoryArgs, output: &OutputArgs, files_keep: bool) -> Result<Answer> {
        let started = Instant::now();
        // Before the output is resolved, which would first ask a Parquet file for `-o`.
        let format = crate::output::Format::choose(output.format, output.output.as_deref());
        if format == crate::output::Format::Parquet {
            return Err(Error::usage(
                "Parquet holds change records (export, normalize, sync); intervals, asof and \
                 durations write CSV, JSON, NDJSON or xlsx",
            ));
        }
        let out = OutputSettings::resolve(output, history.labels)?;
        out.destination.refuse_over(&history.inputs)?;
        let zone = out.options.zone.unwrap_or(chrono_tz::UTC);
        let runtime = super::runtime()?;
        let mut given = super::inputs::Given::of_history(history);
        given.field_and_until_with_files = files_keep;
        let read = super::inputs::read(&runtime, &given)?;
        if let Some(v) = read.evidence.verify.as_ref().filter(|v| !v.intact) {
            return Err(Error::Verify {
                dir: format!("{} (nothing was written)", history.inputs[0].display()),
                problems: v.problems.clone(),
            });
        }
        let (calendar_zone, calendar_note) = calendar_zone(output, zone, &read);
        Ok(Answer {
            out,
            zone,
            calendar_zone,
            calendar_note,
            labels: history.labels,
            order: if history.sort {
                Order::Sort
            } else {
                Order::Check
            },
            history: read,
            runtime,
            started,
        })
    }

    /// The table of `columns`, with `value_label` last under `--labels`.
    pub fn table(&self, columns: &[&'static str], sheet: &'static str) -> Table {
        let mut columns = columns.to_vec();
        if self.labels {
            columns.push("value_label");
        }
        Table { columns, sheet }
    }

    /// Replay the history into `to`, entries before `until` (all without it).
    pub fn replay(&self, to: &mut dyn Listener, scope: Scope<'_>) -> Result<Totals> {
        let mut source = WrittenRecords::new(self.history.files.clone())
            .unguarded(&self.history.evidence.unguarded);
        self.runtime
            .block_on(crate::history::run(&mut source, to, self.order, scope))
    }

    /// Where the rows go, for messages.
    pub fn place(&self) -> PathBuf {
        self.out.destination.name()
    }

    /// The instant as written: UTC, or `--tz` with its offset, to the millisecond.
    pub fn instant(&self, t: DateTime<Utc>) -> String {
        let mut out = String::with_capacity(29);
        self.write_instant(&mut out, t);
        out
    }

    /// [`Answer::instant`] written over `out`, for a row's reused buffers.
    pub fn write_instant(&self, out: &mut String, t: DateTime<Utc>) {
        out.clear();
        match self.out.options.zone {
            None => write_utc_ms(out, &t),
            Some(z) => {
                use std::fmt::Write as _;
                let _ = write!(
                    out,
                    "{}",
                    t.with_timezone(&z).format("%Y-%m-%dT%H:%M:%S%.3f%:z")
                );
            }
        }
    }

    /// A value as written: a date in the output's zone, anything else as the record had it.
    pub fn value<'v>(&self, v: &'v Value<'_>, value_type: ValueType) -> Cow<'v, str> {
        match v {
            Value::Null => Cow::Borrowed(""),
            Value::Text(t) if value_type == ValueType::Date => match parse_timestamp(t) {
                Some(d) => Cow::Owned(self.instant(d.with_timezone(&Utc))),
                None => Cow::Borrowed(t),
            },
            Value::Text(t) => Cow::Borrowed(t),
            Value::Number(n) => Cow::Borrowed(n),
        }
    }
}

/// The zone business time is counted in, and what the summary says of it.
fn calendar_zone(output: &OutputArgs, zone: Tz, read: &super::inputs::History) -> (Tz, String) {
    if output.tz.is_some() {
        return (zone, format!("{} (--tz)", zone.name()));
    }
    match read.offsets.as_ref() {
        Some(offsets) => match offsets.zone() {
            Some(tenant) => (
                tenant,
                format!(
                    "{} (the tenant's zone, as the offsets of Workfront's dates show it: {}; \
                     --tz sets it)",
                    tenant.name(),
                    offsets.describe()
                ),
            ),
            None => (
                zone,
                "UTC (no one zone gives Workfront's offsets; --tz sets it)".into(),
            ),
        },
        None => (zone, "UTC (files keep UTC; --tz sets the zone)".into()),
    }
}

/// Rows of `table` written into the destination, then committed; `write` fills the sink.
pub(super) fn write_table(
    answer: &Answer,
    table: &Table,
    write: impl FnOnce(&mut dyn RowSink) -> Result<()>,
) -> Result<()> {
    let mut output = answer.out.open()?;
    let mut sink = open_rows(answer.out.format, &mut output, &answer.out.options, table)
        .map_err(|e| answer.out.destination.error(e))?;
    write(sink.as_mut())?;
    sink.finish().map_err(|e| answer.out.destination.error(e))?;
    output.commit()
}

/// A cell of text, null when empty.
pub(super) fn text(s: &str) -> Cell<'_> {
    if s.is_empty() {
        Cell::Null
    } else {
        Cell::Text(s)
    }
}

/// A cell of optional text.
pub(super) fn opt(s: Option<&str>) -> Cell<'_> {
    s.map_or(Cell::Null, Cell::Text)
}

/// Milliseconds as seconds, exact: `7200`, `0.25`.
pub(super) fn seconds(millis: i64) -> String {
    let (s, ms) = (millis / 1000, (millis % 1000).abs());
    match ms {
        0 => s.to_string(),
        _ => {
            let sign = if millis < 0 && s == 0 { "-" } else { "" };
            let frac = format!("{ms:03}");
            format!("{sign}{s}.{}", frac.trim_end_matches('0'))
        }
    }
}

/// One more thing a command's summary says: its key in the JSON object, its words in the line,
/// its value (a number stays a number in JSON).
pub(super) struct Said {
    pub key: &'static str,
    pub words: &'static str,
    pub value: serde_json::Value,
}

impl Said {
    pub fn new(
        key: &'static str,
        words: &'static str,
        value: impl Into<serde_json::Value>,
    ) -> Said {
        Said {
            key,
            words,
            value: value.into(),
        }
    }
}

/// The summary line (or JSON object): rows written, entries replayed, keys, chain breaks, the
/// zone, and what else the command says.
pub(super) fn summarize(
    answer: &Answer,
    format: SummaryFormat,
    command: &str,
    rows: u64,
    totals: &Totals,
    more: &[Said],
) {
    console::clear_progress();
    let place = answer.place().display().to_string();
    let elapsed = answer.started.elapsed().as_secs_f64();
    if format == SummaryFormat::Json {
        let mut v = serde_json::json!({
            "command": command,
            "rows": rows,
            "destination": place,
            "entries": totals.entries,
            "records": totals.records,
            "skipped": totals.skipped,
            "other_fields": totals.other_fields,
            "keys": totals.keys,
            "chain_breaks": totals.chain_breaks,
            "zone": answer.zone.name(),
            "elapsed_s": (elapsed * 1000.0).round() / 1000.0,
        });
        for said in more {
            v[said.key] = said.value.clone();
        }
        console::summary_json(&v);
        return;
    }
    let plural = console::plural;
    let mut parts = vec![
        plural(totals.keys, "object field", "object fields"),
        plural(totals.chain_breaks, "chain break", "chain breaks"),
        plural(
            totals.skipped,
            "record that changes no field",
            "records that change no field",
        ),
        format!("times in {}", answer.zone.name()),
    ];
    if totals.other_fields > 0 {
        parts.push(plural(
            totals.other_fields,
            "entry of other fields passed over",
            "entries of other fields passed over",
        ));
    }
    parts.extend(more.iter().map(|said| match &said.value {
        serde_json::Value::String(s) => format!("{} {s}", said.words),
        other => format!("{} {other}", said.words),
    }));
    console::note(format!(
        "wrote {} from {} to {place} in {elapsed:.1} s ({})",
        plural(rows, "row", "rows"),
        plural(totals.entries, "entry", "entries"),
        parts.join(", ")
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_exact_decimals() {
        assert_eq!(seconds(7_200_000), "7200");
        assert_eq!(seconds(250), "0.25");
        assert_eq!(seconds(1_001), "1.001");
        assert_eq!(seconds(0), "0");
    }
}
