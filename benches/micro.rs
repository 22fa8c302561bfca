//! Per-row costs of the hot path: date parsing, record normalization, CSV and NDJSON writing.
//! `cargo bench --bench micro`; end-to-end numbers come from `benches/e2e.py`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jrnle_audit::model::date::{format_utc_ms, parse_timestamp};
use jrnle_audit::model::raw::RawJrnle;
use jrnle_audit::normalize::normalize;
use jrnle_audit::output::{Format, WriteOptions, open_sink};
use jrnle_audit::simulator::generate::generate;

fn lines(n: usize) -> Vec<String> {
    generate(n, 7)
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect()
}

fn dates(c: &mut Criterion) {
    let mut g = c.benchmark_group("date");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_workfront", |b| {
        b.iter(|| parse_timestamp(black_box("2025-11-02T01:30:00:123-0600")))
    });
    let dt = parse_timestamp("2025-11-02T01:30:00:123-0600")
        .unwrap()
        .with_timezone(&chrono::Utc);
    g.bench_function("format_utc_ms", |b| {
        b.iter(|| format_utc_ms(black_box(&dt)))
    });
    g.finish();
}

fn records(c: &mut Criterion) {
    let input = lines(1000);
    let mut g = c.benchmark_group("record");
    g.throughput(Throughput::Elements(input.len() as u64));
    g.bench_function("parse_json_value", |b| {
        b.iter(|| {
            for line in &input {
                black_box(serde_json::from_str::<serde_json::Value>(line).unwrap());
            }
        })
    });
    g.bench_function("parse_and_normalize", |b| {
        b.iter(|| {
            for line in &input {
                let raw: RawJrnle = serde_json::from_str(line).unwrap();
                black_box(normalize(raw));
            }
        })
    });
    g.bench_function("parse_only", |b| {
        b.iter(|| {
            for line in &input {
                black_box(serde_json::from_str::<RawJrnle>(line).unwrap());
            }
        })
    });
    g.bench_function("fast_parse_only", |b| {
        b.iter(|| {
            for line in &input {
                black_box(
                    jrnle_audit::model::scan::record(line)
                        .unwrap_or_else(|| serde_json::from_str(line).unwrap()),
                );
            }
        })
    });
    g.bench_function("fast_parse_and_normalize", |b| {
        b.iter(|| {
            for line in &input {
                let raw = jrnle_audit::model::scan::record(line)
                    .unwrap_or_else(|| serde_json::from_str(line).unwrap());
                black_box(normalize(raw));
            }
        })
    });
    for (name, format) in [("write_csv", Format::Csv), ("write_ndjson", Format::Ndjson)] {
        let parsed: Vec<RawJrnle> = input
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let normalized: Vec<_> = parsed.into_iter().map(|r| normalize(r).0).collect();
        g.bench_function(name, |b| {
            b.iter(|| {
                let options = WriteOptions {
                    formula_guard: true,
                    ..WriteOptions::default()
                };
                let mut out = std::io::sink();
                let mut w = open_sink(format, &mut out, &options).unwrap();
                for r in &normalized {
                    w.write(r).unwrap();
                }
                w.finish().unwrap();
            })
        });
    }
    g.finish();
}

criterion_group!(benches, dates, records);
criterion_main!(benches);
