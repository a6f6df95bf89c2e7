"""The import across a process pool (pipeline/parallel.py) gives exactly the store one process gives."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc

from bench.history import history
from pipeline import parallel
from pipeline.importer import run_batches
from pipeline.store import Store


def _import(tmp_path: Path, files: list[Path], workers: str, monkeypatch, name: str, decoder: str = "fitvec") -> Store:
    monkeypatch.setenv("KINDPACE_WORKERS", workers)
    monkeypatch.setenv("KINDPACE_FIT_DECODER", decoder)
    store = Store(tmp_path / name)
    report = run_batches(store, [str(f) for f in files], "me")
    assert report["counts"]["imported"] == len(files)
    return store


def test_two_workers_write_the_store_one_process_writes(tmp_path: Path, monkeypatch):
    files = history(tmp_path / "runs", 3 * parallel.MIN_FILES)  # enough for the pool to open
    one = _import(tmp_path, files, "1", monkeypatch, "one")
    two = _import(tmp_path, files, "2", monkeypatch, "two")
    a, b = one.read("activities").drop(["imported_at"]), two.read("activities").drop(["imported_at"])
    assert a.equals(b)
    for aid in a.column("activity_id").to_pylist():
        for table in ("records", "laps", "developer_fields"):
            assert one.read_activity(table, aid).equals(two.read_activity(table, aid)), (table, aid)
    assert not any((two.root / ".staging").iterdir())  # every staged file adopted or removed


def test_the_workers_use_the_decoder_the_import_was_asked_for(tmp_path: Path, monkeypatch):
    files = history(tmp_path / "runs", parallel.MIN_FILES)
    fast = _import(tmp_path, files, "2", monkeypatch, "fast")  # the pool's workers start with this environment
    reference = _import(tmp_path, files, "2", monkeypatch, "reference", decoder="fitparse")
    assert set(fast.read("activities").column("decoder").to_pylist()) == {"fitvec"}
    assert set(reference.read("activities").column("decoder").to_pylist()) == {"fitparse"}
    assert pc.sum(reference.read("activities").column("distance_m")).as_py() == \
        pc.sum(fast.read("activities").column("distance_m")).as_py()
