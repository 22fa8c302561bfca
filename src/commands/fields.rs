//! `fields`: which fields have journal entries, per object type. Journal entries exist only
//! for tracked fields (Setup → Interface → Update Feeds), so this shows what an export can
//! and cannot see. The counts come from Workfront's report requests (one grouping the window's
//! entries by object type, one per type grouping them by field) when the tenant answers them
//! in a shape read for certain; otherwise every entry of the window is fetched and tallied
//! here. Either way the answer is exact for the window.

use std::collections::BTreeMap;

use crate::cli::{FieldsArgs, TableFormat};
use crate::console;
use crate::error::Result;
use crate::model::anomaly::AnomalySet;
use crate::model::change::ChangeRecord;
use crate::model::date::format_utc_ms;
use crate::output::Destination;
use crate::settings::Settings;
use crate::source::{ChangeSource, Receiver};
use crate::workfront::client::Client;
use crate::workfront::query::Filters;
use crate::workfront::report::{Grouping, grouped};

/// The window when `--since` is not given.
const DEFAULT_SINCE: &str = "30d";

/// (object type, field) → (entries, last change).
type Table = BTreeMap<(String, String), (u64, String)>;

/// The label of entries without a `fieldName` (approval events and the like).
const NO_FIELD: &str = "(none)";

pub fn run(mut args: FieldsArgs) -> Result<()> {
    if args.filters.since.is_none() {
        args.filters.since = Some(DEFAULT_SINCE.into());
    }
    let settings = Settings::resolve(&args.connection, &args.filters)?;
    let (table, counted_by, requests, retries) = super::runtime()?.block_on(async {
        let client = settings.client().await?;
        let (table, counted_by) = match by_report(&client, &settings.filters).await? {
            Ok(table) => (table, "report"),
            Err(reason) => {
                console::note(format!(
                    "Workfront's report request gave no usable answer ({reason}); counting by \
                     fetching every entry of the window instead"
                ));
                (by_paging(&client, &settings).await?, "paging")
            }
        };
        Ok::<_, crate::error::Error>((table, counted_by, client.requests(), client.retries()))
    })?;
    let window = settings.filters.window();
    Destination::Stdout.write_with(|w| write_table(w, &table, args.format))?;
    if args.summary.json() {
        console::summary_json(&serde_json::json!({
            "command": "fields",
            "fields": table.len(),
            "entries": table.values().map(|(n, _)| n).sum::<u64>(),
            "window": window,
            "counted_by": counted_by,
            "requests": requests,
            "retries": retries,
        }));
        return Ok(());
    }
    console::note(format!(
        "{} fields with entries in {window}; a field that is not listed has no entries there \
         (it may not be tracked: Setup > Interface > Update Feeds)",
        table.len()
    ));
    Ok(())
}

/// The table from report requests: the entries grouped by object type, then each type's by
/// field, each type's fields adding up to its count. `Err` says why it cannot be used.
async fn by_report(
    client: &Client,
    filters: &Filters,
) -> Result<std::result::Result<Table, String>> {
    let codes = match grouped(client, &filters.search(), "objObjCode").await? {
        Grouping::Groups(g) => g,
        Grouping::Unavailable(reason) => return Ok(Err(reason)),
    };
    let mut table = Table::new();
    for code in codes {
        let Some(obj) = code.value else {
            return Ok(Err("entries without an object type".into()));
        };
        let search = filters.with_only("--obj-code", &obj).search();
        let fields = match grouped(client, &search, "fieldName").await? {
            Grouping::Groups(g) => g,
            Grouping::Unavailable(reason) => return Ok(Err(reason)),
        };
        let sum: u64 = fields.iter().map(|g| g.count).sum();
        if sum != code.count {
            return Ok(Err(format!(
                "{obj}'s fields add up to {sum} entries, its count is {}",
                code.count
            )));
        }
        for g in fields.into_iter().filter(|g| g.count > 0) {
            let field = g.value.unwrap_or_else(|| NO_FIELD.into());
            let last = g.newest.as_ref().map(format_utc_ms).unwrap_or_default();
            table.insert((obj.clone(), field), (g.count, last));
        }
    }
    Ok(Ok(table))
}

/// The table from every entry of the window, fetched as an export fetches them.
async fn by_paging(client: &Client, settings: &Settings) -> Result<Table> {
    let progress = console::progress_bar("entries");
    let mut tally = Tally::default();
    let mut source = settings.journal(client, progress.clone());
    let result = source.deliver(None, &mut tally).await;
    progress.finish_and_clear();
    result.map(|_| tally.0)
}

#[derive(Default)]
struct Tally(Table);

impl Receiver for Tally {
    fn take(&mut self, r: ChangeRecord<'_>, _: AnomalySet) -> Result<()> {
        let key = (
            r.obj_code.as_deref().unwrap_or("").to_string(),
            r.field_name.as_deref().unwrap_or(NO_FIELD).to_string(),
        );
        let slot = self.0.entry(key).or_default();
        slot.0 += 1;
        // Records come in time order: the latest seen is the last change.
        slot.1 = r.entry_date.as_deref().unwrap_or("").to_string();
        Ok(())
    }
}

/// The table in `format`.
fn write_table(
    w: &mut dyn std::io::Write,
    table: &Table,
    format: TableFormat,
) -> std::io::Result<()> {
    match format {
        TableFormat::Text => {
            writeln!(w, "obj_code\tfield_name\tentries\tlast_change")?;
            for ((obj, field), (n, last)) in table {
                writeln!(w, "{obj}\t{field}\t{n}\t{last}")?;
            }
            Ok(())
        }
        TableFormat::Csv => {
            let mut csv = ::csv::Writer::from_writer(w);
            csv.write_record(["obj_code", "field_name", "entries", "last_change"])?;
            for ((obj, field), (n, last)) in table {
                // Field names are tenants' own words: guarded, as in exports.
                let field = crate::output::guard_formula(field);
                csv.write_record([obj.as_str(), &field, &n.to_string(), last])?;
            }
            csv.flush()
        }
        TableFormat::Json => {
            let rows: Vec<serde_json::Value> = table
                .iter()
                .map(|((obj, field), (n, last))| {
                    serde_json::json!({"obj_code": obj, "field_name": field, "entries": n, "last_change": last})
                })
                .collect();
            writeln!(w, "{}", serde_json::Value::Array(rows))
        }
    }
}
