//! `count`: one integer and a newline, matching what export returns.

use jrnle_audit::simulator::generate::generate;

use crate::util::*;

#[test]
fn count_agrees_with_export_for_the_same_filters() {
    let records = generate(2500, 4);
    let sim = sim(&records);
    for args in [
        vec![],
        vec!["--field", "status"],
        vec![
            "--obj-code",
            "TASK",
            "--obj-code",
            "PROJ",
            "--since",
            "2025-11-01",
        ],
    ] {
        let count = ok(against(&sim, "count").args(&args));
        assert!(
            count.ends_with('\n') && count.lines().count() == 1,
            "{count:?}"
        );
        let exported = csv_ids(&ok(against(&sim, "export").args(&args))).len();
        assert_eq!(count.trim().parse::<usize>().unwrap(), exported, "{args:?}");
    }
}

#[test]
fn count_on_the_demo_needs_no_connection() {
    let o = run(bin().args(["count", "--demo", "--obj-code", "OPTASK"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let expected = demo_records()
        .iter()
        .filter(|r| raw_str(r, "objObjCode") == Some("OPTASK"))
        .count();
    assert_eq!(stdout(&o), format!("{expected}\n"));
}
