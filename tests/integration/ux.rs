//! Running it at a terminal: progress, summary, quiet and verbose, help, completions, man,
//! relative times.

use std::process::Command;

use jrnle_audit::simulator::SimConfig;
use jrnle_audit::simulator::faults::{FaultConfig, FaultKind};

use crate::util::*;

#[test]
fn the_summary_says_what_was_written_where_with_requests_retries_and_time() {
    let config = SimConfig {
        faults: FaultConfig {
            rate: 0.5,
            kinds: vec![FaultKind::ServerError],
            ..FaultConfig::default()
        },
        seed: 3,
        ..sim_config()
    };
    let sim = sim_with(&demo_records(), config);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    let o = run(against(&sim, "export")
        .args(["--max-retries", "20", "-o"])
        .arg(&out));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let summary = err.lines().last().unwrap();
    let requests = sim.simulator.request_log().len();
    let faults = sim.simulator.faults_injected();
    assert!(faults > 0);
    assert!(
        summary.starts_with(&format!(
            "jrnle-audit: wrote 30 entries to {} in ",
            out.display()
        )),
        "{summary}"
    );
    assert!(
        summary.ends_with(&format!(
            " s ({requests} requests, {faults} {}, 0 data warnings)",
            if faults == 1 { "retry" } else { "retries" }
        )),
        "{summary}"
    );
}

#[test]
fn quiet_prints_nothing_but_errors_and_verbose_adds_traces() {
    let sim = sim(&demo_records());
    let o = run(against(&sim, "export").arg("-q"));
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
    assert_eq!(csv_ids(&stdout(&o)).len(), 30);
    let o = run(against(&sim, "export")
        .arg("-q")
        .env_remove("WORKFRONT_URL"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no Workfront URL"));
    let one = stderr(&run(against(&sim, "export").arg("-v")));
    assert!(one.contains("GET /attask/api/v21.0/JRNLE/search?"), "{one}");
    assert!(!one.contains("window ["), "{one}");
    let two = stderr(&run(against(&sim, "export").arg("-vv")));
    assert!(two.contains("window ["), "{two}");
    assert_eq!(
        run(against(&sim, "export").args(["-q", "-v"]))
            .status
            .code(),
        Some(2)
    );
    // Before the subcommand too.
    let before = stderr(&run(against(&sim, "-v").arg("export")));
    assert!(before.contains("JRNLE/search?"), "{before}");
    // -v is offered only where it does something: by the commands that talk to Workfront.
    for command in ["export", "count", "sync", "fields", "simulate"] {
        assert!(
            ok(bin().args([command, "--help"])).contains("--verbose"),
            "{command}"
        );
    }
    for command in ["normalize", "verify"] {
        assert!(
            !ok(bin().args([command, "--help"])).contains("--verbose"),
            "{command}"
        );
        let o = run(bin().args([command, "-v"]));
        assert_eq!(o.status.code(), Some(2), "{command}");
    }
}

#[test]
fn the_progress_bar_stays_out_of_pipes_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(bin()
        .args(["export", "--demo", "-o"])
        .arg(dir.path().join("x.csv")));
    let err = stderr(&o);
    assert!(!err.contains("30/30"), "{err}");
    assert!(!err.contains('\r') && !err.contains('\u{1b}'), "{err:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn the_progress_bar_shows_at_a_terminal() {
    // util-linux `script` runs the command on a pseudo terminal and copies what it shows.
    if Command::new("script").arg("--version").output().is_err() {
        panic!("`script` (util-linux) is needed for this test");
    }
    let dir = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{} export --demo -o {}",
        env!("CARGO_BIN_EXE_jrnle-audit"),
        dir.path().join("x.csv").display()
    );
    let o = Command::new("script")
        .args(["-qefc", &cmd, "/dev/null"])
        .env_clear()
        .env("TERM", "xterm")
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{screen}");
    // The bar is drawn at once; which positions it shows before it is cleared depends on how
    // fast the run goes, so only its being there is checked.
    assert!(
        screen.contains(" entries ") && screen.contains("ETA"),
        "{screen:?}"
    );
    assert!(screen.contains("wrote 30 entries"), "{screen:?}");
}

#[test]
fn completions_and_man_page_are_printed() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = ok(bin().args(["completions", shell]));
        assert!(out.contains("jrnle-audit"), "{shell}");
        assert!(out.contains("--since"), "{shell}");
    }
    let man = ok(bin().arg("man"));
    assert!(
        man.starts_with(".ie") || man.contains(".TH"),
        "{}",
        &man[..80]
    );
    assert!(man.contains("jrnle\\-audit"));
    // One page with every subcommand's options, not pointers to pages that do not exist.
    assert!(!man.contains("(1)"), "no per-subcommand pages referred to");
    for section in [".SH EXPORT", ".SH SYNC", ".SH VERIFY", ".SS Options"] {
        assert!(man.contains(section), "{section}");
    }
    assert!(
        man.contains("\\-\\-out\\-dir"),
        "sync's options are on the page"
    );
    assert_eq!(
        run(bin().args(["completions", "tcsh"])).status.code(),
        Some(2)
    );
}

