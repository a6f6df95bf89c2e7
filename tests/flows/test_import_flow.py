"""The real Prefect flows, under one session-scoped test harness, and the CLI around them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.store import Store
from tests.conftest import SAMPLES

pytestmark = pytest.mark.flow


def test_import_flow_runs_batches_as_tasks_and_leaves_an_artifact(prefect_harness, tmp_path: Path):
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.import_flow import import_files

    config = str(SAMPLES.parent / "kindpace.toml")
    state = import_files([str(SAMPLES)], str(tmp_path / "store"), config_path=config, return_state=True)
    assert state.is_completed()
    report = state.result()
    assert report["counts"]["imported"] == 5
    # the judge task gave each new run its verdict, with the sample runner's profile
    assert sorted(v["after"]["category"] for v in report["verdicts"]) == ["gentle"] * 4 + ["too_hard"]
    only_this_run = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
    with get_client(sync_client=True) as client:
        deadline = time.monotonic() + 60  # the server records task runs from events, a little later
        while len(runs := client.read_task_runs(flow_run_filter=only_this_run)) < 4 and time.monotonic() < deadline:
            time.sleep(0.5)
        stages = sorted({r.task_key.split("-")[0] for r in runs})
        assert stages == ["dedupe_batch", "judge", "read_batch", "write_batch"]
        assert len(runs) == 4  # one batch of 5 files: one task run per stage, not one per file
        artifact = client.read_latest_artifacts()
        assert any(a.key == "import-summary" for a in artifact)


def test_reimport_rebuilds_the_same_tables_from_the_originals(prefect_harness, tmp_path: Path):
    from flows.import_flow import import_files, reimport

    store = Store(tmp_path / "store")
    import_files([str(SAMPLES)], str(store.root))
    before = {name: store.read(name) for name in ("activities", "records", "laps")}
    report = reimport(str(store.root))
    assert report["counts"]["imported"] == 5
    for name, table in before.items():
        after = store.read(name)
        if name == "activities":
            table, after = table.drop(["imported_at"]), after.drop(["imported_at"])
        differ = [c for c in table.column_names if not after[c].equals(table[c])]
        assert not differ, (name, {c: (table[c].to_pylist(), after[c].to_pylist()) for c in differ})


def test_recompute_flow_reports_what_a_new_profile_version_changed(prefect_harness, tmp_path: Path):
    from flows.import_flow import import_files, recompute

    store = Store(tmp_path / "store")
    config = tmp_path / "kindpace.toml"
    config.write_text("[[profile]]\nage = 40\n", encoding="utf-8")
    import_files([str(SAMPLES)], str(store.root), config_path=str(config))
    assert recompute(str(store.root), config_path=str(config)) == {"changes": []}
    # a talk test from 2026-11-19 on set the ceiling at 175 bpm: the harder run (19 Nov) becomes gentle
    config.write_text("[[profile]]\nage = 40\n\n[[profile]]\nfrom = 2026-11-19\neasy_hr_ceiling = 175\n")
    changes = recompute(str(store.root), config_path=str(config))["changes"]
    assert [(c["before"]["category"], c["after"]["category"]) for c in changes] == [("too_hard", "gentle")]
    assert changes[0]["start"].startswith("2026-11-19T18:10:00+01:00")
    assert changes[0]["why"][0].startswith("profile initial/")


def test_cli_import_json_report_and_activities(tmp_path: Path):
    """The installed command end to end, in its own process (Prefect's local mode, nothing to start)."""
    store = tmp_path / "store"
    env_cmd = [sys.executable, "-m", "kindpace.cli"]
    done = subprocess.run([*env_cmd, "import", str(SAMPLES), "--store", str(store), "--json"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["counts"] == {"imported": 5, "duplicate": 0, "not_activity": 0, "skipped": 0,
                                  "quarantined": 0, "waiting": 0}
    # a .gz file is reported as FILE!MEMBER: the sample TCX is read straight out of its gzip
    assert {Path(f["path"].split("!")[0]).name for f in report["files"]} == {p.name for p in SAMPLES.iterdir()}
    listing = subprocess.run([*env_cmd, "activities", "--store", str(store)], capture_output=True, text=True)
    assert listing.returncode == 0 and "easy-run.fit" in listing.stdout and "5 activities" in listing.stdout
    missing = subprocess.run([*env_cmd, "import", str(tmp_path / "nope"), "--store", str(store)],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    (tmp_path / "a-file").write_text("")
    unwritable = subprocess.run([*env_cmd, "import", str(SAMPLES), "--store", str(tmp_path / "a-file" / "store")],
                                capture_output=True, text=True)
    assert unwritable.returncode == 1 and "not writable" in unwritable.stderr
