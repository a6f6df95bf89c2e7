"""The import flows: batches of files through read (decode, normalize) -> dedupe -> write, then the verdicts.

Each stage is a Prefect task over a batch of files (tens of task runs per flow run, not one per
file: prefect.md §5); per-file outcomes are data in each batch's manifest, and only store errors
fail the flow. The composition itself is `pipeline.importer.run_batches`; the gentleness stage
(`pipeline.verdicts.judge`) runs as one more task once the files are in, on the runs that need a verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from kindpace import config as config_mod
from pipeline import importer, verdicts
from pipeline.store import Store, StoreError
from pipeline.sync import import_paths


def _quoted(value: Any) -> Any:
    """A task argument Prefect hands over as it is, without walking it (the task gets the value itself)."""
    return quote(value)


class Packed:
    """Values in one object that neither Prefect nor Dask looks into: both walk tuples, lists, dicts and
    dataclasses (Dask rebuilt Prefect's `quote` as a plain tuple, and the batch's files with it)."""

    __slots__ = ("args",)

    def __init__(self, args: tuple[Any, ...]) -> None:
        self.args = args


def _stage(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` as a Prefect task (never cached, never persisted: batches carry bytes and Arrow tables), called
    with its arguments and returning its result as they are. Prefect walks a task's arguments looking for
    futures (about 6 ms per file of a batch, more than decoding it) and its return value to link it to
    the run (0.3 ms per file: a third of the import's own process); quoted arguments and a result packed
    in an object it does not open are neither."""

    def packed(*args: Any) -> Packed:
        return Packed((fn(*args),))

    packed.__name__ = packed.__qualname__ = fn.__name__  # the task's name and key: the stage's
    run = task(cache_policy=NO_CACHE, persist_result=False)(packed)

    def call(*args: Any) -> Any:
        return run(*(_quoted(a) for a in args)).args[0]

    return call


TASKS = importer.Stages(read=_stage(importer.read_batch), dedupe=_stage(importer.dedupe_batch),
                        write=_stage(importer.write_batch))


@task(name="read_batch", cache_policy=NO_CACHE, persist_result=False)
def read_on_cluster(packed: Packed) -> list[importer.ParsedFile]:
    """importer.read_batch, on a Dask worker."""
    return importer.read_batch(*packed.args)


def _submit_read(*args: Any) -> Any:
    return read_on_cluster.submit(Packed(args))


def _stages(dask: str | None) -> importer.Stages:
    """Local stages, or with `dask` (a scheduler's address) the read stage submitted to the flow's Dask task
    runner: twice as many batches read ahead as the cluster has threads, committed here in order."""
    if not dask:
        return TASKS
    from distributed import Client

    with Client(dask, timeout="30s") as client:
        threads = sum(client.nthreads().values())
    return replace(TASKS, submit=_submit_read, ahead=max(2, 2 * threads))


def on_engine(fn: Any, dask: str | None) -> Any:
    """A flow as it runs here, or on the Dask cluster at `dask` (prefect-dask's DaskTaskRunner: only the
    tasks the flow submits go there)."""
    if not dask:
        return fn
    from prefect_dask import DaskTaskRunner

    return fn.with_options(task_runner=DaskTaskRunner(address=dask))


def context(config_path: str | None, store_path: str, athlete_id: str) -> verdicts.Context:
    cfg = config_mod.load(config_path, store_path, athlete_id, must_exist=config_path is not None)
    return verdicts.Context(cfg.profiles, cfg.settings(), cfg.units, cfg.zone(), cfg.summary())


@task(name="judge", cache_policy=NO_CACHE, persist_result=False)
def judge(store_path: str, athlete_id: str, config_path: str | None, everything: bool = False,
          activity_ids: list[str] | None = None, early: verdicts.Early | None = None) -> list[dict[str, Any]]:
    """Verdicts for the runs that need one (or every run); returns the changed verdicts. `early`: those
    the import gave as it read the files (pass it quoted)."""
    ctx = context(config_path, store_path, athlete_id)
    changes = verdicts.judge(Store(store_path, athlete_id), athlete_id, ctx, everything=everything,
                             activity_ids=activity_ids, early=early)
    return [c.report() for c in changes]


