//! Tidy checks on the source tree (as rust-analyzer's `tidy` tests): every module says what it
//! owns in a `//!` line, the layers point one way, and functions stay short enough to read.

use std::path::{Path, PathBuf};

/// The longest function allowed in `src/`, outside the simulator.
const MAX_FUNCTION_LINES: usize = 80;

/// What each lower layer may import from the crate; anything else is a layer above it.
const LAYERS: [(&str, &[&str]); 5] = [
    ("src/model", &["model", "error"]),
    ("src/input.rs", &["input", "model", "error"]),
    (
        "src/simulator",
        &[
            "simulator",
            "model",
            "input",
            "error",
            "rng",
            "secret",
            "crypto",
        ],
    ),
    (
        "src/workfront",
        &[
            "workfront",
            "model",
            "error",
            "console",
            "rng",
            "auth",
            "secret",
            "crypto",
        ],
    ),
    ("src/auth", &["auth", "error", "secret", "crypto"]),
];

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

/// The code of a file without comments (doc links are not imports).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
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

/// The crate modules a line names: `crate::x` anywhere, and `super::super::x` never (it hides
/// where a path goes).
fn crate_modules(line: &str) -> Vec<&str> {
    line.match_indices("crate::")
        .map(|(at, _)| {
            let rest = &line[at + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

#[test]
fn lower_layers_import_nothing_from_the_layers_above() {
    let mut violations = Vec::new();
    for (dir, allowed) in LAYERS {
        for path in sources(&root().join(dir)) {
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in code_lines(&text) {
                if line.contains("super::super::") {
                    violations.push(format!("{}:{n}: super::super:: ({line})", relative(&path)));
                }
                for module in crate_modules(line) {
                    // `use crate::{a, b}`: check each name in the braces.
                    let names: Vec<&str> = if module.is_empty() {
                        let inner = line.split("crate::{").nth(1).unwrap_or("");
                        inner
                            .split([',', '}'])
                            .map(|n| n.trim().split("::").next().unwrap_or(""))
                            .filter(|n| !n.is_empty())
                            .collect()
                    } else {
                        vec![module]
                    };
                    for name in names {
                        if !allowed.contains(&name) {
                            violations.push(format!(
                                "{}:{n}: imports crate::{name}, a layer above {dir}",
                                relative(&path)
                            ));
                        }
                    }
                }
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
}
