"""`kindpace activity ...`: a runner's correction stored, then applied to the store at once.

Each function writes its `corrections` row and the changed tables under the writer lock; the caller then
judges the run again (a new sport or zone can change its verdict). `pipeline.corrections` applies the
same rows to every later import and reimport.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from pipeline.corrections import CorrectionError, Corrections, correction_row, with_offset
from pipeline.importer import StoreState, commit, local_offset, run_batches
from pipeline.store import Store
from schemas.tables import CORRECTIONS


@dataclass(frozen=True)
class Amended:
    activity_ids: list[str]  # the activities to judge again (new ones included)
    message: str


def _add(store: Store, rows: list[dict[str, Any]]) -> None:
    table = store.read("corrections").to_pylist() + rows
    store.replace_table("corrections", pa.Table.from_pylist(table, schema=CORRECTIONS))


def _runner_row(athlete_id: str, action: str, value: str, activity: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    return correction_row(athlete_id, action, value, activity_id=activity["activity_id"],
                          source_sha256=activity["source_sha256"], made_at=now, utc_offset_s=local_offset(now))


def _state_with(store: Store, activity_id: str) -> StoreState:
    """The writer's view of the store (call under the lock), which must still hold the activity."""
    state = StoreState(store)
    if activity_id not in state.activities:
        raise CorrectionError(f"activity {activity_id} is not in the store")
    return state


def change(store: Store, athlete_id: str, activity: dict[str, Any], action: str, value: str) -> Amended:
    """set_sport, set_timezone or set_name on one stored activity."""
    aid = activity["activity_id"]
    row = _runner_row(athlete_id, action, value, activity)
    with store.writer_lock():
        state = _state_with(store, aid)
        _add(store, [row])
        before = state.activities[aid]
        after = Corrections([row]).apply(before)
        state.activities[aid] = after
        if after["utc_offset_s"] != before["utc_offset_s"]:
            for table in ("records", "laps", "developer_fields"):
                data = store.read_activity(table, aid)
                if data.num_rows:
                    store.write_activity_table(table, aid, with_offset(data, after["utc_offset_s"]))
        commit(store, state)
    what = {"set_sport": f"sport is now {after['sport']}",
            "set_timezone": f"local start is now {after['start_time_local']:%Y-%m-%d %H:%M} "
                            f"(UTC{after['utc_offset_s'] / 3600:+g})",
            "set_name": f"name is now {after['name']!r}"}[action]
    return Amended([aid], f"Corrected {aid}: {what}. Kept in the corrections table; a reimport keeps it.")


def delete(store: Store, athlete_id: str, activity: dict[str, Any]) -> Amended:
    """Take a run out of the store; the file stays in the ledger (and among the originals) and another
    file of the same run stays out too. The runner's notes on it are kept."""
    aid = activity["activity_id"]
    run = json.dumps({"start_time": activity["start_time"].isoformat(), "elapsed_time_s": activity["elapsed_time_s"]})
    row = _runner_row(athlete_id, "delete", run, activity)
    with store.writer_lock():
        state = _state_with(store, aid)
        _add(store, [row])
        del state.activities[aid]
        for entry in state.ledger.values():
            if aid in (entry["activity_ids"] or []):
                entry["activity_ids"] = [i for i in entry["activity_ids"] if i != aid]
                if not entry["activity_ids"]:
                    entry.update(outcome="duplicate", reason=f"the runner deleted this run (activity {aid}); kept out")
        store.remove_activity(aid)
        commit(store, state)
    return Amended([], f"Deleted {aid}. Its file is kept; neither it nor another file of the same run will "
                       "be imported again (the corrections table remembers).")


def unmerge(store: Store, athlete_id: str, activity: dict[str, Any]) -> Amended:
    """Split the files that were taken for one run: each of its other files becomes an activity of its own."""
    aid = activity["activity_id"]
    others = list(activity["duplicate_sources"] or [])
    if not others:
        raise CorrectionError(f"activity {aid} was made from one file only: there is nothing to unmerge")
    rows = [_runner_row(athlete_id, "unmerge", sha, activity) for sha in others]
    with store.writer_lock():
        state = _state_with(store, aid)
        _add(store, rows)
        state.activities[aid] = dict(state.activities[aid], duplicate_sources=[])
        again = []
        for sha in others:  # the ledger forgets them, so that the import below reads them as new files
            entry = state.ledger.pop(sha, None)
            if entry is not None and store.has_original(sha):
                again.append((entry["path"], store.original_source(sha)))
        commit(store, state)
    report = run_batches(store, again, athlete_id)
    new_ids = sorted({i for f in report["files"] for i in f["activity_ids"]} - {aid})
    return Amended([aid, *new_ids], f"Unmerged {aid}: {len(again)} other file(s) imported on their own as "
                                    f"{', '.join(new_ids) or 'nothing new'}.")
