//! Saved raw JRNLE records read offline (`normalize`): files or stdin in the shapes
//! [`crate::input`] reads, normalized and handed on in input order, in constant memory.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use crate::error::{Error, Result};
use crate::input::for_each_record;
use crate::normalize::normalize;
use crate::source::{ChangeSource, Description, Receiver, TimeRange};

/// The inputs, opened.
pub struct SavedRecords {
    inputs: Vec<(String, Box<dyn BufRead>)>,
}

impl SavedRecords {
    /// Open every input first, so a missing file fails before anything is written; `-` is
    /// standard input.
    pub fn open(paths: &[PathBuf]) -> Result<SavedRecords> {
        let mut inputs: Vec<(String, Box<dyn BufRead>)> = Vec::new();
        for input in paths {
            if input.as_os_str() == "-" {
                inputs.push((
                    "standard input".into(),
                    Box::new(BufReader::with_capacity(1 << 20, std::io::stdin())),
                ));
            } else {
                let name = input.display().to_string();
                let file = File::open(input)
                    .map_err(|e| Error::usage(format!("cannot read {name}: {e}")))?;
                inputs.push((name, Box::new(BufReader::with_capacity(1 << 20, file))));
            }
        }
        Ok(SavedRecords { inputs })
    }
}

impl ChangeSource for SavedRecords {
    fn describe(&self) -> Description {
        super::of_files(
            "saved JRNLE records",
            self.inputs.iter().map(|(n, _)| n.as_str()),
        )
    }

    fn expected<'a>(&'a self, _: &'a TimeRange) -> LocalBoxFuture<'a, Result<Option<u64>>> {
        super::uncounted()
    }

    /// Every record of every input, in input order; saved records are not windowed, so a
    /// range is refused rather than silently ignored.
    fn deliver<'a>(
        &'a mut self,
        range: Option<TimeRange>,
        to: &'a mut dyn Receiver,
    ) -> LocalBoxFuture<'a, Result<u64>> {
        async move {
            super::whole_only(range, "saved records")?;
            let mut n = 0;
            for (name, mut reader) in self.inputs.drain(..) {
                refuse_own_output(&name, &mut reader)?;
                n += for_each_record(reader, &name, |raw| {
                    let (record, anomalies) = normalize(raw);
                    to.take(record, anomalies)
                })?;
            }
            Ok(n)
        }
        .boxed_local()
    }
}

/// A file this tool wrote holds normalized records (`entry_date`, `field_name`), not JRNLE's
/// (`entryDate`, `fieldName`): read as raw records it would give empty rows, each a data
/// warning, and exit 0. Judged from the start of the input (what is buffered of it).
fn refuse_own_output(name: &str, reader: &mut Box<dyn BufRead>) -> Result<()> {
    let start = reader
        .fill_buf()
        .map_err(|e| Error::usage(format!("cannot read {name}: {e}")))?;
    let has = |key: &[u8]| start.windows(key.len()).any(|w| w == key);
    if has(b"\"entry_date\"") && has(b"\"field_name\"") && !has(b"\"entryDate\"") {
        return Err(Error::usage(format!(
            "{name} holds records jrnle-audit wrote (entry_date, field_name), not raw JRNLE \
             records as Workfront answers them: they are normalized already; `jrnle-audit \
             report {name} -o report.html` reads them"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::anomaly::AnomalySet;
    use crate::model::change::ChangeRecord;

    struct Ids(Vec<String>);

    impl Receiver for Ids {
        fn take(&mut self, r: ChangeRecord<'_>, _: AnomalySet) -> Result<()> {
            self.0.push(r.id.unwrap_or_default().into_owned());
            Ok(())
        }
    }

    #[test]
    fn records_come_in_input_order_and_a_range_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("saved.ndjson");
        std::fs::write(&path, "{\"ID\":\"b\"}\n{\"ID\":\"a\"}\n").unwrap();
        let mut source = SavedRecords::open(std::slice::from_ref(&path)).unwrap();
        assert!(source.describe().query.ends_with("saved.ndjson"));
        let mut ids = Ids(Vec::new());
        let n = futures::executor::block_on(source.deliver(None, &mut ids)).unwrap();
        assert_eq!((n, ids.0), (2, vec!["b".to_string(), "a".to_string()]));
        let mut source = SavedRecords::open(&[path]).unwrap();
        let range = TimeRange {
            since: None,
            until: chrono::Utc::now(),
        };
        let err = futures::executor::block_on(source.deliver(Some(range), &mut Ids(Vec::new())));
        assert!(err.is_err(), "saved records have no time range to honour");
        let missing = SavedRecords::open(&[dir.path().join("nope.json")]);
        assert_eq!(missing.err().map(|e| e.exit_code()), Some(2));
    }
}
