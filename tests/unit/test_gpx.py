"""GPX connector: values written by gpxpy's writer or by hand must come back unchanged."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gpxpy
import gpxpy.gpx
import pytest

from connectors.base import CorruptFile, DecodedActivity, NotAnActivity
from connectors.gpx import decode_gpx
from schemas.tables import RECORD_SCHEMA
from tests.conftest import corpus_root

T0 = datetime(2024, 5, 1, 6, 30, tzinfo=UTC)


def _written_gpx() -> tuple[gpxpy.gpx.GPX, list[tuple[datetime, float, float, float]]]:
    """Two tracks, three segments, written out of time order; returns the GPX and its points by time."""
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "unit-test watch"
    points: list[tuple[datetime, float, float, float]] = []
    # (track, segment) -> seconds after T0; the second track is earlier than the first.
    layout = {(0, 0): [600, 601, 602], (0, 1): [700, 705], (1, 0): [0, 1, 2, 3]}
    for track_index in (0, 1):
        track = gpxpy.gpx.GPXTrack(name=f"Morning run {track_index}")
        track.type = "running" if track_index == 0 else "walking"  # type: ignore[assignment]  # gpxpy: None
        gpx.tracks.append(track)
        for segment_index in (0, 1):
            seconds = layout.get((track_index, segment_index))
            if seconds is None:
                continue
            segment = gpxpy.gpx.GPXTrackSegment()
            track.segments.append(segment)
            for s in seconds:
                time = T0 + timedelta(seconds=s)
                lat, lon, ele = 47.0 + s / 1e4, 8.0 + s / 1e5, 400.0 + s / 10
                segment.points.append(gpxpy.gpx.GPXTrackPoint(lat, lon, elevation=ele, time=time))
                points.append((time, lat, lon, ele))
    return gpx, sorted(points)


def _only(activities: list[DecodedActivity]) -> DecodedActivity:
    assert len(activities) == 1
    return activities[0]


def test_written_file_keeps_every_point_of_every_track_and_segment(tmp_path: Path) -> None:
    gpx, expected = _written_gpx()
    path = tmp_path / "run.gpx"
    path.write_text(gpx.to_xml(), encoding="utf-8")

    activity = _only(decode_gpx(path.read_bytes(), str(path)))

    assert (activity.source_format, activity.decoder, activity.session_index) == ("gpx", "gpxpy", 0)
    assert activity.records.schema.equals(RECORD_SCHEMA)
    rows = activity.records.to_pylist()
    assert len(rows) == len(expected) == 9
    for row, (time, lat, lon, ele) in zip(rows, expected, strict=True):
        assert row["timestamp"] == time
        assert row["latitude_deg"] == pytest.approx(lat)
        assert row["longitude_deg"] == pytest.approx(lon)
        assert row["altitude_m"] == pytest.approx(ele)
        assert row["distance_m"] is None
        assert row["speed_m_s"] is None
        assert row["heart_rate_bpm"] is None
    assert activity.meta.sport == "running"
    assert activity.meta.name == "Morning run 0"
    assert activity.meta.manufacturer == "unit-test watch"
    assert activity.meta.start_time == T0
    assert activity.warnings == ()


def test_utf16_and_utf8_bom_files_decode_like_utf8(tmp_path: Path) -> None:
    gpx, expected = _written_gpx()
    xml = gpx.to_xml()
    for name, data in {
        "utf16.gpx": xml.encode("utf-16"),  # with BOM, still declaring UTF-8 as gpxpy writes it
        "utf16be.gpx": xml.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16-be"),
        "bom.gpx": b"\xef\xbb\xbf" + xml.encode("utf-8"),
    }.items():
        path = tmp_path / name
        path.write_bytes(data)
        activity = _only(decode_gpx(path.read_bytes(), str(path)))
        assert activity.records.num_rows == len(expected), name
        assert activity.records["timestamp"][0].as_py() == T0


GPX11_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gpx version="1.1" creator="hand" xmlns="http://www.topografix.com/GPX/1/1" {ns}>\n'
    "<trk><name>x</name><trkseg>\n{points}\n</trkseg></trk></gpx>\n"
)


def _point(i: int, extensions: str) -> str:
    time = (T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (f'<trkpt lat="{46 + i / 100}" lon="{7 + i / 100}"><ele>{500 + i}</ele><time>{time}</time>'
            f"<extensions>{extensions.format(i=i)}</extensions></trkpt>")


TPX_V1 = 'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"'
TPX_V2 = 'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2"'
NS3 = 'xmlns:ns3="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"'
PWR = 'xmlns:pwr="http://www.garmin.com/xmlschemas/PowerExtension/v1"'

# name -> (namespace declarations, extension body with {i}, expected column values for point i)
EXTENSION_VARIANTS = {
    "gpxtpx_v1": (
        TPX_V1,
        ("<gpxtpx:TrackPointExtension><gpxtpx:atemp>2{i}</gpxtpx:atemp><gpxtpx:hr>14{i}</gpxtpx:hr>"
         "<gpxtpx:cad>8{i}</gpxtpx:cad></gpxtpx:TrackPointExtension>"),
        lambda i: {"heart_rate_bpm": 140 + i, "cadence_rpm": 80 + i, "temperature_c": 20 + i},
    ),
    "gpxtpx_v2": (
        TPX_V2,
        ("<gpxtpx:TrackPointExtension><gpxtpx:wtemp>1{i}.5</gpxtpx:wtemp><gpxtpx:hr>15{i}</gpxtpx:hr>"
         "<gpxtpx:cad>9{i}</gpxtpx:cad><gpxtpx:speed>3.{i}</gpxtpx:speed><gpxtpx:course>90</gpxtpx:course>"
         "</gpxtpx:TrackPointExtension>"),
        lambda i: {"heart_rate_bpm": 150 + i, "cadence_rpm": 90 + i, "temperature_c": 10.5 + i,
                   "speed_m_s": 3 + i / 10},
    ),
    "ns3": (
        NS3,
        "<ns3:TrackPointExtension><ns3:hr>12{i}</ns3:hr><ns3:cad>7{i}</ns3:cad></ns3:TrackPointExtension>",
        lambda i: {"heart_rate_bpm": 120 + i, "cadence_rpm": 70 + i},
    ),
    "plain_heartrate_and_power": (
        "",
        "<heartrate>13{i}</heartrate><power>2{i}0</power>",
        lambda i: {"heart_rate_bpm": 130 + i, "power_w": 200 + 10 * i},
    ),
    "power_in_watts": (
        PWR,
        "<pwr:PowerInWatts>3{i}1</pwr:PowerInWatts>",
        lambda i: {"power_w": 301 + 10 * i},
    ),
    "tcx_style_heart_rate_bpm_value": (
        "",
        ("<HeartRateBpm><Value>16{i}</Value></HeartRateBpm><RunCadence>8{i}</RunCadence>"
         "<Temperature>-{i}</Temperature>"),
        lambda i: {"heart_rate_bpm": 160 + i, "cadence_rpm": 80 + i, "temperature_c": -i},
    ),
}
VALUE_COLUMNS = ("heart_rate_bpm", "cadence_rpm", "power_w", "temperature_c", "speed_m_s")


@pytest.mark.parametrize("variant", sorted(EXTENSION_VARIANTS))
def test_extension_values_under_any_prefix(tmp_path: Path, variant: str) -> None:
    ns, body, expected = EXTENSION_VARIANTS[variant]
    xml = GPX11_HEAD.format(ns=ns, points="\n".join(_point(i, body) for i in range(4)))
    path = tmp_path / f"{variant}.gpx"
    path.write_text(xml, encoding="utf-8")

    rows = _only(decode_gpx(path.read_bytes(), str(path))).records.to_pylist()

    assert len(rows) == 4
    for i, row in enumerate(rows):
        want = expected(i)
        assert row["timestamp"] == T0 + timedelta(seconds=i)
        assert row["latitude_deg"] == pytest.approx(46 + i / 100)
        assert row["altitude_m"] == pytest.approx(500 + i)
        for column in VALUE_COLUMNS:
            if column in want:
                assert row[column] == pytest.approx(want[column]), column
            else:
                assert row[column] is None, column


def test_gpx10_with_time_and_speed(tmp_path: Path) -> None:
    xml = (
        '<?xml version="1.0"?>\n<gpx version="1.0" creator="old unit" xmlns="http://www.topografix.com/GPX/1/0">'
        "<trk><name>ten</name><trkseg>"
        '<trkpt lat="1.0" lon="2.0"><ele>10</ele><time>2003-02-01T10:00:00Z</time><speed>2.5</speed></trkpt>'
        '<trkpt lat="1.1" lon="2.1"><time>2003-02-01T10:00:05Z</time></trkpt>'
        "</trkseg></trk></gpx>"
    )
    activity = _only(decode_gpx(xml.encode(), "ten.gpx"))
    rows = activity.records.to_pylist()
    assert [r["timestamp"] for r in rows] == [datetime(2003, 2, 1, 10, tzinfo=UTC),
                                             datetime(2003, 2, 1, 10, 0, 5, tzinfo=UTC)]
    assert [(r["latitude_deg"], r["longitude_deg"]) for r in rows] == [(1.0, 2.0), (1.1, 2.1)]
    assert [r["altitude_m"] for r in rows] == [10.0, None]
    assert [r["speed_m_s"] for r in rows] == [2.5, None]
    assert activity.meta.name == "ten"
    assert activity.meta.manufacturer == "old unit"


@pytest.mark.parametrize("version_attr", ['version="1.0"', ""])
def test_gpx11_namespace_keeps_extensions_whatever_the_version_attribute(tmp_path: Path,
                                                                        version_attr: str) -> None:
    body = ("<gpxtpx:TrackPointExtension><gpxtpx:hr>11{i}</gpxtpx:hr><gpxtpx:power>20{i}</gpxtpx:power>"
            "</gpxtpx:TrackPointExtension>")
    xml = GPX11_HEAD.format(ns=TPX_V1, points="\n".join(_point(i, body) for i in range(3)))
    xml = xml.replace('version="1.1" ', version_attr + " ", 1)
    assert version_attr in xml and 'version="1.1" creator' not in xml
    rows = _only(decode_gpx(xml.encode(), "v.gpx")).records.to_pylist()
    assert [r["heart_rate_bpm"] for r in rows] == [110, 111, 112]
    assert [r["power_w"] for r in rows] == [200.0, 201.0, 202.0]


def test_times_with_an_offset_or_without_a_zone_become_utc() -> None:
    xml = GPX11_HEAD.format(ns="", points=(
        '<trkpt lat="1" lon="2"><time>2024-05-01T08:30:00+02:00</time></trkpt>'
        '<trkpt lat="1" lon="2"><time>2024-05-01T06:30:01</time></trkpt>'
    ))
    activity = _only(decode_gpx(xml.encode(), "tz.gpx"))
    assert activity.records["timestamp"].to_pylist() == [T0, T0 + timedelta(seconds=1)]
    assert activity.meta.start_time == T0
    assert activity.meta.start_time.utcoffset() == timedelta(0)


def test_track_without_any_time_is_not_an_activity() -> None:
    gpx = gpxpy.gpx.GPX()
    track = gpxpy.gpx.GPXTrack()
    gpx.tracks.append(track)
    segment = gpxpy.gpx.GPXTrackSegment()
    track.segments.append(segment)
    segment.points.extend(gpxpy.gpx.GPXTrackPoint(1.0 + i, 2.0) for i in range(3))
    with pytest.raises(NotAnActivity, match="GPX track has no timestamps"):
        decode_gpx(gpx.to_xml().encode(), "notime.gpx")


def test_points_without_time_are_dropped_with_a_warning() -> None:
    gpx, expected = _written_gpx()
    gpx.tracks[0].segments[0].points.append(gpxpy.gpx.GPXTrackPoint(5.0, 6.0))
    gpx.tracks[1].segments[0].points.insert(0, gpxpy.gpx.GPXTrackPoint(5.0, 6.0))
    activity = _only(decode_gpx(gpx.to_xml().encode(), "some.gpx"))
    assert activity.records.num_rows == len(expected)
    assert any("2 track point" in w for w in activity.warnings), activity.warnings


def test_waypoints_or_routes_only_are_not_activities() -> None:
    waypoints = gpxpy.gpx.GPX()
    waypoints.waypoints.append(gpxpy.gpx.GPXWaypoint(1.0, 2.0, time=T0, name="cache"))
    with pytest.raises(NotAnActivity, match="only routes/waypoints, no track"):
        decode_gpx(waypoints.to_xml().encode(), "wpt.gpx")

    route = gpxpy.gpx.GPX()
    rte = gpxpy.gpx.GPXRoute(name="plan")
    rte.points.append(gpxpy.gpx.GPXRoutePoint(1.0, 2.0))
    route.routes.append(rte)
    with pytest.raises(NotAnActivity, match="only routes/waypoints, no track"):
        decode_gpx(route.to_xml().encode(), "rte.gpx")

    with pytest.raises(NotAnActivity, match="GPX file has no track points"):
        decode_gpx(gpxpy.gpx.GPX().to_xml().encode(), "empty.gpx")


def test_track_point_without_position_is_skipped_with_a_warning() -> None:
    points = "\n".join(_point(i, "") for i in range(3))
    points += '\n<trkpt><ele>1</ele><time>2024-05-01T06:31:00Z</time></trkpt>'
    points += '\n<trkpt lat="" lon="7"><time>2024-05-01T06:32:00Z</time></trkpt>'
    activity = _only(decode_gpx(GPX11_HEAD.format(ns="", points=points).encode(), "nopos.gpx"))
    assert activity.records.num_rows == 3
    assert activity.records["latitude_deg"].null_count == 0
    assert any("skipped 2 track point" in w for w in activity.warnings), activity.warnings


@pytest.mark.parametrize("data", [
    b"\x00\x17\x9f garbage \xff\xfe\x01" * 20,
    b"",
    b"<gpx><trk><trkseg>",
    b"<html><body>not a track</body></html>",
    b"\xff\xfe" + "<gpx".encode("utf-16-le"),
], ids=["garbage", "empty", "truncated", "html", "utf16-truncated"])
def test_unreadable_files_are_corrupt_and_named(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "broken.gpx"
    path.write_bytes(data)
    with pytest.raises(CorruptFile) as caught:
        decode_gpx(data, str(path))
    assert str(path) in str(caught.value)
    assert caught.value.reason


def test_declared_8bit_encoding_and_mis_declared_bytes() -> None:
    xml = GPX11_HEAD.format(ns="", points=_point(0, "")).replace("<name>x</name>", "<name>Ylläs</name>")
    latin1 = xml.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("latin-1")
    activity = _only(decode_gpx(latin1, "latin1.gpx"))
    assert activity.meta.name == "Ylläs"
    assert activity.warnings == ()

    # Declared UTF-8 but written in Latin-1: the run is kept, the name is damaged, and it says so.
    activity = _only(decode_gpx(xml.encode("latin-1"), "misdeclared.gpx"))
    assert activity.records.num_rows == 1
    assert any("not valid utf-8" in w.lower() for w in activity.warnings), activity.warnings


# --- corpus ----------------------------------------------------------------------------------------

CORPUS = corpus_root()
GPX_DIR = CORPUS / "gpx"
NO_CORPUS = pytest.mark.skip(reason=f"GPX corpus not found at {GPX_DIR} (set KINDPACE_CORPUS)")
CORPUS_FILES = (
    [pytest.param(p, id=p.name) for p in sorted(GPX_DIR.glob("*.gpx"))]
    if GPX_DIR.is_dir() else [pytest.param(None, marks=NO_CORPUS, id="no-corpus")]
)


def _timestamped_points(data: bytes) -> int:
    """Points with a time and a position, counted by walking gpxpy's own tracks/segments/points."""
    try:
        gpx = gpxpy.parse(data)
    except gpxpy.gpx.GPXException:
        # gpxpy refuses a file with a position-less trkpt; count with ElementTree instead.
        count = 0
        for _, element in ET.iterparse(io.BytesIO(data)):
            if element.tag.rpartition("}")[2] == "trkpt" and "lat" in element.attrib and "lon" in element.attrib:
                time = next((c for c in element if c.tag.rpartition("}")[2] == "time"), None)
                count += time is not None and bool((time.text or "").strip())
        return count
    return sum(
        1
        for track in gpx.tracks
        for segment in track.segments
        for point in segment.points
        if point.time is not None and point.latitude is not None and point.longitude is not None
    )


