//! Profiles: flags and WORKFRONT_* variables override the profile, the profile overrides the
//! defaults; a profile never holds a secret.

use crate::util::*;

fn config(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn flags_override_the_profile_and_the_profile_overrides_defaults() {
    let sim = sim(&demo_records());
    let dir = tempfile::tempdir().unwrap();
    let path = config(
        dir.path(),
        &format!(
            "[profiles.acme]\nurl = \"{}\"\napi_version = \"v19.0\"\napi_key_env = \"ACME_KEY\"\n\
             obj_codes = [\"OPTASK\"]\nsince = \"2025-07-02\"\n\n[profiles.other]\nurl = \"https://x.example\"\n",
            sim.url
        ),
    );
    let profiled = || {
        let mut cmd = bin();
        cmd.args(["count", "--profile", "acme", "--config"])
            .arg(&path)
            .env("ACME_KEY", KEY);
        cmd
    };
    // The profile's URL, version, credential and filters: OPTASK entries since 2025-07-02.
    let expected = demo_records()
        .iter()
        .filter(|r| raw_str(r, "objObjCode") == Some("OPTASK"))
        .filter(|r| raw_str(r, "entryDate").unwrap() >= "2025-07-02")
        .count();
    assert_eq!(ok(&mut profiled()), format!("{expected}\n"));
    assert!(
        sim.simulator
            .request_log()
            .iter()
            .all(|l| l.contains("/v19.0/"))
    );
    // A flag wins over the profile's filter.
    let tasks = ok(profiled().args(["--obj-code", "TASK", "--since", "2025-01-01"]));
    let all_tasks = demo_records()
        .iter()
        .filter(|r| raw_str(r, "objObjCode") == Some("TASK"))
        .count();
    assert_eq!(tasks, format!("{all_tasks}\n"));
    // WORKFRONT_PROFILE picks the profile; WORKFRONT_URL overrides its URL.
    let o = run(bin()
        .args(["count", "--max-retries", "0", "--config"])
        .arg(&path)
        .env("WORKFRONT_PROFILE", "acme")
        .env("ACME_KEY", KEY)
        .env("WORKFRONT_URL", "http://127.0.0.1:1"));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    // A WORKFRONT_* credential wins over the profile's.
    let o = run(profiled().env("WORKFRONT_API_KEY", "wrong"));
    assert_eq!(o.status.code(), Some(3));
    // Without the profile the defaults apply: no URL.
    let o = run(bin().arg("count").env("ACME_KEY", KEY));
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn the_config_file_is_found_under_xdg_config_home() {
    let sim = sim(&demo_records());
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("jrnle-audit")).unwrap();
    std::fs::write(
        dir.path().join("jrnle-audit/config.toml"),
        format!(
            "[profiles.p]\nurl = \"{}\"\nbearer_token_env = \"TOK\"\n",
            sim.url
        ),
    )
    .unwrap();
    let out = ok(bin()
        .args(["count", "--profile", "p"])
        .env("XDG_CONFIG_HOME", dir.path())
        .env("TOK", KEY));
    assert_eq!(out, "30\n");
}

#[test]
fn bad_profiles_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[profiles.a]\nurl = \"https://x\"\napi_key = \"s3cret\"\n",
            "a",
            "holds a secret (api_key)",
        ),
        (
            "[profiles.a]\nurll = \"https://x\"\n",
            "a",
            "unknown field `urll`",
        ),
        (
            "[profiles.a]\nurl = \"https://x\"\n",
            "b",
            "no profile \"b\"",
        ),
        (
            "[profiles.a\n",
            "a",
            "line 1, table [profiles.a: unclosed table",
        ),
        (
            "[profiles.a]\nurl = \"https://x\"\napi_key_env = \"A\"\nbearer_token_env = \"B\"\n",
            "a",
            "names several credentials",
        ),
        (
            "[profiles.a]\nurl = \"https://x\"\napi_key_env = \"UNSET_VAR\"\n",
            "a",
            "$UNSET_VAR",
        ),
    ];
    for (body, name, needle) in cases {
        let path = config(dir.path(), body);
        let o = run(bin()
            .args(["export", "--profile", name, "--config"])
            .arg(&path));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{body}: {err}");
        assert!(err.contains(needle), "{needle:?} in {err}");
        assert!(!err.contains("s3cret"));
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let o = run(bin().args([
        "export",
        "--profile",
        "a",
        "--config",
        "/nonexistent/c.toml",
    ]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read the config file"));
}
