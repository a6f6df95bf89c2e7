"""Strava and Garmin bulk exports, single .gz files, and hostile archives, read in memory."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

from pipeline.importer import discover, originals_in_order, run_batches
from pipeline.store import Store
from tests.conftest import SAMPLES

TCX = b'<?xml version="1.0"?><TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"/>'


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_a_strava_bulk_export_imports_whole_and_again_changes_nothing(tmp_path: Path):
    export = tmp_path / "export_12345.zip"
    export.write_bytes(_zip({
        "activities.csv": b"Activity ID,Activity Date,Activity Name,Activity Type\n1001,...,Easy,Run\n",
        "activities/1001.fit.gz": gzip.compress(_sample("easy-run.fit")),
        "activities/1002.gpx.gz": gzip.compress(_sample("phone-run.gpx")),
        "activities/1003.tcx.gz": gzip.compress(TCX),
        "activities/1004.fit": _sample("treadmill-run.fit"),
        "media/photo.jpg": b"\xff\xd8\xff\xe0 not a run",
    }))
    store = Store(tmp_path / "store")
    report = run_batches(store, discover([export]), "me")
    assert report["counts"] == {"imported": 3, "duplicate": 0, "not_activity": 0, "skipped": 3, "quarantined": 0}
    paths = {f["path"]: f["outcome"] for f in report["files"]}
    assert paths[f"{export}!activities/1001.fit"] == "imported"  # the .gz is opened, its name without .gz
    assert paths[f"{export}!activities/1003.tcx"] == "skipped"
    assert sorted(a["sport"] for a in store.read("activities").to_pylist()) == [
        "running", "running", "treadmill_running"]
    again = run_batches(store, discover([export]), "me")
    assert (again["counts"]["duplicate"], again["counts"]["skipped"], again["counts"]["imported"]) == (3, 3, 0)
    # the members are kept as originals, so a reimport rebuilds the same activities
    rebuilt = run_batches(store, originals_in_order(store), "me", reset=True)
    assert rebuilt["counts"]["imported"] == 3 and store.read("activities").num_rows == 3


def test_a_garmin_export_with_zips_inside_and_a_single_gz(tmp_path: Path):
    inner = _zip({"easy-run.fit": _sample("easy-run.fit"), "harder.fit": _sample("harder-stretch-run.fit")})
    export = tmp_path / "garmin-export.zip"
    export.write_bytes(_zip({"DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip": inner,
                             "DI_CONNECT/DI-Connect-User/user_profile.json": b"{}"}))
    single = tmp_path / "run.fit.gz"
    single.write_bytes(gzip.compress(_sample("treadmill-run.fit")))
    report = run_batches(Store(tmp_path / "store"), discover([export, single]), "me")
    assert report["counts"]["imported"] == 3 and report["counts"]["skipped"] == 1
    assert f"{single}!run.fit" in {f["path"] for f in report["files"]}


def test_hostile_and_broken_archives_are_quarantined_with_their_reasons(tmp_path: Path):
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(_zip({"big.fit": b"\x00" * (20 * 2**20), "ok.fit": _sample("easy-run.fit")}))
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "cut.fit.gz").write_bytes(gzip.compress(_sample("easy-run.fit"))[:500])
    report = run_batches(Store(tmp_path / "store"), discover([tmp_path]), "me")
    got = {Path(f["path"].split("!")[0]).name + ("!" + f["path"].split("!")[1] if "!" in f["path"] else ""):
           (f["outcome"], f["reason"] or "") for f in report["files"]}
    assert got["bomb.zip!big.fit"][0] == "quarantined" and "200x" in got["bomb.zip!big.fit"][1]
    assert got["bomb.zip!ok.fit"][0] == "imported"  # one bad member does not stop the rest
    assert got["broken.zip"][0] == "quarantined" and "zip" in got["broken.zip"][1]
    assert got["cut.fit.gz"][0] == "quarantined" and "truncated" in got["cut.fit.gz"][1]


def test_an_export_dropped_into_the_inbox_is_filed_with_the_members_set_aside_listed(tmp_path: Path):
    from datetime import UTC, datetime

    from pipeline.sync import SourceSpec, sync

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "export.zip").write_bytes(_zip({"activities/1001.fit.gz": gzip.compress(_sample("easy-run.fit")),
                                             "activities/1003.tcx.gz": gzip.compress(TCX)}))
    store = Store(tmp_path / "store")
    result = sync(store, [SourceSpec("inbox", str(inbox))], "me")
    assert result.report["counts"]["imported"] == 1 and result.report["counts"]["skipped"] == 1
    filed = inbox / "processed" / f"{datetime.now(UTC):%Y-%m}" / "export.zip"
    assert filed.exists() and not (inbox / "export.zip").exists()
    assert "activities/1003.tcx: skipped" in filed.with_name("export.zip.reason.txt").read_text()
