//! The README and `docs/` against the binary: every command, subcommand, flag and environment
//! variable they name exists in the CLI (read from the real binary's `--help`), the README's
//! exit-code table lists every code the binary can return, `docs/record.md` lists the record's
//! columns in their order, and the files and README sections the docs and messages point to
//! are there.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clap::CommandFactory;
use jrnle_audit::cli::Cli;

use crate::util::{bin, run, stderr, stdout};

/// Variables the docs may name that no `--help` shows, because the binary reads them itself
/// (not through clap's `env =`) or only the tests read them: the variable, the file that must
/// read it (checked, so the list cannot go stale), and why it is not in the help.
const READ_OUTSIDE_CLAP: [(&str, &str, &str); 10] = [
    (
        "WORKFRONT_API_KEY",
        "src/auth/resolve.rs",
        "a credential: read from the environment only, never a flag",
    ),
    (
        "WORKFRONT_SESSION_ID",
        "src/auth/resolve.rs",
        "a credential: read from the environment only, never a flag",
    ),
    (
        "WORKFRONT_BEARER_TOKEN",
        "src/auth/resolve.rs",
        "a credential: read from the environment only, never a flag",
    ),
    (
        "WORKFRONT_CLIENT_ID",
        "src/auth/resolve.rs",
        "OAuth2 (JWT and login): read with the other four, which decide the flow",
    ),
    (
        "WORKFRONT_CLIENT_SECRET",
        "src/auth/resolve.rs",
        "OAuth2 client secret: a secret, never a flag",
    ),
    (
        "WORKFRONT_CUSTOMER_ID",
        "src/auth/resolve.rs",
        "OAuth2 JWT: read together with the other JWT variables",
    ),
    (
        "WORKFRONT_USER_ID",
        "src/auth/resolve.rs",
        "OAuth2 JWT: read together with the other JWT variables",
    ),
    (
        "WORKFRONT_PRIVATE_KEY_FILE",
        "src/auth/resolve.rs",
        "OAuth2 JWT: read together with the other JWT variables",
    ),
    (
        "JRNLE_TSA_TIMEOUT_MS",
        "src/tsa.rs",
        "how long one request to a TSA may take (default 10 s): for the tests of a slow TSA",
    ),
    (
        "JRNLE_REQUIRE_TOOLS",
        "tests/integration/util.rs",
        "read by the test suite, not the binary: CI sets it so a missing tool fails a test",
    ),
];

/// Every exit code `src/main.rs` can return besides those of `error::exit`: 128 + the signal
/// when Ctrl-C (SIGINT, 2) or SIGTERM (15) stops a run (`src/interrupt.rs`).
const SIGNAL_EXITS: [u8; 2] = [128 + 2, 128 + 15];

/// The README must stay a guide; the reference lives in `docs/`.
const README_MAX_LINES: usize = 250;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every `docs/*.md`, as (path relative to the root, text).
fn documents() -> Vec<(String, String)> {
    let mut paths = vec![PathBuf::from("README.md")];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| p.strip_prefix(root()).unwrap().to_path_buf())
        .collect();
    pages.sort();
    paths.extend(pages);
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(root().join(&p)).unwrap();
            (p.display().to_string(), text)
        })
        .collect()
}

/// The CLI as the binary shows it: every command path with its `--help` text.
struct Helps {
    /// (path, help), the top level first with an empty path.
    helps: Vec<(Vec<String>, String)>,
}

impl Helps {
    fn help(&self, path: &[String]) -> Option<&str> {
        self.helps
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, h)| h.as_str())
    }

    fn subcommands(&self, path: &[String]) -> Vec<&str> {
        self.helps
            .iter()
            .filter(|(p, _)| p.len() == path.len() + 1 && p.starts_with(path))
            .map(|(p, _)| p[path.len()].as_str())
            .collect()
    }

    fn any_help_has(&self, needle: &str, is_flag: bool) -> bool {
        self.helps.iter().any(|(_, h)| {
            if is_flag {
                has_flag(h, needle)
            } else {
                h.contains(needle)
            }
        })
    }
}

/// The command paths of clap's definition; their help comes from the binary.
fn command_paths(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(path.clone());
    for sub in cmd.get_subcommands() {
        let mut next = path.clone();
        next.push(sub.get_name().to_string());
        command_paths(sub, next, out);
    }
}

fn cli() -> &'static Helps {
    static CLI: OnceLock<Helps> = OnceLock::new();
    CLI.get_or_init(|| {
        let mut paths = Vec::new();
        command_paths(&Cli::command(), Vec::new(), &mut paths);
        let helps = paths
            .into_iter()
            .map(|path| {
                let o = run(bin().args(&path).arg("--help").env("COLUMNS", "200"));
                assert_eq!(o.status.code(), Some(0), "{path:?} --help: {}", stderr(&o));
                (path, stdout(&o))
            })
            .collect();
        Helps { helps }
    })
}