def _artifact(report: dict[str, Any]) -> None:
    rows: list[dict[str, Any]] = [{"outcome": k, "files": v, "reason": ""} for k, v in report["counts"].items()]
    rows += [
        {"outcome": "quarantined", "files": f["path"], "reason": f["reason"]}
        for f in report["files"] if f["outcome"] == "quarantined"
    ]
    create_table_artifact(key="import-summary", table=rows, description="kindpace import: outcomes")


@flow(name="import-files")
def import_files(paths: list[str], store_path: str, athlete_id: str = "me",
                 config_path: str | None = None, dask: str | None = None) -> dict[str, Any]:
    """Import every file under `paths` into the store, then judge the new runs; returns the JSON report.
    With `dask`, run it `on_engine(import_files, dask)`."""
    early = verdicts.Early(context(config_path, store_path, athlete_id))
    report = import_paths(Store(store_path, athlete_id), paths, athlete_id, stages=_stages(dask), early=early)
    _artifact(report)
    report["verdicts"] = judge(store_path, athlete_id, config_path, early=_quoted(early))
    return report


@flow(name="reimport")
def reimport(store_path: str, athlete_id: str = "me", config_path: str | None = None,
             dask: str | None = None) -> dict[str, Any]:
    """Rebuild every table from the originals the store keeps, in the order they first arrived.

    Verdicts are kept where a run's samples still come from the same file; `recompute` redoes them all."""
    store = Store(store_path, athlete_id)
    report = importer.run_batches(store, importer.originals_in_order(store), athlete_id, reset=True,
                                  stages=_stages(dask))
    _artifact(report)
    report["verdicts"] = judge(store_path, athlete_id, config_path)
    return report


@flow(name="sync")
def sync(sources: list[dict[str, str]], store_path: str, athlete_id: str = "me",
         config_path: str | None = None, only_files: list[str] | None = None,
         dask: str | None = None) -> dict[str, Any]:
    """One incremental pass over the sources ({"kind", "path"}), then the verdicts; the import report
    plus what each source held and which could not be reached."""
    result = _sync_one(sources, store_path, athlete_id, config_path, only_files, _stages(dask))
    _artifact(result)
    return result


def _sync_one(sources: list[dict[str, str]], store_path: str, athlete_id: str, config_path: str | None,
              only_files: list[str] | None, stages: importer.Stages) -> dict[str, Any]:
    from pipeline import sync as sync_mod

    specs = [sync_mod.SourceSpec(s["kind"], s["path"]) for s in sources]
    only = None if only_files is None else set(only_files)
    early = verdicts.Early(context(config_path, store_path, athlete_id))
    store = Store(store_path, athlete_id)
    result = sync_mod.sync(store, specs, athlete_id, stages=stages, only=only, early=early).as_dict()
    result["verdicts"] = judge(store_path, athlete_id, config_path, early=_quoted(early))
    return result


@flow(name="sync-every-athlete")
def sync_every_athlete(plan: list[dict[str, Any]], store_path: str, config_path: str | None = None,
                       dask: str | None = None) -> dict[str, Any]:
    """The nightly sync of a club: each athlete of `plan` ({"athlete", "sources"}) synced in turn into their
    own partition, in one flow run (with `dask`, every athlete's batches are read on the cluster). An
    athlete whose partition cannot be written (locked by another writer, the store full) is reported with
    the reason and the others go on. Returns the counts over all, and each athlete's report."""
    stages = _stages(dask)
    reports: dict[str, dict[str, Any]] = {}
    for entry in plan:
        athlete = entry["athlete"]
        try:
            reports[athlete] = _sync_one(entry["sources"], store_path, athlete, config_path, None, stages)
        except StoreError as exc:  # this athlete's partition: the next athlete's is another
            report = getattr(exc, "report", {"counts": {}, "files": []})
            reports[athlete] = dict(report, error=str(exc), verdicts=[])
    counts: dict[str, int] = {}
    for report in reports.values():
        for outcome, n in report["counts"].items():
            counts[outcome] = counts.get(outcome, 0) + n
    result = {"counts": counts, "files": [f for r in reports.values() for f in r["files"]], "athletes": reports,
              "failed": sorted(a for a, r in reports.items() if "error" in r)}
    _artifact(result)
    return result


@flow(name="recompute")
def recompute(store_path: str, athlete_id: str = "me", config_path: str | None = None) -> dict[str, Any]:
    """Re-evaluate every run with the current algorithm, settings and profile; report what changed and why."""
    return {"changes": judge(store_path, athlete_id, config_path, everything=True)}
