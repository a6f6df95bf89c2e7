"""The import across a process pool (pipeline/parallel.py) gives exactly the store one process gives."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow.compute as pc

from bench.history import history
from pipeline import parallel
from pipeline.importer import Input, now_utc, read_batch, run_batches
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
    assert not any(two.staging_dir().iterdir())  # every staged file adopted or removed


def test_the_workers_use_the_decoder_the_import_was_asked_for(tmp_path: Path, monkeypatch):
    files = history(tmp_path / "runs", parallel.MIN_FILES)
    fast = _import(tmp_path, files, "2", monkeypatch, "fast")  # the pool's workers start with this environment
    reference = _import(tmp_path, files, "2", monkeypatch, "reference", decoder="fitparse")
    assert set(fast.read("activities").column("decoder").to_pylist()) == {"fitvec"}
    assert set(reference.read("activities").column("decoder").to_pylist()) == {"fitparse"}
    assert pc.sum(reference.read("activities").column("distance_m")).as_py() == \
        pc.sum(fast.read("activities").column("distance_m")).as_py()


def test_with_a_pool_the_workers_keep_the_originals_and_no_bytes_come_back(tmp_path: Path, monkeypatch):
    """The import's own process never holds a batch's bytes: the workers read, hash and stage each file
    as the original to keep; what comes back carries a staged file's name, and the store's originals are
    the files' bytes (their sha256 is their name)."""
    monkeypatch.setenv("KINDPACE_WORKERS", "2")
    files = history(tmp_path / "runs", parallel.MIN_FILES)
    (tmp_path / "runs" / "notes.txt").write_text("not a run")
    store = Store(tmp_path / "store")
    store.ensure()
    store.clear_staging()  # as run_batches does: the staging folder, empty
    items = [Input(str(f)) for f in sorted((tmp_path / "runs").iterdir())]
    known = {hashlib.sha256(files[0].read_bytes()).hexdigest()}  # the store holds the first already
    with parallel.opened(len(items)) as pool:
        assert pool is not None
        parsed = read_batch(items, known, "me", now_utc(), store)
    assert all(p.data == b"" for p in parsed)
    by_name = {Path(p.path).name: p for p in parsed}
    assert by_name[files[0].name].original is None and by_name[files[0].name].normalized == []  # not decoded
    assert by_name["notes.txt"].original is None  # skipped: nothing of it kept
    for f in files[1:]:
        staged = Path(by_name[f.name].original)
        assert staged.parent == store.staging_dir() and staged.read_bytes() == f.read_bytes()
    report = run_batches(store, [str(f) for f in files], "me")
    assert report["counts"]["imported"] == len(files)
    for f in files:
        sha = hashlib.sha256(f.read_bytes()).hexdigest()
        assert store.original_path(sha).read_bytes() == f.read_bytes()
    assert not any(store.staging_dir().iterdir())


def test_a_batch_counts_only_the_bytes_it_holds(tmp_path: Path):
    """A batch holds at most MAX_BATCH_BYTES of input in this process; files the workers read themselves
    hold none here, so they fill a batch by number (an archive's members, in memory, still count)."""
    from pipeline.importer import MAX_BATCH_BYTES, batched

    big = tmp_path / "big.fit"
    big.write_bytes(b"\0" * (MAX_BATCH_BYTES // 2 + 1))
    on_disk = [Input(str(big), str(big)) for _ in range(6)]
    assert [len(b) for b in batched(on_disk, 200)] == [2, 2, 2]  # read here: two files fill the bytes
    assert [len(b) for b in batched(on_disk, 200, read_elsewhere=True)] == [6]
    in_memory = [Input(f"export.zip!{i}.fit", data=b"\0" * (MAX_BATCH_BYTES // 2 + 1)) for i in range(6)]
    assert [len(b) for b in batched(in_memory, 200, read_elsewhere=True)] == [2, 2, 2]
