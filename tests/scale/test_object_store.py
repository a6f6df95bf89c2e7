"""A store on object storage: an S3-compatible server on loopback (moto's standalone server, started here)
holds a store that imports, syncs and exports exactly like a local one, and whose commits survive a kill."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.history import history
from pipeline import parallel
from pipeline.files import ObjectFiles
from pipeline.importer import discover, run_batches
from pipeline.store import Store
from tests.conftest import SAMPLES
from tests.reliability.common import CONFIG, KINDPACE, contents, local_env, rows_lost
from tests.unit.test_import import _gpx_copy

BIN = Path(sys.executable).parent
BUCKET = "club"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """moto's S3 server on a loopback port, and the environment that points s3fs (and so kindpace) at it."""
    pytest.importorskip("s3fs", reason="s3fs is a test dependency: pip install -e '.[test]'")
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    server = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "kindpace", "AWS_SECRET_ACCESS_KEY": "kindpace",
           "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"moto's server did not start; see {log}") from None
                time.sleep(0.2)
        import s3fs

        s3fs.S3FileSystem.clear_instance_cache()
        s3fs.S3FileSystem().mkdir(BUCKET)
        yield env
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([KINDPACE, *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_a_store_on_object_storage_imports_syncs_and_exports_like_a_local_one(s3: dict[str, str], tmp_path: Path):
    runs = history(tmp_path / "runs", 3 * parallel.MIN_FILES)  # enough for the pool: its workers write to S3 too
    # a GPX copy of the first run, read before it: the FIT then takes the activity over (its staged tables
    # read back from the bucket and renamed)
    (tmp_path / "runs" / "0000-copy.gpx").write_text(_gpx_copy(runs[0]))
    watch = tmp_path / "watch"
    watch.mkdir()
    config = tmp_path / "kindpace.toml"
    config.write_text(Path(CONFIG).read_text() + f'\n[[source]]\nkind = "folder"\npath = "{watch}"\n')
    remote = f"s3://{BUCKET}/store-{uuid.uuid4().hex[:8]}"
    env = {**local_env(), **s3}
    reports = {}
    for name, store in (("local", str(tmp_path / "local")), ("remote", remote)):
        common = ["--store", store, "--config", str(config)]
        imported = json.loads(_cli("import", str(tmp_path / "runs"), str(SAMPLES), *common, "--json", env=env).stdout)
        for f in runs[:2]:  # two new files on the watch: the sync takes them (same names, same times, both rounds)
            os.link(f, watch / f"new-{f.name}")
        synced = json.loads(_cli("sync", *common, "--json", env=env).stdout)
        for f in watch.iterdir():
            f.unlink()
        _cli("export", "--what", "runs,weekly", "--format", "csv", "--out", str(tmp_path / f"out-{name}"),
             *common, env=env)
        reports[name] = (imported["counts"], synced["counts"])
    assert reports["remote"] == reports["local"]
    assert reports["local"][0]["imported"] == len(runs) + 1 + 5  # the copy too: it was a run until the FIT came
    assert reports["local"][1]["duplicate"] == 2
    taken_over = [a for a in Store(remote).read("activities").to_pylist() if a["duplicate_sources"]]
    assert len(taken_over) == 1 and taken_over[0]["source_path"].endswith(runs[0].name)

    expected, got = contents(tmp_path / "local"), contents(remote)
    assert rows_lost(expected, got) == 0 and rows_lost(got, expected) == 0
    assert got == expected
    for table in ("runs.csv", "weekly.csv"):
        assert (tmp_path / "out-remote" / table).read_bytes() == (tmp_path / "out-local" / table).read_bytes()

    # nothing left half-done on the bucket, and no directory markers: s3fs readers (pandas) read the tables
    import pandas as pd
    import s3fs

    objects = s3fs.S3FileSystem().find(remote.removeprefix("s3://"))
    assert not [o for o in objects if o.endswith((".tmp", ".commit", "/")) or "/staging/" in o]
    records = pd.read_parquet(f"{remote}/records")
    activities = pd.read_parquet(f"{remote}/activities/athlete=me/activities.parquet")
    assert len(records) == activities["record_count"].sum() and set(records["athlete"]) == {"me"}


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even `except Exception` handlers."""


def test_a_commit_on_object_storage_killed_between_its_copies_is_finished_by_the_next_writer(
        s3: dict[str, str], monkeypatch):
    monkeypatch.setenv("KINDPACE_WORKERS", "1")
    store = Store(f"s3://{BUCKET}/commit-{uuid.uuid4().hex[:8]}")
    run_batches(store, discover([SAMPLES]), "me")
    activities, imports = store.read("activities"), store.read("imports")
    assert activities.num_rows == 5 and imports.num_rows == 5
    copies = 0
    real_replace = ObjectFiles.replace

    def copy_then_die(self, src, dst):  # killed after the copy of the second table, before its source went
        nonlocal copies
        if str(src).endswith(".commit"):
            copies += 1
            if copies == 2:
                self.fs.copy(str(src), str(dst))
                raise Killed
        real_replace(self, src, dst)

    monkeypatch.setattr(ObjectFiles, "replace", copy_then_die)
    with pytest.raises(Killed):
        store.commit({"activities": activities.slice(0, 2), "imports": imports.slice(0, 2)})
    monkeypatch.setattr(ObjectFiles, "replace", real_replace)
    assert store.files.exists(store.private_dir() / "commit.json")
    with store.writer_lock():
        pass
    assert (store.read("activities").num_rows, store.read("imports").num_rows) == (2, 2)
    assert not store.files.exists(store.private_dir() / "commit.json")
    assert not [p for t in ("activities", "imports") for p in store.files.listdir(store.table_dir(t))
                if p.name.startswith(".")]
