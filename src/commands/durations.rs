//! `durations --field FIELD`: per object and value of the field (status by default), its
//! visits in real and business time; with `--cycle-start` and `--cycle-end`, one cycle per
//! object instead. The calendar is `--business-hours`, `--business-days` and `--holidays` in
//! the output's zone; open visits and cycles count up to `--until` (default now), and entries
//! from `--until` on are not replayed.

use chrono::{DateTime, Utc};

use crate::cli::DurationsArgs;
use crate::console;
use crate::error::{Error, Result};
use crate::history::calendar::{BusinessTime, Calendar};
use crate::history::cycles::{Cycle, Cycles};
use crate::history::durations::{Durations, ValueVisits};
use crate::history::seen::Seen;
use crate::history::{Listener, Scope};
use crate::model::change::{Cell, Value, ValueType};
use crate::model::date::parse_user_time_at;
use crate::output::{RowSink, Table};

use super::answers::{Answer, Said, opt, seconds, summarize, text, write_table};

/// `--cycle-start` and `--cycle-end` take every value after them, so inputs given after them
/// are read as values, and the command would run a query instead: refuse that with the way
/// out, when no input was given and a value names a file or directory that exists.
fn refuse_swallowed_inputs(args: &DurationsArgs) -> Result<()> {
    if !args.history.inputs.is_empty() {
        return Ok(());
    }
    let values = args.cycle_start.iter().map(|v| ("--cycle-start", v));
    let values = values.chain(args.cycle_end.iter().map(|v| ("--cycle-end", v)));
    for (flag, value) in values {
        if std::path::Path::new(value).exists() {
            return Err(Error::usage(format!(
                "{flag} took {value} as a value: it names a file; give the inputs before \
                 --cycle-start (durations {value} --cycle-start …), or end the values with --"
            )));
        }
    }
    Ok(())
}

/// The columns of visits, in contract order (docs/answers.md).
pub const COLUMNS: [&str; 13] = [
    "obj_code",
    "obj_id",
    "obj_name",
    "field_name",
    "value",
    "visits",
    "first_entered",
    "last_left",
    "total_seconds",
    "business_seconds",
    "first_visit_seconds",
    "last_visit_seconds",
    "open",
];

/// The columns of cycles, in contract order (docs/answers.md).
pub const CYCLE_COLUMNS: [&str; 9] = [
    "obj_code",
    "obj_id",
    "obj_name",
    "field_name",
    "cycle_start",
    "cycle_end",
    "elapsed_seconds",
    "business_seconds",
    "reopened",
];

pub fn run(mut args: DurationsArgs) -> Result<()> {
    refuse_swallowed_inputs(&args)?;
    let now = Utc::now();
    let filters = &args.history.filters;
    let field = match filters.fields.as_slice() {
        [] => "status".to_string(),
        [one] => one.clone(),
        _ => {
            return Err(Error::usage(
                "durations measures one field: give --field once",
            ));
        }
    };
    let until = match filters.until.as_deref() {
        Some(u) => parse_user_time_at(u, now).map_err(|e| Error::usage(format!("--until: {e}")))?,
        None => now,
    };
    let hours =
        BusinessTime::parse(&args.business_hours, &args.business_days).map_err(Error::usage)?;
    let holidays = match &args.holidays {
        Some(path) => crate::history::holidays::read(path).map_err(Error::usage)?,
        None => Default::default(),
    };
    // The field measured is the field a query fetches (the default too): the others' entries
    // would be fetched for nothing.
    if args.history.filters.fields.is_empty() {
        args.history.filters.fields.push(field.clone());
    }
    let answer = Answer::prepare(&args.history, &args.output, true)?;
    let calendar = Calendar::new(answer.calendar_zone, hours, holidays);
    let more = [
        Said::new("field", "field", field.clone()),
        Said::new(
            "calendar",
            "calendar",
            format!(
                "{} {}, {} in {}",
                args.business_hours,
                args.business_days,
                console::plural(calendar.holidays.len() as u64, "holiday", "holidays"),
                answer.calendar_note
            ),
        ),
        Said::new("until", "until", answer.instant(until)),
    ];
    let (rows, totals) = match args.cycle_start.is_empty() {
        true => visits(&answer, &field, until, calendar)?,
        false => cycles(&answer, &args, &field, until, &calendar)?,
    };
    summarize(
        &answer,
        args.output.summary.format,
        "durations",
        rows,
        &totals,
        &more,
    );
    Ok(())
}

