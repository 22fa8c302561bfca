//! `load`: out-dirs of sync, snapshot and listen into SQLite and a throw-away PostgreSQL
//! cluster, each entry exactly once across reruns and `kill -9` at chosen steps; a series
//! altered after it was loaded refuses more; the password never shows.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use jrnle_audit::simulator::SimHandle;
use jrnle_audit::simulator::generate::generate;

use crate::util::*;

const PASSWORD: &str = "pw-7c2e9f41-load";

fn sync(sim: &SimHandle, dir: &Path) -> Command {
    let mut cmd = against(sim, "sync");
    cmd.arg("--out-dir").arg(dir).args([
        "--since",
        "2025-10-01",
        "--format",
        "ndjson",
        "--lag",
        "0s",
    ]);
    cmd
}

/// A sync series of `runs` manifests, each after the first with 30 new entries.
fn series(runs: usize) -> (SimHandle, tempfile::TempDir) {
    let sim = sim(&generate(200, 5));
    let dir = tempfile::tempdir().unwrap();
    for run in 0..runs {
        if run > 0 {
            sim.simulator.journal_now(30);
        }
        ok(&mut sync(&sim, dir.path()));
    }
    (sim, dir)
}

/// Each manifest of `dir` (its name) and the rows its data file holds.
fn manifests(dir: &Path) -> HashMap<String, u64> {
    names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".manifest.json"))
        .map(|n| {
            let m: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.join(&n)).unwrap()).unwrap();
            let rows = m["row_count"].as_u64().unwrap();
            (n, rows)
        })
        .collect()
}

/// A database a test loads into.
enum Db {
    Sqlite(PathBuf),
    Postgres(Cluster),
}

impl Db {
    fn url(&self) -> String {
        match self {
            Db::Sqlite(path) => format!("sqlite:{}", path.display()),
            Db::Postgres(c) => c.url(PASSWORD),
        }
    }

