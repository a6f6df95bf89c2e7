"""From a stored run to its heart-rate verdict: the timer clock, heart-rate cleaning, quality gates.

gentleness.md §5.3 (the heart-rate parts) in front of `pipeline.gentleness.assess_hr`:

1. Resample to 1 Hz on the timer clock: a second takes the last sample at most `ffill_max_s` before
   it; longer gaps are holes; gaps over `pause_gap_s` and timer stops are pauses, left out entirely.
2. Moving: speed above `moving_speed_m_s`; an indoor run's whole timer time; a run without any speed
   counts as moving throughout.
3. Clean the heart rate, each removed second with its reason: `range`, `spike` (Hampel filter),
   `frozen` (the same value for a minute while the speed changes); holes up to `interp_max_gap_s`
   are interpolated, then a centred moving average smooths it.
4. Quality: the share of moving seconds with a valid heart rate decides whether heart rate may judge.

The grade-adjusted pace, cadence lock and early strap contact of §5.3, the pace path, the runner's
own report and storing the verdicts are not here yet (issue 3 continues).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.ceiling import ProfileVersion, resolve_ceiling
from pipeline.gentleness import HrAssessment, assess_hr

RUNNING_SPORTS = ("running", "trail_running", "treadmill_running", "track_running")


@dataclass(frozen=True)
class AssessSettings:
    ffill_max_s: float = 5.0
    pause_gap_s: float = 10.0
    moving_speed_m_s: float = 0.9  # Strava's 30 min/mile
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


DEFAULT_ASSESS = AssessSettings()


@dataclass(frozen=True)
class PerSecond:
    """One run at 1 Hz on the timer clock (pauses removed); NaN where a second has no value."""

    elapsed_s: np.ndarray  # seconds since the start on the wall clock, for "at minute N" in messages
    hr: np.ndarray
    speed: np.ndarray
    distance: np.ndarray


def on_timer_clock(records: pa.Table, s: AssessSettings = DEFAULT_ASSESS) -> PerSecond:
    """Stored records (RECORDS schema, one activity) as a 1 Hz series without the paused seconds."""
    if records.num_rows == 0:
        empty = np.zeros(0)
        return PerSecond(empty, empty, empty, empty)
    t = records["elapsed_s"].to_numpy()
    running = records["timer_running"].to_numpy(zero_copy_only=False).astype(bool)
    grid = np.arange(np.floor(t[0]), np.floor(t[-1]) + 1.0)
    last = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, len(t) - 1)
    age = grid - t[last]
    # the gap the second sits in: from the last sample to the next one
    following = np.clip(last + 1, 0, len(t) - 1)
    gap = np.where(following > last, t[following] - t[last], 0.0)
    paused = ~running[last] | (gap > s.pause_gap_s)
    fresh = age <= s.ffill_max_s

    def column(name: str) -> np.ndarray:
        values = records[name].to_numpy(zero_copy_only=False).astype(float)
        return np.where(fresh, values[last], np.nan)[~paused]

    return PerSecond(grid[~paused], column("heart_rate_bpm"), column("speed_m_s"), column("distance_m"))


def moving_mask(series: PerSecond, indoor: bool, s: AssessSettings = DEFAULT_ASSESS) -> np.ndarray:
    if indoor or np.isnan(series.speed).all():
        return np.ones(len(series.hr), dtype=bool)
    return np.nan_to_num(series.speed) > s.moving_speed_m_s


@dataclass(frozen=True)
class CleanHr:
    hr: np.ndarray  # cleaned, interpolated over short holes, smoothed; NaN = hole
    excluded_s: dict[str, int] = field(default_factory=dict)


def clean_hr(hr: np.ndarray, speed: np.ndarray, max_hr: float | None = None,
             s: AssessSettings = DEFAULT_ASSESS) -> CleanHr:
    raw = pd.Series(np.asarray(hr, dtype=float))
    excluded: dict[str, int] = {}

    def drop(mask: pd.Series, reason: str) -> None:
        nonlocal raw
        mask = mask & raw.notna()
        excluded[reason] = int(mask.sum())
        raw = raw.mask(mask)

    top = min(s.hr_max_bpm, max_hr + 10) if max_hr else s.hr_max_bpm
    drop((raw < s.hr_min_bpm) | (raw > top), "range")
    median = raw.rolling(s.hampel_window_s, center=True, min_periods=1).median()
    mad = (raw - median).abs().rolling(s.hampel_window_s, center=True, min_periods=1).median()
    drop((raw - median).abs() > np.maximum(s.hampel_min_bpm, s.hampel_k * 1.4826 * mad), "spike")
    # frozen: a run of one identical value for a minute or more while the speed changes
    run_id = (raw != raw.shift()).cumsum()
    run_len = raw.groupby(run_id).transform("size")
    speed_spread = pd.Series(np.asarray(speed, dtype=float)).groupby(run_id).transform("std").fillna(0.0)
    drop((run_len >= s.frozen_min_s) & (speed_spread > 0.1), "frozen")
    filled = raw.interpolate(limit=s.interp_max_gap_s, limit_area="inside")
    # only holes no longer than the limit are filled: a longer hole stays whole
    hole = raw.isna()
    hole_len = hole.groupby((~hole).cumsum()).transform("sum")
    filled = filled.where(~hole | (hole_len <= s.interp_max_gap_s))
    smooth = filled.rolling(s.hr_smooth_s, center=True, min_periods=1).mean().where(filled.notna())
    return CleanHr(smooth.to_numpy(), {k: v for k, v in excluded.items() if v})


# --- the verdict ------------------------------------------------------------------------------------

_LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class Verdict:
    category: str  # gentle | borderline | too_hard | not_assessed
    score: int | None
    confidence: str | None
    reasons: tuple[str, ...]  # codes
    message: str  # plain, kind words
    ceiling_bpm: float | None = None
    hard_line_bpm: float | None = None
    ceiling_method: str | None = None
    assessed_s: int = 0
    time_above_ceiling_s: int = 0
    time_above_hard_line_s: int = 0
    longest_excursion_s: int = 0
    excluded_s: dict[str, int] = field(default_factory=dict)


def _not_assessed(reason: str, message: str) -> Verdict:
    return Verdict("not_assessed", None, None, (reason,), message)


def assess_run(activity: dict[str, Any], records: pa.Table, profile: ProfileVersion | None,
               s: AssessSettings = DEFAULT_ASSESS) -> Verdict:
    """The heart-rate verdict of one stored activity for the profile in force on its date."""
    if activity["sport"] not in RUNNING_SPORTS:
        return _not_assessed("not_a_run", f"Not assessed: this was {activity['sport'].replace('_', ' ')}, not a run.")
    if profile is not None and not profile.hr_reliable:
        return _not_assessed("hr_not_reliable", "Not assessed by heart rate: your profile says it does not "
                             "follow your effort. How the run felt is the best guide.")
    ceiling = resolve_ceiling(profile)
    if ceiling is None:
        return _not_assessed("no_profile", "Not assessed yet: set your profile (kindpace profile set) so "
                             "kindpace knows where your easy effort ends.")
    if not activity["has_heart_rate"]:
        return _not_assessed("no_heart_rate", "Not assessed: this run has no heart rate. Could you chat "
                             "comfortably? You can tell kindpace how it felt.")
    series = on_timer_clock(records, s)
    moving = moving_mask(series, bool(activity["indoor"]), s)
    max_hr = getattr(profile, "max_hr", None)
    clean = clean_hr(series.hr, series.speed, max_hr, s)
    valid = moving & ~np.isnan(clean.hr)
    quality = float(valid.sum() / moving.sum()) if moving.any() else 0.0
    if quality < s.hr_quality_min:
        return _not_assessed("sensor_gaps", f"Not assessed: the heart rate was usable for only "
                             f"{quality:.0%} of the run, too little to judge fairly.")
    hr = assess_hr(clean.hr, moving, ceiling)
    level = _LEVELS.index(ceiling.confidence)
    reasons = [hr.main_reason] if hr.category != "gentle" else []
    if quality < s.hr_quality_good:
        level, reasons = max(level - 1, 0), [*reasons, "sensor_gaps"]
    if hr.short_run:
        level, reasons = 0, [*reasons, "short_run"]
    return Verdict(
        hr.category, hr.score, _LEVELS[level], tuple(reasons), _message(hr, ceiling.ceiling_bpm),
        ceiling.ceiling_bpm, ceiling.hard_line_bpm, ceiling.method, hr.assessed_s,
        hr.time_above_ceiling_s, hr.time_above_hard_line_s, hr.longest_excursion_s, clean.excluded_s,
    )


def _message(hr: HrAssessment, ceiling_bpm: float) -> str:
    above_min = round(hr.time_above_ceiling_s / 60)
    if hr.category == "gentle":
        extra = f" ({above_min} min just over {ceiling_bpm:.0f} bpm, well within easy)" if above_min else ""
        return f"A gentle run: you stayed at an easy, conversational effort{extra}. Well done."
    longest = round(hr.longest_excursion_s / 60)
    if hr.category == "borderline":
        return (f"Mostly easy, with {above_min} min above your easy ceiling of {ceiling_bpm:.0f} bpm"
                + (f", the longest stretch {longest} min" if longest else "") + ". Still a good run.")
    return (f"A harder run than your easy plan: {above_min} min above your easy ceiling of "
            f"{ceiling_bpm:.0f} bpm" + (f", the longest stretch {longest} min" if longest else "")
            + ". That is fine now and then; the next easy run can be slower.")
