//! Text fields kept in one string, for the replay's entries and intervals: one allocation
//! instead of a dozen, a fraction of the memory, and one cache line to read where a dozen
//! strings scattered over the heap cost a miss each (BENCHMARKS.md, "Answers": an interval is
//! written out long after it was read; a bulk edit's hundreds of thousands of entries are held
//! until their millisecond ends).

/// `N` text fields, each absent, empty or text, written in index order into one string.
#[derive(Debug)]
pub struct Packed<const N: usize> {
    text: String,
    /// Where each field ends in `text`.
    ends: [u32; N],
    /// Which fields are there (a bit each): an absent field and an empty one differ.
    present: u32,
}

impl<const N: usize> Default for Packed<N> {
    fn default() -> Packed<N> {
        const { assert!(N <= 32, "a bit of `present` per field") };
        Packed {
            text: String::new(),
            ends: [0; N],
            present: 0,
        }
    }
}

impl<const N: usize> Packed<N> {
    /// Every field anew, keeping the allocation, with room for `room` more bytes (a field
    /// written later).
    pub fn write(&mut self, fields: [Option<&str>; N], room: usize) {
        self.text.clear();
        self.text
            .reserve(fields.iter().flatten().map(|p| p.len()).sum::<usize>() + room);
        self.present = 0;
        for (at, value) in fields.into_iter().enumerate() {
            self.push(at, value);
        }
    }

    /// Write field `at`, which comes after every field written since [`Packed::write`].
    ///
    /// # Panics
    /// When the text passes 4 GiB (an entry's or interval's fields are short).
    pub fn push(&mut self, at: usize, value: Option<&str>) {
        if let Some(v) = value {
            self.text.push_str(v);
            self.present |= 1 << at;
        }
        self.ends[at] = u32::try_from(self.text.len()).expect("fields under 4 GiB");
    }

    pub fn get(&self, at: usize) -> Option<&str> {
        if self.present & (1 << at) == 0 {
            return None;
        }
        let start = at.checked_sub(1).map_or(0, |before| self.ends[before]) as usize;
        Some(&self.text[start..self.ends[at] as usize])
    }
}

/// Equal when each field is: where an absent field would have ended is no part of the text.
impl<const N: usize> PartialEq for Packed<N> {
    fn eq(&self, other: &Packed<N>) -> bool {
        (0..N).all(|at| self.get(at) == other.get(at))
    }
}

impl<const N: usize> Clone for Packed<N> {
    fn clone(&self) -> Packed<N> {
        Packed {
            text: self.text.clone(),
            ends: self.ends,
            present: self.present,
        }
    }

    /// Keeps this one's allocation.
    fn clone_from(&mut self, source: &Packed<N>) {
        self.text.clone_from(&source.text);
        self.ends = source.ends;
        self.present = source.present;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_back_absent_empty_or_as_written_and_compare_by_field() {
        let mut p = Packed::<4>::default();
        p.write([Some("TASK"), None, Some(""), Some("status")], 0);
        assert_eq!(
            (0..4).map(|i| p.get(i)).collect::<Vec<_>>(),
            [Some("TASK"), None, Some(""), Some("status")]
        );
        let mut later = Packed::<4>::default();
        later.write([Some("TASK"), None, Some(""), None], 8);
        assert_ne!(later, p);
        later.push(3, Some("status"));
        assert_eq!(later, p);
        // Reused: nothing of the fields before shows through.
        p.write([None, Some("t1"), None, None], 0);
        assert_eq!(
            (0..4).map(|i| p.get(i)).collect::<Vec<_>>(),
            [None, Some("t1"), None, None]
        );
        let mut copy = Packed::<4>::default();
        copy.write([Some("x"); 4], 0);
        copy.clone_from(&p);
        assert_eq!(copy, p);
    }
}
