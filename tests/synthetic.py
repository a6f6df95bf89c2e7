"""Synthetic runs with a known truth, for scenario and property tests (gentleness.md §7.1).

A `Runner` has a true physiology (maximum heart rate, first ventilatory threshold VT1 and the speed
that reaches it, resting heart rate, heart-rate lag); the algorithm only ever sees the profile a test
grants it (usually the age alone), so a test measures robustness to the estimate, not just mechanics.
A run is a course of `Segment`s (run, walk, stop with the timer running, pause with it stopped),
simulated second by second on the wall clock:

    HR_ss  = base + k gap_speed + extra max(0, gap_speed - v_VT1),   base so that HR_ss(v_VT1) = HR_VT1
    HR_ss *= 1 + d (t - 10 min) / 60 min   after 10 minutes (cardiac drift, d per hour)
    HR_ss += heat
    HR     = first-order lag (tau) of HR_ss delayed by a dead time, from a standing start, + AR(1) noise

with k = 24 bpm per m/s [HR-dynamics2015] and gap_speed from the community fit of Strava's
equal-heart-rate curve (§3.3), written out here rather than imported, so the generator does not share a
bug with the code it tests. Cadence is in strides per minute as FIT stores it (steps = 2 x strides).

Everything is deterministic for a given seed. A `Run` keeps the truth per second (speed, grade,
steady-state heart rate) beside the recorded channels and the mask of seconds the watch kept, so
artefact injectors and smart recording change what was recorded and never what happened; `oracle`
labels a run from the truth. The run can be stored directly (`records_table`, `activity_row`) or
written as a FIT or GPX file and read back through the connectors (`to_fit_bytes`, `to_gpx_bytes`,
`through_connectors`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import gpxpy.gpx
import numpy as np
import pandas as pd
import pyarrow as pa
from garmin_fit_sdk import Encoder, Profile

from schemas.tables import ACTIVITIES, RECORDS, SCHEMA_VERSION

__all__ = [
    "KINDS",
    "Place",
    "Run",
    "Runner",
    "Segment",
    "activity_row",
    "inject_cadence_lock",
    "inject_dropout",
    "inject_dry_strap",
    "inject_frozen",
    "inject_spikes",
    "oracle",
    "records_table",
    "runner",
    "simulate",
    "smart_recording",
    "strava_gap_factor",
    "tanaka_max_hr",
    "through_connectors",
    "time_above_vt1",
    "to_fit_bytes",
    "to_gpx_bytes",
    "without_heart_rate",
]

KINDS = ("run", "walk", "stop", "pause")  # pause: the timer is stopped; stop: standing, timer running
START = datetime(2026, 11, 14, 8, 0, tzinfo=UTC)  # a Saturday; Zurich is at UTC+1 in November
UTC_OFFSET_S = 3600
EARTH_RADIUS_M = 6_371_008.8


def tanaka_max_hr(age: float) -> float:
    return 208.0 - 0.7 * age


def strava_gap_factor(grade_pct: np.ndarray | float) -> np.ndarray:
    """§3.3: f(g) = -5.2944e-7 g^4 - 3.9896e-6 g^3 + 2.05357e-3 g^2 + 3.26567e-2 g + 1, g in percent."""
    g = np.asarray(grade_pct, dtype=float)
    return -5.2944e-7 * g**4 - 3.9896e-6 * g**3 + 2.05357e-3 * g**2 + 3.26567e-2 * g + 1.0


# --- the runner ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Runner:
    """A runner's true physiology. Heart rates in bpm, speeds in m/s (grade-adjusted)."""

    age: int
    hr_max: float
    vt1_frac: float  # HR at VT1 as a share of the true maximum
    hr_rest: float
    v_vt1: float = 3.0  # grade-adjusted speed at VT1
    tau_s: float = 55.0  # first-order heart-rate lag
    dead_s: int = 7  # dead time before the heart rate starts to follow
    noise_sd: float = 1.5  # AR(1) noise on the recorded heart rate
    noise_keep: float = 0.9  # its AR(1) coefficient
    k_bpm_per_m_s: float = 24.0
    extra_bpm_per_m_s: float = 12.0  # the steeper rise above VT1
    cadence_strides: float = 84.0  # running cadence at 2.5 m/s, strides per minute

    @property
    def hr_vt1(self) -> float:
        return self.vt1_frac * self.hr_max

    @property
    def hr_max_offset(self) -> float:
        """How far the true maximum sits from Tanaka's estimate for the age."""
        return self.hr_max - tanaka_max_hr(self.age)

    @property
    def base_bpm(self) -> float:
        return self.hr_vt1 - self.k_bpm_per_m_s * self.v_vt1

    def hr_steady(self, gap_speed: np.ndarray | float) -> np.ndarray:
        """HR_ss at a grade-adjusted speed, before drift and heat (never below standing, never above max)."""
        v = np.asarray(gap_speed, dtype=float)
        hr = self.base_bpm + self.k_bpm_per_m_s * v + self.extra_bpm_per_m_s * np.maximum(0.0, v - self.v_vt1)
        return np.clip(hr, self.hr_rest + 20.0, self.hr_max)

    def speed_for_hr(self, hr: float) -> float:
        """The grade-adjusted speed whose steady-state heart rate (no drift, no heat) is `hr`."""
        if hr <= self.hr_vt1:
            return (hr - self.base_bpm) / self.k_bpm_per_m_s
        return self.v_vt1 + (hr - self.hr_vt1) / (self.k_bpm_per_m_s + self.extra_bpm_per_m_s)


