"""Prefect flows: orchestration only, thin wrappers over pipeline/.

Prefect reads its settings when it is first imported, and `prefect.toml` only from the working
directory, so the settings kindpace needs are put in the environment here, before any flow module
imports Prefect (a value already in the environment wins, so a runner can still override each one).
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

from kindpace.config import user_data_dir

PREFECT_DEFAULTS = {
    # Local mode: a temporary server per process, its database in kindpace's own data folder.
    "PREFECT_HOME": str(user_data_dir() / "prefect"),
    # Offline and quiet: no telemetry, no update checks (prefect.md §2.4: zero external connections).
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    # The default of 20 s is exceeded on a loaded 2-core machine with a fresh database (prefect.md §2.3).
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
    # Record task runs in batches, so the temporary server has flushed them before it exits (§5.3).
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "200",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "200",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "200",
    "PREFECT_TASKS_RUNNER_THREAD_POOL_MAX_WORKERS": "4",
}


def _served_api_url() -> str | None:
    """The API of the Prefect server a running `kindpace serve` started, if it is still alive."""
    state = user_data_dir() / "server.json"
    try:
        known = json.loads(state.read_text(encoding="utf-8"))
        os.kill(int(known["pid"]), 0)
        # a pid can be reused after a crash: only a server that answers counts
        with urllib.request.urlopen(f"{known['api_url']}/health", timeout=2) as answer:
            return str(known["api_url"]) if answer.status == 200 else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def configure_prefect() -> None:
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    if "PREFECT_API_URL" not in os.environ and (url := _served_api_url()):
        os.environ["PREFECT_API_URL"] = url  # while serve runs, every command's flow runs show in its UI
    # Prefect creates its home without parents and then cannot open its database: make the path.
    Path(os.environ["PREFECT_HOME"]).expanduser().mkdir(parents=True, exist_ok=True)


configure_prefect()
