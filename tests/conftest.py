"""Shared fixtures: the corpus (one configurable path) and the Prefect test harness (one per session)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "activities"


def corpus_root() -> Path:
    """KINDPACE_CORPUS, else ../shared/corpus beside the checkout."""
    return Path(os.environ.get("KINDPACE_CORPUS", ROOT.parent / "shared" / "corpus")).resolve()


def manifest() -> list[dict[str, str]]:
    """MANIFEST.csv rows with `path` resolved (its paths are relative to the folder holding shared/)."""
    root = corpus_root()
    rows = list(csv.DictReader(open(root / "MANIFEST.csv", encoding="utf-8")))
    for row in rows:
        row["path"] = str(root / Path(row["file"]).relative_to("shared/corpus"))
    return rows


@pytest.fixture(scope="session")
def corpus() -> Path:
    root = corpus_root()
    if not (root / "MANIFEST.csv").exists():
        pytest.skip(f"corpus not found at {root} (set KINDPACE_CORPUS to the folder holding MANIFEST.csv)")
    return root


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    """One Prefect test server for every flow test of the session (start-up costs seconds)."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    from prefect.testing.utilities import prefect_test_harness

    import flows  # noqa: F401  (sets the quiet, offline defaults before Prefect loads)

    with prefect_test_harness(server_startup_timeout=120):
        yield