def _manifest_kinds() -> dict[str, tuple[str, str]]:
    manifest = CORPUS / "MANIFEST.csv"
    if not manifest.is_file():
        return {}
    with manifest.open(newline="", encoding="utf-8") as f:
        return {Path(row["file"]).name: (row["kind"], row["notes"]) for row in csv.DictReader(f)}


@pytest.mark.slow
@pytest.mark.parametrize("path", CORPUS_FILES)
def test_corpus_file_decodes_or_is_refused_with_a_typed_error(path: Path) -> None:
    data = path.read_bytes()
    try:
        activities = decode_gpx(data, str(path))
    except (NotAnActivity, CorruptFile) as refused:
        assert str(path) in str(refused)
        kind, notes = _manifest_kinds().get(path.name, ("", ""))
        assert kind in ("", "waypoints", "route", "empty") or "no timestamps" in notes, refused
        return
    activity = _only(activities)
    records = activity.records
    assert records.num_rows == _timestamped_points(data)
    assert records["latitude_deg"].null_count == 0 and records["longitude_deg"].null_count == 0
    timestamps = records["timestamp"].to_pylist()
    assert timestamps == sorted(timestamps)
    assert activity.meta.start_time == timestamps[0]
    assert records["distance_m"].null_count == records.num_rows


@pytest.mark.slow
@pytest.mark.skipif(not GPX_DIR.is_dir(), reason=f"GPX corpus not found at {GPX_DIR} (set KINDPACE_CORPUS)")
def test_corpus_edge_cases() -> None:
    def decoded(name: str) -> DecodedActivity:
        return _only(decode_gpx((GPX_DIR / name).read_bytes(), name))

    # version="1.0" in the 1.1 namespace: lxml finds 46 hr values (docs/fit-decoding.md section 4).
    heart_rates = decoded("runalyze__hr-not-always-there.gpx").records["heart_rate_bpm"]
    assert len(heart_rates) - heart_rates.null_count == 46
    standard = decoded("runalyze__standard.gpx")  # one trkpt without lat/lon
    assert standard.records.num_rows == 349
    assert any("skipped 1 track point" in w for w in standard.warnings)
    segmented = decoded("gpsbabel__segmented_tracks.gpx")  # time on 4 of 46 points
    assert segmented.records.num_rows == 4
    assert any("dropped 42 track point" in w for w in segmented.warnings)
    with pytest.raises(NotAnActivity, match="no timestamps"):
        decoded("gcheetah__A_ride_mapped_on_11_22_2011.gpx")
