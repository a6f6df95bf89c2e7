"""What every connector returns, and the one error family it raises.

A connector takes the bytes of one file (and its path, for messages) and returns one
`DecodedActivity` per activity in it, or raises an `InputError` subclass that names the file and the
reason. The pipeline never needs to know which library decoded the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute

from schemas.tables import DEVELOPER_FIELD_SCHEMA, LAP_SCHEMA, RECORD_SCHEMA


class KindpaceError(Exception):
    """Root of every error kindpace raises on purpose."""


class InputError(KindpaceError):
    """A problem with one input file. The batch carries on; the file gets an outcome."""

    outcome = "quarantined"

    def __init__(self, path: str, reason: str, offset: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.offset = offset
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{path}: {reason}{where}")

    def __reduce__(self) -> tuple[Any, ...]:  # travels whole between the import's worker processes
        return type(self), (self.path, self.reason, self.offset)


class CorruptFile(InputError):
    """The file is damaged and nothing usable could be salvaged: quarantine it."""

    outcome = "quarantined"


class NotAnActivity(InputError):
    """A readable file that holds no activity (settings, workout, course, waypoints...)."""

    outcome = "not_activity"


class UnsupportedFormat(InputError):
    """A format the importer does not read."""

    outcome = "skipped"


class Unavailable(InputError):
    """A file that could not be read this time (gone since it was listed, its drive unplugged, an I/O
    error) or not written because the store could not be: nothing of it is recorded, so the next run
    reads it again."""

    outcome = "waiting"


@dataclass(frozen=True)
class ActivityMeta:
    """What a file says about an activity as a whole. Device totals are kept as the device wrote them."""

    sport: str | None = None  # as written: FIT sport name, GPX <type>
    sub_sport: str | None = None
    name: str | None = None
    manufacturer: str | None = None
    product: str | None = None
    device_serial: str | None = None
    start_time: datetime | None = None  # UTC, tz-aware
    utc_offset_s: int | None = None  # from the file itself (FIT activity.local_timestamp)
    total_distance_m: float | None = None
    total_timer_time_s: float | None = None
    total_elapsed_time_s: float | None = None
    total_ascent_m: float | None = None
    total_descent_m: float | None = None
    avg_heart_rate_bpm: int | None = None
    max_heart_rate_bpm: int | None = None
    workout_feel: int | None = None  # Garmin session field 192, 0..100
    workout_rpe: int | None = None  # Garmin session field 193, 0..100
    workout_name: str | None = None  # the structured workout the runner followed (FIT workout.wkt_name)
    # The records' cumulative distance counts from zero at this activity's start; False for the later
    # sessions of a multisport file, which may carry the distance over from the sessions before.
    distance_from_zero: bool = True
    # Sensors the device reported (FIT device_info), as "type/source", e.g. "heart_rate/antplus" for a
    # chest strap or "wrist_heart_rate/local" for the watch's optical sensor.
    sensors: tuple[str, ...] = ()


@dataclass(frozen=True)
class DecodedActivity:
    """One activity as decoded from one file, columns in `schemas.tables.RECORD_SCHEMA` order."""

    source_format: str  # "fit" | "gpx"
    decoder: str  # library that decoded it
    session_index: int
    meta: ActivityMeta
    records: pa.Table  # RECORD_SCHEMA, sorted by timestamp
    laps: pa.Table = field(default_factory=lambda: LAP_SCHEMA.empty_table())
    developer_fields: pa.Table = field(default_factory=lambda: DEVELOPER_FIELD_SCHEMA.empty_table())
    pauses: tuple[tuple[datetime, datetime], ...] = ()  # timer stopped from..to (UTC)
    partial_reason: str | None = None  # set when the file was damaged and only part decoded
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.records.schema.equals(RECORD_SCHEMA):
            raise TypeError(f"records must use RECORD_SCHEMA, got {self.records.schema}")


def table_from_columns(schema: pa.Schema, columns: dict[str, object], n: int) -> pa.Table:
    """Build a table of `schema` from named columns of length `n`; absent columns are all null.

    None and NaN become null, so decoders can hand over plain lists or NumPy arrays (or Arrow arrays of
    the schema's type, taken as they are).
    """
    unknown = set(columns) - set(schema.names)
    if unknown:
        raise KeyError(f"columns not in the schema: {sorted(unknown)}")
    arrays = [
        pa.nulls(n, f.type) if columns.get(f.name) is None
        else columns[f.name] if isinstance(columns[f.name], pa.Array)
        else pa.array(columns[f.name], type=f.type, from_pandas=True)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def records_table(columns: dict[str, object]) -> pa.Table:
    """A RECORD_SCHEMA table sorted by time; samples without a timestamp cannot be placed and are dropped."""
    n = len(columns["timestamp"])  # type: ignore[arg-type]
    table = table_from_columns(RECORD_SCHEMA, columns, n)
    if table["timestamp"].null_count:
        table = table.filter(pa.compute.is_valid(table["timestamp"]))
    times = table["timestamp"].to_numpy()
    if len(times) > 1 and (times[1:] < times[:-1]).any():  # most files are in order: no copy then
        table = table.sort_by("timestamp")
    return table
