//! A fast, strict reader for the usual shape of one JRNLE record: a flat JSON object whose
//! values are plain strings, `null` or numbers, with `editedBy` as a flat object. It reads the
//! record straight into a [`RawJrnle`] that borrows its strings from the text, without the
//! general machinery of serde. Whatever it does not know for sure (a `\u` escape,
//! `true`, an array, a nested object elsewhere, a repeated key, anything malformed) it leaves
//! to serde_json by answering `None`: the caller then parses the text the general way, so the
//! result, and any error, is exactly serde_json's.

use std::borrow::Cow;

use crate::model::raw::{EditedBy, Field, RawJrnle};

/// The record in `text`, or `None` when serde_json must read it.
pub fn record(text: &str) -> Option<RawJrnle<'_>> {
    let mut s = Scanner::new(text);
    let raw = s.record()?;
    s.end().then_some(raw)
}

/// The records of a search answer, `{"data": [record, ...]}`, or `None` when serde_json must
/// read it (any record not of the usual shape, or anything else in the answer).
pub fn page(text: &str) -> Option<Vec<RawJrnle<'_>>> {
    let mut s = Scanner::new(text);
    let mut records = Vec::new();
    let mut data = false;
    s.object(|s, key| {
        if key != "data" || data {
            return None;
        }
        data = true;
        if s.open(b'[', b']')? {
            return Some(());
        }
        loop {
            records.push(s.record()?);
            match s.next_byte()? {
                b',' => {}
                b']' => return Some(()),
                _ => return None,
            }
        }
    })?;
    (data && s.end()).then_some(records)
}

const EDITED_BY: u8 = 18;

/// Which field of [`RawJrnle`] a key fills (its bit in the set of keys seen).
fn slot(key: &str) -> Option<u8> {
    Some(match key {
        "ID" => 0,
        "entryDate" => 1,
        "changeType" => 2,
        "fieldName" => 3,
        "objObjCode" => 4,
        "objID" => 5,
        "referenceObjectName" => 6,
        "subObjCode" => 7,
        "subObjID" => 8,
        "topObjCode" => 9,
        "topObjID" => 10,
        "oldTextVal" => 11,
        "newTextVal" => 12,
        "oldNumberVal" => 13,
        "newNumberVal" => 14,
        "oldDateVal" => 15,
        "newDateVal" => 16,
        "editedByID" => 17,
        "editedBy" => EDITED_BY,
        _ => return None,
    })
}

