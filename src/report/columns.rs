//! "All changes" as the page embeds it (issue 28, item 2): every row's cells as columnar JSON,
//! one array per column. Text that repeats (object types, fields, editors, change types, and
//! whatever else repeats enough) is an index into a per-column dictionary that is sorted in the
//! table's sort order, so the page sorts such a column by the index alone; the "When" column is
//! the instant in milliseconds (each row as the difference from the one before) with its offset,
//! from which the page's script writes the same text as [`super::row::local`].

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::Serialize;

use super::row::Row;

/// Above this many rows the data is gzipped (and base64-encoded) when that is smaller; a
/// smaller table stays plain JSON, read at once.
const GZIP_ABOVE: usize = 1_000;

/// Rows seen before a column whose values hardly repeat (entry ids) stops keeping a dictionary.
const DICTIONARY_TRIAL: usize = 5_000;

/// One column: a dictionary and an index per row, or (values that hardly repeat) the values.
#[derive(Default)]
struct Column {
    plain: bool,
    seen: HashMap<String, u32>,
    values: Vec<String>,
    idx: Vec<u32>,
}

impl Column {
    fn push(&mut self, s: String) {
        if self.plain {
            self.values.push(s);
            return;
        }
        let next = self.values.len() as u32;
        let values = &mut self.values;
        let i = *self.seen.entry(s).or_insert_with_key(|k| {
            values.push(k.clone());
            next
        });
        self.idx.push(i);
        // Mostly distinct after the trial: the values themselves are smaller than a dictionary.
        if self.idx.len() == DICTIONARY_TRIAL && self.values.len() * 10 > DICTIONARY_TRIAL * 9 {
            self.plain = true;
            self.seen = HashMap::new();
            let dict = std::mem::take(&mut self.values);
            self.values = self
                .idx
                .drain(..)
                .map(|i| dict[i as usize].clone())
                .collect();
        }
    }

    /// `{"v": [values]}`, or `{"d": [dictionary in sort order], "i": [index per row]}`.
    fn finish(self) -> Encoded {
        if self.plain {
            return Encoded::Plain { v: self.values };
        }
        let mut order: Vec<u32> = (0..self.values.len() as u32).collect();
        order.sort_by(|a, b| sort_order(&self.values[*a as usize], &self.values[*b as usize]));
        let mut rank = vec![0u32; order.len()];
        for (r, i) in order.iter().enumerate() {
            rank[*i as usize] = r as u32;
        }
        let idx: Vec<u32> = self.idx.iter().map(|i| rank[*i as usize]).collect();
        let mut values: Vec<Option<String>> = self.values.into_iter().map(Some).collect();
        let d = order
            .iter()
            .map(|i| values[*i as usize].take().unwrap_or_default())
            .collect();
        Encoded::Dict { d, i: idx }
    }
}

/// A column as embedded (serialized straight to text: no tree of JSON values in between).
#[derive(Serialize)]
#[serde(untagged)]
enum Encoded {
    Dict { d: Vec<String>, i: Vec<u32> },
    Plain { v: Vec<String> },
}

/// Writes JSON text to `out` with each `<` as `\\u003c` (a `<` can only be inside a JSON
/// string, where the escape reads the same), counting what it writes.
struct NoLessThan<W> {
    out: W,
    len: usize,
}

impl<W: std::io::Write> std::io::Write for NoLessThan<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for part in buf.split_inclusive(|b| *b == b'<') {
            match part.split_last() {
                Some((b'<', head)) => {
                    self.out.write_all(head)?;
                    self.out.write_all(b"\\u003c")?;
                    self.len += head.len() + 6;
                }
                _ => {
                    self.out.write_all(part)?;
                    self.len += part.len();
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// A cell that reads as a plain decimal number (`-42`, `0.1`; the page's script tests the
/// same pattern), as that number.
fn number(s: &str) -> Option<f64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "1"));
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    (all_digits(int) && all_digits(frac))
        .then(|| s.parse().ok())
        .flatten()
}

