"""From a stored run to its gentleness verdict (gentleness.md §5.3 to §5.10).

1. Resample to 1 Hz on the timer clock: a second between two samples takes the value interpolated
   between them, after a missing value the last one for at most `ffill_max_s`; gaps over `pause_gap_s`
   and timer stops are pauses, left out entirely.
2. Moving (faster than 0.9 m/s; an indoor run's whole timer time), walking against running (cadence
   of 140 steps/min, else 1.9 m/s, with a 10 s hysteresis), grade and grade-adjusted speed.
3. Clean the heart rate, each removed second with its reason: `range`, `spike` (Hampel filter),
   `frozen`, `cadence_lock`, `early_contact`; short holes are interpolated, then smoothed.
4. Judge by the best path the data allows: heart rate when at least 70 % of the moving seconds have a
   valid one, else grade-adjusted pace against the conversational pace, else the runner's own report.
5. Fuse with what the runner said: their report wins ties, a run they meant to be hard is "planned
   harder" and never flagged. Type each excursion (hill, surge, late drift) and say it kindly.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline import pace as pace_mod
from pipeline.artefacts import DEFAULT_ARTEFACTS, ArtefactSettings, cadence_lock, early_contact
from pipeline.ceiling import DEFAULT_CEILING_SETTINGS, Ceiling, CeilingSettings, ProfileVersion, resolve_ceiling
from pipeline.gentleness import DEFAULT_GENTLENESS, Assessment, GentlenessSettings, assess_hr, assess_series, runs_of
from pipeline.normalize import haversine_m

# Bump when a rule or a default changes what a verdict can be; `Settings.version` adds a hash of any
# setting the config changed, so every stored verdict says exactly what made it.
ALGORITHM_VERSION = "1.0.0"
RUNNING_SPORTS = ("running", "trail_running", "treadmill_running", "track_running")
EXCLUSION_REASONS = ("range", "spike", "frozen", "cadence_lock", "early_contact")
POSITION_SMOOTH_FIXES = 9  # positions averaged over this many fixes before distance is summed from them


@dataclass(frozen=True)
class AssessSettings:
    ffill_max_s: float = 5.0
    pause_gap_s: float = 10.0
    moving_speed_m_s: float = 0.9  # Strava's 30 min/mile
    run_cadence_spm: float = 140.0  # adults switch from walking to running at about 140 steps/min
    run_speed_m_s: float = 1.9  # ...or about 1.9 m/s without cadence
    walk_hysteresis_s: int = 10
    walk_break_min_s: int = 30
    hr_min_bpm: float = 30.0
    hr_max_bpm: float = 230.0
    hampel_window_s: int = 31
    hampel_min_bpm: float = 15.0
    hampel_k: float = 4.0
    frozen_min_s: int = 60
    interp_max_gap_s: int = 5
    hr_smooth_s: int = 15
    hr_quality_good: float = 0.90
    hr_quality_min: float = 0.70
    hill_grade: float = 0.04  # an excursion on a mean grade of 4 % or more is a hill
    late_start_frac: float = 0.60  # one starting after 60 % of the run, not faster, is late drift
    surge_frac: float = 0.10  # one at 10 % over the run's median grade-adjusted speed is a surge
    decoupling_min_steady_min: float = 40.0
    decoupling_warmup_min: float = 10.0
    decoupling_late_drift_pct: float = 10.0
    decoupling_late_drift_min_run_min: float = 60.0
    edge_share: float = 0.30  # a gentle run with this share of its time right at the ceiling says so
    heat_c: float = 25.0  # ambient temperature (from an external sensor, not the wrist) that makes it a warm run


@dataclass(frozen=True)
class Settings:
    """Every number of the stage, one section per module; config `[gentleness]` keys set any of them."""

    assess: AssessSettings = AssessSettings()
    gentleness: GentlenessSettings = DEFAULT_GENTLENESS
    ceiling: CeilingSettings = DEFAULT_CEILING_SETTINGS
    pace: pace_mod.PaceSettings = pace_mod.DEFAULT_PACE
    artefacts: ArtefactSettings = DEFAULT_ARTEFACTS

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> Settings:
        """Flat keys, each setting every section's field of that name (`edge_fraction` is in two)."""
        sections = {f.name: getattr(cls(), f.name) for f in fields(cls)}
        known = {name for section in sections.values() for name in (f.name for f in fields(section))}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ValueError(f"unknown gentleness settings {unknown}")
        changed = {}
        for key, section in sections.items():
            mine = {f.name: f.type for f in fields(section)}
            values = {}
            for name, value in table.items():
                if name in mine:
                    if isinstance(value, bool) or not isinstance(value, int | float):
                        raise ValueError(f"gentleness setting {name} must be a number, not {value!r}")
                    values[name] = type(getattr(section, name))(value)
            changed[key] = replace(section, **values)
        return cls(**changed)

    def version(self) -> str:
        if self == Settings():
            return ALGORITHM_VERSION
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:8]
        return f"{ALGORITHM_VERSION}+settings.{digest}"


DEFAULT_SETTINGS = Settings()


