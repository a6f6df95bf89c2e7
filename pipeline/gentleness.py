"""The core of the gentleness verdict (gentleness.md §5.4 to §5.6): bands, metrics, score.

Input is one run's signal on a 1 Hz timer clock (holes as NaN: pauses, removed artefacts) with a
moving mask, and the runner's ceiling C and hard line H for it: heart rate in bpm (with the drift
allowance of long runs), or grade-adjusted speed in m/s for the pace path (no drift, and strides
shorter than a minute ignored). Output is the three explainable numbers, their sub-scores, the score
("set by whatever stood out most") and the category. Every number is a field of `GentlenessSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from pipeline.ceiling import Ceiling

CALM, EDGE, ABOVE, WELL_ABOVE = 0, 1, 2, 3
CATEGORIES = ("gentle", "borderline", "too_hard")


@dataclass(frozen=True)
class GentlenessSettings:
    """gentleness.md §5.12, the numbers §5.4 to §5.6 use."""

    edge_fraction: float = 0.25
    drift_start_min: float = 20.0  # no drift allowance before this
    drift_rate_per_h: float = 0.05  # then +5 % of C per hour...
    drift_cap: float = 0.08  # ...up to +8 %
    s1_free: float = 0.05  # weighted overage share that is free
    s1_zero: float = 0.35  # ...and where s1 reaches 0
    s2_free_min: float = 3.0  # sustained excursion minutes that are free
    s2_zero_min: float = 15.0  # ...and where s2 reaches 0
    s2_zero_frac: float = 0.20  # ...or this share of the moving time, if longer
    s3_free_min: float = 1.0  # minutes above the hard line that are free
    s3_zero_min: float = 8.0  # ...and where s3 reaches 0
    gentle_min_score: int = 75
    borderline_min_score: int = 45
    merge_gap_s: float = 20.0  # excursions closer than this are one
    short_run_min: float = 10.0  # fewer assessed minutes: computed, but low confidence
    pace_min_excursion_s: float = 60.0  # pace path: quicker stretches shorter than this are strides
    relaxed_factor: float = 1.5  # tolerance_profile = relaxed: free allowances and zero points x this

    def relaxed(self) -> GentlenessSettings:
        """§5.6: the `relaxed` tolerance profile multiplies the free allowances and zero points."""
        scaled = ("s1_free", "s1_zero", "s2_free_min", "s2_zero_min", "s2_zero_frac", "s3_free_min", "s3_zero_min")
        return replace(self, **{name: getattr(self, name) * self.relaxed_factor for name in scaled})


DEFAULT_GENTLENESS = GentlenessSettings()
SETTING_NAMES = tuple(f.name for f in fields(GentlenessSettings))


def drift_allowance(minutes: np.ndarray, s: GentlenessSettings = DEFAULT_GENTLENESS) -> np.ndarray:
    """a(m) = clip(rate (m - start) / 60, 0, cap): the share of C that heart rate may drift up on long runs."""
    return np.clip(s.drift_rate_per_h * (np.asarray(minutes, dtype=float) - s.drift_start_min) / 60.0,
                   0.0, s.drift_cap)


@dataclass(frozen=True)
class Bands:
    ceiling: np.ndarray  # C(t)
    edge: np.ndarray  # E(t)
    hard_line: np.ndarray  # H(t)
    band: np.ndarray  # CALM / EDGE / ABOVE / WELL_ABOVE per second, -1 where not assessed
    weight: np.ndarray  # intensity weight w in [0, 1], 0 where not assessed


def bands(values: np.ndarray, minutes: np.ndarray, assessed: np.ndarray, c: float, h: float, *,
          drift: bool = True, s: GentlenessSettings = DEFAULT_GENTLENESS) -> Bands:
    """§5.4: C(t) = C (1 + a), H(t) = H + C a, E(t) = C(t) + f (H - C); w = clip((v - C(t)) / (H - C), 0, 1).

    Without `drift` (the pace path) a = 0 throughout."""
    a = drift_allowance(minutes, s) if drift else np.zeros(len(minutes))
    c_t = c * (1.0 + a)
    h_t = h + c * a
    e_t = c_t + s.edge_fraction * (h - c)
    values = np.asarray(values, dtype=float)
    band = np.select([values <= c_t, values <= e_t, values <= h_t], [CALM, EDGE, ABOVE], WELL_ABOVE)
    band = np.where(assessed, band, -1)
    weight = np.where(assessed, np.clip((values - c_t) / (h - c), 0.0, 1.0), 0.0)
    return Bands(c_t, e_t, h_t, band, np.nan_to_num(weight))


def runs_of(mask: np.ndarray, merge_gap: int = 0) -> list[tuple[int, int]]:
    """[start, end) index spans where `mask` is true, spans separated by fewer than `merge_gap` false
    samples merged into one."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    merged = [(int(starts[0]), int(ends[0]))]
    for start, end in zip(starts[1:], ends[1:], strict=True):
        if start - merged[-1][1] < merge_gap:
            merged[-1] = (merged[-1][0], int(end))
        else:
            merged.append((int(start), int(end)))
    return merged


