//! The report's HTML: the figures laid out for the template (`report.html`, rendered by
//! minijinja with HTML auto-escaping, so no value is ever put into the page unescaped), the
//! charts as SVG geometry computed here, and a Content-Security-Policy that allows nothing
//! but the page's own style and script, by their hashes.

use std::collections::HashMap;

use base64::Engine;
use minijinja::{Environment, Value as TemplateValue};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::evidence::Evidence;
use super::exceptions::{Exceptions, Listed, MOVES_LISTED, Slip};
use super::figures::Figures;
use super::row::Row;
use super::time_chart::{TimeChart, time_chart};
use crate::error::{Error, Result};

const TEMPLATE: &str = include_str!("report.html");
const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// Bars per totals chart, and rows per totals table.
const CHART_BARS: usize = 12;
const TABLE_ROWS: usize = 50;

/// What the page shows besides the figures.
pub struct Options<'a> {
    pub title: &'a str,
    pub generated_at: String,
    pub business: String,
    /// The report's zone and where it came from (`--tz`, the tenant's offsets, or UTC).
    pub zone_note: String,
    pub bulk_threshold: u64,
    pub top: usize,
    pub asked_objects: bool,
    pub table_cut: Option<TableCut>,
    /// Chain breaks and time in status, from the replay.
    pub answers: super::answers::Answers,
}

/// "All changes" cut short by `--table-rows`: the rows embedded, the time of the last one, and
/// the input files that hold the rest.
#[derive(Serialize)]
pub struct TableCut {
    pub shown: u64,
    pub last: String,
    pub files: Vec<String>,
}

#[derive(Serialize)]
struct Bar {
    label: String,
    short: String,
    count: u64,
    y: usize,
    width: u64,
}

#[derive(Serialize)]
struct Chart {
    id: &'static str,
    title: String,
    height: usize,
    bars: Vec<Bar>,
    more: usize,
}

#[derive(Serialize)]
struct Total {
    what: &'static str,
    chart: Chart,
    rows: Vec<(String, String)>,
    rows_more: usize,
}

#[derive(Serialize)]
struct Prompt {
    title: &'static str,
    anchor: &'static str,
    count: u64,
}

#[derive(Serialize)]
struct Timeline {
    obj_id: String,
    obj_code: String,
    obj_name: String,
    caption: String,
    rows: Vec<Row>,
}

/// Owner and assignee values (user ids) with the person's name where the records name them
/// (as editors): a reviewer reads "Ada Lovelace", not a 32-digit id.
fn name_people(rows: &mut [Row], people: &HashMap<String, String>) {
    let named = |v: &mut String| {
        if let Some(name) = people.get(v.as_str()) {
            *v = format!("{name} ({v})");
        }
    };
    for row in rows {
        named(&mut row.old);
        named(&mut row.new);
    }
}

/// The template with the filters it uses.
fn environment(zone: chrono_tz::Tz) -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.add_filter("thousands", |n: u64| indicatif::HumanCount(n).to_string());
    // Text that wraps at spaces only: a word with a hyphen, slash or dot (a date, a code, a
    // number such as 2.5e-7) is kept whole; one too long to keep whole breaks where marked.
    env.add_filter("words", |v: minijinja::Value| {
        minijinja::Value::from_safe_string(words(&v.to_string()))
    });
    // Long tokens (file names, hashes) with their break points marked.
    env.add_filter("breakable", |s: String| {
        minijinja::Value::from_safe_string(breakable(&s))
    });
    // An instant as every time of the page shows it: in the report's zone, to the
    // millisecond, with its offset (text that is no instant, "the beginning", as it is).
    let report_zone = zone;
    env.add_filter("at", move |s: String| {
        crate::model::date::parse_timestamp(&s)
            .map(|t| super::row::local(&t.with_timezone(&chrono::Utc), &report_zone))
            .unwrap_or(s)
    });
    // Text holding instants (ISO 8601, as manifests record them): each shown as `at` shows
    // it, and kept whole; the rest as `words` shows it.
    env.add_filter("times", move |s: String| {
        let shown: Vec<String> = s
            .split(' ')
            .map(|word| {
                let bare = word.trim_end_matches([',', ')', ';']);
                match crate::model::date::parse_timestamp(bare) {
                    Some(t) if bare.len() >= 20 => format!(
                        "<span class=\"w\">{}</span>{}",
                        super::row::local(&t.with_timezone(&chrono::Utc), &report_zone),
                        words(&word[bare.len()..])
                    ),
                    _ => words(word),
                }
            })
            .collect();
        minijinja::Value::from_safe_string(shown.join(" "))
    });
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| Error::Internal(format!("the report template: {e}")))?;
    Ok(env)
}

