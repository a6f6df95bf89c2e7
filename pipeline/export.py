"""`kindpace export`: the store's tables for other tools, each export a self-describing Data Package.

What: `activities`, `runs` (every run with its verdict), `weekly`, `monthly`, `records` (the samples). Formats:
CSV (dates a spreadsheet recognises: `2026-11-17 06:30:00`, UTC in the `..._utc`/`start_time`
columns and wall-clock in the `..._local` ones), JSON Lines (one object per line, ISO 8601 instants
with `Z`), Parquet (the store's own types). Beside the files, `datapackage.json` (Frictionless Data
Package v1) gives every column's type, unit and meaning, the time convention, and the schema and
algorithm versions, so that `frictionless validate` and a reader who never saw kindpace both know
what each number is.

Dates (`--since`, `--until`) are local dates of the run's start, both inclusive. `--no-gps` leaves the
positions out; `--trim-gps METRES` blanks every position within that distance of where a run started or
ended, so a home address stays out of what is shared with a coach or therapist.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipeline.assess import RUNNING_SPORTS
from pipeline.normalize import haversine_m
from pipeline.store import Store
from schemas.tables import ACTIVITIES, GENTLENESS, SCHEMA_VERSION, TABLES

WHATS = ("activities", "runs", "weekly", "monthly", "records")
FORMATS = ("csv", "json", "parquet")
_SUFFIX = {"csv": "csv", "json": "jsonl", "parquet": "parquet"}
_MEDIA = {"csv": "text/csv", "json": "application/jsonl", "parquet": "application/vnd.apache.parquet"}
CSV_DATETIME = "%Y-%m-%d %H:%M:%S"

# The verdict's columns that `runs` adds to the activity's (the rest stay in `kindpace explain --json`).
RUN_VERDICT = ("category", "score", "confidence", "basis", "headline", "message", "reasons", "ceiling_bpm",
               "hard_line_bpm", "ceiling_speed_m_s", "ceiling_method", "assessed_s", "calm_s",
               "time_above_ceiling_s", "pct_above_ceiling", "longest_excursion_s", "walk_time_s", "decoupling_pct",
               "intent", "talk", "rpe_cr10", "self_report_source", "algorithm_version", "profile_version")
RUN_ACTIVITY = ("athlete_id", "activity_id", "start_time", "utc_offset_s", "timezone", "start_time_local", "sport",
                "name", "elapsed_time_s", "timer_time_s", "moving_time_s", "distance_m", "ascent_m",
                "avg_heart_rate_bpm", "max_heart_rate_bpm", "avg_speed_m_s", "workout_feel", "workout_rpe")


class ExportError(ValueError):
    """An export that cannot be made as asked (unknown table or format, bad dates)."""


@dataclass(frozen=True)
class Privacy:
    no_gps: bool = False
    trim_m: float | None = None  # blank positions within this distance of a run's start and end


@dataclass(frozen=True)
class Written:
    path: Path
    rows: int


def _activities(store: Store, athlete_id: str, since: date | None, until: date | None) -> pa.Table:
    """The runner's activities whose local start date is within [since, until]."""
    acts = store.read("activities")
    keep = pc.equal(acts["athlete_id"], athlete_id)
    day = pc.cast(acts["start_time_local"], pa.date32())
    if since is not None:
        keep = pc.and_(keep, pc.greater_equal(day, pa.scalar(since, pa.date32())))
    if until is not None:
        keep = pc.and_(keep, pc.less_equal(day, pa.scalar(until, pa.date32())))
    return acts.filter(pc.fill_null(keep, False))


def _runs(store: Store, athlete_id: str, since: date | None, until: date | None) -> pa.Table:
    acts = _activities(store, athlete_id, since, until)
    acts = acts.filter(pc.is_in(acts["sport"], pa.array(RUNNING_SPORTS)))
    verdicts = {v["activity_id"]: v for v in store.read("gentleness").to_pylist() if v["athlete_id"] == athlete_id}
    rows = []
    for a in acts.to_pylist():
        v = verdicts.get(a["activity_id"], {})
        rows.append({**{k: a[k] for k in RUN_ACTIVITY}, **{k: v.get(k) for k in RUN_VERDICT}})
    fields = [ACTIVITIES.field(k) for k in RUN_ACTIVITY]
    fields += [GENTLENESS.field(k).with_nullable(True) for k in RUN_VERDICT]  # a run may have no verdict yet
    return pa.Table.from_pylist(rows, schema=pa.schema(fields))


