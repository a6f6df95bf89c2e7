"""The committed sample files: reproducible, valid, and holding what samples/generate.py promises.

Expected numbers are worked out here from the runs' stated parameters (duration, base speed,
pause), not read back from the generator, and the FIT files are checked with fitdecode (and
fitparse), not with the Garmin SDK that wrote them.
"""

from __future__ import annotations

import gzip
import importlib.util
import itertools
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fitdecode
import gpxpy
import pytest
from tcxreader.tcxreader import TCXReader

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
ACTIVITIES = SAMPLES / "activities"
NAMES = ["easy-run.fit", "harder-stretch-run.fit", "phone-run.gpx", "treadmill-run.fit", "long-run.tcx.gz"]

# By hand. Speeds are whole cm/s with a wiggle that cancels over each minute of timer time.
EXPECTED_FIT = {
    # 40 min at 2.60 m/s, the timer stopped for 60 s after 20 min; a record every second of
    # each half, both ends included: 2 x (20*60 + 1)
    "easy-run.fit": {
        "records": 2 * (20 * 60 + 1),
        "distance": 40 * 60 * 2.60,
        "timer": 40 * 60.0,
        "elapsed": 40 * 60.0 + 60,
        "sub_sport": "generic",
        "start": datetime(2026, 11, 17, 6, 30, tzinfo=UTC),
        "positions": True,
    },
    # 35 min, of which 6 min at 3.60 m/s and 29 min at 2.60 m/s
    "harder-stretch-run.fit": {
        "records": 35 * 60 + 1,
        "distance": 29 * 60 * 2.60 + 6 * 60 * 3.60,
        "timer": 35 * 60.0,
        "elapsed": 35 * 60.0,
        "sub_sport": "generic",
        "start": datetime(2026, 11, 19, 17, 10, tzinfo=UTC),
        "positions": True,
    },
    # 30 min at 2.70 m/s, indoors
    "treadmill-run.fit": {
        "records": 30 * 60 + 1,
        "distance": 30 * 60 * 2.70,
        "timer": 30 * 60.0,
        "elapsed": 30 * 60.0,
        "sub_sport": "treadmill",
        "start": datetime(2026, 11, 23, 17, 30, tzinfo=UTC),
        "positions": False,
    },
}


def _load_generator():
    spec = importlib.util.spec_from_file_location("kindpace_samples_generate", SAMPLES / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def _messages(path: Path) -> dict[str, list[fitdecode.FitDataMessage]]:
    """Every data message by name, reading with strict CRC checks (header and file)."""
    out: dict[str, list[fitdecode.FitDataMessage]] = {}
    with fitdecode.FitReader(str(path), check_crc=fitdecode.CrcCheck.RAISE) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage):
                out.setdefault(frame.name, []).append(frame)
    return out


def _field_by_number(mesg: fitdecode.FitDataMessage, num: int):
    fields = [f for f in mesg.fields if f.def_num == num]
    assert len(fields) == 1, f"{mesg.name}: {len(fields)} fields numbered {num}"
    return fields[0]


def test_regenerating_gives_byte_identical_files(tmp_path):
    written = _load_generator().generate(tmp_path)
    assert [p.name for p in written] == NAMES
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NAMES)
    for name in NAMES:
        committed = (ACTIVITIES / name).read_bytes()
        assert (tmp_path / name).read_bytes() == committed, f"{name} differs from a fresh generation"
        assert len(committed) < 150_000, f"{name} is {len(committed)} bytes"


@pytest.mark.parametrize("name", sorted(EXPECTED_FIT))
def test_fit_sample_decodes_and_totals_match(name):
    exp = EXPECTED_FIT[name]
    mesgs = _messages(ACTIVITIES / name)

    (file_id,) = mesgs["file_id"]
    assert file_id.get_value("type") == "activity"
    assert file_id.get_value("manufacturer") == "garmin"
    assert file_id.get_raw_value("product") == 3113  # fr945

    records = mesgs["record"]
    assert len(records) == exp["records"]
    assert records[0].get_value("timestamp") == exp["start"]
    assert records[-1].get_value("timestamp") == exp["start"] + timedelta(seconds=exp["elapsed"])
    assert all(r.has_field("position_lat") == exp["positions"] for r in records)
    for field in ("heart_rate", "cadence", "enhanced_speed", "distance"):
        assert all(r.get_value(field) is not None for r in records), field

    (session,) = mesgs["session"]
    assert session.get_value("sport") == "running"
    assert session.get_value("sub_sport") == exp["sub_sport"]
    assert session.get_value("start_time") == exp["start"]
    assert session.get_value("total_distance") == pytest.approx(exp["distance"], abs=0.005)
    assert session.get_value("total_timer_time") == pytest.approx(exp["timer"], abs=0.0005)
    assert session.get_value("total_elapsed_time") == pytest.approx(exp["elapsed"], abs=0.0005)

    # internally consistent: the session says what the records and laps say
    assert records[-1].get_value("distance") == pytest.approx(session.get_value("total_distance"), abs=0.005)
    hrs = [r.get_value("heart_rate") for r in records]
    assert session.get_value("max_heart_rate") == max(hrs)
    laps = mesgs["lap"]
    assert session.get_value("num_laps") == len(laps)
    assert sum(lap.get_value("total_distance") for lap in laps) == pytest.approx(exp["distance"], abs=0.005)
    assert sum(lap.get_value("total_timer_time") for lap in laps) == pytest.approx(exp["timer"], abs=0.005)
    lap_elapsed = sum(lap.get_value("total_elapsed_time") for lap in laps)
    assert lap_elapsed == pytest.approx(exp["elapsed"], abs=0.005)
    assert all(lap.get_value("total_distance") >= 1000 for lap in laps[:-1])

    # timer events: start, [stop_all, start]*pauses, stop_all; no records inside a pause
    timer_events = [e.get_value("event_type") for e in mesgs["event"] if e.get_value("event") == "timer"]
    pauses = int(exp["elapsed"] - exp["timer"]) // 60
    assert timer_events == ["start"] + ["stop_all", "start"] * pauses + ["stop_all"]

    (activity,) = mesgs["activity"]
    assert activity.get_value("num_sessions") == 1
    local_minus_utc = activity.get_raw_value("local_timestamp") - activity.get_raw_value("timestamp")
    assert local_minus_utc == 3600


