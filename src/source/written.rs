//! Files this tool wrote (`export` files, `sync` data files) read back as change records, for
//! `report`: each file in the format the format table says it is, in file order, in
//! constant memory. Delivering twice reads the files twice.

use std::fs::File;
use std::path::PathBuf;

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use crate::error::{Error, Result};
use crate::model::anomaly::AnomalySet;
use crate::model::change::ChangeRecord;
use crate::model::record_batch::RecordBatch;
use crate::output::Format;
use crate::source::{ChangeSource, Description, Receiver, TimeRange};

/// The files, with their formats.
pub struct WrittenRecords {
    files: Vec<(PathBuf, Format)>,
    /// Files written without the formula guard (their manifests say so): read as they are.
    unguarded: Vec<PathBuf>,
    /// The records each file handed on in the last delivery, in file order.
    per_file: Vec<u64>,
}

impl WrittenRecords {
    pub fn new(files: Vec<(PathBuf, Format)>) -> WrittenRecords {
        WrittenRecords {
            files,
            unguarded: Vec::new(),
            per_file: Vec::new(),
        }
    }

    /// Read these files as written without the formula guard.
    pub fn unguarded(mut self, paths: &[PathBuf]) -> WrittenRecords {
        self.unguarded = paths.to_vec();
        self
    }

    /// Each file and the records it handed on in the last delivery, in delivery order.
    pub fn per_file(&self) -> impl Iterator<Item = (&PathBuf, u64)> {
        self.files
            .iter()
            .map(|(p, _)| p)
            .zip(self.per_file.iter().copied())
    }
}

impl ChangeSource for WrittenRecords {
    fn describe(&self) -> Description {
        let names: Vec<String> = self
            .files
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        super::of_files(
            "change records written earlier",
            names.iter().map(String::as_str),
        )
    }

    fn expected<'a>(&'a self, _: &'a TimeRange) -> LocalBoxFuture<'a, Result<Option<u64>>> {
        super::uncounted()
    }

    fn deliver<'a>(
        &'a mut self,
        range: Option<TimeRange>,
        to: &'a mut dyn Receiver,
    ) -> LocalBoxFuture<'a, Result<u64>> {
        async move {
            super::whole_only(range, "written records")?;
            let mut n = 0;
            self.per_file.clear();
            for (path, format) in &self.files {
                let before = n;
                let name = path.display().to_string();
                let mut file = File::open(path)
                    .map_err(|e| Error::usage(format!("cannot read {name}: {e}")))?;
                let guarded = !self.unguarded.contains(path);
                let read = format.read_records(guarded).ok_or_else(|| {
                    Error::usage(format!(
                        "{name}: {} files cannot be read back",
                        format.spec().name
                    ))
                })?;
                // The receiver's own error (e.g. the replay refusing input out of order) is
                // its own, not a sign the file is not one this tool wrote.
                let (read, taken) = read_ahead(&mut file, read, &mut |record| {
                    n += 1;
                    to.take(record, AnomalySet::default())
                });
                taken?;
                read.map_err(|e| {
                    Error::usage(format!("{name} is not a file this tool wrote: {e}"))
                })?;
                self.per_file.push(n - before);
            }
            Ok(n)
        }
        .boxed_local()
    }
}

/// Records handed from the reading thread at a time.
const BATCH: usize = 2048;

/// Read `file` with `read` on a thread of its own, parsing ahead in batches while `take` works
/// on the records before (reading and parsing were half of `intervals`' time, writing the
/// other half: on two cores they overlap; BENCHMARKS.md, "Answers"). Returns what the reading
/// said and what `take` said: when `take` fails, reading stops at its next batch.
fn read_ahead(
    file: &mut File,
    read: crate::output::format::ReadRecords,
    take: &mut dyn FnMut(ChangeRecord<'_>) -> Result<()>,
) -> (std::result::Result<(), String>, Result<()>) {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<RecordBatch>(4);
        // Emptied batches go back to the reading thread: a new one each time was fresh memory
        // the kernel had to clear, a batch at a time.
        let (back, emptied) = std::sync::mpsc::channel::<RecordBatch>();
        let reader = scope.spawn(move || {
            let mut batch = RecordBatch::with_capacity(BATCH);
            let read = read(file, &mut |record| {
                batch.push(record);
                if batch.len() == BATCH {
                    let next = emptied
                        .try_recv()
                        .unwrap_or_else(|_| RecordBatch::with_capacity(BATCH));
                    let full = std::mem::replace(&mut batch, next);
                    // The taker stopped: so does the reading.
                    tx.send(full)
                        .map_err(|_| Error::Internal("the reading was stopped".into()))?;
                }
                Ok(())
            });
            if read.is_ok() && !batch.is_empty() {
                let _ = tx.send(batch);
            }
            read
        });
        let mut taken = Ok(());
        'batches: for mut batch in rx.iter() {
            for record in batch.drain() {
                taken = take(record);
                if taken.is_err() {
                    break 'batches;
                }
            }
            batch.clear();
            let _ = back.send(batch);
        }
        drop(rx);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err("the reading thread failed".into()));
        (read, taken)
    })
}
