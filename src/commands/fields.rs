//! `fields`: which fields have journal entries, per object type. Journal entries exist only
//! for tracked fields (Setup → Interface → Update Feeds), so this shows what an export can
//! and cannot see. Workfront's aggregate queries are not used: the entries are fetched and
//! tallied here, so the answer is exact for the window.

use std::collections::BTreeMap;

use crate::cli::{FieldsArgs, TableFormat};
use crate::console;
use crate::error::Result;
use crate::model::anomaly::AnomalySet;
use crate::model::change::ChangeRecord;
use crate::output::Destination;
use crate::settings::Settings;
use crate::source::{ChangeSource, Receiver};

/// The window when `--since` is not given.
const DEFAULT_SINCE: &str = "30d";

pub fn run(mut args: FieldsArgs) -> Result<()> {
    if args.filters.since.is_none() {
        args.filters.since = Some(DEFAULT_SINCE.into());
    }
    let settings = Settings::resolve(&args.connection, &args.filters)?;
    let progress = console::progress_bar("entries");
    let mut tally = Tally::default();
    let (requests, retries) = super::runtime()?.block_on(async {
        let client = settings.client().await?;
        let mut source = settings.journal(&client, progress.clone());
        let result = source.deliver(None, &mut tally).await;
        progress.finish_and_clear();
        result.map(|_| (client.requests(), client.retries()))
    })?;
    let tally = tally.0;
    let window = settings.filters.window();
    Destination::Stdout.write_with(|w| write_table(w, &tally, args.format))?;
    if args.summary.json() {
        console::summary_json(&serde_json::json!({
            "command": "fields",
            "fields": tally.len(),
            "entries": tally.values().map(|(n, _)| n).sum::<u64>(),
            "window": window,
            "requests": requests,
            "retries": retries,
        }));
        return Ok(());
    }
    console::note(format!(
        "{} fields with entries in {window}; a field that is not listed has no entries there \
         (it may not be tracked: Setup > Interface > Update Feeds)",
        tally.len()
    ));
    Ok(())
}

/// (object type, field) → (entries, last change).
#[derive(Default)]
struct Tally(BTreeMap<(String, String), (u64, String)>);

impl Receiver for Tally {
    fn take(&mut self, r: ChangeRecord<'_>, _: AnomalySet) -> Result<()> {
        let key = (
            r.obj_code.as_deref().unwrap_or("").to_string(),
            r.field_name.as_deref().unwrap_or("(none)").to_string(),
        );
        let slot = self.0.entry(key).or_default();
        slot.0 += 1;
        // Records come in time order: the latest seen is the last change.
        slot.1 = r.entry_date.as_deref().unwrap_or("").to_string();
        Ok(())
    }
}

/// The tally as a table in `format`.
fn write_table(
    w: &mut dyn std::io::Write,
    tally: &BTreeMap<(String, String), (u64, String)>,
    format: TableFormat,
) -> std::io::Result<()> {
    match format {
        TableFormat::Text => {
            writeln!(w, "obj_code\tfield_name\tentries\tlast_change")?;
            for ((obj, field), (n, last)) in tally {
                writeln!(w, "{obj}\t{field}\t{n}\t{last}")?;
            }
            Ok(())
        }
        TableFormat::Csv => {
            let mut csv = ::csv::Writer::from_writer(w);
            csv.write_record(["obj_code", "field_name", "entries", "last_change"])?;
            for ((obj, field), (n, last)) in tally {
                // Field names are tenants' own words: guarded, as in exports.
                let field = crate::output::guard_formula(field);
                csv.write_record([obj.as_str(), &field, &n.to_string(), last])?;
            }
            csv.flush()
        }
        TableFormat::Json => {
            let rows: Vec<serde_json::Value> = tally
                .iter()
                .map(|((obj, field), (n, last))| {
                    serde_json::json!({"obj_code": obj, "field_name": field, "entries": n, "last_change": last})
                })
                .collect();
            writeln!(w, "{}", serde_json::Value::Array(rows))
        }
    }
}
