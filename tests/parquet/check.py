"""Read a Parquet export with pyarrow and with DuckDB and compare it with the NDJSON export
of the same query, value for value and type for type. Used by tests/integration/parquet.rs.

usage: check.py NDJSON PARQUET [--hive]   (PARQUET a file, or with --hive a directory)
Prints one JSON line: {"rows": N, "pyarrow": N, "duckdb": N}; raises on any difference.
"""
import datetime
import json
import sys

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

ndjson_path, parquet_path = sys.argv[1], sys.argv[2]
hive = "--hive" in sys.argv


def number(text):
    return ("number", text)


# Numbers kept as the exact text NDJSON has.
expected = [
    json.loads(line, parse_float=number, parse_int=number)
    for line in open(ndjson_path, encoding="utf-8")
    if line.strip()
]
TEXT = [
    "id", "obj_code", "obj_id", "obj_name", "field_name", "change_type", "value_type",
    "edited_by_id", "edited_by_name", "sub_obj_code", "sub_obj_id", "top_obj_code",
    "top_obj_id",
]
UTC = datetime.timezone.utc


def instant(text):
    """An ISO 8601 instant from the NDJSON (Z or an offset) as an aware datetime, in ms."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def check_row(got, want, where):
    def same(column, value):
        assert got[column] == value, f"{where} {column}: {got[column]!r} != {value!r}"

    for column in TEXT:
        same(column, want.get(column))
    same("entry_date", instant(want["entry_date"]))
    assert type(got["custom_field"]) is bool
    same("custom_field", want["custom_field"])
    for side in ("old", "new"):
        value = want.get(f"{side}_value")
        if isinstance(value, tuple):  # a number: the text as written, and a double
            same(f"{side}_value", value[1])
            same(f"{side}_number", float(value[1]))
            same(f"{side}_date", None)
        elif value is not None and want["value_type"] == "date":
            same(f"{side}_value", value)
            same(f"{side}_date", instant(value))
            same(f"{side}_number", None)
        else:
            same(f"{side}_value", value)
            same(f"{side}_number", None)
            same(f"{side}_date", None)
    same("entry_date_text", None)


def key(row):
    return (row["entry_date"], row["id"])


# pyarrow: the schema's types, then every row.
if hive:
    table = ds.dataset(parquet_path, format="parquet", partitioning="hive").to_table()
else:
    table = pq.read_table(parquet_path)
schema = table.schema
ms_utc = pa.timestamp("ms", tz="UTC")
for column in ("entry_date", "old_date", "new_date"):
    assert schema.field(column).type == ms_utc, (column, schema.field(column).type)
for column in ("old_number", "new_number"):
    assert schema.field(column).type == pa.float64(), column
assert schema.field("custom_field").type == pa.bool_()
for column in TEXT + ["old_value", "new_value"]:
    assert schema.field(column).type == pa.string(), column
if not hive:
    names = schema.names
    assert names[:17] == ["id", "entry_date", "obj_code", "obj_id", "obj_name", "field_name",
                          "custom_field", "change_type", "value_type", "old_value", "new_value",
                          "edited_by_id", "edited_by_name", "sub_obj_code", "sub_obj_id",
                          "top_obj_code", "top_obj_id"], names
    meta = pq.read_metadata(parquet_path).metadata
    assert meta[b"jrnle-audit.version"], meta
    assert b"jrnle-audit.query" in meta, meta
rows = table.to_pylist()
assert len(rows) == len(expected), (len(rows), len(expected))
rows.sort(key=key)
for i, (got, want) in enumerate(zip(rows, sorted(expected, key=lambda r: (instant(r["entry_date"]), r["id"])))):
    check_row(got, want, f"pyarrow row {i}")
    if hive:
        assert got["year"] == got["entry_date"].year and int(got["month"]) == got["entry_date"].month

# DuckDB, reading the same without casts.
source = f"{parquet_path}/**/*.parquet" if hive else parquet_path
con = duckdb.connect()
rel = con.sql(
    f"select * from read_parquet('{source}', hive_partitioning = {str(hive).lower()}) "
    "order by entry_date, id"
)
types = dict(zip(rel.columns, [str(t) for t in rel.types]))
assert types["entry_date"] == "TIMESTAMP WITH TIME ZONE", types
assert types["old_number"] == "DOUBLE" and types["custom_field"] == "BOOLEAN", types
columns = rel.columns
duck = [dict(zip(columns, r)) for r in rel.fetchall()]
for row in duck:
    for column in ("entry_date", "old_date", "new_date"):
        if row[column] is not None:
            row[column] = row[column].astimezone(UTC)
assert len(duck) == len(expected)
for i, (got, want) in enumerate(zip(duck, sorted(expected, key=lambda r: (instant(r["entry_date"]), r["id"])))):
    check_row(got, want, f"duckdb row {i}")

print(json.dumps({"rows": len(expected), "pyarrow": len(rows), "duckdb": len(duck)}))
