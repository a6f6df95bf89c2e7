"""`kindpace report`: the last weeks on one self-contained HTML page, made to be looked at on a phone.

Everything is inline (CSS and SVG; no script, no font, no network), so the file opens anywhere and can be
sent to a coach or a therapist as it is. Three pictures: time on feet per week split into calm time and
harder time, the gentle-weeks rhythm (a dot a week, rest weeks as a small rest mark), and each run of
the latest week with runs, its heart rate (or pace) against its easy ceiling, the stretches above it
shaded. The words are the verdicts' own. No red, no leaderboard, no pace record.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from kindpace.config import KM_PER_MILE, Config, format_duration
from pipeline.assess import RUNNING_SPORTS
from pipeline.store import Store
from pipeline.summaries import iso_week, weekly_rows

CALM, HARDER, UNJUDGED, INK, SOFT = "#2a9d8f", "#e9c46a", "#cfd8dc", "#264653", "#6b7b83"
HEADLINES_SHORT = {"gentle": "Gentle", "borderline": "Mostly gentle", "too_hard": "Harder than the plan",
                   "planned_hard": "Planned harder run", "not_assessed": "Not judged"}


@dataclass(frozen=True)
class RunPicture:
    activity: dict[str, Any]
    verdict: dict[str, Any]
    svg: str | None


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d}" if minutes >= 60 else f"{minutes} min"


# --- the pictures -------------------------------------------------------------------------------------------


def weekly_svg(weeks: list[dict[str, Any]]) -> str:
    """Stacked bars: calm minutes, harder minutes, and time no signal could judge, per week."""
    width, height, left, bottom, top = 340, 190, 34, 34, 12
    totals = [w["time_on_feet_s"] / 60 for w in weeks]
    peak = max(totals + [30.0])
    step = 30 if peak <= 240 else 60
    scale = (height - bottom - top) / (np.ceil(peak / step) * step)
    slot = (width - left - 6) / max(len(weeks), 1)
    bar = slot * 0.62
    parts = [f'<svg id="weekly-chart" class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Time on your feet per week, calm and harder">']
    for tick in range(0, int(np.ceil(peak / step) * step) + 1, step):
        y = height - bottom - tick * scale
        parts.append(f'<line x1="{left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef2f3"/>'
                     f'<text x="{left - 4}" y="{y + 3:.1f}" class="tick" text-anchor="end">{tick}</text>')
    for i, w in enumerate(weeks):
        x = left + i * slot + (slot - bar) / 2
        assessed, calm = w["assessed_s"] / 60, w["calm_s"] / 60
        harder = max(0.0, assessed - calm)
        unjudged = max(0.0, w["time_on_feet_s"] / 60 - assessed)
        y = height - bottom
        for minutes, color, name in ((calm, CALM, "calm"), (harder, HARDER, "harder"),
                                     (unjudged, UNJUDGED, "not judged")):
            if minutes <= 0:
                continue
            h = minutes * scale
            y -= h
            parts.append(f'<rect class="bar {name.replace(" ", "-")}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                         f'height="{h:.1f}" rx="2" fill="{color}"><title>{_esc(w["week"])}: '
                         f'{minutes:.0f} min {name}</title></rect>')
        label = f"W{w['week'][-2:]}"
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 14}" class="tick" '
                     f'text-anchor="middle">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def rhythm_svg(weeks: list[dict[str, Any]]) -> str:
    """A dot a week: filled for a gentle week, an open ring otherwise, a small bar for a rest week."""
    width, height = 340, 56
    slot = width / max(len(weeks), 1)
    parts = [f'<svg id="rhythm-chart" class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Gentle weeks, one dot a week">']
    for i, w in enumerate(weeks):
        cx = slot * i + slot / 2
        if w["rest_week"]:
            parts.append(f'<rect class="rest" x="{cx - 9:.1f}" y="17" width="18" height="6" rx="3" fill="{SOFT}">'
                         f'<title>{_esc(w["week"])}: a rest week</title></rect>')
        elif w["gentle_week"]:
            parts.append(f'<circle class="gentle-week" cx="{cx:.1f}" cy="20" r="9" fill="{CALM}">'
                         f'<title>{_esc(w["week"])}: a gentle week</title></circle>')
        else:
            parts.append(f'<circle class="other-week" cx="{cx:.1f}" cy="20" r="8" fill="none" stroke="{SOFT}" '
                         f'stroke-width="2"><title>{_esc(w["week"])}</title></circle>')
        parts.append(f'<text x="{cx:.1f}" y="48" class="tick" text-anchor="middle">W{w["week"][-2:]}</text>')
    parts.append("</svg>")
    return "".join(parts)


def run_svg(series: Any, excursions: list[dict[str, Any]], units: str) -> str:
    """One run's signal against its ceiling, the stretches above it shaded (minutes on the x axis)."""
    width, height, left, bottom, top = 340, 150, 34, 22, 8
    minutes = np.asarray(series.minutes, dtype=float)
    values = np.asarray(series.values, dtype=float)
    ceiling = np.broadcast_to(np.asarray(series.ceiling, dtype=float), minutes.shape)
    pace = series.kind == "pace"
    if pace:  # speed to minutes per km (or mile): lower is quicker, drawn upside down so up is harder
        unit_m = 1000.0 * KM_PER_MILE if units == "imperial" else 1000.0
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(values > 0.5, unit_m / values / 60, np.nan)
            ceiling = np.where(ceiling > 0, unit_m / ceiling / 60, np.nan)
    finite = values[np.isfinite(values)]
    if not len(finite) or not len(minutes):
        return ""
    lo = float(np.nanmin([np.percentile(finite, 1), np.nanmin(ceiling)]))
    hi = float(np.nanmax([np.percentile(finite, 99), np.nanmax(ceiling)]))
    pad = max(2.0, (hi - lo) * 0.08) if not pace else max(0.1, (hi - lo) * 0.08)
    lo, hi = lo - pad, hi + pad
    x_max = float(minutes[-1]) or 1.0

    def xy(m: float, v: float) -> tuple[float, float]:
        frac = (v - lo) / (hi - lo)
        if pace:
            frac = 1 - frac
        return left + (width - left - 6) * m / x_max, height - bottom - (height - bottom - top) * frac

    parts = [f'<svg class="chart run-chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{"Pace" if pace else "Heart rate"} against the easy ceiling">']
    for e in excursions:
        x0, _ = xy(e["start_timer_s"] / 60, lo)
        x1, _ = xy((e["start_timer_s"] + e["duration_s"]) / 60, lo)
        parts.append(f'<rect class="excursion" x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1.5):.1f}" '
                     f'height="{height - bottom - top}" fill="{HARDER}" opacity="0.45"><title>'
                     f'{_esc(e["type"].replace("_", " "))}, {e["duration_s"] / 60:.0f} min</title></rect>')
    step = max(1, len(minutes) // 400)  # about 400 points: smooth enough, small enough
    points, path = [], []
    for m, v in zip(minutes[::step], values[::step], strict=False):
        if np.isfinite(v):
            x, y = xy(float(m), float(v))
            points.append(f"{x:.1f},{y:.1f}")
        elif points:
            path.append(points)
            points = []
    if points:
        path.append(points)
    ceiling_points = " ".join(f"{xy(float(m), float(c))[0]:.1f},{xy(float(m), float(c))[1]:.1f}"
                              for m, c in zip(minutes[::step], ceiling[::step], strict=False) if np.isfinite(c))
    parts.append(f'<polyline class="ceiling" points="{ceiling_points}" fill="none" stroke="{SOFT}" '
                 f'stroke-width="1.5" stroke-dasharray="5 4"/>')
    for segment in path:
        parts.append(f'<polyline class="signal" points="{" ".join(segment)}" fill="none" stroke="{INK}" '
                     f'stroke-width="1.6" stroke-linejoin="round"/>')
    for tick_min in range(0, int(x_max) + 1, 10 if x_max <= 90 else 20):
        x, _ = xy(tick_min, lo)
        parts.append(f'<text x="{x:.1f}" y="{height - 6}" class="tick" text-anchor="middle">{tick_min}</text>')
    label = "min/" + ("mi" if units == "imperial" else "km") if pace else "bpm"
    c_mid = float(np.nanmedian(ceiling))
    _, cy = xy(0, c_mid)
    ceiling_text = (f"{int(c_mid)}:{round(c_mid % 1 * 60):02d}" if pace else f"{c_mid:.0f}")
    parts.append(f'<text x="{left - 4}" y="{cy + 3:.1f}" class="tick" text-anchor="end">{ceiling_text}</text>'
                 f'<text x="4" y="{top + 6}" class="tick">{label}</text></svg>')
    return "".join(parts)


# --- the page ----------------------------------------------------------------------------------------------


STYLE = f"""
:root {{ color-scheme: light; }}
body {{ margin: 0; background: #fbfaf7; color: {INK}; font: 17px/1.5 system-ui, -apple-system, "Segoe UI",
  Roboto, sans-serif; }}
main {{ max-width: 40rem; margin: 0 auto; padding: 1.2rem 1rem 3rem; }}
h1 {{ font-size: 1.5rem; margin: 0.2rem 0 0.4rem; }}
h2 {{ font-size: 1.15rem; margin: 1.8rem 0 0.3rem; }}
h3 {{ font-size: 1rem; margin: 0 0 0.2rem; }}
p {{ margin: 0.3rem 0; }}
.lead {{ font-size: 1.1rem; }}
.muted, .tick {{ color: {SOFT}; fill: {SOFT}; }}
.tick {{ font-size: 10px; }}
.chart {{ width: 100%; height: auto; display: block; margin: 0.4rem 0; }}
.legend span {{ display: inline-block; margin-right: 1rem; font-size: 0.9rem; }}
.swatch {{ display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 3px; margin-right: 0.3rem;
  vertical-align: -0.1rem; }}
.run {{ background: #fff; border-radius: 12px; padding: 0.9rem 1rem; margin: 0.8rem 0;
  box-shadow: 0 1px 3px rgba(38, 70, 83, 0.08); }}
.badge {{ display: inline-block; border-radius: 999px; padding: 0 0.6rem; font-size: 0.85rem;
  background: #e6f2f0; color: {INK}; }}
.badge.too_hard, .badge.borderline {{ background: #f7eed3; }}
footer {{ margin-top: 2.5rem; font-size: 0.8rem; color: {SOFT}; }}
"""


def _legend() -> str:
    return ('<p class="legend">'
            f'<span><i class="swatch" style="background:{CALM}"></i>calm</span>'
            f'<span><i class="swatch" style="background:{HARDER}"></i>harder</span>'
            f'<span><i class="swatch" style="background:{UNJUDGED}"></i>not judged</span></p>')


def _run_card(p: RunPicture, units: str) -> str:
    from pipeline.verdicts import local_start

    a, v = p.activity, p.verdict
    when = local_start(a)  # the clock where the run was
    unit, unit_m = ("mi", 1000.0 * KM_PER_MILE) if units == "imperial" else ("km", 1000.0)
    distance = f" · {a['distance_m'] / unit_m:.1f} {unit}" if a["distance_m"] else ""
    category = v.get("category") or "not_assessed"
    picture = p.svg or '<p class="muted">No heart rate or pace to draw for this run.</p>'
    return (f'<article class="run"><h3>{when:%a %d %b}, {when:%H:%M} · {format_duration(a["timer_time_s"] or 0)}'
            f'{distance}</h3><p><span class="badge {category}">{_esc(v.get("headline") or "Not judged yet")}'
            f'</span></p><p>{_esc(v.get("message") or "")}</p>{picture}</article>')


def render(weeks: list[dict[str, Any]], latest: list[RunPicture], zone_name: str, units: str,
           generated: datetime, versions: str) -> str:
    zone = ZoneInfo(zone_name)
    last = weeks[-1] if weeks else None
    if last is None:
        lead = "No runs yet. When the first one arrives, this page fills in."
    else:
        lead = (last["message"] if last["runs"] or last["rest_week"] else "This week is just beginning.")
        gentle_weeks = sum(1 for w in weeks if w["gentle_week"])
        if gentle_weeks:  # §6: celebrate the rhythm, stay silent on a dip
            lead += f" Gentle weeks in the last {len(weeks)}: {gentle_weeks}."
    shown_week = latest[0].activity["start_time"].astimezone(zone).date() if latest else None
    runs_html = "".join(_run_card(p, units) for p in latest)
    week_title = (f"Your runs in week {iso_week(shown_week)[-2:]}" if shown_week else "Your runs")
    ramp = any(w["ramp_note"] for w in weeks[-1:])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kindpace: your last {len(weeks)} weeks</title>
<style>{STYLE}</style></head>
<body><main>
<h1>Your running, gently</h1>
<p class="lead" id="lead">{_esc(lead)}</p>
<section id="rhythm"><h2>Your rhythm</h2>
<p>A filled dot is a gentle week (two or more gentle runs); a bar is a rest week, which counts against nothing.</p>
{rhythm_svg(weeks)}</section>
<section id="time-on-feet"><h2>Time on your feet</h2>
<p>Minutes per week: calm time, harder time, and time no heart rate or pace could judge.</p>
{weekly_svg(weeks)}{_legend()}
{'<p>A bigger week than usual: keep the next few runs calm.</p>' if ramp else ''}</section>
<section id="latest-week"><h2>{_esc(week_title)}</h2>
<p>The line is your heart rate (or pace); the dashed line, your easy ceiling; shaded, the stretches above it.</p>
{runs_html or '<p class="muted">No runs in these weeks.</p>'}</section>
<footer>Made by kindpace on {generated.astimezone(zone):%Y-%m-%d %H:%M} ({_esc(zone_name)}). {_esc(versions)}
</footer></main></body></html>
"""


def build(store: Store, cfg: Config, weeks: int = 8, today: date | None = None) -> str:
    """The report of the last `weeks` weeks up to `today` (local), from what the store holds."""
    from pipeline.ceiling import profile_at
    from pipeline.explain import chart_series
    from pipeline.verdicts import local_date
    from schemas.tables import SCHEMA_VERSION

    zone_name = cfg.zone()
    zone = ZoneInfo(zone_name)
    now = datetime.now(UTC)
    today = today or now.astimezone(zone).date()
    activities = [a for a in store.read("activities").to_pylist() if a["athlete_id"] == cfg.athlete]
    verdicts = {v["activity_id"]: v for v in store.read("gentleness").to_pylist() if v["athlete_id"] == cfg.athlete}
    rest = {r["week"] for r in store.read("rest_weeks").to_pylist() if r["athlete_id"] == cfg.athlete}
    rows = weekly_rows(activities, verdicts, zone_name, rest, cfg.athlete, cfg.summary(), until=today)
    rows = [r for r in rows if r["week_start"] <= today][-weeks:]
    shown = {r["week"] for r in rows}
    runs = sorted((a for a in activities if a["sport"] in RUNNING_SPORTS
                   and iso_week(a["start_time"].astimezone(zone).date()) in shown), key=lambda a: a["start_time"])
    latest_week = iso_week(runs[-1]["start_time"].astimezone(zone).date()) if runs else None
    excursions: dict[str, list[dict[str, Any]]] = {}
    for e in store.read("excursions").to_pylist():
        excursions.setdefault(e["activity_id"], []).append(e)
    pictures = []
    for a in runs:
        if iso_week(a["start_time"].astimezone(zone).date()) != latest_week:
            continue
        v = verdicts.get(a["activity_id"], {})
        svg = None
        if v.get("basis") in ("hr", "pace"):
            series = chart_series(a, store.read_activity("records", a["activity_id"]), v,
                                  profile_at(cfg.profiles, local_date(a)), cfg.settings())
            svg = run_svg(series, excursions.get(a["activity_id"], []), cfg.units) if series else None
        pictures.append(RunPicture(a, v, svg))
    versions = sorted({v["algorithm_version"] for v in verdicts.values()})
    text = f"Schema {SCHEMA_VERSION}; gentleness algorithm {', '.join(versions) or 'not run yet'}."
    return render(rows, pictures, zone_name, cfg.units, now, text)


def write_report(store: Store, cfg: Config, out: Path, weeks: int = 8, today: date | None = None) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build(store, cfg, weeks, today), encoding="utf-8")
    return out


__all__ = ["build", "render", "rhythm_svg", "run_svg", "weekly_svg", "write_report"]
