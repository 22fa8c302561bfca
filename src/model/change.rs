//! The normalized change record (a contract: see docs/record.md): its columns, its cells, and
//! the source it came from. How a raw record becomes one is in [`crate::normalize`].

use std::borrow::Cow;

use crate::model::date::parse_timestamp;

/// The output columns, in contract order.
pub const COLUMNS: [&str; 17] = [
    "id",
    "entry_date",
    "obj_code",
    "obj_id",
    "obj_name",
    "field_name",
    "custom_field",
    "change_type",
    "value_type",
    "old_value",
    "new_value",
    "edited_by_id",
    "edited_by_name",
    "sub_obj_code",
    "sub_obj_id",
    "top_obj_code",
    "top_obj_id",
];

/// The columns `--labels` adds after the contract columns.
pub const LABEL_COLUMNS: [&str; 3] = ["change_label", "old_label", "new_label"];

/// The columns a record read back must have (null or not), as every file this tool writes has
/// them: without one, the history read from it would be wrong (a missing `old_value` is a
/// chain break at every entry, a missing `change_type` hides every delete).
pub const READ_COLUMNS: [&str; 9] = [
    "id",
    "entry_date",
    "obj_code",
    "obj_id",
    "field_name",
    "change_type",
    "value_type",
    "old_value",
    "new_value",
];

/// The column that says where a record came from, after the contract columns (and the
/// labels): written by the sources other than the journal (`listen`); journal exports keep
/// exactly the contract's columns.
pub const SOURCE_COLUMN: &str = "source";

/// Readable words for the codes of one record (`--labels`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Labels {
    pub change_label: Option<String>,
    pub old_label: Option<String>,
    pub new_label: Option<String>,
}

impl Labels {
    pub fn cells(&self) -> [Cell<'_>; 3] {
        fn t(s: &Option<String>) -> Cell<'_> {
            s.as_deref().map_or(Cell::Null, Cell::Text)
        }
        [
            t(&self.change_label),
            t(&self.old_label),
            t(&self.new_label),
        ]
    }
}

/// Which typed pair of the journal entry the old and new values came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Date,
    Number,
    Text,
    None,
}

impl ValueType {
    /// The type a `value_type` cell names; a null cell (`None`) is [`ValueType::None`], a
    /// name this tool never writes is `None`. The inverse of [`ValueType::as_str`].
    pub fn named(name: Option<&str>) -> Option<ValueType> {
        match name {
            Some("date") => Some(ValueType::Date),
            Some("number") => Some(ValueType::Number),
            Some("text") => Some(ValueType::Text),
            Some("none") | None => Some(ValueType::None),
            Some(_) => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Date => "date",
            ValueType::Number => "number",
            ValueType::Text => "text",
            ValueType::None => "none",
        }
    }
}

pub(crate) type Text<'a> = Option<Cow<'a, str>>;

/// One rendered cell. `Number` holds the rendered decimal, written as a JSON number and exempt
/// from the CSV formula guard; `Bool` is `custom_field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell<'a> {
    Null,
    Text(&'a str),
    Number(&'a str),
    Bool(bool),
}

/// A value of the old/new pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    Null,
    Text(Cow<'a, str>),
    /// The number as written (decimal text, exact).
    Number(Cow<'a, str>),
}

impl Value<'_> {
    /// The same value, its text borrowed from this one.
    pub fn borrowed(&self) -> Value<'_> {
        match self {
            Value::Null => Value::Null,
            Value::Text(t) => Value::Text(Cow::Borrowed(t)),
            Value::Number(n) => Value::Number(Cow::Borrowed(n)),
        }
    }

    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Text(t) => Value::Text(Cow::Owned(t.into_owned())),
            Value::Number(n) => Value::Number(Cow::Owned(n.into_owned())),
        }
    }

    fn cell(&self) -> Cell<'_> {
        match self {
            Value::Null => Cell::Null,
            Value::Text(t) => Cell::Text(t),
            Value::Number(n) => Cell::Number(n),
        }
    }
}

