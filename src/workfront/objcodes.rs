//! Workfront's object codes as `objObjCode` holds them: the journal filters on them exactly
//! (upper case), so `--obj-code task` matches nothing. The list is of the codes the API notes
//! and the usual journaled objects name; a code not listed is still sent as given (a tenant
//! can journal others), and only warned about when it matches nothing.

/// Known object codes.
pub const KNOWN: [&str; 20] = [
    "PROJ", "TASK", "OPTASK", "PORT", "PRGM", "USER", "HOUR", "ASSGN", "DOCU", "DOCV", "NOTE",
    "EXPNS", "CMPY", "TMPL", "TTSK", "TEAMOB", "ROLE", "GROUP", "CTGY", "RISK",
];

/// The known code a value is a case variant of (`task` → `TASK`), if it is not one itself.
pub fn case_variant(value: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(value) && **k != value)
        .copied()
}

/// The known code nearest to `value` when it is one or two edits away (`TAKS` → `TASK`) and
/// not itself a known code.
pub fn nearest(value: &str) -> Option<&'static str> {
    let upper = value.to_ascii_uppercase();
    if KNOWN.contains(&upper.as_str()) {
        return None;
    }
    KNOWN
        .iter()
        .map(|k| (distance(&upper, k), *k))
        .filter(|(d, k)| *d > 0 && *d <= 2 && *d < k.len())
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance (ASCII codes are a few letters long).
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substituted = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substituted.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_variants_and_near_misses_find_the_code_meant() {
        assert_eq!(case_variant("task"), Some("TASK"));
        assert_eq!(case_variant("OpTask"), Some("OPTASK"));
        assert_eq!(case_variant("TASK"), None, "already right");
        assert_eq!(case_variant("CUSTOM"), None, "unknown codes pass");
        assert_eq!(nearest("TAKS"), Some("TASK"));
        assert_eq!(nearest("PROJJ"), Some("PROJ"));
        assert_eq!(nearest("TASK"), None);
        assert_eq!(nearest("ZZZZZZZZ"), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
