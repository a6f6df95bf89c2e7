"""What `kindpace explain` shows beside the verdict: kilometre (or mile) splits and the chart's series."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.assess import DEFAULT_SETTINGS, Settings, clean_hr, prepare
from pipeline.ceiling import ProfileVersion
from pipeline.gentleness import drift_allowance
from pipeline.pace import METRES_PER_MILE, centred_mean

__all__ = ["METRES_PER_MILE", "ChartSeries", "chart_series", "splits"]


def splits(records: pa.Table, unit_m: float = 1000.0) -> list[dict[str, Any]]:
    """Whole kilometres (or miles) and the part left over: timer time, mean heart rate, climb.

    Uses the device's cumulative distance on the timer clock; time while the timer stood still does not
    count. Returns [] for a run without distance."""
    if records.num_rows == 0:
        return []
    distance = records["distance_m"].to_numpy(zero_copy_only=False).astype(float)
    ok = ~np.isnan(distance)
    if ok.sum() < 2 or np.nanmax(distance) < 0.1 * unit_m:
        return []
    t = records["elapsed_s"].to_numpy()[ok]
    running = records["timer_running"].to_numpy(zero_copy_only=False).astype(bool)[ok]
    d = np.maximum.accumulate(distance[ok])
    hr = records["heart_rate_bpm"].to_numpy(zero_copy_only=False).astype(float)[ok]
    alt = records["altitude_m"].to_numpy(zero_copy_only=False).astype(float)[ok]
    # timer seconds: each interval counts when the timer ran at its start
    dt = np.where(running[:-1], np.diff(t), 0.0)
    timer = np.concatenate(([0.0], np.cumsum(dt)))
    marks = np.arange(unit_m, d[-1], unit_m).tolist() + [float(d[-1])]
    out: list[dict[str, Any]] = []
    prev_t, prev_d, prev_i = 0.0, float(d[0]), 0
    for mark in marks:
        i = int(np.searchsorted(d, mark))
        i = min(i, len(d) - 1)
        at = float(np.interp(mark, d, timer))
        window = slice(prev_i, i + 1)
        length = mark - prev_d
        if length <= 0:
            continue
        climb = np.diff(alt[window])
        out.append({
            "split": len(out) + 1,
            "distance_m": float(length),
            "timer_s": at - prev_t,
            "pace_s_per_unit": (at - prev_t) / length * unit_m,
            "avg_heart_rate_bpm": None if np.isnan(hr[window]).all() else float(np.nanmean(hr[window])),
            "ascent_m": float(np.nansum(np.clip(climb, 0, None))) if not np.isnan(alt[window]).all() else None,
        })
        prev_t, prev_d, prev_i = at, mark, i
    return out


@dataclass(frozen=True)
class ChartSeries:
    kind: str  # hr | pace
    minutes: np.ndarray  # timer clock
    values: np.ndarray
    ceiling: np.ndarray | float
    hard_line: np.ndarray | float
    distance_km: np.ndarray


def chart_series(activity: dict[str, Any], records: pa.Table, verdict: dict[str, Any], profile: ProfileVersion | None,
                 settings: Settings = DEFAULT_SETTINGS) -> ChartSeries | None:
    """The signal a stored verdict (a `gentleness` row) judged, cleaned as it was, against its own lines."""
    if verdict["basis"] not in ("hr", "pace"):
        return None
    prep = prepare(activity, records, settings)
    minutes = np.arange(len(prep.series)) / 60.0
    distance_km = prep.series.distance / 1000.0
    if verdict["basis"] == "pace":
        speed = centred_mean(prep.terrain.gap_speed, settings.pace.speed_smooth_s)
        return ChartSeries("pace", minutes, speed, verdict["ceiling_speed_m_s"],
                           verdict["hard_line_speed_m_s"], distance_km)
    clean = clean_hr(prep.series.hr, prep.series.speed, profile.max_hr if profile else None, settings.assess,
                     cadence_spm=prep.series.cadence_spm, gap_speed=prep.terrain.gap_speed,
                     running=prep.moving & ~prep.walking, a=settings.artefacts)
    a = drift_allowance(minutes, settings.gentleness)
    c, h = verdict["ceiling_bpm"], verdict["hard_line_bpm"]
    return ChartSeries("hr", minutes, clean.hr, c * (1 + a), h + c * a, distance_km)
