"""The pace side of the gentleness stage (gentleness.md §3.1, §3.3, §5.3 items 4-5, §5.7).

For runs without a usable heart rate, effort is read from grade-adjusted speed against the runner's
conversational speed: from the pace they gave, or from a recent race through Daniels & Gilbert's
VDOT (ceiling 0.74 x the speed at VDOT, about the mean speed at the first ventilatory threshold; hard
line the speed at 0.80 x VDOT, about marathon effort). Grade adjustment uses the community fit of
Strava's equal-heart-rate curve, the better model for an effort question than Minetti's metabolic
cost (which is here for reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from pipeline.ceiling import ProfileVersion

LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class PaceSettings:
    ceiling_vdot_speed_frac: float = 0.74  # V_c = 0.74 v(VDOT)
    hard_vdot_vo2_frac: float = 0.80  # V_h = v(0.80 VDOT)
    hard_over_conversational: float = 1.10  # V_h = 1.10 V_c with only a conversational pace
    hard_min_over_ceiling: float = 1.05  # a race never puts the hard line closer than this to V_c
    race_stale_days: int = 84  # older race: confidence one level down
    race_expired_days: int = 182  # older still: used, but the runner is asked for a newer one
    grade_clamp: float = 0.25
    grade_min_dist_m: float = 50.0
    altitude_smooth_s_gps: int = 60
    altitude_smooth_s_baro: int = 30
    speed_smooth_s: int = 30
    fit_speed_median_s: int = 10
    max_speed_m_s: float = 7.0
    max_accel_m_s2: float = 4.0


DEFAULT_PACE = PaceSettings()


# --- Daniels & Gilbert ---------------------------------------------------------------------------------


def vo2_of_speed(v_m_per_min: float) -> float:
    """Oxygen cost of running at v m/min: -4.60 + 0.182258 v + 0.000104 v^2 (mL/kg/min)."""
    return -4.60 + 0.182258 * v_m_per_min + 0.000104 * v_m_per_min**2


def speed_of_vo2(vo2: float) -> float:
    """The speed (m/min) whose oxygen cost is `vo2`: the positive root of the quadratic above."""
    a, b, c = 0.000104, 0.182258, -4.60 - vo2
    return (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)


def pct_max(t_min: float) -> float:
    """The share of VO2max sustainable for t minutes."""
    return 0.8 + 0.1894393 * np.exp(-0.012778 * t_min) + 0.2989558 * np.exp(-0.1932605 * t_min)


def vdot(distance_m: float, time_s: float) -> float:
    t_min = time_s / 60.0
    return float(vo2_of_speed(distance_m / t_min) / pct_max(t_min))


@dataclass(frozen=True)
class PaceCeiling:
    ceiling_m_s: float
    hard_line_m_s: float
    method: str  # conversational_pace | race_vdot
    confidence: str
    how: str
    vdot: float | None = None
    flags: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "ceiling_m_s": self.ceiling_m_s, "hard_line_m_s": self.hard_line_m_s,
            "ceiling_pace_s_per_km": 1000.0 / self.ceiling_m_s, "hard_line_pace_s_per_km": 1000.0 / self.hard_line_m_s,
            "method": self.method, "confidence": self.confidence, "how": self.how, "vdot": self.vdot,
        }


def pace_words(speed_m_s: float) -> str:
    seconds = round(1000.0 / speed_m_s)
    return f"{seconds // 60}:{seconds % 60:02d}/km"


def resolve_pace_ceiling(profile: ProfileVersion | None, on: date, settings: PaceSettings = DEFAULT_PACE
                         ) -> PaceCeiling | None:
    """V_c and V_h from the conversational pace, else from a recent race; None when neither is known."""
    if profile is None:
        return None
    s = settings
    race = None
    if profile.race_distance_m and profile.race_time_s:
        race = vdot(profile.race_distance_m, profile.race_time_s)
    if profile.conversational_pace_s_per_km:
        v_c = 1000.0 / profile.conversational_pace_s_per_km
        if race is None:
            return PaceCeiling(v_c, s.hard_over_conversational * v_c, "conversational_pace", "medium",
                               f"your conversational pace of {pace_words(v_c)}")
        v_h = max(speed_of_vo2(s.hard_vdot_vo2_frac * race) / 60.0, s.hard_min_over_ceiling * v_c)
        return PaceCeiling(v_c, v_h, "conversational_pace", "medium",
                           f"your conversational pace of {pace_words(v_c)}", race)
    if race is None:
        return None
    v_c = s.ceiling_vdot_speed_frac * speed_of_vo2(race) / 60.0
    v_h = speed_of_vo2(s.hard_vdot_vo2_frac * race) / 60.0
    level = 1
    flags: tuple[str, ...] = ()
    age_days = (on - profile.race_date).days if profile.race_date else 0
    if age_days > s.race_stale_days:
        level = 0
    if age_days > s.race_expired_days:
        flags = ("race_outdated",)
    km = (profile.race_distance_m or 0.0) / 1000.0
    return PaceCeiling(float(v_c), float(v_h), "race_vdot", LEVELS[level],
                       f"{pace_words(v_c)}, from your {km:g} km race (VDOT {race:.1f})", race, flags)


# --- grade-adjusted speed -------------------------------------------------------------------------------


def strava_gap_factor(grade_pct: np.ndarray | float) -> np.ndarray:
    """Community 4th-order fit of Strava's 2017 equal-heart-rate curve; grade in percent."""
    g = np.asarray(grade_pct, dtype=float)
    return -5.2944e-7 * g**4 - 3.9896e-6 * g**3 + 2.05357e-3 * g**2 + 3.26567e-2 * g + 1.0


