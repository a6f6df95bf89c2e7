"""The `import_files` and `reimport` flows: batches of files through parse -> normalize -> dedupe -> write.

Each stage is a Prefect task over a batch of files (tens of task runs per flow run, not one per
file: prefect.md §5); per-file outcomes are data in each batch's manifest, and only store errors
fail the flow. The composition itself is `pipeline.importer.run_batches`.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from pipeline import importer
from pipeline.store import Store

# Batches carry bytes and Arrow tables: never hash them for a cache key, never persist them.
_task = task(cache_policy=NO_CACHE, persist_result=False)

TASKS = importer.Stages(
    parse=_task(importer.parse_batch),
    normalize=_task(importer.normalize_batch),
    dedupe=_task(importer.dedupe_batch),
    write=_task(importer.write_batch),
)


def _artifact(report: dict[str, Any]) -> None:
    rows: list[dict[str, Any]] = [{"outcome": k, "files": v, "reason": ""} for k, v in report["counts"].items()]
    rows += [
        {"outcome": "quarantined", "files": f["path"], "reason": f["reason"]}
        for f in report["files"] if f["outcome"] == "quarantined"
    ]
    create_table_artifact(key="import-summary", table=rows, description="kindpace import: outcomes")


@flow(name="import-files")
def import_files(paths: list[str], store_path: str, athlete_id: str = "me") -> dict[str, Any]:
    """Import every file under `paths` into the store; returns the JSON report."""
    report = importer.run_batches(Store(store_path), importer.discover(paths), athlete_id, stages=TASKS)
    _artifact(report)
    return report


@flow(name="reimport")
def reimport(store_path: str, athlete_id: str = "me") -> dict[str, Any]:
    """Rebuild every table from the originals the store keeps, in the order they first arrived."""
    store = Store(store_path)
    report = importer.run_batches(store, importer.originals_in_order(store), athlete_id, reset=True,
                                  stages=TASKS)
    _artifact(report)
    return report
