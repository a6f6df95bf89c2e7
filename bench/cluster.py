"""A real dask.distributed cluster on loopback for the tests and the bench: a Prefect server, a scheduler and
N workers, each its own process (as on separate machines, they share only the network and the folders)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@contextmanager
def local_cluster(work: Path, workers: int = 2, base_env: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """Yields {"address": the scheduler's tcp:// address, "api_url": the Prefect server's API, "env": the
    environment the cluster runs in (PREFECT_API_URL set: pass it to `kindpace ... --dask`), "workers": each
    worker's process group}. Each worker has one thread and a working folder of its own; everything is
    stopped on exit."""
    from distributed import Client

    from kindpace.serve import start_server

    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in (base_env or os.environ).items() if k != "PREFECT_API_URL"}
    # the workers import kindpace to run its tasks: this checkout, whatever their working folder
    env.update(PYTHONPATH=str(ROOT), PREFECT_HOME=str(work / "prefect"), DO_NOT_TRACK="1",
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    server, url = start_server(work / "prefect-server.log", env=env)
    env["PREFECT_API_URL"] = url
    procs: list[subprocess.Popen[bytes]] = [server]
    scheduler_file = work / "scheduler.json"

    def start(args: list[str], cwd: Path, log: str) -> None:
        with open(work / log, "wb") as out:
            procs.append(subprocess.Popen([str(BIN / "dask"), *args, "--no-dashboard"], cwd=cwd, env=env,
                                          stdout=out, stderr=subprocess.STDOUT, start_new_session=True))

    try:
        start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(scheduler_file)],
              work, "scheduler.log")
        deadline = time.monotonic() + 60
        while not scheduler_file.exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Dask scheduler did not start; see {work / 'scheduler.log'}")
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for k in range(workers):
            folder = work / f"worker-{k}"
            folder.mkdir(exist_ok=True)
            start(["worker", address, "--nthreads", "1", "--name", f"w{k}"], folder, f"worker-{k}.log")
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=120)
        yield {"address": address, "api_url": url, "env": env, "workers": [p.pid for p in procs[2:]]}
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


def reads_per_worker(address: str) -> dict[str, int]:
    """How many of the import's read tasks each worker ran, from the workers' own transition logs."""
    from distributed import Client

    def ran(dask_worker) -> int:  # type: ignore[no-untyped-def]
        return len({str(e[0]) for e in dask_worker.state.log
                    if str(e[0]).startswith("read_on_cluster") and len(e) > 2 and e[2] == "memory"})

    with Client(address, timeout="60s") as client:
        return dict(client.run(ran))
