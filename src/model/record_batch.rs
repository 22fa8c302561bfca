//! Change records packed into one text buffer, for handing between threads a batch at a time:
//! no allocation per record or field, and records read back borrowing from the buffer.
//!
//! Why not `Vec<ChangeRecord<'static>>`: each record's dozen strings were allocated on the
//! reading thread and freed on the replay's; the allocator's cross-thread frees and the kernel
//! clearing the pages it let go and took back were a quarter of `intervals`' CPU time over
//! 1,000,000 entries (`perf`, BENCHMARKS.md "Answers").

use std::borrow::Cow;

use crate::model::change::{ChangeRecord, Labels, SourceKind, Text, Value, ValueType};

/// Where a text is in the buffer; `start == NONE` for no text.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
}

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
enum PackedValue {
    Null,
    Text(Span),
    Number(Span),
}

/// The text columns, in the order [`Packed::texts`] keeps them.
const TEXTS: usize = 13;

#[derive(Debug)]
struct Packed {
    /// id, entry_date, obj_code, obj_id, obj_name, field_name, change_type, edited_by_id,
    /// edited_by_name, sub_obj_code, sub_obj_id, top_obj_code, top_obj_id.
    texts: [Span; TEXTS],
    custom_field: bool,
    value_type: ValueType,
    old_value: PackedValue,
    new_value: PackedValue,
    labels: Option<Box<Labels>>,
    source: SourceKind,
}

/// Records in one buffer. Emptied with [`RecordBatch::clear`], it keeps its memory for the
/// next batch.
#[derive(Debug, Default)]
pub struct RecordBatch {
    text: String,
    records: Vec<Packed>,
}

impl RecordBatch {
    pub fn with_capacity(records: usize) -> RecordBatch {
        RecordBatch {
            // About what a journal record's text takes (the generated 1,000,000 average
            // 480 bytes a line, keys and quotes included).
            text: String::with_capacity(records * 384),
            records: Vec::with_capacity(records),
        }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.records.clear();
    }

    /// Copy `record`'s text into the batch (its labels move).
    ///
    /// # Panics
    /// When the batch's text would pass 4 GiB: batches are meant to be small.
    pub fn push(&mut self, record: ChangeRecord<'_>) {
        let texts = [
            &record.id,
            &record.entry_date,
            &record.obj_code,
            &record.obj_id,
            &record.obj_name,
            &record.field_name,
            &record.change_type,
            &record.edited_by_id,
            &record.edited_by_name,
            &record.sub_obj_code,
            &record.sub_obj_id,
            &record.top_obj_code,
            &record.top_obj_id,
        ]
        .map(|t| self.span(t.as_deref()));
        let old_value = self.value(&record.old_value);
        let new_value = self.value(&record.new_value);
        self.records.push(Packed {
            texts,
            custom_field: record.custom_field,
            value_type: record.value_type,
            old_value,
            new_value,
            labels: record.labels,
            source: record.source,
        });
    }

    fn span(&mut self, text: Option<&str>) -> Span {
        let Some(text) = text else {
            return Span {
                start: NONE,
                len: 0,
            };
        };
        let start = u32::try_from(self.text.len()).expect("a record batch under 4 GiB");
        self.text.push_str(text);
        Span {
            start,
            len: u32::try_from(text.len()).expect("a record batch under 4 GiB"),
        }
    }

    fn value(&mut self, value: &Value<'_>) -> PackedValue {
        match value {
            Value::Null => PackedValue::Null,
            Value::Text(t) => PackedValue::Text(self.span(Some(t))),
            Value::Number(n) => PackedValue::Number(self.span(Some(n))),
        }
    }

    /// The records, borrowing their text from the batch. Labels are taken (moved out): read
    /// the batch once.
    pub fn drain(&mut self) -> impl Iterator<Item = ChangeRecord<'_>> {
        let text = &self.text;
        let this = RecordBatchView { text };
        self.records.drain(..).map(move |p| this.record(p))
    }
}

/// The text of a batch, to read its records while they are drained.
#[derive(Clone, Copy)]
struct RecordBatchView<'a> {
    text: &'a String,
}

impl<'a> RecordBatchView<'a> {
    fn text(self, span: Span) -> Text<'a> {
        (span.start != NONE).then(|| {
            let start = span.start as usize;
            Cow::Borrowed(&self.text[start..start + span.len as usize])
        })
    }

    fn value(self, value: PackedValue) -> Value<'a> {
        match value {
            PackedValue::Null => Value::Null,
            PackedValue::Text(s) => Value::Text(self.text(s).unwrap_or_default()),
            PackedValue::Number(s) => Value::Number(self.text(s).unwrap_or_default()),
        }
    }

    fn record(self, p: Packed) -> ChangeRecord<'a> {
        let [
            id,
            entry_date,
            obj_code,
            obj_id,
            obj_name,
            field_name,
            change_type,
            edited_by_id,
            edited_by_name,
            sub_obj_code,
            sub_obj_id,
            top_obj_code,
            top_obj_id,
        ] = p.texts.map(|s| self.text(s));
        ChangeRecord {
            id,
            entry_date,
            obj_code,
            obj_id,
            obj_name,
            field_name,
            custom_field: p.custom_field,
            change_type,
            value_type: p.value_type,
            old_value: self.value(p.old_value),
            new_value: self.value(p.new_value),
            edited_by_id,
            edited_by_name,
            sub_obj_code,
            sub_obj_id,
            top_obj_code,
            top_obj_id,
            labels: p.labels,
            source: p.source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_as_they_were_packed_every_field_and_none_kept_apart_from_empty() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo.expected.ndjson");
        let mut records: Vec<ChangeRecord<'static>> = Vec::new();
        let read = crate::output::Format::Ndjson.read_records(true).unwrap();
        read(&mut std::fs::File::open(path).unwrap(), &mut |r| {
            records.push(r.into_owned());
            Ok(())
        })
        .unwrap();
        assert!(records.len() > 10);
        let mut odd = records[0].clone();
        odd.obj_name = Some(Cow::Borrowed(""));
        odd.edited_by_name = None;
        odd.old_value = Value::Text(Cow::Borrowed(""));
        odd.new_value = Value::Number(Cow::Borrowed("-0.5"));
        odd.value_type = ValueType::Number;
        odd.custom_field = true;
        odd.source = SourceKind::Event;
        odd.labels = Some(Box::new(Labels {
            change_label: Some("Edit".into()),
            old_label: None,
            new_label: Some("New".into()),
        }));
        records.push(odd);
        let mut batch = RecordBatch::with_capacity(2);
        for _ in 0..2 {
            for r in &records {
                batch.push(r.clone());
            }
            assert_eq!(batch.len(), records.len());
            let back: Vec<ChangeRecord<'static>> =
                batch.drain().map(ChangeRecord::into_owned).collect();
            assert_eq!(back, records);
            assert!(batch.is_empty());
            batch.clear();
        }
    }
}
