//! `asof --at TIME`: every object's fields as they stood at one instant, one row each, by
//! object code, object id and field.

use crate::cli::AsofArgs;
use crate::error::{Error, Result};
use crate::history::asof::{AsOf, AsOfRow};
use crate::model::change::{Cell, Value, ValueType};
use crate::model::date::parse_user_time_at;
use crate::output::RowSink;

use super::answers::{Answer, Said, opt, summarize, text, write_table};

/// The columns, in contract order (docs/answers.md).
pub const COLUMNS: [&str; 11] = [
    "obj_code",
    "obj_id",
    "obj_name",
    "field_name",
    "value_type",
    "value",
    "known",
    "since",
    "set_by_id",
    "set_by_name",
    "set_by_entry_id",
];

pub fn run(args: AsofArgs) -> Result<()> {
    let now = chrono::Utc::now();
    let at = parse_user_time_at(&args.at, now).map_err(|e| Error::usage(format!("--at: {e}")))?;
    // A query's --until ends the history it fetches: values after it cannot be known.
    if let Some(until) = args.history.filters.until.as_deref()
        && parse_user_time_at(until, now).is_ok_and(|until| until <= at)
    {
        return Err(Error::usage(format!(
            "--until {until} is not after --at {}: the query would fetch no entries up to that \
             instant; leave --until out, or give one after --at",
            args.at
        )));
    }
    let answer = Answer::prepare(&args.history, &args.output, false)?;
    let table = answer.table(&COLUMNS, "As of");
    let mut asof = AsOf::new(at);
    let totals = answer.replay(&mut asof, Default::default())?;
    let rows = asof.rows();
    write_table(&answer, &table, |sink| {
        for row in &rows {
            write_row(&answer, sink, row)?;
        }
        Ok(())
    })?;
    let at = Said::new("at", "at", answer.instant(at));
    let count = rows.len() as u64;
    summarize(
        &answer,
        args.output.summary.format,
        "asof",
        count,
        &totals,
        &[at],
    );
    Ok(())
}

fn write_row(answer: &Answer, sink: &mut dyn RowSink, r: &AsOfRow) -> Result<()> {
    let value = answer.value(&r.value, r.value_type);
    let since = r.since.map(|t| answer.instant(t)).unwrap_or_default();
    let mut cells = vec![
        text(&r.obj_code),
        text(&r.obj_id),
        opt(r.obj_name.as_deref()),
        text(&r.field_name),
        Cell::Text(r.value_type.as_str()),
        match &r.value {
            Value::Null => Cell::Null,
            Value::Number(_) => Cell::Number(&value),
            Value::Text(_) => Cell::Text(&value),
        },
        Cell::Bool(r.known),
        text(&since),
        opt(r.set_by_id.as_deref()),
        opt(r.set_by_name.as_deref()),
        opt(r.set_by_entry_id.as_deref()),
    ];
    if answer.labels {
        cells.push(opt(r.label.as_deref()));
    }
    let dates = 1 << 7 | u64::from(r.value_type == ValueType::Date) << 5;
    sink.write_row(&cells, dates).map_err(|e| Error::Write {
        path: answer.place(),
        source: e,
    })
}