# --- 1. the timer clock ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PerSecond:
    """One run at 1 Hz on the timer clock (pauses removed); NaN where a second has no value."""

    elapsed_s: np.ndarray  # seconds since the start on the wall clock
    hr: np.ndarray
    speed: np.ndarray
    distance: np.ndarray
    altitude: np.ndarray
    cadence_spm: np.ndarray  # steps per minute (the FIT running cadence counts strides)
    temperature: np.ndarray

    def __len__(self) -> int:
        return len(self.hr)


def on_timer_clock(records: pa.Table, s: AssessSettings = AssessSettings()) -> PerSecond:
    """Stored records (RECORDS schema, one activity) as a 1 Hz series without the paused seconds."""
    if records.num_rows == 0:
        empty = np.zeros(0)
        return PerSecond(empty, empty, empty, empty, empty, empty, empty)
    t, running, columns = _samples(records)
    if _once_a_second(t, running, columns):  # the grid would be the samples themselves (a test holds it)
        return PerSecond(t.copy(), *columns)
    return _gridded(t, running, columns, s)


def _samples(records: pa.Table) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """The samples' times, whether the timer ran, and PerSecond's columns after the time, as stored."""
    t = records["elapsed_s"].to_numpy()
    running = records["timer_running"].to_numpy(zero_copy_only=False).astype(bool)

    def stored(name: str, scale: float = 1.0) -> np.ndarray:
        return records[name].to_numpy(zero_copy_only=False).astype(float) * scale  # type: ignore[no-any-return]

    return t, running, [stored("heart_rate_bpm"), stored("speed_m_s"), distance_along(records, running),
                        stored("altitude_m"), stored("cadence_rpm", 2.0), stored("temperature_c")]


def _once_a_second(t: np.ndarray, running: np.ndarray, columns: list[np.ndarray]) -> bool:
    """One sample a second on whole seconds, never paused, no infinite value (most runs of a watch set to
    1 s recording): each second's value is its own sample's."""
    return bool(len(t) > 1 and t[0] == np.floor(t[0]) and running.all() and (np.diff(t) == 1.0).all()
                and not any(np.isinf(c).any() for c in columns))


def _gridded(t: np.ndarray, running: np.ndarray, columns: list[np.ndarray], s: AssessSettings) -> PerSecond:
    """The samples at times `t` laid on a grid of whole seconds, paused seconds left out."""
    # A pause (a timer stop, or a gap over pause_gap_s) is the interval from its sample to the next one.
    # Pauses are shrunk to one second before the grid is laid, so a file whose clock jumps by days does
    # not become a grid of millions of seconds; `shift` maps the shrunk clock back.
    interval = np.diff(t, append=t[-1])
    pause_after = ~running | (interval > s.pause_gap_s)
    shrink = np.where(pause_after & (interval > 1.0), interval - 1.0, 0.0)
    shift = np.concatenate(([0.0], np.cumsum(shrink)[:-1]))
    tc = t - shift
    grid = np.arange(np.floor(tc[0]), np.floor(tc[-1]) + 1.0)
    last = np.clip(np.searchsorted(tc, grid, side="right") - 1, 0, len(t) - 1)
    age = grid - tc[last]
    # the gap the second sits in: from the last sample to the next one
    following = np.clip(last + 1, 0, len(t) - 1)
    gap = np.where(following > last, t[following] - t[last], 0.0)
    paused = pause_after[last] & (following > last) | ~running[last]
    fresh = age <= s.ffill_max_s
    share = np.where(gap > 0, age / np.where(gap > 0, gap, 1.0), 0.0)

    def column(values: np.ndarray) -> np.ndarray:
        # Between two samples of a recording gap (smart recording: 1 to 10 s apart) the value is
        # interpolated, so sparse recording does not turn moving seconds into holes; after a sample with
        # no successor value (a dropout) it is held for at most `ffill_max_s`.
        before, after = values[last], values[following]
        between = before + (after - before) * share
        return np.where(~np.isnan(after) & (following > last), between, np.where(fresh, before, np.nan))[~paused]

    return PerSecond((grid + shift[last])[~paused], *(column(c) for c in columns))


def distance_along(records: pa.Table, running: np.ndarray) -> np.ndarray:
    """Cumulative distance per sample: the device's, else summed from positions (a GPX track), legs
    ending in a pause not counted."""
    distance = records["distance_m"].to_numpy(zero_copy_only=False).astype(float)
    if not np.isnan(distance).all():
        return distance
    lat = records["latitude_deg"].to_numpy(zero_copy_only=False).astype(float)
    lon = records["longitude_deg"].to_numpy(zero_copy_only=False).astype(float)
    idx = np.flatnonzero(~np.isnan(lat) & ~np.isnan(lon))
    if len(idx) < 2:
        return distance
    # GPS noise zig-zags: summed raw legs overstate the distance by 5 to 10 %; smoothed positions do not
    lat[idx] = pace_mod.centred_mean(lat[idx], POSITION_SMOOTH_FIXES)
    lon[idx] = pace_mod.centred_mean(lon[idx], POSITION_SMOOTH_FIXES)
    legs = np.where(running[idx[1:]], haversine_m(lat[idx[:-1]], lon[idx[:-1]], lat[idx[1:]], lon[idx[1:]]), 0.0)
    distance[idx] = np.concatenate(([0.0], np.cumsum(legs)))
    return distance


