"""The README's DuckDB queries, run as written (STORE and the export folder filled in) on the samples."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb

from kindpace.cli import main
from tests.conftest import ROOT, SAMPLES


def test_the_readme_queries_answer_on_the_samples(tmp_path: Path, monkeypatch):
    queries = re.findall(r"```sql\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.DOTALL)
    assert len(queries) == 3
    config = tmp_path / "kindpace.toml"
    shutil.copy(ROOT / "samples" / "kindpace.toml", config)
    store = tmp_path / "store"
    common = ["--store", str(store), "--config", str(config)]
    assert main(["import", str(SAMPLES), *common]) == 0
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--what", "weekly", "--out", "export", *common]) == 0
    answers = [duckdb.sql(q.replace("STORE", str(store))) for q in queries]
    monthly, harder, weekly = (a.fetchall() for a in answers)
    # 40 + 35 + 30 + 60 + 30 min = 3.25 h on feet; calm: W47 9397 of 9901 s judged, and the treadmill run's
    # 1801 s all at or below the edge line (its 9 minutes over the ceiling stayed within the edge band)
    assert monthly == [("2026-11", 5, 4, round(100 * (9397 + 1801) / (9901 + 1801)), 3.3)]
    assert [(row[1], row[2], row[4], row[6]) for row in harder] == [(5.8, "A harder run than your easy plan", 3.1,
                                                                     "surge")]
    assert [(w[0], w[1], w[2]) for w in weekly] == [("2026-W47", 4, 3), ("2026-W48", 1, 1)]
