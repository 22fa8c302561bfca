//! The fastest reader of a JSON Lines line: the change record exactly as this tool writes it
//! (the contract's keys in column order, then the label keys and `source` when written, no
//! whitespace), scanned in one pass with its text borrowed from the line. Anything else it
//! answers `None` for and the caller reads the line through serde ([`super::lines`]): a key
//! out of order or missing, whitespace, a value of another shape, a number serde might read
//! otherwise (an exponent, more than 15 digits), an unknown `value_type`. What it takes it reads as serde reads it: an
//! escaped string is decoded by serde_json itself, and a string with a control character in
//! it is left to serde to refuse.
//!
//! Hand-written because it was measured: serde_json deserializing the line was a quarter of
//! the CPU time of `intervals` over 1,000,000 entries (BENCHMARKS.md, "Answers").

use std::borrow::Cow;

use crate::model::change::{ChangeRecord, Labels, SourceKind, Value, ValueType};
use crate::model::number::render_number;

/// A JSON value as the scanner takes it.
enum Token<'a> {
    Null,
    Text(Cow<'a, str>),
    /// A number: a plain integer as written, or a short decimal as serde renders it.
    Number(Cow<'a, str>),
    Bool(bool),
}

/// The line read left to right.
struct Scan<'a> {
    line: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    fn bytes(&self) -> &'a [u8] {
        &self.line.as_bytes()[self.at..]
    }

    /// Past `text` if the line goes on with it. Of a length known when compiled: compared
    /// in a few words, not by a call to `memcmp` (twenty keys a line).
    fn expect<const N: usize>(&mut self, text: &[u8; N]) -> Option<()> {
        (self.bytes().first_chunk::<N>() == Some(text)).then(|| {
            self.at += N;
        })
    }

    /// Whether the line goes on with `text`.
    fn next_is<const N: usize>(&self, text: &[u8; N]) -> bool {
        self.bytes().first_chunk::<N>() == Some(text)
    }

    /// The value of the key `key` (`"key":`, after a comma but for the first), which comes
    /// next.
    fn key<const N: usize>(&mut self, key: &[u8; N]) -> Option<Token<'a>> {
        self.expect(key)?;
        self.value()
    }

    fn value(&mut self) -> Option<Token<'a>> {
        match *self.bytes().first()? {
            b'"' => self.string().map(Token::Text),
            b'n' => self.expect(b"null").map(|()| Token::Null),
            b't' => self.expect(b"true").map(|()| Token::Bool(true)),
            b'f' => self.expect(b"false").map(|()| Token::Bool(false)),
            b'-' | b'0'..=b'9' => self.number().map(Token::Number),
            _ => None,
        }
    }

    /// A string: borrowed when it has no escape; decoded by serde_json when it has.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.at;
        let body = &self.bytes()[1..];
        let end = memchr::memchr2(b'"', b'\\', body)?;
        if body[end] == b'"' {
            let text = &body[..end];
            // A control character must be escaped in JSON: serde refuses it, and says so.
            if text.iter().fold(false, |c, &b| c | (b < 0x20)) {
                return None;
            }
            self.at += end + 2;
            return Some(Cow::Borrowed(&self.line[start + 1..start + 1 + end]));
        }
        // Escaped: find the closing quote (one no backslash escapes), then let serde_json
        // decode the token.
        let mut i = end;
        loop {
            match body.get(i)? {
                b'\\' => i += 2,
                b'"' => break,
                _ => i += 1,
            }
        }
        let token = &self.line[start..start + i + 2];
        self.at += i + 2;
        serde_json::from_str::<String>(token).ok().map(Cow::Owned)
    }

    /// A number as serde_json reads it and [`crate::model::number::render_json_number`] writes it, when that is
    /// sure: a plain integer of at most 18 digits whose text is what `i64` writes (no `-0`, no
    /// leading zero), or a
    /// decimal of at most 15 digits without exponent (its double is the one correctly rounded
    /// whichever parser reads it; rendered, `7.750` is `7.75`, `-0.0` is `0`). Others are left
    /// to serde.
    fn number(&mut self) -> Option<Cow<'a, str>> {
        let bytes = self.bytes();
        let sign = usize::from(bytes[0] == b'-');
        let digits = |from: usize| {
            bytes[from..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let whole = digits(sign);
        if whole == 0 || (bytes[sign] == b'0' && whole > 1) {
            return None;
        }
        let mut len = sign + whole;
        let fraction = if bytes.get(len) == Some(&b'.') {
            let n = digits(len + 1);
            if n == 0 {
                return None;
            }
            len += 1 + n;
            n
        } else {
            0
        };
        let most = if fraction == 0 { 18 } else { 15 };
        if matches!(bytes.get(len), Some(b'e' | b'E')) || whole + fraction > most {
            return None;
        }
        let text = &self.line[self.at..self.at + len];
        self.at += len;
        if fraction == 0 && text != "-0" {
            return Some(Cow::Borrowed(text));
        }
        let rendered = render_number(text.parse::<f64>().ok()?);
        Some(if rendered == text {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(rendered)
        })
    }
}