/// Whether `help` lists `flag` (`--out-dir` in `      --out-dir <DIR>`), as a whole word.
fn has_flag(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(i, _)| {
        let before = help[..i].chars().next_back();
        let after = help[i + flag.len()..].chars().next();
        let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// Where a name was found, for the failure message.
fn at(doc: &str, line: usize) -> String {
    format!("{doc}:{line}")
}

/// The pieces of a document that can name the CLI, with their line: each line of a fenced
/// code block (a line ending in `\` joined with the next; a `#` comment split off as prose),
/// and each inline code span of the prose. Prose outside code spans is returned too, marked.
fn segments(text: &str) -> Vec<(usize, String, Kind)> {
    let mut out = Vec::new();
    let mut fenced = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            let (start, mut joined) = pending.take().unwrap_or((n, String::new()));
            joined.push_str(line);
            if let Some(cont) = joined.strip_suffix('\\') {
                pending = Some((start, format!("{cont} ")));
                continue;
            }
            let (code, comment) = split_comment(&joined);
            out.push((start, code.to_string(), Kind::Code));
            if let Some(comment) = comment {
                out.push((start, comment.to_string(), Kind::Prose));
            }
            continue;
        }
        let mut prose = String::new();
        for (j, part) in line.split('`').enumerate() {
            if j % 2 == 1 {
                out.push((n, part.to_string(), Kind::Code));
                prose.push(' ');
            } else {
                prose.push_str(part);
            }
        }
        out.push((n, prose, Kind::Prose));
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A command line or a code span: flags belong to the command it invokes.
    Code,
    /// Text: a flag named here must exist in some command.
    Prose,
}

/// A shell line and its `#` comment (a `#` at the start or after a space).
fn split_comment(line: &str) -> (&str, Option<&str>) {
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'#' && (i == 0 || bytes[i - 1] == b' ') {
            return (&line[..i], Some(&line[i + 1..]));
        }
    }
    (line, None)
}

/// The `--flags` in free text: `--` then a letter, not inside a word.
fn flags_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut i = 0;
    while i + 2 < chars.len() {
        let starts = chars[i] == '-'
            && chars[i + 1] == '-'
            && chars[i + 2].is_ascii_lowercase()
            && (i == 0 || !word(chars[i - 1]));
        if starts {
            let end = (i + 2..chars.len())
                .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '-'))
                .unwrap_or(chars.len());
            out.push(chars[i..end].iter().collect::<String>());
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// What one piece of a command line (between `|`, `;` and `&&`) names.
#[derive(Debug, PartialEq, Eq)]
enum Piece {
    /// `jrnle-audit PATH... --flags`, or a command named without the program (`sync --lag`).
    Invocation {
        path: Vec<String>,
        flags: Vec<String>,
    },
    /// Flags on their own (`--tls-cert FILE --tls-key FILE`): some command must take them.
    Flags(Vec<String>),
    /// An unknown command or subcommand.
    Unknown(String),
    /// Another program's command line (`cargo build --timings`): not ours to check.
    Foreign,
}

/// Read one piece of a command line. `\|` (a pipe escaped in a Markdown table) separates
/// alternatives, as in `subscriptions create\|list\|delete`.
fn piece(text: &str, cli: &Helps) -> Piece {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let top = cli.subcommands(&[]);
    let start = if let Some(i) = tokens.iter().position(|t| *t == "jrnle-audit") {
        i + 1
    } else if let (Some(&"cargo"), Some(dash)) =
        (tokens.first(), tokens.iter().position(|t| *t == "--"))
    {
        // `cargo run --release -- export --demo` runs the binary with what follows `--`.
        if tokens.get(1) != Some(&"run") {
            return Piece::Foreign;
        }
        dash + 1
    } else {
        let first = tokens
            .iter()
            .position(|t| !(t.contains('=') && t.starts_with(|c: char| c.is_ascii_uppercase())))
            .and_then(|i| tokens.get(i).map(|t| (i, *t)));
        match first {
            None => return Piece::Flags(Vec::new()),
            Some((_, t)) if t.starts_with('-') => return Piece::Flags(flags_in(text)),
            Some((i, t)) if top.contains(&t) => i,
            Some(_) => return Piece::Foreign,
        }
    };
    let rest = &tokens[start..];
    let mut path: Vec<String> = Vec::new();
    for token in rest.iter().filter(|t| !t.starts_with('-')) {
        let subs = cli.subcommands(&path);
        if subs.is_empty() {
            break;
        }
        let names: Vec<&str> = token.split("\\|").collect();
        let plain = |n: &str| {
            n.starts_with(|c: char| c.is_ascii_lowercase())
                && n.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        };
        if !names.iter().all(|n| plain(n)) {
            break;
        }
        if let Some(unknown) = names.iter().find(|n| !subs.contains(n)) {
            let mut named = path.clone();
            named.push(unknown.to_string());
            return Piece::Unknown(named.join(" "));
        }
        path.push(names[0].to_string());
    }
    Piece::Invocation {
        path,
        flags: flags_in(&rest.join(" ")),
    }
}

