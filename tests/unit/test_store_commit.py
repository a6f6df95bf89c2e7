"""A commit replaces several tables and moves per-activity files in together: a writer killed between
its renames leaves a journal, and the next writer finishes the commit before anything else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.importer import discover, run_batches
from pipeline.store import Store
from tests.conftest import SAMPLES
from tests.reliability.common import tally


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even `except Exception` handlers."""


def test_a_commit_killed_between_its_renames_is_finished_by_the_next_writer(tmp_path: Path, monkeypatch):
    store = Store(tmp_path / "store")
    run_batches(store, discover([SAMPLES]), "me")
    activities, imports = store.read("activities"), store.read("imports")
    assert activities.num_rows == 5 and imports.num_rows == 5
    renames = 0
    real_replace = os.replace

    def replace_then_die(src, dst):
        nonlocal renames
        if str(src).endswith(".commit"):
            renames += 1
            if renames == 2:  # the first table is in place, the second is not
                raise Killed
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_die)
    with pytest.raises(Killed):
        store.commit({"activities": activities.slice(0, 2), "imports": imports.slice(0, 2)})
    monkeypatch.setattr(os, "replace", real_replace)
    assert (store.private_dir() / "commit.json").exists()
    halves = store.read("activities").num_rows, store.read("imports").num_rows
    assert sorted(halves) == [2, 5]  # what a reader sees until the next writer comes
    with store.writer_lock():
        pass
    assert (store.read("activities").num_rows, store.read("imports").num_rows) == (2, 2)
    assert not (store.private_dir() / "commit.json").exists()
    assert not list(store.table_dir("activities").glob(".*.commit")) and not list(store.table_dir("imports").glob(".*"))
    tally(commit_kills=1)
