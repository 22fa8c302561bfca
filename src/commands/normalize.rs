//! `normalize`: saved raw JRNLE records in, normalized output out, in input order, streaming.

use std::fs::File;
use std::io::{BufRead, BufReader};

use crate::cli::NormalizeArgs;
use crate::error::{Error, Result};
use crate::input::for_each_record;
use crate::model::anomaly::Anomalies;
use crate::normalize::normalize;
use crate::output::{Destination, Format, RecordWriter};

pub fn run(args: NormalizeArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let out = &args.output;
    let destination = Destination::from_arg(out.output.as_deref());
    destination.check()?;
    let format = Format::choose(out.format, out.output.as_deref());
    let options = super::write_options(out, format, false)?;
    // Open every input first: a missing file fails before anything is written.
    let mut inputs: Vec<(String, Box<dyn BufRead>)> = Vec::new();
    for input in &args.inputs {
        if input.as_os_str() == "-" {
            inputs.push((
                "standard input".into(),
                Box::new(BufReader::with_capacity(1 << 20, std::io::stdin())),
            ));
        } else {
            let name = input.display().to_string();
            let file =
                File::open(input).map_err(|e| Error::usage(format!("cannot read {name}: {e}")))?;
            inputs.push((name, Box::new(BufReader::with_capacity(1 << 20, file))));
        }
    }
    let mut output = destination.open()?;
    let mut anomalies = Anomalies::default();
    let mut written = 0;
    let mut writer = RecordWriter::with_options(&mut output, format, &options)
        .map_err(|e| destination.error(e))?;
    for (name, reader) in inputs {
        written += for_each_record(reader, &name, |raw| {
            let (record, found) = normalize(raw);
            anomalies.add(found);
            writer.write(&record).map_err(|e| destination.error(e))
        })?;
    }
    writer.finish().map_err(|e| destination.error(e))?;
    output.commit()?;
    super::summarize(&super::Summary {
        written,
        destination: &destination,
        anomalies: &anomalies,
        requests: None,
        elapsed: started.elapsed(),
    });
    Ok(())
}
