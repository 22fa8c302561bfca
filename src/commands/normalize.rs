//! `normalize`: saved raw JRNLE records in, normalized output out, in input order, streaming.

use crate::cli::NormalizeArgs;
use crate::deliver::Delivery;
use crate::error::Result;
use crate::settings::OutputSettings;
use crate::source::saved::SavedRecords;

pub fn run(args: NormalizeArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let mut out = OutputSettings::resolve(&args.output, false)?;
    out.destination.refuse_over(&args.inputs)?;
    let mut source = SavedRecords::open(&args.inputs)?;
    out.options.about = vec![
        (
            "Source".into(),
            crate::source::ChangeSource::describe(&source).query.into(),
        ),
        (
            "Extracted".into(),
            "from saved records: when they were fetched is not recorded in them".into(),
        ),
    ];
    let mut output = out.open()?;
    let delivery = Delivery::new(out.sink(&mut output)?, out.destination.name());
    // Saved records are read synchronously: the future completes on its first poll.
    let delivered = futures::executor::block_on(delivery.run(&mut source, None))?;
    output.commit()?;
    super::summarize(&super::Summary {
        written: delivered.written,
        destination: &out.destination,
        anomalies: &delivered.anomalies,
        requests: None,
        elapsed: started.elapsed(),
        format: args.output.summary.format,
        command: "normalize",
    });
    Ok(())
}
