"""Strava and Garmin bulk exports, single .gz files, and hostile archives, read in memory."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

from pipeline.importer import discover, originals_in_order, run_batches
from pipeline.store import Store
from tests.conftest import SAMPLES
from tests.reliability.common import tally

TCX_COURSE = (b'<?xml version="1.0"?><TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/'
              b'TrainingCenterDatabase/v2"><Courses><Course><Name>Loop</Name></Course></Courses></TrainingCenterDatabase>')
# activities.csv as Strava writes it: some columns twice (display value first), most left out here.
STRAVA_CSV = (
    b"Activity ID,Activity Date,Activity Name,Activity Type,Activity Description,Elapsed Time,Distance,"
    b"Max Heart Rate,Relative Effort,Commute,Activity Private Note,Activity Gear,Filename,Athlete Weight,"
    b"Bike Weight,Elapsed Time,Moving Time,Distance,Perceived Exertion\n"
    b'1001,"Nov 17, 2026, 6:30:00 AM",Tuesday chat run,Run,,2460,6.24,,,false,,,activities/1001.fit.gz,,,2460,'
    b"2400,6240.0,3\n"
    b'1002,"Nov 21, 2026, 9:00:00 AM",Saturday with Anna,Walk,,1800,5.24,,,false,,,activities/1002.gpx.gz,,,1800,'
    b"1800,5240.0,\n"
    b'1003,"Nov 22, 2026, 8:00:00 AM",Sunday long,Run,,3690,8.82,,,false,,,activities/1003.tcx.gz,,,3690,'
    b"3600,8820.0,2\n"
    b'1005,"Nov 24, 2026, 7:00:00 AM",Yoga,Yoga,,1800,0,,,false,,,,,,1800,1800,0,\n'
)


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
        "activities.csv": STRAVA_CSV,
        "activities/1001.fit.gz": gzip.compress(_sample("easy-run.fit")),
        "activities/1002.gpx.gz": gzip.compress(_sample("phone-run.gpx")),
        "activities/1003.tcx.gz": _sample("long-run.tcx.gz"),
        "activities/1004.fit": _sample("treadmill-run.fit"),
        "activities/1006.tcx.gz": gzip.compress(TCX_COURSE),
        "media/photo.jpg": b"\xff\xd8\xff\xe0 not a run",
    }))
    store = Store(tmp_path / "store")
    report = run_batches(store, discover([export]), "me")
    assert report["counts"] == {"imported": 4, "duplicate": 0, "not_activity": 1, "skipped": 2,
                                  "quarantined": 0, "waiting": 0}
    files = {f["path"]: f for f in report["files"]}
    assert files[f"{export}!activities/1001.fit"]["outcome"] == "imported"  # the .gz opened, named without .gz
    assert files[f"{export}!activities/1003.tcx"]["outcome"] == "imported"
    assert "course" in files[f"{export}!activities/1006.tcx"]["reason"]
    assert "taken from it for 3 file(s)" in files[f"{export}!activities.csv"]["reason"]
    # what the runner told Strava: the names, the walk (the GPX said running), the perceived exertion x 10
    acts = {a["source_path"].rsplit("/", 1)[-1]: a for a in store.read("activities").to_pylist()}
    assert {k: (a["name"], a["sport"], a["workout_rpe"]) for k, a in acts.items()} == {
        "1001.fit": ("Tuesday chat run", "running", 30),  # the watch's own RPE (field 193) is 30 as well
        "1002.gpx": ("Saturday with Anna", "walking", None),
        "1003.tcx": ("Sunday long", "running", 20),
        "1004.fit": (None, "treadmill_running", None),  # not in the CSV: as the file says
    }
    assert acts["1002.gpx"]["source_sport"] == "running"  # the file's own word is kept beside it
    again = run_batches(store, discover([export]), "me")
    assert (again["counts"]["duplicate"], again["counts"]["imported"]) == (4, 0)
    # the members are kept as originals and the labels as corrections, so a reimport rebuilds the same
    before = store.read("activities").drop(["imported_at"])
    rebuilt = run_batches(store, originals_in_order(store), "me", reset=True)
    assert rebuilt["counts"]["imported"] == 4 and store.read("activities").drop(["imported_at"]).equals(before)


def test_a_strava_export_names_runs_the_watch_sync_brought_in_first(tmp_path: Path):
    """The same FIT file from the watch first, then inside the export: Strava's name still applies."""
    watch = tmp_path / "watch"
    watch.mkdir()
    (watch / "easy-run.fit").write_bytes(_sample("easy-run.fit"))
    store = Store(tmp_path / "store")
    run_batches(store, discover([watch]), "me")
    export = tmp_path / "export.zip"
    export.write_bytes(_zip({"activities.csv": STRAVA_CSV,
                             "activities/1001.fit.gz": gzip.compress(_sample("easy-run.fit"))}))
    report = run_batches(store, discover([export]), "me")
    assert report["counts"]["duplicate"] == 1
    assert [a["name"] for a in store.read("activities").to_pylist()] == ["Tuesday chat run"]


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
    tally(hostile_refused=3)