#[test]
fn help_teaches_with_examples_and_the_environment() {
    let top = ok(bin().arg("--help"));
    for needle in [
        "WORKFRONT_API_KEY",
        "Examples:",
        "--since 7d",
        "jrnle-audit sync",
    ] {
        assert!(top.contains(needle), "{needle} in:\n{top}");
    }
    let export = ok(bin().args(["export", "--help"]));
    assert!(
        export.contains("Examples:") && export.contains("36h"),
        "{export}"
    );
}

#[test]
fn relative_times_select_the_recent_past() {
    // Entries journaled now and long ago: `--since 1h` keeps only the recent ones.
    let now = chrono::Utc::now();
    let recent = (now - chrono::Duration::minutes(10)).to_rfc3339();
    let mut records = demo_records();
    records[0]["entryDate"] = serde_json::json!(recent);
    let sim = sim(&records);
    let out = ok(against(&sim, "export").args(["--since", "1h"]));
    assert_eq!(csv_ids(&out), [records[0]["ID"].as_str().unwrap()]);
    let o = run(against(&sim, "export").args(["--since", "7y"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("a time ago (30m, 36h, 7d, 2w)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn fields_lists_what_has_entries_per_object_type() {
    let sim = sim(&demo_records());
    let out = ok(against(&sim, "fields").args(["--since", "2025-01-01"]));
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("obj_code\tfield_name\tentries\tlast_change")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    let find = |obj: &str, field: &str| {
        rows.iter()
            .find(|r| r[0] == obj && r[1] == field)
            .unwrap_or_else(|| panic!("{obj} {field} in {out}"))
            .clone()
    };
    // Computed here from the raw data.
    let task_status: Vec<_> = demo_records()
        .into_iter()
        .filter(|r| {
            raw_str(r, "objObjCode") == Some("TASK") && raw_str(r, "fieldName") == Some("status")
        })
        .collect();
    assert_eq!(find("TASK", "status")[2], task_status.len().to_string());
    assert_eq!(find("TASK", "status")[3], "2025-11-14T23:00:00.000Z");
    assert_eq!(find("PROJ", "DE:Cost")[2], "1");
    assert!(rows.iter().all(|r| r[1] != "nosuchfield"));
    // Filters narrow it.
    let optask =
        ok(against(&sim, "fields").args(["--since", "2025-01-01", "--obj-code", "OPTASK"]));
    assert!(optask.lines().skip(1).all(|l| l.starts_with("OPTASK\t")));
}

#[test]
fn a_field_without_entries_is_warned_about_not_silently_empty() {
    let sim = sim(&demo_records());
    let o = run(against(&sim, "export").args([
        "--field",
        "Status",
        "--field",
        "nosuchfield",
        "--field",
        "status",
    ]));
    assert_eq!(o.status.code(), Some(0));
    let err = stderr(&o);
    // A case slip is told the tenant's spelling; a field with no entries in any spelling may
    // not be tracked.
    assert!(err.contains("no entries for --field \"Status\""), "{err}");
    assert!(err.contains("did you mean --field status?"), "{err}");
    assert!(
        err.contains("no entries for --field \"nosuchfield\""),
        "{err}"
    );
    assert!(err.contains("may not be tracked"), "{err}");
    assert!(!err.contains("--field \"status\""), "{err}");
    assert!(csv_ids(&stdout(&o)).len() > 1);
}

#[test]
fn usage_errors_are_clap_s_own_lines_with_exit_2() {
    let o = run(&mut bin());
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.lines().count() > 3,
        "the help, not one squashed line: {err}"
    );
    assert!(err.contains("Usage:") && err.contains("Commands:"), "{err}");
    let o = run(bin().args(["export", "--format", "xml"]));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.starts_with("error: invalid value 'xml' for '--format <FORMAT>'"),
        "{err}"
    );
    assert!(
        err.contains("[possible values: csv, json, ndjson, xlsx, parquet]"),
        "{err}"
    );
    assert!(!err.contains("; "), "not folded: {err}");
}

#[test]
fn sync_help_offers_no_until_and_heads_its_own_flags() {
    let help = ok(bin().args(["sync", "--help"]));
    assert!(!help.contains("--until"), "{help}");
    let at = |s: &str| help.find(s).unwrap_or_else(|| panic!("{s} in {help}"));
    let (out_dir, lag) = ("\n      --out-dir <DIR>", "\n      --lag <DURATION>");
    assert!(at("\nSync:") < at(out_dir) && at(lag) < at("\nConnection:"));
    assert!(at(out_dir) < at("\nFilters:"), "--out-dir is not a filter");
}

#[test]
fn counts_are_in_the_right_number() {
    let sim = sim(&demo_records());
    let dir = tempfile::tempdir().unwrap();
    ok(against(&sim, "sync")
        .arg("--out-dir")
        .arg(dir.path())
        .args(["--since", "2020-01-01", "--lag", "0s"]));
    let out = ok(bin().arg("verify").arg(dir.path()));
    assert!(out.contains("intact: 1 manifest, "), "{out}");
    let config = SimConfig {
        faults: FaultConfig {
            rate: 1.0,
            kinds: vec![FaultKind::ServerError],
            ..FaultConfig::default()
        },
        ..sim_config()
    };
    let failing = sim_with(&demo_records(), config);
    let o = run(against(&failing, "count").args(["--max-retries", "0"]));
    assert_eq!(o.status.code(), Some(4));
    assert!(
        stderr(&o).contains("(gave up after 1 try)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_progress_total_is_the_first_count_and_the_rate_a_whole_number() {
    let rows = 60_000;
    let sim = sim(&jrnle_audit::simulator::generate::generate(rows, 9));
    let dir = tempfile::tempdir().unwrap();
    let cmd = format!(
        "WORKFRONT_URL={} WORKFRONT_API_KEY={KEY} {} export -o {}",
        sim.url,
        env!("CARGO_BIN_EXE_jrnle-audit"),
        dir.path().join("x.csv").display()
    );
    // The count is answered and the pages wait until the bar has drawn three frames with its
    // total: the frames are there because the test waited for them, not because the run
    // lasted long enough on this machine.
    sim.simulator
        .hold_answers_where(|request| request.contains("/JRNLE/search?"));
    let mut child = Command::new("script")
        .args(["-qefc", &cmd, "/dev/null"])
        .env_clear()
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (screen, reader) = gather(child.stdout.take().unwrap());
    let number = |s: &str| s.replace(',', "").parse::<u64>().ok();
    // Every frame's `done/total entries`, and what follows it (the rate).
    let frames = |screen: &str| -> Vec<(u64, u64, String)> {
        screen
            .split(" entries ")
            .zip(screen.split(" entries ").skip(1))
            .filter_map(|(before, after)| {
                let (done, total) = before.rsplit(' ').next()?.split_once('/')?;
                let rate = after.split(' ').next()?.to_string();
                Some((number(done)?, number(total)?, rate))
            })
            .collect()
    };
    let counted = |screen: &[u8]| {
        let frames = frames(&String::from_utf8_lossy(screen));
        frames.iter().filter(|f| f.1 == rows as u64).count()
    };
    wait_until("three frames with the count's total", || {
        counted(&screen.lock().unwrap()) >= 3
    });
    sim.simulator.release_answers();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let screen = String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    assert!(status.success(), "{screen}");
    // Frames drawn before the count came show no total yet (0); every one after shows the
    // count, never a total that grows as windows are found.
    let frames: Vec<_> = frames(&screen).into_iter().filter(|f| f.1 != 0).collect();
    assert!(frames.len() >= 3, "frames: {frames:?} in {screen:?}");
    for (done, total, rate) in &frames {
        assert_eq!(*total, rows as u64, "the total from the start: {frames:?}");
        assert!(done <= total);
        assert!(rate.ends_with("/s") && !rate.contains('.'), "{rate}");
    }
    assert!(frames.windows(2).all(|f| f[0].0 <= f[1].0), "{frames:?}");
}

#[test]
fn bash_completes_options_and_values_after_the_subcommand() {
    let script = ok(bin().args(["completions", "bash"]));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jrnle-audit.bash");
    std::fs::write(&path, script).unwrap();
    // Bash calls the function with the command, the word being completed and the one before.
    let complete = |words: &str, cur: &str, prev: &str| {
        let program = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             _jrnle__audit jrnle-audit '{cur}' '{prev}'; echo \"${{COMPREPLY[@]}}\"",
            path.display()
        );
        let o = Command::new("bash")
            .args(["-c", &program])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(
        complete("jrnle-audit export --fo", "--fo", "export"),
        "--format"
    );
    assert_eq!(
        complete("jrnle-audit export --format ''", "", "--format"),
        "csv json ndjson xlsx parquet"
    );
    assert!(complete("jrnle-audit sync --out", "--out", "sync").contains("--out-dir"));
    assert!(complete("jrnle-audit ex", "ex", "jrnle-audit").contains("export"));
}

#[test]
fn fields_writes_the_same_table_as_csv_and_json() {
    let args = ["fields", "--demo", "--since", "2000-01-01", "-q"];
    let text = ok(bin().args(args));
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').map(String::from).collect())
        .collect();
    assert!(rows.len() > 5, "{text}");
    let csv = ok(bin().args(args).args(["--format", "csv"]));
    let from_csv: Vec<Vec<String>> = csv_rows(&csv)
        .iter()
        .map(|r| {
            ["obj_code", "field_name", "entries", "last_change"]
                .iter()
                .map(|k| r[*k].clone())
                .collect()
        })
        .collect();
    assert_eq!(from_csv, rows);
    let json: Vec<serde_json::Value> =
        serde_json::from_str(&ok(bin().args(args).args(["--format", "json"]))).unwrap();
    assert_eq!(json.len(), rows.len());
    for (j, r) in json.iter().zip(&rows) {
        assert_eq!(j["obj_code"], r[0].as_str());
        assert_eq!(j["field_name"], r[1].as_str());
        assert_eq!(j["entries"].as_u64().unwrap().to_string(), r[2]);
        assert_eq!(j["last_change"], r[3].as_str());
    }
}

/// `fields` through Workfront's report requests: one request per object type plus one, where
/// paging sends one per 2,000 entries; the same table as fetching every entry (the tenant
/// that refuses reports).
#[test]
fn fields_counts_with_report_requests_and_falls_back_to_paging() {
    let records = jrnle_audit::simulator::generate::generate(30_000, 11);
    let codes: std::collections::BTreeSet<&str> = records
        .iter()
        .filter_map(|r| raw_str(r, "objObjCode"))
        .collect();
    let fields = |config: SimConfig| {
        let sim = sim_with(&records, config);
        let o = run(against(&sim, "fields").args([
            "--since",
            "2000-01-01",
            "--summary-format",
            "json",
        ]));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let summary: serde_json::Value =
            serde_json::from_str(stderr(&o).lines().last().unwrap()).unwrap();
        let log = sim.simulator.request_log();
        (stdout(&o), summary, log, stderr(&o))
    };
    let (by_report, summary, log, _) = fields(sim_config());
    assert_eq!(summary["counted_by"], "report");
    assert_eq!(summary["entries"], 30_000);
    // One report by object type, then one per type; nothing else.
    assert_eq!(log.len(), 1 + codes.len(), "{log:#?}");
    assert!(log.iter().all(|l| l.contains("/report?")), "{log:#?}");
    let (by_paging, summary, log, err) = fields(SimConfig {
        reports: false,
        ..sim_config()
    });
    assert_eq!(summary["counted_by"], "paging");
    assert!(err.contains("counting by fetching every entry"), "{err}");
    assert!(log.len() > 30_000 / 2000, "{}", log.len());
    assert_eq!(by_report, by_paging);
}

/// Whether `shell` can be run (see [`tool`]).
fn shell_available(shell: &str) -> bool {
    tool(&[shell], &["-c", "exit 0"]).is_some()
}

/// What every shell's completion must offer: options after the subcommand, their values,
/// subcommands, and values whose help once broke a script.
fn completes_options_and_values(complete: impl Fn(&str) -> Vec<String>) {
    assert_eq!(complete("jrnle-audit export --fo"), ["--format"]);
    assert_eq!(
        complete("jrnle-audit export --format "),
        ["csv", "json", "ndjson", "parquet", "xlsx"]
    );
    assert!(complete("jrnle-audit ex").contains(&"export".to_string()));
    assert!(complete("jrnle-audit simulate --faults ").contains(&"429".to_string()));
}

#[test]
fn fish_completes_options_and_values() {
    if !shell_available("fish") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jrnle-audit.fish");
    std::fs::write(&path, ok(bin().args(["completions", "fish"]))).unwrap();
    let complete = |line: &str| {
        let program = format!("source {}; complete -C '{line}'", path.display());
        let o = Command::new("fish")
            .args(["-c", &program])
            .output()
            .unwrap();
        // Sourcing the whole script must not fail on any line (help text is not escaped by
        // the generator: one quote in a value's help broke it).
        assert_eq!(String::from_utf8_lossy(&o.stderr), "", "{line}");
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        out.lines()
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    completes_options_and_values(complete);
}

#[test]
fn zsh_completes_options_and_values() {
    if !shell_available("zsh") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("_jrnle-audit"),
        ok(bin().args(["completions", "zsh"])),
    )
    .unwrap();
    // An interactive zsh on a pseudo-terminal (zsh/zpty) with the completion system loaded:
    // `compadd` is wrapped to record what it offers, a hook marks the end, and the line is
    // sent with a TAB.
    let complete = |line: &str| {
        let out = dir.path().join("offered");
        let _ = std::fs::remove_file(&out);
        let out = out.display().to_string();
        let setup = dir.path().join("setup.zsh");
        std::fs::write(
            &setup,
            format!(
                "PROMPT=''\nfpath=({dir} $fpath)\nautoload -Uz compinit\ncompinit -u -D\n\
                 compadd () {{ local -a h; builtin compadd -A h \"$@\"; print -rl -- $h >> {out}; \
                 builtin compadd \"$@\" }}\ndone_() {{ print END >> {out} }}\n\
                 comppostfuncs=(done_)\n",
                dir = dir.path().display()
            ),
        )
        .unwrap();
        let program = format!(
            "zmodload zsh/zpty; zpty z 'zsh -f -i'; zpty -w z 'source {setup}'; \
             zpty -w -n z '{line}'$'\\t'; \
             for i in {{1..200}}; do grep -q '^END$' {out} 2>/dev/null && break; sleep 0.05; done; \
             zpty -d z",
            setup = setup.display()
        );
        let o = Command::new("zsh")
            .args(["-f", "-c", &program])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        assert!(
            text.lines().any(|l| l == "END"),
            "{line}: no completion ran: {text}"
        );
        let mut offered: Vec<String> = text
            .lines()
            .filter(|l| *l != "END" && !l.is_empty())
            .map(String::from)
            .collect();
        offered.sort();
        offered.dedup();
        offered
    };
    completes_options_and_values(complete);
}