# --- 2. moving, walking, grade -------------------------------------------------------------------------


def moving_mask(series: PerSecond, indoor: bool, s: AssessSettings = AssessSettings()) -> np.ndarray:
    if indoor or np.isnan(series.speed).all():
        return np.ones(len(series), dtype=bool)
    return np.nan_to_num(series.speed) > s.moving_speed_m_s


def _without_short_spans(mask: np.ndarray, min_len: int) -> np.ndarray:
    """Hysteresis: a change of state that lasts less than `min_len` seconds is not one."""
    out = mask.copy()
    for value in (True, False):
        for start, end in runs_of(out == value):
            if end - start < min_len and start > 0 and end < len(out):
                out[start:end] = not value
    return out


def walking_mask(series: PerSecond, moving: np.ndarray, s: AssessSettings = AssessSettings()) -> np.ndarray:
    """Moving seconds spent walking: under 140 steps/min where cadence is known, else under 1.9 m/s."""
    cadence = series.cadence_spm
    by_speed = np.nan_to_num(series.speed) < s.run_speed_m_s
    walking = np.where(np.isnan(cadence) | (cadence <= 0), by_speed, cadence < s.run_cadence_spm)
    if np.isnan(series.speed).all() and np.isnan(cadence).all():
        walking = np.zeros(len(series), dtype=bool)
    return _without_short_spans(walking & moving, s.walk_hysteresis_s) & moving


@dataclass(frozen=True)
class Terrain:
    speed: np.ndarray  # cleaned speed, m/s: the device's (median-filtered) or from positions
    grade: np.ndarray  # rise over run per second, 0 where unknown
    gap_speed: np.ndarray  # grade-adjusted speed, m/s (NaN where speed is unknown)
    has_elevation: bool


def terrain(series: PerSecond, from_positions: bool, barometric: bool, p: pace_mod.PaceSettings) -> Terrain:
    speed = pace_mod.smoothed_speed(series.speed, series.distance, from_positions, p)
    elevation = pace_mod.has_elevation(series.altitude)
    if not elevation:
        return Terrain(speed, np.zeros(len(series)), speed, False)
    smooth_s = p.altitude_smooth_s_baro if barometric else p.altitude_smooth_s_gps
    grade = np.nan_to_num(pace_mod.grade_series(series.distance, series.altitude, smooth_s, p))
    return Terrain(speed, grade, pace_mod.gap_speed(speed, grade), True)


# --- 3. heart-rate cleaning ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanHr:
    hr: np.ndarray  # cleaned, interpolated over short holes, smoothed; NaN = hole
    excluded_s: dict[str, int] = field(default_factory=dict)


def clean_hr(hr: np.ndarray, speed: np.ndarray, max_hr: float | None = None,
             s: AssessSettings = AssessSettings(), *, cadence_spm: np.ndarray | None = None,
             gap_speed: np.ndarray | None = None, running: np.ndarray | None = None,
             a: ArtefactSettings = DEFAULT_ARTEFACTS) -> CleanHr:
    """§5.3 step 6. Cadence lock and early strap contact need cadence, grade-adjusted speed and the
    running seconds; without them those two rules are skipped. NumPy throughout (it runs once per run
    of every import)."""
    raw = np.array(hr, dtype=float)
    speed = np.asarray(speed, dtype=float)
    excluded: dict[str, int] = {}

    def drop(mask: np.ndarray, reason: str) -> None:
        mask = np.asarray(mask, dtype=bool) & ~np.isnan(raw)
        excluded[reason] = int(mask.sum())
        raw[mask] = np.nan

    top = min(s.hr_max_bpm, max_hr + 10) if max_hr else s.hr_max_bpm
    with np.errstate(invalid="ignore"):
        drop((raw < s.hr_min_bpm) | (raw > top), "range")
    # artefacts that replace the heart rate with another signal come before the spike filter, which
    # would otherwise nibble at their edges and leave their middles
    if cadence_spm is not None and not np.isnan(cadence_spm).all():
        drop(cadence_lock(raw.copy(), cadence_spm, speed, a), "cadence_lock")
    if gap_speed is not None and running is not None:
        drop(early_contact(raw.copy(), gap_speed, running, a), "early_contact")
    median = _centred(raw, s.hampel_window_s, "median")
    deviation = np.abs(raw - median)
    mad = _centred(deviation, s.hampel_window_s, "median")
    with np.errstate(invalid="ignore"):
        drop(deviation > np.maximum(s.hampel_min_bpm, s.hampel_k * 1.4826 * mad), "spike")
    # frozen: a run of one identical value for a minute or more while the speed changes
    run_id = np.cumsum(raw != np.concatenate(([np.nan], raw[:-1])))  # NaN differs from everything
    run_len = np.bincount(run_id)[run_id]
    drop((run_len >= s.frozen_min_s) & (_group_std(speed, run_id) > 0.1), "frozen")
    # holes no longer than the limit, between two values, filled on a straight line; longer ones stay whole
    hole = np.isnan(raw)
    filled = raw.copy()
    if hole.any() and not hole.all():
        hole_id = np.cumsum(~hole)
        hole_len = np.bincount(hole_id, weights=hole)[hole_id]
        known = np.flatnonzero(~hole)
        inside = hole & (np.arange(len(raw)) > known[0]) & (np.arange(len(raw)) < known[-1])
        short = inside & (hole_len <= s.interp_max_gap_s)
        filled[short] = np.interp(np.flatnonzero(short), known, raw[known])
    smooth = _centred(filled, s.hr_smooth_s, "mean")
    smooth[np.isnan(filled)] = np.nan
    return CleanHr(smooth, {k: v for k, v in excluded.items() if v})