def test_easy_run_pause_has_no_records():
    records = _messages(ACTIVITIES / "easy-run.fit")["record"]
    start = EXPECTED_FIT["easy-run.fit"]["start"]
    gaps = [
        (a.get_value("timestamp"), b.get_value("timestamp"))
        for a, b in itertools.pairwise(records)
        if b.get_value("timestamp") - a.get_value("timestamp") != timedelta(seconds=1)
    ]
    assert gaps == [(start + timedelta(minutes=20), start + timedelta(minutes=21))]


def test_easy_run_carries_the_self_report_as_session_fields_192_193():
    (session,) = _messages(ACTIVITIES / "easy-run.fit")["session"]
    assert _field_by_number(session, 192).raw_value == 75  # workout_feel
    assert _field_by_number(session, 193).raw_value == 30  # workout_rpe


def test_self_report_is_readable_by_fitparse_too():
    """fitparse 1.2's profile predates fields 192/193: it must still hand them over, unnamed."""
    fitparse = pytest.importorskip("fitparse")
    ff = fitparse.FitFile(str(ACTIVITIES / "easy-run.fit"), check_crc=True)
    (session,) = list(ff.get_messages("session"))
    values = {f.def_num: f.raw_value for f in session.fields}
    assert values[192] == 75 and values[193] == 30


@pytest.mark.parametrize("name", ["harder-stretch-run.fit", "treadmill-run.fit"])
def test_other_runs_have_no_self_report(name):
    (session,) = _messages(ACTIVITIES / name)["session"]
    assert not any(f.def_num in (192, 193) for f in session.fields)


def test_harder_run_has_its_faster_stretch():
    records = _messages(ACTIVITIES / "harder-stretch-run.fit")["record"]
    fast = [r for r in records if r.get_value("enhanced_speed") >= 3.4]
    assert 6 * 60 - 5 <= len(fast) <= 6 * 60 + 1
    assert 165 <= max(r.get_value("heart_rate") for r in records) <= 176
    assert max(r.get_value("heart_rate") for r in records[-120:]) < 150  # and it recovered


def test_phone_gpx_sample():
    text = (ACTIVITIES / "phone-run.gpx").read_text(encoding="utf-8")
    gpx = gpxpy.parse(text)
    assert gpx.version == "1.1"
    assert gpx.creator == "Phone app"
    assert len(gpx.tracks) == 1
    (track,) = gpx.tracks
    assert track.type == "running"
    points = [p for seg in track.segments for p in seg.points]
    assert len(points) == 30 * 60 // 2 + 1
    start = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    assert [p.time for p in points] == [start + timedelta(seconds=2 * i) for i in range(len(points))]
    assert all(p.elevation is not None for p in points)
    # no heart rate anywhere: no extensions at all, and no Garmin TrackPointExtension text
    assert all(not p.extensions for p in points)
    assert not track.extensions and not gpx.extensions
    assert "extensions" not in text and "hr>" not in text


def test_long_run_tcx_sample_read_by_tcxreader(tmp_path):
    """The TCX sample as tcxreader (an independent TCX parser) reads it, against numbers worked by hand:
    60 min at 2.45 m/s in two laps of 30 min, a 90 s stop 40 min in, a point every 4 s and at the edges
    of the stop: 0..2400 s every 4 s (601), then 2490, 2492..3688 every 4 s (300) and 3690."""
    tcx = tmp_path / "long-run.tcx"
    tcx.write_bytes(gzip.decompress((ACTIVITIES / "long-run.tcx.gz").read_bytes()))
    read = TCXReader().read(str(tcx), only_gps=False)
    assert read.activity_type == "Running"
    assert len(read.trackpoints) == 601 + 1 + 300 + 1
    start = datetime(2026, 11, 22, 8, 0)  # tcxreader gives naive UTC
    assert read.trackpoints[0].time == start and read.trackpoints[-1].time == start + timedelta(seconds=3690)
    assert [len(lap.trackpoints) for lap in read.laps] == [451, 452]  # 0..1800 by 4; then the rest
    assert [lap.duration for lap in read.laps] == [1800.0, 3690.0 - 1804.0]  # first to last point, stop included
    assert [lap.distance for lap in read.laps] == [4410.0, 4410.0]  # 1800 s x 2.45 m/s
    assert read.trackpoints[-1].distance == pytest.approx(60 * 60 * 2.45)
    assert all(tp.hr_value and tp.tpx_ext["RunCadence"] and tp.tpx_ext["Speed"] for tp in read.trackpoints)
    times = [tp.time for tp in read.trackpoints]
    assert max(b - a for a, b in itertools.pairwise(times)) == timedelta(seconds=90)  # the stop, nothing else
