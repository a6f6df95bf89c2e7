"""Print docs/schema.md from the schemas themselves: `python -m schemas.docgen > docs/schema.md`."""

from __future__ import annotations

from schemas.tables import SCHEMA_VERSION, TABLE_DOCS, TABLES


def render() -> str:
    lines = [
        "# Stored tables",
        "",
        f"Schema version **{SCHEMA_VERSION}**. Generated from `schemas/tables.py` by "
        "`python -m schemas.docgen`; do not edit by hand.",
        "",
        "Every table is a folder `STORE/<table>/` of Parquet files, partitioned by athlete "
        "(`STORE/<table>/athlete=ID/`, hive style); read one athlete's as a table with "
        "`duckdb.sql(\"select * from read_parquet('STORE/<table>/athlete=ID/*.parquet')\")`, "
        "`pyarrow.dataset.dataset('STORE/<table>/athlete=ID')` or "
        "`polars.read_parquet('STORE/<table>/athlete=ID/*.parquet')`, "
        "and every athlete's with `read_parquet('STORE/<table>/*/*.parquet')` or "
        "`pyarrow.dataset.dataset('STORE/<table>', partitioning='hive')`: hive readers add the column `athlete` "
        "(equal to `athlete_id`) and read only the folders a filter on it names. Activity ids are unique within "
        "an athlete: join two athletes' tables on (`athlete_id`, `activity_id`). Units are SI; instants are UTC, "
        "with the local offset in `utc_offset_s` (local time = UTC + offset). Files are Parquet 2.6: the whole tables "
        "zstd-compressed, a run's records and developer fields LZ4 (LZ4_RAW: quicker to write, once per run; "
        "min/max statistics only for `timestamp`), a run's laps uncompressed; floats in the BYTE_STREAM_SPLIT "
        "encoding (pyarrow, DuckDB 0.10 and later, polars and Spark 3.3 and later read them).",
        "",
    ]
    for name, schema in TABLES.items():
        lines += [f"## `{name}`", "", TABLE_DOCS[name], "", "| column | type | unit | null | meaning |",
                  "|---|---|---|---|---|"]
        for field in schema:
            meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
            lines.append(
                f"| `{field.name}` | {field.type} | {meta.get('unit', '')} | "
                f"{'yes' if field.nullable else 'no'} | {meta.get('doc', '')} |"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
