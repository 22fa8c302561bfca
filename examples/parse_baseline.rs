//! The benchmark's baseline: how long serde_json alone takes to parse each line of a JSON
//! Lines file into a `serde_json::Value`. `benches/e2e.py` compares `normalize` with it.
//!
//! `cargo run --release --example parse_baseline -- FILE`

use std::io::BufRead;
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: parse_baseline FILE");
    let file = std::fs::File::open(&path).expect("open the input");
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    let started = Instant::now();
    let mut records = 0u64;
    let mut line = Vec::new();
    let mut reader = reader;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).expect("read") == 0 {
            break;
        }
        let value: serde_json::Value = serde_json::from_slice(&line).expect("valid JSON");
        std::hint::black_box(value);
        records += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{records} records in {secs:.3} s: {:.0} records/s",
        records as f64 / secs
    );
}