/// The table's order: numbers first, as numbers; then text, ignoring case (the page's script
/// sorts a column without a dictionary the same way).
pub fn sort_order(a: &str, b: &str) -> Ordering {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a
            .to_lowercase()
            .cmp(&b.to_lowercase())
            .then_with(|| a.cmp(b)),
    }
}

/// What the page's script writes for an instant `ms` at `offset` (`+hh:mm`): the local time
/// to the millisecond and the offset, as `Date.toISOString` gives it for years 0 to 9999.
fn derived_when(ms: i64, offset: &str) -> Option<String> {
    let b = offset.as_bytes();
    let ok = b.len() == 6 && matches!(b[0], b'+' | b'-') && b[3] == b':';
    let (h, m): (i64, i64) = (
        offset.get(1..3)?.parse().ok()?,
        offset.get(4..6)?.parse().ok()?,
    );
    let sign = if b[0] == b'-' { -1 } else { 1 };
    let local = chrono::DateTime::from_timestamp_millis(ms + sign * (h * 60 + m) * 60_000)?;
    let year = chrono::Datelike::year(&local);
    (ok && (0..=9999).contains(&year))
        .then(|| format!("{} {offset}", local.format("%Y-%m-%d %H:%M:%S%.3f")))
}

/// Every row of "All changes", gathered as the records stream past.
#[derive(Default)]
pub struct AllChanges {
    rows: usize,
    /// Each dated row's instant as the difference from the dated row before (the first as is).
    deltas: Vec<Option<i64>>,
    last_ms: i64,
    offsets: Column,
    /// The "When" text of the rows whose text the script would not write (undated ones).
    texts: Vec<(usize, String)>,
    cells: [Column; 8],
}

/// The embedded data, as serialized.
#[derive(Serialize)]
struct Embedded {
    /// Rows.
    n: usize,
    /// "When": milliseconds, each the difference from the dated row before; `null` undated.
    t: Vec<Option<i64>>,
    /// "When": the offset (`+hh:mm`) of each row, as a column.
    z: Encoded,
    /// "When": `[row, text]` for the rows whose text is given as is.
    w: Vec<(usize, String)>,
    /// Object type, object, field, type, old, new, by, entry id.
    c: Vec<Encoded>,
}

impl AllChanges {
    pub fn push(&mut self, row: Row) {
        let offset = row.when.rsplit(' ').next().unwrap_or("").to_string();
        match row.when_ms {
            Some(ms) if derived_when(ms, &offset).as_deref() == Some(row.when.as_str()) => {
                self.deltas.push(Some(ms - self.last_ms));
                self.last_ms = ms;
                self.offsets.push(offset);
            }
            _ => {
                self.deltas.push(None);
                self.offsets.push(String::new());
                self.texts.push((self.rows, row.when));
            }
        }
        let cells = [
            row.obj_code,
            row.obj_name,
            row.field,
            row.change_type,
            row.old,
            row.new,
            row.editor,
            row.id,
        ];
        for (column, cell) in self.cells.iter_mut().zip(cells) {
            column.push(cell);
        }
        self.rows += 1;
    }

    /// The data as the page embeds it: the JSON, or above [`GZIP_ABOVE`] rows its gzip in
    /// base64 when that is shorter (the page's script reads it with `DecompressionStream`).
    pub fn finish(self) -> Data {
        let big = self.rows > GZIP_ABOVE;
        let embedded = self.embedded();
        // Written straight into the compressor: a million rows' JSON is never held whole.
        if big
            && let Some((packed, plain_len)) = gzip_base64(&embedded)
            && packed.len() < plain_len
        {
            return Data {
                encoding: "gzip+base64",
                text: packed,
            };
        }
        Data {
            encoding: "json",
            text: json(&embedded),
        }
    }

    #[cfg(test)]
    fn json(self) -> String {
        json(&self.embedded())
    }

    fn embedded(self) -> Embedded {
        Embedded {
            n: self.rows,
            t: self.deltas,
            z: self.offsets.finish(),
            w: self.texts,
            c: self.cells.into_iter().map(Column::finish).collect(),
        }
    }
}

/// The embedded data and how it is encoded (`json`, or `gzip+base64`).
#[derive(Serialize)]
pub struct Data {
    pub encoding: &'static str,
    pub text: String,
}

