"""Exports round-trip: every format read back by pandas and DuckDB with the documented columns, and
`frictionless validate` passing on the Data Package beside them; dates local and inclusive; GPS kept out
of what is shared when asked."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import frictionless
import numpy as np
import pandas as pd
import pytest

from kindpace.cli import main
from pipeline.normalize import haversine_m
from pipeline.store import Store
from tests.conftest import ROOT, SAMPLES

ALL = "activities,runs,weekly,monthly,records"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Store, list[str]]:
    root = tmp_path_factory.mktemp("export")
    config = root / "kindpace.toml"
    shutil.copy(ROOT / "samples" / "kindpace.toml", config)  # timezone Europe/Berlin
    common = ["--store", str(root / "store"), "--config", str(config)]
    assert main(["import", str(SAMPLES), *common]) == 0
    return Store(root / "store"), common


def _read(path: Path, fmt: str) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(path)
    if fmt == "json":
        return pd.read_json(path, lines=True)
    return pd.read_parquet(path)


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_every_format_reads_back_and_validates(store, tmp_path: Path, fmt: str):
    s, common = store
    out = tmp_path / fmt
    assert main(["export", "--what", ALL, "--format", fmt, "--out", str(out), *common]) == 0
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    assert package["kindpace"]["schema_version"] and package["kindpace"]["timezone"] == "Europe/Berlin"
    report = frictionless.validate(out / "datapackage.json")
    assert report.valid, report.flatten(["taskName", "rowNumber", "fieldName", "type", "note"])[:5]
    suffix = {"csv": "csv", "json": "jsonl", "parquet": "parquet"}[fmt]
    for resource in package["resources"]:
        path = out / resource["path"]
        columns = [f["name"] for f in resource["schema"]["fields"]]
        frame = _read(path, fmt)
        assert list(frame.columns) == columns, resource["name"]
        reader = {"csv": "read_csv", "json": "read_json", "parquet": "read_parquet"}[fmt]
        rel = duckdb.sql(f"select * from {reader}('{path}')")
        assert rel.columns == columns and len(rel.fetchall()) == len(frame)
        assert path.suffix == f".{suffix}"
    fields = {f["name"]: f for r in package["resources"] if r["name"] == "runs" for f in r["schema"]["fields"]}
    assert (fields["distance_m"]["unit"], fields["distance_m"]["type"]) == ("m", "number")
    assert fields["start_time"]["type"] == "datetime" and "UTC" in fields["start_time"]["description"]
    runs = _read(out / f"runs.{suffix}", fmt)
    assert len(runs) == 5 and sorted(runs["category"]) == ["gentle"] * 4 + ["too_hard"]
    assert sorted(runs["distance_m"].round(2))[-1] == 8820.0  # the long run's 2 x 4410 m
    records = _read(out / f"records.{suffix}", fmt)
    assert len(records) == sum(s.read("activities")["record_count"].to_pylist())


def test_csv_dates_are_what_a_spreadsheet_reads(store, tmp_path: Path):
    _, common = store
    assert main(["export", "--what", "runs,weekly", "--out", str(tmp_path), *common]) == 0
    first = (tmp_path / "runs.csv").read_text(encoding="utf-8").splitlines()[1]
    # the easy run: 06:30 UTC, 07:30 in Berlin, as YYYY-MM-DD HH:MM:SS
    assert '"2026-11-17 06:30:00",3600,"Europe/Berlin","2026-11-17 07:30:00"' in first
    weekly = pd.read_csv(tmp_path / "weekly.csv", parse_dates=["week_start_utc"])
    assert list(weekly["week"]) == ["2026-W47", "2026-W48"]
    assert str(weekly["week_start_utc"][0]) == "2026-11-15 23:00:00"  # Monday 16 Nov, 00:00 in Berlin
    assert list(weekly["runs"]) == [4, 1] and list(weekly["gentle_runs"]) == [3, 1]


def test_dates_are_local_and_inclusive(store, tmp_path: Path):
    _, common = store
    # the harder run starts 2026-11-19 17:10 UTC, 18:10 in Berlin; the long run on the 22nd
    assert main(["export", "--what", "runs", "--since", "2026-11-19", "--until", "2026-11-22", "--out",
                 str(tmp_path), *common]) == 0
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert [d[:10] for d in runs["start_time_local"]] == ["2026-11-19", "2026-11-21", "2026-11-22"]
    assert main(["export", "--since", "2026-11-23", "--until", "2026-11-22", "--out", str(tmp_path), *common]) == 2


def test_no_gps_and_trimmed_gps(store, tmp_path: Path):
    s, common = store
    assert main(["export", "--what", "records", "--no-gps", "--format", "parquet", "--out",
                 str(tmp_path / "none"), *common]) == 0
    assert "latitude_deg" not in pd.read_parquet(tmp_path / "none" / "records.parquet").columns
    assert main(["export", "--what", "records", "--trim-gps", "300", "--format", "parquet", "--out",
                 str(tmp_path / "trim"), *common]) == 0
    trimmed = pd.read_parquet(tmp_path / "trim" / "records.parquet")
    for aid, kept in trimmed.groupby("activity_id"):
        whole = s.read_activity("records", aid).to_pandas()
        if whole["latitude_deg"].isna().all():
            continue  # the treadmill run has no positions to hide
        fixes = whole.dropna(subset=["latitude_deg"])
        ends = fixes.iloc[[0, -1]][["latitude_deg", "longitude_deg"]].to_numpy()
        shown = kept.dropna(subset=["latitude_deg"])
        assert 0 < len(shown) < len(fixes)
        for lat, lon in ends:  # nothing shown within 300 m of where the run started or ended
            d = haversine_m(shown["latitude_deg"].to_numpy(), shown["longitude_deg"].to_numpy(),
                            np.full(len(shown), lat), np.full(len(shown), lon))
            assert d.min() > 300
        hidden = fixes.loc[~fixes["timestamp"].isin(shown["timestamp"])]
        assert len(hidden) == len(fixes) - len(shown)


def test_the_frictionless_command_validates_an_export_too(store, tmp_path: Path):
    _, common = store
    assert main(["export", "--what", "weekly,monthly", "--format", "json", "--out", str(tmp_path), *common]) == 0
    cli = Path(sys.executable).with_name("frictionless")
    done = subprocess.run([str(cli), "validate", str(tmp_path / "datapackage.json")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:]


def test_rest_weeks_from_the_command_line(store, capsys):
    s, common = store
    assert main(["rest", "--week", "2026-W48", *common]) == 0
    assert "2026-W48 is a rest week" in capsys.readouterr().out
    weeks = {w["week"]: w for w in s.read("weekly").to_pylist()}
    assert weeks["2026-W48"]["rest_week"] and not weeks["2026-W48"]["gentle_week"]
    assert main(["rest", "--week", "2026-W48", "--undo", *common]) == 0
    assert not {w["week"]: w for w in s.read("weekly").to_pylist()}["2026-W48"]["rest_week"]
    assert main(["rest", "--week", "week 48", *common]) == 2
    assert date(2026, 11, 23) == {w["week"]: w for w in s.read("weekly").to_pylist()}["2026-W48"]["week_start"]