/// Split a command line at `|`, `;` and `&&` (`\|` is not a pipe).
fn pieces(line: &str) -> Vec<String> {
    let marked = line.replace("\\|", "\u{1}");
    marked
        .split(['|', ';'])
        .flat_map(|p| p.split("&&"))
        .map(|p| p.replace('\u{1}', "\\|"))
        .collect()
}

/// `WORKFRONT_*` and `JRNLE_*` variable names: upper case after the prefix, not part of a
/// longer word (`ACME_WORKFRONT_KEY` is a profile's own variable).
fn variables_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for prefix in ["WORKFRONT_", "JRNLE_"] {
        for (i, _) in text.match_indices(prefix) {
            let before = text[..i].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let name: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            let name = name.trim_end_matches('_');
            if name.len() > prefix.len() {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// What the documents name that the CLI does not have, one line each, and how many names
/// were checked.
fn problems(docs: &[(String, String)], cli: &Helps) -> (Vec<String>, usize) {
    let mut found = BTreeSet::new();
    let mut checked = 0;
    for (doc, text) in docs {
        for (line, segment, kind) in segments(text) {
            let here = at(doc, line);
            if kind == Kind::Prose {
                for flag in flags_in(&segment) {
                    checked += 1;
                    if !cli.any_help_has(&flag, true) {
                        found.insert(format!("{here}: no command takes {flag}"));
                    }
                }
                continue;
            }
            for p in pieces(&segment) {
                match piece(&p, cli) {
                    Piece::Invocation { path, flags } => {
                        checked += 1 + flags.len();
                        let help = cli.help(&path).unwrap_or_default();
                        for flag in flags.iter().filter(|f| !has_flag(help, f)) {
                            found.insert(format!(
                                "{here}: `jrnle-audit {}` takes no {flag}",
                                path.join(" ")
                            ));
                        }
                    }
                    Piece::Flags(flags) => {
                        checked += flags.len();
                        for flag in flags.iter().filter(|f| !cli.any_help_has(f, true)) {
                            found.insert(format!("{here}: no command takes {flag}"));
                        }
                    }
                    Piece::Unknown(name) => {
                        found.insert(format!("{here}: no command `jrnle-audit {name}`"));
                    }
                    Piece::Foreign => {}
                }
            }
        }
        for (i, text_line) in text.lines().enumerate() {
            for var in variables_in(text_line) {
                checked += 1;
                let read_outside = READ_OUTSIDE_CLAP.iter().any(|(v, _, _)| *v == var);
                if !read_outside && !cli.any_help_has(&var, false) {
                    found.insert(format!(
                        "{}: {var} is in no --help and not in READ_OUTSIDE_CLAP",
                        at(doc, i + 1)
                    ));
                }
            }
        }
    }
    (found.into_iter().collect(), checked)
}

#[test]
fn every_command_flag_and_variable_the_docs_name_exists_in_the_cli() {
    let (problems, checked) = problems(&documents(), cli());
    // The README and docs/ name some 550 commands, flags and variables: far fewer means the
    // extraction stopped finding them.
    assert!(checked > 400, "only {checked} names checked");
    assert!(
        problems.is_empty(),
        "the docs name what the CLI does not have:\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_made_up_flag_command_or_variable_in_the_docs_is_caught() {
    let doc = "\
Try `jrnle-audit export --since 7d --no-such-flag`, then `jrnle-audit frobnicate`.

```sh
jrnle-audit subscriptions create --obj-code TASK \\
    --made-up-subscription-flag
jrnle-audit auth whoami
export WORKFRONT_NO_SUCH_VARIABLE=1
```

| `sync --lag DURATION --made-up-in-a-table` | `--not-a-flag-anywhere` |

Foreign tools' flags are not ours: `cargo build --release --timings`, `ssh-keygen -Y sign`,
`curl --data @x`, and `cargo run --release -- export --demo --made-up-after-cargo-run`.
";
    let docs = vec![("made-up.md".to_string(), doc.to_string())];
    let (found, _) = problems(&docs, cli());
    let found: BTreeSet<&str> = found.iter().map(String::as_str).collect();
    let expected = BTreeSet::from([
        "made-up.md:1: `jrnle-audit export` takes no --no-such-flag",
        "made-up.md:1: no command `jrnle-audit frobnicate`",
        "made-up.md:4: `jrnle-audit subscriptions create` takes no --made-up-subscription-flag",
        "made-up.md:6: no command `jrnle-audit auth whoami`",
        "made-up.md:7: WORKFRONT_NO_SUCH_VARIABLE is in no --help and not in READ_OUTSIDE_CLAP",
        "made-up.md:10: `jrnle-audit sync` takes no --made-up-in-a-table",
        "made-up.md:10: no command takes --not-a-flag-anywhere",
        "made-up.md:13: `jrnle-audit export` takes no --made-up-after-cargo-run",
    ]);
    assert_eq!(found, expected, "{found:#?}");
}

#[test]
fn variables_read_outside_clap_are_read_where_the_list_says() {
    for (var, file, reason) in READ_OUTSIDE_CLAP {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        assert!(
            text.contains(&format!("\"{var}\"")),
            "{file} does not read {var} ({reason}): update READ_OUTSIDE_CLAP"
        );
    }
}

/// The codes of `pub mod exit` in `src/error.rs`.
fn exit_codes() -> BTreeSet<u8> {
    let text = std::fs::read_to_string(root().join("src/error.rs")).unwrap();
    let start = text
        .find("pub mod exit {")
        .expect("src/error.rs has pub mod exit");
    let end = start + text[start..].find('}').unwrap();
    let codes: BTreeSet<u8> = text[start..end]
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub const "))
        .filter_map(|l| l.split('=').nth(1))
        .map(|v| v.trim().trim_end_matches(';').trim().parse().unwrap())
        .collect();
    assert!(codes.len() >= 6, "read {codes:?} from src/error.rs");
    codes.into_iter().chain(SIGNAL_EXITS).collect()
}

/// The codes in the first column of the README's "Exit codes" table.
fn documented_exit_codes(readme: &str) -> BTreeSet<u8> {
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Exit codes"))
        .expect("the README has an Exit codes section");
    section
        .lines()
        .filter_map(|l| l.strip_prefix('|'))
        .filter_map(|l| l.split('|').next())
        .filter_map(|c| c.trim().parse().ok())
        .collect()
}

#[test]
fn the_readme_exit_code_table_lists_every_code_the_binary_returns() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let documented = documented_exit_codes(&readme);
    let returned = exit_codes();
    assert_eq!(
        documented, returned,
        "the README's exit-code table (left) and the codes the binary returns (right)"
    );
}

#[test]
fn the_readme_is_a_short_guide_linking_every_page_of_docs() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines < README_MAX_LINES,
        "README.md has {lines} lines: move reference material to docs/"
    );
    for (page, _) in documents().iter().skip(1) {
        assert!(
            readme.contains(&format!("]({page})")),
            "README.md does not link {page}"
        );
    }
    for (doc, text) in documents() {
        let dir = root().join(&doc).parent().unwrap().to_path_buf();
        for link in text.split("](").skip(1) {
            let target = link.split([')', '#']).next().unwrap();
            if target.is_empty() || target.contains("://") {
                continue;
            }
            assert!(
                dir.join(target).exists(),
                "{doc} links {target}, which does not exist"
            );
        }
    }
}

#[test]
fn the_record_page_lists_every_column_in_order() {
    let text = std::fs::read_to_string(root().join("docs/record.md")).unwrap();
    let section = text
        .split("\n## ")
        .find(|s| s.starts_with("Columns"))
        .expect("docs/record.md has a Columns section");
    let listed: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix('|'))
        .filter_map(|l| l.split('|').next())
        .flat_map(|cell| cell.split('`').skip(1).step_by(2))
        .collect();
    assert_eq!(listed, jrnle_audit::model::change::COLUMNS);
}

