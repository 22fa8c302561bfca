//! An OpenSSH allowed-signers file (ssh-keygen(1), ALLOWED SIGNERS): who may sign manifests,
//! with which key, in which namespaces, and when. Read as `ssh-keygen -Y verify` reads it, so
//! that `verify --allowed-signers` and an auditor's `ssh-keygen` agree on every manifest.
//!
//! Hand-written because no well-kept crate parses this format (`ssh-key` parses the keys,
//! which is all the cryptography involved); it is a line format of a few fields.

use std::path::Path;

use chrono::{DateTime, Datelike, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};
use ssh_key::public::KeyData;

use crate::error::{Error, Result};

/// One line: principals, options, a key.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The principals field as written (a pattern list), e.g. `audit@example.com`.
    pub principals: String,
    pub key: KeyData,
    /// `cert-authority`: the key signs certificates, not manifests; such lines never match a
    /// manifest signature, which is made by a plain key.
    pub cert_authority: bool,
    /// `namespaces=`: a pattern list the signature's namespace must match; `None`: any.
    pub namespaces: Option<String>,
    pub valid_after: Option<DateTime<Utc>>,
    pub valid_before: Option<DateTime<Utc>>,
    /// The line in the file, for messages.
    pub line: usize,
}

/// The parsed file.
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    pub entries: Vec<Entry>,
}

/// Why no line accepts a key: said in the finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No line holds the key at all.
    UnknownKey,
    /// Lines hold it, but not for this namespace.
    Namespace,
    /// Lines hold it, but `at` is outside every one's validity window (the windows named).
    OutsideValidity(String),
}

impl AllowedSigners {
    /// Read `path`; a line that does not parse is a usage error naming it.
    pub fn load(path: &Path) -> Result<AllowedSigners> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::usage(format!(
                "cannot read --allowed-signers {}: {e}; give an OpenSSH allowed-signers file",
                path.display()
            ))
        })?;
        Self::parse(&text).map_err(|(line, why)| {
            Error::usage(format!(
                "--allowed-signers {} line {line}: {why} (the format of ssh-keygen(1), \
                 ALLOWED SIGNERS: principals [options] key-type base64-key)",
                path.display()
            ))
        })
    }

    pub fn parse(text: &str) -> std::result::Result<AllowedSigners, (usize, String)> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            entries.push(parse_line(line, i + 1).map_err(|why| (i + 1, why))?);
        }
        Ok(AllowedSigners { entries })
    }

    /// The principals of the first line that accepts `key` for `namespace` at `at` (as
    /// `ssh-keygen -Y find-principals` finds them), or why none does.
    pub fn accept(
        &self,
        key: &KeyData,
        namespace: &str,
        at: DateTime<Utc>,
    ) -> std::result::Result<&Entry, Refusal> {
        let holding: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| !e.cert_authority && &e.key == key)
            .collect();
        if holding.is_empty() {
            return Err(Refusal::UnknownKey);
        }
        let in_namespace: Vec<&Entry> = holding
            .into_iter()
            .filter(|e| {
                e.namespaces
                    .as_deref()
                    .is_none_or(|list| pattern_list_matches(list, namespace))
            })
            .collect();
        if in_namespace.is_empty() {
            return Err(Refusal::Namespace);
        }
        // Judged in whole seconds, as ssh-keygen's -Overify-time takes the instant.
        let at = DateTime::<Utc>::from_timestamp(at.timestamp(), 0).unwrap_or(at);
        let valid = |e: &&&Entry| {
            e.valid_after.is_none_or(|after| at >= after)
                && e.valid_before.is_none_or(|before| at <= before)
        };
        match in_namespace.iter().find(valid) {
            Some(e) => Ok(e),
            None => Err(Refusal::OutsideValidity(
                in_namespace
                    .iter()
                    .map(|e| window_text(e))
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
        }
    }
}

fn window_text(e: &Entry) -> String {
    let show = |t: &Option<DateTime<Utc>>| {
        t.map(|t| crate::model::date::format_utc_ms(&t))
            .unwrap_or_else(|| "…".into())
    };
    format!(
        "line {}: valid from {} to {}",
        e.line,
        show(&e.valid_after),
        show(&e.valid_before)
    )
}

/// Split at spaces outside double quotes (the file's own quoting).
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The principals field: a pattern list, quoted whole or not at all.
fn unquote_principals(field: &str) -> std::result::Result<String, String> {
    let inner = match field.strip_prefix('"') {
        Some(rest) => rest
            .strip_suffix('"')
            .ok_or_else(|| format!("the principals {field} are quoted in part only"))?,
        None => field,
    };
    if inner.is_empty() || inner.contains('"') {
        return Err(format!("the principals {field} do not read"));
    }
    Ok(inner.to_string())
}

