"""Independent reference decodings of FIT `record` messages, for the whole-corpus tests.

Nothing here imports the connector: the point is a second opinion. Two references:

* `reference_records(path)`: fitdecode used directly (CRC mismatches only warned, malformed
  definitions read as bytes), so damaged files still give everything that decodes;
* `sdk_records(path)`: the Garmin FIT SDK (`garmin_fit_sdk.Decoder`), for the files where the
  connector itself had to fall back to fitdecode (so fitdecode would be checking itself).

Both return the same thing: a dict of equally long NumPy float64 arrays, one entry per `record`
message in file order (records without a timestamp included), NaN where the message has no valid
value, plus `meta`, a dict saying which library decoded it and why it stopped early (if it did):

* `timestamp_ms`: epoch milliseconds (UTC); NaN when the record has no timestamp.
* `latitude_deg`, `longitude_deg`: semicircles * 180 / 2**31.
* `altitude_m`: enhanced_altitude, else altitude.
* `heart_rate_bpm`, `cadence_rpm` (the integer `cadence` field only), `fractional_cadence`,
  `speed_m_s` (enhanced_speed, else speed), `distance_m`, `power_w`, `temperature_c`.

Rules, written down because they are the reference's definition of "right":

* Duplicate field names in one fitdecode message (component expansions, e.g.
  `compressed_speed_distance` -> `distance`, `speed` -> `enhanced_speed`): a value beats None, and
  between two values a declared field (`field_def is not None`) beats a component expansion;
  otherwise the first one wins. Developer fields never count (a Connect IQ field may be called
  `distance`). The SDK resolves duplicates itself (its messages are already name-keyed dicts).
* A value that is not a single number (an array field, bytes) is not one sample's value: NaN.
* fitdecode turns a date_time into a datetime only from 0x10000000 up, declared or rebuilt from a
  compressed-timestamp header alike; smaller values stay integers. The FIT profile says such a
  value is a relative time (seconds since the device powered up), and a `timestamp_correlation`
  message maps it: UTC = correlation.timestamp - correlation.system_timestamp + value. Where the
  file has no such message the value is read as seconds since the FIT epoch 1989-12-31T00:00Z,
  the connector's convention for a device whose clock was never set.

Decodings are cached per file content (sha256) as pickles in `$KINDPACE_TEST_CACHE`, default
`/tmp/kindpace-test-cache`, and in memory, so each reference is decoded once per content. The cache
key includes `REFERENCE_VERSION` and the decoder library's version: bump the former whenever the
rules above change.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tempfile
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version as _version
from pathlib import Path
from typing import Any

import numpy as np

REFERENCE_VERSION = "4"

FIT_EPOCH_S = 631065600  # 1989-12-31T00:00:00Z as Unix seconds
SEMICIRCLE_DEG = 180.0 / 2**31

COLUMNS = (
    "timestamp_ms",
    "latitude_deg",
    "longitude_deg",
    "altitude_m",
    "heart_rate_bpm",
    "cadence_rpm",
    "fractional_cadence",
    "speed_m_s",
    "distance_m",
    "power_w",
    "temperature_c",
)

Reference = dict[str, Any]  # COLUMNS -> np.ndarray (float64), plus "meta" -> dict

_memo: dict[tuple[str, str], Reference] = {}


# --- cache ----------------------------------------------------------------------------------------


def cache_dir() -> Path:
    return Path(os.environ.get("KINDPACE_TEST_CACHE", "/tmp/kindpace-test-cache"))


def file_sha256(path: str | os.PathLike[str]) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _cached(kind: str, lib: str, path: str | os.PathLike[str], compute: Callable[[bytes], Reference]) -> Reference:
    data = Path(path).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    tag = f"{kind}-r{REFERENCE_VERSION}-{lib}{_version(lib)}"
    key = (tag, sha)
    if key in _memo:
        return _memo[key]
    folder = cache_dir()
    file = folder / f"{tag}-{sha}.pkl"
    result: Reference | None = None
    if file.exists():
        try:
            with open(file, "rb") as src:
                result = pickle.load(src)
        except Exception:  # a torn or foreign file: decode again and overwrite it
            result = None
    if result is None:
        result = compute(data)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # Write-then-rename, so a concurrent run never reads half a pickle.
            with tempfile.NamedTemporaryFile("wb", dir=folder, delete=False, suffix=".tmp") as out:
                try:
                    pickle.dump(result, out, protocol=pickle.HIGHEST_PROTOCOL)
                except BaseException:
                    out.close()
                    os.unlink(out.name)
                    raise
            os.replace(out.name, file)
        except OSError:
            pass  # an unwritable cache only costs time
    _memo[key] = result
    return result


# --- shared value rules ---------------------------------------------------------------------------


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return np.nan
    return float(value)


def _epoch_ms(value: Any, system_to_unix_s: float | None = None) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return float(round(value.timestamp() * 1000))
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32:
        if value < 0x10000000 and system_to_unix_s is not None:
            return float((system_to_unix_s + value) * 1000)
        return float((FIT_EPOCH_S + value) * 1000)
    return np.nan


def _correlation(values: dict[str, Any]) -> float | None:
    """Unix seconds of system time 0, from a timestamp_correlation message, if it maps one."""
    stamp, system = values.get("timestamp"), values.get("system_timestamp")
    if isinstance(stamp, datetime) and isinstance(system, int) and not isinstance(system, bool):
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp() - system
    return None


def _columns(rows: list[dict[str, Any]], system_to_unix_s: float | None = None) -> dict[str, np.ndarray]:
    def first(row: dict[str, Any], *keys: str) -> Any:
        # the first that is one number: a field written as a list (gcheetah__FR55-CoreTemp-Walk.fit
        # declares enhanced_altitude as two values) is no single sample's value, so the next one counts
        for key in keys:
            if not np.isnan(_number(row.get(key))):
                return row[key]
        return None

    def col(*keys: str) -> np.ndarray:
        return np.array([_number(first(r, *keys)) for r in rows], dtype=np.float64)

    return {
        "timestamp_ms": np.array([_epoch_ms(r.get("timestamp"), system_to_unix_s) for r in rows],
                                 dtype=np.float64),
        "latitude_deg": col("position_lat") * SEMICIRCLE_DEG,
        "longitude_deg": col("position_long") * SEMICIRCLE_DEG,
        "altitude_m": col("enhanced_altitude", "altitude"),
        "heart_rate_bpm": col("heart_rate"),
        "cadence_rpm": col("cadence"),
        "fractional_cadence": col("fractional_cadence"),
        "speed_m_s": col("enhanced_speed", "speed"),
        "distance_m": col("distance"),
        "power_w": col("power"),
        "temperature_c": col("temperature"),
    }


# --- fitdecode ------------------------------------------------------------------------------------


def _fitdecode_row(fields: Any) -> dict[str, Any]:
    """One message's fields by name: a value beats None, a declared field beats an expansion."""
    best: dict[str, tuple[tuple[bool, bool], Any]] = {}
    for fd in fields:
        if type(fd.field_def).__name__ == "DevFieldDefinition":
            continue
        rank = (fd.value is not None, fd.field_def is not None)
        if fd.name not in best or rank > best[fd.name][0]:
            best[fd.name] = (rank, fd.value)
    return {name: value for name, (_, value) in best.items()}


