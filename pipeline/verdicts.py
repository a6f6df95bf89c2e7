"""The gentleness stage over the store: verdicts for the runs that need one, kept as Parquet tables.

`judge` gives every activity without a verdict (or whose samples came from another file since) its
verdict, with the profile version in force on the run's local date, and writes the `gentleness` and
`excursions` tables; `recompute` (all=True) re-evaluates every run and says which changed and why.
Runner notes (`kindpace feel`, `kindpace intent`) live in their own table, which nothing rebuilds.
One run that cannot be assessed never stops the others: it gets `not_assessed` with the reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pyarrow as pa

from pipeline import parallel, summaries
from pipeline.assess import (
    DEFAULT_SETTINGS,
    EXCLUSION_REASONS,
    TALK_ANSWERS,
    Settings,
    Verdict,
    assess_run,
    local_start,
)
from pipeline.ceiling import ProfileVersion, profile_at
from pipeline.store import Store
from pipeline.summaries import DEFAULT_SUMMARY, SummarySettings
from schemas.tables import EXCURSIONS, GENTLENESS, RUNNER_NOTES, SCHEMA_VERSION

CALIBRATION_OFFER_COUNT = 3  # "could chat" while the sensors said too hard, this many times...
CALIBRATION_OFFER_DAYS = 30  # ...within this many days: offer a talk-test run (never raise C silently)


@dataclass(frozen=True)
class Context:
    """What judging needs besides the store: the runner's profile versions, the settings, the units."""

    profiles: tuple[ProfileVersion, ...] = ()
    settings: Settings = DEFAULT_SETTINGS
    units: str = "metric"
    timezone: str = "UTC"  # the runner's calendar, for the weekly and monthly summaries
    summary: SummarySettings = DEFAULT_SUMMARY


def profile_version_id(version: ProfileVersion | None) -> str | None:
    """The effective date (`initial` for the first version) and a hash of the values."""
    if version is None:
        return None
    values = repr(sorted((k, v) for k, v in vars(version).items() if k != "effective"))
    digest = hashlib.sha256(values.encode()).hexdigest()[:8]
    return f"{version.effective.isoformat() if version.effective else 'initial'}/{digest}"


def local_date(activity: dict[str, Any]) -> date:
    return local_start(activity).date()


@dataclass
class Change:
    activity_id: str
    start: datetime  # in the run's local time, with its offset
    before: tuple[str, int | None] | None
    after: tuple[str, int | None]
    why: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        return {
            "activity_id": self.activity_id,
            "start": self.start.isoformat(),
            "before": None if self.before is None else {"category": self.before[0], "score": self.before[1]},
            "after": {"category": self.after[0], "score": self.after[1]},
            "why": self.why,
        }


def gentleness_row(activity: dict[str, Any], v: Verdict, profile: ProfileVersion | None, ctx: Context,
                   now: datetime) -> dict[str, Any]:
    said = v.self_report
    return {
        "athlete_id": activity["athlete_id"],
        "activity_id": activity["activity_id"],
        "start_time": activity["start_time"],
        "utc_offset_s": activity.get("utc_offset_s"),
        "sport": activity["sport"],
        "category": v.category,
        "score": v.score,
        "confidence": v.confidence,
        "basis": v.basis,
        "sensor_category": v.sensor_category,
        "headline": v.headline,
        "message": v.message,
        "reasons": list(v.reasons),
        "ceiling_bpm": v.ceiling_bpm,
        "hard_line_bpm": v.hard_line_bpm,
        "ceiling_speed_m_s": v.ceiling_speed_m_s,
        "hard_line_speed_m_s": v.hard_line_speed_m_s,
        "ceiling_method": v.ceiling_method,
        "ceiling_how": v.ceiling_how,
        "moving_s": v.moving_s,
        "assessed_s": float(v.assessed_s),
        "time_above_ceiling_s": float(v.time_above_ceiling_s),
        "calm_s": float(v.calm_s),
        "pct_above_ceiling": 100 * v.time_above_ceiling_s / v.assessed_s if v.assessed_s else None,
        "time_above_hard_line_s": float(v.time_above_hard_line_s),
        "weighted_overage_pct": v.weighted_overage_pct,
        "longest_excursion_s": float(v.longest_excursion_s),
        "signal_valid_pct": v.signal_valid_pct,
        **{f"excluded_{reason}_s": v.excluded_s.get(reason, 0) for reason in EXCLUSION_REASONS},
        "walk_time_s": v.walk_time_s,
        "walk_breaks": v.walk_breaks,
        "decoupling_pct": v.decoupling_pct,
        "has_elevation": v.has_elevation,
        "intent": said.intent,
        "intent_source": said.intent_source,
        "talk": said.talk,
        "rpe_cr10": said.rpe_cr10,
        "self_report_source": said.source,
        "algorithm_version": ctx.settings.version(),
        "profile_version": profile_version_id(profile),
        "source_sha256": activity["source_sha256"],
        "assessed_at": now,
        "schema_version": SCHEMA_VERSION,
    }


