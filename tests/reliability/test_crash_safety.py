"""Kill -9 the whole import (its process group: Prefect's temporary server and the pool's workers with
it) at a random moment once its first batch is in the store, several times: after each kill the store
reads cleanly, holds no activity or ledger row twice, and importing the same folder again converges to
exactly the store one clean import makes (every table compared row for row, times of writing aside)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bench.history import history
from pipeline.store import Store
from tests.reliability.common import CONFIG, KINDPACE, contents, local_env, rows_lost, tally

KILLS = int(os.environ.get("KINDPACE_KILLS", "4"))


def _import(folder: Path, store: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([KINDPACE, "import", str(folder), "--store", str(store), "--config", CONFIG, "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env=local_env())


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_an_import_killed_at_random_moments_converges_to_the_clean_store(tmp_path: Path):
    runs = tmp_path / "runs"
    history(runs, 75)  # three batches, the process pool open
    clean = tmp_path / "clean"
    assert _import(runs, clean).wait(timeout=300) == 0
    expected = contents(clean)
    assert len(expected["activities"]) == 75  # type: ignore[arg-type]
    rng = random.Random(7)
    killed_mid_import = 0
    for k in range(KILLS):
        store = tmp_path / f"killed-{k}"
        proc = _import(runs, store)
        first_batch = Store(store).table_file("activities")
        deadline = time.monotonic() + 300
        while not first_batch.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.5))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            killed_mid_import += 1
        proc.wait(timeout=60)
        contents(store, killed=True)  # reads cleanly, nothing twice
        assert _import(runs, store).wait(timeout=300) == 0
        after = contents(store)
        tally(rows_lost=rows_lost(expected, after))
        assert after == expected, f"kill {k}: the store after the re-run is not the clean one"
    tally(kills=killed_mid_import)
    assert killed_mid_import >= KILLS // 2  # most kills landed while the import was running