def _summary(store: Store, name: str, athlete_id: str, since: date | None, until: date | None) -> pa.Table:
    table = store.read(name)
    table = table.filter(pc.equal(table["athlete_id"], athlete_id))
    start, length = ("week_start", 6) if name == "weekly" else ("month_start", 30)
    firsts = table[start].to_pylist()
    keep = [(until is None or first <= until) and (since is None or first + timedelta(days=length) >= since)
            for first in firsts]
    return table.filter(pa.array(keep, pa.bool_()))


def _records(store: Store, athlete_id: str, since: date | None, until: date | None, privacy: Privacy) -> pa.Table:
    acts = _activities(store, athlete_id, since, until)
    parts = [store.read_activity("records", aid) for aid in acts["activity_id"].to_pylist()]
    if privacy.trim_m is not None:
        parts = [_trim(t, privacy.trim_m) for t in parts]
    table = pa.concat_tables(parts) if parts else TABLES["records"].empty_table()
    if privacy.no_gps:
        table = table.drop(["latitude_deg", "longitude_deg"])
    return table


def _trim(records: pa.Table, metres: float) -> pa.Table:
    """Blank the positions within `metres` of the first and the last fix of one activity's records."""
    lat = records["latitude_deg"].to_numpy(zero_copy_only=False).astype(float)
    lon = records["longitude_deg"].to_numpy(zero_copy_only=False).astype(float)
    fixes = np.flatnonzero(~np.isnan(lat) & ~np.isnan(lon))
    if not len(fixes):
        return records
    near = np.zeros(len(lat), dtype=bool)
    for end in (fixes[0], fixes[-1]):
        near |= haversine_m(lat, lon, np.full(len(lat), lat[end]), np.full(len(lon), lon[end])) <= metres
    near &= ~np.isnan(lat)
    for name in ("latitude_deg", "longitude_deg"):
        column = records[name]
        masked = pc.if_else(pa.array(near), pa.nulls(len(near), column.type), column)
        records = records.set_column(records.schema.get_field_index(name), records.schema.field(name), masked)
    return records


def table_for(store: Store, what: str, athlete_id: str, since: date | None = None, until: date | None = None,
              privacy: Privacy = Privacy()) -> pa.Table:
    if what == "activities":
        return _activities(store, athlete_id, since, until)
    if what == "runs":
        return _runs(store, athlete_id, since, until)
    if what in ("weekly", "monthly"):
        return _summary(store, what, athlete_id, since, until)
    if what == "records":
        return _records(store, athlete_id, since, until, privacy)
    raise ExportError(f"unknown export {what!r}: one of {', '.join(WHATS)}")


# --- writing --------------------------------------------------------------------------------------------


def _csv_ready(table: pa.Table) -> pa.Table:
    """Instants and wall-clock times as `YYYY-MM-DD HH:MM:SS`, lists as `a; b`: what spreadsheets read."""
    columns = []
    for field in table.schema:
        column = table[field.name]
        if pa.types.is_timestamp(field.type):
            # whole seconds (the stored times are whole seconds; strftime would add .000), UTC shown without zone
            seconds = column.cast(pa.timestamp("s", tz=field.type.tz), safe=False)
            naive = seconds.cast(pa.timestamp("s", tz="UTC")).cast(pa.timestamp("s")) if field.type.tz else seconds
            column = pc.strftime(naive, format=CSV_DATETIME)
        elif pa.types.is_list(field.type):
            column = pa.array(["; ".join(str(v) for v in items) if items is not None else None
                               for items in column.to_pylist()], pa.string())
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write(table: pa.Table, fmt: str, path: Path) -> None:
    if fmt == "parquet":
        pq.write_table(table, path, compression="zstd")
    elif fmt == "csv":
        pacsv.write_csv(_csv_ready(table), path, pacsv.WriteOptions(quoting_style="needed"))
    elif fmt == "json":
        with open(path, "w", encoding="utf-8") as out:
            for row in table.to_pylist():
                out.write(json.dumps({k: _json_value(v) for k, v in row.items()}, ensure_ascii=False) + "\n")
    else:
        raise ExportError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


