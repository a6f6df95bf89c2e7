"""`kindpace explain --png`: one run's heart rate (or pace) against the easy ceiling, drawn calmly.

Matplotlib is imported inside `render_run_chart`, so importing this module (and starting the command
line) stays cheap. The figure is built with the object-oriented API on an Agg canvas: no pyplot, no
global figure registry, no dependence on the display.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["render_run_chart"]

KINDS = ("hr", "pace")
UNITS = ("metric", "imperial")
FIGSIZE_IN = (10.0, 4.0)
DPI = 120
MIN_SPEED_M_S = 0.5  # slower than this is standing, not running: its "pace" would swamp the axis

# Soft, calm colours: nothing red; going above the ceiling is information, not an alarm.
CALM_BAND = "#dcefe8"
CEILING = "#1f6f6b"
HARD_LINE = "#8c8c8c"
EXCURSION = "#f2b36b"
EXCURSION_ALPHA = 0.35
SIGNAL = "#3f5d7d"
TEXT = "#3b3b3b"


def render_run_chart(
    path: str | os.PathLike[str],
    minutes: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    *,
    kind: str,
    ceiling: float | Sequence[float] | np.ndarray,
    hard_line: float | Sequence[float] | np.ndarray,
    excursions: Sequence[tuple[float, float, str]],
    title: str,
    value_label: str | None = None,
    distance_km: Sequence[float] | np.ndarray | None = None,
    units: str = "metric",
) -> Path:
    """Draw the run to a PNG at `path` (written atomically) and return the path.

    `values` are heart rate in bpm (kind "hr") or speed in m/s (kind "pace", drawn as pace per km, or per
    mile with units "imperial", on an inverted axis so faster is higher). `ceiling` and `hard_line` are in
    the same units as `values`, each a number or an array as long as `minutes`. NaN values are gaps and
    break the line. `excursions` are (start_min, end_min, label) spans above the ceiling, shaded and
    labelled. With `distance_km`, a top axis marks each whole km (or mile).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown chart kind {kind!r}: expected one of {', '.join(KINDS)}")
    if units not in UNITS:
        raise ValueError(f"unknown units {units!r}: expected one of {', '.join(UNITS)}")
    t = np.asarray(minutes, dtype=float)
    if t.ndim != 1:
        raise ValueError(f"minutes must be one-dimensional, got shape {t.shape}")
    n = len(t)
    y = _same_length("values", values, n, scalar_ok=False)
    ceiling_y = _same_length("ceiling", ceiling, n, scalar_ok=True)
    hard_y = _same_length("hard_line", hard_line, n, scalar_ok=True)
    distance = None if distance_km is None else _same_length("distance_km", distance_km, n, scalar_ok=False)
    spans = _checked_excursions(excursions)

    from kindpace.config import KM_PER_MILE  # the one place that knows a mile

    unit_km = KM_PER_MILE if units == "imperial" else 1.0
    unit_name = "mi" if units == "imperial" else "km"
    if kind == "pace":
        y, ceiling_y, hard_y = (_pace_s(v, unit_km) for v in (y, ceiling_y, hard_y))
    if value_label is None:
        value_label = "heart rate (bpm)" if kind == "hr" else f"pace (min/{unit_name})"

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig = Figure(figsize=FIGSIZE_IN, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    try:
        ax = fig.add_subplot()
        low, high = _value_limits(kind, y, ceiling_y, hard_y)
        ax.set_ylim(low, high)
        if n:
            ax.set_xlim(float(np.nanmin(t)), float(np.nanmax(t)) if n > 1 else float(t[0]) + 1.0)

        # The calm band lies between the ceiling and the easy edge of the axis (the bottom in both kinds:
        # lower heart rate, or slower pace on the inverted pace axis).
        calm_edge = low if kind == "hr" else high
        ax.fill_between(t, ceiling_y, calm_edge, color=CALM_BAND, linewidth=0, zorder=0)
        for start, end, _ in spans:
            ax.axvspan(start, end, color=EXCURSION, alpha=EXCURSION_ALPHA, linewidth=0, zorder=1)
        ax.plot(t, hard_y, color=HARD_LINE, linestyle=(0, (5, 4)), linewidth=1.2, zorder=2)
        ax.plot(t, ceiling_y, color=CEILING, linewidth=1.8, zorder=3)
        ax.plot(t, y, color=SIGNAL, linewidth=1.1, zorder=4)  # NaN samples break the line: gaps stay gaps
        _label_excursions(ax, spans)

        if kind == "pace":
            ax.invert_yaxis()
            ax.yaxis.set_major_locator(MaxNLocator(nbins=7, steps=[1, 1.5, 3, 6, 10]))  # 10/15/30/60 s
            ax.yaxis.set_major_formatter(FuncFormatter(lambda s, _pos: _clock(s)))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=12, steps=[1, 2, 5, 10]))
        ax.set_xlabel("minutes (timer)", color=TEXT)
        ax.set_ylabel(value_label, color=TEXT)
        ax.set_title(title, loc="left", color=TEXT, fontsize=11)
        ax.tick_params(colors=TEXT, labelsize=9)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_color("#b8b8b8")
        ax.grid(axis="y", color="#ececec", linewidth=0.8, zorder=0)
        ax.set_axisbelow(True)
        if distance is not None:
            _distance_axis(ax, t, distance / unit_km, unit_name)

        signal_name = "heart rate" if kind == "hr" else "pace"
        handles = [
            Line2D([], [], color=SIGNAL, linewidth=1.1, label=signal_name),
            Line2D([], [], color=CEILING, linewidth=1.8, label="easy ceiling"),
            Line2D([], [], color=HARD_LINE, linestyle=(0, (5, 4)), linewidth=1.2, label="harder from"),
            Patch(facecolor=EXCURSION, alpha=EXCURSION_ALPHA, label="above the ceiling"),
        ]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=4, frameon=False,
                  fontsize=9, labelcolor=TEXT)
        return _save_atomically(fig, Path(path))
    finally:
        fig.clear()  # the OO figure is in no pyplot registry; clearing frees its artists right away


