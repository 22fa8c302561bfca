//! `simulate` as a process: it prints its address and serves what it was given.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use crate::util::*;

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str]) -> (Running, String) {
    let mut child = bin()
        .arg("simulate")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (Running(child), url)
}

#[test]
fn simulate_serves_generated_rows_with_the_given_key() {
    let (_sim, url) = start(&["--rows", "120", "--seed", "9", "--api-key", "k-123"]);
    let count = |key: &str| {
        run(bin()
            .arg("count")
            .env("WORKFRONT_URL", &url)
            .env("WORKFRONT_API_KEY", key))
    };
    let o = count("k-123");
    assert_eq!(stdout(&o), "120\n", "{}", stderr(&o));
    assert_eq!(count("other").status.code(), Some(3));
}

#[test]
fn simulate_serves_a_data_file() {
    let (_sim, url) = start(&["--data", fixture("demo.json").to_str().unwrap()]);
    let out = ok(bin()
        .args(["export", "--until", "2026-01-01"])
        .env("WORKFRONT_URL", &url)
        .env("WORKFRONT_BEARER_TOKEN", "anything"));
    let expected = std::fs::read_to_string(fixture("demo.expected.csv")).unwrap();
    assert_eq!(out, expected);
}
