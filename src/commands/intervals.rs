//! `intervals`: one row per object, field and interval in which the field held one value
//! (SCD type 2), written as the replay closes each (the open ones last, by object and field).

use crate::cli::IntervalsArgs;
use crate::error::{Error, Result};
use crate::history::Interval;
use crate::model::change::{Cell, ValueType};
use crate::output::RowSink;

use super::answers::{Answer, Said, opt, summarize, text};

/// The columns, in contract order (docs/answers.md).
pub const COLUMNS: [&str; 14] = [
    "obj_code",
    "obj_id",
    "obj_name",
    "field_name",
    "value_type",
    "value",
    "valid_from",
    "valid_to",
    "set_by_id",
    "set_by_name",
    "set_by_entry_id",
    "ended_by_entry_id",
    "ended_by",
    "chain_break",
];

pub fn run(args: IntervalsArgs) -> Result<()> {
    let answer = Answer::prepare(&args.history, &args.output, false)?;
    let table = answer.table(&COLUMNS, "Intervals");
    let mut rows = Rows {
        answer: &answer,
        open_end: args.open_end.as_deref(),
        from: String::new(),
        to: String::new(),
    };
    let (totals, written) =
        super::beside::intervals_written_beside(&answer, &table, |sink, i| rows.write(sink, i))?;
    let open = Said::new("open", "still open", totals.open);
    summarize(
        &answer,
        args.output.summary.format,
        "intervals",
        written,
        &totals,
        &[open],
    );
    Ok(())
}

/// The replay's intervals as rows, one each.
struct Rows<'a> {
    answer: &'a Answer,
    open_end: Option<&'a str>,
    /// `valid_from` and `valid_to` as written, reused from row to row.
    from: String,
    to: String,
}

impl Rows<'_> {
    fn write(&mut self, sink: &mut dyn RowSink, i: &Interval) -> Result<()> {
        let a = self.answer;
        let held = i.value();
        let value = a.value(&held, i.value_type);
        self.from.clear();
        if let Some(t) = i.valid_from {
            a.write_instant(&mut self.from, t);
        }
        match i.valid_to {
            Some(t) => a.write_instant(&mut self.to, t),
            None => {
                self.to.clear();
                self.to.push_str(self.open_end.unwrap_or_default());
            }
        }
        let cells = [
            text(i.obj_code()),
            text(i.obj_id()),
            opt(i.obj_name()),
            text(i.field_name()),
            Cell::Text(i.value_type.as_str()),
            value_cell(i, &value),
            text(&self.from),
            text(&self.to),
            opt(i.set_by_id()),
            opt(i.set_by_name()),
            opt(i.set_by_entry_id()),
            opt(i.ended_by_entry_id()),
            i.ended_by.map_or(Cell::Null, |e| Cell::Text(e.as_str())),
            Cell::Bool(i.chain_break()),
            opt(i.label()),
        ];
        // `label` only with `--labels`.
        let cells = &cells[..if a.labels { 15 } else { 14 }];
        // An open end is empty or the sentinel as given (`--open-end`): text, never shifted
        // into `--tz` (9999-12-31T23:59:59.999Z east of UTC would be a year xlsx cannot hold).
        let dates = 1 << 6
            | u64::from(i.valid_to.is_some()) << 7
            | u64::from(i.value_type == ValueType::Date) << 5;
        sink.write_row(cells, dates).map_err(|e| Error::Write {
            path: a.place(),
            source: e,
        })
    }
}

/// A value's cell: a number as a number, null as null, anything else as text.
pub(super) fn value_cell<'v>(i: &Interval, rendered: &'v str) -> Cell<'v> {
    match &i.value() {
        crate::model::change::Value::Null => Cell::Null,
        crate::model::change::Value::Number(_) => Cell::Number(rendered),
        crate::model::change::Value::Text(_) => Cell::Text(rendered),
    }
}