def _same_length(name: str, value: float | Sequence[float] | np.ndarray, n: int, *, scalar_ok: bool) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if array.ndim == 0 and scalar_ok:
        return np.full(n, float(array))
    if array.ndim != 1 or len(array) != n:
        length = "a scalar" if array.ndim == 0 else f"shape {array.shape}" if array.ndim > 1 else f"length {len(array)}"
        raise ValueError(f"{name} has {length} but minutes has length {n}")
    return array


def _checked_excursions(excursions: Sequence[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    spans = []
    for i, span in enumerate(excursions):
        if len(span) != 3:
            raise ValueError(f"excursion {i} must be (start_min, end_min, label), got {span!r}")
        start, end, label = float(span[0]), float(span[1]), str(span[2])
        if not (np.isfinite(start) and np.isfinite(end)) or end < start:
            raise ValueError(f"excursion {i} ({label!r}) ends before it starts: {start} to {end} min")
        spans.append((start, end, label))
    return sorted(spans)


def _pace_s(speed_m_s: np.ndarray, unit_km: float) -> np.ndarray:
    """Speed (m/s) -> seconds per km (or mile); standing still and missing speeds become NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(speed_m_s >= MIN_SPEED_M_S, unit_km * 1000.0 / speed_m_s, np.nan)


def _value_limits(kind: str, y: np.ndarray, ceiling: np.ndarray, hard: np.ndarray) -> tuple[float, float]:
    """The y range: the whole heart-rate trace; for pace the middle 99 % (one GPS spike or a walk break
    should not flatten the run), always with the ceiling and hard line in view."""
    finite = y[np.isfinite(y)]
    refs = np.concatenate((ceiling[np.isfinite(ceiling)], hard[np.isfinite(hard)]))
    if kind == "hr":
        sample = finite
    else:
        sample = np.percentile(finite, [0.5, 99.5]) if finite.size else finite
    both = np.concatenate((sample, refs))
    if not both.size:
        return (60.0, 190.0) if kind == "hr" else (240.0, 480.0)
    low, high = float(both.min()), float(both.max())
    pad = max(0.08 * (high - low), 5.0 if kind == "hr" else 15.0)
    return low - pad, high + pad


def _clock(seconds: float) -> str:
    if not np.isfinite(seconds) or seconds < 0:
        return ""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _label_excursions(ax: Axes, spans: list[tuple[float, float, str]]) -> None:
    """Each label sits above its span near the top of the plot; neighbours too close step down a row."""
    from matplotlib.transforms import blended_transform_factory

    if not spans:
        return
    where = blended_transform_factory(ax.transData, ax.transAxes)
    x0, x1 = ax.get_xlim()
    near = 0.09 * (x1 - x0)  # about the width of a short label
    last_in_row: list[float] = []
    for start, end, label in spans:
        if not label:
            continue
        mid = (start + end) / 2
        row = next((r for r, x in enumerate(last_in_row) if mid - x > near), len(last_in_row))
        if row == len(last_in_row):
            last_in_row.append(mid)
        last_in_row[row] = mid
        ax.text(mid, 0.98 - 0.08 * (row % 3), label, transform=where, ha="center", va="top", fontsize=8,
                color="#8a5a1f", zorder=5, clip_on=True,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.7})


def _distance_axis(ax: Axes, t: np.ndarray, distance: np.ndarray, unit_name: str) -> None:
    """A top axis with a tick at the first moment each whole km (or mile) is reached."""
    ok = np.isfinite(distance) & np.isfinite(t)
    if ok.sum() < 2:
        return
    d = np.maximum.accumulate(distance[ok])  # the device's distance never goes back
    total = float(d[-1])
    if total < 1.0:
        return
    step = next(s for s in (1, 2, 5, 10, 20, 50) if total / s <= 25)
    marks = np.arange(step, np.floor(total) + 1, step, dtype=float)
    at = t[ok][np.minimum(np.searchsorted(d, marks, side="left"), ok.sum() - 1)]
    top = ax.secondary_xaxis("top")
    top.set_xticks(at, labels=[f"{m:g}" for m in marks])
    top.set_xlabel(unit_name, color=TEXT, fontsize=9, labelpad=2)
    top.tick_params(colors=TEXT, labelsize=8, length=3)
    top.spines["top"].set_color("#b8b8b8")


def _save_atomically(fig: Figure, path: Path) -> Path:
    """Write beside the target under a temporary name, then rename: a reader never sees half a PNG."""
    path = path.expanduser()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # os.open with 0o666 lets the umask decide the mode, as for any file the user writes (mkstemp forces 0600)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            fig.savefig(handle, format="png", dpi=DPI)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
