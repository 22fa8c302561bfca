//! `snapshot`: one run of polling objects by `lastUpdateDate` into an out-dir (see
//! [`crate::snapshot`]).

use chrono::Utc;

use crate::cli::{FilterArgs, SnapshotArgs};
use crate::config::parse_duration;
use crate::console;
use crate::error::{Error, Result};
use crate::settings::Settings;
use crate::snapshot::run::{Outcome, SnapshotPlan, run as run_once};
use crate::workfront::objcodes;
use crate::workfront::polled::KEY_FIELDS;

pub fn run(args: SnapshotArgs) -> Result<()> {
    let obj_code = check_obj_code(&args.obj_code)?;
    let fields = check_fields(&args.fields)?;
    let filters = FilterArgs {
        since: args.since.clone(),
        ..FilterArgs::default()
    };
    let settings = Settings::resolve(&args.connection, &filters)?;
    let signer = crate::settings::signing_key(&args.evidence, Some(&args.connection))?;
    let tsa_urls = super::stamp::urls(&args.tsa.tsa_urls, Some(&args.connection))?;
    let (tenant_url, api_version) = settings.tenant();
    let plan = SnapshotPlan {
        signer,
        out_dir: args.out_dir,
        obj_code,
        fields,
        since: settings.filters.since,
        lag: parse_duration("lag", &args.lag)?,
        lookback: parse_duration("lookback", &args.lookback)?,
        detect_deletes: args.detect_deletes,
        format: args.format,
        formula_guard: !args.no_formula_guard,
        tenant_url,
        api_version,
        concurrency: settings.options.max_concurrency,
    };
    let progress = console::progress_bar("objects");
    let outcome = super::runtime()?.block_on(async {
        let client = settings.client().await?;
        run_once(&plan, &client, Utc::now(), progress.clone()).await
    });
    progress.finish_and_clear();
    let outcome = outcome?;
    let baseline = outcome
        .as_ref()
        .and_then(|o| o.manifest.snapshot.as_ref())
        .is_some_and(|s| s.baseline);
    if args.detect_deletes && baseline {
        console::note(
            "--detect-deletes had nothing to compare with on the baseline: deletions are \
             looked for from the next run on",
        );
    }
    summarize(args.summary.json(), outcome.as_ref());
    // After the commit (or nothing to commit), and said after it: a TSA never holds up or
    // fails the data.
    if !tsa_urls.is_empty() {
        super::runtime()?.block_on(super::stamp::catch_up(&plan.out_dir, &tsa_urls));
    }
    Ok(())
}

/// The object code as Workfront spells it: upper case (a lower-case code is refused with
/// the right spelling, as export's --obj-code is).
fn check_obj_code(code: &str) -> Result<String> {
    if let Some(known) = objcodes::case_variant(code) {
        return Err(Error::usage(format!(
            "--obj-code {code:?}: object codes are upper case; did you mean {known}?"
        )));
    }
    if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::usage(format!(
            "--obj-code {code:?} is not an object code: use one such as TASK, PROJ or OPTASK"
        )));
    }
    Ok(code.to_string())
}

/// The fields to compare: named, each once, and none of the ones every object is fetched
/// with (they key and date the changes rather than being changes of their own; `name` is
/// allowed).
fn check_fields(fields: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for f in fields.iter().map(|f| f.trim()) {
        if f.is_empty() {
            return Err(Error::usage(
                "--fields holds an empty name: list the fields separated by commas, e.g. \
                 --fields status,percentComplete",
            ));
        }
        if KEY_FIELDS.contains(&f) && f != "name" {
            return Err(Error::usage(format!(
                "--fields {f}: every object is fetched with {f}, which dates or keys the \
                 changes rather than being one; leave it out"
            )));
        }
        if !out.iter().any(|o| o == f) {
            out.push(f.to_string());
        }
    }
    Ok(out)
}

fn summarize(json: bool, outcome: Option<&Outcome>) {
    let Some(o) = outcome else {
        if json {
            console::summary_json(&serde_json::json!({"command": "snapshot", "committed": null}));
        }
        return;
    };
    let m = &o.manifest;
    let s = m.snapshot.as_ref();
    if json {
        console::summary_json(&serde_json::json!({
            "command": "snapshot",
            "committed": {
                "data_file": m.data_file.name,
                "manifest": crate::evidence::manifest::manifest_name(&m.data_file.name),
                "sha256": m.data_file.sha256,
                "window": {"from": m.window.from, "to": m.window.to},
                "records": m.row_count,
                "snapshot": s,
                "head": crate::evidence::manifest::Head::of(m),
            },
            "data_warnings": super::warnings_json(&o.anomalies),
        }));
        return;
    }
    for line in o.anomalies.lines() {
        console::warn(line);
    }
    if let Some(s) = s.filter(|s| s.baseline && s.state_objects == 0) {
        console::warn(format!(
            "the baseline found no {} objects updated in [{}, {}): check --obj-code and \
             --since; later runs keep each object from its next update on",
            s.obj_code, m.window.from, m.window.to
        ));
    }
    let what = match s {
        Some(s) if s.baseline => format!(
            "baseline of {} stored, no changes written",
            console::plural(s.state_objects, "object", "objects"),
        ),
        Some(s) => format!(
            "{} from {} fetched ({} changed, {} created, {})",
            console::plural(m.row_count, "change", "changes"),
            console::plural(s.objects_fetched, "object", "objects"),
            s.objects_changed,
            s.objects_created,
            if s.deletes_checked {
                format!("{} deleted", s.objects_deleted)
            } else {
                "deletions not checked".into()
            }
        ),
        None => String::new(),
    };
    console::note(format!(
        "committed {} for [{}, {}): {what}",
        m.data_file.name, m.window.from, m.window.to
    ));
    console::note(format!("head: {}", crate::evidence::manifest::Head::of(m)));
}