/// The whole page.
pub fn render(
    figures: &mut Figures,
    evidence: &Evidence,
    timelines: Vec<(String, Vec<Row>)>,
    o: &Options<'_>,
) -> Result<String> {
    let slips = figures.exceptions.finish();
    let zone = figures.zone.name().to_string();
    let env = environment(figures.zone)?;
    let missing_fields: Vec<&String> = evidence
        .asked_fields
        .iter()
        .filter(|f| !figures.by_field.contains_key(*f))
        .collect();
    let coverage: Vec<(&str, &str, u64)> = figures
        .coverage
        .iter()
        .map(|((o, f), n)| (o.as_str(), f.as_str(), *n))
        .collect();
    let timelines: Vec<Timeline> = timelines
        .into_iter()
        .map(|(id, rows)| timeline(figures, id, rows))
        .collect();
    name_people(&mut figures.exceptions.owner_changes.rows, &figures.people);
    let tables = ExceptionTables::of(&figures.exceptions);
    let page = Page {
        csp: csp(),
        style: STYLE,
        script: SCRIPT,
        title: o.title,
        generated_at: &o.generated_at,
        tool_version: env!("CARGO_PKG_VERSION"),
        zone: &zone,
        zone_note: &o.zone_note,
        evidence,
        damaged_files: evidence
            .files
            .iter()
            .filter(|f| f.damaged.is_some())
            .count(),
        rows: figures.rows,
        span: span(figures),
        undated: figures.undated,
        missing_fields,
        coverage,
        totals: totals(figures),
        time: time_chart(figures, evidence),
        prompts: prompts(&figures.exceptions, &slips, o.answers.chain_breaks),
        answers: &o.answers,
        exceptions: tables,
        bulk_edits: &figures.exceptions.bulk_edits,
        bulk_threshold: o.bulk_threshold,
        business: &o.business,
        slips: &slips,
        shown: super::exceptions::SHOWN,
        moves_listed: MOVES_LISTED,
        top: o.top,
        asked_objects: o.asked_objects,
        timelines,
        timelines_ranked: figures.objects.len(),
        all: &figures.all,
        table_cut: &o.table_cut,
        all_data: std::mem::take(&mut figures.table).finish(),
    };
    let context = TemplateValue::from(minijinja::value::Serde(&page));
    env.get_template("report.html")
        .and_then(|t| t.render(context))
        .map_err(|e| Error::Internal(format!("rendering the report: {e}")))
}

