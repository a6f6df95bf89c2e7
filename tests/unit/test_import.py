"""The import stages and the store, without Prefect: outcomes, idempotence, dedupe, read-back."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import duckdb
import gpxpy
import gpxpy.gpx
import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from pipeline import importer, parallel
from pipeline.importer import InputPathError, discover, run_batches
from pipeline.store import Store, StoreError
from schemas.tables import TABLES
from tests.conftest import SAMPLES


def _import(store: Store, *paths: Path | str) -> dict:
    return run_batches(store, discover(paths), "me")


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in root.rglob("*") if p.is_file() and p.name != "lock"}


def _by_name(report: dict) -> dict[str, dict]:
    return {Path(f["path"]).name: f for f in report["files"]}


@pytest.fixture()
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    shutil.copytree(SAMPLES, folder / "watch")
    (folder / "notes.csv").write_text("date,feel\n2026-11-17,good\n")
    (folder / "broken.fit").write_bytes(b"\x0e\x10\x00\x00" + b"\x00" * 4 + b".FIT" + b"\xff" * 20)
    gpx = gpxpy.gpx.GPX()
    gpx.waypoints.append(gpxpy.gpx.GPXWaypoint(47.0, 8.0, name="bench"))
    (folder / "places.gpx").write_text(gpx.to_xml())
    data = (SAMPLES / "harder-stretch-run.fit").read_bytes()
    (folder / "cut.fit").write_bytes(data[: len(data) // 2])
    return folder


def test_every_file_gets_exactly_one_outcome_with_a_reason(inbox: Path, tmp_path: Path):
    report = _import(Store(tmp_path / "store"), inbox)
    files = _by_name(report)
    assert len(report["files"]) == 9
    assert report["counts"] == {"imported": 6, "duplicate": 0, "not_activity": 1, "skipped": 1,
                                  "quarantined": 1, "waiting": 0}
    assert files["notes.csv"]["outcome"] == "skipped"
    assert files["places.gpx"]["outcome"] == "not_activity"
    assert "waypoints" in files["places.gpx"]["reason"]
    assert files["broken.fit"]["outcome"] == "quarantined"
    assert files["broken.fit"]["reason"]
    # half a run is salvaged as partial; at half the duration it is not "the same run" as the whole one
    assert files["cut.fit"]["outcome"] == "imported"
    assert any("partial" in w for w in files["cut.fit"]["warnings"])
    assert all(f["sha256"] and len(f["sha256"]) == 64 for f in report["files"])


def test_a_second_import_changes_nothing(inbox: Path, tmp_path: Path, monkeypatch):
    store = Store(tmp_path / "store")
    _import(store, inbox)
    before = _snapshot(store.root)
    decoded = []
    real = importer.decode_file
    monkeypatch.setenv("KINDPACE_WORKERS", "1")  # decode here, where the spy is, not in pool workers
    monkeypatch.setattr(importer, "decode_file", lambda data, path, *a: decoded.append(path) or real(data, path, *a))
    again = _import(store, inbox)
    # files already imported are recognised by their sha256 and not decoded again
    assert sorted(Path(p).name for p in decoded) == ["broken.fit", "notes.csv", "places.gpx"]
    assert _snapshot(store.root) == before
    imported = [f for f in again["files"] if f["outcome"] == "duplicate"]
    assert {f["reason"] for f in imported} == {"already imported"}
    assert again["counts"]["imported"] == 0


def test_tables_read_back_with_the_documented_schemas(tmp_path: Path):
    from pipeline.ceiling import ProfileVersion
    from pipeline.verdicts import Context, judge, set_note

    store = Store(tmp_path / "store")
    _import(store, SAMPLES)
    set_note(store, "me", store.read("activities").to_pylist()[0], talk="yes")
    judge(store, "me", Context(profiles=(ProfileVersion(age=40),)))
    from pipeline.amend import change

    change(store, "me", store.read("activities").to_pylist()[0], "set_name", "Morning loop")
    from pipeline.summaries import set_rest_week

    set_rest_week(store, "me", "2026-W49")
    from pipeline.sync import SourceSpec, sync

    (tmp_path / "watch").mkdir()
    shutil.copy2(SAMPLES / "easy-run.fit", tmp_path / "watch" / "easy-run.fit")
    sync(store, [SourceSpec("folder", str(tmp_path / "watch"))], "me")
    for name, schema in TABLES.items():
        folder = store.table_dir(name)
        assert folder == store.root / name / "athlete=me"
        if name == "developer_fields":  # the samples carry none
            assert not list(folder.glob("*.parquet"))
            continue
        dataset = ds.dataset(folder, format="parquet")
        assert dataset.schema.remove_metadata().equals(schema), name
        assert pq.read_schema(next(folder.glob("*.parquet"))).remove_metadata().equals(schema)
        assert len(pl.read_parquet(f"{folder}/*.parquet").columns) == len(schema)
        # the whole table as hive readers see it: every column, and the partition's key
        rel = duckdb.sql(f"select * from read_parquet('{store.root / name}/*/*.parquet')")
        assert rel.columns == [*schema.names, "athlete"]
        hive = ds.dataset(store.root / name, format="parquet", partitioning="hive")
        assert hive.schema.names == [*schema.names, "athlete"]
        if "athlete_id" in schema.names:
            assert duckdb.sql("select count(*) from rel where athlete <> athlete_id").fetchall() == [(0,)]
    n_records = duckdb.sql(f"select count(*) from read_parquet('{store.root}/records/*/*.parquet')").fetchall()[0][0]
    acts = store.read("activities")
    assert n_records == sum(acts["record_count"].to_pylist())


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_gpx_copy_of_a_fit_run_is_one_activity_whichever_arrives_first(tmp_path: Path, monkeypatch, workers: str):
    # with 2, a pool reads even one file, and the richer file's staged tables are renamed to the kept id
    monkeypatch.setenv("KINDPACE_WORKERS", workers)
    monkeypatch.setattr(parallel, "MIN_FILES", 1)
    fit = SAMPLES / "easy-run.fit"
    gpx_path = tmp_path / "export" / "easy-run.gpx"
    gpx_path.parent.mkdir()
    gpx_path.write_text(_gpx_copy(fit))

    store = Store(tmp_path / "a")
    first = _import(store, fit)
    second = _import(store, gpx_path)
    (fit_id,) = first["files"][0]["activity_ids"]
    assert second["files"][0]["outcome"] == "duplicate"
    assert second["files"][0]["activity_ids"] == [fit_id]
    (row,) = store.read("activities").to_pylist()
    assert row["source_format"] == "fit" and len(row["duplicate_sources"]) == 1

    store = Store(tmp_path / "b")
    first = _import(store, gpx_path)
    second = _import(store, fit)
    (gpx_id,) = first["files"][0]["activity_ids"]
    assert second["files"][0]["outcome"] == "imported"
    assert second["files"][0]["activity_ids"] == [gpx_id]  # the id stays; the richer file takes over
    (row,) = store.read("activities").to_pylist()
    assert (row["activity_id"], row["source_format"], row["has_heart_rate"]) == (gpx_id, "fit", True)
    ledger = {r["path"]: r for r in store.read("imports").to_pylist()}
    assert ledger[str(gpx_path)]["outcome"] == "duplicate"
    assert store.read_activity("records", gpx_id).num_rows == row["record_count"]
    assert store.read_activity("records", gpx_id).column("activity_id").unique().to_pylist() == [gpx_id]
    assert not list(store.staging_dir().glob("*")) and not list(store.table_dir("records").glob("*-0.parquet.*"))


def _gpx_copy(fit: Path) -> str:
    """What a phone app or an export would write for the same run: positions and times, no HR."""
    import fitdecode

    gpx = gpxpy.gpx.GPX()
    segment = gpxpy.gpx.GPXTrackSegment()
    gpx.tracks.append(gpxpy.gpx.GPXTrack())
    gpx.tracks[0].segments.append(segment)
    with fitdecode.FitReader(str(fit)) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "record":
                lat, lon = frame.get_value("position_lat"), frame.get_value("position_long")
                segment.points.append(gpxpy.gpx.GPXTrackPoint(
                    lat * 180 / 2**31, lon * 180 / 2**31, time=frame.get_value("timestamp")))
    return gpx.to_xml()


def test_keys_and_offsets_on_every_table(tmp_path: Path):
    store = Store(tmp_path / "store")
    _import(store, SAMPLES)
    acts = {r["source_path"].rsplit("/", 1)[-1]: r for r in store.read("activities").to_pylist()}
    easy = acts["easy-run.fit"]
    assert (easy["utc_offset_s"], easy["timezone"], easy["workout_feel"], easy["workout_rpe"]) == (
        3600, "Europe/Berlin", 75, 30)
    assert acts["phone-run.gpx"]["utc_offset_source"] == "position"
    assert acts["treadmill-run.fit"]["indoor"] is True
    for name in ("records", "laps"):
        table = store.read(name)
        assert set(table["athlete_id"].to_pylist()) == {"me"}
        assert set(table["activity_id"].to_pylist()) <= set(store.read("activities")["activity_id"].to_pylist())
        assert table["utc_offset_s"].null_count == 0


def test_originals_are_kept_by_content(tmp_path: Path):
    store = Store(tmp_path / "store")
    report = _import(store, SAMPLES)
    for f in report["files"]:
        outer, _, member = f["path"].partition("!")
        data = Path(outer).read_bytes()
        if member:  # a member of a .gz file: the original kept is what it holds
            data = gzip.decompress(data)
        assert store.original_path(f["sha256"]).read_bytes() == data


def test_bad_arguments_and_unwritable_stores_fail_clearly(tmp_path: Path):
    with pytest.raises(InputPathError, match="no such file"):
        discover([tmp_path / "missing"])
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="not writable"):
        Store(blocker / "store").ensure()


def test_crash_leftovers_are_swept_at_the_next_commit(tmp_path: Path):
    store = Store(tmp_path / "store")
    _import(store, SAMPLES / "easy-run.fit")
    orphan = store.table_dir("records") / "deadbeef-0.parquet"
    shutil.copy(next(store.table_dir("records").glob("*.parquet")), orphan)
    (store.table_dir("records") / ".x.parquet.1234.tmp").write_bytes(b"half")
    _import(store, SAMPLES / "treadmill-run.fit")
    assert not orphan.exists()
    assert not list(store.table_dir("records").glob("*.tmp"))


def test_the_runners_feel_is_kept_when_a_richer_file_replaces_a_copy(tmp_path: Path):
    """easy-run.fit carries feel 75 / RPE 30; a GPX copy of the run arrives first, then the FIT replaces it."""
    gpx_path = tmp_path / "easy-run.gpx"
    gpx_path.write_text(_gpx_copy(SAMPLES / "easy-run.fit"))
    store = Store(tmp_path / "store")
    _import(store, gpx_path)
    _import(store, SAMPLES / "easy-run.fit")
    (row,) = store.read("activities").to_pylist()
    assert (row["workout_feel"], row["workout_rpe"]) == (75, 30)


def test_an_unchanged_file_is_not_read_again(tmp_path: Path, monkeypatch):
    """Re-importing a folder skips files by path, size and modification time, before reading or hashing;
    a file whose time changed is read (and recognised by its hash), a changed one is read and imported."""
    from pipeline import sync

    folder = tmp_path / "runs"
    shutil.copytree(SAMPLES, folder)
    store = Store(tmp_path / "store")
    first = sync.import_paths(store, [str(folder)], "me")
    assert first["counts"]["imported"] == 5
    read: list[str] = []
    real = importer.read_input
    monkeypatch.setattr(importer, "read_input", lambda item: read.append(Path(item.path).name) or real(item))
    again = sync.import_paths(store, [str(folder)], "me")
    assert read == []
    assert {f["reason"] for f in again["files"]} == {sync.UNCHANGED}
    assert again["counts"] == {**dict.fromkeys(importer.OUTCOMES, 0), "duplicate": 5}
    assert sorted(aid for f in again["files"] for aid in f["activity_ids"]) == sorted(
        store.read("activities").column("activity_id").to_pylist())

    touched = folder / "easy-run.fit"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    third = sync.import_paths(store, [str(folder)], "me")
    assert read == ["easy-run.fit"]
    (entry,) = [f for f in third["files"] if f["path"].endswith("easy-run.fit")]
    assert (entry["outcome"], entry["reason"]) == ("duplicate", "already imported")
    fourth = sync.import_paths(store, [str(folder)], "me")  # its new time is remembered
    assert read == ["easy-run.fit"] and fourth["counts"]["duplicate"] == 5
