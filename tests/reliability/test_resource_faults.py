"""A store that fills up or turns read-only part way through an import, a file that vanishes before it
is read, a watch unplugged in the middle of a sync: a clear error, the store as the last whole batch
left it, every file accounted for (those not stored are `waiting`, and the sync's ledger says so), and
the next run picks them up and converges to the store one clean run makes."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench.history import history
from pipeline import importer
from pipeline import store as store_mod
from pipeline.health import health
from pipeline.importer import ImportStopped, Stages, read_batch
from pipeline.store import Store
from pipeline.sync import SourceSpec, import_paths, sync
from tests.reliability.common import CONFIG, KINDPACE, contents, local_env, rows_lost, tally

RUNS = 60  # three batches of 25, 25 and 10


class Disk:
    """The store's disk at the writer's system calls: once `fail` is set, every write and rename into the
    store fails with that errno, as a full (ENOSPC) or read-only (EROFS) file system makes them fail."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
        self.root, self.fail, self.faults = str(root), 0, 0
        real_write, real_replace, real_bytes = store_mod.pq.write_table, os.replace, Path.write_bytes

        def check(path: object) -> None:
            if self.fail and str(path).startswith(self.root):
                self.faults += 1
                raise OSError(self.fail, os.strerror(self.fail), str(path))

        def write_table(table: Any, where: Any, **kw: Any) -> None:
            check(where)
            real_write(table, where, **kw)

        def replace(src: Any, dst: Any) -> None:
            check(dst)
            real_replace(src, dst)

        def write_bytes(path: Path, data: Any) -> int:
            check(path)
            return real_bytes(path, data)

        monkeypatch.setattr(store_mod.pq, "write_table", write_table)
        monkeypatch.setattr(store_mod.os, "replace", replace)
        monkeypatch.setattr(Path, "write_bytes", write_bytes)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_store_that_fills_or_turns_read_only_mid_import_stops_clearly_and_the_next_run_converges(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int):
    monkeypatch.setenv("KINDPACE_WORKERS", "1")
    runs = tmp_path / "runs"
    history(runs, RUNS)
    clean = Store(tmp_path / "clean")
    import_paths(clean, [str(runs)], "me")
    expected = contents(clean.root)

    store = Store(tmp_path / "store")
    disk = Disk(monkeypatch, store.root)
    real_commit = importer.commit

    def commit_then_fill(*args: Any) -> None:  # the first batch is committed whole; then the disk fails
        real_commit(*args)
        disk.fail = code

    monkeypatch.setattr(importer, "commit", commit_then_fill)
    with pytest.raises(ImportStopped) as stopped:
        import_paths(store, [str(runs)], "me")
    monkeypatch.setattr(importer, "commit", real_commit)
    message, report = str(stopped.value), stopped.value.report
    assert os.strerror(code) in message and f"{RUNS - 25} file(s) wait for the next run" in message
    assert (report["counts"]["imported"], report["counts"]["waiting"]) == (25, RUNS - 25)
    assert len(report["files"]) == RUNS  # every file accounted for
    waiting = {f["path"] for f in report["files"] if f["outcome"] == "waiting"}
    assert waiting == {str(p) for p in sorted(runs.iterdir())[25:]}
    assert all(os.strerror(code) in f["reason"] for f in report["files"] if f["outcome"] == "waiting")
    partial = contents(store.root)  # reads cleanly: nothing twice, no file without its activity
    assert len(partial["activities"]) == len(partial["imports"]) == 25  # type: ignore[arg-type]

    disk.fail = 0  # space freed, or the disk writable again
    again = import_paths(store, [str(runs)], "me")
    assert (again["counts"]["imported"], again["counts"]["duplicate"]) == (RUNS - 25, 25)
    final = contents(store.root)
    tally(faults_injected=1, rows_lost=rows_lost(expected, final), files_unaccounted=RUNS - len(report["files"]))
    assert final == expected
    assert disk.faults >= 1


def test_a_watch_unplugged_mid_sync_leaves_its_files_waiting_in_the_ledger_and_the_next_sync_takes_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KINDPACE_WORKERS", "1")
    watch = tmp_path / "watch"
    history(watch / "GARMIN" / "Activity", RUNS)
    unplugged = tmp_path / "drawer"
    batches = 0

    def read_then_unplug(items: list[importer.Input], *args: Any) -> list[importer.ParsedFile]:
        nonlocal batches
        batches += 1
        if batches == 2:  # the first batch is in; the watch goes away before the second is read
            watch.rename(unplugged)
        return read_batch(items, *args)

    store = Store(tmp_path / "store")
    sources = [SourceSpec("watch", str(watch))]
    first = sync(store, sources, "me", stages=Stages(read=read_then_unplug))
    counts = first.report["counts"]
    assert (counts["imported"], counts["waiting"]) == (25, RUNS - 25)
    assert all("No such file or directory" in f["reason"] for f in first.report["files"] if f["outcome"] == "waiting")
    (source,) = first.sources
    assert (source["waiting"], source["lost"]) == (RUNS - 25, True)
    (run,) = store.read("sync_runs").to_pylist()
    assert not run["ok"] and f"{RUNS - 25} file(s) could not be read and wait for the next sync" in run["error"]
    seen = {r["path"]: r["outcome"] for r in store.read("sync_seen").to_pylist()}
    assert sorted(seen.values()).count("waiting") == RUNS - 25 and len(seen) == RUNS  # the ledger says which wait
    assert len(health(store, [("watch", watch)]).waiting) == RUNS - 25  # and `kindpace status` lists them

    unplugged.rename(watch)  # plugged in again
    second = sync(store, sources, "me")
    assert (second.report["counts"]["imported"], len(second.report["files"])) == (RUNS - 25, RUNS - 25)
    assert health(store, [("watch", watch)]).waiting == []
    assert {r["outcome"] for r in store.read("sync_seen").to_pylist()} == {"imported"}
    assert store.read("sync_runs").to_pylist()[-1]["ok"]
    clean = Store(tmp_path / "clean")
    sync(clean, sources, "me")
    expected, got = contents(clean.root), contents(store.root)
    expected.pop("sync_runs"), got.pop("sync_runs")  # one sync against two
    tally(faults_injected=1, rows_lost=rows_lost(expected, got),
          files_unaccounted=RUNS - len({f["path"] for f in first.report["files"]}))
    assert got == expected