def runner(seed: int) -> Runner:
    """A random runner as §7.1 draws them: age 20-70, HRmax = Tanaka + N(0, 10), VT1 ~ N(0.83, 0.05)
    of HRmax, HRrest 50-75, lag 45-65 s plus 5-10 s dead time, noise 1-2 bpm."""
    rng = np.random.default_rng(seed)
    age = int(rng.integers(20, 71))
    hr_max = tanaka_max_hr(age) + rng.normal(0.0, 10.0)
    return Runner(
        age=age,
        hr_max=float(hr_max),
        vt1_frac=float(np.clip(rng.normal(0.83, 0.05), 0.70, 0.95)),
        hr_rest=float(rng.uniform(50.0, 75.0)),
        v_vt1=float(rng.uniform(2.4, 3.8)),
        tau_s=float(rng.uniform(45.0, 65.0)),
        dead_s=int(rng.integers(5, 11)),
        noise_sd=float(rng.uniform(1.0, 2.0)),
        cadence_strides=float(rng.uniform(80.0, 88.0)),
    )


# --- the course -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    duration_s: int
    speed_m_s: float  # target speed over the ground (0 for stop and pause)
    grade: float = 0.0  # rise over run, decimal
    kind: str = "run"  # run | walk | stop | pause

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")


def run_for(minutes: float, speed_m_s: float, grade: float = 0.0) -> Segment:
    return Segment(round(60 * minutes), speed_m_s, grade, "run")


def walk_for(minutes: float, speed_m_s: float = 1.45, grade: float = 0.0) -> Segment:
    return Segment(round(60 * minutes), speed_m_s, grade, "walk")


