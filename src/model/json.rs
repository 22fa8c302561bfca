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