    /// Every row of `sql`'s answer, each cell as text.
    fn query(&self, sql: &str) -> Vec<Vec<String>> {
        match self {
            Db::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                let mut st = conn.prepare(sql).unwrap();
                let width = st.column_count();
                st.query_map([], |r| {
                    (0..width)
                        .map(|i| {
                            r.get::<_, rusqlite::types::Value>(i).map(|v| match v {
                                rusqlite::types::Value::Integer(n) => n.to_string(),
                                rusqlite::types::Value::Text(t) => t,
                                other => format!("{other:?}"),
                            })
                        })
                        .collect()
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
            }
            Db::Postgres(c) => c.psql(sql),
        }
    }

    fn load(&self, dir: &Path, table: &str) -> Command {
        let mut cmd = bin();
        cmd.arg("load")
            .arg(dir)
            .args(["--into", &self.url(), "--table", table]);
        cmd
    }
}

/// `table` holds every entry of `dir` once, and its bookkeeping every manifest once.
fn holds_exactly(db: &Db, dir: &Path, table: &str) {
    let expected: HashSet<String> = ndjson_counts(dir, "id").into_keys().collect();
    let ids: Vec<String> = db
        .query(&format!("SELECT id FROM {table}"))
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(ids.len(), expected.len(), "rows in {table}");
    assert_eq!(ids.into_iter().collect::<HashSet<_>>(), expected);
    let lines = db.query(&format!("SELECT manifest FROM {table}_manifests"));
    let loaded: HashSet<String> = lines.iter().map(|r| r[0].clone()).collect();
    assert_eq!(lines.len(), loaded.len(), "a manifest loaded twice");
    assert_eq!(
        loaded,
        manifests(dir).into_keys().collect::<HashSet<_>>(),
        "the bookkeeping"
    );
}

/// Every manifest of `dir` is in `table` with all its rows, or not at all.
fn each_manifest_once_or_not_at_all(db: &Db, dir: &Path, table: &str) {
    let files = manifests(dir);
    let per: HashMap<String, u64> = db
        .query(&format!(
            "SELECT loaded_from, COUNT(*) FROM {table} GROUP BY loaded_from"
        ))
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    let lines = db.query(&format!("SELECT manifest FROM {table}_manifests"));
    let loaded: HashSet<String> = lines.iter().map(|r| r[0].clone()).collect();
    assert_eq!(lines.len(), loaded.len(), "a manifest loaded twice");
    for (name, rows) in &files {
        let expected = if loaded.contains(name) { *rows } else { 0 };
        assert_eq!(per.get(name).copied().unwrap_or(0), expected, "{name}");
    }
}

/// `cmd` started with the test's hold on each step (`JRNLE_LOAD_STEPS`): it prints
/// `load-step: <what>` on stderr and waits for a byte on stdin.
fn stepped(cmd: &mut Command) -> std::process::Child {
    cmd.env("JRNLE_LOAD_STEPS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Run `cmd` one step at a time (`JRNLE_LOAD_STEPS`) and `kill -9` it at step `target`.
/// Whether it was killed (else it finished, successfully).
fn killed_at_step(cmd: &mut Command, target: u64) -> bool {
    let mut child = stepped(cmd);
    let mut stdin = child.stdin.take().unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut steps = 0;
    for line in stderr.lines() {
        if !line.unwrap().starts_with("load-step: ") {
            continue;
        }
        steps += 1;
        if steps == target {
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
        let _ = stdin.write_all(b".").and_then(|()| stdin.flush());
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "a load failed: {status}");
    false
}

/// Load twice, then into another table with `kill -9` at 10 seeded steps of what is left to
/// load, then once more: each time every entry once.
fn twice_and_killed(db: &Db) {
    let (_sim, dir) = series(6);
    let dir = dir.path();
    for _ in 0..2 {
        let o = run(&mut db.load(dir, "changes"));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        holds_exactly(db, dir, "changes");
    }
    let mut rng = jrnle_audit::rng::SplitMix64::new(
        std::env::var("KILL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(30),
    );
    let files = manifests(dir);
    let mut first = true;
    for _ in 0..10 {
        // Steps left: each manifest not loaded yet begins, has its rows, commits, committed.
        // The first kill's load creates the tables.
        let loaded: HashSet<String> = match first {
            true => HashSet::new(),
            false => db
                .query("SELECT manifest FROM killed_manifests")
                .into_iter()
                .map(|r| r[0].clone())
                .collect(),
        };
        first = false;
        let left: u64 = files
            .iter()
            .filter(|(name, _)| !loaded.contains(*name))
            .map(|(_, rows)| rows + 3)
            .sum();
        assert!(left > 0, "everything loaded before the tenth kill");
        let target = 1 + rng.below(left);
        assert!(killed_at_step(&mut db.load(dir, "killed"), target));
        each_manifest_once_or_not_at_all(db, dir, "killed");
    }
    ok(&mut db.load(dir, "killed"));
    holds_exactly(db, dir, "killed");
}

#[test]
fn sqlite_holds_every_entry_once_across_reruns_and_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("audit.db");
    let db = Db::Sqlite(path.clone());
    twice_and_killed(&db);
    // The database holds the tenant's history: made private, as the out-dir's files are.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}

#[test]
fn postgres_holds_every_entry_once_across_reruns_and_kill_9() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let db = Db::Postgres(cluster);
    twice_and_killed(&db);
}

/// Two loads of one table at once: the first held inside its first manifest's transaction
/// while the second starts, then let go; each manifest is loaded by one of them, once.
fn two_at_once(db: &Db, flags: &[&str]) {
    let (_sim, dir) = series(3);
    let mut first = stepped(db.load(dir.path(), "shared").args(flags));
    let mut lines = std::io::BufReader::new(first.stderr.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    assert_eq!(line, "load-step: begun");
    let second = db
        .load(dir.path(), "shared")
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A closed stdin lets the first run on without stopping.
    drop(first.stdin.take());
    for _ in lines {}
    assert!(first.wait().unwrap().success());
    let o = second.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    holds_exactly(db, dir.path(), "shared");
    if !flags.is_empty() {
        assert_eq!(interval_rows(db, "shared"), intervals_of(dir.path()));
    }
}

#[test]
fn two_loads_at_once_load_each_manifest_once() {
    let tmp = tempfile::tempdir().unwrap();
    two_at_once(&Db::Sqlite(tmp.path().join("audit.db")), &[]);
    two_at_once(&Db::Sqlite(tmp.path().join("iv.db")), &["--intervals"]);
    if let Some(cluster) = Cluster::start() {
        two_at_once(&Db::Postgres(cluster), &[]);
    }
    if let Some(cluster) = Cluster::start() {
        two_at_once(&Db::Postgres(cluster), &["--intervals"]);
    }
}

#[test]
fn snapshot_and_listen_out_dirs_load_too() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(tmp.path().join("audit.db"));
    let sim = sim(&generate(200, 5));
    let snap = tempfile::tempdir().unwrap();
    let snapshot = || {
        let mut cmd = against(&sim, "snapshot");
        cmd.arg("--out-dir").arg(snap.path()).args([
            "--obj-code",
            "TASK",
            "--fields",
            "status,percentComplete,name",
            "--format",
            "ndjson",
            "--lag",
            "0s",
        ]);
        cmd
    };
    ok(&mut snapshot());
    sim.simulator.journal_now(40);
    ok(&mut snapshot());
    let events = tempfile::tempdir().unwrap();
    let listen = crate::listen::Listen::start(events.path(), &["--format", "ndjson"]);
    for n in 1..=7 {
        assert_eq!(
            listen.post(&crate::listen::delivery(n), Some(crate::listen::TOKEN)),
            200
        );
    }
    listen.stop();
    for (dir, source) in [(snap.path(), "snapshot"), (events.path(), "event")] {
        let table = format!("{source}_changes");
        ok(&mut db.load(dir, &table));
        ok(&mut db.load(dir, &table));
        holds_exactly(&db, dir, &table);
        let sources = db.query(&format!("SELECT DISTINCT source FROM {table}"));
        assert_eq!(sources, [[source.to_string()]]);
        let table = format!("{source}_intervals");
        ok(db.load(dir, &table).arg("--intervals"));
        let rows = interval_rows(&db, &table);
        assert!(!rows.is_empty(), "{source}: no intervals");
        assert_eq!(rows, intervals_of(dir), "{source}");
    }
    assert!(
        !ndjson_counts(snap.path(), "id").is_empty(),
        "no snapshot changes"
    );
}

#[test]
fn a_series_altered_after_it_was_loaded_loads_no_more() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(tmp.path().join("audit.db"));
    let (sim, dir) = series(2);
    ok(&mut db.load(dir.path(), "changes"));
    let loaded = db.query("SELECT COUNT(*) FROM changes");
    sim.simulator.journal_now(30);
    ok(&mut sync(&sim, dir.path()));
    // The first data file rewritten with a row less, every manifest after it re-chained and
    // the state file to match: `verify` passes, the bookkeeping does not.
    crate::signing::rewrite_from(dir.path(), 0, None);
    ok(bin().arg("verify").arg(dir.path()));
    let o = run(&mut db.load(dir.path(), "changes"));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("altered after it was loaded")
            && stderr(&o).contains("nothing more was loaded"),
        "{}",
        stderr(&o)
    );
    assert_eq!(db.query("SELECT COUNT(*) FROM changes"), loaded);
    assert_eq!(db.query("SELECT COUNT(*) FROM changes_manifests"), [["2"]]);
    // A data file edited without its manifest: verify's own finding, exit 5, nothing loaded.
    let (_sim2, other) = series(1);
    let data = names(other.path())
        .into_iter()
        .find(|n| n.ends_with(".ndjson"))
        .unwrap();
    let path = other.path().join(data);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("TASK", "TASX");
    std::fs::write(&path, text).unwrap();
    let o = run(&mut db.load(other.path(), "fresh"));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("SHA-256 does not match") && stderr(&o).contains("nothing was loaded"),
        "{}",
        stderr(&o)
    );
    let tables = db.query("SELECT name FROM sqlite_master WHERE name LIKE 'fresh%'");
    assert!(tables.is_empty(), "{tables:?}");
}

#[test]
fn another_series_into_the_same_table_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(tmp.path().join("audit.db"));
    let (_a, first) = series(1);
    let (_b, second) = series(1);
    ok(&mut db.load(first.path(), "changes"));
    let o = run(&mut db.load(second.path(), "changes"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("a --table of its own"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_password_never_shows() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let (_sim, dir) = series(1);
    let load = |url: &str, extra: &[&str]| {
        run(bin()
            .arg("load")
            .arg(dir.path())
            .args(["--into", url])
            .args(extra))
    };
    let wrong = cluster.url("wrong-pw-5d1e8b");
    for (url, extra, code) in [
        (cluster.url(PASSWORD), &[][..], 0),
        (cluster.url(PASSWORD), &["--summary-format", "json"][..], 0),
        (wrong.clone(), &[][..], 4),
        (format!("{wrong}&sslmode=allow"), &[][..], 2),
        (
            cluster
                .url(PASSWORD)
                .replace(&cluster.port.to_string(), "notaport"),
            &[][..],
            2,
        ),
        (
            format!("{}&sslmode=require", cluster.url(PASSWORD)),
            &[][..],
            4,
        ),
    ] {
        let o = load(&url, extra);
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert_eq!(o.status.code(), Some(code), "{url}: {all}");
        for secret in [PASSWORD, "wrong-pw-5d1e8b"] {
            assert!(!all.contains(secret), "{all}");
        }
        if code == 0 {
            assert!(all.contains(":****@127.0.0.1"), "{all}");
        }
    }
    // -v's log lines neither.
    let o = run(bin().args(["-v", "load"]).arg(dir.path()).args([
        "--into",
        &cluster.url(PASSWORD),
        "--table",
        "logged",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("INFO loaded jrnle-"), "{}", stderr(&o));
    assert!(!stderr(&o).contains(PASSWORD), "{}", stderr(&o));
    // Through the environment, and PGPASSWORD: the same.
    let o = run(bin()
        .arg("load")
        .arg(dir.path())
        .env(
            "JRNLE_LOAD_INTO",
            cluster.url("").replace("jrnle:@", "jrnle@"),
        )
        .env("PGPASSWORD", PASSWORD)
        .args(["--table", "via_env"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains(PASSWORD));
    // clap's help never shows the variable's value.
    let o = run(bin()
        .args(["load", "--help"])
        .env("JRNLE_LOAD_INTO", cluster.url(PASSWORD)));
    assert!(!stdout(&o).contains(PASSWORD), "{}", stdout(&o));
}

#[test]
fn tls_as_libpq_modes_say_with_the_certificate_checked_in_the_verify_modes() {
    let Some(openssl) = tool(&["openssl"], &["version"]) else {
        return;
    };
    let certs = tempfile::tempdir().unwrap();
    crate::listen::certificates(certs.path(), openssl);
    let Some(cluster) = Cluster::start_with(Some(certs.path())) else {
        return;
    };
    let (_sim, dir) = series(1);
    let ca = certs.path().join("ca.pem");
    let base = |host: &str, mode: &str| {
        format!(
            "postgres://jrnle:{PASSWORD}@{host}:{}/postgres?sslmode={mode}",
            cluster.port
        )
    };
    let with_ca =
        |host: &str, mode: &str| format!("{}&sslrootcert={}", base(host, mode), ca.display());
    let log = || std::fs::read_to_string(cluster.dir.path().join("log")).unwrap_or_default();
    for (n, (url, code)) in [
        // The certificate names 127.0.0.1 and chains to the test CA.
        (with_ca("127.0.0.1", "verify-full"), 0),
        // localhost is not the name it carries: verify-full refuses, verify-ca takes it.
        (with_ca("localhost", "verify-full"), 4),
        (with_ca("localhost", "verify-ca"), 0),
        // The system's roots do not hold the test CA.
        (base("127.0.0.1", "verify-full"), 4),
        // require and prefer encrypt without checking, as libpq.
        (base("localhost", "require"), 0),
        (base("localhost", "prefer"), 0),
    ]
    .into_iter()
    .enumerate()
    {
        let before = log().matches("SSL enabled").count();
        let o = run(bin().arg("load").arg(dir.path()).args([
            "--into",
            &url,
            "--table",
            &format!("t{n}"),
        ]));
        assert_eq!(o.status.code(), Some(code), "{url}: {}", stderr(&o));
        assert!(!stderr(&o).contains(PASSWORD), "{}", stderr(&o));
        if code == 0 {
            assert!(
                log().matches("SSL enabled").count() > before,
                "{url}: no TLS"
            );
        } else {
            assert!(stderr(&o).contains("certificate"), "{}", stderr(&o));
        }
    }
}

/// A throw-away PostgreSQL cluster: initdb in a temporary directory (as the `postgres` user
/// when the tests run as root: initdb refuses root), a free port, password authentication;
/// stopped and removed when dropped, also when the test fails.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    /// `None` (the test skips) when PostgreSQL is not installed, unless JRNLE_REQUIRE_TOOLS.
    fn start() -> Option<Cluster> {
        Cluster::start_with(None)
    }

    /// With `certs` (a directory holding `server.pem` and `server.key`), serving TLS with
    /// them, and logging each connection (whether it used TLS).
    fn start_with(certs: Option<&Path>) -> Option<Cluster> {
        let Some(bin) = postgres_bin() else {
            assert!(
                std::env::var_os("JRNLE_REQUIRE_TOOLS").is_none(),
                "PostgreSQL (initdb, pg_ctl) is not installed"
            );
            eprintln!("skipped: PostgreSQL (initdb, pg_ctl) is not installed");
            return None;
        };
        let as_postgres = rustix::process::geteuid().is_root();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), PASSWORD).unwrap();
        let mut options = String::new();
        if let Some(certs) = certs {
            for file in ["server.pem", "server.key"] {
                std::fs::copy(certs.join(file), dir.path().join(file)).unwrap();
            }
            use std::os::unix::fs::PermissionsExt;
            let key = dir.path().join("server.key");
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
            options = format!(
                " -c ssl=on -c log_connections=on -c ssl_cert_file={} -c ssl_key_file={}",
                dir.path().join("server.pem").display(),
                key.display()
            );
        }
        if as_postgres {
            let o = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster {
            bin,
            dir,
            port,
            as_postgres,
        };
        let data = cluster.dir.path().join("data");
        let pwfile = cluster.dir.path().join("pw");
        cluster.tool(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "jrnle".as_ref(),
                "-A".as_ref(),
                "scram-sha-256".as_ref(),
                "--pwfile".as_ref(),
                pwfile.as_os_str(),
                "--no-sync".as_ref(),
            ],
        );
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off{options}",
            port,
            cluster.dir.path().display()
        );
        let log = cluster.dir.path().join("log");
        cluster.tool(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        );
        Some(cluster)
    }

    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }

    fn tool(&self, tool: &str, args: &[&std::ffi::OsStr]) {
        let o = self.command(tool).args(args).output().unwrap();
        assert!(
            o.status.success(),
            "{tool}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }

    fn url(&self, password: &str) -> String {
        format!(
            "postgres://jrnle:{password}@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    /// `sql`'s answer through psql, each row's cells split at `|`.
    fn psql(&self, sql: &str) -> Vec<Vec<String>> {
        let o = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-U", "jrnle", "-d", "postgres", "-At"])
            .args(["-p", &self.port.to_string(), "-c", sql])
            .env("PGPASSWORD", PASSWORD)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(|l| l.split('|').map(str::to_string).collect())
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self
            .command("pg_ctl")
            .args(["-m", "immediate", "-w", "-D"])
            .arg(&data)
            .arg("stop")
            .output();
    }
}

/// The directory of initdb, pg_ctl and psql: Debian keeps them in
/// /usr/lib/postgresql/<version>/bin (the newest is taken), elsewhere they are on PATH.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.ok()?;
            let v = e.file_name().to_str()?.parse().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
}

#[test]
fn bad_input_is_one_line_exit_2_and_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("audit.db");
    let into = format!("sqlite:{}", db.display());
    let sim = sim(&generate(50, 5));
    let workbook = tempfile::tempdir().unwrap();
    ok(against(&sim, "sync")
        .arg("--out-dir")
        .arg(workbook.path())
        .args(["--since", "2025-10-01", "--format", "xlsx", "--lag", "0s"]));
    let missing = tmp.path().join("missing");
    for (args, says) in [
        (
            vec![missing.to_str().unwrap(), "--into", &into],
            "is not a directory",
        ),
        (
            vec![
                workbook.path().to_str().unwrap(),
                "--into",
                "mysql://u:pw@h/d",
            ],
            "give sqlite:PATH or postgres://",
        ),
        (
            vec![
                workbook.path().to_str().unwrap(),
                "--into",
                &into,
                "--table",
                "a b",
            ],
            "not a plain table name",
        ),
        (
            vec![
                workbook.path().to_str().unwrap(),
                "--into",
                &into,
                "--table",
                "order",
            ],
            "a word SQL reserves",
        ),
        (
            vec![
                workbook.path().to_str().unwrap(),
                "--into",
                &into,
                "--table",
                "sqlite_stat1",
            ],
            "a prefix the database keeps",
        ),
        (
            vec![workbook.path().to_str().unwrap(), "--into", &into],
            "xlsx data files, which load cannot read back",
        ),
    ] {
        let o = run(bin().arg("load").args(&args));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let text = stderr(&o);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains(says), "{text}");
        assert!(!text.contains(":pw@"), "{text}");
        assert!(!db.exists(), "{args:?} created the database");
    }
}

/// The intervals table's rows, each cell as `intervals` writes it in CSV (null as empty), in
/// the columns' order, sorted.
fn interval_rows(db: &Db, table: &str) -> Vec<Vec<String>> {
    let columns = jrnle_audit::load::intervals::columns();
    let cells: Vec<String> = columns
        .iter()
        .map(|c| match (c.name, db) {
            ("valid_from" | "valid_to", Db::Postgres(_)) => format!(
                "COALESCE(to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), '')",
                c.name
            ),
            ("chain_break", _) => "CASE WHEN chain_break THEN 'true' ELSE 'false' END".to_string(),
            (name, _) => format!("COALESCE({name}, '')"),
        })
        .collect();
    // Each row as one hex text (a value may hold a line end or a `|`), cells split by US.
    let sql = match db {
        Db::Postgres(_) => format!(
            "SELECT encode(convert_to({}, 'UTF8'), 'hex') FROM {table}_intervals",
            cells.join(" || chr(31) || ")
        ),
        Db::Sqlite(_) => format!(
            "SELECT hex({}) FROM {table}_intervals",
            cells.join(" || char(31) || ")
        ),
    };
    let unhex = |h: &str| {
        let bytes: Vec<u8> = (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect();
        String::from_utf8(bytes).unwrap()
    };
    let mut rows: Vec<Vec<String>> = db
        .query(&sql)
        .into_iter()
        .map(|r| unhex(&r[0]).split('\u{1f}').map(str::to_string).collect())
        .collect();
    rows.sort();
    rows
}

/// What `jrnle-audit intervals DIR` writes for the series, in the same shape.
fn intervals_of(dir: &Path) -> Vec<Vec<String>> {
    let out = ok(bin().arg("intervals").arg(dir).args([
        "--sort",
        "--format",
        "csv",
        "--no-formula-guard",
    ]));
    let columns = jrnle_audit::load::intervals::columns();
    let mut rows: Vec<Vec<String>> = csv_rows(&out)
        .into_iter()
        .map(|r| columns.iter().map(|c| r[c.name].clone()).collect())
        .collect();
    rows.sort();
    rows
}

/// A series loaded with `--intervals` as it grows (an interval opened by one manifest closed
/// by a later one), then again (nothing changes), then into another table with `kill -9` at
/// seeded steps: each time the intervals table is what `intervals` writes.
fn intervals_across_runs_and_kills(db: &Db) {
    let (sim, dir) = series(2);
    let dir = dir.path();
    let load = |table: &str| {
        let mut cmd = db.load(dir, table);
        cmd.arg("--intervals");
        cmd
    };
    ok(&mut load("grown"));
    for _ in 0..3 {
        sim.simulator.journal_now(30);
        ok(&mut sync(&sim, dir));
        ok(&mut load("grown"));
        holds_exactly(db, dir, "grown");
        assert_eq!(interval_rows(db, "grown"), intervals_of(dir));
    }
    let before = interval_rows(db, "grown");
    ok(&mut load("grown"));
    assert_eq!(
        interval_rows(db, "grown"),
        before,
        "a rerun changed the intervals"
    );
    assert!(before.iter().any(|r| r[7].is_empty()), "no interval open");
    assert!(
        before.iter().any(|r| !r[7].is_empty()),
        "no interval closed"
    );
    let mut rng = jrnle_audit::rng::SplitMix64::new(31);
    let files = manifests(dir);
    let steps: u64 = files.values().map(|rows| rows + 3).sum();
    for _ in 0..5 {
        let target = 1 + rng.below(steps);
        killed_at_step(&mut load("killed"), target);
        each_manifest_once_or_not_at_all(db, dir, "killed");
    }
    ok(&mut load("killed"));
    holds_exactly(db, dir, "killed");
    assert_eq!(interval_rows(db, "killed"), intervals_of(dir));
}

#[test]
fn sqlite_intervals_equal_what_intervals_writes_across_runs_and_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    intervals_across_runs_and_kills(&Db::Sqlite(tmp.path().join("audit.db")));
}

#[test]
fn postgres_intervals_equal_what_intervals_writes_across_runs_and_kill_9() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    intervals_across_runs_and_kills(&Db::Postgres(cluster));
}

/// Entries that arrive late (dated before entries of the same objects and fields that an
/// earlier manifest loaded), delivered by a later run's lookback: the touched intervals are
/// recomputed, so the table is still what `intervals` writes.
fn late_entries_take_their_place(db: &Db) {
    let (sim, dir) = series(2);
    let dir = dir.path();
    let load = || {
        let mut cmd = db.load(dir, "late");
        cmd.arg("--intervals");
        cmd
    };
    ok(&mut load());
    let before: HashSet<String> = ndjson_counts(dir, "id").into_keys().collect();
    // Inside the generated history (October and November 2025), journaled now.
    let early: chrono::DateTime<chrono::Utc> = "2025-11-03T12:00:00Z".parse().unwrap();
    sim.simulator.journal_at(60, early);
    ok(sync(&sim, dir).args(["--lookback", "20000h"]));
    let late: HashSet<String> = ndjson_counts(dir, "id")
        .into_keys()
        .filter(|id| !before.contains(id))
        .collect();
    assert!(!late.is_empty(), "the lookback delivered nothing");
    ok(&mut load());
    let rows = interval_rows(db, "late");
    assert_eq!(rows, intervals_of(dir));
    // A late entry's value ended by an entry an earlier manifest loaded.
    assert!(
        rows.iter()
            .any(|r| late.contains(&r[10]) && before.contains(&r[11])),
        "no late entry came before a loaded one"
    );
    ok(&mut load());
    assert_eq!(
        interval_rows(db, "late"),
        rows,
        "a rerun changed the intervals"
    );
}

#[test]
fn late_entries_are_recomputed_into_place_in_sqlite_and_postgres() {
    let tmp = tempfile::tempdir().unwrap();
    late_entries_take_their_place(&Db::Sqlite(tmp.path().join("audit.db")));
    if let Some(cluster) = Cluster::start() {
        late_entries_take_their_place(&Db::Postgres(cluster));
    }
}

/// A table loaded without `--intervals` gets its intervals table built from all its changes
/// by the first load with it; once it has one, a load without `--intervals` is refused (exit
/// 2, one line, nothing loaded), as the intervals would fall behind.
fn intervals_added_later(db: &Db) {
    let (sim, dir) = series(2);
    let dir = dir.path();
    ok(&mut db.load(dir, "later"));
    // Killed before the build commits: nothing of it stays, the next load builds it.
    assert!(killed_at_step(db.load(dir, "later").arg("--intervals"), 1));
    assert!(interval_rows(db, "later").is_empty());
    sim.simulator.journal_now(30);
    ok(&mut sync(&sim, dir));
    ok(db.load(dir, "later").arg("--intervals"));
    holds_exactly(db, dir, "later");
    assert_eq!(interval_rows(db, "later"), intervals_of(dir));
    sim.simulator.journal_now(30);
    ok(&mut sync(&sim, dir));
    let o = run(&mut db.load(dir, "later"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(stderr(&o).trim().lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("--intervals"), "{}", stderr(&o));
    let loaded = db.query("SELECT manifest FROM later_manifests").len();
    assert_eq!(loaded, manifests(dir).len() - 1, "a refused load loaded");
    let o = run(db
        .load(dir, "later")
        .args(["--intervals", "--summary-format", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(summary["intervals"], "later_intervals");
    assert_eq!(summary["loaded"], 1);
    holds_exactly(db, dir, "later");
    assert_eq!(interval_rows(db, "later"), intervals_of(dir));
}

#[test]
fn intervals_added_to_a_loaded_table_are_built_and_then_required() {
    let tmp = tempfile::tempdir().unwrap();
    intervals_added_later(&Db::Sqlite(tmp.path().join("audit.db")));
    if let Some(cluster) = Cluster::start() {
        intervals_added_later(&Db::Postgres(cluster));
    }
}

/// Values that start like the formula guard's mark, in a CSV series written with the guard
/// and one written without it (`--no-formula-guard`, which its manifests record): each loads,
/// and `intervals` reads each, exactly as Workfront sent the values.
#[test]
fn csv_cells_load_as_written_with_the_formula_guard_on_or_off() {
    let mut records = generate(20, 5);
    let values = ["'=1+1", "=SUM(A1)", "'plain", "''@x"];
    let mut ids = Vec::new();
    for (record, value) in records
        .iter_mut()
        .filter(|r| r["newTextVal"].is_string() && r["fieldName"] != "ownerID")
        .zip(values)
    {
        record.insert("newTextVal".into(), value.into());
        ids.push((record["ID"].as_str().unwrap().to_string(), value));
    }
    assert_eq!(ids.len(), values.len());
    let sim = sim(&records);
    let tmp = tempfile::tempdir().unwrap();
    for guard in [&[][..], &["--no-formula-guard"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = against(&sim, "sync");
        cmd.arg("--out-dir").arg(dir.path());
        cmd.args(["--since", "2025-10-01", "--format", "csv", "--lag", "0s"]);
        ok(cmd.args(guard));
        let db = Db::Sqlite(tmp.path().join(format!("g{}.db", guard.len())));
        ok(&mut db.load(dir.path(), "t"));
        let rows = ndjson_rows(&ok(bin()
            .arg("intervals")
            .arg(dir.path())
            .args(["--sort", "--format", "ndjson"])));
        for (id, value) in &ids {
            let got = db.query(&format!("SELECT new_value FROM t WHERE id = '{id}'"));
            assert_eq!(got, [[value.to_string()]], "{guard:?} {id}");
            let set = rows
                .iter()
                .find(|r| r["set_by_entry_id"] == id.as_str())
                .unwrap();
            assert_eq!(set["value"], *value, "{guard:?} {id}");
        }
    }
}

/// A value holding a NUL character (which Workfront's JSON can carry as `\u0000`): SQLite keeps
/// it; PostgreSQL's text cannot, so the load says which manifest, entry and column, loads
/// nothing of that manifest, and exits 2 (not an opaque encoding error from the server).
#[test]
fn a_nul_character_loads_into_sqlite_and_is_refused_by_name_for_postgres() {
    let mut records = generate(20, 5);
    let record = records
        .iter_mut()
        .find(|r| r["newTextVal"].is_string() && r["fieldName"] != "ownerID")
        .unwrap();
    record.insert("newTextVal".into(), "a\u{0}b".into());
    let id = record["ID"].as_str().unwrap().to_string();
    let sim = sim(&records);
    let dir = tempfile::tempdir().unwrap();
    ok(&mut sync(&sim, dir.path()));
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(tmp.path().join("nul.db"));
    ok(&mut db.load(dir.path(), "t"));
    let got = db.query(&format!("SELECT hex(new_value) FROM t WHERE id = '{id}'"));
    assert_eq!(got, [["610062".to_string()]]);
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let db = Db::Postgres(cluster);
    let o = run(&mut db.load(dir.path(), "t"));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let manifest = manifests(dir.path()).into_keys().next().unwrap();
    assert!(
        err.contains(&manifest) && err.contains(&id) && err.contains("new_value"),
        "{err}"
    );
    assert_eq!(db.query("SELECT count(*) FROM t"), [["0".to_string()]]);
}

/// A `--table` naming a table load did not make (another program's, or the database's own)
/// is refused before anything is created, and an empty directory is a bad DIR: exit 2.
#[test]
fn a_table_of_other_columns_or_a_directory_without_a_series_is_exit_2() {
    let (_sim, dir) = series(1);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("other.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE audit (a TEXT, b TEXT);")
        .unwrap();
    let sqlite = Db::Sqlite(path);
    let mut dbs = vec![(sqlite, "audit")];
    if let Some(cluster) = Cluster::start() {
        let pg = Db::Postgres(cluster);
        pg.query("CREATE TABLE audit (a TEXT, b TEXT)");
        dbs.push((pg, "audit"));
    }
    for (db, table) in &dbs {
        let o = run(&mut db.load(dir.path(), table));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("exists with other columns"), "{err}");
        let made = db.query(&format!(
            "SELECT count(*) FROM {}",
            match db {
                Db::Sqlite(_) => "sqlite_master WHERE name LIKE '%manifests'",
                Db::Postgres(_) => "pg_tables WHERE tablename LIKE '%manifests'",
            }
        ));
        assert_eq!(made, [["0".to_string()]], "{table}: a table was created");
    }
    // An empty directory, and one of other files (never an out-dir): the wrong DIR, not
    // altered evidence.
    let empty = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("notes.txt"), "x").unwrap();
    std::fs::write(other.path().join("_manifest.json"), "{}").unwrap();
    for not_out_dir in [empty.path(), other.path()] {
        let o = run(&mut dbs[0].0.load(not_out_dir, "audit"));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
        assert!(stderr(&o).contains("holds no manifest"), "{}", stderr(&o));
    }
}

/// Ctrl-C in the middle of a manifest (held at one of its rows): one line that says what a stop
/// leaves, exit 130, that manifest not loaded and those before it loaded; the next run ends
/// the load.
#[test]
fn an_interrupted_load_says_what_it_left_and_the_next_run_goes_on() {
    let (_sim, dir) = series(3);
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(tmp.path().join("int.db"));
    let mut child = stepped(&mut db.load(dir.path(), "t"));
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut begun, mut rest) = (0, Vec::new());
    while let Some(Ok(line)) = lines.next() {
        begun += u64::from(line == "load-step: begun");
        // The second manifest begun and one of its rows given: stop there.
        if begun == 2 && line == "load-step: row" {
            let sent = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(sent.success());
            rest.extend(lines.by_ref().map_while(Result::ok));
            break;
        }
        let _ = stdin.write_all(b".").and_then(|()| stdin.flush());
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest:?}");
    let said: Vec<&String> = rest
        .iter()
        .filter(|l| !l.starts_with("load-step"))
        .collect();
    assert_eq!(said.len(), 1, "{rest:?}");
    assert!(
        said[0].contains("interrupted by SIGINT")
            && said[0].contains("the manifest being loaded was not loaded")
            && !said[0].contains("unfinished file"),
        "{said:?}"
    );
    assert_eq!(
        db.query("SELECT count(*) FROM t_manifests"),
        [["1".to_string()]]
    );
    each_manifest_once_or_not_at_all(&db, dir.path(), "t");
    ok(&mut db.load(dir.path(), "t"));
    holds_exactly(&db, dir.path(), "t");
}

/// A server with a self-signed certificate (Debian's default), that certificate given as
/// `sslrootcert`: taken in `verify-full` for the name it carries and in `verify-ca` for any, as
/// libpq takes it; refused for another name in `verify-full`.
#[test]
fn a_self_signed_server_certificate_given_as_the_root_is_taken_as_libpq_takes_it() {
    let Some(openssl) = tool(&["openssl"], &["version"]) else {
        return;
    };
    let certs = tempfile::tempdir().unwrap();
    let made = Command::new(openssl)
        .current_dir(certs.path())
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            "server.key",
            "-out",
            "server.pem",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let Some(cluster) = Cluster::start_with(Some(certs.path())) else {
        return;
    };
    let (_sim, dir) = series(1);
    let root = certs.path().join("server.pem");
    for (n, (host, mode, code)) in [
        ("127.0.0.1", "verify-full", 0),
        ("localhost", "verify-ca", 0),
        ("localhost", "verify-full", 4),
    ]
    .into_iter()
    .enumerate()
    {
        let url = format!(
            "postgres://jrnle:{PASSWORD}@{host}:{}/postgres?sslmode={mode}&sslrootcert={}",
            cluster.port,
            root.display()
        );
        let o = run(bin().arg("load").arg(dir.path()).args([
            "--into",
            &url,
            "--table",
            &format!("s{n}"),
        ]));
        assert_eq!(o.status.code(), Some(code), "{host} {mode}: {}", stderr(&o));
    }
}