def field_descriptor(field: pa.Field, fmt: str) -> dict[str, Any]:
    """A Table Schema field: its type, and its unit and meaning from the store's schema."""
    meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
    unit, doc = meta.get("unit", ""), meta.get("doc", "")
    t = field.type
    out: dict[str, Any] = {"name": field.name}
    if pa.types.is_boolean(t):
        out["type"] = "boolean"
    elif pa.types.is_integer(t):
        out["type"] = "integer"
    elif pa.types.is_floating(t):
        out["type"] = "number"
    elif pa.types.is_date(t):
        out["type"] = "date"
    elif pa.types.is_timestamp(t):
        out["type"] = "datetime"
        if fmt == "csv":
            out["format"] = CSV_DATETIME
        unit = "UTC" if t.tz else "local"
    elif pa.types.is_list(t):
        # JSON: a real array. CSV: one cell, items separated by '; '. Parquet: a list column, which
        # frictionless reads through pandas as a NumPy array that its `array` type refuses, hence `any`.
        out["type"] = {"json": "array", "csv": "string", "parquet": "any"}[fmt]
        doc += {"json": "", "csv": " (items separated by '; ')", "parquet": " (a list of strings)"}[fmt]
    else:
        out["type"] = "string"
    when = {"UTC": " An instant in UTC.", "local": " Wall-clock time where the run was (UTC + utc_offset_s), "
            "no zone."}.get(unit, "")
    out["description"] = (doc + when).strip()
    if unit and unit not in ("UTC", "local"):
        out["unit"] = unit  # kindpace's own property: SI units, spelt as in docs/schema.md
    if not field.nullable:
        out["constraints"] = {"required": True}
    return out


def datapackage(resources: list[dict[str, Any]], created: datetime, algorithm_version: str | None,
                zone: str) -> dict[str, Any]:
    return {
        "profile": "data-package",
        "name": "kindpace-export",
        "title": "kindpace: runs, their gentleness verdicts and summaries",
        "description": (
            "Exported by kindpace. Units are SI (metres, seconds, metres per second, beats per minute) "
            "unless a field says otherwise; shares are 0..1 or, where named pct, 0..100. Instants are UTC "
            "(CSV: 'YYYY-MM-DD HH:MM:SS' in UTC; JSON: ISO 8601 with Z); *_local fields are the wall-clock "
            "time where the run was, and utc_offset_s gives local = UTC + offset. Weeks are ISO weeks in "
            f"the runner's time zone ({zone})."),
        "created": created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kindpace": {"schema_version": SCHEMA_VERSION, "algorithm_version": algorithm_version, "timezone": zone},
        "resources": resources,
    }


def export(store: Store, athlete_id: str, whats: list[str], fmt: str, out: Path, *, since: date | None = None,
           until: date | None = None, privacy: Privacy = Privacy(), zone: str = "UTC",
           now: datetime | None = None) -> list[Written]:
    """Write each table of `whats` in `fmt` into the folder `out`, and `out/datapackage.json`."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    unknown = [w for w in whats if w not in WHATS]
    if unknown:
        raise ExportError(f"unknown export {unknown[0]!r}: one of {', '.join(WHATS)}")
    if since and until and since > until:
        raise ExportError(f"--since {since} is after --until {until}")
    out.mkdir(parents=True, exist_ok=True)
    written, resources = [], []
    for what in dict.fromkeys(whats):
        table = table_for(store, what, athlete_id, since, until, privacy)
        path = out / f"{what}.{_SUFFIX[fmt]}"
        write(table, fmt, path)
        written.append(Written(path, table.num_rows))
        resource: dict[str, Any] = {
            "name": what, "path": path.name, "profile": "tabular-data-resource", "format": _SUFFIX[fmt],
            "mediatype": _MEDIA[fmt], "description": _DESCRIPTIONS[what],
            "schema": {"fields": [field_descriptor(f, fmt) for f in table.schema]},
        }
        if fmt != "parquet":
            resource["encoding"] = "utf-8"
        else:  # frictionless reads Parquet through pandas, where a missing integer or number becomes NaN
            resource["schema"]["missingValues"] = ["", "nan"]
        resources.append(resource)
    versions = store.read("gentleness")["algorithm_version"].to_pylist()
    package = datapackage(resources, now or datetime.now(UTC), max(versions) if versions else None, zone)
    (out / "datapackage.json").write_text(json.dumps(package, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return written


_DESCRIPTIONS = {
    "activities": "One row per activity (runs, walks, rides...), with totals computed from the samples and the "
                  "device's own totals beside them.",
    "runs": "One row per run with its gentleness verdict: the category, the score, the ceiling and how it was set, "
            "the calm and harder seconds, and the message the runner was given.",
    "weekly": "One row per ISO week of the runner's calendar: runs, gentle runs, time on feet, calm-time share, "
              "the gentle-weeks rhythm and the soft ramp note.",
    "monthly": "One row per calendar month of the runner's calendar.",
    "records": "One row per sample of the exported activities.",
}
