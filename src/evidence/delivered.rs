//! Reading back the ids a committed data file delivered (`sync` and `listen` skip them), only
//! once the file is known to be the one its manifest committed.

use std::collections::HashSet;
use std::path::Path;

use crate::error::{Error, Result};
use crate::evidence::manifest::Committed;
use crate::output::Format;

/// The ids the data file of `c` delivered, read only once the file is known to be the one
/// its manifest committed (`sync` and `listen` read them to skip what was delivered); when it
/// is not, the problems go to `problems` and no id is read.
pub fn committed_ids(
    dir: &Path,
    c: &Committed,
    problems: &mut Vec<super::verify::Finding>,
) -> Result<HashSet<String>> {
    let before = problems.len();
    super::verify::check_data_file(dir, c, problems);
    if problems.len() > before {
        return Ok(HashSet::new());
    }
    let format = Format::named(&c.manifest.query.format).unwrap_or(Format::Csv);
    delivered_ids(&dir.join(&c.manifest.data_file.name), format)
}

/// The ids in a data file this tool wrote, read back as the format table says.
pub fn delivered_ids(path: &Path, format: Format) -> Result<HashSet<String>> {
    // A committed file that does not read back is an evidence defect (exit 5), as `verify`
    // would call it; a format that cannot be read back at all is the run's choice (exit 2).
    let bad = |what: String| Error::Verify {
        dir: path
            .parent()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        problems: vec![format!(
            "cannot read the committed data file {}: {what}",
            path.display()
        )],
    };
    let read = format.spec().read_ids.ok_or_else(|| {
        Error::usage(format!(
            "{} files cannot be read back to find what they delivered",
            format.spec().name
        ))
    })?;
    let bytes = super::files::read_no_follow(path).map_err(|e| bad(e.to_string()))?;
    read(&bytes).map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn ids_read_back_from_every_format() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("a.csv");
        fs::write(&csv, "id,entry_date\nabc,x\n'=odd,y\n").unwrap();
        let ids = delivered_ids(&csv, Format::Csv).unwrap();
        assert!(ids.contains("abc") && ids.contains("=odd"));
        let json = dir.path().join("a.json");
        fs::write(&json, "[\n{\"id\":\"j1\"},\n{\"id\":\"j2\"}\n]\n").unwrap();
        assert_eq!(delivered_ids(&json, Format::Json).unwrap().len(), 2);
        let nd = dir.path().join("a.ndjson");
        fs::write(&nd, "{\"id\":\"n1\"}\n").unwrap();
        assert!(delivered_ids(&nd, Format::Ndjson).unwrap().contains("n1"));
        fs::write(&nd, "{oops\n").unwrap();
        let e = delivered_ids(&nd, Format::Ndjson).unwrap_err();
        assert_eq!(e.exit_code(), 5, "{e}");
    }
}
