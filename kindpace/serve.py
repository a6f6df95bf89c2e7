"""`kindpace serve`: the nightly sync on a Prefect schedule, and the inbox watched for dropped files.

- Prefect's `serve` needs a real server (prefect.md §3.1). Without PREFECT_API_URL, serve starts
  `prefect server start` on loopback, writes its address to `<data dir>/server.json` so other
  kindpace commands use it while it lives, and stops it on exit.
- Nights missed while serve was down: the schedule keeps Prefect's default (`pause_on_shutdown`), so
  missed runs are not replayed all at once; instead serve runs one catch-up sync at start when the
  last successful sync is more than a day old. The sync is incremental, so a skipped night loses
  nothing: the next pass reads everything new.
- The inbox: watchdog events mark files; a file is imported once its size and modification time
  have not changed for `settle_s` (it has finished copying), many files dropped at once in one sync.
  Handled files leave the inbox (processed/, quarantine/), so each is imported exactly once.
- Sync health: serve checks it after its catch-up sync, after each inbox import and every
  `HEALTH_EVERY` (and the nightly sync is followed by the next check), and runs the config's `on_warning`
  command once for each warning that is new, as `kindpace status` does: a runner who never types
  `kindpace status` is still told when the watch files stop arriving.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kindpace.config import Config, club, machine_timezone, user_data_dir

SETTLE_S = 2.0
POLL_S = 0.5
CATCH_UP_AFTER = timedelta(hours=24)
HEALTH_EVERY = timedelta(minutes=30)


def state_file() -> Path:
    return user_data_dir() / "server.json"


class InboxWatcher:
    """Calls `on_ready(files)` with the inbox files that have finished arriving; never twice for a file
    that is still there unchanged after the call (it was moved out, or it failed and stays put)."""

    def __init__(self, inboxes: list[Path], on_ready: Callable[[list[Path]], None], settle_s: float = SETTLE_S,
                 poll_s: float = POLL_S) -> None:
        self.inboxes = [p.resolve() for p in inboxes]
        self.on_ready, self.settle_s, self.poll_s = on_ready, settle_s, poll_s
        self._pending: dict[Path, tuple[float, int, int]] = {}  # path -> (last change seen, size, mtime_ns)
        self._failed: dict[Path, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._observer: Any = None
        self._thread = threading.Thread(target=self._loop, name="kindpace-inbox", daemon=True)

    def _wanted(self, path: Path) -> bool:
        for inbox in self.inboxes:
            if path.is_relative_to(inbox):
                top = path.relative_to(inbox).parts[0]
                return top not in ("processed", "quarantine") and not path.name.startswith(".")
        return False

    def mark(self, path: Path) -> None:
        if self._wanted(path):
            with self._lock:
                self._pending[path] = (time.monotonic(), -1, -1)

    def start(self) -> None:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if not event.is_directory:
                    target = getattr(event, "dest_path", "") or event.src_path
                    watcher.mark(Path(os.fsdecode(target)))

        self._observer = Observer()
        for inbox in self.inboxes:
            inbox.mkdir(parents=True, exist_ok=True)
            self._observer.schedule(Handler(), str(inbox), recursive=True)
        self._observer.start()
        for inbox in self.inboxes:  # files dropped while nothing was watching
            for path in inbox.rglob("*"):
                if path.is_file():
                    self.mark(path)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=10)
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def _ready(self) -> list[Path]:
        now, ready = time.monotonic(), []
        with self._lock:
            for path, (changed, size, mtime) in list(self._pending.items()):
                try:
                    st = path.stat()
                except OSError:
                    del self._pending[path]  # gone (moved out, or a temporary name renamed)
                    continue
                if (st.st_size, st.st_mtime_ns) != (size, mtime):
                    self._pending[path] = (now, st.st_size, st.st_mtime_ns)
                elif now - changed >= self.settle_s and self._failed.get(path) != (size, mtime):
                    ready.append(path)
        return sorted(ready)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            ready = self._ready()
            if not ready:
                continue
            try:
                self.on_ready(ready)
            except Exception as exc:  # noqa: BLE001 - the watcher outlives one failed sync
                print(f"kindpace serve: importing {len(ready)} inbox file(s) failed: {exc}", file=sys.stderr)
            with self._lock:
                for path in ready:
                    if path.exists():  # still there: do not retry until it changes
                        st = path.stat()
                        self._failed[path] = (st.st_size, st.st_mtime_ns)
                    self._pending.pop(path, None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(log: Path, timeout_s: float = 180.0,
                 env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`prefect server start` on loopback (in `env`, else this environment); returns the process and its API
    URL once it is healthy."""
    port = _free_port()
    prefect = Path(sys.executable).with_name("prefect")
    cmd = [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server stopped at start (exit {proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise RuntimeError(f"prefect server did not answer within {timeout_s:.0f} s; see {log}")


def _last_sync(cfg: Config, athletes: list[str]) -> datetime | None:
    """When the last good sync of these athletes finished (the earliest of theirs: the one most behind)."""
    from pipeline.store import Store

    last = []
    for athlete in athletes:
        runs = [r for r in Store(cfg.store, athlete).read("sync_runs").to_pylist() if r["ok"]]
        last.append(max((r["finished_at"] for r in runs), default=None))
    return None if None in last or not last else min(t for t in last if t is not None)


def serve(cfg: Config) -> int:
    server = None
    if not os.environ.get("PREFECT_API_URL"):
        from flows import configure_prefect

        configure_prefect()
        server, url = start_server(user_data_dir() / "prefect-server.log")
        os.environ["PREFECT_API_URL"] = url
        state_file().write_text(json.dumps({"api_url": url, "pid": server.pid, "serve_pid": os.getpid()}))
        print(f"Prefect server (and its UI) at {url.removesuffix('/api')}", flush=True)
    try:
        return _serve(cfg)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
            state_file().unlink(missing_ok=True)


def _serve(cfg: Config) -> int:
    from prefect.schedules import Cron

    from flows.import_flow import sync as sync_flow

    config_path = str(cfg.path) if cfg.path.exists() else None
    sources = [{"kind": s.kind, "path": str(s.path)} for s in cfg.sources]
    inboxes = [s.path for s in cfg.sources if s.kind == "inbox"]

    def check_health() -> None:
        from kindpace.cli import status_warnings

        try:
            for code, message in status_warnings(cfg).warnings:
                print(f"{datetime.now():%Y-%m-%d %H:%M:%S} warning {code}: {message}", flush=True)
        except Exception as exc:  # a health check must never stop the serve
            print(f"{datetime.now():%Y-%m-%d %H:%M:%S} health check failed: {exc}", flush=True)

    def import_dropped(files: list[Path]) -> None:
        inbox_sources = [s for s in sources if s["kind"] == "inbox"]
        report = sync_flow(inbox_sources, str(cfg.store), cfg.athlete, config_path, [str(f) for f in files])
        counts = ", ".join(f"{k} {v}" for k, v in report["counts"].items() if v)
        print(f"{datetime.now():%Y-%m-%d %H:%M:%S} inbox: {counts or 'nothing new'}", flush=True)
        check_health()

    nightly: Any = sync_flow
    parameters: dict[str, Any] = {"sources": sources, "store_path": str(cfg.store), "athlete_id": cfg.athlete,
                                  "config_path": config_path, "dask": cfg.dask}
    if len(cfg.athletes) > 1:  # a club: every athlete with sources, each into their own partition
        from flows.import_flow import sync_every_athlete

        nightly = sync_every_athlete
        parameters = {"plan": club(cfg), "store_path": str(cfg.store), "config_path": config_path, "dask": cfg.dask}
    if cfg.dask:
        from flows.import_flow import on_engine

        nightly = on_engine(nightly, cfg.dask)

    watcher = InboxWatcher(inboxes, import_dropped)
    watcher.start()
    synced = [entry["athlete"] for entry in parameters["plan"]] if "plan" in parameters else [cfg.athlete]
    last = _last_sync(cfg, synced)
    stopping = threading.Event()

    def health_loop(catch_up: bool) -> None:
        if catch_up:  # first the sync a long downtime calls for (the night's, whole), so its absence is no warning
            try:
                nightly(**parameters)
            except Exception as exc:
                print(f"{datetime.now():%Y-%m-%d %H:%M:%S} catch-up sync failed: {exc}", flush=True)
        while not stopping.is_set():
            check_health()
            stopping.wait(HEALTH_EVERY.total_seconds())

    catch_up = bool(parameters.get("plan", sources)) and (last is None or datetime.now(UTC) - last > CATCH_UP_AFTER)
    threading.Thread(target=health_loop, args=(catch_up,), name="kindpace-health", daemon=True).start()
    hour, minute = cfg.nightly.split(":")
    zone = cfg.timezone or machine_timezone()

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"Serving: a sync every night at {cfg.nightly} ({zone}); watching "
          f"{', '.join(map(str, inboxes)) or 'no inbox'}. Ctrl-C or SIGTERM stops.", flush=True)
    try:
        nightly.serve(name="nightly", schedules=[Cron(f"{int(minute)} {int(hour)} * * *", timezone=zone)],
                      parameters=parameters, global_limit=1, print_starting_message=False)
    except KeyboardInterrupt:
        pass
    finally:
        stopping.set()
        watcher.stop()
    print("kindpace serve stopped.", flush=True)
    return 0
