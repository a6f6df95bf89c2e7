"""`kindpace import --dask`: a real dask.distributed cluster (a scheduler and two workers, each its own
process on loopback, with a Prefect server they all report to) imports the corpus and gives exactly the
store a local import gives."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.cluster import local_cluster, reads_per_worker
from bench.history import history
from pipeline.store import Store
from tests.conftest import ROOT
from tests.reliability.common import CONFIG, KINDPACE, contents, local_env, rows_lost

DROPPED = ("CommClosedError", "StreamClosedError", "Connection refused", "ConnectionResetError")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with local_cluster(tmp_path_factory.mktemp("cluster"), workers=2, base_env=local_env()) as running:
        yield running


def _import(paths: list[str], store: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KINDPACE, "import", *paths, "--store", str(store), "--config", CONFIG, "--json", *extra],
                          env=env, capture_output=True, text=True, timeout=900)


def test_a_dask_cluster_imports_the_corpus_into_exactly_the_store_a_local_import_gives(
        corpus: Path, cluster: dict[str, Any], tmp_path: Path):
    local = tmp_path / "local"
    done = _import([str(corpus)], local, local_env())
    assert done.returncode == 0, done.stderr[-2000:]

    on_cluster = tmp_path / "dask"
    for attempt in range(2):  # one retry where the cluster dropped a connection on this loaded machine
        shutil.rmtree(on_cluster, ignore_errors=True)
        ran = _import([str(corpus)], on_cluster, cluster["env"], "--dask", cluster["address"])
        if ran.returncode == 0 or attempt == 1 or not any(d in ran.stderr for d in DROPPED):
            break
    assert ran.returncode == 0, ran.stderr[-3000:]

    mine, theirs = json.loads(done.stdout), json.loads(ran.stdout)
    assert theirs["counts"] == mine["counts"]
    assert mine["counts"]["imported"] > 200  # the corpus: its running, cycling and odd files
    expected, got = contents(local), contents(on_cluster)
    assert rows_lost(expected, got) == 0 and rows_lost(got, expected) == 0
    assert got == expected
    # the batches were read on the cluster, by both workers, and nothing was left staged
    per_worker = reads_per_worker(cluster["address"])
    assert len(per_worker) == 2 and all(n >= 1 for n in per_worker.values()), per_worker
    assert not any((on_cluster / ".athletes" / "athlete=me" / "staging").iterdir())


def test_dask_needs_a_prefect_server_the_workers_reach(tmp_path: Path):
    done = subprocess.run([KINDPACE, "import", str(ROOT / "samples" / "activities"), "--store", str(tmp_path / "s"),
                           "--config", CONFIG, "--dask", "tcp://127.0.0.1:1"], env=local_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "PREFECT_API_URL" in done.stderr
    assert not (tmp_path / "s" / "activities" / "athlete=me" / "activities.parquet").exists()
    done = subprocess.run([KINDPACE, "import", str(ROOT / "samples" / "activities"), "--store", str(tmp_path / "s"),
                           "--config", CONFIG, "--dask", "127.0.0.1:8786"], env={**local_env(), "PREFECT_API_URL": "x"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "scheduler address like tcp://HOST:8786" in done.stderr


def test_a_worker_lost_mid_import_costs_no_file_and_imports_none_twice(cluster: dict[str, Any], tmp_path: Path):
    """Runs last in this module: it kills one of the two workers (its whole process group, as a machine that
    goes down), while batches are being read on it. Dask reads them again on the other; the commit stays
    with the import, so the store is exactly a local import's."""
    runs = history(tmp_path / "runs", 600)
    local = tmp_path / "local"
    done = _import([str(tmp_path / "runs")], local, local_env())
    assert done.returncode == 0, done.stderr[-2000:]
    on_cluster = tmp_path / "dask"
    first_batch = Store(on_cluster).table_file("activities")
    proc = subprocess.Popen([KINDPACE, "import", str(tmp_path / "runs"), "--store", str(on_cluster), "--config",
                             CONFIG, "--json", "--dask", cluster["address"]], env=cluster["env"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not first_batch.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the import ended before a worker could be lost"
    os.killpg(cluster["workers"][0], signal.SIGKILL)
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    assert json.loads(out)["counts"] == json.loads(done.stdout)["counts"] == {
        **json.loads(done.stdout)["counts"], "imported": len(runs)}
    expected, got = contents(local), contents(on_cluster)
    assert rows_lost(expected, got) == 0 and rows_lost(got, expected) == 0 and got == expected
    survivors = reads_per_worker(cluster["address"])
    assert len(survivors) == 1 and next(iter(survivors.values())) >= 1