def _centred(values: np.ndarray, window: int, how: str) -> np.ndarray:
    """A centred rolling median or mean over the values present (NaN where a window holds none)."""
    return pace_mod.rolling(values, window, "median" if how == "median" else "mean", 1)


def _group_std(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each item's group's sample standard deviation of the values present (0 where under two), as
    pandas' groupby std, in two passes (mean, then squared deviations) for accuracy."""
    present = ~np.isnan(values)
    clean = np.where(present, values, 0.0)
    count = np.bincount(groups, weights=present)
    mean = np.bincount(groups, weights=clean) / np.maximum(count, 1)
    squares = np.bincount(groups, weights=np.where(present, (clean - mean[groups]) ** 2, 0.0))
    std = np.sqrt(squares / np.maximum(count - 1, 1))
    std[count < 2] = 0.0
    return std[groups]  # type: ignore[no-any-return]


# --- 4 and 5. the verdict -------------------------------------------------------------------------------

_LEVELS = ("low", "medium", "high")
HEADLINES = {
    "gentle": "Gentle run",
    "borderline": "Mostly gentle, with a harder stretch",
    "too_hard": "A harder run than your easy plan",
    "planned_hard": "Planned harder run",
    "not_assessed": "Not assessed",
}
TALK_ANSWERS = ("yes", "yes_but", "no")


@dataclass(frozen=True)
class SelfReport:
    """What the runner said about the run: kindpace feel/intent, or the feel and RPE the watch kept."""

    talk: str | None = None  # yes | yes_but | no
    rpe_cr10: float | None = None
    source: str | None = None  # runner | watch
    intent: str | None = None  # easy | hard
    intent_source: str | None = None  # runner | file

    def category(self) -> str | None:
        """§5.7: talk yes and CR10 <= 3 gentle; yes-but or CR10 4 borderline; no or CR10 >= 5 too hard."""
        if self.talk is None and self.rpe_cr10 is None:
            return None
        if self.talk == "no" or (self.rpe_cr10 is not None and self.rpe_cr10 >= 5):
            return "too_hard"
        if self.talk == "yes_but" or (self.rpe_cr10 is not None and self.rpe_cr10 > 3):
            return "borderline"
        return "gentle"


def self_report_of(activity: dict[str, Any], note: dict[str, Any] | None) -> SelfReport:
    """The runner's own note wins over what the watch kept; the watch's RPE (10 x 1..10) counts as CR10."""
    note = note or {}
    talk, rpe = note.get("talk"), note.get("rpe_cr10")
    source: str | None = "runner"
    if talk is None and rpe is None and activity.get("workout_rpe") is not None:
        rpe, source = activity["workout_rpe"] / 10.0, "watch"
    if talk is None and rpe is None:
        source = None
    intent, intent_source = note.get("intent"), "runner" if note.get("intent") else None
    if intent is None and (from_file := file_intent(activity)) is not None:
        intent, intent_source = from_file, "file"
    return SelfReport(talk, rpe, source, intent, intent_source)


# Words of a structured workout's name that say it was meant to be hard. Device defaults ("Wahoo
# Workout", "DEFAULT") are not among them: a workout message alone says nothing about intent.
_HARD_WORKOUT = re.compile(r"\b(races?|parkrun|intervals?|tempo|threshold|vo2|hiit|fartlek|repeats|"
                           r"speed|\d+\s*x\s*\d)", re.IGNORECASE)


def file_intent(activity: dict[str, Any]) -> str | None:
    """`hard` when the file's structured workout is a race or an interval/tempo session, by its name."""
    name = activity.get("workout_name")
    return "hard" if name and _HARD_WORKOUT.search(name) else None


@dataclass(frozen=True)
class Excursion:
    basis: str  # hr | pace
    type: str  # hill | late_drift | surge | other
    start_timer_s: float
    start_elapsed_s: float
    duration_s: float
    start_distance_m: float | None
    peak_heart_rate_bpm: float | None
    mean_speed_m_s: float | None
    mean_grade: float | None


@dataclass(frozen=True)
class Verdict:
    category: str  # gentle | borderline | too_hard | planned_hard | not_assessed
    score: int | None
    confidence: str | None
    reasons: tuple[str, ...]  # codes, most important first
    message: str  # plain, kind words
    basis: str = "none"  # hr | pace | self_report | none
    sensor_category: str | None = None
    ceiling_bpm: float | None = None
    hard_line_bpm: float | None = None
    ceiling_speed_m_s: float | None = None
    hard_line_speed_m_s: float | None = None
    ceiling_method: str | None = None
    ceiling_how: str | None = None
    moving_s: float = 0.0
    assessed_s: int = 0
    time_above_ceiling_s: int = 0
    calm_s: int = 0  # assessed seconds at or below the edge line: calm, or right at the ceiling
    time_above_hard_line_s: int = 0
    weighted_overage_pct: float | None = None
    longest_excursion_s: int = 0
    signal_valid_pct: float | None = None
    excluded_s: dict[str, int] = field(default_factory=dict)
    walk_time_s: float = 0.0
    walk_breaks: int = 0
    decoupling_pct: float | None = None
    has_elevation: bool | None = None
    excursions: tuple[Excursion, ...] = ()
    self_report: SelfReport = SelfReport()

    @property
    def headline(self) -> str:
        return HEADLINES[self.category]


@dataclass(frozen=True)
class Prepared:
    """What every path shares: the series, the masks and the terrain."""

    series: PerSecond
    moving: np.ndarray
    walking: np.ndarray
    terrain: Terrain
    walk_breaks: list[tuple[int, int]]  # walking spans long enough to be a break


def prepare(activity: dict[str, Any], records: pa.Table, settings: Settings = DEFAULT_SETTINGS) -> Prepared:
    s = settings.assess
    series = on_timer_clock(records, s)
    indoor = bool(activity.get("indoor"))
    from_positions = activity.get("source_format") == "gpx" or np.isnan(series.speed).all()
    ground = terrain(series, from_positions, barometric=activity.get("source_format") == "fit", p=settings.pace)
    if indoor:  # a treadmill's altitude, if any, is not a hill
        ground = Terrain(ground.speed, np.zeros(len(series)), ground.speed, False)
    if from_positions:  # no device speed: moving and walking go by the speed from positions
        series = replace(series, speed=ground.speed)
    moving = moving_mask(series, indoor, s)
    walking = walking_mask(series, moving, s)
    breaks = [(a, b) for a, b in runs_of(walking) if b - a >= s.walk_break_min_s]
    return Prepared(series, moving, walking, ground, breaks)


def assess_run(activity: dict[str, Any], records: pa.Table, profile: ProfileVersion | None,
               settings: Settings = DEFAULT_SETTINGS, *, note: dict[str, Any] | None = None,
               units: str = "metric") -> Verdict:
    """The verdict of one stored activity for the profile in force on its date."""
    said = self_report_of(activity, note)
    sport = activity["sport"]
    if sport not in RUNNING_SPORTS:
        what = sport.replace("_", " ")
        return Verdict("not_assessed", None, None, ("not_a_run",),
                       f"Not assessed: this was {'a ' if what in ('walking', 'hiking') else ''}{what}, not a run. "
                       "kindpace judges runs only; every bit of movement counts.", self_report=said)
    g = settings.gentleness.relaxed() if profile and profile.tolerance_profile == "relaxed" else settings.gentleness
    prepared = prepare(activity, records, settings)
    verdict, why_not = _by_heart_rate(activity, prepared, profile, settings, g, units)
    if verdict is None:
        verdict, pace_why_not = _by_pace(activity, prepared, profile, settings, g, units)
        why_not = pace_why_not or why_not
    if verdict is None:
        verdict = _by_self_report(said) or Verdict("not_assessed", None, None, (why_not[0],), why_not[1])
    verdict = replace(verdict, self_report=said, walk_time_s=float(prepared.walking.sum()),
                      walk_breaks=len(prepared.walk_breaks), moving_s=float(prepared.moving.sum()),
                      has_elevation=prepared.terrain.has_elevation)
    return _fuse(verdict, said)


def local_start(activity: dict[str, Any]) -> datetime:
    """The start as an aware datetime in the run's own local offset (UTC where it is unknown)."""
    start: datetime = activity["start_time"]
    return start.astimezone(timezone(timedelta(seconds=activity.get("utc_offset_s") or 0)))


def _hr_sensor_is_optical(activity: dict[str, Any]) -> bool:
    sensors = activity.get("sensors") or []
    strap = any(x.startswith("heart_rate/") for x in sensors)
    return not strap and any(x.startswith("wrist_heart_rate") for x in sensors)


def _by_heart_rate(activity: dict[str, Any], prep: Prepared, profile: ProfileVersion | None, settings: Settings,
                   g: GentlenessSettings, units: str) -> tuple[Verdict | None, tuple[str, str]]:
    s = settings.assess
    if profile is not None and not profile.hr_reliable:
        return None, ("hr_not_reliable", "Not assessed: your profile says heart rate does not follow your effort, "
                      "and there is no conversational pace to go by. How did it feel? You can tell kindpace.")
    ceiling = resolve_ceiling(profile, settings.ceiling)
    if ceiling is None:
        return None, ("no_profile", "Not assessed yet: set your profile (kindpace profile set) so kindpace knows "
                      "where your easy effort ends.")
    if not activity["has_heart_rate"]:
        return None, ("no_heart_rate", "Not assessed: this run has no heart rate. Could you chat comfortably? "
                      "You can tell kindpace how it felt.")
    series, moving = prep.series, prep.moving
    running = moving & ~prep.walking
    max_hr = profile.max_hr if profile else None
    clean = clean_hr(series.hr, series.speed, max_hr, s, cadence_spm=series.cadence_spm,
                     gap_speed=prep.terrain.gap_speed, running=running, a=settings.artefacts)
    valid = moving & ~np.isnan(clean.hr)
    quality = float(valid.sum() / moving.sum()) if moving.any() else 0.0
    if quality < s.hr_quality_min:
        return None, ("sensor_gaps", f"Not assessed: the heart rate was usable for only {quality:.0%} of the run, "
                      "too little to judge fairly.")
    hr = assess_hr(clean.hr, moving, ceiling, g)
    level = _LEVELS.index(ceiling.confidence)
    notes: list[str] = []
    if quality < s.hr_quality_good or clean.excluded_s:
        notes.append("sensor_gaps")
        if quality < s.hr_quality_good:
            level -= 1
    if _hr_sensor_is_optical(activity):
        level = min(level, 1)
    if ceiling.confidence == "low":
        notes.append("estimated_ceiling")
    if hr.short_run:
        level = 0
        notes.append("short_run")
    excursions = _excursions("hr", hr, prep, clean.hr, s)
    decoupling = _decoupling(prep, clean.hr, s)
    verdict = Verdict(
        hr.category, hr.score, _LEVELS[max(level, 0)], (), "", "hr", hr.category,
        ceiling_bpm=ceiling.ceiling_bpm, hard_line_bpm=ceiling.hard_line_bpm, ceiling_method=ceiling.method,
        ceiling_how=ceiling.how, assessed_s=hr.assessed_s, time_above_ceiling_s=hr.time_above_ceiling_s,
        calm_s=hr.calm_s, time_above_hard_line_s=hr.time_above_hard_line_s,
        weighted_overage_pct=100 * hr.weighted_overage,
        longest_excursion_s=hr.longest_excursion_s, signal_valid_pct=100 * quality, excluded_s=clean.excluded_s,
        decoupling_pct=decoupling, excursions=excursions, walk_breaks=len(prep.walk_breaks),
    )
    reasons = _reasons(hr, excursions, verdict, prep, s) + notes
    if hr.category != "gentle" and _warm(activity, prep, s):
        reasons.insert(1 if reasons and reasons[0] in ("hill", "surge", "late_drift") else 0, "heat")
    if (decoupling is not None and decoupling > s.decoupling_late_drift_pct
            and prep.moving.sum() >= 60 * s.decoupling_late_drift_min_run_min and "late_drift" not in reasons):
        reasons.append("late_drift")
    return replace(verdict, reasons=tuple(reasons),
                   message=_message(hr, verdict, reasons, _ceiling_words(ceiling), units)), ("", "")


def _by_pace(activity: dict[str, Any], prep: Prepared, profile: ProfileVersion | None, settings: Settings,
             g: GentlenessSettings, units: str) -> tuple[Verdict | None, tuple[str, str] | None]:
    on = local_start(activity).date() if activity.get("start_time") is not None else date.today()
    ceiling = pace_mod.resolve_pace_ceiling(profile, on, settings.pace)
    if ceiling is None:
        return None, None
    if activity.get("indoor"):
        return None, ("indoor_no_pace", "Not assessed: on a treadmill the pace a watch measures is only a rough "
                      "guess, and there is no usable heart rate. How did it feel? You can tell kindpace.")
    running = prep.moving & ~prep.walking
    gap = prep.terrain.gap_speed
    if np.isnan(gap).all() or not running.any():
        return None, ("no_speed", "Not assessed: this run has neither a usable heart rate nor speed.")
    speed = pace_mod.centred_mean(gap, settings.pace.speed_smooth_s)
    result = assess_series(speed, running, ceiling.ceiling_m_s, ceiling.hard_line_m_s, drift=False,
                           min_excursion_s=g.pace_min_excursion_s, s=g)
    level = _LEVELS.index(ceiling.confidence)
    from_positions = activity.get("source_format") == "gpx"
    if from_positions or not prep.terrain.has_elevation:
        level = 0
    notes = ["pace_basis"]
    notes += list(ceiling.flags)
    if result.short_run:
        level = 0
        notes.append("short_run")
    excursions = _excursions("pace", result, prep, None, settings.assess)
    verdict = Verdict(
        result.category, result.score, _LEVELS[level], (), "", "pace", result.category,
        ceiling_speed_m_s=ceiling.ceiling_m_s, hard_line_speed_m_s=ceiling.hard_line_m_s,
        ceiling_method=ceiling.method, ceiling_how=ceiling.how, assessed_s=result.assessed_s,
        time_above_ceiling_s=result.time_above_ceiling_s, calm_s=result.calm_s,
        time_above_hard_line_s=result.time_above_hard_line_s,
        weighted_overage_pct=100 * result.weighted_overage, longest_excursion_s=result.longest_excursion_s,
        signal_valid_pct=100 * float((running & ~np.isnan(gap)).sum() / max(running.sum(), 1)),
        excursions=excursions, walk_breaks=len(prep.walk_breaks),
    )
    reasons = _reasons(result, excursions, verdict, prep, settings.assess) + notes
    words = f"your easy pace limit of {pace_mod.pace_words(ceiling.ceiling_m_s)} (grade-adjusted)"
    return replace(verdict, reasons=tuple(reasons), message=_message(result, verdict, reasons, words, units)), None


def _by_self_report(said: SelfReport) -> Verdict | None:
    category = said.category()
    if category is None:
        return None
    heard = {"gentle": "you said you could chat easily", "borderline": "you said it was a little harder to chat",
             "too_hard": "you said chatting was hard"}[category]
    message = {"gentle": f"A gentle run: {heard}. That is what counts.",
               "borderline": f"Mostly gentle: {heard}. Still a good run.",
               "too_hard": f"A harder run than your easy plan: {heard}. That is fine now and then; "
                           "the next easy run can be slower."}[category]
    return Verdict(category, None, "low", ("self_report",), message, "self_report", None)


def _fuse(v: Verdict, said: SelfReport) -> Verdict:
    """§5.7: the runner's report wins ties; a run meant to be hard is shown as such and never flagged."""
    reasons, message, category = list(v.reasons), v.message, v.category
    told = said.category()
    if v.basis in ("hr", "pace") and v.category == "too_hard" and told == "gentle":
        category = "borderline"
        reasons.insert(0, "self_report_easier")
        message = ("You said you could chat comfortably, so we count this as mostly gentle. Your body may have a "
                   "higher easy ceiling than our estimate; a short talk-test run can set it just right. " + message)
    elif v.basis in ("hr", "pace") and v.category == "gentle" and told == "too_hard":
        category = "borderline"
        reasons.insert(0, "self_report_harder")
        message = ("The numbers looked calm, but you said chatting was hard, and how you felt counts most. "
                   "If that happens often, a lower easy ceiling may suit you better. " + message)
    if said.intent == "hard":
        category = "planned_hard"
        reasons.insert(0, "planned_hard")
        source = " (the file says it was a workout or race)" if said.intent_source == "file" else ""
        message = f"A planned harder run{source}: it does not count against your easy plan. " + message
    return replace(v, category=category, reasons=tuple(dict.fromkeys(reasons)), message=message.strip())


# --- excursions, decoupling, reasons, words -------------------------------------------------------------


def _excursions(basis: str, a: Assessment, prep: Prepared, hr: np.ndarray | None,
                s: AssessSettings) -> tuple[Excursion, ...]:
    series, gap, grade = prep.series, prep.terrain.gap_speed, prep.terrain.grade
    running = prep.moving & ~prep.walking & ~np.isnan(gap)
    median_gap = float(np.median(gap[running])) if running.any() else float("nan")
    n = len(series)
    out = []
    for start, end in a.excursions:
        span = slice(start, end)
        mean_grade = float(np.mean(grade[span])) if prep.terrain.has_elevation else None
        mean_gap = float(np.nanmean(gap[span])) if not np.isnan(gap[span]).all() else float("nan")
        if mean_grade is not None and mean_grade >= s.hill_grade:
            kind = "hill"
        elif not np.isnan(mean_gap) and mean_gap > median_gap * (1 + s.surge_frac):
            kind = "surge"
        elif start >= s.late_start_frac * n and (np.isnan(mean_gap) or mean_gap <= median_gap * 1.02):
            kind = "late_drift"
        else:
            kind = "other"
        distance = series.distance[start]
        out.append(Excursion(
            basis, kind, float(start), float(series.elapsed_s[start]), float(end - start),
            None if np.isnan(distance) else float(distance),
            None if hr is None or np.isnan(hr[span]).all() else float(np.nanmax(hr[span])),
            None if np.isnan(series.speed[span]).all() else float(np.nanmean(series.speed[span])),
            mean_grade,
        ))
    return tuple(out)


def _warm(activity: dict[str, Any], prep: Prepared, s: AssessSettings) -> bool:
    """§5.9: ambient temperature of `heat_c` or more, but only from an external sensor: a watch on the
    wrist reads the skin's warmth, not the weather's."""
    external = any(x.split("/")[0].startswith(("env", "temperature")) for x in activity.get("sensors") or [])
    temperature = prep.series.temperature[prep.moving]
    return external and not np.isnan(temperature).all() and float(np.nanmedian(temperature)) >= s.heat_c


def _decoupling(prep: Prepared, hr: np.ndarray, s: AssessSettings) -> float | None:
    """§5.8: grade-adjusted speed per beat, first half of the steady part against the second."""
    start = int(60 * s.decoupling_warmup_min)
    gap = prep.terrain.gap_speed[start:]
    beats = hr[start:]
    steady = (prep.moving & ~prep.walking)[start:]
    if steady.sum() < 60 * s.decoupling_min_steady_min:
        return None
    if prep.walking[start:].sum() > 0.10 * prep.moving[start:].sum():
        return None
    ok = steady & ~np.isnan(gap) & ~np.isnan(beats) & (beats > 0)
    if ok.sum() < 0.9 * steady.sum():
        return None
    if np.std(gap[ok]) / np.mean(gap[ok]) > 0.15:
        return None
    index = np.flatnonzero(ok)
    half = min(len(index) // 2, 3600)
    first, second = index[:half], index[half:2 * half]
    ef1 = np.mean(gap[first]) / np.mean(beats[first])
    ef2 = np.mean(gap[second]) / np.mean(beats[second])
    return float(100 * (ef1 - ef2) / ef1)


def _reasons(a: Assessment, excursions: tuple[Excursion, ...], v: Verdict, prep: Prepared,
             s: AssessSettings) -> list[str]:
    reasons: list[str] = []
    if a.category != "gentle":
        longest = max(excursions, key=lambda e: e.duration_s, default=None)
        if longest is not None and longest.type != "other":
            reasons.append(longest.type)
        reasons.append({"overage": "above_ceiling", "sustained_excursion": "sustained_above",
                        "above_hard_line": "above_hard_line"}[a.main_reason])
    elif a.time_above_ceiling_s == 0:
        reasons.append("all_calm")
    elif a.assessed_s and (a.edge_s / a.assessed_s) >= s.edge_share:
        reasons.append("edge")
    else:
        reasons.append("mostly_calm")
    if prep.walk_breaks:
        reasons.append("walk_breaks")
    return reasons


def _ceiling_words(c: Ceiling) -> str:
    return f"your easy ceiling of {c.ceiling_bpm:.0f} bpm"


def _minutes(seconds: float) -> str:
    m = round(seconds / 60)
    return "under a minute" if m < 1 else ("about 1 minute" if m == 1 else f"about {m} minutes")


def _where(e: Excursion, units: str) -> str:
    minute = f"minute {e.start_timer_s / 60:.0f}"
    if e.start_distance_m is None:
        return f"around {minute}"
    if units == "imperial":
        return f"around mile {e.start_distance_m / pace_mod.METRES_PER_MILE:.1f} ({minute})"
    return f"around km {e.start_distance_m / 1000:.1f} ({minute})"


def _message(a: Assessment, v: Verdict, reasons: list[str], ceiling_words: str, units: str) -> str:
    """§5.10: what happened, normalised, at most one gentle suggestion; never blame."""
    parts: list[str] = []
    longest = max(v.excursions, key=lambda e: e.duration_s, default=None)
    if a.category == "gentle":
        if "all_calm" in reasons:
            parts.append("That was a calm run: you stayed within " + ceiling_words + " the whole way. Lovely.")
        elif "edge" in reasons:
            parts.append(f"A gentle run. You spent much of it right at {ceiling_words}: still gentle, just at the "
                         "top of the range.")
        else:
            parts.append(f"A gentle run: {_minutes(a.time_above_ceiling_s)} just over {ceiling_words}, well within "
                         "easy.")
    else:
        lead = "Mostly gentle, with a harder stretch." if a.category == "borderline" else \
            "A harder run than your easy plan."
        parts.append(lead)
        if longest is not None and longest.type == "hill":
            parts.append(f"Most of the extra effort was the climb {_where(longest, units)}. Hills do that; walking "
                         "up is a perfectly gentle choice.")
        elif longest is not None and longest.type == "surge":
            parts.append(f"There was a quicker stretch {_where(longest, units)}, {_minutes(longest.duration_s)} "
                         "long. Nothing wrong with that; if you'd like this run to stay easy, let it stay relaxed.")
        elif longest is not None and longest.type == "late_drift":
            parts.append("Your effort crept up in the last part even though you didn't speed up. That is normal on "
                         "long runs as you warm up and tire; a short walk break can reset it.")
        elif longest is not None:
            parts.append(f"For {_minutes(longest.duration_s)} {_where(longest, units)} you were above "
                         f"{ceiling_words}. Next time, a slightly slower start can keep it comfortable.")
        else:
            parts.append(f"{_minutes(a.time_above_ceiling_s).capitalize()} in all above {ceiling_words}, in short "
                         "stretches. A slightly slower pace can keep it comfortable.")
    if "heat" in reasons:
        parts.append("It was a warm one, so your heart worked harder to keep you cool. Going slower or walking in "
                     "the heat is the kind thing to do.")
    if "walk_breaks" in reasons:
        n = v.walk_breaks
        parts.append(f"You used {n} walk break{'s' if n != 1 else ''}: a great way to keep it calm.")
    if "sensor_gaps" in reasons:
        parts.append("Your heart-rate sensor had a few odd moments (we ignored them), so this is a best guess.")
    if "estimated_ceiling" in reasons:
        parts.append("Your easy ceiling is estimated from age, so it may be off for you. A short talk-test run can "
                     "set it just right.")
    if "short_run" in reasons:
        parts.append("It was a short run, so this is only a rough read.")
    if "race_outdated" in reasons:
        parts.append("Your race result is over six months old; a newer one (or your conversational pace) will make "
                     "this fairer.")
    return " ".join(parts)
