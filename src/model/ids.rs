//! A set of record ids held compactly, for skipping what earlier files delivered: each id as
//! the first 128 bits of its SHA-256 (16 bytes a record, where the id's text took some 80 with
//! its allocation). Two different ids share a key with a probability of about n² / 2^129, so
//! for a billion ids about 1 in 10^20: no record is ever skipped for another's sake in
//! practice.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

/// The key of an id.
pub fn key(id: &str) -> u128 {
    let digest = Sha256::digest(id.as_bytes());
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(first)
}

/// Record ids, by key.
#[derive(Debug, Clone, Default)]
pub struct IdSet(HashSet<u128>);

impl IdSet {
    pub fn insert(&mut self, id: &str) -> bool {
        self.0.insert(key(id))
    }

    pub fn contains(&self, id: &str) -> bool {
        self.0.contains(&key(id))
    }

    pub fn insert_key(&mut self, key: u128) {
        self.0.insert(key);
    }

    pub fn remove_key(&mut self, key: u128) {
        self.0.remove(&key);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> FromIterator<&'a str> for IdSet {
    fn from_iter<I: IntoIterator<Item = &'a str>>(ids: I) -> IdSet {
        IdSet(ids.into_iter().map(key).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found_by_their_text_and_only_theirs() {
        let mut set: IdSet = ["a", "b"].into_iter().collect();
        assert!(set.contains("a") && set.contains("b") && !set.contains("c"));
        assert!(set.insert("c") && !set.insert("c"));
        set.remove_key(key("a"));
        assert!(!set.contains("a"));
        assert_eq!(set.len(), 2);
    }
}