def test_an_export_dropped_into_the_inbox_is_filed_with_the_members_set_aside_listed(tmp_path: Path):
    from datetime import UTC, datetime

    from pipeline.sync import SourceSpec, sync

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "export.zip").write_bytes(_zip({"activities/1001.fit.gz": gzip.compress(_sample("easy-run.fit")),
                                             "activities/1003.tcx.gz": gzip.compress(TCX_COURSE),
                                             "notes.txt": b"my runs"}))
    store = Store(tmp_path / "store")
    result = sync(store, [SourceSpec("inbox", str(inbox))], "me")
    assert result.report["counts"]["imported"] == 1 and result.report["counts"]["skipped"] == 1
    assert result.report["counts"]["not_activity"] == 1
    filed = inbox / "processed" / f"{datetime.now(UTC):%Y-%m}" / "export.zip"
    assert filed.exists() and not (inbox / "export.zip").exists()
    reasons = filed.with_name("export.zip.reason.txt").read_text()
    assert reasons == "export.zip!notes.txt: skipped: not a FIT, GPX or TCX file\n"  # a course is no loss


def _zip_infos(members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in members:
            z.writestr(info, data)
    return buffer.getvalue()


def test_members_named_out_of_the_archive_links_and_deep_nesting_are_refused_and_the_rest_imports(tmp_path: Path):
    """Nothing is ever unpacked, but a member that names a place outside the archive, or is a symbolic
    link, is no watch file: refused with its reason, like an archive nested past the depth kindpace opens."""
    import stat

    link = zipfile.ZipInfo("activities/link.fit")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    deep = _zip({"level2.zip": _zip({"level3.zip": _zip({"deep.fit": _sample("treadmill-run.fit")})})})
    export = tmp_path / "export.zip"
    export.write_bytes(_zip_infos([
        ("../../escape.fit", _sample("harder-stretch-run.fit")),
        ("/abs/run.gpx", _sample("phone-run.gpx")),
        ("C:\\runs\\win.tcx", gzip.decompress(_sample("long-run.tcx.gz"))),
        (link, b"/etc/passwd"),
        ("level1.zip", deep),
        ("activities/ok.fit", _sample("easy-run.fit")),
    ]))
    store = Store(tmp_path / "store")
    report = run_batches(store, discover([export]), "me")
    got = {f["path"].split("!", 1)[1]: (f["outcome"], f["reason"] or "") for f in report["files"]}
    assert got == {
        "../../escape.fit": ("quarantined", "a name that climbs out of the archive (..): refused"),
        "/abs/run.gpx": ("quarantined", "an absolute path inside the archive: refused"),
        "C:\\runs\\win.tcx": ("quarantined", "an absolute path inside the archive: refused"),
        "activities/link.fit": ("quarantined", "a symbolic link, not a file: refused"),
        "level1.zip!level2.zip": ("quarantined", "an archive nested more than 2 deep: not opened"),
        "activities/ok.fit": ("imported", ""),
    }
    assert [a["source_path"] for a in store.read("activities").to_pylist()] == [f"{export}!activities/ok.fit"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.zip", "store"]  # nothing written beside it
    tally(hostile_refused=5, files_unaccounted=6 - len(report["files"]))


def test_a_member_whose_directory_understates_its_size_is_refused_without_inflating_it(tmp_path: Path):
    """A zip bomb may lie in its directory: the reader stops at the declared size and the CRC refuses it."""
    from connectors import archive

    body = b"\x00" * (2 * 2**20)
    data = bytearray(_zip({"liar.fit": body, "ok.fit": _sample("easy-run.fit")}))
    declared = (4096).to_bytes(4, "little")  # under the 200x ratio for its ~2 KB compressed
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central directory
        at = data.index(signature)
        data[at + offset:at + offset + 4] = declared
    out = {name.split("!")[1]: (len(b), why) for name, b, why in archive.members("x.zip", bytes(data))}
    assert out["liar.fit"][0] == 0 and "cannot read this member" in out["liar.fit"][1]
    assert out["ok.fit"] == (len(_sample("easy-run.fit")), None)
    tally(hostile_refused=1)


def test_a_gzip_bomb_is_refused_before_it_is_inflated(tmp_path: Path):
    (tmp_path / "bomb.fit.gz").write_bytes(gzip.compress(b"\x00" * (64 * 2**20)))  # 64 MB into ~64 KB
    report = run_batches(Store(tmp_path / "store"), discover([tmp_path]), "me")
    (entry,) = report["files"]
    assert entry["outcome"] == "quarantined" and "expands beyond" in entry["reason"]
    tally(hostile_refused=1)