def excursion_rows(activity: dict[str, Any], v: Verdict) -> list[dict[str, Any]]:
    keys = {k: activity[k] for k in ("athlete_id", "activity_id", "start_time")}
    return [
        {**keys, "utc_offset_s": activity.get("utc_offset_s"), "excursion_index": i, "basis": e.basis,
         "type": e.type, "start_timer_s": e.start_timer_s, "start_elapsed_s": e.start_elapsed_s,
         "duration_s": e.duration_s, "start_distance_m": e.start_distance_m,
         "peak_heart_rate_bpm": e.peak_heart_rate_bpm, "mean_speed_m_s": e.mean_speed_m_s, "mean_grade": e.mean_grade}
        for i, e in enumerate(v.excursions)
    ]


def verdict_of(store: Store, activity: dict[str, Any], ctx: Context, note: dict[str, Any] | None) -> Verdict:
    """One activity's verdict; a failure to assess it is a verdict too (not assessed, with the reason)."""
    try:
        records = store.read_activity("records", activity["activity_id"])
    except Exception as exc:  # noqa: BLE001 - one run that cannot be read must not stop the others
        return _not_assessed(exc)
    return verdict_from(activity, records, ctx, note)


def verdict_from(activity: dict[str, Any], records: pa.Table, ctx: Context, note: dict[str, Any] | None) -> Verdict:
    """One activity's verdict from its records table."""
    profile = profile_at(ctx.profiles, local_date(activity))
    try:
        return assess_run(activity, records, profile, ctx.settings, note=note, units=ctx.units)
    except Exception as exc:  # noqa: BLE001 - one run that cannot be assessed must not stop the others
        return _not_assessed(exc)


def _not_assessed(exc: Exception) -> Verdict:
    return Verdict("not_assessed", None, None, ("assessment_error",),
                   f"Not assessed: something in this run's data could not be read ({type(exc).__name__}: {exc}).")


@dataclass
class Early:
    """Verdicts given while an import reads its files, in the pool's workers, from the records they have
    just decoded: `judge` then need not read each run back. `given` maps an activity id to a digest of
    the activity row as the store gives it back and the verdict of that row under `ctx`; judge takes one
    only where the stored row, its own context and the absence of a runner's note are what it was given
    for, and assesses the run from the store otherwise (a dedupe that merged labels, a correction, a rename)."""

    ctx: Context
    given: dict[str, tuple[str, Verdict]] = field(default_factory=dict)

    def verdict_for(self, activity: dict[str, Any], ctx: Context) -> Verdict | None:
        """The verdict given for this stored activity row under `ctx`, if that is what was judged."""
        given = self.given.get(activity["activity_id"]) if ctx == self.ctx else None
        return given[1] if given is not None and given[0] == row_digest(activity) else None