/// Whether `field` is a key type name (then there are no options before it).
fn is_key_type(field: &str) -> bool {
    field.starts_with("ssh-") || field.starts_with("ecdsa-") || field.starts_with("sk-")
}

fn parse_line(line: &str, number: usize) -> std::result::Result<Entry, String> {
    let fields = fields(line);
    let principals = unquote_principals(fields.first().ok_or("empty line")?)?;
    let (options, key_at) = match fields.get(1) {
        Some(f) if !is_key_type(f) => (Some(f.as_str()), 2),
        _ => (None, 1),
    };
    let (key_type, base64) = match (fields.get(key_at), fields.get(key_at + 1)) {
        (Some(t), Some(b)) => (t, b),
        _ => return Err("no key (a key type and its base64 text)".into()),
    };
    let key = ssh_key::PublicKey::from_openssh(&format!("{key_type} {base64}"))
        .map_err(|_| format!("the key {key_type} {base64:.12}… does not parse"))?
        .key_data()
        .clone();
    let mut entry = Entry {
        principals,
        key,
        cert_authority: false,
        namespaces: None,
        valid_after: None,
        valid_before: None,
        line: number,
    };
    for option in options.map(split_options).unwrap_or_default() {
        apply_option(&mut entry, &option)?;
    }
    Ok(entry)
}

/// Options are comma-separated; a comma inside double quotes is part of the value (the quotes
/// are kept: `apply_option` requires them where ssh-keygen does).
fn split_options(options: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in options.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out
}

/// One option, as ssh-keygen reads it: a value in double quotes, each option at most once.
fn apply_option(entry: &mut Entry, option: &str) -> std::result::Result<(), String> {
    let (name, value) = match option.split_once('=') {
        Some((n, v)) => (n.to_ascii_lowercase(), Some(v)),
        None => (option.to_ascii_lowercase(), None),
    };
    let quoted = |v: &str| {
        v.strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .filter(|v| !v.contains('"'))
            .map(str::to_string)
            .ok_or_else(|| {
                format!("the value of {name} must be in double quotes, as in {name}=\"...\"")
            })
    };
    let once = |set: bool| {
        if set {
            Err(format!("{name} is given twice"))
        } else {
            Ok(())
        }
    };
    match (name.as_str(), value) {
        ("cert-authority", None) => entry.cert_authority = true,
        ("namespaces", Some(v)) => {
            once(entry.namespaces.is_some())?;
            entry.namespaces = Some(quoted(v)?);
        }
        ("valid-after", Some(v)) => {
            once(entry.valid_after.is_some())?;
            entry.valid_after = Some(parse_time(&quoted(v)?)?);
        }
        ("valid-before", Some(v)) => {
            once(entry.valid_before.is_some())?;
            entry.valid_before = Some(parse_time(&quoted(v)?)?);
        }
        _ => return Err(format!("unknown option {option:?}")),
    }
    Ok(())
}

