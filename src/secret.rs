//! A wrapper for credentials whose `Debug` and `Display` never show the value.

use std::fmt;

/// A credential. The only way to read it is [`Secret::expose`], used where a header is built.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

/// How a token is shown wherever it is displayed (`subscriptions list`, `simulate -v`):
/// `****` and its last four characters when it has 12 or more, `****` alone when shorter (the
/// last four of a short token are most of it). Workfront masks an event subscription's
/// `authToken` as `****1234` (API notes §7); the notes do not say what it shows of a short
/// one, and this shows nothing.
pub fn masked_token(token: &str) -> String {
    let chars: Vec<char> = token.chars().collect();
    match chars.len() {
        n if n >= 12 => format!("****{}", chars[n - 4..].iter().collect::<String>()),
        _ => "****".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_shows_its_last_four_characters_only_when_it_has_twelve() {
        assert_eq!(masked_token("tok"), "****");
        assert_eq!(masked_token("eleven-char"), "****");
        assert_eq!(masked_token("twelve-chars"), "****hars");
        assert_eq!(masked_token("ünïcödé-töké"), "****töké");
        assert_eq!(masked_token(""), "****");
    }

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
        assert_eq!(s.expose(), "hunter2-very-secret");
    }
}
