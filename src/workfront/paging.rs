//! Offset paging that cannot lose an entry on a live tenant, even with pages read out of order.
//!
//! Workfront pages with `$$FIRST`/`$$LIMIT` over a sort on the unique key `(entryDate, ID)`.
//! Journal entries are only ever added, and an entry can become visible a little after the
//! instant it carries, so entries can appear in the middle of a window while it is paged. An
//! entry added before a page's offset pushes every later entry one place on. Read in order,
//! that only repeats an entry at a page boundary; but pages read concurrently can come back in
//! any order, and a page read *after* the one that follows it then misses the entries pushed
//! across the boundary in between. Neither the count nor the number fetched shows it: the new
//! entries make up the number.
//!
//! So consecutive pages overlap by one entry (page `p` starts at `p * STRIDE`, one less than a
//! page), and a [`Chain`] checks each page against the one before it:
//! - **continuity**: the page's first key is at most the previous page's last key (they share
//!   an entry, or overlap more). A page is a contiguous run of the sorted entries at the moment
//!   it was read, and an entry that existed then is still there later, so pages that touch
//!   cover every entry that existed when the first was read, from the first key to the last.
//! - **the end**: a short page (fewer than a full page) saw the end of the window.
//!
//! Together these prove that every entry that existed before the window's first page was read
//! was fetched, whatever the order of the reads. A gap (a page that starts after the previous
//! one ended) means entries may be missing: paging then resumes in order from the last page
//! that checked, which cannot leave a gap (an entry's position only ever grows, so a page read
//! later at the next offset starts at or before where the previous page ended).

use crate::workfront::object::Keyed;
use crate::workfront::query::MAX_PAGE;

/// How far apart consecutive pages start: one less than a page, so each full page shares its
/// last entry with the next.
pub const STRIDE: usize = MAX_PAGE - 1;

/// The `$$FIRST` of page `page`.
pub fn offset(page: usize) -> usize {
    page * STRIDE
}

/// How many pages a window of `count` entries needs for its last to be short, which proves
/// the end: the offset of the last is below `count`, so none starts beyond the entries.
pub fn pages_for(count: u64) -> usize {
    match usize::try_from(count).unwrap_or(usize::MAX) {
        0 => 0,
        n if n < MAX_PAGE => 1,
        n => (n - MAX_PAGE) / STRIDE + 2,
    }
}

/// What the next page in offset order showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A full page that touches the previous one: read the next.
    More,
    /// A short page that touches the previous one: every entry is in.
    End,
    /// The page does not touch the previous one: entries may be missing. The page is not
    /// taken; resume in order at [`Chain::resume_at`].
    Gap,
    /// The end was already seen: this page is not needed.
    Past,
}

/// The pages of one window, checked in offset order.
#[derive(Debug, Default)]
pub struct Chain {
    /// Pages taken so far; the next expected page is `taken`.
    taken: usize,
    /// The highest key seen so far.
    last: Option<(String, String)>,
    ended: bool,
}

impl Chain {
    /// Take the next page in offset order (page number `self.next_page()`).
    ///
    /// A page with a record whose date is not a date (which Workfront does not send: the
    /// windows filter on that date) cannot be placed among the others, so its touching is
    /// taken on trust rather than made a gap that reading again would never close.
    pub fn take(&mut self, page: &[impl Keyed]) -> Step {
        let comparable = page.iter().all(Keyed::comparable);
        if !comparable {
            self.last = None;
        }
        let step = self.take_keys(page.iter().map(Keyed::sort_key), page.len());
        if !comparable {
            // Nor can the next page be placed after this one.
            self.last = None;
        }
        step
    }