/// The JSON, safe inside `<script type="application/json">`: no `<` (so no `</script>` and no
/// `<!--`) is left as it is.
fn json(embedded: &Embedded) -> String {
    let mut out = NoLessThan {
        out: Vec::new(),
        len: 0,
    };
    match serde_json::to_writer(&mut out, embedded) {
        // Only UTF-8 text and ASCII escapes were written.
        Ok(()) => String::from_utf8(out.out).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The JSON gzipped, in base64, and the length of the JSON.
fn gzip_base64(embedded: &Embedded) -> Option<(String, usize)> {
    use base64::Engine;
    let mut out = NoLessThan {
        out: flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6)),
        len: 0,
    };
    // In large pieces: the compressor packs a little tighter than fed a token at a time.
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut out);
    serde_json::to_writer(&mut buffered, embedded).ok()?;
    buffered.into_inner().ok()?;
    let bytes = out.out.finish().ok()?;
    Some((
        base64::engine::general_purpose::STANDARD.encode(bytes),
        out.len,
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn numbers_sort_before_text_and_as_numbers() {
        let mut v = vec![
            "b",
            "12",
            "A",
            "-42",
            "0.1",
            "8",
            "1000000000000000",
            "1e3",
            "",
        ];
        v.sort_by(|a, b| sort_order(a, b));
        assert_eq!(
            v,
            [
                "-42",
                "0.1",
                "8",
                "12",
                "1000000000000000",
                "",
                "1e3",
                "A",
                "b"
            ]
        );
    }

    #[test]
    fn the_when_text_is_derived_only_where_the_script_writes_the_same() {
        assert_eq!(
            derived_when(1_762_070_400_123, "-07:00").as_deref(),
            Some("2025-11-02 01:00:00.123 -07:00")
        );
        assert_eq!(derived_when(0, "Z"), None);
        assert_eq!(derived_when(-70_000_000_000_000, "+00:00"), None);
    }

    #[test]
    fn no_closing_script_tag_survives_and_repeats_become_a_sorted_dictionary() {
        let mut all = AllChanges::default();
        for (i, code) in ["TASK", "</script><b>", "TASK"].iter().enumerate() {
            all.push(Row {
                id: format!("id{i}"),
                when: "2025-01-01 00:00:00.000 +00:00".into(),
                when_ms: Some(1_735_689_600_000),
                obj_code: code.to_string(),
                obj_id: String::new(),
                obj_name: String::new(),
                field: String::new(),
                change_type: String::new(),
                old: String::new(),
                new: String::new(),
                editor: String::new(),
            });
        }
        let json = all.json();
        assert!(!json.contains('<'), "{json}");
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["n"], 3);
        assert_eq!(v["t"], serde_json::json!([1_735_689_600_000i64, 0, 0]));
        assert_eq!(v["c"][0]["d"], serde_json::json!(["</script><b>", "TASK"]));
        assert_eq!(v["c"][0]["i"], serde_json::json!([1, 0, 1]));
        assert!(v["w"].as_array().unwrap().is_empty());
    }
}

#[cfg(test)]
mod gzip_tests {
    use std::io::Read;

    use base64::Engine;

    use super::*;

    #[test]
    fn a_large_table_is_gzipped_and_reads_back_as_its_json() {
        let mut all = AllChanges::default();
        let mut plain = AllChanges::default();
        for i in 0..=GZIP_ABOVE {
            let row = Row {
                id: format!("id{i}"),
                when: "2025-01-01 00:00:00.000 +00:00".into(),
                when_ms: Some(1_735_689_600_000),
                obj_code: "TASK".into(),
                obj_id: String::new(),
                obj_name: format!("Task {}", i % 7),
                field: "status".into(),
                change_type: "E".into(),
                old: "NEW".into(),
                new: "<b>".into(),
                editor: "Ada".into(),
            };
            all.push(row.clone());
            plain.push(row);
        }
        let data = all.finish();
        assert_eq!(data.encoding, "gzip+base64");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&data.text)
            .unwrap();
        let mut json = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut json)
            .unwrap();
        assert_eq!(json, plain.json());
    }
}
