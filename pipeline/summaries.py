"""Weekly and monthly summaries (docs/gentleness.md §6): showing up gently is what counts.

Weeks follow the runner's own calendar: ISO weeks (Monday to Sunday) in the config's time zone, not
UTC, so a Sunday-evening run in Berlin stays in its week and a DST change moves nothing. A run belongs
to the week and month of its start in that zone.

Per week: runs (all runs first), gentle and borderline runs, time on feet (timer time: walk breaks
count, pauses do not), distance, the calm-time share (seconds at or below the edge line over assessed
seconds, never a grade), whether it was a gentle week (at least `gentle_week_runs` gentle or borderline
runs), the rhythm ("gentle weeks in the last 8", rest weeks left out of both counts), the rolling 4-week
share of gentle runs, and the soft ramp note (this week's time on feet above 1.3 x the mean of the 4
weeks before, and at least an hour; said once there are 3 such weeks to compare with). Weeks the
runner marked as rest (`kindpace rest --week 2026-W48`) count against nothing. Rows run from the week
of the first run to the week of the last: the tables change only when runs, verdicts, rest weeks or
the zone do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from pipeline.assess import RUNNING_SPORTS
from pipeline.store import Store
from schemas.tables import MONTHLY, REST_WEEKS, SCHEMA_VERSION, WEEKLY


@dataclass(frozen=True)
class SummarySettings:
    gentle_week_runs: int = 2  # N: gentle-or-borderline runs that make a gentle week (the runner may set 1-4)
    rhythm_weeks: int = 8
    trend_weeks: int = 4
    ramp_factor: float = 1.3
    ramp_min_s: float = 3600.0
    ramp_window_weeks: int = 4
    ramp_min_history: int = 3  # weeks (not rest) among those 4 before a note can be said: a new runner's
    # second week is not "bigger than usual", there is no usual yet


DEFAULT_SUMMARY = SummarySettings()

CATEGORIES = ("gentle", "borderline", "too_hard", "planned_hard", "not_assessed")


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(week: str) -> date:
    """'2026-W48' -> the Monday that starts it."""
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def _midnight_utc(day: date, zone: ZoneInfo) -> tuple[datetime, int]:
    local = datetime(day.year, day.month, day.day, tzinfo=zone)
    offset = local.utcoffset()
    return local.astimezone(UTC), int(offset.total_seconds()) if offset is not None else 0


def _runs(activities: list[dict[str, Any]], verdicts: dict[str, dict[str, Any]], zone: ZoneInfo
          ) -> list[dict[str, Any]]:
    out = []
    for a in activities:
        if a["sport"] not in RUNNING_SPORTS:
            continue
        v = verdicts.get(a["activity_id"], {})
        out.append({
            "day": a["start_time"].astimezone(zone).date(),
            "category": v.get("category") or "not_assessed",
            "time_s": a["timer_time_s"] or 0.0,
            "distance_m": a["distance_m"] or 0.0,
            "assessed_s": v.get("assessed_s") or 0.0,
            "calm_s": v.get("calm_s") or 0.0,
        })
    return out


def _totals(runs: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {c: sum(1 for r in runs if r["category"] == c) for c in CATEGORIES}
    assessed = sum(r["assessed_s"] for r in runs)
    calm = sum(r["calm_s"] for r in runs)
    return {
        "runs": len(runs),
        "gentle_runs": counts["gentle"],
        "borderline_runs": counts["borderline"],
        "harder_runs": counts["too_hard"],
        "planned_hard_runs": counts["planned_hard"],
        "not_assessed_runs": counts["not_assessed"],
        "time_on_feet_s": float(sum(r["time_s"] for r in runs)),
        "distance_m": float(sum(r["distance_m"] for r in runs)),
        "assessed_s": float(assessed),
        "calm_s": float(calm),
        "calm_share": calm / assessed if assessed > 0 else None,
    }


def weekly_rows(activities: list[dict[str, Any]], verdicts: dict[str, dict[str, Any]], zone_name: str,
                rest_weeks: set[str], athlete_id: str, s: SummarySettings = DEFAULT_SUMMARY,
                until: date | None = None) -> list[dict[str, Any]]:
    """One row per ISO week in `zone_name`, from the first run's week to the last run's (or `until`)."""
    zone = ZoneInfo(zone_name)
    runs = _runs(activities, verdicts, zone)
    if not runs:
        return []
    first = min(r["day"] for r in runs)
    last = max([r["day"] for r in runs] + ([until] if until else []))
    monday = first - timedelta(days=first.weekday())
    by_week: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by_week.setdefault(iso_week(r["day"]), []).append(r)
    rows: list[dict[str, Any]] = []
    while monday <= last:
        week = iso_week(monday)
        start_utc, offset = _midnight_utc(monday, zone)
        totals = _totals(by_week.get(week, []))
        rest = week in rest_weeks
        rows.append({
            "athlete_id": athlete_id, "week": week, "week_start": monday, "week_start_utc": start_utc,
            "utc_offset_s": offset, "timezone": zone_name, **totals, "rest_week": rest,
            "gentle_week": not rest and totals["gentle_runs"] + totals["borderline_runs"] >= s.gentle_week_runs,
        })
        monday += timedelta(days=7)
    for i, row in enumerate(rows):
        window = [r for r in rows[max(0, i - s.rhythm_weeks + 1):i + 1] if not r["rest_week"]]
        row["rhythm_weeks"] = len(window)
        row["gentle_weeks_last_8"] = sum(1 for r in window if r["gentle_week"])
        trend = rows[max(0, i - s.trend_weeks + 1):i + 1]
        judged = sum(r["gentle_runs"] + r["borderline_runs"] + r["harder_runs"] for r in trend)
        row["gentle_share_4w"] = sum(r["gentle_runs"] for r in trend) / judged if judged else None
        before = [r for r in rows[max(0, i - s.ramp_window_weeks):i] if not r["rest_week"]]
        mean = sum(r["time_on_feet_s"] for r in before) / len(before) if before else None
        row["ramp_note"] = bool(not row["rest_week"] and len(before) >= s.ramp_min_history and mean
                                and row["time_on_feet_s"] > s.ramp_factor * mean
                                and row["time_on_feet_s"] >= s.ramp_min_s)
        row["message"] = week_message(row)
        row["schema_version"] = SCHEMA_VERSION
    return rows


def monthly_rows(activities: list[dict[str, Any]], verdicts: dict[str, dict[str, Any]], zone_name: str,
                 weeks: list[dict[str, Any]], athlete_id: str) -> list[dict[str, Any]]:
    """One row per calendar month in `zone_name` that the weekly rows span; a week belongs to the month
    of its Thursday (as ISO weeks belong to years)."""
    zone = ZoneInfo(zone_name)
    runs = _runs(activities, verdicts, zone)
    if not runs:
        return []
    months: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        months.setdefault(f"{r['day']:%Y-%m}", []).append(r)
    week_months: dict[str, list[dict[str, Any]]] = {}
    for w in weeks:
        week_months.setdefault(f"{w['week_start'] + timedelta(days=3):%Y-%m}", []).append(w)
    first, last = min(r["day"] for r in runs), max(r["day"] for r in runs)
    rows = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        key = f"{year}-{month:02d}"
        start = date(year, month, 1)
        start_utc, offset = _midnight_utc(start, zone)
        its_weeks = week_months.get(key, [])
        rows.append({
            "athlete_id": athlete_id, "month": key, "month_start": start, "month_start_utc": start_utc,
            "utc_offset_s": offset, "timezone": zone_name, **_totals(months.get(key, [])),
            "gentle_weeks": sum(1 for w in its_weeks if w["gentle_week"]),
            "rest_weeks": sum(1 for w in its_weeks if w["rest_week"]),
            "schema_version": SCHEMA_VERSION,
        })
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return rows


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def week_message(row: dict[str, Any]) -> str:
    """The week in plain words: runs first, calm time as words, never a grade; silence on dips."""
    if row["rest_week"]:
        return "A rest week: resting is part of the plan."
    n = row["runs"]
    if n == 0:
        return "No runs this week."
    parts = [f"{n} run{'s' if n != 1 else ''} this week, {_minutes(row['time_on_feet_s'])} on your feet"]
    gentle = row["gentle_runs"] + row["borderline_runs"]
    if gentle:
        parts[0] += f"; {gentle} of them gentle" if n > 1 else "; a gentle one"
    text = parts[0] + "."
    share = row["calm_share"]
    if share is not None:
        if share >= 0.85:
            text += " Most of your running time was calm."
        elif share >= 0.5:
            text += " More than half of your running time was calm."
    if row["ramp_note"]:
        text += " A bigger week than usual: keep the next few runs calm."
    return text


def refresh(store: Store, athlete_id: str, zone_name: str, s: SummarySettings = DEFAULT_SUMMARY, *,
            activities: list[dict[str, Any]] | None = None,
            verdicts: dict[str, dict[str, Any]] | None = None) -> bool:
    """Rewrite the `weekly` and `monthly` tables of one runner (call under the writer lock); only the
    tables whose rows changed are written. Returns True when something was written. A caller that has
    the runner's activities and verdicts at hand passes them instead of having them read again."""
    if activities is None:
        activities = [a for a in store.read("activities").to_pylist() if a["athlete_id"] == athlete_id]
    if verdicts is None:
        verdicts = {v["activity_id"]: v for v in store.read("gentleness").to_pylist()
                    if v["athlete_id"] == athlete_id}
    rest = {r["week"] for r in store.read("rest_weeks").to_pylist() if r["athlete_id"] == athlete_id}
    weeks = weekly_rows(activities, verdicts, zone_name, rest, athlete_id, s)
    months = monthly_rows(activities, verdicts, zone_name, weeks, athlete_id)
    wrote = False
    for name, schema, rows in (("weekly", WEEKLY, weeks), ("monthly", MONTHLY, months)):
        old = store.read(name)
        others = old.filter(pa.compute.not_equal(old["athlete_id"], athlete_id)).to_pylist() if old.num_rows else []
        table = pa.Table.from_pylist(others + rows, schema=schema)
        if not table.equals(old):
            store.replace_table(name, table)
            wrote = True
    return wrote


def set_rest_week(store: Store, athlete_id: str, week: str, rest: bool = True,
                  now: datetime | None = None) -> None:
    """Mark (or unmark) a rest week; the runner's word, kept whatever is rebuilt."""
    week_start(week)  # refuses what is not a week
    now = now or datetime.now(UTC).replace(microsecond=0)
    offset = now.astimezone().utcoffset()
    rows = [r for r in store.read("rest_weeks").to_pylist() if (r["athlete_id"], r["week"]) != (athlete_id, week)]
    if rest:
        rows.append({"athlete_id": athlete_id, "week": week, "marked_at": now,
                     "utc_offset_s": int(offset.total_seconds()) if offset else 0, "schema_version": SCHEMA_VERSION})
    store.replace_table("rest_weeks", pa.Table.from_pylist(sorted(rows, key=lambda r: (r["athlete_id"], r["week"])),
                                                           schema=REST_WEEKS))
