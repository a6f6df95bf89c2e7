"""What the reliability tests share: a store's contents for comparison, and a kindpace CLI in Prefect's
local mode."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

from pipeline.store import PER_ACTIVITY, WHOLE, Store
from tests.conftest import ROOT

KINDPACE = str(Path(sys.executable).with_name("kindpace"))
CONFIG = str(ROOT / "samples" / "kindpace.toml")
WHEN_WRITTEN = {"imported_at", "seen_at", "assessed_at", "updated_at", "made_at", "marked_at", "started_at",
                "finished_at"}


def local_env() -> dict[str, str]:
    """This environment without a Prefect server: each kindpace run in Prefect's local mode, its own server."""
    return {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}


def contents(root: Path | str, killed: bool = False) -> dict[str, object]:
    """Every table as sorted rows without the times of writing; per-activity tables by activity. Fails
    where the store holds an activity or a ledger row twice, or a per-activity file no activity names;
    `killed`: right after a writer was killed, where such files are allowed (the store's contract: a run's
    files count once the activities table names it; the next writer sweeps the others), and left out."""
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
        files = {p.stem for p in store.files.listdir(store.table_dir(table)) if p.suffix == ".parquet"}
        if killed:
            files &= set(ids)
        assert files <= set(ids), f"{table}: files no activity names"
        out[table] = {aid: store.read_activity(table, aid).to_pylist() for aid in sorted(files)}
    out["originals"] = sorted(p.name for p in store.files.listdir(store.root / "originals")
                              if not p.name.startswith("."))
    return out


def rows_lost(expected: dict[str, object], got: dict[str, object]) -> int:
    """How many rows (and originals) of `expected` (contents()) `got` lacks."""
    def counted(rows: object) -> Counter[str]:
        if isinstance(rows, dict):
            return Counter(f"{aid}:{row!r}" for aid, part in rows.items() for row in part)
        assert isinstance(rows, list)
        return Counter(map(repr, rows))

    return sum(sum((counted(rows) - counted(got.get(table, []))).values()) for table, rows in expected.items())


def tally(**counts: int) -> None:
    """Add to the reliability report (`make reliability`): counts of what a test did and found, appended
    as one JSON line to $KINDPACE_RELIABILITY_REPORT where it is set (pytest-xdist workers append too)."""
    target = os.environ.get("KINDPACE_RELIABILITY_REPORT")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps(counts) + "\n")