    /// [`Chain::take`] for a page given as its `(entryDate, ID)` keys and its length.
    fn take_keys<'k>(
        &mut self,
        keys: impl Iterator<Item = (&'k str, &'k str)> + Clone,
        len: usize,
    ) -> Step {
        if self.ended {
            return Step::Past;
        }
        let low = keys.clone().min();
        let high = keys.max();
        if self.taken > 0 {
            // The previous page was full, so an entry sits at this page's offset: an empty page
            // here, or one that starts after the previous one ended, leaves a possible gap.
            let touches = match (&low, &self.last) {
                (Some(low), Some((d, id))) => *low <= (d.as_str(), id.as_str()),
                // Nothing to compare with (see `take`): taken on trust.
                (Some(_), None) => true,
                (None, _) => false,
            };
            if !touches {
                return Step::Gap;
            }
        }
        if let Some((d, id)) = high
            && self
                .last
                .as_ref()
                .is_none_or(|(ld, lid)| (d, id) > (ld.as_str(), lid.as_str()))
        {
            self.last = Some((d.to_string(), id.to_string()));
        }
        self.taken += 1;
        if len < MAX_PAGE {
            self.ended = true;
            Step::End
        } else {
            Step::More
        }
    }

    /// Take a page read after the highest key so far ([`Chain::last_key`], keyset paging):
    /// it continues the chain by construction, so there is nothing to check but its end.
    pub fn take_after(&mut self, page: &[impl Keyed]) -> Step {
        if self.ended {
            return Step::Past;
        }
        if let Some((d, id)) = page.iter().map(Keyed::sort_key).max() {
            self.last = Some((d.to_string(), id.to_string()));
        }
        self.taken += 1;
        if page.len() < MAX_PAGE {
            self.ended = true;
            Step::End
        } else {
            Step::More
        }
    }

    /// The highest key taken so far, when every page's keys could be placed.
    pub fn last_key(&self) -> Option<(&str, &str)> {
        self.last.as_ref().map(|(d, id)| (d.as_str(), id.as_str()))
    }

    /// Whether a short page has proved the end.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The page number the chain expects next.
    pub fn next_page(&self) -> usize {
        self.taken
    }

    /// Where to resume after a gap: the last page taken, read again (the first if none was).
    pub fn resume_at(&mut self) -> usize {
        self.taken = self.taken.saturating_sub(1);
        self.taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workfront::jrnle::JournalEntry;

    /// Page `p` of `entries` as offset paging returns it, as keys.
    fn page(entries: &[usize], p: usize) -> Vec<(String, String)> {
        entries
            .iter()
            .skip(offset(p))
            .take(MAX_PAGE)
            .map(|&n| {
                (
                    format!("2025-01-01T00:00:{:02}.000Z", n / 1000),
                    format!("{n:08}"),
                )
            })
            .collect()
    }

    fn take(chain: &mut Chain, page: &[(String, String)]) -> Step {
        chain.take_keys(
            page.iter().map(|(d, i)| (d.as_str(), i.as_str())),
            page.len(),
        )
    }

    #[test]
    fn planned_pages_end_with_a_short_one_and_never_start_past_the_entries() {
        for count in [
            0u64, 1, 1999, 2000, 2001, 3997, 3998, 3999, 4000, 10_000, 33_333,
        ] {
            let pages = pages_for(count);
            let entries: Vec<usize> = (0..count as usize).collect();
            let mut chain = Chain::default();
            let steps: Vec<Step> = (0..pages)
                .map(|p| take(&mut chain, &page(&entries, p)))
                .collect();
            if count > 0 {
                assert_eq!(steps.last(), Some(&Step::End), "{count}");
                assert!(steps[..steps.len() - 1].iter().all(|s| *s == Step::More));
                assert!(offset(pages - 1) < count as usize, "{count}");
            }
        }
        assert_eq!(pages_for(1999), 1);
        assert_eq!(pages_for(2000), 2);
        assert_eq!(pages_for(3998), 2);
        assert_eq!(pages_for(3999), 3);
    }

    #[test]
    fn a_page_read_after_entries_were_inserted_before_it_is_a_gap() {
        // Page 1 is read first; then 5 entries are inserted at the start; then page 0.
        let before: Vec<usize> = (1000..6000).collect();
        let after: Vec<usize> = (0..5).chain(1000..6000).collect();
        let p1 = page(&before, 1);
        let p0 = page(&after, 0);
        let mut chain = Chain::default();
        assert_eq!(take(&mut chain, &p0), Step::More);
        assert_eq!(
            take(&mut chain, &p1),
            Step::Gap,
            "entries pushed across were missed"
        );
        // Resuming in order from the last page taken closes the gap.
        assert_eq!(chain.resume_at(), 0);
        assert_eq!(take(&mut chain, &page(&after, 0)), Step::More);
        assert_eq!(take(&mut chain, &page(&after, 1)), Step::More);
        assert_eq!(take(&mut chain, &page(&after, 2)), Step::End);
        assert_eq!(take(&mut chain, &page(&after, 3)), Step::Past);
    }

    #[test]
    fn pages_read_in_order_while_entries_arrive_only_overlap() {
        let mut entries: Vec<usize> = (0..20_000).step_by(4).collect();
        let mut chain = Chain::default();
        let mut p = 0;
        loop {
            let step = take(&mut chain, &page(&entries, p));
            assert_ne!(step, Step::Gap);
            if step == Step::End {
                break;
            }
            // Entries arrive everywhere, before and after the pages read so far.
            for k in 0..7 {
                entries.push(k * 2_857 + 2 * p + 1);
            }
            entries.sort_unstable();
            entries.dedup();
            p += 1;
        }
    }

    /// Entries as fetched, with these dates (Workfront's format) and ids.
    fn fetched(entries: &[(&str, String)]) -> Vec<JournalEntry> {
        entries
            .iter()
            .map(|(date, id)| {
                JournalEntry::from_json(&format!(r#"{{"ID":"{id}","entryDate":"{date}"}}"#))
            })
            .collect()
    }

    #[test]
    fn a_page_with_an_entry_whose_date_is_not_a_date_is_taken_on_trust() {
        let good = |from: usize| -> Vec<(&str, String)> {
            (from..from + MAX_PAGE)
                .map(|n| ("2025-01-01T00:00:00:000+0000", format!("{n:08}")))
                .collect()
        };
        // Pages that do not touch, but the second holds a date that cannot be compared.
        let mut chain = Chain::default();
        assert_eq!(chain.take(&fetched(&good(0))), Step::More);
        let mut odd = good(5000);
        odd[0].0 = "not a date";
        assert_eq!(chain.take(&fetched(&odd)), Step::More, "not a gap");
        // Neither can the next page be placed after it; the one after that is checked again.
        assert_eq!(chain.take(&fetched(&good(9000))), Step::More);
        assert_eq!(chain.take(&fetched(&good(20_000))), Step::Gap);
    }

    #[test]
    fn an_empty_page_after_a_full_one_is_a_gap() {
        let entries: Vec<usize> = (0..2000).collect();
        let mut chain = Chain::default();
        assert_eq!(take(&mut chain, &page(&entries, 0)), Step::More);
        assert_eq!(take(&mut chain, &[]), Step::Gap);
        let mut empty = Chain::default();
        assert_eq!(take(&mut empty, &[]), Step::End);
    }
}
