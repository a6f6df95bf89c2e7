"""The runner's profile and their conversational ceiling: who they are, and where "easy" ends for them.

A profile has versions with effective dates: the first version applies to every earlier run too, a
later one from its date on, so a change never silently rewrites older verdicts. The ceiling C (top of
"conversational") and the hard line H (around the first threshold) come from the best information
the profile holds, in the priority of gentleness.md §5.2:

| # | available                       | C                          | H                          | confidence |
|---|---------------------------------|----------------------------|----------------------------|------------|
| 1 | easy_hr_ceiling (talk test)     | value                      | C + 12                     | high       |
| 2 | vt1_hr (lab / drift / DFA)      | vt1 - 5                    | vt1 + 5                    | high (lab) / medium |
| 3 | lthr                            | 0.85 LTHR                  | 0.90 LTHR                  | medium     |
| 4 | max_hr + resting_hr (Karvonen)  | rest + 0.60 (max - rest)   | rest + 0.75 (max - rest)   | medium     |
| 5 | max_hr                          | 0.77 max                   | 0.85 max                   | medium     |
| 6 | age + resting_hr                | Karvonen on Tanaka max     | Karvonen on Tanaka max     | low        |
| 7 | age                             | 0.77 (208 - 0.7 age)       | 0.85 (208 - 0.7 age)       | low        |
| - | method = maf (opt-in)           | 180 - age + adjustment     | C + 10                     | low        |

The edge E = C + 0.25 (H - C) is "right at your easy ceiling".
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

METHODS = ("auto", "manual", "vt1", "lthr", "karvonen", "percent_max", "maf")
VT1_SOURCES = ("lab", "drift_test", "talk_test", "dfa_hrvt")
TOLERANCE_PROFILES = ("gentle", "relaxed")


class ProfileError(ValueError):
    """A profile value that cannot be right (a resting HR above the maximum, an unknown method...)."""


@dataclass(frozen=True)
class ProfileVersion:
    """One version of the runner's profile; every field optional. Heart rates in beats per minute."""

    effective: date | None = None  # None: the first version, applying to every run before the next
    age: int | None = None
    resting_hr: int | None = None
    max_hr: int | None = None
    lthr: int | None = None
    vt1_hr: int | None = None
    vt1_source: str = "lab"
    easy_hr_ceiling: int | None = None
    conversational_pace_s_per_km: float | None = None
    race_distance_m: float | None = None
    race_time_s: float | None = None
    race_date: date | None = None
    method: str = "auto"
    maf_adjustment: int = 0
    hr_reliable: bool = True  # False: heart rate does not follow effort (beta-blockers): pace and feel judge
    tolerance_profile: str = "gentle"  # or "relaxed": the score's allowances x 1.5 (gentleness.md §5.6)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ProfileError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.vt1_source not in VT1_SOURCES:
            raise ProfileError(f"vt1_source must be one of {', '.join(VT1_SOURCES)}, not {self.vt1_source!r}")
        if self.tolerance_profile not in TOLERANCE_PROFILES:
            raise ProfileError(f"tolerance_profile must be gentle or relaxed, not {self.tolerance_profile!r}")
        if self.maf_adjustment not in (-10, -5, 0, 5):
            raise ProfileError("maf_adjustment must be -10, -5, 0 or +5")
        for name in ("resting_hr", "max_hr", "lthr", "vt1_hr", "easy_hr_ceiling"):
            value = getattr(self, name)
            if value is not None and not 25 <= value <= 250:
                raise ProfileError(f"{name} = {value} bpm is outside 25..250")
        if self.age is not None and not 5 <= self.age <= 110:
            raise ProfileError(f"age = {self.age} is outside 5..110")
        if self.resting_hr is not None and self.max_hr is not None and self.resting_hr >= self.max_hr:
            raise ProfileError(f"resting_hr ({self.resting_hr}) must be below max_hr ({self.max_hr})")


PROFILE_FIELDS = tuple(f.name for f in fields(ProfileVersion) if f.name != "effective")


def profile_at(versions: tuple[ProfileVersion, ...] | list[ProfileVersion], day: date) -> ProfileVersion | None:
    """The version in force on `day`: the last one that took effect on or before it, else the first.

    Versions are given in the order they were set; for one effective date the last one set wins.
    """
    if not versions:
        return None
    ordered = sorted(enumerate(versions), key=lambda iv: (iv[1].effective or date.min, iv[0]))
    current = ordered[0][1]
    for _, version in ordered:
        if (version.effective or date.min) <= day:
            current = version
    return current


@dataclass(frozen=True)
class CeilingSettings:
    """The numbers of gentleness.md §5.12 the ceiling uses, each configurable."""

    pct_hrmax_ceiling: float = 0.77
    pct_hrmax_hard: float = 0.85
    pct_hrr_ceiling: float = 0.60
    pct_hrr_hard: float = 0.75
    lthr_ceiling: float = 0.85
    lthr_hard: float = 0.90
    vt1_offset_ceiling: float = -5.0
    vt1_offset_hard: float = 5.0
    manual_hard_gap: float = 12.0
    maf_hard_gap: float = 10.0
    edge_fraction: float = 0.25