/// Which kind of source a record came from: journal entries, an event-subscription
/// delivery (`source::events`), or a snapshot of objects (`source::snapshot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceKind {
    /// A journal entry (`JRNLE`), fetched from Workfront or read from saved records.
    #[default]
    Journal,
    /// A field change read from an event subscription's delivery (old and new state).
    Event,
    /// A field change found by comparing an object polled by `lastUpdateDate` with its last
    /// known state.
    Snapshot,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Journal => "journal",
            SourceKind::Event => "event",
            SourceKind::Snapshot => "snapshot",
        }
    }

    pub fn named(name: &str) -> Option<SourceKind> {
        match name {
            "journal" => Some(SourceKind::Journal),
            "event" => Some(SourceKind::Event),
            "snapshot" => Some(SourceKind::Snapshot),
            _ => None,
        }
    }
}

/// One field change, rendered and ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord<'a> {
    pub id: Text<'a>,
    pub entry_date: Text<'a>,
    pub obj_code: Text<'a>,
    pub obj_id: Text<'a>,
    pub obj_name: Text<'a>,
    pub field_name: Text<'a>,
    pub custom_field: bool,
    pub change_type: Text<'a>,
    pub value_type: ValueType,
    pub old_value: Value<'a>,
    pub new_value: Value<'a>,
    pub edited_by_id: Text<'a>,
    pub edited_by_name: Text<'a>,
    pub sub_obj_code: Text<'a>,
    pub sub_obj_id: Text<'a>,
    pub top_obj_code: Text<'a>,
    pub top_obj_id: Text<'a>,
    /// Filled only with `--labels`.
    pub labels: Option<Box<Labels>>,
    /// Where the record came from (not a column of journal exports).
    pub source: SourceKind,
}

impl ChangeRecord<'static> {
    /// A record with nothing in it but where it came from, for a source to fill.
    pub fn empty(source: SourceKind) -> ChangeRecord<'static> {
        ChangeRecord {
            id: None,
            entry_date: None,
            obj_code: None,
            obj_id: None,
            obj_name: None,
            field_name: None,
            custom_field: false,
            change_type: None,
            value_type: ValueType::None,
            old_value: Value::Null,
            new_value: Value::Null,
            edited_by_id: None,
            edited_by_name: None,
            sub_obj_code: None,
            sub_obj_id: None,
            top_obj_code: None,
            top_obj_id: None,
            labels: None,
            source,
        }
    }
}

impl<'a> ChangeRecord<'a> {
    /// The cells in column order.
    pub fn cells(&self) -> [Cell<'_>; 17] {
        fn t<'s>(s: &'s Text<'_>) -> Cell<'s> {
            s.as_deref().map_or(Cell::Null, Cell::Text)
        }
        [
            t(&self.id),
            t(&self.entry_date),
            t(&self.obj_code),
            t(&self.obj_id),
            t(&self.obj_name),
            t(&self.field_name),
            Cell::Bool(self.custom_field),
            t(&self.change_type),
            Cell::Text(self.value_type.as_str()),
            self.old_value.cell(),
            self.new_value.cell(),
            t(&self.edited_by_id),
            t(&self.edited_by_name),
            t(&self.sub_obj_code),
            t(&self.sub_obj_id),
            t(&self.top_obj_code),
            t(&self.top_obj_id),
        ]
    }