/// `YYYYMMDD[Z]` or `YYYYMMDDHHMM[SS][Z]` (`UTC` for `Z` too): with Z in UTC, else in this
/// machine's time zone as ssh-keygen reads it, which is `mktime` with no daylight saving
/// (its standard time, all year round). Time 0 (1970-01-01T00:00:00Z) is refused, as there.
pub fn parse_time(text: &str) -> std::result::Result<DateTime<Utc>, String> {
    let bad = || format!("{text:?} is not a time of the form YYYYMMDD[HHMM[SS]][Z]");
    let (digits, utc) = match text
        .strip_suffix(['Z', 'z'])
        .or_else(|| text.strip_suffix("UTC"))
    {
        Some(d) => (d, true),
        None => (text, false),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let naive: NaiveDateTime = match digits.len() {
        8 => NaiveDate::parse_from_str(digits, "%Y%m%d")
            .map_err(|_| bad())?
            .and_hms_opt(0, 0, 0)
            .ok_or_else(bad)?,
        12 => NaiveDateTime::parse_from_str(&format!("{digits}00"), "%Y%m%d%H%M%S")
            .map_err(|_| bad())?,
        14 => NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M%S").map_err(|_| bad())?,
        _ => return Err(bad()),
    };
    let at = if utc {
        naive.and_utc()
    } else {
        naive.and_utc() - standard_offset(naive.date())
    };
    if at.timestamp() <= 0 {
        return Err(format!("{text:?} is not after 1970-01-01"));
    }
    Ok(at)
}

/// This machine's time zone's standard offset from UTC in the year of `day`: the lesser of
/// its offsets in January and July (daylight saving time adds to the standard offset).
fn standard_offset(day: NaiveDate) -> chrono::Duration {
    let offset_on = |month: u32| {
        NaiveDate::from_ymd_opt(day.year(), month, 1)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .and_then(|t| Local.from_local_datetime(&t).earliest())
            .map_or(0, |t| t.offset().local_minus_utc())
    };
    chrono::Duration::seconds(offset_on(1).min(offset_on(7)).into())
}

/// An OpenSSH pattern list (ssh_config(5), PATTERNS): comma-separated patterns with `*` and
/// `?`; a match of a `!`-negated pattern refuses whatever else matches.
pub fn pattern_list_matches(list: &str, text: &str) -> bool {
    let mut matched = false;
    for pattern in list.split(',') {
        match pattern.strip_prefix('!') {
            Some(negated) if wildcard(negated.as_bytes(), text.as_bytes()) => return false,
            Some(_) => {}
            None if wildcard(pattern.as_bytes(), text.as_bytes()) => matched = true,
            None => {}
        }
    }
    matched
}

fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            wildcard(&pattern[1..], text) || (!text.is_empty() && wildcard(pattern, &text[1..]))
        }
        (Some(b'?'), Some(_)) => wildcard(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => wildcard(&pattern[1..], &text[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILM+rvN+ot98qgEN796jTiQfZfG1KaT0PtFDJ/XFSqti";

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn reads_options_quotes_and_comments() {
        let text = format!(
            "# audit keys\n\n\"a@x,b@x\" namespaces=\"jrnle-audit,git\",valid-after=\"20250101Z\",VALID-BEFORE=\"20260101120000Z\" {KEY} comment words\nc@x cert-authority {KEY}\n"
        );
        let signers = AllowedSigners::parse(&text).unwrap();
        assert_eq!(signers.entries.len(), 2);
        let e = &signers.entries[0];
        assert_eq!(e.principals, "a@x,b@x");
        assert_eq!(e.namespaces.as_deref(), Some("jrnle-audit,git"));
        assert_eq!(e.valid_after, Some(at("2025-01-01T00:00:00Z")));
        assert_eq!(e.valid_before, Some(at("2026-01-01T12:00:00Z")));
        assert_eq!(e.line, 3);
        assert!(signers.entries[1].cert_authority);
    }

    #[test]
    fn accepts_by_key_namespace_and_time() {
        let text = format!(
            "old@x namespaces=\"jrnle-audit\",valid-before=\"20250601Z\" {KEY}\nother@x namespaces=\"git\" {KEY}\n"
        );
        let signers = AllowedSigners::parse(&text).unwrap();
        let key = &signers.entries[0].key;
        let ok = signers.accept(key, "jrnle-audit", at("2025-05-01T00:00:00Z"));
        assert_eq!(ok.unwrap().principals, "old@x");
        assert!(matches!(
            signers.accept(key, "jrnle-audit", at("2025-07-01T00:00:00Z")),
            Err(Refusal::OutsideValidity(_))
        ));
        assert_eq!(
            signers
                .accept(key, "file", at("2025-05-01T00:00:00Z"))
                .err(),
            Some(Refusal::Namespace)
        );
        let empty = AllowedSigners::default();
        assert_eq!(
            empty
                .accept(key, "jrnle-audit", at("2025-05-01T00:00:00Z"))
                .err(),
            Some(Refusal::UnknownKey)
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        // As ssh-keygen refuses them: unquoted values, an option twice, time 0, principals
        // quoted in part.
        for options in [
            "namespaces=jrnle-audit",
            "valid-before=20270101Z",
            "valid-before=\"20200101Z\",valid-before=\"20300101Z\"",
            "valid-after=\"19700101Z\"",
        ] {
            assert!(
                AllowedSigners::parse(&format!("a@x {options} {KEY}\n")).is_err(),
                "{options}"
            );
        }
        assert!(AllowedSigners::parse(&format!("\"a x\",y@x {KEY}\n")).is_err());
        assert_eq!(
            parse_time("20270101UTC").unwrap(),
            parse_time("20270101Z").unwrap()
        );
        assert!(AllowedSigners::parse("a@x\n").is_err());
        assert!(AllowedSigners::parse(&format!("a@x bogus-option {KEY}\n")).is_err());
        assert!(AllowedSigners::parse("a@x ssh-ed25519 notbase64\n").is_err());
        assert!(parse_time("2025-01-01").is_err());
        assert!(parse_time("202501011").is_err());
    }

    #[test]
    fn pattern_lists_match_as_openssh_does() {
        assert!(pattern_list_matches("git,jrnle-*", "jrnle-audit"));
        assert!(!pattern_list_matches("git,file", "jrnle-audit"));
        assert!(!pattern_list_matches("*,!jrnle-audit", "jrnle-audit"));
        assert!(pattern_list_matches("jrnle-audi?", "jrnle-audit"));
    }
}
