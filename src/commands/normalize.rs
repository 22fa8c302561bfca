//! `normalize`: saved raw JRNLE records in, normalized output out, in input order.

use std::io::Read;

use crate::change::{Anomalies, ChangeRecord, normalize};
use crate::cli::NormalizeArgs;
use crate::error::{Error, Result};
use crate::input::parse_raw_records;
use crate::output::{Destination, Format, write_all};

pub fn run(args: NormalizeArgs) -> Result<()> {
    let out = &args.output;
    let destination = Destination::from_arg(out.output.as_deref());
    destination.check()?;
    let format = Format::choose(out.format, out.output.as_deref());
    let mut changes: Vec<ChangeRecord> = Vec::new();
    let mut anomalies = Anomalies::default();
    for input in &args.inputs {
        let (name, text) = if input.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Error::usage(format!("cannot read standard input: {e}")))?;
            ("standard input".to_string(), text)
        } else {
            let name = input.display().to_string();
            let text = std::fs::read_to_string(input)
                .map_err(|e| Error::usage(format!("cannot read {name}: {e}")))?;
            (name, text)
        };
        let records = parse_raw_records(&text, &name)?;
        changes.extend(records.iter().map(|r| normalize(r, &mut anomalies)));
    }
    destination.write_with(|w| write_all(w, &changes, format, !out.no_formula_guard).map(drop))?;
    super::summarize(changes.len(), &destination, &anomalies);
    Ok(())
}