def minetti_cost(grade: np.ndarray | float) -> np.ndarray:
    """Minetti et al. 2002: energy cost of running (J/kg/m) on a decimal grade, 3.6 on the flat."""
    i = np.asarray(grade, dtype=float)
    return 155.4 * i**5 - 30.4 * i**4 - 43.3 * i**3 + 46.3 * i**2 + 19.5 * i + 3.6


def has_elevation(altitude_m: np.ndarray) -> bool:
    """False when altitude is missing or flat-lined (under 1 m of range: nothing to adjust for)."""
    alt = np.asarray(altitude_m, dtype=float)
    alt = alt[~np.isnan(alt)]
    return len(np.unique(alt)) >= 2 and float(alt.max() - alt.min()) >= 1.0


def grade_series(distance_m: np.ndarray, altitude_m: np.ndarray, smooth_s: int,
                 settings: PaceSettings = DEFAULT_PACE) -> np.ndarray:
    """Grade per second: smoothed altitude change over at least `grade_min_dist_m` of distance
    (half behind, half ahead), clamped; NaN where distance or altitude is unknown."""
    alt = pd.Series(np.asarray(altitude_m, dtype=float)).rolling(smooth_s, center=True, min_periods=1).mean()
    dist = np.asarray(distance_m, dtype=float)
    ok = ~np.isnan(dist) & alt.notna().to_numpy()
    out = np.full(len(dist), np.nan)
    if ok.sum() < 2:
        return out
    idx = np.flatnonzero(ok)
    d = np.maximum.accumulate(dist[idx])
    a = alt.to_numpy()[idx]
    half = settings.grade_min_dist_m / 2.0
    back = np.clip(np.searchsorted(d, d - half, side="right") - 1, 0, len(d) - 1)
    ahead = np.clip(np.searchsorted(d, d + half, side="left"), 0, len(d) - 1)
    run = d[ahead] - d[back]
    grade = np.where(run >= settings.grade_min_dist_m * 0.9, (a[ahead] - a[back]) / np.where(run > 0, run, 1.0),
                     np.nan)
    out[idx] = np.clip(grade, -settings.grade_clamp, settings.grade_clamp)
    return out


def gap_speed(speed_m_s: np.ndarray, grade: np.ndarray) -> np.ndarray:
    """Grade-adjusted speed: the flat speed of the same effort (unknown grade counts as flat)."""
    factor = strava_gap_factor(100.0 * np.nan_to_num(np.asarray(grade, dtype=float)))
    return np.asarray(speed_m_s, dtype=float) * factor


def smoothed_speed(speed_m_s: np.ndarray, distance_m: np.ndarray, from_positions: bool,
                   settings: PaceSettings = DEFAULT_PACE) -> np.ndarray:
    """Device speed: a 10 s rolling median. Speed from positions (phone GPX): from the distance over a
    30 s window, after removing seconds that imply a jump (over 7 m/s, or 4 m/s^2)."""
    s = settings
    speed = np.asarray(speed_m_s, dtype=float)
    distance = np.asarray(distance_m, dtype=float)
    if not from_positions and not np.isnan(speed).all():
        return pd.Series(speed).rolling(s.fit_speed_median_s, center=True, min_periods=1).median().to_numpy()
    if np.isnan(distance).all():
        return np.full(len(speed), np.nan)
    # the fixes themselves: where the (forward-filled) distance changes
    points = np.flatnonzero(~np.isnan(distance) & np.concatenate(([True], np.diff(distance) != 0)))
    per_second = np.full(len(distance), np.nan)
    if len(points) < 2:
        return per_second
    dt = np.diff(points).astype(float)
    v = np.diff(distance[points]) / dt
    accel = np.abs(np.diff(v, prepend=v[0])) / dt
    v = np.where((v > s.max_speed_m_s) | (v < 0) | (accel > s.max_accel_m_s2), np.nan, v)
    # each interval's speed for each of its seconds; a jump's metres do not count
    per_second[points[0] + 1:points[-1] + 1] = np.repeat(v, np.diff(points))
    return pd.Series(per_second).rolling(s.speed_smooth_s, center=True,
                                         min_periods=s.speed_smooth_s // 3).mean().to_numpy()
