//! Numbers as this tool writes them, whatever read them: integers exact, other values as the
//! shortest decimal that reads back as the same double, never in exponent notation (the CSV,
//! the JSON sinks, a report made from a query or from files all show `0.00000025`, never
//! `2.5e-7`).

/// A JSON number: an integer as its digits (exact past 2^53), any other as [`render_number`].
pub fn render_json_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        render_number(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Integral values without a decimal point, others as the shortest decimal that reads back as
/// the same double, never in exponent notation. Rust's `Display` for `f64` is exactly that
/// (shortest round-trip, no exponent); negative zero is written `0`.
pub fn render_number(x: f64) -> String {
    if x == 0.0 {
        "0".to_string()
    } else {
        x.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_number_never_reads_back_in_exponent_notation() {
        let n: serde_json::Number = serde_json::from_str("2.5e-7").unwrap();
        assert_eq!(
            n.to_string(),
            "2.5e-7",
            "what serde_json's Display would show"
        );
        assert_eq!(render_json_number(&n), "0.00000025");
        let big: serde_json::Number = serde_json::from_str("1e21").unwrap();
        assert_eq!(render_json_number(&big), "1000000000000000000000");
    }
}