def row_digest(row: dict[str, Any]) -> str:
    """A digest of an activity row's values (an import holds thousands: not the rows). An instant counts by
    its value and offset, whichever object names its zone (the store's UTC is zoneinfo's, normalize's is
    datetime's); any other difference, even of a type, makes another digest."""
    values = sorted((k, v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items())
    return hashlib.sha256(repr(values).encode()).hexdigest()


def early_verdict(activity: dict[str, Any], records: pa.Table, ctx: Context) -> tuple[str, Verdict]:
    """(the digest of the activity's row, its verdict), for `Early.given`. Normalize makes the row as the
    store gives it back (a test holds it), so the digests match; where one value differed even in its
    type, judge would assess that run again from the store: slower, never wrong."""
    return row_digest(activity), verdict_from(activity, records, ctx, None)


def _assess(item: tuple[dict[str, Any], dict[str, Any] | None], store: Store, ctx: Context) -> Verdict:
    activity, note = item
    return verdict_of(store, activity, ctx, note)


def _why(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    why = []
    if old["algorithm_version"] != new["algorithm_version"]:
        why.append(f"algorithm {old['algorithm_version']} -> {new['algorithm_version']}")
    if old["profile_version"] != new["profile_version"]:
        why.append(f"profile {old['profile_version']} -> {new['profile_version']}")
    if old["source_sha256"] != new["source_sha256"]:
        why.append("samples from another file")
    for key in ("intent", "talk", "rpe_cr10"):
        if old[key] != new[key]:
            why.append(f"{key} {old[key]} -> {new[key]}")
    return why or ["unchanged inputs"]


def judge(store: Store, athlete_id: str, ctx: Context, *, activity_ids: Iterable[str] | None = None,
          everything: bool = False, now: datetime | None = None, early: Early | None = None) -> list[Change]:
    """Give verdicts to the runs that need one (no verdict yet, or samples from another file), plus
    `activity_ids`, or every run with `everything`; returns the verdicts that changed. `early`: the
    verdicts the import gave as it read the files (see Early)."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    wanted = set(activity_ids or ())
    with store.writer_lock():
        activities = [a for a in store.read("activities").to_pylist() if a["athlete_id"] == athlete_id]
        present = {a["activity_id"] for a in activities}
        old_rows = store.read("gentleness").to_pylist()
        mine = {r["activity_id"]: r for r in old_rows if r["athlete_id"] == athlete_id}
        others = [r for r in old_rows if r["athlete_id"] != athlete_id]
        old_exc = store.read("excursions").to_pylist()
        notes = {n["activity_id"]: n for n in store.read("runner_notes").to_pylist() if n["athlete_id"] == athlete_id}
        targets = [a for a in activities if everything or a["activity_id"] in wanted
                   or a["activity_id"] not in mine or mine[a["activity_id"]]["source_sha256"] != a["source_sha256"]]
        if not targets and set(mine) <= present:
            summaries.refresh(store, athlete_id, ctx.timezone, ctx.summary,  # writes only what changed
                              activities=activities, verdicts=mine)
            return []  # nothing to judge and nothing gone: the tables stay as they are, byte for byte
        rows = {k: v for k, v in mine.items() if k in present}
        excursions: dict[str, list[dict[str, Any]]] = {a: [] for a in rows}
        for e in old_exc:  # grouped in one pass: a store of years holds thousands of each
            if e["athlete_id"] == athlete_id and e["activity_id"] in excursions:
                excursions[e["activity_id"]].append(e)
        changes: list[Change] = []
        assessed = [early.verdict_for(a, ctx) if early is not None and a["activity_id"] not in notes else None
                    for a in targets]
        todo = [i for i, verdict in enumerate(assessed) if verdict is None]
        with parallel.opened(len(todo)):  # assessing is CPU-bound: across the cores for a large import
            done = parallel.map_ordered(_assess, [(targets[i], notes.get(targets[i]["activity_id"])) for i in todo],
                                        store, ctx)
        for i, verdict in zip(todo, done, strict=True):
            assessed[i] = verdict
        for activity, verdict in zip(targets, cast(list[Verdict], assessed), strict=True):
            aid = activity["activity_id"]
            row = gentleness_row(activity, verdict, profile_at(ctx.profiles, local_date(activity)), ctx, now)
            old = mine.get(aid)
            before = None if old is None else (old["category"], old["score"])
            if before != (row["category"], row["score"]) or old is None:
                changes.append(Change(aid, local_start(activity), before, (row["category"], row["score"]),
                                      [] if old is None else _why(old, row)))
            rows[aid], excursions[aid] = row, excursion_rows(activity, verdict)
        _offer_calibration(rows, {a["activity_id"] for a in targets})
        ordered = sorted(rows.values(), key=lambda r: (r["start_time"], r["activity_id"]))
        kept_exc = [e for e in old_exc if e["athlete_id"] != athlete_id]
        kept_exc += [e for r in ordered for e in excursions.get(r["activity_id"], [])]
        store.commit({"gentleness": pa.Table.from_pylist(others + ordered, schema=GENTLENESS),
                      "excursions": pa.Table.from_pylist(kept_exc, schema=EXCURSIONS)})
        summaries.refresh(store, athlete_id, ctx.timezone, ctx.summary, activities=activities,
                          verdicts={r["activity_id"]: r for r in ordered})
    return changes


def _offer_calibration(rows: dict[str, dict[str, Any]], targets: set[str]) -> None:
    """§5.7: after 3 runs in 30 days that the runner found easy while the sensors said too hard, offer a
    talk-test run on the latest of them (never raise the ceiling silently)."""
    disagreeing = sorted((r["start_time"], aid) for aid, r in rows.items() if "self_report_easier" in r["reasons"])
    for start, aid in disagreeing:
        if aid not in targets or "offer_calibration" in rows[aid]["reasons"]:
            continue
        recent = [s for s, _ in disagreeing if start - timedelta(days=CALIBRATION_OFFER_DAYS) < s <= start]
        if len(recent) >= CALIBRATION_OFFER_COUNT:
            row = rows[aid]
            row["reasons"] = [*row["reasons"], "offer_calibration"]
            row["message"] += (f" {len(recent)} runs this month felt easier to you than the numbers said: a short "
                               "talk-test run (then kindpace profile set --easy-hr-ceiling) would set your ceiling "
                               "just right.")


# --- runner notes -------------------------------------------------------------------------------------


class NoteError(ValueError):
    """A note the runner gave that cannot be right (unknown activity, RPE outside 0..10, ...)."""


def find_activity(store: Store, athlete_id: str, ref: str) -> dict[str, Any]:
    """An activity by its id, a unique prefix of it, or `last` (the latest run)."""
    activities = sorted((a for a in store.read("activities").to_pylist() if a["athlete_id"] == athlete_id),
                        key=lambda a: a["start_time"])
    if ref == "last":
        if not activities:
            raise NoteError("the store has no activities yet")
        return activities[-1]
    found = [a for a in activities if a["activity_id"].startswith(ref)]
    if len(found) != 1:
        raise NoteError(f"no activity {ref!r}" if not found else f"{ref!r} matches {len(found)} activities")
    return found[0]


def set_note(store: Store, athlete_id: str, activity: dict[str, Any], *, intent: str | None = None,
             talk: str | None = None, rpe_cr10: float | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Record what the runner said about one run (fields left None keep their earlier value)."""
    if intent is not None and intent not in ("easy", "hard"):
        raise NoteError(f"intent must be easy or hard, not {intent!r}")
    if talk is not None and talk not in TALK_ANSWERS:
        raise NoteError(f"talk must be one of {', '.join(TALK_ANSWERS)}, not {talk!r}")
    if rpe_cr10 is not None and not 0 <= rpe_cr10 <= 10:
        raise NoteError(f"RPE is on the CR10 scale, 0 to 10, not {rpe_cr10}")
    now = now or datetime.now(UTC).replace(microsecond=0)
    with store.writer_lock():
        notes = store.read("runner_notes").to_pylist()
        key = (athlete_id, activity["activity_id"])
        note = next((n for n in notes if (n["athlete_id"], n["activity_id"]) == key), None)
        if note is None:
            note = {"athlete_id": athlete_id, "activity_id": activity["activity_id"],
                    "utc_offset_s": activity.get("utc_offset_s"), "intent": None, "talk": None, "rpe_cr10": None}
            notes.append(note)
        for name, value in (("intent", intent), ("talk", talk), ("rpe_cr10", rpe_cr10)):
            if value is not None:
                note[name] = value
        note["updated_at"], note["schema_version"] = now, SCHEMA_VERSION
        store.replace_table("runner_notes", pa.Table.from_pylist(notes, schema=RUNNER_NOTES))
    return note