fn text(token: Token<'_>) -> Option<Option<Cow<'_, str>>> {
    match token {
        Token::Null => Some(None),
        Token::Text(t) => Some(Some(t)),
        Token::Number(_) | Token::Bool(_) => None,
    }
}

fn value(token: Token<'_>, value_type: ValueType) -> Option<Value<'_>> {
    Some(match (token, value_type) {
        (Token::Null, _) => Value::Null,
        (Token::Text(t), ValueType::Number) => Value::Number(t),
        (Token::Text(t), _) => Value::Text(t),
        (Token::Number(n), ValueType::Number) => Value::Number(n),
        (Token::Number(n), _) => Value::Text(n),
        (Token::Bool(_), _) => return None,
    })
}

/// The record on `line` when it is exactly as this tool writes it; `None` for serde to read.
pub(super) fn record(line: &str) -> Option<ChangeRecord<'_>> {
    let mut s = Scan { line, at: 0 };
    let id = text(s.key(b"{\"id\":")?)?;
    let entry_date = text(s.key(b",\"entry_date\":")?)?;
    let obj_code = text(s.key(b",\"obj_code\":")?)?;
    let obj_id = text(s.key(b",\"obj_id\":")?)?;
    let obj_name = text(s.key(b",\"obj_name\":")?)?;
    let field_name = text(s.key(b",\"field_name\":")?)?;
    let custom_field = match s.key(b",\"custom_field\":")? {
        Token::Bool(b) => b,
        Token::Null => false,
        Token::Text(_) | Token::Number(_) => return None,
    };
    let change_type = text(s.key(b",\"change_type\":")?)?;
    let value_type = ValueType::named(text(s.key(b",\"value_type\":")?)?.as_deref())?;
    let old_value = value(s.key(b",\"old_value\":")?, value_type)?;
    let new_value = value(s.key(b",\"new_value\":")?, value_type)?;
    let edited_by_id = text(s.key(b",\"edited_by_id\":")?)?;
    let edited_by_name = text(s.key(b",\"edited_by_name\":")?)?;
    let sub_obj_code = text(s.key(b",\"sub_obj_code\":")?)?;
    let sub_obj_id = text(s.key(b",\"sub_obj_id\":")?)?;
    let top_obj_code = text(s.key(b",\"top_obj_code\":")?)?;
    let top_obj_id = text(s.key(b",\"top_obj_id\":")?)?;
    let labels = if s.next_is(b",\"change_label\":") {
        let own = |t: Option<Cow<'_, str>>| t.map(Cow::into_owned);
        Some(Box::new(Labels {
            change_label: own(text(s.key(b",\"change_label\":")?)?),
            old_label: own(text(s.key(b",\"old_label\":")?)?),
            new_label: own(text(s.key(b",\"new_label\":")?)?),
        }))
    } else {
        None
    };
    let source = if s.next_is(b",\"source\":") {
        text(s.key(b",\"source\":")?)?
            .as_deref()
            .and_then(SourceKind::named)
            .unwrap_or_default()
    } else {
        SourceKind::default()
    };
    s.expect(b"}")?;
    if !s.bytes().is_empty() {
        return None;
    }
    Some(ChangeRecord {
        id,
        entry_date,
        obj_code,
        obj_id,
        obj_name,
        field_name,
        custom_field,
        change_type,
        value_type,
        old_value,
        new_value,
        edited_by_id,
        edited_by_name,
        sub_obj_code,
        sub_obj_id,
        top_obj_code,
        top_obj_id,
        labels,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as this tool writes them.
    fn written() -> Vec<String> {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo.expected.ndjson");
        let text = std::fs::read_to_string(path).unwrap();
        text.lines().map(str::to_string).collect()
    }

    /// A written line changed in the ways the scanner must read as serde does (`true`) or
    /// leave to serde (`false`).
    fn changed(first: &str) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        let end = "\"top_obj_id\":null}";
        let swaps: &[(&str, &str, bool)] = &[
            ("\"custom_field\":false", "\"custom_field\":null", true),
            ("\"custom_field\":false", "\"custom_field\":1", false),
            ("\"value_type\":\"text\"", "\"value_type\":\"weird\"", false),
            ("\"value_type\":\"text\"", "\"value_type\":null", true),
            (end, "\"top_obj_id\":null} ", false),
            (end, "\"top_obj_id\":null,\"source\":\"event\"}", true),
            (end, "\"top_obj_id\":null,\"source\":\"elsewhere\"}", true),
            (
                end,
                "\"top_obj_id\":null,\"change_label\":\"Edit\",\"old_label\":null,\"new_label\":\"In \\\"Progress\\\"\",\"source\":\"snapshot\"}",
                true,
            ),
            (end, "\"top_obj_id\":null,\"change_label\":null}", false),
            (end, "\"top_obj_id\":null,\"extra\":1}", false),
            ("{\"id\":", "{ \"id\":", false),
            ("{\"id\":", "{\"entry_date\":null,\"id\":", false),
            (
                "\"obj_name\":\"",
                "\"obj_name\":\"tab\\there \\u00e9 \\ud83d\\ude00 \\\\ ",
                true,
            ),
            ("\"obj_name\":\"", "\"obj_name\":\"line\nbreak", false),
            (
                "\"obj_name\":\"",
                "\"obj_name\":\"ends in a backslash\\\\",
                true,
            ),
            ("\"obj_name\":\"", "\"obj_name\":\"bad escape \\x", false),
        ];
        for (from, to, taken) in swaps {
            assert!(first.contains(from), "{from}");
            out.push((first.replacen(from, to, 1), *taken));
        }
        // Each value as the new value of a number and of a text field.
        let start = first.find("\"new_value\":").unwrap() + "\"new_value\":".len();
        let end = first.find(",\"edited_by_id\":").unwrap();
        let values: &[(&str, bool)] = &[
            ("0", true),
            ("-0", true),
            ("7", true),
            ("-42", true),
            ("007", false),
            ("1.5", true),
            ("7.750", true),
            ("-0.0", true),
            ("0.1", true),
            ("1234.5", true),
            ("00.5", false),
            ("1.", false),
            (".5", false),
            ("2.5e-7", false),
            ("1E3", false),
            ("123456789012345", true),
            ("1234567890123456", true),
            ("0.30000000000000004", false),
            ("123456789012345678", true),
            ("1234567890123456789", false),
            ("99999999999999999999", false),
            ("true", false),
            ("\"8\"", true),
            ("\"\"", true),
            ("null", true),
            ("-", false),
            ("12x", false),
        ];
        for (v, taken) in values {
            for value_type in ["number", "text"] {
                let line = format!("{}{v}{}", &first[..start], &first[end..]);
                let typed = format!("\"value_type\":\"{value_type}\"");
                out.push((line.replacen("\"value_type\":\"text\"", &typed, 1), *taken));
            }
        }
        out
    }

    fn serde(line: &str) -> Option<ChangeRecord<'static>> {
        super::super::lines::record(line).map(ChangeRecord::into_owned)
    }

    #[test]
    fn lines_as_written_are_taken_and_read_as_serde_reads_them() {
        for line in written() {
            let scanned = record(&line).unwrap_or_else(|| panic!("not taken: {line}"));
            assert_eq!(Some(scanned.into_owned()), serde(&line), "{line}");
        }
    }

    #[test]
    fn changed_lines_are_read_as_serde_reads_them_or_left_to_it() {
        for (line, taken) in changed(&written()[0]) {
            match record(&line) {
                Some(scanned) => {
                    assert!(taken, "taken, to be left: {line}");
                    assert_eq!(Some(scanned.into_owned()), serde(&line), "{line}");
                }
                None => assert!(!taken, "left, to be taken: {line}"),
            }
        }
    }
}