@dataclass(frozen=True)
class Place:
    """An ellipse run round and round near a real place."""

    name: str
    lat: float
    lon: float
    a_m: float  # east-west semi-axis
    b_m: float  # north-south semi-axis
    altitude_m: float
    timezone: str

    def position(self, distance_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(east, north) in metres from the centre at each distance along the loop, parametrized by arc
        length so that positions imply the speed run (equal steps in angle are not equal steps on an ellipse)."""
        theta = np.linspace(0.0, 2 * np.pi, 4097)
        arc = np.concatenate(([0.0], np.cumsum(np.hypot(np.diff(self.a_m * np.sin(theta)),
                                                       np.diff(self.b_m * np.cos(theta))))))
        at = np.interp(np.mod(np.asarray(distance_m, dtype=float), arc[-1]), arc, theta)
        return self.a_m * np.sin(at), -self.b_m * np.cos(at)

    def degrees(self, east: np.ndarray, north: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 (lat, lon) of offsets in metres from the centre."""
        return self.lat + np.degrees(north / EARTH_RADIUS_M), \
            self.lon + np.degrees(east / (EARTH_RADIUS_M * np.cos(np.radians(self.lat))))


ZURICH_ALLMEND = Place("Allmend Brunau, Zurich", 47.3585, 8.5215, 650.0, 380.0, 420.0, "Europe/Zurich")


# --- a run ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Run:
    """One run, one entry per wall-clock second from the start. Truth and recorded channels side by side;
    `recorded` marks the seconds the watch kept a sample of. NaN = no value."""

    runner: Runner
    start: datetime
    kind: np.ndarray  # KINDS per second
    timer_running: np.ndarray  # False in a pause
    true_speed: np.ndarray
    grade: np.ndarray
    gap_speed: np.ndarray
    hr_ss: np.ndarray  # true steady-state heart rate, with drift and heat
    hr_true: np.ndarray  # true heart rate: the lagged HR_ss, no noise
    hr: np.ndarray  # recorded heart rate (whole bpm)
    speed: np.ndarray  # recorded speed
    cadence: np.ndarray  # recorded cadence, strides per minute
    distance: np.ndarray  # recorded cumulative distance, m
    altitude: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    temperature: np.ndarray
    recorded: np.ndarray
    sport: str = "running"
    indoor: bool = False
    utc_offset_s: int = UTC_OFFSET_S
    place: Place | None = ZURICH_ALLMEND
    name: str = "synthetic run"

    def __len__(self) -> int:
        return len(self.kind)

    @property
    def moving(self) -> np.ndarray:
        """Seconds of true movement with the timer running."""
        return self.timer_running & np.isin(self.kind, ("run", "walk"))

    def minutes(self) -> float:
        return len(self) / 60.0


def _ar1(rng: np.random.Generator, n: int, sd: float, keep: float) -> np.ndarray:
    """AR(1) noise of standard deviation `sd`: an exponential filter of white noise, vectorized."""
    if n == 0 or sd == 0:
        return np.zeros(n)
    alpha = 1.0 - keep
    white = rng.normal(0.0, sd * np.sqrt(1.0 - keep**2) / alpha if alpha > 0 else sd, n)
    return pd.Series(white).ewm(alpha=alpha, adjust=False).mean().to_numpy() if alpha < 1 else white


def simulate(
    who: Runner,
    course: Sequence[Segment],
    *,
    seed: int = 0,
    drift_per_h: float = 0.0,
    heat_bpm: float = 0.0,
    temperature_c: float | None = None,
    indoor: bool = False,
    sport: str | None = None,
    place: Place | None = ZURICH_ALLMEND,
    start: datetime = START,
    name: str = "synthetic run",
    hr_start_bpm: float | None = None,
) -> Run:
    """Simulate the course second by second (§7.1). `drift_per_h` is d (0.06 = 6 %/h); `heat_bpm` adds to
    HR_ss. Indoor runs (treadmill) have no positions and no altitude, and their speed comes from a foot pod."""
    rng = np.random.default_rng(seed)
    kind = np.concatenate([np.full(s.duration_s, s.kind, dtype=object) for s in course]).astype(str)
    target = np.concatenate([np.full(s.duration_s, s.speed_m_s if s.kind in ("run", "walk") else 0.0)
                             for s in course])
    grade = np.concatenate([np.full(s.duration_s, s.grade) for s in course])
    n = len(kind)
    timer_running = kind != "pause"
    moving = np.isin(kind, ("run", "walk"))
    # speed changes take a few seconds; the runner's own pace wobbles by about 2 %
    ramped = pd.Series(target).rolling(5, min_periods=1).mean().to_numpy()
    true_speed = np.where(moving, ramped * (1.0 + _ar1(rng, n, 0.02, 0.95)), 0.0)
    gap = true_speed * strava_gap_factor(100.0 * grade)

    t = np.arange(n, dtype=float)
    drift = 1.0 + drift_per_h * np.maximum(0.0, t - 600.0) / 3600.0
    hr_ss = np.where(moving, who.hr_steady(gap), who.hr_rest + 20.0) * drift + heat_bpm
    hr_ss = np.clip(hr_ss, who.hr_rest, who.hr_max)
    first = min(hr_start_bpm if hr_start_bpm is not None else who.hr_rest + 25.0, float(hr_ss[0]))
    delayed = np.concatenate([np.full(who.dead_s, first), hr_ss])[:n]
    lagged = pd.Series(np.concatenate([[first], delayed])).ewm(alpha=1.0 / who.tau_s, adjust=False).mean()
    hr_true = lagged.to_numpy()[1:]
    hr = np.round(hr_true + _ar1(rng, n, who.noise_sd, who.noise_keep))

    running_cadence = np.clip(who.cadence_strides + 3.0 * (true_speed - 2.5), 80.0, 92.0)
    walking_cadence = np.clip(55.0 + 5.0 * (true_speed - 1.4), 50.0, 62.0)
    cadence = np.where(kind == "run", running_cadence, np.where(kind == "walk", walking_cadence, 0.0))
    cadence = np.where(cadence > 0, np.round(cadence + _ar1(rng, n, 0.7, 0.5)), 0.0)

    distance = np.cumsum(true_speed)
    if indoor:
        speed = np.where(moving, true_speed + _ar1(rng, n, 0.05, 0.8), 0.0)  # a foot pod
        altitude = lat = lon = np.full(n, np.nan)
    else:
        speed = np.where(moving, np.maximum(0.0, true_speed + _ar1(rng, n, 0.12, 0.7)), 0.0)
        base = place.altitude_m if place is not None else 400.0
        altitude = base + np.cumsum(true_speed * grade) + _ar1(rng, n, 0.2, 0.9)  # barometric
        if place is None:
            lat = lon = np.full(n, np.nan)
        else:
            east, north = place.position(distance)
            lat, lon = place.degrees(east + _ar1(rng, n, 2.0, 0.95), north + _ar1(rng, n, 2.0, 0.95))
    temperature = np.full(n, np.nan if temperature_c is None else float(temperature_c))
    return Run(
        runner=who, start=start, kind=kind, timer_running=timer_running, true_speed=true_speed, grade=grade,
        gap_speed=gap, hr_ss=hr_ss, hr_true=hr_true, hr=hr, speed=speed, cadence=cadence, distance=distance,
        altitude=altitude, latitude=lat, longitude=lon, temperature=temperature, recorded=timer_running.copy(),
        sport=sport or ("treadmill_running" if indoor else "running"), indoor=indoor,
        place=None if indoor else place, name=name,
    )


def without_heart_rate(run: Run) -> Run:
    """The same run recorded without any heart rate (a phone app)."""
    return replace(run, hr=np.full(len(run), np.nan))


# --- artefacts (each returns the new run and the labelled seconds) ------------------------------------------


def _labelled(run: Run, start_s: int, duration_s: int) -> np.ndarray:
    mask = np.zeros(len(run), dtype=bool)
    mask[start_s:start_s + duration_s] = True
    return mask & run.timer_running


def inject_spikes(run: Run, at_s: Iterable[int], *, seed: int = 0, duration_s: tuple[int, int] = (5, 20),
                  rise_bpm: tuple[float, float] = (30.0, 60.0)) -> tuple[Run, np.ndarray]:
    """A spike of +30...+60 bpm lasting 5-20 s starting at each of `at_s`."""
    rng = np.random.default_rng(seed)
    hr, label = run.hr.copy(), np.zeros(len(run), dtype=bool)
    for at in at_s:
        length = int(rng.integers(duration_s[0], duration_s[1] + 1))
        rise = float(rng.uniform(*rise_bpm))
        hr[at:at + length] = np.round(hr[at:at + length] + rise)
        label |= _labelled(run, at, length)
    return replace(run, hr=hr), label


def inject_dropout(run: Run, at_s: int, duration_s: int, value: float = np.nan) -> tuple[Run, np.ndarray]:
    """No heart rate (NaN) or a reading of `value` (0: a strap that lost contact) for `duration_s`."""
    hr = run.hr.copy()
    hr[at_s:at_s + duration_s] = value
    return replace(run, hr=hr), _labelled(run, at_s, duration_s)


def inject_frozen(run: Run, at_s: int, duration_s: int) -> tuple[Run, np.ndarray]:
    """The heart rate stuck at the value it had at `at_s`."""
    hr = run.hr.copy()
    hr[at_s:at_s + duration_s] = hr[at_s]
    return replace(run, hr=hr), _labelled(run, at_s, duration_s)


def inject_cadence_lock(run: Run, at_s: int, duration_s: int) -> tuple[Run, np.ndarray]:
    """An optical sensor locked onto the step rate: HR := steps/min (2 x the stride cadence), entered by a
    jump, no change of pace."""
    hr = run.hr.copy()
    hr[at_s:at_s + duration_s] = 2.0 * run.cadence[at_s:at_s + duration_s]
    return replace(run, hr=hr), _labelled(run, at_s, duration_s)


def inject_dry_strap(run: Run, duration_s: int, *, seed: int = 0, low: float = 150.0,
                     high: float = 190.0) -> tuple[Run, np.ndarray]:
    """A dry chest strap: erratic readings between 150 and 190 bpm for the first `duration_s` seconds."""
    rng = np.random.default_rng(seed)
    middle, half = (low + high) / 2.0, (high - low) / 2.0
    wander = _ar1(rng, duration_s, 0.6 * half, 0.97) + rng.normal(0.0, 4.0, duration_s)
    hr = run.hr.copy()
    hr[:duration_s] = np.round(np.clip(middle + wander, low, high))
    return replace(run, hr=hr), _labelled(run, 0, duration_s)


# --- recording -----------------------------------------------------------------------------------------------


def smart_recording(run: Run, *, seed: int = 0, max_gap_s: int = 10, hr_change_bpm: float = 3.0,
                    speed_change_m_s: float = 0.4) -> Run:
    """Keep samples 1-10 s apart like Garmin smart recording: at the latest after a drawn gap (shorter gaps
    likelier), sooner when heart rate or speed changed; the samples around a pause are always kept."""
    rng = np.random.default_rng(seed)
    gaps = np.arange(1, max_gap_s + 1)
    weights = (max_gap_s + 1 - gaps) / (max_gap_s + 1 - gaps).sum()
    on = run.recorded
    edge = on & (~np.roll(on, 1) | ~np.roll(on, -1))
    keep = np.zeros(len(run), dtype=bool)
    last, wait = -10**9, 0
    hr, speed = np.nan_to_num(run.hr, nan=-100.0), run.speed
    for i in map(int, np.flatnonzero(on)):  # sequential by nature: each choice depends on the last kept sample
        changed = last >= 0 and (abs(hr[i] - hr[last]) >= hr_change_bpm
                                 or abs(speed[i] - speed[last]) >= speed_change_m_s)
        if last < 0 or edge[i] or i - last >= wait or changed:
            keep[i], last, wait = True, i, int(rng.choice(gaps, p=weights))
    keep[np.flatnonzero(on)[-1]] = True
    return replace(run, recorded=keep)


def _sample_index(run: Run) -> np.ndarray:
    return np.flatnonzero(run.recorded)


def _stop_moments(run: Run, idx: np.ndarray) -> np.ndarray:
    """Per kept sample: True where the timer stops right after it (a pause follows). Stored as
    timer_running = False, as the pipeline marks the sample at a FIT stop event."""
    nxt = np.minimum(idx + 1, len(run) - 1)
    return (idx + 1 < len(run)) & ~run.timer_running[nxt]


def _nullable_int(values: np.ndarray) -> list[int | None]:
    return [None if np.isnan(v) else int(v) for v in values]


def records_table(run: Run, *, athlete_id: str = "me", activity_id: str = "synthetic-0") -> pa.Table:
    """The run's kept samples as stored RECORDS rows."""
    idx = _sample_index(run)
    n = len(idx)
    start_ms = int(run.start.timestamp() * 1000)
    columns: dict[str, Any] = {
        "athlete_id": [athlete_id] * n,
        "activity_id": [activity_id] * n,
        "timestamp": pa.array(start_ms + 1000 * idx.astype(np.int64), pa.timestamp("ms", tz="UTC")),
        "utc_offset_s": [run.utc_offset_s] * n,
        "elapsed_s": idx.astype(float),
        "timer_running": run.timer_running[idx] & ~_stop_moments(run, idx),
        "latitude_deg": run.latitude[idx],
        "longitude_deg": run.longitude[idx],
        "altitude_m": run.altitude[idx],
        "heart_rate_bpm": _nullable_int(run.hr[idx]),
        "cadence_rpm": run.cadence[idx],
        "speed_m_s": run.speed[idx],
        "distance_m": run.distance[idx],
        "power_w": np.full(n, np.nan),
        "temperature_c": run.temperature[idx],
    }
    arrays = [pa.array(columns[f.name], f.type, from_pandas=True) if not isinstance(columns[f.name], pa.Array)
              else columns[f.name] for f in RECORDS]
    return pa.Table.from_arrays(arrays, schema=RECORDS)


def _default_sensors(run: Run) -> tuple[str, ...]:
    return ("heart_rate/antplus",) if np.isfinite(run.hr).any() else ()


def activity_row(run: Run, *, sport: str | None = None, indoor: bool | None = None,
                 sensors: Sequence[str] | None = None, athlete_id: str = "me", activity_id: str = "synthetic-0",
                 source_format: str = "fit", **overrides: Any) -> dict[str, Any]:
    """An ACTIVITIES row for the run, every key present; totals from the kept samples, None where irrelevant."""
    idx = _sample_index(run)
    hr = run.hr[idx]
    finite_hr = hr[np.isfinite(hr)]
    has_position = bool(np.isfinite(run.latitude[idx]).any())
    timer_s = float(run.timer_running.sum())
    moving_s = float((run.timer_running & (run.true_speed >= 0.5)).sum())
    distance = float(run.distance[idx][-1]) if len(idx) else None
    climb = np.diff(run.altitude[idx]) if np.isfinite(run.altitude).any() else None
    row: dict[str, Any] = {
        "athlete_id": athlete_id,
        "activity_id": activity_id,
        "start_time": run.start,
        "utc_offset_s": run.utc_offset_s,
        "utc_offset_source": "file",
        "timezone": run.place.timezone if has_position and run.place is not None else None,
        "start_time_local": (run.start + timedelta(seconds=run.utc_offset_s)).replace(tzinfo=None),
        "sport": sport or run.sport,
        "source_sport": "running/treadmill" if (sport or run.sport) == "treadmill_running" else "running/generic",
        "indoor": run.indoor if indoor is None else indoor,
        "elapsed_time_s": float(idx[-1]) if len(idx) else 0.0,
        "timer_time_s": timer_s,
        "moving_time_s": moving_s,
        "distance_m": distance,
        "ascent_m": None if climb is None else float(np.nansum(np.clip(climb, 0, None))),
        "descent_m": None if climb is None else float(-np.nansum(np.clip(climb, None, 0))),
        "avg_heart_rate_bpm": float(finite_hr.mean()) if finite_hr.size else None,
        "max_heart_rate_bpm": int(finite_hr.max()) if finite_hr.size else None,
        "avg_speed_m_s": distance / moving_s if distance is not None and moving_s else None,
        "record_count": len(idx),
        "has_position": has_position,
        "has_heart_rate": bool(finite_hr.size),
        "has_power": False,
        "sensors": list(_default_sensors(run) if sensors is None else sensors),
        "device_distance_m": distance,
        "device_timer_time_s": timer_s,
        "device_elapsed_time_s": float(idx[-1]) if len(idx) else 0.0,
        "device_ascent_m": None,
        "device_descent_m": None,
        "device_avg_heart_rate_bpm": round(float(finite_hr.mean())) if finite_hr.size else None,
        "device_max_heart_rate_bpm": int(finite_hr.max()) if finite_hr.size else None,
        "workout_feel": None,
        "workout_rpe": None,
        "workout_name": None,
        "name": run.name,
        "manufacturer": "garmin" if source_format == "fit" else "synthetic",
        "product": None,
        "device_serial": None,
        "source_format": source_format,
        "decoder": "synthetic",
        "source_sha256": "0" * 64,
        "source_path": f"synthetic.{source_format}",
        "session_index": 0,
        "partial": False,
        "partial_reason": None,
        "duplicate_sources": [],
        "imported_at": START,
        "schema_version": SCHEMA_VERSION,
    }
    unknown = set(overrides) - set(row)
    if unknown:
        raise KeyError(f"not ACTIVITIES columns: {sorted(unknown)}")
    row.update(overrides)
    assert set(row) == set(ACTIVITIES.names)
    return row


# --- FIT and GPX files ----------------------------------------------------------------------------------------

MESG = Profile["mesg_num"]
FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
GARMIN_FR955 = 3990
# "type/source" of activity_row's `sensors` -> FIT device_info source_type and device_type number
_FIT_SENSORS = {
    "heart_rate/antplus": ("antplus", 120),
    "wrist_heart_rate/local": ("local", 10),
    "env_sensor/antplus": ("antplus", 25),
    "stride_speed_distance/antplus": ("antplus", 124),
}


class _CheckedEncoder(Encoder):
    """The SDK encoder silently drops keys its profile does not know; here that is an error."""

    _names: ClassVar[dict[int, frozenset[str]]] = {}

    def on_mesg(self, mesg_num: int, mesg: dict[str, Any]) -> Any:
        names = self._names.get(mesg_num)
        if names is None:
            names = self._names[mesg_num] = frozenset(
                f["name"] for f in Profile["messages"][mesg_num]["fields"].values())
        unknown = sorted(set(mesg) - names)
        if unknown:
            raise ValueError(f"mesg {mesg_num}: the FIT SDK profile does not know {unknown}")
        return super().on_mesg(mesg_num, mesg)


def _timer_event(when: datetime, event_type: str) -> dict[str, Any]:
    return {"timestamp": when, "event": "timer", "event_type": event_type, "event_group": 0, "data": 0}


def _semicircles(degrees: float) -> int:
    return round(degrees * 2**31 / 180)


def to_fit_bytes(run: Run, *, sensors: Sequence[str] | None = None) -> bytes:
    """The run as a watch writes it: file_id, device_info, timer events, records, one lap, session, activity."""
    enc = _CheckedEncoder()
    idx = _sample_index(run)

    def at(second: float) -> datetime:
        return run.start + timedelta(seconds=float(second))

    sub_sport = "treadmill" if run.sport == "treadmill_running" else "generic"
    enc.on_mesg(MESG["FILE_ID"], {"type": "activity", "manufacturer": "garmin", "product": GARMIN_FR955,
                                  "serial_number": 1_234_567_890, "time_created": run.start})
    enc.on_mesg(MESG["DEVICE_INFO"], {"timestamp": run.start, "device_index": 0, "manufacturer": "garmin",
                                      "product": GARMIN_FR955, "source_type": "local"})
    for number, sensor in enumerate(_default_sensors(run) if sensors is None else sensors, start=1):
        source, device_type = _FIT_SENSORS[sensor]
        enc.on_mesg(MESG["DEVICE_INFO"], {"timestamp": run.start, "device_index": number, "device_type": device_type,
                                          "source_type": source, "manufacturer": "garmin"})
    enc.on_mesg(MESG["EVENT"], _timer_event(run.start, "start"))
    stops = _stop_moments(run, idx)
    for j, i in enumerate(idx):
        mesg: dict[str, Any] = {"timestamp": at(i), "distance": float(run.distance[i]),
                                "enhanced_speed": float(run.speed[i])}
        if np.isfinite(run.latitude[i]):
            mesg["position_lat"] = _semicircles(run.latitude[i])
            mesg["position_long"] = _semicircles(run.longitude[i])
        if np.isfinite(run.altitude[i]):
            mesg["enhanced_altitude"] = float(run.altitude[i])
        if np.isfinite(run.hr[i]):
            mesg["heart_rate"] = int(run.hr[i])
        if np.isfinite(run.cadence[i]):
            mesg["cadence"] = int(run.cadence[i])
        if np.isfinite(run.temperature[i]):
            mesg["temperature"] = round(float(run.temperature[i]))
        enc.on_mesg(MESG["RECORD"], mesg)
        if stops[j]:
            enc.on_mesg(MESG["EVENT"], _timer_event(at(i), "stop_all"))
            enc.on_mesg(MESG["EVENT"], _timer_event(at(idx[j + 1]), "start"))
    end = at(idx[-1])
    enc.on_mesg(MESG["EVENT"], _timer_event(end, "stop_all"))
    hr = run.hr[idx][np.isfinite(run.hr[idx])]
    totals: dict[str, Any] = {
        "start_time": run.start,
        "total_elapsed_time": float(idx[-1]),
        "total_timer_time": float(run.timer_running.sum()),
        "total_distance": float(run.distance[idx[-1]]),
        "sport": "running",
        "sub_sport": sub_sport,
    }
    if hr.size:
        totals |= {"avg_heart_rate": round(float(hr.mean())), "max_heart_rate": int(hr.max())}
    enc.on_mesg(MESG["LAP"], {"timestamp": end, "event": "lap", "event_type": "stop", "lap_trigger": "session_end",
                              "message_index": 0, **totals})
    enc.on_mesg(MESG["SESSION"], {"timestamp": end, "event": "session", "event_type": "stop",
                                  "trigger": "activity_end", "first_lap_index": 0, "num_laps": 1,
                                  "message_index": 0, **totals})
    end_ts = int((end - FIT_EPOCH).total_seconds())
    enc.on_mesg(MESG["ACTIVITY"], {"timestamp": end_ts, "total_timer_time": float(run.timer_running.sum()),
                                   "num_sessions": 1, "type": "manual", "event": "activity", "event_type": "stop",
                                   "local_timestamp": end_ts + run.utc_offset_s})
    return bytes(enc.close())


GPXTPX = "http://www.garmin.com/xmlschemas/TrackPointExtension/v1"


def to_gpx_bytes(run: Run) -> bytes:
    """The run as a Garmin GPX export: positions, elevation, time, and hr/cad in a TrackPointExtension; a new
    track segment after each pause."""
    if not np.isfinite(run.latitude).any():
        raise ValueError("a GPX track needs positions; this run has none (indoors)")
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "Garmin Connect (synthetic)"
    gpx.nsmap["gpxtpx"] = GPXTPX
    track = gpxpy.gpx.GPXTrack(name=run.name)
    track.type = "running"  # type: ignore[assignment]
    gpx.tracks.append(track)
    idx = _sample_index(run)
    stops = _stop_moments(run, idx)
    segment = gpxpy.gpx.GPXTrackSegment()
    for j, i in enumerate(idx):
        point = gpxpy.gpx.GPXTrackPoint(
            latitude=round(float(run.latitude[i]), 7), longitude=round(float(run.longitude[i]), 7),
            elevation=None if np.isnan(run.altitude[i]) else round(float(run.altitude[i]), 1),
            time=run.start + timedelta(seconds=int(i)))
        extension = ET.Element(f"{{{GPXTPX}}}TrackPointExtension")
        for tag, value in (("atemp", run.temperature[i]), ("hr", run.hr[i]), ("cad", run.cadence[i])):
            if np.isfinite(value):
                ET.SubElement(extension, f"{{{GPXTPX}}}{tag}").text = str(round(float(value)))
        if len(extension):
            point.extensions.append(extension)
        segment.points.append(point)
        if stops[j]:
            track.segments.append(segment)
            segment = gpxpy.gpx.GPXTrackSegment()
    track.segments.append(segment)
    return gpx.to_xml(version="1.1").encode("utf-8")


def through_connectors(data: bytes, path: str, *, activity_id: str = "synthetic-0"
                       ) -> tuple[dict[str, Any], pa.Table]:
    """What the importer stores for a file: `connectors.decode_file`, then `pipeline.normalize`."""
    import hashlib

    from connectors import decode_file
    from pipeline.normalize import normalize

    (decoded,) = decode_file(data, path)
    stored = normalize(decoded, athlete_id="me", activity_id=activity_id,
                       source_sha256=hashlib.sha256(data).hexdigest(), source_path=path, imported_at=START)
    return stored.activity, stored.records


# --- the truth --------------------------------------------------------------------------------------------


def _longest_true_run(mask: np.ndarray) -> int:
    if not mask.any():
        return 0
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max())


def time_above_vt1(run: Run) -> tuple[float, int]:
    """Share of the moving seconds whose true HR_ss (drift and heat included) exceeded the true VT1 heart
    rate, and the longest such stretch in seconds (moving seconds only, pauses and stops left out)."""
    moving = run.moving
    above = run.hr_ss[moving] > run.runner.hr_vt1
    return (float(above.mean()) if above.size else 0.0), _longest_true_run(above)


def oracle(run: Run) -> str:
    """§7.1's label from the true physiology: gentle if at most 5 % of the time above the true VT1 and no
    stretch over 3 min; too_hard if over 20 % or a stretch over 10 min; borderline otherwise."""
    share, longest = time_above_vt1(run)
    if share > 0.20 or longest > 600:
        return "too_hard"
    if share <= 0.05 and longest <= 180:
        return "gentle"
    return "borderline"