DEFAULT_CEILING_SETTINGS = CeilingSettings()


@dataclass(frozen=True)
class Ceiling:
    ceiling_bpm: float  # C: top of conversational
    hard_line_bpm: float  # H: around the first threshold
    edge_bpm: float  # E = C + edge_fraction (H - C)
    method: str
    confidence: str  # high | medium | low
    how: str  # one plain sentence: how it was set

    def as_dict(self) -> dict[str, Any]:
        return {
            "ceiling_bpm": round(self.ceiling_bpm, 1),
            "hard_line_bpm": round(self.hard_line_bpm, 1),
            "edge_bpm": round(self.edge_bpm, 1),
            "method": self.method,
            "confidence": self.confidence,
            "how": self.how,
        }


def tanaka_max_hr(age: float) -> float:
    """Age-predicted maximum heart rate, Tanaka, Monahan & Seals (2001): 208 - 0.7 age."""
    return 208.0 - 0.7 * age


def resolve_ceiling(profile: ProfileVersion | None, settings: CeilingSettings = DEFAULT_CEILING_SETTINGS
                    ) -> Ceiling | None:
    """C and H from the best data the profile holds (or the method it asks for); None when nothing fits."""
    if profile is None or not profile.hr_reliable:
        return None
    s = settings
    candidates = {
        "manual": _manual(profile, s),
        "vt1": _vt1(profile, s),
        "lthr": _lthr(profile, s),
        "karvonen": _karvonen(profile, s),
        "percent_max": _percent_max(profile, s),
        "maf": _maf(profile, s),
    }
    if profile.method != "auto":
        return candidates[profile.method]
    for method in ("manual", "vt1", "lthr", "karvonen", "percent_max"):
        if candidates[method] is not None:
            return candidates[method]
    return None


def _make(c: float, h: float, method: str, confidence: str, how: str, s: CeilingSettings) -> Ceiling:
    return Ceiling(c, h, c + s.edge_fraction * (h - c), method, confidence, how)


def _manual(p: ProfileVersion, s: CeilingSettings) -> Ceiling | None:
    if p.easy_hr_ceiling is None:
        return None
    c = float(p.easy_hr_ceiling)
    return _make(c, c + s.manual_hard_gap, "manual", "high",
                 f"your own easy ceiling of {p.easy_hr_ceiling} bpm (talk test or your choice)", s)


def _vt1(p: ProfileVersion, s: CeilingSettings) -> Ceiling | None:
    if p.vt1_hr is None:
        return None
    confidence = "high" if p.vt1_source == "lab" else "medium"
    return _make(p.vt1_hr + s.vt1_offset_ceiling, p.vt1_hr + s.vt1_offset_hard, "vt1", confidence,
                 f"just below your first threshold, measured at {p.vt1_hr} bpm ({p.vt1_source.replace('_', ' ')})", s)


def _lthr(p: ProfileVersion, s: CeilingSettings) -> Ceiling | None:
    if p.lthr is None:
        return None
    return _make(s.lthr_ceiling * p.lthr, s.lthr_hard * p.lthr, "lthr", "medium",
                 f"{s.lthr_ceiling:.0%} of your lactate-threshold heart rate of {p.lthr} bpm", s)


def _max_hr(p: ProfileVersion) -> tuple[float, str, str] | None:
    """The maximum to work from: measured (medium confidence), else Tanaka from age (low), with words."""
    if p.max_hr is not None:
        return float(p.max_hr), "medium", f"your maximum of {p.max_hr} bpm"
    if p.age is not None:
        top = tanaka_max_hr(p.age)
        return top, "low", f"a maximum estimated from your age ({top:.0f} bpm)"
    return None


def _karvonen(p: ProfileVersion, s: CeilingSettings) -> Ceiling | None:
    known = _max_hr(p)
    if p.resting_hr is None or known is None:
        return None
    top, confidence, what = known
    reserve = top - p.resting_hr
    return _make(p.resting_hr + s.pct_hrr_ceiling * reserve, p.resting_hr + s.pct_hrr_hard * reserve,
                 "karvonen", confidence,
                 f"{s.pct_hrr_ceiling:.0%} of your heart-rate reserve, from a resting {p.resting_hr} bpm and {what}", s)


def _percent_max(p: ProfileVersion, s: CeilingSettings) -> Ceiling | None:
    known = _max_hr(p)
    if known is None:
        return None
    top, confidence, what = known
    return _make(s.pct_hrmax_ceiling * top, s.pct_hrmax_hard * top, "percent_max", confidence,
                 f"{s.pct_hrmax_ceiling:.0%} of {what}", s)


def _maf(p: ProfileVersion, s: CeilingSettings) -> Ceiling | None:
    if p.age is None:
        return None
    c = 180.0 - p.age + p.maf_adjustment
    return _make(c, c + s.maf_hard_gap, "maf", "low", f"Maffetone's 180 formula: 180 - {p.age}"
                 + (f" {p.maf_adjustment:+d}" if p.maf_adjustment else ""), s)