def _decode_fitdecode(data: bytes) -> Reference:
    import fitdecode

    rows: list[dict[str, Any]] = []
    error = None
    crc_warnings: list[str] = []
    correlation: float | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with fitdecode.FitReader(
                io.BytesIO(data),
                check_crc=fitdecode.CrcCheck.WARN,
                error_handling=fitdecode.ErrorHandling.IGNORE,
            ) as reader:
                for frame in reader:
                    if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "record":
                        rows.append(_fitdecode_row(frame.fields))
                    elif isinstance(frame, fitdecode.FitDataMessage) and frame.name == "timestamp_correlation":
                        if correlation is None:
                            correlation = _correlation(_fitdecode_row(frame.fields))
        except Exception as exc:  # truncated / damaged: keep what decoded before it
            error = f"{type(exc).__name__}: {exc}"
        crc_warnings = [str(w.message) for w in caught if "CRC" in str(w.message)]
    result: Reference = dict(_columns(rows, correlation))
    result["meta"] = {"decoder": "fitdecode", "error": error, "crc_warnings": crc_warnings}
    return result


def reference_records(path: str | os.PathLike[str]) -> Reference:
    """fitdecode's `record` messages of the file at `path` (see the module docstring)."""
    return _cached("records", "fitdecode", path, _decode_fitdecode)


# --- Garmin FIT SDK -------------------------------------------------------------------------------


def _decode_sdk(data: bytes) -> Reference:
    from garmin_fit_sdk import Decoder, Stream

    decoder = Decoder(Stream.from_byte_array(bytearray(data)))
    messages, errors = decoder.read(
        apply_scale_and_offset=True,
        convert_datetimes_to_dates=True,
        convert_types_to_strings=True,
        enable_crc_check=True,
        expand_sub_fields=True,
        expand_components=True,
        merge_heart_rates=False,  # HR from `hr` messages is not the record's own heart_rate
    )
    rows = [dict(m) for m in messages.get("record_mesgs", [])]
    result: Reference = dict(_columns(rows))
    result["meta"] = {
        "decoder": "garmin_fit_sdk",
        "error": "; ".join(str(e) for e in errors) or None,
    }
    return result


def sdk_records(path: str | os.PathLike[str]) -> Reference:
    """The Garmin FIT SDK's `record` messages of the file at `path` (see the module docstring).

    `meta["error"]` holds the SDK's errors (it stops at the first): e.g. it does not support
    compressed-timestamp headers, and reports a CRC mismatch only after decoding everything.
    """
    return _cached("records", "garmin-fit-sdk", path, _decode_sdk)


# --- helpers for the tests ------------------------------------------------------------------------


def canonical_order(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rows sorted by time, ties broken by every other column: chained activities in one file may
    cover the same seconds, and the connector keeps each activity's samples together."""
    names = [n for n in cols if n != "timestamp_ms"]
    keys = [np.nan_to_num(cols[n], nan=-np.inf) for n in reversed(names)] + [cols["timestamp_ms"]]
    order = np.lexsort(keys)
    return {n: cols[n][order] for n in cols}


def timed_in_time_order(ref: Reference) -> dict[str, np.ndarray]:
    """The records that have a timestamp, stably sorted by it: the connector's record-table order."""
    ts = ref["timestamp_ms"]
    keep = np.flatnonzero(~np.isnan(ts))
    order = keep[np.argsort(ts[keep], kind="stable")]
    return {name: ref[name][order] for name in COLUMNS}
