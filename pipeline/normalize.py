"""Normalize one decoded activity: SI columns, UTC plus local offset, pauses, totals, one sport vocabulary.

Everything here is a vectorized function of the decoded record table; the activity row is what a
runner (and the gentleness stage) reads, and its totals are computed from the samples, with the
device's own session totals kept beside them for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from connectors.base import DecodedActivity
from schemas.tables import ACTIVITIES, DEVELOPER_FIELDS, LAPS, RECORDS, SCHEMA_VERSION


@dataclass(frozen=True)
class NormalizeSettings:
    """Every threshold normalization uses, with its default and why."""

    # A gap between samples longer than this, outside any timer pause, is a pause too (the device
    # stopped recording). Smart recording writes every 1-10 s, so a minute is clearly not a sample gap;
    # for files that record sparsely (a sample per pool length, open-water swims) the threshold grows
    # to `gap_intervals` times the median interval.
    gap_s: float = 60.0
    gap_intervals: float = 10.0
    # The device's session start counts when it precedes the first sample by at most this much: the
    # timer ran from the start, the first sample came later (a pool length, a GPS fix).
    start_lead_max_s: float = 600.0
    # Slower than this counts as stopped: 0.5 m/s is 1.8 km/h, well below the slowest walking pace
    # (about 3 km/h), so slow runners and walkers are never "stopped".
    stop_speed_m_s: float = 0.5
    # Altitude must move this far against the current direction before a climb or descent counts:
    # filters barometer and GPS noise.
    ascent_hysteresis_m: float = 3.0


DEFAULT_SETTINGS = NormalizeSettings()

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)


@dataclass(frozen=True)
class NormalizedActivity:
    activity: dict[str, Any]  # one row of ACTIVITIES
    records: pa.Table  # RECORDS
    laps: pa.Table  # LAPS
    developer_fields: pa.Table  # DEVELOPER_FIELDS
    # Where a pool worker already wrote the three tables as Parquet (Store.stage; None: the table is
    # empty); the tables above are then left empty, and the store adopts the files (Store.adopt).
    staged: dict[str, str | None] | None = None

    @property
    def activity_id(self) -> str:
        return str(self.activity["activity_id"])


# --- sport vocabulary -------------------------------------------------------------------------------

SPORTS = (
    "running", "trail_running", "treadmill_running", "track_running", "walking", "hiking",
    "cycling", "indoor_cycling", "swimming", "other",
)

_SUB_SPORT_MAP = {
    ("running", "treadmill"): "treadmill_running",
    ("running", "indoor_running"): "treadmill_running",
    ("running", "virtual_activity"): "treadmill_running",
    ("running", "trail"): "trail_running",
    ("running", "track"): "track_running",
    ("cycling", "indoor_cycling"): "indoor_cycling",
    ("cycling", "virtual_activity"): "indoor_cycling",
    ("cycling", "spin"): "indoor_cycling",
    ("training", "treadmill"): "treadmill_running",
}

# Words GPX/Strava/other apps write in <type>, lower-cased; Strava's numeric codes too.
_WORDS = {
    "running": "running", "run": "running", "jogging": "running", "9": "running", "running_road": "running",
    "trail_running": "trail_running", "trailrun": "trail_running", "trail run": "trail_running",
    "treadmill": "treadmill_running", "treadmill_running": "treadmill_running",
    "virtualrun": "treadmill_running", "track_running": "track_running",
    "walking": "walking", "walk": "walking", "10": "walking",
    "hiking": "hiking", "hike": "hiking", "mountaineering": "hiking",
    "cycling": "cycling", "biking": "cycling", "ride": "cycling", "bike": "cycling", "1": "cycling",
    "road_biking": "cycling", "mountain_biking": "cycling", "mountain biking": "cycling",
    "virtualride": "indoor_cycling", "indoor_cycling": "indoor_cycling",
    "swimming": "swimming", "swim": "swimming", "lap_swimming": "swimming", "open_water": "swimming",
}


def sport_of(sport: str | None, sub_sport: str | None) -> str:
    """Map a file's sport and sub-sport onto SPORTS."""
    base = (sport or "").strip().lower()
    sub = (sub_sport or "").strip().lower()
    if (base, sub) in _SUB_SPORT_MAP:
        return _SUB_SPORT_MAP[(base, sub)]
    return _WORDS.get(base, "other")


