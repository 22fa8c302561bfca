//! Tidy checks on the source tree (as rust-analyzer's `tidy` tests): every module says what it
//! owns in a `//!` line, every import is one ARCHITECTURE.md's layer table allows (the table is
//! read from the file, every row), and functions stay short enough to read.

use std::path::{Path, PathBuf};

/// The longest function allowed in `src/`, outside the simulator.
const MAX_FUNCTION_LINES: usize = 80;

fn sources(dir: &Path) -> Vec<PathBuf> {
    if dir.is_file() {
        return vec![dir.to_path_buf()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap().display().to_string()
}

#[test]
fn every_module_opens_with_a_line_saying_what_it_owns() {
    let mut missing = Vec::new();
    for path in sources(&root().join("src")) {
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.starts_with("//!") {
            missing.push(relative(&path));
        }
    }
    assert!(
        missing.is_empty(),
        "no `//!` line at the top of: {missing:?}"
    );
}

/// One row of ARCHITECTURE.md's layer table: its name, the top-level crate modules it holds
/// (`model/` → `model`, `input.rs` → `input`), and the rows it may use.
#[derive(Debug)]
struct Layer {
    name: String,
    modules: Vec<String>,
    uses: Vec<String>,
}

/// The layer table of ARCHITECTURE.md, from the bottom row up.
fn layer_table() -> Vec<Layer> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let section = text
        .split("## Layers")
        .nth(1)
        .and_then(|t| t.split("\n## ").next())
        .expect("ARCHITECTURE.md has a Layers section");
    let mut layers = Vec::new();
    for line in section.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line
            .split(" | ")
            .map(|c| c.trim_matches(['|', ' ']))
            .collect();
        if cells[0] == "layer" || cells.len() < 4 {
            continue;
        }
        layers.push(Layer {
            name: cells[0].to_string(),
            modules: modules_named(cells[1]),
            uses: match cells[2] {
                "none" => Vec::new(),
                uses => uses.split(", ").map(str::to_string).collect(),
            },
        });
    }
    layers
}

/// The top-level modules a cell of the table names: backticked `dir/` or `file.rs`, outside
/// parentheses (which list what is inside a directory).
fn modules_named(cell: &str) -> Vec<String> {
    let mut depth = 0;
    let mut outside = String::new();
    for c in cell.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            c if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    outside
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|m| m.strip_suffix('/').or_else(|| m.strip_suffix(".rs")))
        .map(str::to_string)
        .collect()
}

/// A file's code without comments and without its test module (tests may use anything).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            // A `//` after a quote may be inside a string (a URL): kept.
            Some(at) if !l[..at].contains('"') => &l[..at],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level crate modules a piece of code names: `crate::x` anywhere, and each name of a
/// `crate::{a, b::{c, d}}` tree, however many lines it spans.
fn crate_modules(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(tree) => found.extend(tree_heads(tree)),
            None => {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                found.push(rest[..end].to_string());
            }
        }
    }
    found.retain(|m| m != "self");
    found
}

/// The first name of each path in a `{…}` use tree (given after its opening brace).
fn tree_heads(tree: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let (mut depth, mut name, mut at_start) = (1, String::new(), true);
    for c in tree.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 1 => {
                if !name.is_empty() {
                    heads.push(std::mem::take(&mut name));
                }
                at_start = true;
                continue;
            }
            _ => {}
        }
        if depth == 0 {
            break;
        }
        if at_start && (c.is_ascii_alphanumeric() || c == '_') {
            name.push(c);
        } else if at_start && !name.is_empty() {
            heads.push(std::mem::take(&mut name));
            at_start = false;
        }
    }
    if !name.is_empty() {
        heads.push(name);
    }
    heads
}

/// The top-level module a file of `src/` belongs to.
fn top_module(path: &Path) -> String {
    let rel = path.strip_prefix(root().join("src")).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn the_layer_table_holds_every_file_once_and_points_one_way() {
    let layers = layer_table();
    assert!(layers.len() >= 10, "the table was not read: {layers:?}");
    let mut problems = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        for used in &layer.uses {
            match layers.iter().position(|l| &l.name == used) {
                Some(j) if j < i => {}
                Some(_) => problems.push(format!("{} uses {used}, not before it", layer.name)),
                None => problems.push(format!("{} uses {used}, which is no row", layer.name)),
            }
        }
    }
    for path in sources(&root().join("src")) {
        let module = top_module(&path);
        let rows: Vec<&str> = layers
            .iter()
            .filter(|l| l.modules.contains(&module))
            .map(|l| l.name.as_str())
            .collect();
        if rows.len() != 1 {
            problems.push(format!("{}: in rows {rows:?}", relative(&path)));
        }
    }
    assert!(
        problems.is_empty(),
        "ARCHITECTURE.md: {}",
        problems.join("\n")
    );
}