@dataclass(frozen=True)
class Assessment:
    assessed_s: int
    time_above_ceiling_s: int
    time_above_hard_line_s: int
    weighted_overage: float  # p1, a share
    longest_excursion_s: int  # m2
    excursions: list[tuple[int, int]]  # [start, end) seconds of each sustained excursion above the edge
    s1: float
    s2: float
    s3: float
    score: int
    category: str
    main_reason: str  # which sub-score set the score: overage | sustained_excursion | above_hard_line
    short_run: bool
    edge_s: int = 0  # seconds between C(t) and the edge line: "right at your easy ceiling"

    @property
    def calm_s(self) -> int:
        """Seconds at or below the edge line (calm and edge bands): the calm time of §6's calm-time share."""
        return self.assessed_s - self.time_above_ceiling_s + self.edge_s


def sub_scores(p1: float, m2_min: float, m3_min: float, moving_min: float,
               s: GentlenessSettings = DEFAULT_GENTLENESS) -> tuple[float, float, float]:
    """§5.6: s1 = clip(1 - (p1 - 0.05) / 0.30, 0, 1); s2 = clip(1 - (m2 - 3) / (L - 3), 0, 1) with
    L = max(15, 0.20 moving minutes); s3 = clip(1 - (m3 - 1) / 7, 0, 1)."""
    s1 = float(np.clip(1 - (p1 - s.s1_free) / (s.s1_zero - s.s1_free), 0, 1))
    limit = max(s.s2_zero_min, s.s2_zero_frac * moving_min)
    s2 = float(np.clip(1 - (m2_min - s.s2_free_min) / (limit - s.s2_free_min), 0, 1))
    s3 = float(np.clip(1 - (m3_min - s.s3_free_min) / (s.s3_zero_min - s.s3_free_min), 0, 1))
    return s1, s2, s3


def category_of(score: int, s: GentlenessSettings = DEFAULT_GENTLENESS) -> str:
    if score >= s.gentle_min_score:
        return "gentle"
    return "borderline" if score >= s.borderline_min_score else "too_hard"


def assess_series(values: np.ndarray, moving: np.ndarray, c: float, h: float, *, drift: bool = True,
                  min_excursion_s: float = 0.0, s: GentlenessSettings = DEFAULT_GENTLENESS) -> Assessment:
    """One run's signal, 1 Hz on the timer clock from the start (NaN = hole), against its C and H."""
    values = np.asarray(values, dtype=float)
    moving = np.asarray(moving, dtype=bool)
    minutes = np.arange(len(values)) / 60.0
    assessed = moving & ~np.isnan(values)
    b = bands(values, minutes, assessed, c, h, drift=drift, s=s)
    band, weight = b.band, b.weight
    if min_excursion_s > 0:
        # pace path: a few quick strides are not a harder run; spans above C shorter than this count as calm
        for start, end in runs_of(band >= EDGE):
            if end - start < min_excursion_s:
                band[start:end], weight[start:end] = CALM, 0.0
    n = int(assessed.sum())
    above_c = int(((band >= EDGE) & assessed).sum())
    above_h = int(((band == WELL_ABOVE) & assessed).sum())
    p1 = float(weight.sum() / n) if n else 0.0
    excursions = runs_of(band >= ABOVE, merge_gap=int(s.merge_gap_s))
    longest = max((end - start for start, end in excursions), default=0)
    moving_min = float(moving.sum()) / 60.0
    s1, s2, s3 = sub_scores(p1, longest / 60.0, above_h / 60.0, moving_min, s)
    score = round(100 * min(s1, s2, s3))
    reason = ("overage", "sustained_excursion", "above_hard_line")[int(np.argmin([s1, s2, s3]))]
    return Assessment(
        assessed_s=n, time_above_ceiling_s=above_c, time_above_hard_line_s=above_h, weighted_overage=p1,
        longest_excursion_s=longest, excursions=excursions, s1=s1, s2=s2, s3=s3, score=score,
        category=category_of(score, s), main_reason=reason, short_run=n < s.short_run_min * 60,
        edge_s=int(((band == EDGE) & assessed).sum()),
    )


def assess_hr(hr: np.ndarray, moving: np.ndarray, ceiling: Ceiling,
              s: GentlenessSettings = DEFAULT_GENTLENESS) -> Assessment:
    """Heart rate against the runner's heart-rate ceiling, with the drift allowance of long runs."""
    return assess_series(hr, moving, ceiling.ceiling_bpm, ceiling.hard_line_bpm, drift=True, s=s)