# --- time zone ----------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _tz_finder() -> Any:
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


def timezone_at(lat: float, lon: float) -> str | None:
    """IANA zone at a position, offline (timezonefinder's bundled boundaries)."""
    try:
        return _tz_finder().timezone_at(lng=float(lon), lat=float(lat))
    except ValueError:
        return None


def offset_in(zone: str, instant: datetime) -> int:
    delta = instant.astimezone(ZoneInfo(zone)).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


# --- totals ---------------------------------------------------------------------------------------------


def haversine_m(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi, dlmb = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _column(table: pa.Table, name: str) -> np.ndarray:
    return table[name].to_numpy(zero_copy_only=False).astype(np.float64)


def timer_paused_per_interval(t: np.ndarray, pauses: np.ndarray) -> np.ndarray:
    """Seconds of each interval [t_i, t_i+1] inside a timer pause ([stop, start] rows of `pauses`)."""
    starts, ends = t[:-1], t[1:]
    paused = np.zeros(len(starts))
    for stop, start in pauses:  # few pauses, many samples: loop over pauses, vectorize over samples
        paused += np.clip(np.minimum(ends, start) - np.maximum(starts, stop), 0.0, None)
    return paused


def paused_per_interval(dt: np.ndarray, timer_paused: np.ndarray, gap_s: float) -> np.ndarray:
    """Seconds of each interval spent paused: its timer-paused seconds, or the whole interval when it
    is a recording gap (longer than `gap_s` and overlapping no timer pause)."""
    gap = (dt > gap_s) & (timer_paused == 0)
    return np.minimum(np.where(gap, dt, timer_paused), dt)


def climb_m(altitude: np.ndarray, hysteresis: float) -> tuple[float | None, float | None]:
    """Total ascent and descent with a hysteresis band, so noise does not add up."""
    alt = altitude[~np.isnan(altitude)]
    if len(alt) < 2:
        return None, None
    diff = np.diff(alt)
    # Only turning points matter: drop samples where the direction does not change.
    keep = np.concatenate(([True], np.sign(diff[1:]) != np.sign(diff[:-1]), [True]))
    turns: list[float] = alt[keep].tolist()  # Python floats: the row is as the store gives it back
    ascent = descent = 0.0
    ref = turns[0]
    for value in turns[1:]:  # loops over turning points only
        if value - ref >= hysteresis:
            ascent += value - ref
            ref = value
        elif ref - value >= hysteresis:
            descent += ref - value
            ref = value
    return ascent, descent


def _finite(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def normalize(
    decoded: DecodedActivity,
    *,
    athlete_id: str,
    activity_id: str,
    source_sha256: str,
    source_path: str,
    imported_at: datetime,
    settings: NormalizeSettings = DEFAULT_SETTINGS,
) -> NormalizedActivity:
    rec = decoded.records
    meta = decoded.meta
    n = rec.num_rows
    t = rec["timestamp"].cast(pa.int64()).to_numpy().astype(np.float64) / 1000.0 if n else np.zeros(0)
    lat, lon = _column(rec, "latitude_deg"), _column(rec, "longitude_deg")
    has_pos = ~np.isnan(lat) & ~np.isnan(lon)

    # The clock starts at the session start the device wrote, when it comes shortly before the first sample.
    first = t[0] if n else None
    lead = 0.0
    if meta.start_time is not None and first is not None:
        gap_to_first = first - meta.start_time.timestamp()
        if 0 < gap_to_first <= settings.start_lead_max_s:
            lead = gap_to_first
    clock_start = (first - lead) if first is not None else (
        meta.start_time.timestamp() if meta.start_time else 0.0)
    start = datetime.fromtimestamp(clock_start, tz=UTC)

    # Local time: the file's own offset first, else the zone of the first position.
    zone = timezone_at(lat[has_pos][0], lon[has_pos][0]) if has_pos.any() else None
    offset, offset_source = meta.utc_offset_s, "file" if meta.utc_offset_s is not None else None
    if offset is None and zone is not None:
        offset, offset_source = offset_in(zone, start), "position"

    pauses = np.array([[a.timestamp(), b.timestamp()] for a, b in decoded.pauses], dtype=np.float64)
    pauses = pauses.reshape(-1, 2)
    running = np.ones(n, dtype=bool)
    for stop, resume in pauses:
        running &= ~((t >= stop) & (t < resume))

    dt = np.diff(t) if n > 1 else np.zeros(0)
    gap_s = max(settings.gap_s, settings.gap_intervals * float(np.median(dt))) if n > 1 else settings.gap_s
    timer_paused = timer_paused_per_interval(t, pauses)
    paused = paused_per_interval(dt, timer_paused, gap_s)
    active = dt - paused
    lead_paused = float(timer_paused_per_interval(np.array([clock_start, clock_start + lead]), pauses)[0])
    elapsed = float(t[-1] - clock_start) if n else 0.0
    timer = float(active.sum() + lead - lead_paused)

    # Distance: the device's cumulative distance, else the path between positions while running.
    dist = _column(rec, "distance_m")
    if np.isfinite(dist).any():
        # Record distance is cumulative from the activity's start, so the distance is its maximum (a pool
        # swim's first sample already holds a length); later sessions of a multisport file may carry
        # the distance over, so theirs is the rise.
        top = float(np.nanmax(dist))
        distance = top if meta.distance_from_zero else top - float(np.nanmin(dist))
        with np.errstate(invalid="ignore"):  # -inf - -inf before the first distance: nan, as meant
            step = np.diff(np.fmax.accumulate(np.where(np.isnan(dist), -np.inf, dist))) if n > 1 else dt
        step = np.where(np.isfinite(step), step, np.nan)
    elif has_pos.sum() > 1:
        # Legs across a timer pause (or a new GPX segment) do not count; legs across a mere recording
        # gap do: a device that recorded sparsely, or lost its signal for a while, did cover them.
        idx = np.flatnonzero(has_pos)
        legs = haversine_m(lat[idx[:-1]], lon[idx[:-1]], lat[idx[1:]], lon[idx[1:]])
        paused_so_far = np.concatenate(([0.0], np.cumsum(timer_paused)))
        in_pause = (paused_so_far[idx[1:]] - paused_so_far[idx[:-1]]) > 0
        legs = np.where(in_pause, 0.0, legs)
        distance = float(legs.sum())
        step = np.full(max(n - 1, 0), np.nan)
        step[idx[1:] - 1] = legs
    else:
        distance = float("nan")
        step = np.full(max(n - 1, 0), np.nan)

    # Moving: an interval counts when the pace over it (or the sample's speed) beats the stop threshold.
    speed = _column(rec, "speed_m_s")
    interval_speed = np.where(dt > 0, step / np.where(dt > 0, dt, 1), np.nan) if n > 1 else np.zeros(0)
    if n > 1:
        interval_speed = np.where(np.isnan(speed[1:]), interval_speed, speed[1:])
        known = ~np.isnan(interval_speed)
        moving = np.where(known, interval_speed >= settings.stop_speed_m_s, True)
        moving_time = float(active[moving].sum())
    else:
        moving_time = 0.0

    hr = _column(rec, "heart_rate_bpm")
    avg_hr = None
    if n > 1 and np.isfinite(hr).any():
        w = np.where(np.isnan(hr[1:]), 0.0, active)
        avg_hr = float(np.nansum(hr[1:] * w) / w.sum()) if w.sum() > 0 else float(np.nanmean(hr))
    elif np.isfinite(hr).any():
        avg_hr = float(np.nanmean(hr))
    ascent, descent = climb_m(_column(rec, "altitude_m"), settings.ascent_hysteresis_m)

    sport = sport_of(meta.sport, meta.sub_sport)
    indoor = sport in ("treadmill_running", "indoor_cycling") or not has_pos.any()
    distance_f = _finite(distance)
    activity = {
        "athlete_id": athlete_id,
        "activity_id": activity_id,
        "start_time": start,
        "utc_offset_s": offset,
        "utc_offset_source": offset_source,
        "timezone": zone,
        "start_time_local": (start + timedelta(seconds=offset)).replace(tzinfo=None) if offset is not None
        else None,
        "sport": sport,
        "source_sport": "/".join(s for s in (meta.sport, meta.sub_sport) if s) or None,
        "indoor": indoor,
        "elapsed_time_s": elapsed,
        "timer_time_s": timer,
        "moving_time_s": moving_time,
        "distance_m": distance_f,
        "ascent_m": ascent,
        "descent_m": descent,
        "avg_heart_rate_bpm": avg_hr,
        "max_heart_rate_bpm": int(np.nanmax(hr)) if np.isfinite(hr).any() else None,
        "avg_speed_m_s": distance_f / moving_time if distance_f is not None and moving_time > 0 else None,
        "record_count": n,
        "has_position": bool(has_pos.any()),
        "has_heart_rate": bool(np.isfinite(hr).any()),
        "has_power": bool(np.isfinite(_column(rec, "power_w")).any()),
        "sensors": list(meta.sensors),
        "device_distance_m": meta.total_distance_m,
        "device_timer_time_s": meta.total_timer_time_s,
        "device_elapsed_time_s": meta.total_elapsed_time_s,
        "device_ascent_m": meta.total_ascent_m,
        "device_descent_m": meta.total_descent_m,
        "device_avg_heart_rate_bpm": meta.avg_heart_rate_bpm,
        "device_max_heart_rate_bpm": meta.max_heart_rate_bpm,
        "workout_feel": meta.workout_feel,
        "workout_rpe": meta.workout_rpe,
        "workout_name": meta.workout_name,
        "name": meta.name,
        "manufacturer": meta.manufacturer,
        "product": meta.product,
        "device_serial": meta.device_serial,
        "source_format": decoded.source_format,
        "decoder": decoded.decoder,
        "source_sha256": source_sha256,
        "source_path": source_path,
        "session_index": decoded.session_index,
        "partial": decoded.partial_reason is not None,
        "partial_reason": decoded.partial_reason,
        "duplicate_sources": [],
        "imported_at": imported_at,
        "schema_version": SCHEMA_VERSION,
    }
    keys = {"athlete_id": athlete_id, "activity_id": activity_id, "utc_offset_s": offset}
    records = _with_keys(rec, RECORDS, keys, {
        "elapsed_s": pa.array(t - clock_start, pa.float64()),
        "timer_running": pa.array(running, pa.bool_()),
    })
    laps = _with_keys(decoded.laps, LAPS, keys, {
        "lap_index": pa.array(np.arange(decoded.laps.num_rows, dtype=np.int32)),
    })
    dev = _with_keys(decoded.developer_fields, DEVELOPER_FIELDS, keys, {})
    return NormalizedActivity(activity, records, laps, dev)


def _with_keys(table: pa.Table, schema: pa.Schema, keys: dict[str, Any], extra: dict[str, pa.Array]) -> pa.Table:
    """The connector's table in a stored schema: key columns repeated, extra columns added."""
    n = table.num_rows
    arrays = []
    for f in schema:
        if f.name in extra:
            arrays.append(extra[f.name])
        elif f.name in keys:
            arrays.append(pa.repeat(pa.scalar(keys[f.name], f.type), n))
        else:
            arrays.append(table[f.name])
    return pa.Table.from_arrays(arrays, schema=schema)


def activity_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=ACTIVITIES)
