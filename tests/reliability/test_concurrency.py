"""A nightly sync, a folder-drop import and a manual import at the same time, on one store: one writer
at a time (the others wait for the lock), every run stored once, every file accounted for."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.history import history
from pipeline.store import Store
from tests.conftest import ROOT
from tests.reliability.common import tally

KINDPACE = str(Path(sys.executable).with_name("kindpace"))


def test_a_sync_and_two_imports_at_once_store_every_run_once(tmp_path: Path):
    runs = history(tmp_path / "all", 36)
    watch, inbox, manual = tmp_path / "watch", tmp_path / "inbox", tmp_path / "manual"
    for folder, part in ((watch, runs[:18]), (inbox, runs[12:30]), (manual, runs[24:])):  # overlapping
        folder.mkdir()
        for f in part:
            shutil.copy(f, folder / f.name)
    config = tmp_path / "kindpace.toml"
    source = f'\n[[source]]\nkind = "folder"\npath = "{watch}"\n'
    config.write_text((ROOT / "samples" / "kindpace.toml").read_text() + source)
    store = tmp_path / "store"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    common = ["--store", str(store), "--config", str(config), "--json"]
    procs = [subprocess.Popen([KINDPACE, *command, *common], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env)
             for command in (["sync"], ["import", str(inbox)], ["import", str(manual)])]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-1500:] for _, err in outs]
    reports = [json.loads(out) for out, _ in outs]
    files = [f for r in reports for f in r["files"]]
    tally(concurrent_runs=len(procs), files_unaccounted=18 + 18 + 12 - len(files))
    assert len(files) == 18 + 18 + 12  # every file of every run accounted for
    assert {f["outcome"] for f in files} <= {"imported", "duplicate"}
    imported = [f["sha256"] for f in files if f["outcome"] == "imported"]
    assert sorted(imported) == sorted(set(imported)) and len(imported) == 36  # each run imported exactly once
    activities = Store(store).read("activities").to_pylist()
    assert len(activities) == len({a["activity_id"] for a in activities}) == 36
    assert Store(store).read("gentleness").num_rows == 36
