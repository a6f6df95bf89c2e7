"""Kill -9 the whole import (its process group: Prefect's temporary server and the pool's workers with
it) at a random moment once its first batch is in the store, several times: after each kill the store
reads cleanly, holds no activity or ledger row twice, and importing the same folder again converges to
exactly the store one clean import makes (every table compared row for row, times of writing aside)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.history import history
from pipeline.store import PER_ACTIVITY, WHOLE, Store
from tests.conftest import ROOT

KILLS = int(os.environ.get("KINDPACE_KILLS", "4"))
KINDPACE = str(Path(sys.executable).with_name("kindpace"))
CONFIG = str(ROOT / "samples" / "kindpace.toml")
WHEN_WRITTEN = {"imported_at", "seen_at", "assessed_at", "updated_at", "made_at", "marked_at", "started_at",
                "finished_at"}


def _import(folder: Path, store: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}  # Prefect's local mode, its own server
    return subprocess.Popen([KINDPACE, "import", str(folder), "--store", str(store), "--config", CONFIG, "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)


def _contents(root: Path) -> dict[str, object]:
    """Every table as sorted rows without the times of writing; per-activity tables by activity."""
    store = Store(root)
    out: dict[str, object] = {}
    for table in WHOLE:
        rows = [{k: v for k, v in r.items() if k not in WHEN_WRITTEN} for r in store.read(table).to_pylist()]
        out[table] = sorted(map(repr, rows))
    ids = [a["activity_id"] for a in store.read("activities").to_pylist()]
    assert len(ids) == len(set(ids)), "an activity twice"
    shas = [r["sha256"] for r in store.read("imports").to_pylist()]
    assert len(shas) == len(set(shas)), "a ledger row twice"
    for table in PER_ACTIVITY:
        files = {p.stem for p in (root / table).glob("*.parquet")}
        assert files <= set(ids), f"{table}: files no activity names"
        out[table] = {aid: store.read_activity(table, aid).to_pylist() for aid in sorted(files)}
    out["originals"] = sorted(p.name for p in (root / "originals").iterdir() if not p.name.startswith("."))
    return out


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_an_import_killed_at_random_moments_converges_to_the_clean_store(tmp_path: Path):
    runs = tmp_path / "runs"
    history(runs, 75)  # three batches, the process pool open
    clean = tmp_path / "clean"
    assert _import(runs, clean).wait(timeout=300) == 0
    expected = _contents(clean)
    assert len(expected["activities"]) == 75  # type: ignore[arg-type]
    rng = random.Random(7)
    killed_mid_import = 0
    for k in range(KILLS):
        store = tmp_path / f"killed-{k}"
        proc = _import(runs, store)
        first_batch = store / "activities" / "activities.parquet"
        deadline = time.monotonic() + 300
        while not first_batch.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.5))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            killed_mid_import += 1
        proc.wait(timeout=60)
        _contents(store)  # reads cleanly, nothing twice, no file without its activity
        assert _import(runs, store).wait(timeout=300) == 0
        assert _contents(store) == expected, f"kill {k}: the store after the re-run is not the clean one"
    assert killed_mid_import >= KILLS // 2  # most kills landed while the import was running