fn field_mut<'r, 'a>(raw: &'r mut RawJrnle<'a>, bit: u8) -> &'r mut Field<'a> {
    match bit {
        0 => &mut raw.id,
        1 => &mut raw.entry_date,
        2 => &mut raw.change_type,
        3 => &mut raw.field_name,
        4 => &mut raw.obj_code,
        5 => &mut raw.obj_id,
        6 => &mut raw.obj_name,
        7 => &mut raw.sub_obj_code,
        8 => &mut raw.sub_obj_id,
        9 => &mut raw.top_obj_code,
        10 => &mut raw.top_obj_id,
        11 => &mut raw.old_text,
        12 => &mut raw.new_text,
        13 => &mut raw.old_number,
        14 => &mut raw.new_number,
        15 => &mut raw.old_date,
        16 => &mut raw.new_date,
        _ => &mut raw.edited_by_id,
    }
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Scanner<'a> {
        Scanner {
            text,
            bytes: text.as_bytes(),
            at: 0,
        }
    }

    /// Nothing but white space is left.
    fn end(&mut self) -> bool {
        self.ws();
        self.at == self.bytes.len()
    }

    /// The next byte that is not white space, taken.
    fn next_byte(&mut self) -> Option<u8> {
        self.ws();
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    /// One record object.
    fn record(&mut self) -> Option<RawJrnle<'a>> {
        let mut raw = RawJrnle::default();
        let mut seen = 0u32;
        self.object(|s, key| {
            let slot = slot(key);
            if let Some(bit) = slot {
                if seen & (1 << bit) != 0 {
                    return None; // a repeated key: serde_json says which
                }
                seen |= 1 << bit;
            }
            match slot {
                Some(EDITED_BY) => raw.edited_by = s.edited_by()?,
                Some(bit) => *field_mut(&mut raw, bit) = s.field()?,
                None => {
                    s.field()?; // a field the tool does not read
                }
            }
            Some(())
        })?;
        Some(raw)
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.ws();
        (self.bytes.get(self.at) == Some(&byte)).then(|| self.at += 1)
    }

    /// `open`, then whether `close` follows at once (an empty object or array).
    fn open(&mut self, open: u8, close: u8) -> Option<bool> {
        self.eat(open)?;
        self.ws();
        let empty = self.bytes.get(self.at) == Some(&close);
        if empty {
            self.at += 1;
        }
        Some(empty)
    }

    /// `{ "key": value, ... }`, calling `member` with the scanner placed at each value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        if self.open(b'{', b'}')? {
            return Some(());
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.eat(b':')?;
            self.ws();
            member(self, key)?;
            match self.next_byte()? {
                b',' => {}
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// A string with no escape and no control character, borrowed (keys).
    fn string(&mut self) -> Option<&'a str> {
        match self.text_value()? {
            Cow::Borrowed(s) => Some(s),
            Cow::Owned(_) => None,
        }
    }

    /// A string value: borrowed when it has no escape; with the simple escapes (`\"`, `\\`,
    /// `\/`, `\b`, `\f`, `\n`, `\r`, `\t`) read into an owned string, as serde_json does.
    /// A `\u` escape is left to serde_json, with its rules for surrogates.
    fn text_value(&mut self) -> Option<Cow<'a, str>> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        let start = self.at + 1;
        let mut run = start;
        let mut owned: Option<String> = None;
        loop {
            let end = run + stop(&self.bytes[run..])?;
            // The delimiters are ASCII, so the slices fall on character boundaries.
            match self.bytes[end] {
                b'"' => {
                    self.at = end + 1;
                    return match owned {
                        None => self.text.get(start..end).map(Cow::Borrowed),
                        Some(mut text) => {
                            text.push_str(self.text.get(run..end)?);
                            Some(Cow::Owned(text))
                        }
                    };
                }
                b'\\' => {
                    let text = owned.get_or_insert_with(String::new);
                    text.push_str(self.text.get(run..end)?);
                    text.push(match self.bytes.get(end + 1)? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        _ => return None,
                    });
                    run = end + 2;
                }
                _ => return None, // a raw control character: not JSON
            }
        }
    }

    /// A field's value: a plain string, `null` or a number.
    fn field(&mut self) -> Option<Field<'a>> {
        match self.bytes.get(self.at)? {
            b'"' => self.text_value().map(Field::Text),
            b'n' => {
                let null = self.bytes.get(self.at..self.at + 4)? == b"null";
                null.then(|| {
                    self.at += 4;
                    Field::Null
                })
            }
            b'-' | b'0'..=b'9' => {
                let start = self.at;
                let len = self.bytes[start..]
                    .iter()
                    .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .unwrap_or(self.bytes.len() - start);
                self.at = start + len;
                // The number itself the general way: serde_json's rules and precision.
                serde_json::from_str::<Field>(self.text.get(start..self.at)?).ok()
            }
            _ => None,
        }
    }

    /// `editedBy`: `null`, a plain string or number (kept as odd), or a flat object of
    /// which only `name` is read.
    fn edited_by(&mut self) -> Option<EditedBy<'a>> {
        match self.bytes.get(self.at)? {
            b'{' => {
                let mut name = Field::Missing;
                let mut named = false;
                self.object(|s, key| {
                    let value = s.field()?;
                    if key == "name" {
                        if named {
                            return None;
                        }
                        named = true;
                        name = value;
                    }
                    Some(())
                })?;
                Some(EditedBy::User { name })
            }
            _ => match self.field()? {
                Field::Null => Some(EditedBy::Null),
                other => Some(EditedBy::Other(other)),
            },
        }
    }
}

