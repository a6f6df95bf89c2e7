"""Two heart-rate artefacts that put another signal in place of the heart (gentleness.md §4.4, §5.3 step 6).

Both take 1 Hz arrays on the timer clock (NaN = hole) and return the seconds to remove; `clean_hr` runs
them after the range check and before the spike filter.

`cadence_lock`: an optical sensor can lock onto the arm swing and report the step rate as heart rate.
Being near the cadence is not enough, because a hard runner can have 170 bpm at 170 steps/min. A span of
a minute or more within 3 of the step rate (or of the stride rate, half of it) above 130 bpm is removed
only with evidence of a lock, either of two:
- it is entered by a jump of 15 bpm or more within 10 s while speed rose less than 10 %. A heart follows
  a change of speed with a time constant of about a minute (§4.3), so it cannot do that;
- inside the span the reading follows the cadence second by second: the difference between them varies
  less than half as much as the reading itself, and both vary. A real heart moves about 24 bpm per m/s
  and a minute late, the cadence 5 to 10 steps/min per m/s at once, so when both change their
  difference changes too.
A lock entered by a jump also loses the seconds of the jump. Holes of up to a minute (no heart rate or
no cadence) do not split a span: a dropout inside a lock would otherwise leave its second half without
the jump that proved it.

`early_contact`: a dry chest strap reads erratic and high until sweat wets it. A real heart rate reads
*low* early because of the lag, so the strap is what reads far above a lagged prediction from speed. The
prediction is the runner's own line `HR = a + b·gap_speed`, fitted on the running seconds after
minute 10 (slope fixed at 24 bpm per m/s when the speed barely varies), then lagged with τ = 60 s from at
most 90 bpm. A genuinely fast start raises the prediction and is kept; 170 bpm at an easy pace is not.
The line is fitted against the lagged grade-adjusted speed, not the raw one: heart rate follows speed a
minute late, so against raw speed the slope of any run whose speed changes comes out too flat, and a
too-flat slope would take a real fast start for a dry strap. On a steady run the two fits are the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.gentleness import runs_of
from pipeline.pace import centred_median

_STEP_MULTIPLES = (1.0, 0.5)  # the step rate, and the stride rate
_LEVEL_S = 5  # the seconds whose median is the level before and after a jump


@dataclass(frozen=True)
class ArtefactSettings:
    """gentleness.md §5.3 step 6: the numbers of the `cadence_lock` and `early_contact` rules."""

    cadence_lock_tol_bpm: float = 3.0  # heart rate within this of the step or stride rate...
    cadence_lock_min_s: int = 60  # ...for at least this many seconds...
    cadence_lock_min_hr: float = 130.0  # ...while above this
    cadence_lock_merge_s: int = 5  # shorter blips (one noisy second) do not split a span...
    cadence_lock_hole_s: int = 60  # ...nor do holes in heart rate or cadence up to this long
    cadence_lock_jump_bpm: float = 15.0  # evidence 1: entered by a jump this big...
    cadence_lock_jump_s: int = 10  # ...within this many seconds...
    cadence_lock_speed_rise: float = 0.10  # ...while speed rose by less than this share
    cadence_lock_track_ratio: float = 0.5  # evidence 2: spread of HR - cadence under this share of HR's own
    cadence_lock_track_min_sd: float = 1.0  # ...while HR and cadence both vary this much (bpm, steps/min)
    early_window_min: float = 10.0  # early contact is looked for in these first minutes...
    early_excess_bpm: float = 20.0  # ...as a rolling median this far above the prediction...
    early_min_s: int = 30  # ...for this many running seconds in a row
    early_median_s: int = 15
    hr_tau_s: float = 60.0  # the heart's time constant after a change of speed [HR-dynamics2015]
    early_start_bpm: float = 90.0  # the prediction starts from at most this
    early_fixed_slope: float = 24.0  # bpm per m/s, when the run's own speeds cannot give a slope
    early_min_iqr_m_s: float = 0.3  # ...which is when their interquartile range is under this
    early_min_fit_s: int = 300  # fewer running seconds with heart rate after the window: no rule


DEFAULT_ARTEFACTS = ArtefactSettings()


# --- cadence lock ----------------------------------------------------------------------------------------


def cadence_lock(hr: np.ndarray, steps_per_min: np.ndarray, speed: np.ndarray,
                 s: ArtefactSettings = DEFAULT_ARTEFACTS) -> np.ndarray:
    """Seconds whose heart rate is the cadence: whole lock spans, with the jump leading into them."""
    hr = np.asarray(hr, dtype=float)
    speed = np.asarray(speed, dtype=float)
    targets = np.stack([np.asarray(steps_per_min, dtype=float) * m for m in _STEP_MULTIPLES])
    near = np.abs(hr - targets) <= s.cadence_lock_tol_bpm  # NaN on either side is never near
    candidate = near.any(axis=0) & (hr > s.cadence_lock_min_hr)
    # a hole (no heart rate or no cadence) says nothing against a lock: a short one does not end it
    hole = np.isnan(hr) | np.isnan(targets[0])
    flagged = np.zeros(len(hr), dtype=bool)
    for start, end in runs_of(candidate | (hole & (_run_lengths(hole) <= s.cadence_lock_hole_s)),
                              s.cadence_lock_merge_s):
        inside = np.flatnonzero(candidate[start:end])
        if len(inside) < s.cadence_lock_min_s:
            continue
        start, end = start + int(inside[0]), start + int(inside[-1]) + 1
        target = targets[int(near[:, start:end].sum(axis=1).argmax())]
        jump_s = _jump_into(hr, speed, start, s)
        if jump_s is not None:
            flagged[start - jump_s:end] = True
        elif _tracks(hr[start:end], target[start:end], s):
            flagged[start:end] = True
    return flagged & ~np.isnan(hr)


def _run_lengths(mask: np.ndarray) -> np.ndarray:
    """For each true element, the length of the run of trues it belongs to; 0 elsewhere."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    lengths = np.zeros(len(mask), dtype=int)
    lengths[mask] = np.repeat(edges[1::2] - edges[::2], edges[1::2] - edges[::2])
    return lengths