/// Everything the template reads.
#[derive(Serialize)]
struct Page<'a> {
    /// Data files left out of the figures because they do not verify.
    damaged_files: usize,
    csp: String,
    style: &'static str,
    script: &'static str,
    title: &'a str,
    generated_at: &'a str,
    tool_version: &'static str,
    zone: &'a str,
    zone_note: &'a str,
    evidence: &'a Evidence,
    rows: u64,
    span: String,
    undated: u64,
    missing_fields: Vec<&'a String>,
    coverage: Vec<(&'a str, &'a str, u64)>,
    totals: Vec<Total>,
    time: TimeChart,
    prompts: Vec<Prompt>,
    exceptions: ExceptionTables<'a>,
    bulk_edits: &'a [super::exceptions::BulkEdit],
    bulk_threshold: u64,
    business: &'a str,
    slips: &'a [Slip],
    answers: &'a super::answers::Answers,
    /// Rows shown under a prompt.
    shown: usize,
    moves_listed: u64,
    top: usize,
    /// Objects in the input (fewer than `top`: all are shown).
    timelines_ranked: usize,
    asked_objects: bool,
    timelines: Vec<Timeline>,
    all: &'a [Row],
    /// Every row of "All changes", safe inside a `<script>` element.
    table_cut: &'a Option<TableCut>,
    all_data: super::columns::Data,
}

#[derive(Serialize)]
struct ExceptionTables<'a> {
    deletes: &'a Listed,
    off_hours: &'a Listed,
    regressions: &'a Listed,
    owner_changes: &'a Listed,
}

impl<'a> ExceptionTables<'a> {
    fn of(e: &'a Exceptions) -> Self {
        ExceptionTables {
            deletes: &e.deletes,
            off_hours: &e.off_hours,
            regressions: &e.regressions,
            owner_changes: &e.owner_changes,
        }
    }
}

/// Nothing may load or run but the page's own style and script (by their SHA-256).
fn csp() -> String {
    let hash = |s: &str| base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s));
    format!(
        "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'; img-src 'none'; \
         base-uri 'none'; form-action 'none'",
        hash(STYLE),
        hash(SCRIPT)
    )
}

fn span(f: &Figures) -> String {
    match (f.first, f.last) {
        (Some(a), Some(b)) => format!(
            "{} to {}",
            super::row::local(&a, &f.zone),
            super::row::local(&b, &f.zone)
        ),
        _ => "nothing".into(),
    }
}

fn totals(f: &Figures) -> Vec<Total> {
    let projects = by_project(f);
    [
        ("change type", "by-change-type", &f.by_change_type),
        ("object type", "by-object-type", &f.by_obj_code),
        ("field", "by-field", &f.by_field),
        ("editor", "by-editor", &f.by_editor),
        ("project (top object)", "by-project", &projects),
    ]
    .into_iter()
    .filter(|(_, _, counts)| !counts.is_empty())
    .map(|(what, id, counts)| total(what, id, counts))
    .collect()
}

/// Changes by top object, each named as the records name it ("PROJ Website Relaunch"), by
/// its id where they do not, or when two share a name.
fn by_project(f: &Figures) -> HashMap<String, u64> {
    let name = |code: &str, id: &str| match f.objects.get(id) {
        Some((_, name, _)) if !name.is_empty() => format!("{code} {name}"),
        _ => format!("{code} {id}"),
    };
    let mut named: HashMap<String, u32> = HashMap::new();
    for (code, id) in f.by_top.keys() {
        *named.entry(name(code, id)).or_default() += 1;
    }
    f.by_top
        .iter()
        .map(|((code, id), n)| {
            let label = name(code, id);
            match named[&label] {
                1 => (label, *n),
                _ => (format!("{label} ({id})"), *n),
            }
        })
        .collect()
}

fn total(what: &'static str, id: &'static str, counts: &HashMap<String, u64>) -> Total {
    let mut ranked: Vec<(&String, u64)> = counts.iter().map(|(k, v)| (k, *v)).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let max = ranked.first().map_or(1, |r| r.1.max(1));
    let bars: Vec<Bar> = ranked
        .iter()
        .take(CHART_BARS)
        .enumerate()
        .map(|(i, (label, count))| Bar {
            label: label.to_string(),
            short: shorten(label, 22),
            count: *count,
            y: i * 20,
            width: (*count * 280).div_ceil(max),
        })
        .collect();
    Total {
        what,
        chart: Chart {
            id,
            title: format!("Changes by {what}"),
            height: bars.len().max(1) * 20,
            more: ranked.len().saturating_sub(bars.len()),
            bars,
        },
        rows: ranked
            .iter()
            .take(TABLE_ROWS)
            .map(|(k, v)| (k.to_string(), indicatif::HumanCount(*v).to_string()))
            .collect(),
        rows_more: ranked.len().saturating_sub(TABLE_ROWS),
    }
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n - 1).collect();
    out.push('…');
    out
}

