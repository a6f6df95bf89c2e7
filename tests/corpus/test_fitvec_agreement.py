"""The vectorized FIT decoder (connectors/fitvec.py) against fitparse on every FIT file of the corpus.

For each file, the messages the connector reads (file_id, activity, session, lap, record, event,
device_info, timestamp_correlation, workout, and any message carrying developer fields) must come in the
same order, every field the connector uses must be equal (floats to 1e-9), read through the same name
chains the connector uses (`enhanced_speed` else `speed`, ...), and so must every developer field (data
index, field number, name, units, value). Where fitparse stopped early on a damaged file, the messages it
did decode must agree.

Differences allowed, each for a reason:
- NEWER_PROFILE: fitparse 1.2 carries an older FIT profile, so it gives a number where the Garmin FIT
  SDK's profile (21.x, which fitvec reads) has a name for it: allowed exactly when the SDK profile maps
  fitparse's number to our name (a newer watch, `coros` as a manufacturer, `tank_lost` as an event).
- KNOWN: listed per file and field below, with what the FIT SDK does.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from connectors.base import InputError
from connectors.fit import _WANTED, _activities, _decode_fitvec, _from_messages, fitparse_messages
from connectors.fitvec import messages
from tests.conftest import manifest

pytestmark = pytest.mark.slow

CHAINS: dict[str, list[tuple[str, ...]]] = {
    "file_id": [("type",), ("manufacturer",), ("garmin_product", "product"), ("serial_number",)],
    "activity": [("timestamp",), ("local_timestamp",)],
    "session": [("start_time",), ("timestamp",), ("sport",), ("sub_sport",), ("total_distance",),
                ("total_timer_time",), ("total_elapsed_time",), ("total_ascent",), ("total_descent",),
                ("avg_heart_rate",), ("max_heart_rate",), ("workout_feel", "unknown_192"),
                ("workout_rpe", "unknown_193")],
    "lap": [("start_time",), ("timestamp",), ("total_elapsed_time",), ("total_timer_time",), ("total_distance",),
            ("enhanced_avg_speed", "avg_speed"), ("avg_heart_rate",), ("max_heart_rate",), ("total_ascent",),
            ("total_descent",), ("lap_trigger",), ("intensity",)],
    "record": [("timestamp",), ("position_lat",), ("position_long",), ("enhanced_altitude", "altitude"),
               ("heart_rate",), ("cadence",), ("fractional_cadence",), ("enhanced_speed", "speed"), ("distance",),
               ("power",), ("temperature",)],
    "event": [("timestamp",), ("event",), ("event_type",)],
    "device_info": [("source_type",), ("antplus_device_type", "ble_device_type", "local_device_type",
                                        "ant_device_type", "device_type")],
    "timestamp_correlation": [("timestamp",), ("system_timestamp",)],
    "workout": [("wkt_name",)],
}
# The profile type of each field whose values are names.
ENUM_TYPES = {"type": "file", "manufacturer": "manufacturer", "garmin_product": "garmin_product", "sport": "sport",
              "sub_sport": "sub_sport", "lap_trigger": "lap_trigger", "intensity": "intensity", "event": "event",
              "event_type": "event_type", "source_type": "source_type", "antplus_device_type": "antplus_device_type",
              "ble_device_type": "ble_device_type", "local_device_type": "local_device_type"}
KNOWN = {
    ("sportslib__971150603.fit", "file_id", "serial_number"):
        "serial_number written as four uint32z zeros: zero is the invalid value of a z type, so the SDK "
        "reads no serial number; fitparse returns the zeros",
}

def _rows() -> list[dict[str, str]]:
    try:
        return [r for r in manifest() if r["path"].lower().endswith(".fit")]
    except FileNotFoundError:
        return []


def _first(values: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    return next(((k, values[k]) for k in keys if values.get(k) is not None), (None, None))


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        return all(_same(x, y) for x, y in zip(a, b, strict=True))
    return False


def _newer_profile(key: str, ours: Any, theirs: Any) -> bool:
    from garmin_fit_sdk import Profile

    kind = ENUM_TYPES.get(key)
    return (kind is not None and isinstance(ours, str) and isinstance(theirs, int)
            and Profile["types"].get(kind, {}).get(theirs) == ours)


@pytest.mark.parametrize("row", _rows(), ids=[Path(r["path"]).name for r in _rows()])
def test_fitvec_agrees_with_fitparse(row: dict[str, str], corpus: Path):
    name = Path(row["path"]).name
    data = Path(row["path"]).read_bytes()
    reference, error = fitparse_messages(data)
    try:
        ours, _ = messages(data, _WANTED)
    except ValueError as exc:  # not a FIT file at all: fitparse must have refused it too
        assert error is not None and not reference, exc
        return
    theirs = [m for m in reference if m.name in CHAINS or m.dev]
    mine = [m for m in ours if m.name in CHAINS or m.dev]
    if error is not None:  # fitparse stopped early: what it decoded must agree
        mine = mine[:len(theirs)]
    assert [m.name for m in mine] == [m.name for m in theirs]
    wrong = []
    for index, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        same_dev = len(a.dev) == len(b.dev) and all(
            x[:4] == y[:4] and _same(x[4], y[4]) for x, y in zip(a.dev, b.dev, strict=True))
        if not same_dev:
            wrong.append((index, a.name, "developer fields", a.dev, b.dev))
        for keys in CHAINS.get(a.name, []):
            (key, u), (_, v) = _first(a.values, keys), _first(b.values, keys)
            if _same(u, v) or _newer_profile(key or "", u, v) or (name, a.name, keys[0]) in KNOWN:
                continue
            wrong.append((index, a.name, keys[0], u, v))
    assert not wrong[:10], f"{len(wrong)} differences"


@pytest.mark.parametrize("row", _rows(), ids=[Path(r["path"]).name for r in _rows()])
def test_the_connector_gives_the_same_tables_through_either_decoder(row: dict[str, str], corpus: Path):
    """From the messages to the tables: fitvec's columns and fitparse's dictionaries take different roads
    (connectors/fit.py `_decode_fitvec`, `_from_messages`); every whole file must give the same records,
    laps, developer fields and pauses."""
    data = Path(row["path"]).read_bytes()
    fast = _decode_fitvec(data)
    if fast is None:
        pytest.skip("damaged: fitparse reads it on both roads")
    reference, error = fitparse_messages(data)
    if error is not None:
        pytest.skip(f"fitparse cannot decode it ({error}); the messages test above compares what it did")
    try:
        theirs = _activities(_from_messages(reference, error, "fitparse"), "x.fit")
    except InputError as exc:  # not an activity: fitvec must say the same
        with pytest.raises(type(exc)):
            _activities(fast, "x.fit")
        return
    mine = _activities(fast, "x.fit")
    assert len(mine) == len(theirs)
    for a, b in zip(mine, theirs, strict=True):
        assert a.records.equals(b.records)
        names = {"trigger": "lap_trigger", "intensity": "intensity"}  # where fitparse's older profile has numbers
        assert a.laps.drop_columns(list(names)).equals(b.laps.drop_columns(list(names)))
        for column, key in names.items():
            for u, v in zip(a.laps[column].to_pylist(), b.laps[column].to_pylist(), strict=True):
                assert u == v or (v is not None and v.isdigit() and _newer_profile(key, u, int(v))), (column, u, v)
        assert a.developer_fields.equals(b.developer_fields)
        assert a.pauses == b.pauses
