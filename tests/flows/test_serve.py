"""The inbox watcher for real (watchdog), and `kindpace serve` end to end: a real Prefect server, a file
copied slowly into the inbox imported exactly once, a broken one quarantined, a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.store import Store
from pipeline.sync import SourceSpec, sync
from tests.conftest import SAMPLES

BROKEN_FIT = b"\x0e\x10\x00\x00" + b"\x00" * 4 + b".FIT" + b"\xff" * 20


def _copy_slowly(source: Path, target: Path, pause_s: float = 1.0) -> None:
    data = source.read_bytes()
    with open(target, "wb") as out:
        for start in range(0, len(data), len(data) // 3 + 1):
            out.write(data[start:start + len(data) // 3 + 1])
            out.flush()
            time.sleep(pause_s)


def _wait_for(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_the_watcher_imports_slowly_copied_files_once_and_quarantines_a_broken_one(tmp_path: Path):
    from kindpace.serve import InboxWatcher

    store, inbox = Store(tmp_path / "store"), tmp_path / "inbox"
    calls: list[list[str]] = []

    def import_ready(files: list[Path]) -> None:
        calls.append(sorted(f.name for f in files))
        sync(store, [SourceSpec("inbox", str(inbox))], "me", only={str(f) for f in files})

    watcher = InboxWatcher([inbox], import_ready, settle_s=1.5, poll_s=0.2)
    watcher.start()
    try:
        copies = [threading.Thread(target=_copy_slowly, args=(SAMPLES / name, inbox / name))
                  for name in ("easy-run.fit", "harder-stretch-run.fit")]
        for t in copies:
            t.start()
        (inbox / "sub").mkdir()
        (inbox / "sub" / "broken.fit").write_bytes(BROKEN_FIT)
        for t in copies:
            t.join()
        assert _wait_for(lambda: store.read("activities").num_rows == 2 and not list(inbox.glob("*.fit")), 60)
        time.sleep(2.0)  # nothing more happens afterwards
    finally:
        watcher.stop()
    names = [n for call in calls for n in call]
    assert sorted(names) == ["broken.fit", "easy-run.fit", "harder-stretch-run.fit"]  # each exactly once
    assert (inbox / "quarantine" / "broken.fit").exists()
    assert "quarantined" in (inbox / "quarantine" / "broken.fit.reason.txt").read_text()
    assert {p.name for p in (inbox / "processed").rglob("*.fit")} == {"easy-run.fit", "harder-stretch-run.fit"}
    assert store.read("imports").num_rows == 3


@pytest.mark.flow
def test_serve_starts_a_server_imports_a_dropped_file_and_stops_cleanly(tmp_path: Path):
    data, inbox = tmp_path / "data", tmp_path / "data" / "kindpace" / "inbox"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(XDG_DATA_HOME=str(data), KINDPACE_CONFIG=str(tmp_path / "kindpace.toml"), PYTHONUNBUFFERED="1")
    cli = [sys.executable, "-m", "kindpace.cli"]
    assert subprocess.run([*cli, "init"], env=env, capture_output=True, timeout=60).returncode == 0
    # a watch that has not been plugged in for three syncs: serve itself must tell, through on_warning
    config = tmp_path / "kindpace.toml"
    told = tmp_path / "told.txt"
    text = config.read_text(encoding="utf-8").replace(
        '# on_warning = "notify-send kindpace"', f'on_warning = "echo \\"$KINDPACE_WARNING\\" >> {told}"')
    config.write_text(text + f'\n[[source]]\nkind = "watch"\npath = "{tmp_path / "unplugged"}"\n', encoding="utf-8")
    for _ in range(3):
        sync(Store(data / "kindpace" / "store"), [SourceSpec("watch", str(tmp_path / "unplugged"))], "me")
    log = open(tmp_path / "serve.log", "wb")
    serve = subprocess.Popen([*cli, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        text = lambda: (tmp_path / "serve.log").read_text(errors="replace")  # noqa: E731
        assert _wait_for(lambda: "Serving:" in text(), 240), text()
        assert _wait_for(lambda: told.exists(), 60), text()
        assert "source_unreachable" in told.read_text() and "unplugged" in told.read_text()
        state = data / "kindpace" / "server.json"
        assert state.exists()
        _copy_slowly(SAMPLES / "easy-run.fit", inbox / "easy-run.fit", pause_s=0.7)
        (inbox / "broken.fit").write_bytes(BROKEN_FIT)
        store = Store(data / "kindpace" / "store")
        assert _wait_for(lambda: (inbox / "quarantine" / "broken.fit").exists()
                         and store.read("activities").num_rows == 1, 120), text()
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=60) == 0, text()
    finally:
        if serve.poll() is None:
            serve.kill()
        log.close()
    assert "kindpace serve stopped." in text() and not state.exists()
    assert store.read("imports").num_rows == 2
