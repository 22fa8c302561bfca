//! The help fits an 80-column terminal: every command's `--help` (and `-h`), rendered with
//! COLUMNS=80 as clap does when stdout is not a terminal, has no line over 80 characters.

use crate::util::bin as jrnle;

/// Every command path: the top level, each subcommand, and their subcommands.
fn command_paths() -> Vec<Vec<String>> {
    use clap::CommandFactory;
    let top = jrnle_audit::cli::Cli::command();
    let mut paths = vec![vec![]];
    for sub in top.get_subcommands() {
        paths.push(vec![sub.get_name().to_string()]);
        for inner in sub.get_subcommands() {
            paths.push(vec![
                sub.get_name().to_string(),
                inner.get_name().to_string(),
            ]);
        }
    }
    paths
}

#[test]
fn no_help_line_is_longer_than_80_columns_at_columns_80() {
    // The detector itself.
    assert!(is_continued_crontab_line(
        "    0 * * * * jrnle-audit sync --out-dir x \\"
    ));
    assert!(is_continued_crontab_line("    @hourly jrnle-audit sync \\"));
    assert!(!is_continued_crontab_line(
        "    jrnle-audit sync --out-dir x \\"
    ));
    assert!(!is_continued_crontab_line(
        "    0 * * * * jrnle-audit sync --out-dir x"
    ));
    let mut long = Vec::new();
    let paths = command_paths();
    assert!(paths.len() > 15, "{paths:?}");
    for path in &paths {
        for flag in ["--help", "-h"] {
            let out = jrnle()
                .args(path)
                .arg(flag)
                .env("COLUMNS", "80")
                .output()
                .unwrap();
            assert!(out.status.success(), "{path:?} {flag}");
            let text = String::from_utf8(out.stdout).unwrap();
            assert!(text.contains("Usage:"), "{path:?} {flag}: {text}");
            for line in text.lines().filter(|l| l.chars().count() > 80) {
                long.push(format!("{} {flag}: {line}", path.join(" ")));
            }
            // A crontab line cannot be continued: an example of one must fit on its line.
            for line in text.lines().filter(|l| is_continued_crontab_line(l)) {
                long.push(format!(
                    "{} {flag}: a continued crontab line: {line}",
                    path.join(" ")
                ));
            }
        }
    }
    assert!(
        long.is_empty(),
        "lines over 80 columns:\n{}",
        long.join("\n")
    );
}

/// `0 * * * * jrnle-audit ... \`: a crontab entry (five time fields or `@hourly`-style)
/// ending in a shell continuation.
fn is_continued_crontab_line(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    let schedule = words.first().is_some_and(|w| w.starts_with('@'))
        || (words.len() > 5
            && words[..5]
                .iter()
                .all(|w| w.chars().all(|c| c.is_ascii_digit() || "*/,-".contains(c))));
    schedule && line.contains("jrnle-audit") && line.trim_end().ends_with('\\')
}

#[test]
fn the_top_level_help_groups_commands_and_lists_every_credential_variable() {
    let out = jrnle().arg("--help").env("COLUMNS", "80").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for heading in [
        "Export and inspect:",
        "Scheduled evidence:",
        "Real time and snapshots:",
        "Sign-in:",
    ] {
        assert!(text.contains(heading), "{heading} missing:\n{text}");
    }
    let vars = jrnle_audit::auth::resolve::CREDENTIAL_VARS
        .iter()
        .chain(jrnle_audit::auth::resolve::JWT_VARS.iter());
    for var in vars.chain(
        [
            "WORKFRONT_URL",
            "WORKFRONT_PROFILE",
            "WORKFRONT_EVENT_TOKEN",
        ]
        .iter(),
    ) {
        assert!(text.contains(var), "{var} missing:\n{text}");
    }
    assert!(text.contains("jrnle-audit login"), "{text}");
}

#[test]
fn each_command_shows_only_the_flags_it_takes() {
    let help = |args: &[&str]| {
        let out = jrnle().args(args).arg("--help").output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    // auth status and login take no journal filters, no demo, no credential file.
    let status = help(&["auth", "status"]);
    assert!(
        !status.contains("--obj-code") && !status.contains("--since"),
        "{status}"
    );
    let login = help(&["login"]);
    for flag in [
        "--obj-code",
        "--demo",
        "--api-key-file",
        "--max-concurrency",
    ] {
        assert!(!login.contains(flag), "login shows {flag}:\n{login}");
    }
    assert!(
        login.contains("--url") && login.contains("--profile"),
        "{login}"
    );
    // sync's --since places the start of the series only.
    let sync = help(&["sync"]);
    // Wrapped to the terminal: compare with the words on one line.
    let flat = sync.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("later runs go on from where the last one ended"),
        "{sync}"
    );
    assert!(!sync.contains("--until"), "{sync}");
}