def _median(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if len(finite) else float("nan")


def _jump_into(hr: np.ndarray, speed: np.ndarray, start: int, s: ArtefactSettings) -> int | None:
    """How many seconds of jump lead into the span at `start`; None if it was not entered by one."""
    jump_from = max(start - s.cadence_lock_jump_s, 0)
    before = slice(max(jump_from - _LEVEL_S, 0), jump_from)
    after = slice(start, start + _LEVEL_S)
    level = _median(hr[before])
    if not _median(hr[after]) - level >= s.cadence_lock_jump_bpm:  # unknown level before: no evidence
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        rise = _median(speed[after]) / _median(speed[before]) - 1.0
    if rise >= s.cadence_lock_speed_rise:  # unknown speed is no evidence of a speed-up
        return None
    rising = np.flatnonzero(hr[jump_from:start] > level + s.cadence_lock_tol_bpm)
    return start - jump_from - int(rising[0]) if len(rising) else 0


def _tracks(hr: np.ndarray, target: np.ndarray, s: ArtefactSettings) -> bool:
    """Whether the heart rate follows the cadence second by second inside a span."""
    both = np.isfinite(hr) & np.isfinite(target)
    if both.sum() < s.cadence_lock_min_s:
        return False
    hr, target = hr[both], target[both]
    hr_sd = float(np.std(hr))
    varies = hr_sd >= s.cadence_lock_track_min_sd and float(np.std(target)) >= s.cadence_lock_track_min_sd
    return varies and float(np.std(hr - target)) <= s.cadence_lock_track_ratio * hr_sd


# --- early strap contact ---------------------------------------------------------------------------------


def early_contact(hr_raw: np.ndarray, gap_speed: np.ndarray, running: np.ndarray,
                  s: ArtefactSettings = DEFAULT_ARTEFACTS) -> np.ndarray:
    """Early running seconds reading far above what the speed, lagged, predicts (a dry chest strap)."""
    hr = np.asarray(hr_raw, dtype=float)
    gap = np.asarray(gap_speed, dtype=float)
    running = np.asarray(running, dtype=bool)
    flagged = np.zeros(len(hr), dtype=bool)
    window = min(round(s.early_window_min * 60), len(hr))
    if np.isnan(gap).all():
        return flagged
    held = _held(gap)  # the prediction holds its speed over a hole
    line = _speed_to_hr(hr, gap, _lagged(held, held[0], s.hr_tau_s), running, window, s)
    if line is None:
        return flagged
    steady = line[0] + line[1] * held[:window]
    predicted = _lagged(steady, min(s.early_start_bpm, float(steady[0])), s.hr_tau_s)
    median = centred_median(hr, s.early_median_s, s.early_median_s // 2 + 1)
    excess = running[:window] & (median[:window] - predicted > s.early_excess_bpm)
    for start, end in runs_of(excess):
        if end - start >= s.early_min_s:
            flagged[start:end] = True
    return flagged & ~np.isnan(hr)


def _held(x: np.ndarray) -> np.ndarray:
    """Each hole filled with the last value before it (the first value before the first): pandas'
    ffill().bfill()."""
    known = ~np.isnan(x)
    last = np.maximum.accumulate(np.where(known, np.arange(len(x)), -1))
    return x[np.where(last >= 0, last, np.argmax(known))]  # type: ignore[no-any-return]


def _lagged(x: np.ndarray, start: float, tau_s: float) -> np.ndarray:
    """A first-order lag with time constant `tau_s` seconds through 1 Hz `x`, from `start`: y = y + a(x - y)
    each second, as pandas' exponentially weighted mean (adjust=False), to 1e-12 (a test holds it).

    NumPy has no call for the recursion; its closed form, y[k] = c^(k+1) (y0 + a sum_j<=k c^-(j+1) x[j]) with
    c = 1 - a, is one cumulative sum per block of seconds short enough (c^-block under 4) that no precision
    is lost, the blocks chained by their last values: a tenth of pandas' time on a run."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    alpha = 1.0 - np.exp(-1.0 / tau_s)
    c = 1.0 - alpha
    block = max(1, min(n, int(tau_s * np.log(4.0))))
    blocks = -(-n // block)
    padded = np.zeros(blocks * block)
    padded[:n] = x
    rise = c ** -np.arange(1, block + 1)  # c^-(j+1)
    fall = c ** np.arange(1, block + 1)  # c^(k+1)
    sums = np.cumsum(padded.reshape(blocks, block) * rise, axis=1) * alpha
    firsts = np.empty(blocks)  # each block's y0: the last value of the block before
    y = float(start)
    for b in range(blocks):
        firsts[b] = y
        y = fall[-1] * (y + sums[b, -1])
    return ((firsts[:, None] + sums) * fall).reshape(-1)[:n]  # type: ignore[no-any-return]


def _speed_to_hr(hr: np.ndarray, gap: np.ndarray, lagged_gap: np.ndarray, running: np.ndarray, window: int,
                 s: ArtefactSettings) -> tuple[float, float] | None:
    """(a, b) of `HR = a + b·gap_speed` from the running seconds after the early window, None if too few."""
    fit = running & np.isfinite(hr) & np.isfinite(gap)
    fit[:window] = False
    if fit.sum() < s.early_min_fit_s:
        return None
    x, y = lagged_gap[fit], hr[fit]
    q25, q75 = np.percentile(x, [25, 75])
    if q75 - q25 >= s.early_min_iqr_m_s:
        b, a = np.polyfit(x, y, 1)
        # a slope that is not positive would call a real fast start a dry strap: keep the textbook one
        if b > 0:
            return float(a), float(b)
    return float(np.mean(y - s.early_fixed_slope * x)), s.early_fixed_slope
