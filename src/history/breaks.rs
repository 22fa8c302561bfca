//! Chain breaks gathered from the replay, for the report and the summaries.

use super::interval::ChainBreak;
use super::replay::Listener;

/// Every chain break, in entry order.
#[derive(Debug, Default)]
pub struct ChainBreaks {
    pub found: Vec<ChainBreak>,
}

impl Listener for ChainBreaks {
    fn chain_break(&mut self, found: &dyn Fn() -> ChainBreak) {
        self.found.push(found());
    }
}
