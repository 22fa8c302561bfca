//! Filter values that matched nothing: the warning (most often a typo, or a field that is
//! not tracked), with the tenant's own spelling when it has the value in another case.

use crate::workfront::client::Client;
use crate::workfront::object::ObjectType;
use crate::workfront::query::Filters;
use crate::workfront::report::read_groups;

/// The warnings for `unseen` values. A `--field` or `--change-type` value that the tenant has
/// in another case (`Status` for `status`, `e` for `E`) gets "did you mean": Workfront
/// compares them case-sensitively, so a case slip matches nothing. One report request per
/// such value (a `cieq` condition grouped by the field); when the tenant refuses it, the
/// warning goes without the hint.
pub async fn warnings(
    client: &Client,
    filters: &Filters,
    unseen: &[(&'static str, String)],
) -> Vec<String> {
    let mut out = Vec::with_capacity(unseen.len());
    for (flag, value) in unseen {
        let other = match *flag {
            "--field" | "--change-type" => other_spelling(client, filters, flag, value).await,
            _ => None,
        };
        out.push(matches_nothing(
            flag,
            value,
            &filters.window(),
            other.as_deref(),
        ));
    }
    out
}

/// The tenant's spelling of `value` for list filter `flag`, compared without case, when it
/// differs from `value` and has entries in the window.
async fn other_spelling(
    client: &Client,
    filters: &Filters,
    flag: &str,
    value: &str,
) -> Option<String> {
    let (field, _, _) = filters.lists().into_iter().find(|(_, f, _)| *f == flag)?;
    let search = filters.with_only(flag, value).search();
    let mut params = search.report_params(field);
    params.push((format!("{field}_Mod"), "cieq".into()));
    let data = client.report(&search.object, &params).await.ok()?;
    read_groups(&data, field, search.object.date_field())
        .ok()?
        .into_iter()
        .filter(|g| g.count > 0)
        .filter_map(|g| g.value)
        .find(|v| v != value)
}

/// The warning for a filter value that no entry of `window` has: most often a typo, or a
/// field that is not tracked.
pub fn matches_nothing(flag: &str, value: &str, window: &str, other: Option<&str>) -> String {
    if let Some(other) = other {
        return format!(
            "no entries for {flag} {value:?} in {window}, but {other:?} has some: did you mean \
             {flag} {other}? (Workfront compares them case-sensitively)"
        );
    }
    match flag {
        "--field" => format!(
            "no entries for --field {value:?} in {window}: the field may not be tracked (Setup > \
             Interface > Update Feeds), or is spelled otherwise (`jrnle-audit fields` lists \
             the fields that have entries)"
        ),
        "--obj-code" => format!(
            "no entries for --obj-code {value:?} in {window}: no change of that object type was \
             journaled there, or the code is spelled otherwise{}",
            crate::workfront::objcodes::nearest(value)
                .map(|k| format!(" (did you mean {k}?)"))
                .unwrap_or_default()
        ),
        _ => format!(
            "no entries for {flag} {value:?} in {window}: the code may be spelled otherwise \
             (E, A, D, ...)"
        ),
    }
}