fn prompts(e: &Exceptions, slips: &[Slip], chain_breaks: u64) -> Vec<Prompt> {
    // (one, many, anchor, count)
    let all = [
        ("delete entry", "delete entries", "deletes", e.deletes.count),
        ("bulk edit", "bulk edits", "bulk", e.bulk_edits.len() as u64),
        (
            "change outside business hours",
            "changes outside business hours",
            "off-hours",
            e.off_hours.count,
        ),
        (
            "status regression",
            "status regressions",
            "regressions",
            e.regressions.count,
        ),
        ("chain break", "chain breaks", "chain-breaks", chain_breaks),
        (
            "object with planned dates moved often",
            "objects with planned dates moved often",
            "slips",
            slips.len() as u64,
        ),
        (
            "owner or assignee change",
            "owner or assignee changes",
            "owners",
            e.owner_changes.count,
        ),
    ];
    all.into_iter()
        .map(|(one, many, anchor, count)| Prompt {
            title: if count == 1 { one } else { many },
            anchor,
            count,
        })
        .collect()
}

fn timeline(f: &Figures, id: String, rows: Vec<Row>) -> Timeline {
    let (code, name, n) = f.objects.get(&id).cloned().unwrap_or_default();
    let caption = match n as usize {
        0 => String::new(),
        n if n > rows.len() => format!("{n} changes; the first {} are shown", rows.len()),
        n => crate::console::plural(n as u64, "change", "changes"),
    };
    Timeline {
        obj_id: id,
        obj_code: code,
        obj_name: name,
        caption,
        rows,
    }
}

/// `text` as HTML that wraps at its whitespace only: each word of up to 40 characters that a
/// browser could break inside (at a hyphen, a slash, a dot) is kept whole in a `nowrap`
/// span; a longer one is [`breakable`] where marked. Whitespace is kept as it is (old and new
/// values show their line breaks).
fn words(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let space = rest
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(rest.len());
        out.push_str(&breakable(&rest[..space]));
        rest = &rest[space..];
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..end];
        let plain = word.chars().all(char::is_alphanumeric);
        match word.chars().count() {
            0 => {}
            _ if plain => out.push_str(&breakable(word)),
            // Kept whole (Chromium breaks at a `<wbr>` even inside `nowrap`).
            n if n <= 40 => {
                out.push_str("<span class=\"w\">");
                out.extend(word.chars().map(escape));
                out.push_str("</span>");
            }
            _ => out.push_str(&breakable(word)),
        }
        rest = &rest[end..];
    }
    out
}

/// A character as HTML text.
fn escape(c: char) -> String {
    match c {
        '&' => "&amp;".to_string(),
        '<' => "&lt;".to_string(),
        '>' => "&gt;".to_string(),
        '"' => "&quot;".to_string(),
        '\'' => "&#x27;".to_string(),
        c => c.to_string(),
    }
}

/// `text` as HTML with a `<wbr>` after each `-`, `_`, `/`, `.` or `:` of a word longer than 24
/// characters, and every 16 characters of a run without them: a long file name, hash or id
/// may break there, and nowhere else, on a narrow screen.
fn breakable(text: &str) -> String {
    let mut out = String::new();
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let long = word.chars().count() > 24;
        let mut run = 0;
        for c in word.chars() {
            out.push_str(&escape(c));
            run += 1;
            if long && (matches!(c, '-' | '_' | '/' | '.' | ':') || run == 16) {
                out.push_str("<wbr>");
                run = 0;
            }
        }
    }
    out
}
