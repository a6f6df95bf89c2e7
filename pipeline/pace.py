"""The pace side of the gentleness stage (gentleness.md §3.1, §3.3, §5.3 items 4-5, §5.7).

Without a usable heart rate, effort is read from grade-adjusted speed against the runner's conversational
speed V_c and a hard line V_h: from the pace they gave, else from a race through Daniels & Gilbert's VDOT
(V_c = 0.74 v(VDOT), about the mean speed at the first ventilatory threshold; V_h = v(0.80 VDOT), about
marathon effort). Grade adjustment uses the community fit of Strava's equal-heart-rate curve, a better model
for an effort question than Minetti's metabolic cost (kept for reference). Watch and phone speed and altitude
are noisy, so both are cleaned here first. Per-second inputs are 1 Hz arrays with NaN for a hole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, TypeVar

import bottleneck as bn
import numpy as np
import numpy.typing as npt

from pipeline.ceiling import ProfileVersion

FloatArray = npt.NDArray[np.float64]
Num = TypeVar("Num", float, FloatArray)  # the formulas take a number or an array of them, and return the same
Confidence = Literal["low", "medium", "high"]
PaceMethod = Literal["conversational_pace", "race_vdot"]

LEVELS: tuple[Confidence, ...] = ("low", "medium", "high")


@dataclass(frozen=True)
class PaceSettings:
    """The numbers of the pace path (gentleness.md §5.3, §5.7, §5.12), each configurable."""

    ceiling_vdot_speed_frac: float = 0.74  # V_c = 0.74 v(VDOT)
    hard_vdot_vo2_frac: float = 0.80  # V_h = v(0.80 VDOT)
    hard_over_conversational: float = 1.10  # V_h = 1.10 V_c with only a conversational pace
    hard_min_over_ceiling: float = 1.05  # a race never puts the hard line closer than this to a given V_c
    race_stale_days: int = 84  # an older race (12 weeks): confidence one level down
    race_expired_days: int = 182  # older still (6 months): used, but the runner is asked for a newer one
    grade_clamp: float = 0.25  # decimal grade
    grade_min_dist_m: float = 50.0  # grade is rise over at least this much horizontal distance
    altitude_smooth_s_gps: int = 60  # GPS altitude (GPX, phones)
    altitude_smooth_s_baro: int = 30  # barometric altitude (FIT)
    speed_smooth_s: int = 30  # speed from positions: distance over this centred window
    fit_speed_median_s: int = 10  # device speed: rolling median
    max_speed_m_s: float = 7.0  # faster is a GPS jump for this audience
    max_accel_m_s2: float = 4.0  # so is a burst of speed this sudden


DEFAULT_PACE = PaceSettings()
METRES_PER_MILE = 1609.344


# --- Daniels & Gilbert ---------------------------------------------------------------------------------


def vo2_of_speed(v_m_per_min: Num) -> Num:
    """Oxygen cost (mL/kg/min) of running at v m/min: -4.60 + 0.182258 v + 0.000104 v^2."""
    return -4.60 + 0.182258 * v_m_per_min + 0.000104 * v_m_per_min**2


def speed_of_vo2(vo2: Num) -> Num:
    """The speed (m/min) whose oxygen cost is `vo2`: the positive root of the quadratic above."""
    a, b = 0.000104, 0.182258
    c = -4.60 - vo2
    return (-b + np.sqrt(b * b - 4.0 * a * c)) / (2.0 * a)


def pct_max(t_min: Num) -> Num:
    """The share of VO2max a runner can hold for t minutes."""
    return 0.8 + 0.1894393 * np.exp(-0.012778 * t_min) + 0.2989558 * np.exp(-0.1932605 * t_min)


def vdot(distance_m: Num, time_s: Num) -> Num:
    """VDOT of a race: the oxygen cost of its mean speed over the share of VO2max held that long."""
    t_min = time_s / 60.0
    return vo2_of_speed(distance_m / t_min) / pct_max(t_min)


# --- the ceiling and hard line ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PaceCeiling:
    ceiling_m_s: float  # V_c: top of conversational, as grade-adjusted speed
    hard_line_m_s: float  # V_h: clearly not easy any more
    method: PaceMethod
    confidence: Confidence
    how: str  # how it was set, in a few plain words ("your conversational pace of 7:00/km")
    vdot: float | None = None  # of the race, when one is known
    flags: tuple[str, ...] = ()  # reason codes for the verdict ("race_outdated")

    def as_dict(self) -> dict[str, Any]:
        return {
            "ceiling_m_s": round(self.ceiling_m_s, 3),
            "hard_line_m_s": round(self.hard_line_m_s, 3),
            "ceiling_pace_s_per_km": round(1000.0 / self.ceiling_m_s, 1),
            "hard_line_pace_s_per_km": round(1000.0 / self.hard_line_m_s, 1),
            "method": self.method,
            "confidence": self.confidence,
            "how": self.how,
            "vdot": None if self.vdot is None else round(self.vdot, 1),
        }


def pace_words(speed_m_s: float) -> str:
    """A speed as a pace, M:SS/km."""
    minutes, seconds = divmod(round(1000.0 / speed_m_s), 60)
    return f"{minutes}:{seconds:02d}/km"


def resolve_pace_ceiling(profile: ProfileVersion | None, on: date, settings: PaceSettings = DEFAULT_PACE
                         ) -> PaceCeiling | None:
    """V_c and V_h for a run on `on`: from the conversational pace, else from the race; None when neither."""
    if profile is None:
        return None
    s = settings
    race = _race_vdot(profile)
    pace = profile.conversational_pace_s_per_km
    if pace is not None and pace > 0:
        v_c = 1000.0 / pace
        how = f"your conversational pace of {pace_words(v_c)}"
        if race is None:
            return PaceCeiling(v_c, s.hard_over_conversational * v_c, "conversational_pace", "medium", how)
        # the race only places the hard line; the runner's own easy pace stays the ceiling
        v_h = max(float(speed_of_vo2(s.hard_vdot_vo2_frac * race)) / 60.0, s.hard_min_over_ceiling * v_c)
        return PaceCeiling(v_c, v_h, "conversational_pace", "medium", how, race)
    if race is None:
        return None
    v_c = s.ceiling_vdot_speed_frac * float(speed_of_vo2(race)) / 60.0
    v_h = float(speed_of_vo2(s.hard_vdot_vo2_frac * race)) / 60.0
    # fitness moves: an old race says less about today (no date: taken as current)
    age_days = (on - profile.race_date).days if profile.race_date is not None else 0
    confidence: Confidence = "low" if age_days > s.race_stale_days else "medium"
    flags = ("race_outdated",) if age_days > s.race_expired_days else ()
    return PaceCeiling(v_c, v_h, "race_vdot", confidence, f"from your {_race_words(profile)}", race, flags)


def _race_vdot(profile: ProfileVersion) -> float | None:
    distance, time = profile.race_distance_m, profile.race_time_s
    if distance is None or time is None or distance <= 0 or time <= 0:
        return None
    value = float(vdot(float(distance), float(time)))
    return value if np.isfinite(value) and value > 0 else None  # a walk slower than the formula's range


def _race_words(profile: ProfileVersion) -> str:
    distance, time = profile.race_distance_m or 0.0, round(profile.race_time_s or 0.0)
    names = {21097.5: "half marathon", 42195.0: "marathon"}
    name = names.get(distance, f"{round(distance / 1000, 2):g} km race")
    hours, rest = divmod(time, 3600)
    clock = f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
    return f"{name} in {clock}"


# --- grade-adjusted speed -------------------------------------------------------------------------------


def strava_gap_factor(grade_pct: Num) -> Num:
    """Community 4th-order fit of Strava's 2017 equal-heart-rate curve; grade in percent, 1 on the flat."""
    g = grade_pct
    return (((-5.2944e-7 * g - 3.9896e-6) * g + 2.05357e-3) * g + 3.26567e-2) * g + 1.0  # Horner's form


