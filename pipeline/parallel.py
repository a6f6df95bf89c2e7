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
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
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


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        # what every worker needs, imported once and shared; pandas too: pyarrow imports it on first use
        context.set_forkserver_preload(["pipeline.importer", "pipeline.verdicts", "pandas"])
    return context


@contextmanager
def opened(n_files: int) -> Iterator[Executor | None]:
    """The pool for one import of `n_files` inputs (None where it would not pay), current while open."""
    global _current
    size = workers()
    if size <= 1 or n_files < MIN_FILES or _current is not None:
        yield _current
        return
    _current = ProcessPoolExecutor(size, mp_context=_context())
    try:
        yield _current
    finally:
        _current.shutdown(cancel_futures=True)
        _current = None


_renewing = threading.RLock()


def _renewed(broken: Executor) -> Executor:
    """A fresh pool in place of `broken`, which a dead worker broke; where another batch's thread renewed
    it already, that one."""
    global _current
    with _renewing:
        if _current is broken:
            broken.shutdown(wait=False, cancel_futures=True)
            _current = ProcessPoolExecutor(workers(), mp_context=_context())
        assert _current is not None
        return _current


def map_ordered(fn: Callable[..., Any], items: Iterable[Any], *args: Any,
                crashed: Callable[[Any, str], Any] | None = None) -> list[Any]:
    """fn(item, *args) for each item, in order: in the current pool where one is open, else here.

    A worker that dies (a crash in native code, the kernel's out-of-memory killer) breaks the pool: with
    `crashed`, the pool is renewed and the items are run again, each one that dies again alone in a
    process of its own; an item that kills even that one gets crashed(item, "SIGSEGV"-like cause)."""
    items = list(items)
    pool = _current
    if pool is None or len(items) < 2:
        return [fn(item, *args) for item in items]
    # in chunks, a few per worker: one message per item costs more than a small item's work
    chunk = max(1, min(MAX_CHUNK, len(items) // (4 * workers())))
    try:
        return list(pool.map(fn, items, *[[a] * len(items) for a in args], chunksize=chunk))
    except BrokenProcessPool:
        if crashed is None:
            raise
    with _renewing:  # one batch's recovery at a time (an import reads two batches at once)
        pool = _renewed(pool)
        futures = [pool.submit(fn, item, *args) for item in items]
        results: list[Any] = []
        for item, future in zip(items, futures, strict=True):
            try:
                results.append(future.result())
            except BrokenProcessPool:  # this one, or one beside it, died: alone, to tell which
                results.append(_alone(fn, item, args, crashed))
        if any(isinstance(f.exception(), BrokenProcessPool) for f in futures if f.done()):
            _renewed(pool)
    return results


def _alone(fn: Callable[..., Any], item: Any, args: tuple[Any, ...], crashed: Callable[[Any, str], Any]) -> Any:
    """fn(item, *args) in a process of its own; crashed(item, cause) where that process dies."""
    context = _context()
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_send_result, args=(send, fn, item, args))
    process.start()
    send.close()
    try:
        ok, value = receive.recv()
    except EOFError:  # it died before it could answer
        process.join()
        code = process.exitcode or 0
        return crashed(item, signal.Signals(-code).name if code < 0 else f"exit status {code}")
    finally:
        receive.close()
    process.join()
    if not ok:
        raise value
    return value


def _send_result(send: Any, fn: Callable[..., Any], item: Any, args: tuple[Any, ...]) -> None:
    try:
        send.send((True, fn(item, *args)))
    except Exception as exc:  # the caller raises it, as the pool would have
        send.send((False, exc))
    finally:
        send.close()
