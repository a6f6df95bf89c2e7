"""The `import_files` and `reimport` flows: batches of files through parse -> normalize -> dedupe -> write.

Tasks take batches (tens of task runs per flow run, not one per file: prefect.md §5); per-file
outcomes are data in each batch's manifest, and only store errors fail the flow.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from pipeline import importer
from pipeline.importer import Decision, FileOutcome, ParsedFile, StoreState
from pipeline.store import Store

# Aim for at most this many batches per flow run, each of at least MIN_BATCH files.
MAX_BATCHES = 8
MIN_BATCH = 25

# Batches carry bytes and Arrow tables: never hash them for a cache key, never persist them.
_task = task(cache_policy=NO_CACHE, persist_result=False)


@_task
def parse_batch(paths: list[Any]) -> list[ParsedFile]:
    return importer.parse_batch(paths)


@_task
def normalize_batch(parsed: list[ParsedFile], athlete_id: str, imported_at: datetime) -> list[ParsedFile]:
    return importer.normalize_batch(parsed, athlete_id, imported_at)


@_task
def dedupe_batch(state: StoreState, parsed: list[ParsedFile], athlete_id: str, now: datetime) -> list[Decision]:
    return importer.dedupe_batch(state, parsed, athlete_id, now)


@_task
def write_batch(store: Store, state: StoreState, decisions: list[Decision]) -> list[FileOutcome]:
    return importer.write_batch(store, state, decisions)


def batch_size(n_files: int) -> int:
    return max(MIN_BATCH, math.ceil(n_files / MAX_BATCHES))


def _run(store: Store, items: list[Any], athlete_id: str, reset: bool = False) -> dict[str, Any]:
    outcomes: list[FileOutcome] = []
    with store.writer_lock():
        state = StoreState(store)
        if reset:
            state.reset()
        now = importer.now_utc()
        for batch in importer.batches(items, batch_size(len(items))):
            parsed = parse_batch(batch)
            parsed = normalize_batch(parsed, athlete_id, now)
            decisions = dedupe_batch(state, parsed, athlete_id, now)
            outcomes.extend(write_batch(store, state, decisions))
        if reset:
            importer.commit(store, state)  # an empty reimport still empties the tables
    report = {"counts": importer.count(outcomes), "files": [o.report() for o in outcomes]}
    _artifact(report)
    return report


def _artifact(report: dict[str, Any]) -> None:
    rows = [{"outcome": k, "files": v} for k, v in report["counts"].items()]
    rows += [
        {"outcome": f"quarantined: {f['path']}", "files": f["reason"]}
        for f in report["files"] if f["outcome"] == "quarantined"
    ]
    create_table_artifact(key="import-summary", table=rows, description="kindpace import: outcome counts")


@flow(name="import-files", log_prints=False)
def import_files(paths: list[str], store_path: str, athlete_id: str = "me") -> dict[str, Any]:
    """Import every file under `paths` into the store; returns the JSON report."""
    store = Store(store_path)
    store.ensure()
    return _run(store, importer.discover(paths), athlete_id)


@flow(name="reimport", log_prints=False)
def reimport(store_path: str, athlete_id: str = "me") -> dict[str, Any]:
    """Rebuild every table from the originals the store keeps, in the order they first arrived."""
    store = Store(store_path)
    store.ensure()
    ledger = sorted(store.read("imports").to_pylist(), key=lambda r: (r["imported_at"], r["path"]))
    items = [(r["path"], str(store.original_path(r["sha256"]))) for r in ledger
             if store.original_path(r["sha256"]).exists()]
    return _run(store, items, athlete_id, reset=True)
