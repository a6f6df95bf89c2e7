"""`kindpace runs`, `explain`, `feel` and `intent`: the verdicts, shown in the runner's units.

None of them starts Prefect: `feel` and `intent` re-judge their one run with the plain function.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from kindpace.config import KM_PER_MILE, Config, format_duration, format_pace
from pipeline.store import Store
from pipeline.verdicts import Context, NoteError, find_activity, judge, local_date, local_start, set_note

__all__ = ["NoteError", "changes_text", "explain", "feel", "intent", "runs"]

REASON_WORDS = {
    "all_calm": "calm all the way",
    "mostly_calm": "calm, a little over at times",
    "edge": "right at the top of easy",
    "hill": "a climb",
    "surge": "a quicker stretch",
    "late_drift": "effort crept up late",
    "sustained_above": "a long stretch above easy",
    "above_ceiling": "above easy in short stretches",
    "above_hard_line": "time above the hard line",
    "walk_breaks": "walk breaks",
    "sensor_gaps": "odd sensor moments ignored",
    "estimated_ceiling": "ceiling estimated from age",
    "short_run": "short run",
    "pace_basis": "judged by pace",
    "self_report": "judged by how you said it felt",
    "self_report_easier": "you said it felt easy",
    "self_report_harder": "you said it felt hard",
    "planned_hard": "planned harder run",
    "offer_calibration": "a talk test could help",
    "not_a_run": "not a run",
    "no_heart_rate": "no heart rate",
    "no_profile": "no profile yet",
    "hr_not_reliable": "heart rate not used",
    "indoor_no_pace": "treadmill without heart rate",
    "no_speed": "no heart rate or speed",
    "race_outdated": "race result over 6 months old",
    "assessment_error": "data could not be read",
    "not_judged_yet": "not judged yet",
}


# `runs --json` speaks the eight sports; the store's finer ones are kept in `sport_detail`.
PUBLIC_SPORT = {"track_running": "running", "indoor_cycling": "cycling"}


def _store_and_context(cfg: Config) -> tuple[Store, Context]:
    return Store(cfg.store, cfg.athlete), Context(cfg.profiles, cfg.settings(), cfg.units, cfg.zone(), cfg.summary())


def _start_iso(row: dict[str, Any]) -> str:
    return local_start(row).isoformat()


def _unit(cfg: Config) -> tuple[str, float]:
    """The display unit of distance and its length in metres."""
    return ("mi", 1000.0 * KM_PER_MILE) if cfg.units == "imperial" else ("km", 1000.0)


def _distance(metres: float | None, units: str) -> str:
    if metres is None:
        return ""
    return f"{metres / 1000 / KM_PER_MILE:.2f} mi" if units == "imperial" else f"{metres / 1000:.2f} km"


def _clock(seconds: float | None) -> str:
    return format_duration(seconds or 0)


def run_rows(cfg: Config) -> list[dict[str, Any]]:
    """One object per activity in the store, with its verdict (or why it has none yet)."""
    store = Store(cfg.store, cfg.athlete)
    verdicts = {r["activity_id"]: r for r in store.read("gentleness").to_pylist() if r["athlete_id"] == cfg.athlete}
    activities = sorted((a for a in store.read("activities").to_pylist() if a["athlete_id"] == cfg.athlete),
                        key=lambda a: a["start_time"])
    out = []
    for a in activities:
        v = verdicts.get(a["activity_id"])
        out.append({
            "activity_id": a["activity_id"],
            "start": _start_iso(a),
            "sport": PUBLIC_SPORT.get(a["sport"], a["sport"]),
            "sport_detail": a["sport"],
            "time_on_feet_s": a["timer_time_s"],
            "distance_m": a["distance_m"],
            "category": v["category"] if v else "not_assessed",
            "score": v["score"] if v else None,
            "confidence": v["confidence"] if v else None,
            "reasons": v["reasons"] if v else ["not_judged_yet"],
            "headline": v["headline"] if v else "Not assessed",
            "message": v["message"] if v else "Not judged yet: run `kindpace recompute`.",
            "basis": v["basis"] if v else None,
            "ceiling_bpm": v["ceiling_bpm"] if v else None,
            "ceiling_method": v["ceiling_method"] if v else None,
            "algorithm_version": v["algorithm_version"] if v else None,
            "profile_version": v["profile_version"] if v else None,
        })
    return out


def runs(cfg: Config, args: argparse.Namespace) -> int:
    rows = run_rows(cfg)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if cfg.sources:  # a sync that stopped working is said first, not discovered weeks later
        from kindpace.cli import status_warnings

        for code, message in status_warnings(cfg).warnings:
            print(f"Note ({code}): {message}")
    if not rows:
        print(f"No runs in {cfg.store} yet. Import some with: kindpace import PATH")
        return 0
    print(f"{'date':<11}{'time on feet':>13}{'distance':>11}  {'verdict':<40}main reason")
    for r in rows:
        verdict = r["headline"] + (f" ({r['score']})" if r["score"] is not None else "")
        reason = REASON_WORDS.get(r["reasons"][0], r["reasons"][0]) if r["reasons"] else ""
        print(f"{r['start'][:10]:<11}{_clock(r['time_on_feet_s']):>13}{_distance(r['distance_m'], cfg.units):>11}  "
              f"{verdict:<40}{reason}")
    return 0


def explain(cfg: Config, args: argparse.Namespace) -> int:
    store = Store(cfg.store, cfg.athlete)
    activity = find_activity(store, cfg.athlete, args.activity)
    aid = activity["activity_id"]
    row = next((r for r in store.read("gentleness").to_pylist()
                if r["activity_id"] == aid and r["athlete_id"] == cfg.athlete), None)
    if row is None:
        raise NoteError(f"{aid} has no verdict yet: run `kindpace recompute`")
    excursions = [e for e in store.read("excursions").to_pylist()
                  if e["activity_id"] == aid and e["athlete_id"] == cfg.athlete]
    from pipeline.explain import splits

    records = store.read_activity("records", aid)
    split_rows = splits(records, _unit(cfg)[1])
    laps = store.read_activity("laps", aid).to_pylist()
    if args.png:
        _chart(cfg, activity, records, row, excursions, args.png)
    if args.json:
        print(json.dumps({"verdict": row, "excursions": excursions, "splits": split_rows, "laps": laps},
                         default=str, ensure_ascii=False))
        return 0
    print(_explanation(cfg, activity, row, excursions, split_rows, laps))
    if args.png:
        print(f"\nChart written to {args.png}")
    return 0


def _pace(speed_m_s: float | None, units: str) -> str:
    if not speed_m_s:
        return ""
    per_km = round(1000.0 / speed_m_s)
    if units == "imperial":
        return format_pace(round(per_km * KM_PER_MILE)).replace("/km", "/mi")
    return format_pace(per_km)


def _explanation(cfg: Config, a: dict[str, Any], v: dict[str, Any], excursions: list[dict[str, Any]],
                 split_rows: list[dict[str, Any]], laps: list[dict[str, Any]]) -> str:
    unit, unit_m = _unit(cfg)
    lines = [f"{_start_iso(a)[:16].replace('T', ' ')}  {a['sport'].replace('_', ' ')}  "
             f"{_distance(a['distance_m'], cfg.units)}  {_clock(a['timer_time_s'])}",
             "", v["headline"] + (f", score {v['score']} of 100" if v["score"] is not None else "")
             + (f" ({v['confidence']} confidence)" if v["confidence"] else ""), "", v["message"], ""]
    if v["ceiling_bpm"] is not None:
        lines.append(f"Easy ceiling {v['ceiling_bpm']:.0f} bpm, harder from {v['hard_line_bpm']:.0f} bpm: "
                     f"{v['ceiling_how']}.")
    elif v["ceiling_speed_m_s"] is not None:
        lines.append(f"Conversational pace {_pace(v['ceiling_speed_m_s'], cfg.units)}, harder from "
                     f"{_pace(v['hard_line_speed_m_s'], cfg.units)} (grade-adjusted): {v['ceiling_how']}.")
    if v["assessed_s"]:
        lines.append(f"Judged on {_clock(v['assessed_s'])} of moving time ({v['basis']}): "
                     f"{_clock(v['time_above_ceiling_s'])} above the ceiling ({v['pct_above_ceiling']:.0f} %), "
                     f"{_clock(v['time_above_hard_line_s'])} above the hard line, longest stretch "
                     f"{_clock(v['longest_excursion_s'])}.")
    excluded = {k[len("excluded_"):-2]: v[k] for k in v if k.startswith("excluded_") and v[k]}
    if excluded:
        lines.append("Heart-rate seconds ignored: " + ", ".join(
            f"{n} s {reason.replace('_', ' ')}" for reason, n in excluded.items()) + ".")
    if v["walk_breaks"]:
        lines.append(f"Walk breaks: {v['walk_breaks']} ({_clock(v['walk_time_s'])} walking).")
    if v["decoupling_pct"] is not None:
        lines.append(f"Aerobic decoupling {v['decoupling_pct']:.1f} % (under 5 % is steady).")
    if v["talk"] or v["rpe_cr10"] is not None or v["intent"]:
        said = [f"talk: {v['talk'].replace('_', ' ')}" if v["talk"] else "",
                f"RPE {v['rpe_cr10']:g}/10" if v["rpe_cr10"] is not None else "",
                f"meant as {v['intent']}" if v["intent"] else ""]
        lines.append(f"What you said ({v['self_report_source'] or v['intent_source']}): "
                     + ", ".join(x for x in said if x) + ".")
    if excursions:
        lines += ["", "Stretches above the ceiling:"]
        for e in excursions:
            where = "" if e["start_distance_m"] is None else (
                f" at {unit} {e['start_distance_m'] / unit_m:.1f},")
            peak = "" if e["peak_heart_rate_bpm"] is None else f", peak {e['peak_heart_rate_bpm']:.0f} bpm"
            grade = "" if e["mean_grade"] is None else f", grade {100 * e['mean_grade']:+.1f} %"
            lines.append(f"  {e['type'].replace('_', ' '):<11}{where} minute {e['start_timer_s'] / 60:.0f}, "
                         f"{_clock(e['duration_s'])}{peak}{grade}")
    if split_rows:
        lines += ["", f"{'split':>5} {unit:>6} {'time':>8} {'pace':>10} {'avg HR':>7} {'climb':>6}"]
        for s in split_rows:
            hr = "" if s["avg_heart_rate_bpm"] is None else f"{s['avg_heart_rate_bpm']:.0f}"
            climb = "" if s["ascent_m"] is None else f"{s['ascent_m']:.0f} m"
            per = s["distance_m"] / unit_m
            lines.append(f"{s['split']:>5} {per:>6.2f} {_clock(s['timer_s']):>8} "
                         f"{_pace(s['distance_m'] / s['timer_s'] if s['timer_s'] else None, cfg.units):>10} "
                         f"{hr:>7} {climb:>6}")
    if len(laps) > 1:
        lines += ["", f"{'lap':>5} {unit:>6} {'time':>8} {'pace':>10} {'avg HR':>7}"]
        for lap in laps:
            dist = lap["distance_m"] or 0.0
            hr = "" if lap["avg_heart_rate_bpm"] is None else str(lap["avg_heart_rate_bpm"])
            lines.append(f"{lap['lap_index'] + 1:>5} {dist / unit_m:>6.2f} "
                         f"{_clock(lap['timer_time_s']):>8} {_pace(lap['avg_speed_m_s'], cfg.units):>10} {hr:>7}")
    lines += ["", f"activity {a['activity_id']}; algorithm {v['algorithm_version']}; profile {v['profile_version']}"]
    return "\n".join(lines)


def _chart(cfg: Config, activity: dict[str, Any], records: Any, verdict: dict[str, Any],
           excursions: list[dict[str, Any]], png: str) -> None:
    """The stored verdict drawn: its signal, its ceiling and its excursions (nothing is judged again)."""
    from kindpace.chart import render_run_chart
    from pipeline.ceiling import profile_at
    from pipeline.explain import chart_series

    profile = profile_at(cfg.profiles, local_date(activity))
    series = chart_series(activity, records, verdict, profile, cfg.settings())
    if series is None:
        raise NoteError("this run was not judged by heart rate or pace, so there is nothing to draw")
    unit, unit_m = _unit(cfg)
    spans = [(e["start_timer_s"] / 60, (e["start_timer_s"] + e["duration_s"]) / 60, e["type"].replace("_", " ")
              + ("" if e["start_distance_m"] is None else f", {unit} {e['start_distance_m'] / unit_m:.1f}"))
             for e in excursions]
    render_run_chart(png, series.minutes, series.values, kind=series.kind, ceiling=series.ceiling,
                     hard_line=series.hard_line, excursions=spans, distance_km=series.distance_km,
                     title=f"{_start_iso(activity)[:10]}: {verdict['headline']}", units=cfg.units)


def _note(cfg: Config, args: argparse.Namespace, **fields: Any) -> int:
    store, ctx = _store_and_context(cfg)
    activity = find_activity(store, cfg.athlete, args.activity)
    set_note(store, cfg.athlete, activity, **fields)
    judge(store, cfg.athlete, ctx, activity_ids=[activity["activity_id"]])
    row = next(r for r in store.read("gentleness").to_pylist()
               if r["activity_id"] == activity["activity_id"] and r["athlete_id"] == cfg.athlete)
    print(f"Thanks, noted for {_start_iso(activity)[:16].replace('T', ' ')}.")
    print(f"{row['headline']}: {row['message']}")
    return 0


def activity(cfg: Config, args: argparse.Namespace) -> int:
    """kindpace activity delete|set-sport|set-timezone|rename|unmerge ACTIVITY [VALUE]."""
    from pipeline import amend
    from pipeline.corrections import check

    store, ctx = _store_and_context(cfg)
    found = find_activity(store, cfg.athlete, args.activity)
    action = args.action
    if action in ("set-sport", "set-timezone", "rename"):
        name = {"set-sport": "set_sport", "set-timezone": "set_timezone", "rename": "set_name"}[action]
        check(name, args.value)  # refuse before anything is written
        done = amend.change(store, cfg.athlete, found, name, args.value)
    elif action == "delete":
        done = amend.delete(store, cfg.athlete, found)
    else:
        done = amend.unmerge(store, cfg.athlete, found)
    print(done.message)
    judge(store, cfg.athlete, ctx, activity_ids=done.activity_ids)  # a new sport or zone can change it
    for row in store.read("gentleness").to_pylist():
        if row["activity_id"] in done.activity_ids and row["athlete_id"] == cfg.athlete:
            print(f"  {row['activity_id']}: {row['headline']}: {row['message']}")
    return 0


def rest(cfg: Config, args: argparse.Namespace) -> int:
    """kindpace rest --week 2026-W48 [--undo]."""
    from pipeline import summaries

    try:
        summaries.week_start(args.week)
    except ValueError:
        raise NoteError(f"{args.week!r} is not an ISO week like 2026-W48") from None
    store = Store(cfg.store, cfg.athlete)
    store.ensure()
    with store.writer_lock():
        summaries.set_rest_week(store, cfg.athlete, args.week, rest=not args.undo)
        summaries.refresh(store, cfg.athlete, cfg.zone(), cfg.summary())
    row = next((w for w in store.read("weekly").to_pylist()
                if (w["athlete_id"], w["week"]) == (cfg.athlete, args.week)), None)
    said = "no longer a rest week" if args.undo else "a rest week: it counts against nothing"
    print(f"{args.week} is {said}." + (f" {row['message']}" if row and not args.undo else ""))
    return 0


def feel(cfg: Config, args: argparse.Namespace) -> int:
    if args.talk is None and args.rpe is None:
        raise NoteError("say --talk yes|yes-but|no, --rpe 0..10, or both")
    return _note(cfg, args, talk=None if args.talk is None else args.talk.replace("-", "_"), rpe_cr10=args.rpe)


def intent(cfg: Config, args: argparse.Namespace) -> int:
    return _note(cfg, args, intent=args.intent)


def changes_text(changes: list[dict[str, Any]], everything: bool) -> str:
    """What a recompute (or an import) did to the verdicts, a line each."""
    if not changes:
        return "No verdict changed." if everything else "No new verdicts."
    from pipeline.assess import HEADLINES

    def said(v: dict[str, Any]) -> str:
        return HEADLINES[v["category"]] + ("" if v["score"] is None else f" ({v['score']})")

    lines = ["Verdicts that changed:" if everything else "Verdicts:"]
    for c in changes:
        after = said(c["after"])
        before = "" if c["before"] is None else said(c["before"]) + " -> "
        why = f"  [{'; '.join(c['why'])}]" if c["why"] else ""
        lines.append(f"  {c['start'][:16].replace('T', ' ')}  {c['activity_id']}  {before}{after}{why}")
    return "\n".join(lines)