fn visits(
    answer: &Answer,
    field: &str,
    until: DateTime<Utc>,
    calendar: Calendar,
) -> Result<(u64, crate::history::Totals)> {
    let mut seen = Seen::new(field);
    let scope = Scope {
        until: Some(until),
        field: Some(field),
    };
    // The visits are gathered on a thread of their own while the replay runs.
    let (totals, durations) =
        super::beside::replay_beside(answer, scope, &mut seen, move |pump| {
            let mut durations = Durations::new(field, until, calendar);
            pump.each(|interval| durations.interval(interval))?;
            Ok(durations)
        })?;
    let rows = durations.rows();
    if rows.is_empty() && !seen.fields.contains(field) && !seen.fields.is_empty() {
        console::warn(format!(
            "no entry changes {field}: the fields the history changes are {} (names are \
             case-sensitive; --field chooses)",
            Seen::list(&seen.fields)
        ));
    }
    let table = answer.table(&COLUMNS, "Durations");
    write_table(answer, &table, |sink| {
        rows.iter().try_for_each(|r| visit_row(answer, sink, r))
    })?;
    Ok((rows.len() as u64, totals))
}

fn visit_row(answer: &Answer, sink: &mut dyn RowSink, r: &ValueVisits) -> Result<()> {
    let value = answer.value(&r.value, r.value_type);
    let first = answer.instant(r.first_entered);
    let left = r.last_left.map(|t| answer.instant(t)).unwrap_or_default();
    let n = [
        r.visits.to_string(),
        seconds(r.total_millis),
        seconds(r.business_millis),
        seconds(r.first_visit_millis),
        seconds(r.last_visit_millis),
    ];
    let mut cells = vec![
        text(&r.obj_code),
        text(&r.obj_id),
        opt(r.obj_name.as_deref()),
        text(&r.field_name),
        match &r.value {
            Value::Null => Cell::Null,
            Value::Number(_) => Cell::Number(&value),
            Value::Text(_) => Cell::Text(&value),
        },
        Cell::Number(&n[0]),
        text(&first),
        text(&left),
        Cell::Number(&n[1]),
        Cell::Number(&n[2]),
        Cell::Number(&n[3]),
        Cell::Number(&n[4]),
        Cell::Bool(r.open),
    ];
    if answer.labels {
        cells.push(opt(r.label.as_deref()));
    }
    let dates = 1 << 6 | 1 << 7 | u64::from(r.value_type == ValueType::Date) << 4;
    sink.write_row(&cells, dates).map_err(|e| Error::Write {
        path: answer.place(),
        source: e,
    })
}

fn cycles(
    answer: &Answer,
    args: &DurationsArgs,
    field: &str,
    until: DateTime<Utc>,
    calendar: &Calendar,
) -> Result<(u64, crate::history::Totals)> {
    let mut listeners = (
        Cycles::new(field, &args.cycle_start, &args.cycle_end),
        Seen::new(field),
    );
    let scope = Scope {
        until: Some(until),
        field: Some(field),
    };
    let totals = answer.replay(&mut listeners, scope)?;
    let (cycles, seen) = listeners;
    let rows = cycles.rows(until, calendar);
    let never: Vec<&String> = (args.cycle_start.iter().chain(&args.cycle_end))
        .filter(|v| !seen.values.contains(*v))
        .collect();
    if !never.is_empty() && !seen.values.is_empty() {
        console::warn(format!(
            "{field} never takes {}: its values in the history are {} (values are \
             case-sensitive codes)",
            never
                .iter()
                .map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            Seen::list(&seen.values)
        ));
    }
    let table = Table {
        columns: CYCLE_COLUMNS.to_vec(),
        sheet: "Cycles",
    };
    write_table(answer, &table, |sink| {
        rows.iter().try_for_each(|c| cycle_row(answer, sink, c))
    })?;
    Ok((rows.len() as u64, totals))
}

fn cycle_row(answer: &Answer, sink: &mut dyn RowSink, c: &Cycle) -> Result<()> {
    let start = answer.instant(c.start);
    let end = c.end.map(|t| answer.instant(t)).unwrap_or_default();
    let (elapsed, business) = (seconds(c.elapsed_millis), seconds(c.business_millis));
    let cells = [
        text(&c.obj_code),
        text(&c.obj_id),
        opt(c.obj_name.as_deref()),
        text(&c.field_name),
        text(&start),
        text(&end),
        Cell::Number(&elapsed),
        Cell::Number(&business),
        Cell::Bool(c.reopened),
    ];
    sink.write_row(&cells, 1 << 4 | 1 << 5)
        .map_err(|e| Error::Write {
            path: answer.place(),
            source: e,
        })
}