/// Where the first `"`, `\\` or control character is: eight bytes at a time (most strings
/// are 32-character ids), then byte by byte.
fn stop(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let w = u64::from_le_bytes(chunk.try_into().ok()?);
        // A byte's high bit is set where it is zero after the xor (a quote, a backslash) or
        // below 0x20; only bits above the first such byte can be set by mistake, and only the
        // lowest one is used.
        let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
        let found = zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS);
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What serde_json makes of `text`, through the derived reader.
    fn general(text: &str) -> Option<RawJrnle<'_>> {
        serde_json::from_str(text).ok()
    }

    #[test]
    fn reads_the_usual_record_as_serde_json_does() {
        let text = r#"{"ID":"390b","changeType":"A","editedBy":{"ID":"e0","name":"Zoë Ōkubo","objCode":"USER"},"editedByID":"e0","entryDate":"2025-10-24T18:00:00:371-0600","fieldName":"ownerID","newDateVal":null,"newNumberVal":12.50,"newTextVal":"1d2a","objID":"4500","objObjCode":"PROJ","oldDateVal":null,"oldNumberVal":-3,"oldTextVal":null,"referenceObjectName":"PROJ item 21342","subObjCode":null,"subObjID":null,"topObjCode":null,"topObjID":null,"extra":7}"#;
        let fast = record(text).expect("the usual shape");
        assert_eq!(Some(&fast), general(text).as_ref());
        assert!(matches!(fast.id, Field::Text(Cow::Borrowed("390b"))));
        assert!(matches!(fast.edited_by, EditedBy::User { .. }));
        let spaced = " { \"ID\" : \"a\" ,\n\"editedBy\" : null , \"oldNumberVal\" : 1e3 } \r\n";
        assert_eq!(record(spaced), general(spaced));
        assert_eq!(record("{}"), general("{}"));
        let escaped =
            r#"{"ID":"a\"b\\c\/d\b\f\n\r\t","referenceObjectName":"\"","oldTextVal":"x\ny"}"#;
        let fast = record(escaped).expect("simple escapes");
        assert_eq!(Some(&fast), general(escaped).as_ref());
        assert!(matches!(&fast.id, Field::Text(Cow::Owned(s)) if s == "a\"b\\c/d\u{8}\u{c}\n\r\t"));
    }

    #[test]
    fn reads_a_search_answer_as_serde_json_does() {
        #[derive(serde::Deserialize)]
        struct Body<'a> {
            #[serde(borrow)]
            data: Vec<RawJrnle<'a>>,
        }
        let text = r#"{"data":[{"ID":"a","entryDate":"2025-01-01T00:00:00:000-0700"}, {"ID":"b","editedBy":{"name":"N"}}]}"#;
        let general: Body = serde_json::from_str(text).unwrap();
        assert_eq!(page(text), Some(general.data));
        assert_eq!(page(r#" { "data" : [ ] } "#), Some(Vec::new()));
        for odd in [
            r#"{"data":[{"ID":"a\u0041"}]}"#,
            r#"{"data":[],"error":{}}"#,
            r#"{"data":[{"ID":"a"},]}"#,
            r#"{"data":{}}"#,
            r#"{"error":{"message":"x"}}"#,
            r#"{}"#,
        ] {
            assert!(page(odd).is_none(), "{odd}");
        }
    }

    #[test]
    fn finds_the_first_quote_backslash_or_control_character() {
        let slow = |b: &[u8]| b.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
        let mut cases: Vec<Vec<u8>> = vec![b"".to_vec(), b"abc".to_vec()];
        for len in 0..20 {
            for stop_byte in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                for at in 0..len {
                    let mut v: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                    v[at] = stop_byte;
                    cases.push(v.clone());
                    // Bytes around the stop that the arithmetic could confuse.
                    if at + 1 < len {
                        v[at + 1] = 0x80;
                        cases.push(v.clone());
                    }
                    if at > 0 {
                        v[at - 1] = 0xff;
                        cases.push(v);
                    }
                }
            }
        }
        cases.push("Zoë Ōkubo 早\"".as_bytes().to_vec());
        cases.push(vec![
            0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xff, 0x21, 0x22,
        ]);
        for case in cases {
            assert_eq!(stop(&case), slow(&case), "{case:?}");
        }
    }

    #[test]
    fn every_field_name_finds_its_own_slot_and_near_misses_none() {
        use crate::model::raw::{SEARCH_FIELDS, record_key};
        // The slots follow the order of the fields every search asks for.
        let names = SEARCH_FIELDS.map(record_key);
        for (bit, name) in names.iter().enumerate() {
            assert_eq!(slot(name), Some(bit as u8), "{name}");
            let upper = name.to_uppercase();
            if upper != *name {
                assert_eq!(slot(&upper), None, "{upper}");
            }
        }
        for miss in [
            "",
            "I",
            "id",
            "objId",
            "oldTextVaL",
            "editedbyID",
            "objObjCodes",
            "x",
        ] {
            assert_eq!(slot(miss), None, "{miss}");
        }
    }

    #[test]
    fn leaves_everything_else_to_serde_json() {
        for text in [
            r#"{"ID":"a\u0000"}"#,    // a \u escape
            r#"{"ID":"a\x"}"#,        // not an escape
            r#"{"I\nD":"a"}"#,        // an escape in a key
            "{\"ID\":\"a\tb\"}",      // a raw control character (invalid JSON)
            r#"{"ID":true}"#,         // a boolean
            r#"{"ID":["a"]}"#,        // an array
            r#"{"x":{"y":1}}"#,       // a nested object elsewhere
            r#"{"ID":"a","ID":"b"}"#, // a repeated key
            r#"{"ID":"a"} x"#,        // trailing text
            r#"{"ID":"a",}"#,         // a trailing comma
            r#"{"ID":"a""#,           // cut short
            r#"{"ID":nul}"#,          // not null
            r#"{"ID":01}"#,           // not a JSON number
            r#"{"ID":1.}"#,           // not a JSON number
            r#"{"editedBy":{"name":"a","name":"b"}}"#,
            r#"["ID"]"#,
            "",
        ] {
            assert!(record(text).is_none(), "{text}");
        }
    }
}
