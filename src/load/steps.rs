//! A test's hold on a load (`JRNLE_LOAD_STEPS=1`, undocumented): at each step (a manifest's
//! transaction begun, each row, before and after its commit; with `--intervals`, an intervals
//! table built from loaded changes, before its commit) the load prints `load-step:
//! <what>` on stderr and waits for one byte on stdin, so a test kills it at a moment it chose
//! rather than at a moment it hoped for. Without the variable a step costs one branch.

use std::io::{Read, Write};

use crate::error::{Error, Result};

/// The variable that turns stepping on.
pub const STEPS_VAR: &str = "JRNLE_LOAD_STEPS";

/// Whether each step waits for the test.
#[derive(Debug, Default)]
pub struct Steps {
    on: bool,
}

impl Steps {
    /// On when [`STEPS_VAR`] is `1`.
    pub fn from_env() -> Steps {
        Steps {
            on: std::env::var(STEPS_VAR).is_ok_and(|v| v == "1"),
        }
    }

    /// Say `what`, then wait for the test's byte; a closed stdin lets the load run on.
    pub fn step(&mut self, what: &str) -> Result<()> {
        if !self.on {
            return Ok(());
        }
        {
            // Let go of stderr before waiting: a signal's line must get through.
            let mut stderr = std::io::stderr().lock();
            writeln!(stderr, "load-step: {what}")
                .and_then(|()| stderr.flush())
                .map_err(|e| Error::io("load-step", e))?;
        }
        let mut byte = [0u8; 1];
        if std::io::stdin()
            .read(&mut byte)
            .map_err(|e| Error::io("load-step", e))?
            == 0
        {
            self.on = false;
        }
        Ok(())
    }
}