def minetti_cost(grade: Num) -> Num:
    """Minetti et al. 2002: energy cost of running (J/kg/m) on a decimal grade, 3.6 on the flat."""
    i = grade
    return 155.4 * i**5 - 30.4 * i**4 - 43.3 * i**3 + 46.3 * i**2 + 19.5 * i + 3.6


def has_elevation(altitude_m: npt.ArrayLike) -> bool:
    """False when altitude is missing or flat-lined (under 1 m of range): there is no grade to adjust for."""
    alt = np.asarray(altitude_m, dtype=float)
    alt = alt[~np.isnan(alt)]
    return len(np.unique(alt)) >= 2 and float(alt.max() - alt.min()) >= 1.0


def grade_series(distance_m: npt.ArrayLike, altitude_m: npt.ArrayLike, smooth_s: int,
                 settings: PaceSettings = DEFAULT_PACE) -> FloatArray:
    """Decimal grade per second: smoothed rise over `grade_min_dist_m` of distance centred on the point,
    clamped to +-`grade_clamp`; NaN where distance or altitude is unknown or the track is shorter."""
    s = settings
    alt = rolling(np.asarray(altitude_m, dtype=float), smooth_s, "mean", 1)
    dist = np.asarray(distance_m, dtype=float)
    out = np.full(len(dist), np.nan)
    known = np.flatnonzero(~np.isnan(dist) & ~np.isnan(alt))
    span = s.grade_min_dist_m
    if len(known) < 2:
        return out
    d = np.maximum.accumulate(dist[known])  # a distance that steps back (a GPS correction) is held
    a = alt[known]
    if d[-1] - d[0] < span:
        return out
    # the window slides inwards at the ends of the track, so every point gets the full span
    lo = np.clip(d - span / 2.0, d[0], d[-1] - span)
    back = np.searchsorted(d, lo, side="right") - 1
    ahead = np.minimum(np.searchsorted(d, lo + span, side="left"), len(d) - 1)
    grade = (a[ahead] - a[back]) / (d[ahead] - d[back])
    out[known] = np.clip(grade, -s.grade_clamp, s.grade_clamp)
    return out


