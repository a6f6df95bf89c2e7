"""The process pool that spreads the import's CPU-bound work (decode, normalize) across the cores.

In Prefect's local mode the batch tasks run in threads of one process, where the GIL keeps the work on
one core; a standard-library pool inside the batch stage gives it the others (../shared/docs/prefect.md
§5.4: Prefect's process runner would start a temporary server in every worker without a real server).
The pool is opened once per import (`opened`), not per batch, and only for imports big enough to repay
its start-up; workers come from a forkserver (spawn where there is none), never a plain fork of a
process that runs Prefect's threads. KINDPACE_WORKERS (`kindpace import --workers N`) sets the size; 1
keeps everything in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

# Fewer files than this are read in this process: a folder drop of a few runs should not wait for workers.
MIN_FILES = 8
MAX_CHUNK = 16

_current: Executor | None = None


def workers() -> int:
    """KINDPACE_WORKERS, else one per core."""
    chosen = os.environ.get("KINDPACE_WORKERS", "")
    if chosen.strip().isdigit() and int(chosen) >= 1:
        return int(chosen)
    return os.cpu_count() or 1


@contextmanager
def opened(n_files: int) -> Iterator[Executor | None]:
    """The pool for one import of `n_files` inputs (None where it would not pay), current while open."""
    global _current
    size = workers()
    if size <= 1 or n_files < MIN_FILES or _current is not None:
        yield _current
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        # what every worker needs, imported once and shared; pandas too: pyarrow imports it on first use
        context.set_forkserver_preload(["pipeline.importer", "pipeline.verdicts", "pandas"])
    with ProcessPoolExecutor(size, mp_context=context) as pool:
        _current = pool
        try:
            yield pool
        finally:
            _current = None


def map_ordered(fn: Callable[..., Any], items: Iterable[Any], *args: Any) -> list[Any]:
    """fn(item, *args) for each item, in order: in the current pool where one is open, else here."""
    items = list(items)
    pool = _current
    if pool is None or len(items) < 2:
        return [fn(item, *args) for item in items]
    # in chunks, a few per worker: one message per item costs more than a small item's work
    chunk = max(1, min(MAX_CHUNK, len(items) // (4 * workers())))
    return list(pool.map(fn, items, *[[a] * len(items) for a in args], chunksize=chunk))