#[test]
fn every_import_is_allowed_by_the_layer_table() {
    let layers = layer_table();
    let row_of = |module: &str| {
        layers
            .iter()
            .find(|l| l.modules.iter().any(|m| m == module))
    };
    let mut violations = Vec::new();
    for path in sources(&root().join("src")) {
        let code = code_of(&std::fs::read_to_string(&path).unwrap());
        if code.contains("super::super::") {
            violations.push(format!("{}: super::super:: hides a path", relative(&path)));
        }
        let Some(own) = row_of(&top_module(&path)) else {
            continue;
        };
        for module in crate_modules(&code) {
            let Some(row) = row_of(&module) else {
                violations.push(format!("{}: crate::{module} is in no row", relative(&path)));
                continue;
            };
            let allowed =
                row.name == own.name || row.name == "support" || own.uses.contains(&row.name);
            if !allowed {
                violations.push(format!(
                    "{}: uses crate::{module} ({}), which the {} row does not use",
                    relative(&path),
                    row.name,
                    own.name
                ));
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// `(name, first line, length)` of each function in a file, found by its indentation: a
/// function ends at the first line at its own indentation that closes a brace.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let Some(at) = trimmed.find("fn ") else {
            continue;
        };
        let head = &trimmed[..at];
        let is_item = head.split_whitespace().all(|w| {
            matches!(
                w,
                "pub" | "pub(crate)" | "pub(super)" | "async" | "const" | "unsafe"
            )
        });
        if !is_item || trimmed.starts_with("//") {
            continue;
        }
        let name: String = trimmed[at + 3..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        // A declaration without a body (in a trait) ends with `;` before any `{`.
        let body_opens = lines[i..]
            .iter()
            .position(|l| l.contains('{') || l.trim_end().ends_with(';'))
            .map(|k| lines[i + k].contains('{'))
            .unwrap_or(false);
        if !body_opens {
            continue;
        }
        let end = lines[i..].iter().enumerate().skip(1).find(|(_, l)| {
            let t = l.trim_start();
            l.len() - t.len() == indent && t.starts_with('}')
        });
        // A one-line function closes on its own line.
        let length = end.map_or(1, |(k, _)| k + 1);
        found.push((name, i + 1, length));
    }
    found
}

#[test]
fn functions_outside_the_simulator_stay_under_80_lines() {
    let mut long = Vec::new();
    for path in sources(&root().join("src")) {
        if path.starts_with(root().join("src/simulator")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (name, line, length) in functions(&text) {
            if length > MAX_FUNCTION_LINES {
                long.push(format!(
                    "{}:{line}: {name} is {length} lines",
                    relative(&path)
                ));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split by the steps they have:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checks_themselves_see_what_they_guard() {
    let text = "fn short() {\n    1;\n}\n\npub async fn long() {\n".to_string()
        + &"    x;\n".repeat(90)
        + "}\n";
    let found = functions(&text);
    assert_eq!(found[0], ("short".to_string(), 1, 3));
    assert_eq!(found[1], ("long".to_string(), 5, 92));
    assert_eq!(crate_modules("use crate::sync::run;"), ["sync"]);
    assert_eq!(
        crate_modules("x: crate::output::Format, y: crate::error::Error"),
        ["output", "error"]
    );
    // A tree over several lines, nested, with `self`.
    let tree = "use crate::{\n    error::{self, Error},\n    output::{csv, json},\n    self,\n    sync,\n};";
    assert_eq!(crate_modules(tree), ["error", "output", "sync"]);
    assert_eq!(
        modules_named("`model/` (`raw`, `change`), `input.rs`"),
        ["model", "input"]
    );
    assert_eq!(
        code_of("use crate::a; // crate::b\n#[cfg(test)]\nmod tests { use crate::c; }"),
        "use crate::a; "
    );
}