/// The `.rs` files under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn messages_that_send_the_reader_to_a_readme_section_name_one_it_has() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let headings: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| l.trim_start_matches('#').trim())
        .collect();
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut missing = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, _) in text.match_indices("README, \\\"") {
            let rest = &text[i + "README, \\\"".len()..];
            let section = &rest[..rest.find("\\\"").unwrap_or(rest.len())];
            if !headings.contains(&section) {
                missing.push(format!("{}: {section:?}", file.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "messages name README sections it does not have:\n{}",
        missing.join("\n")
    );
}

#[test]
fn files_of_the_repository_the_docs_name_exist() {
    let roots = [
        "src/",
        "tests/",
        "benches/",
        "fixtures/",
        "docs/",
        ".ci/",
        "examples/",
    ];
    let mut missing = Vec::new();
    for (doc, text) in documents() {
        for (line, segment, kind) in segments(&text) {
            if kind != Kind::Code {
                continue;
            }
            for token in segment.split_whitespace() {
                let token = token.trim_end_matches([',', ';', ')', ':']);
                let named = roots.iter().any(|r| token.starts_with(r));
                if named && !token.contains(['*', '<']) && !root().join(token).exists() {
                    missing.push(format!("{}: {token}", at(&doc, line)));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the docs name files the repository does not have:\n{}",
        missing.join("\n")
    );
}