    /// The same record owning all its text (to outlive the input it borrowed from).
    pub fn into_owned(self) -> ChangeRecord<'static> {
        let o = |t: Text<'a>| t.map(|c| Cow::Owned(c.into_owned()));
        ChangeRecord {
            id: o(self.id),
            entry_date: o(self.entry_date),
            obj_code: o(self.obj_code),
            obj_id: o(self.obj_id),
            obj_name: o(self.obj_name),
            field_name: o(self.field_name),
            custom_field: self.custom_field,
            change_type: o(self.change_type),
            value_type: self.value_type,
            old_value: self.old_value.into_owned(),
            new_value: self.new_value.into_owned(),
            edited_by_id: o(self.edited_by_id),
            edited_by_name: o(self.edited_by_name),
            sub_obj_code: o(self.sub_obj_code),
            sub_obj_id: o(self.sub_obj_id),
            top_obj_code: o(self.top_obj_code),
            top_obj_id: o(self.top_obj_id),
            labels: self.labels,
            source: self.source,
        }
    }

    /// The record with its dates shown in `zone`, with the offset (`--tz`), instead of UTC.
    pub fn in_zone(&self, zone: &chrono_tz::Tz) -> ChangeRecord<'_> {
        fn borrow<'s>(t: &'s Text<'_>) -> Text<'s> {
            t.as_deref().map(Cow::Borrowed)
        }
        fn local<'s>(s: &'s str, zone: &chrono_tz::Tz) -> Cow<'s, str> {
            match parse_timestamp(s) {
                Some(dt) => Cow::Owned(
                    dt.with_timezone(zone)
                        .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
                        .to_string(),
                ),
                None => Cow::Borrowed(s),
            }
        }
        fn value<'s>(v: &'s Value<'_>, is_date: bool, zone: &chrono_tz::Tz) -> Value<'s> {
            match v {
                Value::Null => Value::Null,
                Value::Text(t) if is_date => Value::Text(local(t, zone)),
                Value::Text(t) => Value::Text(Cow::Borrowed(t)),
                Value::Number(n) => Value::Number(Cow::Borrowed(n)),
            }
        }
        let is_date = self.value_type == ValueType::Date;
        ChangeRecord {
            id: borrow(&self.id),
            entry_date: self.entry_date.as_deref().map(|d| local(d, zone)),
            obj_code: borrow(&self.obj_code),
            obj_id: borrow(&self.obj_id),
            obj_name: borrow(&self.obj_name),
            field_name: borrow(&self.field_name),
            custom_field: self.custom_field,
            change_type: borrow(&self.change_type),
            value_type: self.value_type,
            old_value: value(&self.old_value, is_date, zone),
            new_value: value(&self.new_value, is_date, zone),
            edited_by_id: borrow(&self.edited_by_id),
            edited_by_name: borrow(&self.edited_by_name),
            sub_obj_code: borrow(&self.sub_obj_code),
            sub_obj_id: borrow(&self.sub_obj_id),
            top_obj_code: borrow(&self.top_obj_code),
            top_obj_id: borrow(&self.top_obj_id),
            labels: self.labels.clone(),
            source: self.source,
        }
    }

    /// A record read back from a file this tool wrote: `cell(column)` is a contract column's
    /// text (`None` for null or an empty CSV cell). Labels are kept when the file has their
    /// columns (`has_labels`). The inverse of [`ChangeRecord::cells`].
    pub fn from_columns(
        cell: impl Fn(&str) -> Option<String>,
        has_labels: bool,
    ) -> Result<ChangeRecord<'static>, String> {
        let t = |column: &str| cell(column).map(Cow::Owned);
        let named = cell("value_type");
        let value_type = ValueType::named(named.as_deref()).ok_or_else(|| {
            format!(
                "value_type {:?} is not one this tool writes",
                named.as_deref().unwrap_or_default()
            )
        })?;
        let value = |column: &str| match (cell(column), value_type) {
            (None, _) => Value::Null,
            (Some(n), ValueType::Number) => Value::Number(n.into()),
            (Some(s), _) => Value::Text(Cow::Owned(s)),
        };
        let custom_field = match cell("custom_field").as_deref() {
            Some("true") => true,
            Some("false") | None => false,
            Some(other) => return Err(format!("custom_field {other:?} is neither true nor false")),
        };
        let labels = has_labels.then(|| {
            Box::new(Labels {
                change_label: cell("change_label"),
                old_label: cell("old_label"),
                new_label: cell("new_label"),
            })
        });
        Ok(ChangeRecord {
            id: t("id"),
            entry_date: t("entry_date"),
            obj_code: t("obj_code"),
            obj_id: t("obj_id"),
            obj_name: t("obj_name"),
            field_name: t("field_name"),
            custom_field,
            change_type: t("change_type"),
            value_type,
            old_value: value("old_value"),
            new_value: value("new_value"),
            edited_by_id: t("edited_by_id"),
            edited_by_name: t("edited_by_name"),
            sub_obj_code: t("sub_obj_code"),
            sub_obj_id: t("sub_obj_id"),
            top_obj_code: t("top_obj_code"),
            top_obj_id: t("top_obj_id"),
            labels,
            source: cell(SOURCE_COLUMN)
                .and_then(|s| SourceKind::named(&s))
                .unwrap_or_default(),
        })
    }

    /// The output order: `(entry_date, id)`. Dates are fixed-width UTC, so text order is time
    /// order.
    pub fn sort_key(&self) -> (&str, &str) {
        (
            self.entry_date.as_deref().unwrap_or(""),
            self.id.as_deref().unwrap_or(""),
        )
    }
}