def gap_speed(speed_m_s: npt.ArrayLike, grade: npt.ArrayLike) -> FloatArray:
    """Grade-adjusted speed: the flat speed of the same effort (an unknown grade counts as flat)."""
    factor = strava_gap_factor(100.0 * np.nan_to_num(np.asarray(grade, dtype=float)))
    return np.asarray(speed_m_s, dtype=float) * factor


# --- speed cleaning -------------------------------------------------------------------------------------


def smoothed_speed(speed_m_s: npt.ArrayLike, distance_m: npt.ArrayLike, from_positions: bool,
                   settings: PaceSettings = DEFAULT_PACE) -> FloatArray:
    """Cleaned speed (m/s) per second. The device's own speed: a rolling median. Speed from positions (phone
    GPX), or when the device gave none: distance over a centred window, without the seconds of GPS jumps.
    Holes stay holes."""
    s = settings
    speed = np.asarray(speed_m_s, dtype=float)
    distance = np.asarray(distance_m, dtype=float)
    if not from_positions and not np.isnan(speed).all():
        out = rolling(speed, s.fit_speed_median_s, "median", max(1, s.fit_speed_median_s // 3))
        out[np.isnan(speed)] = np.nan
        return out
    per_second = _speed_of_distance(distance, s)
    out = rolling(per_second, s.speed_smooth_s, "mean", max(1, s.speed_smooth_s // 3))
    out[np.isnan(distance)] = np.nan
    return out


def _speed_of_distance(distance: FloatArray, s: PaceSettings) -> FloatArray:
    """Each second's speed from cumulative distance, NaN for the seconds of a GPS jump."""
    per_second = np.full(len(distance), np.nan)
    known = ~np.isnan(distance)
    # a fix is where the distance moves on: normalisation forward-fills the short gaps between fixes
    moved = np.concatenate(([True], distance[1:] != distance[:-1]))
    points = np.flatnonzero(known & moved)
    if len(points) < 2:
        return per_second
    dt = np.diff(points).astype(float)
    v = np.diff(distance[points]) / dt
    v[(v > s.max_speed_m_s) | (v < 0)] = np.nan
    # A displaced fix makes a spike (out and back) against the speed around it; a real change of pace is a
    # step, which the local median follows. Only the spike implies the impossible acceleration.
    around = rolling(v, 5, "median", 1)
    v[np.abs(v - around) / dt > s.max_accel_m_s2] = np.nan
    # each interval's speed for each of its seconds; a jump's metres do not count
    per_second[points[0] + 1:points[-1] + 1] = np.repeat(v, np.diff(points))
    per_second[~known] = np.nan
    return per_second


def rolling(values: FloatArray, window_s: int, how: Literal["mean", "median"], min_periods: int) -> FloatArray:
    """A centred rolling mean or median that ignores NaN: pandas' rolling(window, center=True, min_periods)."""
    window = max(1, int(window_s))
    centred = centred_median if how == "median" else centred_mean
    return centred(np.asarray(values, dtype=float), window, min_periods)


def _padded(values: FloatArray, window: int) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """The values NaN-padded so each item's centred window sits where pandas places it (window // 2
    before, the rest after), and how many values each window holds."""
    padded = np.concatenate((np.full(window // 2, np.nan), values, np.full((window - 1) // 2, np.nan)))
    present = np.concatenate(([0], np.cumsum(~np.isnan(padded))))
    return padded, present[window:] - present[:-window]


def centred_median(values: FloatArray, window: int, min_periods: int = 1) -> FloatArray:
    """pandas' Series.rolling(window, center=True, min_periods).median(), value for value: the median of
    the values present in each window (the mean of the middle two where their number is even), NaN where
    fewer than min_periods are. Bottleneck's moving median (a double heap, NaN-aware) over the values
    NaN-padded so each trailing window is pandas' centred one: 4x the sort of every window at once that
    it replaced."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0 or min_periods > window:
        return np.full(len(values), np.nan)
    padded = np.concatenate((np.full(window // 2, np.nan), values, np.full((window - 1) // 2, np.nan)))
    return bn.move_median(padded, window, min_count=max(min_periods, 1))[window - 1:]  # type: ignore[no-any-return]


def centred_mean(values: FloatArray, window: int, min_periods: int = 1) -> FloatArray:
    """pandas' Series.rolling(window, center=True, min_periods).mean() in NumPy, from one running sum of
    the values present: exactly pandas' on whole numbers such as heart rates, and within a few units in
    the last place on a run's speeds (pandas compensates its running sum; this one is plain)."""
    if len(values) == 0:
        return np.array(values, dtype=float)
    padded, count = _padded(values, window)
    total = np.concatenate(([0.0], np.cumsum(np.nan_to_num(padded, nan=0.0))))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (total[window:] - total[:-window]) / count
    mean[count < max(min_periods, 1)] = np.nan
    return mean  # type: ignore[no-any-return]
