"""`kindpace sync` over generated sources: incremental, read-only for watch and folder, tidy inbox, one writer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.store import Store
from tests.conftest import SAMPLES

pytestmark = pytest.mark.flow

DATA_TABLES = ("activities", "laps", "records", "developer_fields", "gentleness", "excursions")
BROKEN_FIT = b"\x0e\x10\x00\x00" + b"\x00" * 4 + b".FIT" + b"\xff" * 20


def _snapshot(store: Store) -> dict[str, tuple[int, bytes]]:
    out = {}
    for table in DATA_TABLES:
        for path in sorted(store.table_dir(table).glob("*.parquet")):
            out[str(path)] = (path.stat().st_mtime_ns, path.read_bytes())
    return out


def _sources(tmp_path: Path) -> tuple[list[dict[str, str]], dict[str, Path]]:
    watch = tmp_path / "WATCH"
    activity = watch / "Garmin" / "ACTIVITY"  # the case varies between models
    activity.mkdir(parents=True)
    (watch / "Garmin" / "Settings").mkdir()
    (watch / "Garmin" / "Settings" / "settings.fit").write_bytes(BROKEN_FIT)  # not an activity folder: not read
    for name in ("easy-run.fit", "harder-stretch-run.fit"):
        shutil.copy2(SAMPLES / name, activity / name)
    folder = tmp_path / "synced"
    folder.mkdir()
    shutil.copy2(SAMPLES / "phone-run.gpx", folder / "phone-run.gpx")
    (folder / "phone-run.gpx.part").write_text("half a download")  # never read
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy2(SAMPLES / "treadmill-run.fit", inbox / "treadmill-run.fit")
    (inbox / "broken.fit").write_bytes(BROKEN_FIT)
    (inbox / "notes.txt").write_text("felt good")
    sources = [{"kind": "watch", "path": str(watch)}, {"kind": "folder", "path": str(folder)},
               {"kind": "inbox", "path": str(inbox)}, {"kind": "watch", "path": str(tmp_path / "unplugged")}]
    return sources, {"watch": watch, "folder": folder, "inbox": inbox}


def test_sync_imports_once_leaves_the_tables_alone_then_imports_only_what_is_new(prefect_harness, tmp_path):
    from flows.import_flow import sync

    sources, where = _sources(tmp_path)
    store = Store(tmp_path / "store")
    watch_before = {p: p.read_bytes() for p in where["watch"].rglob("*") if p.is_file()}
    config = SAMPLES.parent / "kindpace.toml"

    first = sync(sources, str(store.root), config_path=str(config))
    assert first["counts"] == {"imported": 4, "duplicate": 0, "not_activity": 0, "skipped": 1,
                                  "quarantined": 1, "waiting": 0}
    assert first["missing_sources"] == [f"watch {tmp_path / 'unplugged'}"]
    assert len(first["verdicts"]) == 4
    # the watch is read, never changed; the inbox is tidied, nothing deleted
    assert {p: p.read_bytes() for p in where["watch"].rglob("*") if p.is_file()} == watch_before
    month = f"{datetime.now(UTC):%Y-%m}"
    inbox = where["inbox"]
    assert sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file()) == [
        f"processed/{month}/notes.txt", f"processed/{month}/notes.txt.reason.txt",
        f"processed/{month}/treadmill-run.fit", "quarantine/broken.fit", "quarantine/broken.fit.reason.txt"]
    assert "quarantined" in (inbox / "quarantine" / "broken.fit.reason.txt").read_text()

    tables = _snapshot(store)
    assert len(tables) > len(DATA_TABLES)  # per-activity files too: the comparison below is not of nothing
    second = sync(sources, str(store.root), config_path=str(config))
    assert second["counts"] == {"imported": 0, "duplicate": 0, "not_activity": 0, "skipped": 0,
                                  "quarantined": 0, "waiting": 0}
    assert [s["new"] for s in second["sources"]] == [0, 0, 0, 0] and second["verdicts"] == []
    assert _snapshot(store) == tables  # not one data table file rewritten
    assert store.read("sync_runs").num_rows == 2  # the ledger records that it ran

    # a new run on the watch, and the same phone file touched (same bytes, new mtime)
    from tests.synthetic import Runner, run_for, simulate, to_fit_bytes

    forty = Runner(age=40, hr_max=180.0, vt1_frac=0.83, hr_rest=60.0)
    new_run = simulate(forty, [run_for(30, forty.speed_for_hr(130.0))], seed=5,
                       start=datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    (where["watch"] / "Garmin" / "ACTIVITY" / "new-run.fit").write_bytes(to_fit_bytes(new_run))
    os.utime(where["folder"] / "phone-run.gpx")
    third = sync(sources, str(store.root), config_path=str(config))
    outcomes = {Path(f["path"]).name: (f["outcome"], f["reason"]) for f in third["files"]}
    assert outcomes == {"new-run.fit": ("imported", None), "phone-run.gpx": ("duplicate", "already imported")}
    assert store.read("activities").num_rows == 5
    assert [v["after"]["category"] for v in third["verdicts"]] == ["gentle"]


def test_a_second_writer_waits_then_gives_up_with_status_3(tmp_path):
    store = Store(tmp_path / "store")
    config = tmp_path / "kindpace.toml"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config.write_text(f'[[source]]\nkind = "inbox"\npath = "{inbox}"\n', encoding="utf-8")
    cmd = [sys.executable, "-m", "kindpace.cli"]
    with store.writer_lock():
        done = subprocess.run([*cmd, "sync", "--wait", "1", "--store", str(store.root), "--config", str(config)],
                              capture_output=True, text=True, timeout=300)
    assert done.returncode == 3, done.stderr
    assert f"locked by another writer (pid {os.getpid()}" in done.stderr
    # once the lock is free the same command runs (nothing in the inbox: nothing imported)
    done = subprocess.run([*cmd, "sync", "--json", "--store", str(store.root), "--config", str(config)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"]["imported"] == 0


def test_two_syncs_and_an_import_started_together_all_finish_one_after_the_other(tmp_path):
    """Three processes, one store: each waits for the writer lock in turn; no row is written twice."""
    sources, where = _sources(tmp_path)
    config = tmp_path / "kindpace.toml"
    config.write_text("".join(f'[[source]]\nkind = "{s["kind"]}"\npath = "{s["path"]}"\n' for s in sources[:2]),
                      encoding="utf-8")
    store = tmp_path / "store"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")  # each process its own temporary Prefect server
    cli = [sys.executable, "-m", "kindpace.cli"]
    common = ["--json", "--store", str(store), "--config", str(config)]
    procs = [subprocess.Popen([*cli, "sync", *common], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    procs.append(subprocess.Popen([*cli, "import", str(SAMPLES), *common], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True))
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        reports.append(json.loads(out))
    imported = sum(r["counts"]["imported"] for r in reports)
    assert imported == 5  # the five samples, each imported by exactly one of the three
    acts = Store(store).read("activities")
    assert acts.num_rows == 5 and len(set(acts["activity_id"].to_pylist())) == 5
    verdicts = Store(store).read("gentleness")["activity_id"].to_pylist()
    assert sorted(verdicts) == sorted(acts["activity_id"].to_pylist())
