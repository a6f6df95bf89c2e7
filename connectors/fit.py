"""FIT connector: the vectorized decoder (connectors/fitvec.py) for every whole file; fitparse, with
fitdecode behind it, for damaged files and as the reference (`--decoder fitparse`).

Every decoder's output meets in `_Decoded`: records and developer values as columns (NumPy arrays, so a
long run is never one Python object per sample) and the few other messages as dictionaries; everything
after it is decoder-independent.

Why a fallback: fitparse 1.2.0 rejects files whose definitions declare a field size that is not a
multiple of the base type (the COROS PACE 2 file of the corpus: "Invalid field size 1 for type
'uint32'"); fitdecode reads such fields as invalid and carries on. Why our own flattening: both
libraries expand `compressed_speed_distance` into a second `distance` field whose value is None on
Zwift files, which overwrites the real distance in a name-keyed dict (fit-decoding.md §3.3); here a
declared field always beats a component expansion, and a value beats None.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from connectors.base import (
    ActivityMeta,
    CorruptFile,
    DecodedActivity,
    NotAnActivity,
    records_table,
    table_from_columns,
)
from connectors.units import semicircles_to_degrees
from schemas.tables import DEVELOPER_FIELD_SCHEMA, LAP_SCHEMA

FIT_MAGIC = b".FIT"

# file_id.type values that hold an activity; every other type is "not an activity".
_ACTIVITY_TYPES = {"activity", 4}

# Messages the connector reads; everything else is skipped after decoding.
_WANTED = {"file_id", "device_info", "session", "lap", "record", "event", "activity", "timestamp_correlation",
           "workout"}

_TIMER_STOPS = {"stop", "stop_all", "stop_disable", "stop_disable_all"}


@dataclass
class _Message:
    name: str
    values: dict[str, Any]
    dev: list[tuple[int, int, str, str | None, Any]] = field(default_factory=list)
    segment: int = 0  # which of the chained FIT files in one file it came from


@dataclass
class _Rows:
    """Rows held as columns: NumPy arrays of one length. `time` is in FIT seconds (NaN where none;
    below `_RELATIVE_TIME_LIMIT` they count from the device's power-on), `segment` the chained file."""

    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.columns["time"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def take(self, rows: np.ndarray) -> _Rows:
        """The rows a boolean mask keeps (these rows themselves where it keeps them all)."""
        if rows.all():
            return self
        return _Rows({k: v[rows] for k, v in self.columns.items()})


# What a record carries into the records table, as decoded (positions in semicircles).
_RECORD_VALUES = ("position_lat", "position_long", "enhanced_altitude", "altitude", "heart_rate", "cadence",
                  "fractional_cadence", "enhanced_speed", "speed", "distance", "power", "temperature")
# What names one developer field; a value row carries an index into the file's list of them.
_DEV_KEYS = ("message", "developer_data_index", "field_number", "name", "units")


@dataclass
class _Decoded:
    messages: list[_Message]  # every message but the records
    records: _Rows  # time, segment and _RECORD_VALUES
    dev: _Rows  # one row per developer value: time, segment, value, key (an index into dev_keys), value_text
    decoder: str
    error: str | None  # why decoding stopped early, None when the whole file decoded
    dev_keys: list[tuple[Any, ...]] = field(default_factory=list)  # the _DEV_KEYS of each developer field


def looks_like_fit(data: bytes) -> bool:
    return len(data) >= 12 and data[8:12] == FIT_MAGIC


# The fields the connector reads, per message: what the vectorized decoder converts.
FIELDS_USED: dict[str, set[str]] = {
    "file_id": {"type", "manufacturer", "product", "garmin_product", "serial_number"},
    "activity": {"timestamp", "local_timestamp"},
    "session": {"start_time", "timestamp", "sport", "sub_sport", "total_distance", "total_timer_time",
                "total_elapsed_time", "total_ascent", "total_descent", "avg_heart_rate", "max_heart_rate",
                "workout_feel", "workout_rpe", "unknown_192", "unknown_193"},
    "lap": {"start_time", "timestamp", "total_elapsed_time", "total_timer_time", "total_distance",
            "enhanced_avg_speed", "avg_speed", "avg_heart_rate", "max_heart_rate", "total_ascent", "total_descent",
            "lap_trigger", "intensity", "sport", "sub_sport"},
    "record": {"timestamp", *_RECORD_VALUES},
    "event": {"timestamp", "event", "event_type"},
    "device_info": {"timestamp", "source_type", "antplus_device_type", "ble_device_type", "local_device_type",
                    "device_type"},
    "timestamp_correlation": {"timestamp", "system_timestamp"},
    "workout": {"wkt_name"},
}
DECODERS = ("fitvec", "fitparse")


def default_decoder() -> str:
    """KINDPACE_FIT_DECODER (`kindpace import --decoder`), else the vectorized decoder."""
    chosen = os.environ.get("KINDPACE_FIT_DECODER", "fitvec")
    return chosen if chosen in DECODERS else "fitvec"


def decode_fit(data: bytes, path: str, decoder: str | None = None) -> list[DecodedActivity]:
    """Decode one FIT file into one activity per session, or raise an InputError naming the reason.

    The vectorized decoder (connectors/fitvec.py) reads every whole file; fitparse (with fitdecode behind
    it) reads damaged ones, whose salvage rules were built on those two.
    """
    if len(data) == 0:
        raise CorruptFile(path, "empty file (0 bytes)")
    if not looks_like_fit(data):
        raise CorruptFile(path, "not a FIT file: no '.FIT' signature in the header", offset=8)
    if (decoder or default_decoder()) == "fitvec":
        fast = _decode_fitvec(data)
        if fast is not None:
            return _activities(fast, path)
    decoded = _decode_fitparse(data)
    if decoded.error is not None and not _is_crc_error(decoded.error):
        # fitparse stopped early for a reason fitdecode may not share; keep whichever read further.
        other = _decode_fitdecode(data)
        if other.error is None or len(other.records) > len(decoded.records):
            decoded = other
    return _activities(decoded, path)


def _is_crc_error(reason: str) -> bool:
    return "CRC" in reason




# --- decoding ---------------------------------------------------------------------------------------


def _flatten(name: str, fields: Iterable[Any]) -> _Message:
    """One message's fields into a dict: a declared field beats a component expansion, a value beats None."""
    values: dict[str, Any] = {}
    declared: set[str] = set()
    dev: list[tuple[int, int, str, str | None, Any]] = []
    for fd in fields:
        kind = type(fd.field_def).__name__
        if kind == "DevFieldDefinition":
            dev.append((int(fd.field_def.dev_data_index), int(fd.def_num), str(fd.name), fd.units, fd.value))
            continue
        key, value = fd.name, fd.value
        is_declared = fd.field_def is not None
        current = values.get(key)
        if (
            key not in values
            or (current is None and value is not None)
            or (is_declared and key not in declared and value is not None)
        ):
            values[key] = value
            if is_declared:
                declared.add(key)
    return _Message(name, values, dev)


def _decode_fitvec(data: bytes) -> _Decoded | None:
    """The file through fitvec, or None where fitparse should read it (see decode_fit)."""
    from connectors import fitvec

    try:
        framing = fitvec.frame(data)
    except fitvec.FitFormatError:
        return None
    if framing.error is not None or not all(framing.crc_ok):
        return None
    decoded = fitvec.decode(data, set(_WANTED), FIELDS_USED, framing=framing)
    times = np.full(len(framing.offsets), np.nan)  # every message's timestamp, for its developer values
    for table in decoded.tables.values():
        if table.kinds.get("timestamp") == fitvec.TIME:
            times[table.order] = table.values["timestamp"]
    segments = _segments_by_file_id(decoded)
    others = [_Message(m.name, m.values, [], int(segments[m.position]))
              for m in fitvec.as_messages(decoded, _WANTED - {"record"}, developer=False)]
    records = _empty_records()
    record_table = decoded.tables.get(fitvec.message_number("record") or -1)
    if record_table is not None:
        def column(name: str) -> np.ndarray:
            if name not in record_table.values:
                return np.full(len(record_table.order), np.nan)
            if record_table.kinds[name] == fitvec.OBJECT:  # array-valued fields (some devices write lists)
                return _floats(record_table.values[name].tolist())
            return record_table.values[name]  # type: ignore[no-any-return]

        records = _Rows({"time": times[record_table.order], "segment": segments[record_table.order],
                         **{name: column(name) for name in _RECORD_VALUES}})
    dev = _empty_dev()
    keys = [(c.message, c.developer_data_index, c.field_number, c.name, c.units) for c in decoded.dev]
    if decoded.dev:
        position = np.concatenate([c.positions for c in decoded.dev])
        order = np.argsort(position, kind="stable")  # file order, as the other decoders give them
        columns = {"time": times[position], "segment": segments[position],
                   "value": np.concatenate([c.numbers for c in decoded.dev]),
                   "key": np.repeat(np.arange(len(keys)), [len(c.positions) for c in decoded.dev])}
        if any(c.others is not None for c in decoded.dev):
            columns["value_text"] = _objects([None if v is None else _text(v) for c in decoded.dev
                                              for v in (c.others or [None] * len(c.positions))])
        dev = _Rows({k: v[order] for k, v in columns.items()})
    return _Decoded(others, records, dev, "fitvec", None, keys)


def _segments_by_file_id(decoded: Any) -> np.ndarray:
    """Each message's chained segment, counted the way `_number_segments` counts fitparse's messages: one
    more at each file_id after the first message the connector reads."""
    from connectors import fitvec

    n = len(decoded.framing.offsets)
    read = [t.order for num, t in decoded.tables.items() if fitvec.message_name(num) in _WANTED]
    read += [c.positions for c in decoded.dev]
    file_ids = decoded.tables.get(fitvec.message_number("file_id"))
    if file_ids is None or not read:
        return np.zeros(n, dtype=np.int64)
    first = min(int(r.min()) for r in read if len(r))
    later = file_ids.order[file_ids.order > first]
    return np.searchsorted(later, np.arange(n), side="right").astype(np.int64)  # type: ignore[no-any-return]


def _decode_fitparse(data: bytes) -> _Decoded:
    return _from_messages(*fitparse_messages(data), "fitparse")


def fitparse_messages(data: bytes) -> tuple[list[_Message], str | None]:
    """The messages the connector reads, through fitparse (the reference), and why it stopped early."""
    import fitparse

    messages: list[_Message] = []
    try:
        fit = fitparse.FitFile(io.BytesIO(data), check_crc=True)
        for msg in fit.get_messages():
            if msg.name in _WANTED or _has_dev(msg.fields):
                messages.append(_flatten(msg.name, msg.fields))
    except (fitparse.FitParseError, ValueError, KeyError, IndexError, TypeError, OverflowError, struct.error,
            AssertionError) as exc:  # both readers check some of their input with assert
        return messages, _reason(exc)
    return messages, None


def _decode_fitdecode(data: bytes) -> _Decoded:
    import fitdecode

    messages: list[_Message] = []
    try:
        # WARN, not RAISE: fitdecode then reads a field whose size does not fit its type as invalid
        # and goes on, which is exactly what fitparse cannot do. Its warnings are not ours to print.
        with warnings.catch_warnings(), fitdecode.FitReader(
            io.BytesIO(data),
            check_crc=fitdecode.CrcCheck.RAISE,
            error_handling=fitdecode.ErrorHandling.WARN,
        ) as reader:
            warnings.simplefilter("ignore")
            for frame in reader:
                if isinstance(frame, fitdecode.FitDataMessage) and (
                    frame.name in _WANTED or _has_dev(frame.fields)
                ):
                    messages.append(_flatten(frame.name, frame.fields))
    except (fitdecode.FitError, ValueError, KeyError, IndexError, TypeError, OverflowError, struct.error,
            AssertionError) as exc:
        return _from_messages(messages, _reason(exc), "fitdecode")
    return _from_messages(messages, None, "fitdecode")


def _from_messages(messages: list[_Message], error: str | None, decoder: str) -> _Decoded:
    """fitparse's or fitdecode's messages, the records and developer values turned into columns."""
    messages = _number_segments(messages)
    records = [m for m in messages if m.name == "record"]
    rows = [m.values for m in records]
    columns = {name: _floats([_num(v.get(name)) for v in rows]) for name in _RECORD_VALUES}
    record_rows = _Rows({"time": _floats([_fit_seconds(v.get("timestamp")) for v in rows]),
                         "segment": np.array([m.segment for m in records], dtype=np.int64), **columns})
    dev: dict[str, list[Any]] = {name: [] for name in ("time", "segment", "value", "key", "value_text")}
    keys: dict[tuple[Any, ...], int] = {}
    for m in messages:
        stamp = _fit_seconds(m.values.get("timestamp"))
        for index, number, name, units, value in m.dev:
            key = keys.setdefault((m.name, index, number, name, units), len(keys))
            text = None if _num(value) is not None or value is None else _text(value)
            for column, item in zip(dev, (stamp, m.segment, _num(value), key, text), strict=True):
                dev[column].append(item)
    dev_rows = _Rows({"time": _floats(dev["time"]), "segment": np.array(dev["segment"], dtype=np.int64),
                      "value": _floats(dev["value"]), "key": np.array(dev["key"], dtype=np.int64),
                      "value_text": _objects(dev["value_text"])})
    others = [m for m in messages if m.name != "record"]
    return _Decoded(others, record_rows if records else _empty_records(), dev_rows, decoder, error, list(keys))


def _floats(values: list[Any]) -> np.ndarray:
    """Numbers (None: NaN) as a float64 array; anything else (lists some devices write) is NaN."""
    return np.array([v if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan for v in values],
                    dtype=np.float64)


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _empty_records() -> _Rows:
    return _Rows({"time": np.zeros(0), "segment": np.zeros(0, np.int64),
                  **{name: np.zeros(0) for name in _RECORD_VALUES}})


def _empty_dev() -> _Rows:
    return _Rows({"time": np.zeros(0), "segment": np.zeros(0, np.int64), "value": np.zeros(0),
                  "key": np.zeros(0, np.int64)})


def _fit_seconds(value: Any) -> float | None:
    """A decoded FIT instant as seconds on the FIT clock: naive UTC datetimes, or power-on-relative ints."""
    if isinstance(value, datetime):
        return ((value.replace(tzinfo=UTC) if value.tzinfo is None else value) - _FIT_EPOCH).total_seconds()
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32:
        return float(value)
    return None


def _has_dev(fields: Iterable[Any]) -> bool:
    return any(type(fd.field_def).__name__ == "DevFieldDefinition" for fd in fields)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    kind = type(exc).__name__
    if "CRC" in kind or "crc" in text.lower():
        return f"file CRC mismatch ({text})"
    if "EOF" in kind or "eof" in text.lower():
        return f"file ends early, truncated ({text})"
    return f"{kind}: {text}"


# --- messages -> activities -------------------------------------------------------------------------


_FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
# FIT date_time values below this are not dates but seconds since the device powered up.
_RELATIVE_TIME_LIMIT = 0x10000000
_TIME_KEYS = ("timestamp", "start_time")


def _absolute_times(decoded: _Decoded) -> str | None:
    """Turn power-on-relative times into UTC where a timestamp_correlation message maps them.

    Returns a warning when the file has relative times and nothing to map them with.
    """
    messages = decoded.messages
    relative = [m for m in messages if any(_is_relative(m.values.get(k)) for k in _TIME_KEYS)]
    columns = [rows["time"] for rows in (decoded.records, decoded.dev)]
    if not relative and not any((t < _RELATIVE_TIME_LIMIT).any() for t in columns):
        return None
    correlation = next((m.values for m in messages if m.name == "timestamp_correlation"
                        and isinstance(m.values.get("timestamp"), datetime)
                        and _is_relative(m.values.get("system_timestamp"))), None)
    if correlation is None:
        return ("the device's clock was not set: its times count from power-on, so the date shown "
                "(around 1990) is not the real one")
    anchor = _utc(correlation["timestamp"]) - timedelta(seconds=correlation["system_timestamp"])  # type: ignore[operator]
    for m in relative:
        for key in _TIME_KEYS:
            if _is_relative(m.values.get(key)):
                m.values[key] = anchor + timedelta(seconds=m.values[key])
    shift = (anchor - _FIT_EPOCH).total_seconds()  # type: ignore[operator]
    for t in columns:
        t[t < _RELATIVE_TIME_LIMIT] += shift
    return None


def _is_relative(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _RELATIVE_TIME_LIMIT


def _utc(value: Any) -> datetime | None:
    """A FIT instant as an aware UTC datetime.

    Both decoders leave date_time values below 0x10000000 (power-on-relative) as raw integers; the ones
    `_absolute_times` could not map are read as seconds since the FIT epoch (1989-12-31T00:00Z).
    """
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32:
        return _FIT_EPOCH + timedelta(seconds=value)
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _int(value: Any) -> int | None:
    number = _num(value)
    return None if number is None else int(round(number))


def _first(values: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if values.get(key) is not None:
            return values[key]
    return None


def _file_types(messages: list[_Message]) -> list[Any]:
    return [m.values.get("type") for m in messages if m.name == "file_id"]


def _number_segments(messages: list[_Message]) -> list[_Message]:
    """Each chained FIT file starts with its own file_id: number the segments in file order."""
    segment = 0
    for i, m in enumerate(messages):
        if m.name == "file_id" and i > 0:
            segment += 1
        m.segment = segment
    return messages


def _activities(decoded: _Decoded, path: str) -> list[DecodedActivity]:
    messages = decoded.messages
    clock_note = _absolute_times(decoded)
    types = [t for t in _file_types(messages) if t is not None]
    sessions = [m for m in messages if m.name == "session"]
    if types and not any(t in _ACTIVITY_TYPES for t in types):
        kinds = ", ".join(sorted({str(t) for t in types}))
        raise NotAnActivity(path, f"FIT file of type {kinds}, not an activity")
    timed = decoded.records.take(~np.isnan(decoded.records["time"]))
    timed_at = timed["time"] + _FIT_EPOCH.timestamp()  # POSIX seconds
    if not len(timed) and not sessions:
        if decoded.error is not None:
            raise CorruptFile(path, f"nothing usable decoded: {decoded.error}")
        what = "no file_id, " if not types else ""
        raise NotAnActivity(path, f"FIT file holds {what}no timestamped records and no session")

    notes: list[str] = []
    if not types:
        notes.append("no file_id message: treated as an activity because it holds records")
    if decoded.decoder == "fitdecode":
        notes.append("decoded with fitdecode: fitparse could not decode this file")
    if clock_note:
        notes.append(clock_note)
    partial = decoded.error
    if partial is not None:
        notes.append(f"partial: {partial}; kept the {len(timed)} records decoded before it")

    file_meta = _file_meta(messages)
    first_record = datetime.fromtimestamp(float(timed_at[0]), UTC) if len(timed) else None
    starts = _session_starts(sessions, first_record)
    n_sessions = max(1, len(sessions))
    by_segment: dict[int, list[int]] = {}
    for i, s in enumerate(sessions):
        by_segment.setdefault(s.segment, []).append(i)

    def assign(segments: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """The session of each item (POSIX seconds, NaN where unknown): one of its own chained segment's
        sessions where it has any (chained activities may overlap in time), the last that started at or
        before the item's time."""
        owners = np.zeros(len(keys), dtype=np.int64)
        if n_sessions == 1:
            return owners
        for segment in np.unique(segments):
            chosen = np.array(by_segment.get(int(segment)) or range(n_sessions))
            candidates = np.maximum.accumulate(starts[chosen])
            here = segments == segment
            at = np.where(np.isnan(keys[here]), candidates[0], keys[here])
            owners[here] = chosen[np.clip(np.searchsorted(candidates, at, side="right") - 1, 0, len(chosen) - 1)]
        return owners

    def assign_messages(items: list[_Message], *keys: str) -> np.ndarray:
        times = [_utc(_first(m.values, *keys)) for m in items]
        return assign(np.array([m.segment for m in items], dtype=np.int64),
                      np.array([t.timestamp() if t else np.nan for t in times], dtype=np.float64))

    rec_session = assign(timed["segment"], timed_at)
    laps = [m for m in messages if m.name == "lap"]
    lap_session = assign_messages(laps, "start_time", "timestamp")
    dev_session = assign(decoded.dev["segment"], decoded.dev["time"] + _FIT_EPOCH.timestamp())
    segment_pauses = _pauses(messages)
    pauses = [(stop, start) for stop, start, _ in segment_pauses]
    pause_session = assign(np.array([segment for _, _, segment in segment_pauses], dtype=np.int64),
                           np.array([p[0].timestamp() for p in pauses], dtype=np.float64))

    out = []
    for i in range(n_sessions):
        session = sessions[i].values if sessions else {}
        out.append(
            DecodedActivity(
                source_format="fit",
                decoder=decoded.decoder,
                session_index=i,
                meta=replace(_session_meta(file_meta, session, messages, first_record),
                             distance_from_zero=not sessions or by_segment[sessions[i].segment][0] == i),
                records=_records(timed.take(rec_session == i)),
                laps=_laps(_of_session(laps, lap_session, i)),
                developer_fields=_developer_fields(decoded.dev.take(dev_session == i), decoded.dev_keys),
                pauses=tuple(_of_session(pauses, pause_session, i)),
                partial_reason=partial,
                warnings=tuple(notes),
            )
        )
    return out


def _of_session(items: list[Any], owners: np.ndarray, index: int) -> list[Any]:
    return [item for item, owner in zip(items, owners, strict=True) if owner == index]


def _session_starts(sessions: list[_Message], first_record: datetime | None) -> np.ndarray:
    starts = []
    for s in sessions:
        t = _utc(_first(s.values, "start_time", "timestamp"))
        starts.append(t.timestamp() if t else np.nan)
    arr = np.array(starts, dtype=np.float64)
    if len(arr) and np.isnan(arr).any():
        arr = np.where(np.isnan(arr), first_record.timestamp() if first_record else 0.0, arr)
    return arr


def _records(records: _Rows) -> Any:
    def value(*names: str) -> np.ndarray:
        column = records[names[0]]
        for name in names[1:]:
            column = np.where(np.isnan(column), records[name], column)
        return column

    millis = np.round((records["time"] + _FIT_EPOCH.timestamp()) * 1000).astype(np.int64)
    return records_table(
        {
            "timestamp": millis.astype("datetime64[ms]"),
            "latitude_deg": semicircles_to_degrees(records["position_lat"]),
            "longitude_deg": semicircles_to_degrees(records["position_long"]),
            "altitude_m": value("enhanced_altitude", "altitude"),
            "heart_rate_bpm": np.round(records["heart_rate"]),
            "cadence_rpm": records["cadence"] + np.nan_to_num(records["fractional_cadence"]),
            "speed_m_s": value("enhanced_speed", "speed"),
            "distance_m": records["distance"],
            "power_w": records["power"],
            "temperature_c": records["temperature"],
        }
    )


def _laps(laps: list[_Message]) -> Any:
    rows = [m.values for m in laps]

    def column(*keys: str, convert: Any = _num) -> list[Any]:
        return [convert(_first(v, *keys)) for v in rows]

    def text(key: str) -> list[str | None]:
        return [None if v.get(key) is None else str(v[key]) for v in rows]

    return table_from_columns(
        LAP_SCHEMA,
        {
            "start_time": column("start_time", convert=_utc),
            "end_time": column("timestamp", convert=_utc),
            "elapsed_time_s": column("total_elapsed_time"),
            "timer_time_s": column("total_timer_time"),
            "distance_m": column("total_distance"),
            "avg_speed_m_s": column("enhanced_avg_speed", "avg_speed"),
            "avg_heart_rate_bpm": column("avg_heart_rate", convert=_int),
            "max_heart_rate_bpm": column("max_heart_rate", convert=_int),
            "ascent_m": column("total_ascent"),
            "descent_m": column("total_descent"),
            "trigger": text("lap_trigger"),
            "intensity": text("intensity"),
        },
        len(rows),
    )


def _developer_fields(dev: _Rows, keys: list[tuple[Any, ...]]) -> Any:
    """The developer values as a DEVELOPER_FIELD_SCHEMA table: each field's names looked up by its key
    in Arrow (a file of many developer fields holds tens of thousands of values)."""
    if not len(dev):
        return _NO_DEVELOPER_FIELDS
    millis = np.round((dev["time"] + _FIT_EPOCH.timestamp()) * 1000)
    stamps = np.where(np.isnan(millis), 0, millis).astype(np.int64).astype("datetime64[ms]")
    stamps[np.isnan(millis)] = np.datetime64("NaT")
    codes = pa.array(dev["key"])
    named = {name: pa.array([k[i] for k in keys], DEVELOPER_FIELD_SCHEMA.field(name).type).take(codes)
             for i, name in enumerate(_DEV_KEYS)}
    return table_from_columns(DEVELOPER_FIELD_SCHEMA, {**named, "value": dev["value"], "timestamp": stamps,
                                                       "value_text": dev.columns.get("value_text")}, len(dev))


_NO_DEVELOPER_FIELDS = DEVELOPER_FIELD_SCHEMA.empty_table()


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join("" if v is None else str(v) for v in value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _pauses(messages: list[_Message]) -> list[tuple[datetime, datetime, int]]:
    """Timer stop -> next timer start intervals, from the event messages, with their chained segment."""
    pauses = []
    stopped_at: datetime | None = None
    for m in messages:
        if m.name != "event" or m.values.get("event") != "timer":
            continue
        stamp = _utc(m.values.get("timestamp"))
        kind = m.values.get("event_type")
        if stamp is None:
            continue
        if kind in _TIMER_STOPS and stopped_at is None:
            stopped_at = stamp
        elif kind == "start" and stopped_at is not None:
            if stamp > stopped_at:
                pauses.append((stopped_at, stamp, m.segment))
            stopped_at = None
    return pauses


def _file_meta(messages: list[_Message]) -> dict[str, Any]:
    file_id = next((m.values for m in messages if m.name == "file_id" and m.values.get("type") in _ACTIVITY_TYPES),
                   next((m.values for m in messages if m.name == "file_id"), {}))
    activity = next((m.values for m in messages if m.name == "activity"), {})
    offset = None
    stamp, local = _utc(activity.get("timestamp")), activity.get("local_timestamp")
    if stamp is not None and isinstance(local, datetime):
        offset = _sane_offset((local.replace(tzinfo=UTC) - stamp).total_seconds())
    product = _first(file_id, "garmin_product", "product")
    sensors = sorted({s for m in messages if m.name == "device_info" and (s := _sensor(m.values))})
    serial = file_id.get("serial_number")
    return {
        "manufacturer": None if file_id.get("manufacturer") is None else str(file_id["manufacturer"]),
        "product": None if product is None else str(product),
        "device_serial": None if serial is None else str(serial),
        "utc_offset_s": offset,
        "sensors": tuple(sensors),
    }


# FIT profile `local_device_type` values worth naming: the watch's own optical heart-rate sensor.
_LOCAL_SENSORS = {10: "wrist_heart_rate"}


def _sensor(info: dict[str, Any]) -> str | None:
    """A device_info message as "type/source" for a sensor that measures the runner, else None."""
    source = info.get("source_type")
    kind = _first(info, "antplus_device_type", "ble_device_type", "local_device_type", "device_type")
    if source == "local":
        name = _LOCAL_SENSORS.get(kind) if isinstance(kind, int) else kind
        return f"{name}/local" if name in _LOCAL_SENSORS.values() else None
    if source in ("antplus", "bluetooth_low_energy", "bluetooth") and kind is not None:
        return f"{kind}/{source}"
    return None


def _sane_offset(seconds: float) -> int | None:
    """A device's local-time offset, if it is one real zones use: within +-14 h, on a quarter hour."""
    quarter = round(seconds / 900.0) * 900
    if abs(seconds - quarter) > 60 or abs(quarter) > 14 * 3600:
        return None
    return int(quarter)


def _session_meta(file_meta: dict[str, Any], s: dict[str, Any], messages: list[_Message],
                  first_record: datetime | None) -> ActivityMeta:
    start = _utc(_first(s, "start_time")) or first_record
    sport = s.get("sport")
    sub_sport = s.get("sub_sport")
    if sport is None:
        sport_msg = next((m.values for m in messages if m.name in ("sport", "lap") and m.values.get("sport")), {})
        sport, sub_sport = sport_msg.get("sport"), sub_sport or sport_msg.get("sub_sport")
    return ActivityMeta(
        sport=None if sport is None else str(sport),
        sub_sport=None if sub_sport is None else str(sub_sport),
        start_time=start,
        total_distance_m=_num(s.get("total_distance")),
        total_timer_time_s=_num(s.get("total_timer_time")),
        total_elapsed_time_s=_num(s.get("total_elapsed_time")),
        total_ascent_m=_num(s.get("total_ascent")),
        total_descent_m=_num(s.get("total_descent")),
        avg_heart_rate_bpm=_int(s.get("avg_heart_rate")),
        max_heart_rate_bpm=_int(s.get("max_heart_rate")),
        workout_feel=_feel(_first(s, "workout_feel", "unknown_192")),
        workout_rpe=_feel(_first(s, "workout_rpe", "unknown_193")),
        workout_name=next((str(m.values["wkt_name"]) for m in messages
                           if m.name == "workout" and m.values.get("wkt_name")), None),
        **file_meta,
    )


def _feel(value: Any) -> int | None:
    number = _int(value)
    return number if number is not None and 0 <= number <= 100 else None

