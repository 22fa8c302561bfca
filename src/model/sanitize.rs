//! Making an answer body parseable without losing what can be kept. Workfront runs on Java,
//! whose strings may hold unpaired surrogates; serialized as `\uD800` escapes they make strict
//! JSON parsers fail the whole page. Such an escape is rewritten as the literal text `\uD800`
//! (an escaped backslash), so the value survives as visible raw text, and invalid UTF-8 bytes
//! become U+FFFD.

use std::borrow::Cow;

/// The body as text with every unpaired surrogate escape made literal.
pub fn sanitize_json(body: &[u8]) -> Cow<'_, str> {
    let text = match std::str::from_utf8(body) {
        Ok(valid) => Cow::Borrowed(valid),
        Err(_) => String::from_utf8_lossy(body),
    };
    if !text.contains("\\u") {
        return text;
    }
    let b = text.as_bytes();
    let mut out = String::new();
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(cp) = escape_at(b, i) else {
            // Some other escape (\", \\, \n, ...): skip both characters.
            i += 2;
            continue;
        };
        let lone = match cp {
            0xD800..=0xDBFF => !matches!(escape_at(b, i + 6), Some(0xDC00..=0xDFFF)),
            0xDC00..=0xDFFF => true,
            _ => false,
        };
        if lone {
            out.push_str(&text[last..i]);
            out.push_str("\\\\");
            last = i + 1;
            i += 6;
        } else if (0xD800..=0xDBFF).contains(&cp) {
            i += 12;
        } else {
            i += 6;
        }
    }
    if last == 0 {
        return text;
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// The code unit of a `\uXXXX` escape starting at `i`, if there is one.
fn escape_at(b: &[u8], i: usize) -> Option<u32> {
    if b.get(i) != Some(&b'\\') || b.get(i + 1) != Some(&b'u') {
        return None;
    }
    let hex = b.get(i + 2..i + 6)?;
    let s = std::str::from_utf8(hex).ok()?;
    u32::from_str_radix(s, 16).ok()
}

/// Whether text holds a surrogate escape made literal by [`sanitize_json`].
pub fn has_literal_surrogate(text: &str) -> bool {
    text.match_indices("\\u")
        .any(|(i, _)| matches!(escape_at(text.as_bytes(), i), Some(0xD800..=0xDFFF)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn parsed(body: &str) -> Value {
        serde_json::from_str(&sanitize_json(body.as_bytes())).unwrap()
    }

    #[test]
    fn lone_surrogates_become_literal_text_and_pairs_stay() {
        assert!(serde_json::from_str::<Value>(r#"{"a":"x\ud800y"}"#).is_err());
        assert_eq!(parsed(r#"{"a":"x\ud800y"}"#)["a"], "x\\ud800y");
        assert_eq!(parsed(r#"{"a":"\udc00"}"#)["a"], "\\udc00");
        assert_eq!(parsed(r#"{"a":"\ud83d\ude00"}"#)["a"], "😀");
        assert_eq!(parsed(r#"{"a":"\ud83d\u0041"}"#)["a"], "\\ud83dA");
        assert_eq!(
            parsed(r#"{"a":"\\ud800"}"#)["a"],
            "\\ud800",
            "an escaped backslash"
        );
        // A cut-off escape at the very end is left for the parser to refuse.
        assert_eq!(sanitize_json(br#"{"a":"\ud8"#), r#"{"a":"\ud8"#);
        assert_eq!(sanitize_json(br#"\ud800"#), r#"\\ud800"#);
    }

    #[test]
    fn valid_bodies_pass_untouched() {
        let body = r#"{"data":[{"a":"\u00e9\n\"","b":1}]}"#;
        assert!(matches!(sanitize_json(body.as_bytes()), Cow::Borrowed(_)));
        assert_eq!(sanitize_json(b"{\"a\":\"\xff\"}"), "{\"a\":\"\u{fffd}\"}");
    }

    #[test]
    fn literal_surrogates_are_recognised() {
        assert!(has_literal_surrogate("x\\ud800"));
        assert!(has_literal_surrogate("\\uDFFF"));
        assert!(!has_literal_surrogate("\\u0041"));
        assert!(!has_literal_surrogate("plain"));
    }
}
