"""A pool worker that dies (a segfault in native code, the kernel's out-of-memory killer) breaks Python's
process pool and, before, the whole import. Now the batch is run again, each file that dies again
alone in a process of its own: the one that kills even that is quarantined with the cause, the rest
import, and the store is the one a clean import makes."""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bench.history import history
from pipeline import parallel
from pipeline.importer import ParsedFile, Stages, decode_and_normalize, read_batch, run_batches
from pipeline.store import Store
from tests.reliability.common import contents, rows_lost, tally


def _segfault() -> None:
    ctypes.string_at(0)  # a real SIGSEGV: reads address 0


def _doubled_unless_three(x: int) -> int:
    if x == 3:
        _segfault()
    return 2 * x


def test_an_item_that_crashes_its_worker_costs_that_item_only_and_the_pool_carries_on(monkeypatch):
    monkeypatch.setenv("KINDPACE_WORKERS", "2")
    with parallel.opened(parallel.MIN_FILES) as pool:
        assert pool is not None
        got = parallel.map_ordered(_doubled_unless_three, range(10), crashed=lambda item, cause: (item, cause))
        assert got == [0, 2, 4, (3, "SIGSEGV"), 8, 10, 12, 14, 16, 18]
        assert parallel.map_ordered(_doubled_unless_three, [5, 6]) == [10, 12]  # a working pool again
        with pytest.raises(parallel.BrokenProcessPool):  # without `crashed`, as Python's pool does
            parallel.map_ordered(_doubled_unless_three, range(5))


CULPRIT = "00007-"


def _crashing_decode(parsed: ParsedFile, *args: Any) -> ParsedFile:
    """decode_and_normalize, except that one file kills the process decoding it, every time."""
    if CULPRIT in parsed.path:
        _segfault()
    return decode_and_normalize(parsed, *args)


def test_a_file_that_kills_its_decoder_is_quarantined_and_the_rest_of_the_import_goes_on(tmp_path: Path,
                                                                                         monkeypatch):
    monkeypatch.setenv("KINDPACE_WORKERS", "2")
    files = history(tmp_path / "runs", 40)
    assert sum(CULPRIT in f.name for f in files) == 1
    store = Store(tmp_path / "store")
    report = run_batches(store, [str(f) for f in files], "me",
                         stages=Stages(read=functools.partial(read_batch, decode=_crashing_decode)))
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    culprit = next(f for name, f in by_name.items() if CULPRIT in name)
    assert culprit["outcome"] == "quarantined" and "the process decoding it died (SIGSEGV)" in culprit["reason"]
    assert report["counts"]["imported"] == 39 and len(report["files"]) == 40
    assert store.original_path(culprit["sha256"]).exists()  # kept, for a reimport once the decoder is mended
    tally(worker_crashes=1, files_unaccounted=40 - len(report["files"]))


def test_a_worker_killed_mid_import_costs_nothing(tmp_path: Path, monkeypatch):
    """As the out-of-memory killer would: SIGKILL to a worker while the import runs."""
    monkeypatch.setenv("KINDPACE_WORKERS", "1")
    files = [str(f) for f in history(tmp_path / "runs", 75)]
    clean = Store(tmp_path / "clean")
    run_batches(clean, files, "me")
    monkeypatch.setenv("KINDPACE_WORKERS", "2")
    killed: list[int] = []

    def kill_a_worker() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            pool = parallel._current
            processes = dict(getattr(pool, "_processes", None) or {})
            if processes:
                time.sleep(0.3)  # into the work
                pid = next(iter(processes))
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.01)

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    store = Store(tmp_path / "store")
    report = run_batches(store, files, "me")
    killer.join()
    assert killed, "no worker was there to kill"
    assert report["counts"]["imported"] == 75  # the file the killed worker held was run again, alone
    expected, got = contents(clean.root), contents(store.root)
    tally(worker_crashes=1, rows_lost=rows_lost(expected, got), files_unaccounted=75 - len(report["files"]))
    assert got == expected


def test_the_cli_leaves_sigpipe_ignored(tmp_path: Path):
    """`kindpace` once set SIGPIPE to its default action (for `kindpace runs | head`): a write to a pool
    worker that had died then killed the whole import, silently (found by this file's first test, run
    after a test that called the CLI in-process). Now a reader that goes is a BrokenPipeError, handled."""
    from kindpace.cli import main
    from tests.reliability.common import CONFIG

    assert main(["activities", "--store", str(tmp_path / "store"), "--config", CONFIG]) == 0
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN  # as Python sets it, for the pool's pipes
