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

/// A decimal number's canonical text: no leading zeros, no trailing fractional zeros, `-0` as
/// `0`; one with an exponent (never written by this tool) as f64 prints it.
pub fn canonical(n: &str) -> String {
    if n.contains(['e', 'E']) {
        return n
            .parse::<f64>()
            .map_or_else(|_| n.to_string(), |f| f.to_string());
    }
    let (sign, digits) = match n.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", n.strip_prefix('+').unwrap_or(n)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    if int == "0" && frac.is_empty() {
        return "0".into();
    }
    match frac.is_empty() {
        true => format!("{sign}{int}"),
        false => format!("{sign}{int}.{frac}"),
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
