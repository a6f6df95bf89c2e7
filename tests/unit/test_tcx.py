"""The TCX connector on small hand-written files: every element the TrainingCenterDatabase v2 schema and
its ActivityExtension v2 define that kindpace stores, and the odd files real exporters write."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors import CorruptFile, NotAnActivity, decode_file
from tests.conftest import SAMPLES

NS = 'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"'
AX = 'xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2"'


def _point(t: str, *, lat: float | None = 52.5, hr: int | None = 120, extra: str = "") -> str:
    pos = f"<Position><LatitudeDegrees>{lat}</LatitudeDegrees><LongitudeDegrees>13.4</LongitudeDegrees></Position>" \
        if lat is not None else ""
    heart = f"<HeartRateBpm><Value>{hr}</Value></HeartRateBpm>" if hr is not None else ""
    return f"<Trackpoint><Time>{t}</Time>{pos}<AltitudeMeters>40.0</AltitudeMeters>{heart}{extra}</Trackpoint>"


def _doc(body: str, ns: str = f"{NS} {AX}") -> bytes:
    declaration = '<?xml version="1.0" encoding="UTF-8"?>\n'
    return f"{declaration}<TrainingCenterDatabase {ns}>{body}</TrainingCenterDatabase>".encode()


def _lap(start: str, seconds: float, metres: float, tracks: list[list[str]], hr: tuple[int, int] | None = None) -> str:
    hrs = (f"<AverageHeartRateBpm><Value>{hr[0]}</Value></AverageHeartRateBpm>"
           f"<MaximumHeartRateBpm><Value>{hr[1]}</Value></MaximumHeartRateBpm>") if hr else ""
    body = "".join("<Track>" + "".join(points) + "</Track>" for points in tracks)
    return (f'<Lap StartTime="{start}"><TotalTimeSeconds>{seconds}</TotalTimeSeconds>'
            f"<DistanceMeters>{metres}</DistanceMeters>{hrs}<Intensity>Active</Intensity>"
            f"<TriggerMethod>Manual</TriggerMethod>{body}</Lap>")


def test_the_sample_tcx_decodes_to_the_totals_worked_by_hand():
    data = gzip.decompress((SAMPLES / "long-run.tcx.gz").read_bytes())
    (run,) = decode_file(data, "long-run.tcx")
    assert (run.source_format, run.meta.sport, run.meta.product) == ("tcx", "Running", "Forerunner 945")
    assert run.records.num_rows == 903
    assert run.meta.total_timer_time_s == 3600.0 and run.meta.total_distance_m == 8820.0  # 2 x 1800 s at 2.45 m/s
    assert run.laps["distance_m"].to_pylist() == [4410.0, 4410.0]
    assert run.laps["trigger"].to_pylist() == ["time", "time"]
    # the drink stop: the second lap's track ends at 40:00 and the next starts 90 s later
    assert run.pauses == ((datetime(2026, 11, 22, 8, 40, tzinfo=UTC), datetime(2026, 11, 22, 8, 41, 30, tzinfo=UTC)),)
    speeds = run.records["speed_m_s"].to_pylist()
    assert min(speeds) >= 2.37 and max(speeds) <= 2.53  # 2.45 m/s +- the 8 cm/s wiggle
    assert set(run.records["cadence_rpm"].to_pylist()) <= {79.0, 80.0, 81.0}  # RunCadence 80 +- 1


def test_points_sensors_and_lap_totals_from_a_small_file():
    ext = "<Extensions><ns3:TPX><ns3:Speed>2.5</ns3:Speed><ns3:RunCadence>82</ns3:RunCadence></ns3:TPX></Extensions>"
    points = [_point(f"2026-01-05T10:00:0{i}Z", hr=120 + i, extra=f"<DistanceMeters>{2.5 * i}</DistanceMeters>{ext}")
              for i in range(4)]
    body = ('<Activities><Activity Sport="Running"><Id>2026-01-05T10:00:00Z</Id>'
            + _lap("2026-01-05T10:00:00Z", 3.0, 7.5, [points], hr=(122, 123))
            + '<Creator xsi:type="Device_t" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<Name>Forerunner 265</Name><UnitId>123</UnitId></Creator></Activity></Activities>")
    (run,) = decode_file(_doc(body), "small.tcx")
    rec = run.records.to_pydict()
    assert rec["heart_rate_bpm"] == [120, 121, 122, 123]
    assert rec["distance_m"] == [0.0, 2.5, 5.0, 7.5]
    assert rec["speed_m_s"] == [2.5] * 4 and rec["cadence_rpm"] == [82.0] * 4
    assert rec["latitude_deg"] == [52.5] * 4 and rec["altitude_m"] == [40.0] * 4
    assert (run.meta.avg_heart_rate_bpm, run.meta.max_heart_rate_bpm) == (122, 123)
    assert (run.meta.device_serial, run.meta.start_time) == ("123", datetime(2026, 1, 5, 10, tzinfo=UTC))
    assert run.laps.to_pylist()[0] | {"start_time": None, "end_time": None} == {
        "start_time": None, "end_time": None, "elapsed_time_s": 3.0, "timer_time_s": 3.0, "distance_m": 7.5,
        "avg_speed_m_s": 2.5, "avg_heart_rate_bpm": 122, "max_heart_rate_bpm": 123, "ascent_m": None,
        "descent_m": None, "trigger": "manual", "intensity": "active"}


def test_times_with_an_offset_are_utc_and_naive_ones_are_taken_as_utc():
    body = ('<Activities><Activity Sport="Running"><Id>2016-04-10T18:40:58+01:00</Id>'
            + _lap("2016-04-10T18:40:58+01:00", 2, 5, [[_point("2016-04-10T18:40:58+01:00"),
                                                        _point("2016-04-10T17:41:00")]])
            + "</Activity></Activities>")
    (run,) = decode_file(_doc(body), "polar.tcx")
    assert run.records["timestamp"].to_pylist() == [datetime(2016, 4, 10, 17, 40, 58, tzinfo=UTC),
                                                    datetime(2016, 4, 10, 17, 41, tzinfo=UTC)]


def test_power_and_cadence_under_any_prefix_or_none():
    extra = "<Cadence>88</Cadence><Extensions><TPX><Watts>210</Watts></TPX></Extensions>"
    body = ('<Activities><Activity Sport="Biking"><Id>2013-11-03T13:05:00Z</Id>'
            + _lap("2013-11-03T13:05:00Z", 1, 5, [[_point("2013-11-03T13:05:00Z", extra=extra)]])
            + "</Activity></Activities>")
    (ride,) = decode_file(_doc(body, ns=NS), "ride.tcx")
    assert ride.records["power_w"].to_pylist() == [210.0] and ride.records["cadence_rpm"].to_pylist() == [88.0]


def test_a_multisport_session_gives_one_activity_per_leg():
    def leg(sport: str, minute: int) -> str:
        t = f"2013-04-18T16:{minute:02d}:00Z"
        return f'<Activity Sport="{sport}"><Id>{t}</Id>' + _lap(t, 60, 200, [[_point(t)]]) + "</Activity>"

    body = ("<Activities><MultiSportSession><Id>2013-04-18T16:00:00Z</Id>"
            f"<FirstSport>{leg('Biking', 0)}</FirstSport><NextSport>{leg('Running', 10)}</NextSport>"
            "</MultiSportSession></Activities>")
    legs = decode_file(_doc(body), "multi.tcx")
    assert [(a.session_index, a.meta.sport) for a in legs] == [(0, "Biking"), (1, "Running")]


def test_a_pause_is_a_break_between_tracks_of_one_lap_not_between_laps():
    first = _lap("2026-01-05T10:00:00Z", 61, 100, [[_point("2026-01-05T10:00:00Z")],
                                                   [_point("2026-01-05T10:01:00Z")]])
    second = _lap("2026-01-05T10:01:03Z", 1, 3, [[_point("2026-01-05T10:01:03Z")]])
    body = f'<Activities><Activity Sport="Running"><Id>2026-01-05T10:00:00Z</Id>{first}{second}</Activity></Activities>'
    (run,) = decode_file(_doc(body), "paused.tcx")
    assert run.pauses == ((datetime(2026, 1, 5, 10, tzinfo=UTC), datetime(2026, 1, 5, 10, 1, tzinfo=UTC)),)


@pytest.mark.parametrize(("body", "reason"), [
    ("<Courses><Course><Name>Loop</Name></Course></Courses>", "course"),
    ("<Workouts><Workout><Name>Intervals</Name></Workout></Workouts>", "workout"),
    ("<Activities/>", "holds no activity"),
    ('<Activities><Activity Sport="Other"><Id>2012-04-13T11:51:59Z</Id>'
     + _lap("2012-04-13T11:51:59Z", 60, 50, []) + "</Activity></Activities>", "only lap totals"),
])
def test_files_without_a_recorded_activity_are_not_activities(body: str, reason: str):
    with pytest.raises(NotAnActivity, match=reason) as caught:
        decode_file(_doc(body), "plan.tcx")
    assert "plan.tcx" in str(caught.value)


def test_untimed_points_are_dropped_with_a_warning():
    points = [_point("not a time"), _point("2015-07-09T08:38:46Z"), "<Trackpoint/>"]
    body = ('<Activities><Activity Sport="Biking"><Id>2015-07-09T08:38:37Z</Id>'
            + _lap("2015-07-09T08:38:37Z", 9, 10, [points]) + "</Activity></Activities>")
    (run,) = decode_file(_doc(body), "empty-first.tcx")
    assert run.records.num_rows == 1 and "dropped 2 track point(s)" in run.warnings[0]


def test_broken_xml_is_corrupt_and_an_undeclared_xsi_prefix_is_mended(tmp_path: Path):
    with pytest.raises(CorruptFile, match=r"cut\.tcx: XML error"):
        decode_file(_doc("<Activities><Activity>")[:-30], "cut.tcx")
    with pytest.raises(CorruptFile, match="not a TCX file"):
        decode_file(b'<?xml version="1.0"?><Other/>', "other.tcx")
    t = "2026-01-05T10:00:00Z"
    body = (f'<Activities><Activity Sport="Running"><Id>{t}</Id>' + _lap(t, 1, 1, [[_point(t)]])
            + '<Creator xsi:type="Device_t"><Name>Forerunner 410</Name></Creator></Activity></Activities>')
    (run,) = decode_file(_doc(body), "undeclared.tcx")
    assert run.meta.product == "Forerunner 410" and "xsi" in run.warnings[0]
