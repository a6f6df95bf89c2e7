"""`kindpace import --dask`: a real dask.distributed cluster (a scheduler and two workers, each its own
process on loopback, with a Prefect server they all report to) imports the corpus and gives exactly the
store a local import gives."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.reliability.common import CONFIG, KINDPACE, contents, local_env, rows_lost

BIN = Path(sys.executable).parent
DROPPED = ("CommClosedError", "StreamClosedError", "Connection refused", "ConnectionResetError")


def _env(base: dict[str, str], **extra: str) -> dict[str, str]:
    # the workers import kindpace to run its tasks: the same checkout, whatever their working folder
    return {**base, "PYTHONPATH": str(ROOT), **extra}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    from distributed import Client

    from kindpace.serve import start_server

    work = tmp_path_factory.mktemp("cluster")
    env = _env(local_env(), PREFECT_HOME=str(work / "prefect"), DO_NOT_TRACK="1",
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    server, url = start_server(work / "prefect-server.log", env=env)
    env["PREFECT_API_URL"] = url
    procs: list[subprocess.Popen[bytes]] = [server]
    scheduler_file = work / "scheduler.json"
    try:
        procs.append(subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(scheduler_file)], cwd=work, env=env,
            stdout=open(work / "scheduler.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for k in range(2):  # separate processes, one thread each, in a folder of their own
            folder = work / f"worker-{k}"
            folder.mkdir()
            procs.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-dashboard", "--name", f"w{k}"],
                cwd=folder, env=env, stdout=open(work / f"worker-{k}.log", "wb"), stderr=subprocess.STDOUT,
                start_new_session=True))
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield {"address": address, "api_url": url, "work": str(work)}
    finally:
        for proc in reversed(procs):
            try:
                os.killpg(proc.pid, 15)
            except ProcessLookupError:
                pass
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)


def _import(paths: list[str], store: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KINDPACE, "import", *paths, "--store", str(store), "--config", CONFIG, "--json", *extra],
                          env=env, capture_output=True, text=True, timeout=900)


def _reads_per_worker(address: str) -> dict[str, int]:
    """How many of the import's read tasks each worker ran, from the workers' own transition logs."""
    from distributed import Client

    def ran(dask_worker) -> int:  # type: ignore[no-untyped-def]
        return len({str(e[0]) for e in dask_worker.state.log
                    if str(e[0]).startswith("read_on_cluster") and len(e) > 2 and e[2] == "memory"})

    with Client(address, timeout="60s") as client:
        return dict(client.run(ran))


def test_a_dask_cluster_imports_the_corpus_into_exactly_the_store_a_local_import_gives(
        corpus: Path, cluster: dict[str, str], tmp_path: Path):
    local = tmp_path / "local"
    done = _import([str(corpus)], local, local_env())
    assert done.returncode == 0, done.stderr[-2000:]

    on_cluster = tmp_path / "dask"
    env = _env(local_env(), PREFECT_API_URL=cluster["api_url"])
    for attempt in range(2):  # one retry where the cluster dropped a connection on this loaded machine
        shutil.rmtree(on_cluster, ignore_errors=True)
        ran = _import([str(corpus)], on_cluster, env, "--dask", cluster["address"])
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
    per_worker = _reads_per_worker(cluster["address"])
    assert len(per_worker) == 2 and all(n >= 1 for n in per_worker.values()), per_worker
    assert not any((on_cluster / ".athletes" / "athlete=me" / "staging").iterdir())


def test_dask_needs_a_prefect_server_the_workers_reach(tmp_path: Path):
    done = subprocess.run([KINDPACE, "import", str(ROOT / "samples" / "activities"), "--store", str(tmp_path / "s"),
                           "--config", CONFIG, "--dask", "tcp://127.0.0.1:1"], env=local_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "PREFECT_API_URL" in done.stderr
    assert not (tmp_path / "s" / "activities" / "athlete=me" / "activities.parquet").exists()
