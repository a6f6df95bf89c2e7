"""Whole-corpus reference tests for the FIT connector and the totals normalization computes from it.

Every MANIFEST row with kind == "activity" and a .fit path, one test per file and test group:

1. `test_records_match_reference`: the connector's records (all sessions concatenated) against an
   independent decoding (`tests/corpus/reference.py`): fitdecode used directly, or the Garmin FIT
   SDK for the files the connector itself decoded with fitdecode. Same number of timestamped
   records, and every timestamp (epoch ms, exact), position, altitude, heart rate, cadence
   (cadence + fractional_cadence), speed, distance, power and temperature equal: floats to 1e-6
   relative, nulls where the reference has nulls.
2. `test_session_totals_match_device`: for every session, `pipeline.normalize.normalize` computes
   distance, timer time and elapsed time from the records; they must agree with the device's own
   session totals within DISTANCE_TOLERANCE / TIME_TOLERANCE. Exceptions are listed per session
   and quantity, each with the reason, in TOTALS_EXCEPTIONS (the file is genuinely different) and
   TOTALS_KNOWN_ISSUES (connector or normalization issues, xfailed). Both lists are strict: an
   entry that starts agreeing fails the test until it is removed.

The connector's output is cached per file content for the session (`_decoded`), so the two groups
decode each file once (fitparse takes ~160-230 s over the corpus); the references are cached on
disk by `reference.py` ($KINDPACE_TEST_CACHE, default /tmp/kindpace-test-cache).

Issues these tests found, all fixed (the history is in git; ISSUES keeps the codes for new entries):
N1 distance lost before the first record with a distance (pool swims), N2 sparse recordings losing
their ordinary intervals to the 60 s gap rule, N3 the clock starting at the first record rather than
the session start, C1 chained activities covering the same hour sharing one session's records, C2
power-on-relative FIT times dated 1990 (now mapped through timestamp_correlation).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from connectors.base import DecodedActivity
from connectors.fit import decode_fit
from pipeline.normalize import normalize
from tests.conftest import manifest
from tests.corpus.reference import (
    COLUMNS,
    canonical_order,
    reference_records,
    sdk_records,
    timed_in_time_order,
)

pytestmark = pytest.mark.slow


def _activity_rows() -> list[dict[str, str]]:
    try:
        rows = manifest()
    except FileNotFoundError:  # no corpus here: every test of this module is an empty parameter set
        return []
    return [r for r in rows if r["kind"] == "activity" and r["path"].lower().endswith(".fit")]


ROWS = _activity_rows()


def _params(known: dict[str, str]) -> list[Any]:
    return [
        pytest.param(row, id=Path(row["path"]).name, marks=[pytest.mark.xfail(strict=True, reason=known[name])])
        if (name := Path(row["path"]).name) in known
        else pytest.param(row, id=name)
        for row in ROWS
    ]


# --- the connector, once per file content ----------------------------------------------------------

_DECODED: dict[str, list[DecodedActivity] | Exception] = {}


def _decoded(path: str) -> tuple[str, list[DecodedActivity]]:
    data = Path(path).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if sha not in _DECODED:
        try:
            _DECODED[sha] = decode_fit(data, path)
        except Exception as exc:  # kept, so the second test group reports it without decoding again
            _DECODED[sha] = exc
    result = _DECODED[sha]
    if isinstance(result, Exception):
        pytest.fail(f"connector raised on an activity file: {type(result).__name__}: {result}")
    return sha, result


# --- 1. records --------------------------------------------------------------------------------------

# file name -> why the connector's records legitimately differ from the reference (xfail, strict).
# Empty: on all 178 activity files the connector agrees value for value with fitdecode (177 files
# decoded by fitparse) and with the Garmin SDK (the COROS file it decodes with fitdecode). The
# decoder differences of fit-decoding.md §3.3 (Zwift `distance` None from the invalid
# compressed_speed_distance expansion, the developer field named `distance`, the misaligned COROS
# field sizes) are all resolved by the connector's flattening, so none needs an entry here.
KNOWN_DIFFERENCES: dict[str, str] = {}

FLOAT_RTOL = 1e-6


def _connector_columns(acts: list[DecodedActivity]) -> dict[str, np.ndarray]:
    table = pa.concat_tables([a.records for a in acts])

    def floats(name: str) -> np.ndarray:
        return table[name].to_numpy(zero_copy_only=False).astype(np.float64)  # nulls -> NaN

    return {
        "timestamp_ms": table["timestamp"].cast(pa.int64()).to_numpy(zero_copy_only=False).astype(np.float64),
        "latitude_deg": floats("latitude_deg"),
        "longitude_deg": floats("longitude_deg"),
        "altitude_m": floats("altitude_m"),
        "heart_rate_bpm": floats("heart_rate_bpm"),
        "cadence_rpm": floats("cadence_rpm"),
        "speed_m_s": floats("speed_m_s"),
        "distance_m": floats("distance_m"),
        "power_w": floats("power_w"),
        "temperature_c": floats("temperature_c"),
    }


def _reference_for(path: str, decoder: str) -> tuple[dict[str, Any], str]:
    """The reference to hold the connector to, and its name.

    fitdecode, unless the connector itself fell back to fitdecode: then the Garmin SDK, so the
    check is not fitdecode against itself. The SDK stops at the first thing it cannot decode (it
    does not support compressed-timestamp headers, for one); where it stopped before the end, the
    fitdecode reference is used after all (it still checks the connector's own flattening and
    conversions). A CRC error is reported by the SDK only after it decoded everything, so it keeps
    the SDK reference.
    """
    if decoder == "fitdecode":
        sdk = sdk_records(path)
        error = sdk["meta"]["error"]
        if error is None or error.rstrip().endswith("CRC Error"):
            return sdk, "garmin_fit_sdk"
        return reference_records(path), f"fitdecode (the Garmin SDK failed: {error})"
    return reference_records(path), "fitdecode"


def _iso(ms: float) -> str:
    if np.isnan(ms):
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


@pytest.mark.parametrize("row", _params(KNOWN_DIFFERENCES))
def test_records_match_reference(row: dict[str, str], corpus: Path) -> None:
    path = row["path"]
    sha, acts = _decoded(path)
    assert sha == row["sha256"], f"{path} is not the file MANIFEST.csv describes (sha256 {sha})"
    assert acts, "the connector returned no activity for an activity file"
    decoder = acts[0].decoder
    ref_all, ref_name = _reference_for(path, decoder)
    if ref_name == "fitdecode":  # the manifest's `records` is fitdecode's count: checks the reference
        assert len(ref_all["timestamp_ms"]) == int(row["records"]), (
            f"reference decoded {len(ref_all['timestamp_ms'])} records, MANIFEST.csv says {row['records']}"
        )
    ref = timed_in_time_order(ref_all)
    ref["cadence_rpm"] = ref["cadence_rpm"] + np.nan_to_num(ref["fractional_cadence"])
    del ref["fractional_cadence"]
    ref, got = canonical_order(ref), canonical_order(_connector_columns(acts))

    where = f"connector ({decoder}) vs {ref_name}"
    assert len(got["timestamp_ms"]) == len(ref["timestamp_ms"]), (
        f"{where}: {len(got['timestamp_ms'])} timestamped records, reference has "
        f"{len(ref['timestamp_ms'])} (of {len(ref_all['timestamp_ms'])} record messages)"
    )
    problems = []
    for name in [c for c in COLUMNS if c != "fractional_cadence"]:
        a, b = got[name], ref[name]
        rtol = 0.0 if name == "timestamp_ms" else FLOAT_RTOL
        same = np.isclose(a, b, rtol=rtol, atol=0.0, equal_nan=True)
        if not same.all():
            bad = np.flatnonzero(~same)
            examples = ", ".join(
                f"#{i} {_iso(ref['timestamp_ms'][i])}: got {float(a[i])!r} want {float(b[i])!r}" for i in bad[:5]
            )
            problems.append(f"{name}: {len(bad)} of {len(a)} differ ({examples})")
    assert not problems, f"{where}:\n  " + "\n  ".join(problems)


# --- 2. session totals -----------------------------------------------------------------------------

# (relative, absolute): a computed total agrees when |computed - device| <= max(rel * device, abs).
# Distance: 1% or 20 m (GPS smoothing, the few metres the device adds after the last record).
# Times: 2% or 10 s (the device's session clock runs a few seconds beyond the first/last record).
DISTANCE_TOLERANCE = (0.01, 20.0)
TIME_TOLERANCE = (0.02, 10.0)

QUANTITIES = {
    # quantity: (computed column, device column, tolerance)
    "distance": ("distance_m", "device_distance_m", DISTANCE_TOLERANCE),
    "timer": ("timer_time_s", "device_timer_time_s", TIME_TOLERANCE),
    "elapsed": ("elapsed_time_s", "device_elapsed_time_s", TIME_TOLERANCE),
}

# The connector / normalization issues the known-issue entries below name by code (details and the
# rule that fixes each are in the module docstring).
ISSUES = {
    "N1": "normalize: distance lost before the first record that has one",
    "N2": "normalize: ordinary intervals of a sparse recording counted as pauses",
    "N3": "normalize: the clock started at the first record, not the session start",
    "C1": "connector: records of chained activities assigned by start time only",
}

# (file, session_index) -> {quantity: reason}: connector or normalization issues (xfail).
TOTALS_KNOWN_ISSUES: dict[tuple[str, int], dict[str, str]] = {}

# (file, session_index) -> {quantity: reason}: the file itself disagrees with its records.
TOTALS_EXCEPTIONS: dict[tuple[str, int], dict[str, str]] = {
    ("fitparse__event_timestamp.fit", 0): {
        "elapsed": "the session ends 14:58:39Z, 126 s after the last record (14:56:33Z) with the "
        "timer stopped (timer agrees); 4443 s vs device 4567.5 s",
    },
    ("gcheetah__2013-04-11-17-32-50.fit", 0): {
        "elapsed": "damaged clock: the last 14 records are stamped 2015-06-11, two years after the "
        "session ended (2013-04-11T23:30:34Z); 68342641 s vs device 7057.2 s",
    },
    ("gcheetah__2016-05-23_18-14-30_4_25.fit", 0): {
        "timer": "pool swim whose device counts rests as timer time: total_timer_time 3331.6 s >= "
        "total_elapsed_time 3330.8 s despite 16 timer stop/start pairs (551 s); 2749 s",
    },
    ("gcheetah__GarminSwimExample.fit", 0): {
        "timer": "pool swim whose device counts rests as timer time: total_timer_time 3008.9 s >= "
        "total_elapsed_time 3008.5 s despite 8 timer stop/start pairs (410 s); 2568 s",
    },
    ("muktihari__big_activity.fit", 0): {
        "distance": "synthetic benchmark file: every record's distance is 405.81 m, the session says 32172.05 m",
        "elapsed": "synthetic benchmark file: 99998 records over 99997 s, the session says "
        "30877 s (and its end timestamp equals its start)",
    },
    ("runalyze__Multisession-stop-after-transition.fit", 3): {
        "distance": "2-minute transition with records 5 s apart: the device counts 7 s (~25 m) "
        "after the last record; 168.8 m vs device 192.8 m",
    },
    ("runalyze__Suunto-Ambit-3-Peak-without-final-lap.fit", 0): {
        "timer": "the session totals leave out the final lap: records (and the session's own "
        "start/end) span 4961 s, total_timer_time says 4034.9 s",
        "elapsed": "the session totals leave out the final lap: records (and the session's own "
        "start/end) span 4961 s, total_elapsed_time says 4034.9 s",
    },
    ("runalyze__invalid-altitude-and-empty-record-at-end.fit", 0): {
        "elapsed": "a final empty record is stamped 17:26:35Z, 169 s after the session end "
        "(17:23:46Z); 4988 s vs device 4820 s",
    },
    ("runalyze__multisport-triathlon-fenix3.fit", 0): {
        "distance": "open-water swim: the last record is 36 s before the session end and the "
        "device adds ~25 m after it; 1500.4 m vs device 1525.7 m",
    },
    ("runalyze__multisport-triathlon-fenix3.fit", 3): {
        "distance": "2-minute transition: records stop 13 s before the session end (~55 m at "
        "transition pace); 360.7 m vs device 419.2 m",
        "timer": "2-minute transition: records stop 13 s before the session end; 97 s vs 109.4 s",
        "elapsed": "2-minute transition: records stop 13 s before the session end; 97 s vs 109.4 s",
    },
    ("runalyze__osynce-stop-bug.fit", 0): {
        "elapsed": "the device's stop bug the file is named for: the session ends 111 s after the "
        "last record; 2857 s vs device 2968 s (timer agrees)",
    },
    ("runalyze__swim-fenix-50m.fit", 0): {
        "elapsed": "records start 78 s after the session start and end 163 s before its end "
        "(07:30:22Z vs 07:33:05Z); 3577 s vs device 3816.9 s",
    },
    ("runalyze__time-jump.fit", 0): {
        "elapsed": "the device clock jumps 20 days mid-run (09:12:40Z -> 2017-03-14); the session's "
        "own start/end span the jump too, total_elapsed_time says 3389.1 s; 1749944 s",
    },
    ("sportslib__31-days-activity.fit", 0): {
        "elapsed": "the session ends 2018-05-11T11:02:57Z, 18.7 h after the last record "
        "(2018-05-10T16:20:42Z); 2588721 s vs device 2656055 s (timer agrees)",
    },
    ("sportslib__inverted-times.fit", 0): {
        "timer": "the device wrote total_timer_time 21680 s > total_elapsed_time 2839.6 s "
        "(inverted); records span 21670 s with an 18099 s gap; 3024 s",
        "elapsed": "the device wrote total_elapsed_time 2839.6 s < total_timer_time 21680 s "
        "(inverted); records span 21670 s",
    },
    ("sportslib__6860712481.fit", 0): {
        "elapsed": "the session ends 136 s after the last record (14:02:27Z vs 14:04:43Z); "
        "2847 s vs device 2983.3 s (timer agrees)",
    },
    ("tormoder__0134902991.fit", 0): {
        "timer": "indoor ride whose session end timestamp equals its start; records span 739 s, "
        "the device's totals 720.3 s",
        "elapsed": "indoor ride whose session end timestamp equals its start; records span 739 s, "
        "the device's totals 720.3 s",
    },
}


def _within(got: float | None, want: float, tolerance: tuple[float, float]) -> bool:
    if got is None or not np.isfinite(got):
        return False
    rel, absolute = tolerance
    return abs(got - want) <= max(rel * abs(want), absolute)


@pytest.mark.parametrize("row", _params({}))
def test_session_totals_match_device(row: dict[str, str], corpus: Path) -> None:
    path = row["path"]
    name = Path(path).name
    _, acts = _decoded(path)
    failures: list[str] = []  # disagree, not listed
    stale: list[str] = []  # listed, but agree now
    known: list[str] = []  # listed as an issue, and still disagree
    notes: list[str] = []  # not checked, and why
    checked = 0
    for act in acts:
        key = (name, act.session_index)
        activity = normalize(
            act,
            athlete_id="me",
            activity_id="x",
            source_sha256="s",
            source_path=path,
            imported_at=datetime.now(UTC),
        ).activity
        n = act.records.num_rows
        has_distance = n > 0 and act.records["distance_m"].null_count < n
        for quantity, (column, device_column, tolerance) in QUANTITIES.items():
            want = activity[device_column]
            got = activity[column]
            where = f"session {act.session_index} {quantity}: computed {got} vs device {want}"
            issue = TOTALS_KNOWN_ISSUES.get(key, {}).get(quantity)
            exception = TOTALS_EXCEPTIONS.get(key, {}).get(quantity)
            if issue or exception:
                if want is not None and _within(got, want, tolerance):
                    stale.append(f"{where} agree now: remove the entry ({issue or exception})")
                elif issue:
                    known.append(f"session {act.session_index} {quantity}: {issue}")
                else:
                    notes.append(f"session {act.session_index} {quantity} excepted: {exception}")
                continue
            if want is None:
                continue  # the device wrote no such total
            if n < 2:
                notes.append(
                    f"session {act.session_index}: {n} timestamped records, nothing to total "
                    "(e.g. FR910XT pool swims write records without timestamps)"
                )
                continue
            if quantity == "distance" and not has_distance:
                notes.append(
                    f"session {act.session_index}: no record has a distance (device "
                    f"{want} m), so there is no record distance to compare"
                )
                continue
            checked += 1
            if not _within(got, want, tolerance):
                failures.append(where)
    problems = [f"stale exception: {s}" for s in stale] + failures
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)
    if known:
        pytest.xfail("; ".join(known))
    if not checked:
        pytest.skip("; ".join(dict.fromkeys(notes)) or "no session holds a device total to compare")


def test_exception_lists_are_well_formed() -> None:
    """Every listed file is a FIT activity of the corpus, every issue names a code from ISSUES."""
    if not ROWS:
        pytest.skip("corpus not found")
    names = {Path(r["path"]).name for r in ROWS}
    listed = set(KNOWN_DIFFERENCES) | {f for f, _ in TOTALS_KNOWN_ISSUES} | {f for f, _ in TOTALS_EXCEPTIONS}
    assert listed <= names, f"not activity FIT files of the corpus: {sorted(listed - names)}"
    for key, entries in [*TOTALS_KNOWN_ISSUES.items(), *TOTALS_EXCEPTIONS.items()]:
        assert set(entries) <= set(QUANTITIES), f"{key}: unknown quantity in {sorted(entries)}"
    for key, entries in TOTALS_KNOWN_ISSUES.items():
        for quantity, reason in entries.items():
            assert reason.split(":", 1)[0] in ISSUES, f"{key} {quantity}: reason must start with an issue code"
        both = set(entries) & set(TOTALS_EXCEPTIONS.get(key, {}))
        assert not both, f"{key}: {sorted(both)} listed both as an issue and as an exception"