def test_a_file_that_vanishes_before_it_is_read_waits_and_the_rest_imports(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KINDPACE_WORKERS", "1")
    runs = history(tmp_path / "runs", 6)
    gone = runs[2]
    kept = tmp_path / gone.name

    def read_after_a_file_went(items: list[importer.Input], *args: Any) -> list[importer.ParsedFile]:
        shutil.move(gone, kept)  # listed, then gone before its bytes were read (a sync tool moved it)
        return read_batch(items, *args)

    store = Store(tmp_path / "store")
    report = import_paths(store, [str(tmp_path / "runs")], "me", stages=Stages(read=read_after_a_file_went))
    by_path = {f["path"]: f for f in report["files"]}
    assert by_path[str(gone)]["outcome"] == "waiting" and by_path[str(gone)]["sha256"] == ""
    assert report["counts"]["imported"] == 5 and len(report["files"]) == 6
    assert str(gone) not in {r["path"] for r in store.read("sync_seen").to_pylist()}  # nothing of it recorded
    assert gone.name not in {Path(r["path"]).name for r in store.read("imports").to_pylist()}
    shutil.move(kept, gone)
    again = import_paths(store, [str(tmp_path / "runs")], "me")
    assert again["counts"]["imported"] == 1 and again["counts"]["duplicate"] == 5
    tally(faults_injected=1, files_unaccounted=6 - len(report["files"]))


def _unshare() -> str | None:
    """Why a private small mount cannot be made here (None where it can): a user and mount namespace."""
    if shutil.which("unshare") is None:
        return "no unshare(1)"
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
                           capture_output=True, text=True)
    return None if probe.returncode == 0 else f"cannot mount a tmpfs in a user namespace: {probe.stderr.strip()}"


SMALL_DISK = """
set -u
mount -t tmpfs -o size=4m tmpfs "$STORE"
"$KINDPACE" import "$RUNS" --store "$STORE" --config "$CONFIG" --json > "$OUT/full.json" 2> "$OUT/full.err"
echo $? > "$OUT/full.rc"
cp -a "$STORE" "$OUT/partial"
mount -o remount,size=64m "$STORE"
"$KINDPACE" import "$RUNS" --store "$STORE" --config "$CONFIG" --json > "$OUT/again.json" 2> "$OUT/again.err"
echo $? > "$OUT/again.rc"
cp -a "$STORE" "$OUT/final"
mount -o remount,ro "$STORE"
"$KINDPACE" import "$RUNS" --store "$STORE" --config "$CONFIG" --json > "$OUT/ro.json" 2> "$OUT/ro.err"
echo $? > "$OUT/ro.rc"
"""


@pytest.mark.skipif(_unshare() is not None, reason=f"a real small mount needs namespaces: {_unshare()}")
def test_a_real_4_mb_store_fills_up_mid_import_and_the_next_run_on_a_bigger_disk_converges(tmp_path: Path):
    """The CLI, Prefect's local mode and the process pool on a real tmpfs of 4 MB (the import needs about
    9): it stops with the file system's own error, the store it leaves reads cleanly, the same import on
    the grown disk finishes it; remounted read-only, the store is refused before anything is read."""
    runs = tmp_path / "runs"
    n = len(history(runs, 100))
    clean = tmp_path / "clean"
    done = subprocess.run([KINDPACE, "import", str(runs), "--store", str(clean), "--config", CONFIG, "--json"],
                          capture_output=True, text=True, env=local_env())
    assert done.returncode == 0, done.stderr[-2000:]
    store, out = tmp_path / "store", tmp_path / "out"
    store.mkdir()
    out.mkdir()
    env = dict(local_env(), STORE=str(store), RUNS=str(runs), CONFIG=CONFIG, OUT=str(out), KINDPACE=KINDPACE)
    subprocess.run(["unshare", "-rm", "sh", "-c", SMALL_DISK], env=env, timeout=600, check=True)

    def result(name: str) -> tuple[int, str, dict[str, Any] | None]:
        text = (out / f"{name}.json").read_text()
        return int((out / f"{name}.rc").read_text()), (out / f"{name}.err").read_text(), (
            json.loads(text) if text.strip() else None)

    rc, err, report = result("full")
    assert rc == 1 and "No space left on device" in err and "wait for the next run" in err, err[-2000:]
    assert report is not None and "No space left on device" in report["error"]
    counts = report["counts"]
    assert counts["imported"] > 0 and counts["waiting"] > 0 and counts["imported"] + counts["waiting"] == n
    partial = contents(out / "partial")  # reads cleanly, nothing twice
    assert len(partial["activities"]) == counts["imported"]  # type: ignore[arg-type]

    rc, err, report = result("again")
    assert rc == 0, err[-2000:]
    assert report is not None and report["counts"]["imported"] == counts["waiting"]
    expected, final = contents(clean), contents(out / "final")
    tally(faults_injected=2, rows_lost=rows_lost(expected, final), files_unaccounted=n - len(report["files"]))
    assert final == expected

    rc, err, _ = result("ro")
    assert rc == 1 and "is not writable: Read-only file system" in err, err
