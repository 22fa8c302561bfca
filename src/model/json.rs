//! Writing JSON text by hand, byte for byte as serde_json would: the JSON sinks and the
//! simulator's answers build their bytes with it, without serde's general machinery.

/// A JSON string, escaped exactly as serde_json escapes it: `"` `\` and the control characters
/// (`\b \f \n \r \t`, others as `\u00XX`); everything else as is.
pub fn push_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    // Most text needs no escape at all: a test of every byte without an early exit, which the
    // compiler turns into vector instructions (a fifth of `intervals`' time went to the
    // byte-by-byte search below before; BENCHMARKS.md, "Answers").
    if !bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    }) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    // Most text needs no escape at all: find the next byte that does with a table lookup,
    // copy the run before it in one go.
    while let Some(at) = bytes[start..]
        .iter()
        .position(|&b| NEEDS_ESCAPE[b as usize])
    {
        let i = start + at;
        let b = bytes[i];
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Whether `s` is a number as JSON writes one (RFC 8259: `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`).
/// A value typed as a number but written otherwise (`01`, `.5`, `NaN`, a hand-edited file's
/// text) is written as a string, so the output stays JSON.
pub fn is_number(s: &str) -> bool {
    let digits = |b: &[u8]| b.iter().take_while(|c| c.is_ascii_digit()).count();
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += digits(&b[i..]),
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        let n = digits(&b[i + 1..]);
        if n == 0 {
            return false;
        }
        i += 1 + n;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(&b[i..]);
        if n == 0 {
            return false;
        }
        i += n;
    }
    i == b.len()
}

/// The bytes a JSON string cannot hold as they are: control characters, `"` and `\`.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_told_from_text_as_json_reads_them() {
        for n in [
            "0",
            "-0",
            "8",
            "-12.50",
            "1e3",
            "2.5E-7",
            "10000000000000000000001",
        ] {
            assert!(is_number(n), "{n}");
            assert!(serde_json::from_str::<serde_json::Value>(n).is_ok(), "{n}");
        }
        for t in [
            "", "-", "01", ".5", "5.", "+5", "1_000", "0x10", "NaN", "-inf", "1e", "8 ",
        ] {
            assert!(!is_number(t), "{t}");
        }
    }

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_does() {
        let mut all = String::new();
        for c in 0u8..0x80 {
            all.push(c as char);
        }
        all.push_str("é€😀\u{2028}");
        let mut out = Vec::new();
        push_string(&mut out, &all);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(&all).unwrap()
        );
    }
}
