"""`kindpace activity delete|set-sport|set-timezone|rename|unmerge`: applied at once, kept in the
corrections table, and still applied after `kindpace reimport` rebuilds everything from the originals."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from kindpace.cli import main
from pipeline.corrections import CorrectionError, zone_offset
from pipeline.importer import discover, originals_in_order, run_batches
from pipeline.store import Store
from tests.conftest import ROOT, SAMPLES
from tests.unit.test_import import _gpx_copy


def _setup(tmp_path: Path, files: dict[str, bytes | str]) -> tuple[Store, list[str]]:
    folder = tmp_path / "watch"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    config = tmp_path / "kindpace.toml"
    shutil.copy(ROOT / "samples" / "kindpace.toml", config)
    store = Store(tmp_path / "store")
    common = ["--store", str(store.root), "--config", str(config)]
    assert main(["import", str(folder), *common]) == 0
    return store, common


def _acts(store: Store) -> dict[str, dict]:
    return {a["source_path"].rsplit("/", 1)[-1]: a for a in store.read("activities").to_pylist()}


def _reimport(store: Store) -> None:
    run_batches(store, originals_in_order(store), "me", reset=True)


def test_zone_offsets_by_hand():
    november = datetime(2026, 11, 17, 6, 30, tzinfo=UTC)
    assert zone_offset("Europe/Berlin", november) == ("Europe/Berlin", 3600)  # CET
    assert zone_offset("America/New_York", november) == ("America/New_York", -5 * 3600)  # EST
    assert zone_offset("Europe/Berlin", datetime(2026, 7, 1, tzinfo=UTC))[1] == 7200  # CEST
    assert zone_offset("+05:30", november) == (None, 19800)
    assert zone_offset("UTC-5", november) == (None, -18000)
    for bad in ("Mars/Olympus", "+15:00", ""):
        with pytest.raises(CorrectionError):
            zone_offset(bad, november)


def test_sport_zone_and_name_corrections_apply_at_once_and_survive_a_reimport(tmp_path: Path, capsys):
    store, common = _setup(tmp_path, {"easy-run.fit": (SAMPLES / "easy-run.fit").read_bytes(),
                                      "phone-run.gpx": (SAMPLES / "phone-run.gpx").read_bytes()})
    easy, phone = _acts(store)["easy-run.fit"], _acts(store)["phone-run.gpx"]
    capsys.readouterr()
    assert main(["activity", "set-sport", phone["activity_id"][:8], "walking", *common]) == 0
    assert "Not assessed" in capsys.readouterr().out  # judged again: a walk gets no running verdict
    assert main(["activity", "set-timezone", easy["activity_id"], "America/New_York", *common]) == 0
    assert "local start is now 2026-11-17 01:30 (UTC-5)" in capsys.readouterr().out  # 06:30 UTC - 5 h
    assert main(["activity", "rename", easy["activity_id"], "Trip run", *common]) == 0

    def check() -> None:
        acts = _acts(store)
        assert (acts["phone-run.gpx"]["sport"], acts["phone-run.gpx"]["source_sport"]) == ("walking", "running")
        e = acts["easy-run.fit"]
        assert (e["timezone"], e["utc_offset_s"], e["utc_offset_source"], e["name"]) == (
            "America/New_York", -18000, "runner", "Trip run")
        assert e["start_time_local"] == datetime(2026, 11, 17, 1, 30)
        for table in ("records", "laps"):  # every row of the run carries the corrected offset
            assert set(store.read_activity(table, e["activity_id"])["utc_offset_s"].to_pylist()) == {-18000}
        verdicts = {r["activity_id"]: (r["category"], r["reasons"]) for r in store.read("gentleness").to_pylist()}
        assert verdicts[acts["phone-run.gpx"]["activity_id"]] == ("not_assessed", ["not_a_run"])

    check()
    _reimport(store)
    check()
    rows = duckdb.sql(f"select action, value, origin from read_parquet('{store.root}/corrections/*/*.parquet') "
                      "order by made_at, action").fetchall()
    assert sorted(rows) == sorted([("set_sport", "walking", "runner"), ("set_timezone", "America/New_York", "runner"),
                                   ("set_name", "Trip run", "runner")])


def test_bad_corrections_are_refused_before_anything_is_written(tmp_path: Path, capsys):
    store, common = _setup(tmp_path, {"easy-run.fit": (SAMPLES / "easy-run.fit").read_bytes()})
    assert main(["activity", "set-sport", "last", "jogging-ish", *common]) == 2
    assert main(["activity", "set-timezone", "last", "Mars/Olympus", *common]) == 2
    assert main(["activity", "unmerge", "last", *common]) == 2
    assert "nothing to unmerge" in capsys.readouterr().err
    assert store.read("corrections").num_rows == 0


def test_a_deleted_run_stays_out_even_from_another_file_of_the_same_run(tmp_path: Path):
    easy = (SAMPLES / "easy-run.fit").read_bytes()
    store, common = _setup(tmp_path, {"easy-run.fit": easy,
                                      "treadmill-run.fit": (SAMPLES / "treadmill-run.fit").read_bytes()})
    gone = _acts(store)["easy-run.fit"]["activity_id"]
    assert main(["activity", "delete", gone, *common]) == 0
    assert set(_acts(store)) == {"treadmill-run.fit"}
    assert not store.table_file("records", gone).exists()
    assert gone not in store.read("gentleness")["activity_id"].to_pylist()
    # the same file again, and a phone's GPX of the same run: both recognised, neither imported
    other = tmp_path / "phone"
    other.mkdir()
    (other / "easy-run.fit").write_bytes(easy)
    (other / "same-run.gpx").write_text(_gpx_copy(SAMPLES / "easy-run.fit"))
    report = run_batches(store, discover([other]), "me")
    assert report["counts"]["imported"] == 0 and report["counts"]["duplicate"] == 2
    assert any("the runner deleted this run" in (f["reason"] or "") for f in report["files"])
    _reimport(store)
    assert set(_acts(store)) == {"treadmill-run.fit"}


def test_unmerge_makes_two_runs_of_files_taken_for_one_and_a_reimport_keeps_them_apart(tmp_path: Path):
    store, common = _setup(tmp_path, {"easy-run.fit": (SAMPLES / "easy-run.fit").read_bytes(),
                                      "partner.gpx": _gpx_copy(SAMPLES / "easy-run.fit")})
    (merged,) = store.read("activities").to_pylist()
    assert len(merged["duplicate_sources"]) == 1  # the GPX was taken for the same run
    assert main(["activity", "unmerge", merged["activity_id"], *common]) == 0
    acts = _acts(store)
    assert set(acts) == {"easy-run.fit", "partner.gpx"}
    assert acts["easy-run.fit"]["activity_id"] == merged["activity_id"]
    assert not acts["easy-run.fit"]["duplicate_sources"]
    assert {r["activity_id"] for r in store.read("gentleness").to_pylist()} == {a["activity_id"] for a in acts.values()}
    before = store.read("activities").drop(["imported_at"])
    _reimport(store)
    assert store.read("activities").drop(["imported_at"]).equals(before)
