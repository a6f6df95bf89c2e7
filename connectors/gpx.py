"""GPX connector: the bytes of one GPX 1.0/1.1 file in, one decoded activity out, on gpxpy.

gpxpy reads the file, but not point by point through its object model, which is most of its cost: the
track points' fields are read through gpxpy's own converters from the same tree (`_parse_fast`), and
gpxpy's model is built for the rest; a file with anything gpxpy would refuse goes through gpxpy whole.
On the corpus's 60 GPX files that is 1.5x faster (8.2 -> 12.0 MB/s), with the same activities.

All tracks and segments of a file make one activity. Sensor values come from the point extensions,
matched by local name under any namespace prefix (Garmin TrackPointExtension v1/v2, `ns3:`, Suunto
`gpxdata:`, plain `<heartrate>`...). The pipeline computes distance from the positions, so
`distance_m` stays null here.
"""

from __future__ import annotations

import functools
import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import gpxpy
import gpxpy.gpx
import gpxpy.parser
import numpy as np

from connectors.base import ActivityMeta, CorruptFile, DecodedActivity, NotAnActivity, records_table
from connectors.xmltext import finite_number, xml_text
from connectors.xmltext import stripped as _text

__all__ = ["decode_gpx"]

_GPX_10_NS = "http://www.topografix.com/GPX/1/0"
_GPX_11_NS = "http://www.topografix.com/GPX/1/1"

# Extension element local name (lower case) -> slot in the per-point value list.
_HR, _CADENCE, _POWER, _TEMPERATURE, _SPEED = range(5)
_EXTENSION_SLOTS = {
    "hr": _HR, "heartrate": _HR, "heartratebpm": _HR,
    "cad": _CADENCE, "cadence": _CADENCE, "runcadence": _CADENCE,
    "power": _POWER, "powerinwatts": _POWER, "watts": _POWER,
    "atemp": _TEMPERATURE, "temp": _TEMPERATURE, "wtemp": _TEMPERATURE, "temperature": _TEMPERATURE,
    "speed": _SPEED,
}

# A trkpt/rtept/wpt element with its body; points never nest, so the lazy body match is safe.
_POINT_ELEMENT = re.compile(
    r"<(?P<tag>(?:[\w.\-]+:)?(?:trkpt|rtept|wpt))\b(?P<attrs>[^>]*?)(?:/>|>.*?</(?P=tag)\s*>)", re.DOTALL
)
_ATTRIBUTE = r"""\s{}\s*=\s*(["'])(.*?)\1"""


def decode_gpx(data: bytes, path: str) -> list[DecodedActivity]:
    """Decode one GPX file into a single activity (all tracks and segments, in time order).

    Raises `NotAnActivity` for files without timestamped track points (routes, waypoints, empty or
    time-less tracks) and `CorruptFile` for anything that is not readable GPX.
    """
    warnings: list[str] = []
    text = xml_text(data, path, warnings, "GPX")
    version = _gpx_version(text, path)
    fast = _parse_fast(text, version)
    if fast is not None:
        gpx, segments = fast
    else:
        gpx = _parse(text, version, path, warnings)
        segments = [[(p.time, p.latitude, p.longitude, p.elevation, p.extensions, getattr(p, "speed", None))
                     for p in segment.points] for track in gpx.tracks for segment in track.segments]
    return [_activity(gpx, segments, path, warnings)]


# One track point as the activity reads it: time, latitude, longitude, elevation, extension elements, speed.
_Point = tuple[datetime | None, float, float, float | None, list[Any], float | None]
_DEFAULT_NAMESPACE = re.compile(r"""\sxmlns=(['"])[^'"]+\1""")


def _parse_fast(text: str, version: str) -> tuple[gpxpy.gpx.GPX, list[list[_Point]]] | None:
    """gpxpy's parse, without its cost per point: the same tree (gpxpy's own preprocessing and the
    standard library's parser), every track point's fields that are present read through gpxpy's own
    field converters (so a value gpxpy refuses is refused here), and gpxpy's model built for the rest of
    the file with the points taken out. gpxpy's object model is about three quarters of its time: it
    probes some twenty fields per point and deep-copies every extension. None wherever gpxpy itself
    should read the file (an XML error, or a value it refuses: its messages and its retry stay as they
    were); tests/corpus/test_gpx_reference.py holds both to the same activity on every corpus GPX file.
    """
    from gpxpy import gpxfield

    if gpxpy.parser.library() != "STDLIB":  # with lxml installed, gpxpy parses another way: let it
        return None
    try:
        root = ET.XML(_DEFAULT_NAMESPACE.sub("", text, count=1))
    except ET.ParseError:
        return None
    checked = _checked_point_fields(version)
    latitude, longitude = checked["@lat"], checked["@lon"]
    segments: list[list[_Point]] = []
    try:
        for track in root.findall("trk"):
            for segment in track.findall("trkseg"):
                points: list[_Point] = []
                for node in segment.findall("trkpt"):
                    present = {child.tag for child in node} & checked.keys()
                    values = {tag: checked[tag].from_xml(node, version) for tag in present}
                    extensions = node.find("extensions") if version == "1.1" else None
                    points.append((values.get("time"), latitude.from_xml(node, version),
                                   longitude.from_xml(node, version), values.get("ele"),
                                   list(extensions) if extensions is not None else [],
                                   values.get("speed") if version == "1.0" else None))
                segment[:] = [child for child in segment if child.tag != "trkpt"]
                segments.append(points)
        gpx = gpxpy.gpx.GPX()
        gpxfield.gpx_fields_from_xml(gpx, root, version)  # type: ignore[arg-type]
    except (gpxpy.gpx.GPXException, ValueError, TypeError, AttributeError, OverflowError):
        return None
    return gpx, segments


@functools.cache
def _checked_point_fields(version: str) -> dict[str, Any]:
    """gpxpy's track point fields that convert or restrict their value (by tag; "@lat", "@lon" for the
    mandatory attributes): the only ones whose reading can fail, and the ones the activity reads."""
    fields = gpxpy.gpx.GPXTrackPoint.gpx_11_fields if version == "1.1" else gpxpy.gpx.GPXTrackPoint.gpx_10_fields
    out: dict[str, Any] = {}
    depth = 0
    f: Any
    for f in fields:
        if isinstance(f, str):  # "link:@link" ... "/link": fields of a child element, plain text
            depth += -1 if f.startswith("/") else 1
            continue
        if depth or not (getattr(f, "type_converter", None) or getattr(f, "possible", None) or f.attribute):
            continue
        out["@" + f.attribute if f.attribute else f.tag] = f
    return out


def _gpx_version(text: str, path: str) -> str:
    """The GPX field set to parse with: the root namespace decides, then the version attribute.

    gpxpy drops extensions on its 1.0 path, and files like sportractive's declare version="1.0" in the
    1.1 namespace, so the namespace wins. Without either, 1.1 (loses only 1.0's <speed>, not extensions).
    """
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start",))
    try:
        for start in range(0, len(text), 65536):
            parser.feed(text[start:start + 65536])
            for event in parser.read_events():
                root = event[-1]
                if not isinstance(root, ET.Element):
                    continue
                namespace, _, local = root.tag.rpartition("}")
                if local != "gpx":
                    raise CorruptFile(path, f"not a GPX file: root element is <{local}>")
                if namespace == "{" + _GPX_11_NS:
                    return "1.1"
                if namespace == "{" + _GPX_10_NS:
                    return "1.0"
                declared = root.get("version")
                return declared if declared in ("1.0", "1.1") else "1.1"
        parser.close()
    except ET.ParseError as e:
        raise CorruptFile(path, f"XML error: {e}") from None
    raise CorruptFile(path, "no XML element in the file")


def _parse(text: str, version: str, path: str, warnings: list[str]) -> gpxpy.gpx.GPX:
    try:
        return gpxpy.parse(text, version=version)
    except gpxpy.gpx.GPXXMLSyntaxException as e:
        raise CorruptFile(path, str(e)) from None
    except (gpxpy.gpx.GPXException, ValueError, TypeError, AttributeError, OverflowError) as e:
        first_error = e
    # gpxpy refuses a whole file for one point without lat/lon (eTrex 30): drop such points and retry.
    removed = {"trkpt": 0, "rtept": 0, "wpt": 0}

    def drop_unplaced(match: re.Match[str]) -> str:
        if _has_position(match.group("attrs")):
            return match.group(0)
        removed[match.group("tag").rpartition(":")[2]] += 1
        return ""

    fixed = _POINT_ELEMENT.sub(drop_unplaced, text)
    if not any(removed.values()):
        raise CorruptFile(path, f"invalid GPX: {first_error}")
    try:
        gpx = gpxpy.parse(fixed, version=version)
    except (gpxpy.gpx.GPXException, ValueError, TypeError, AttributeError, OverflowError) as e:
        raise CorruptFile(path, f"invalid GPX: {e}") from None
    if removed["trkpt"]:
        warnings.append(f"skipped {removed['trkpt']} track point(s) without a valid lat/lon")
    if removed["rtept"] or removed["wpt"]:
        warnings.append(f"skipped {removed['rtept'] + removed['wpt']} route/way point(s) without lat/lon")
    return gpx


def _has_position(attrs: str) -> bool:
    for name in ("lat", "lon"):
        found = re.search(_ATTRIBUTE.format(name), attrs)
        try:
            if found is None or not math.isfinite(float(found.group(2))):
                return False
        except ValueError:
            return False
    return True


def _activity(gpx: gpxpy.gpx.GPX, segments: list[list[_Point]], path: str, warnings: list[str]) -> DecodedActivity:
    times: list[datetime] = []
    latitudes: list[float] = []
    longitudes: list[float] = []
    altitudes: list[float | None] = []
    heart_rates: list[int | None] = []
    cadences: list[float | None] = []
    powers: list[float | None] = []
    temperatures: list[float | None] = []
    speeds: list[float | None] = []
    untimed = 0
    no_extensions = [None] * 5
    # GPX starts a new segment where the receiver stopped recording or lost its fix: the time between
    # one segment's last point and the next one's first is a pause, and the jump between them no leg.
    segment_bounds: list[tuple[int, int]] = []
    for segment in segments:
        first = len(times)
        for when, latitude, longitude, elevation, extensions, speed in segment:
            time = _utc(when)
            if time is None:
                untimed += 1
                continue
            values = _extension_values(extensions) if extensions else no_extensions
            times.append(time)
            latitudes.append(latitude)
            longitudes.append(longitude)
            altitudes.append(elevation)
            hr = values[_HR]
            heart_rates.append(round(hr) if hr is not None and 0 <= hr < 32767.5 else None)
            cadences.append(values[_CADENCE])
            powers.append(values[_POWER])
            temperatures.append(values[_TEMPERATURE])
            # GPX 1.0 has <speed> in the point itself; 1.1 files carry it in an extension.
            speeds.append(speed if speed is not None else values[_SPEED])
        if len(times) > first:
            segment_bounds.append((first, len(times) - 1))

    if not times:
        if untimed:
            raise NotAnActivity(path, "GPX track has no timestamps")
        if gpx.routes or gpx.waypoints:
            raise NotAnActivity(path, "only routes/waypoints, no track")
        raise NotAnActivity(path, "GPX file has no track points")
    if untimed:
        warnings.append(f"dropped {untimed} track point(s) without a timestamp")

    pauses = tuple(
        (times[prev_last], times[next_first])
        for (_, prev_last), (next_first, _) in zip(segment_bounds, segment_bounds[1:], strict=False)
        if times[next_first] > times[prev_last]
    )
    records = records_table({
        "timestamp": _milliseconds(times),
        "latitude_deg": latitudes,
        "longitude_deg": longitudes,
        "altitude_m": altitudes,
        "heart_rate_bpm": heart_rates,
        "cadence_rpm": cadences,
        "speed_m_s": speeds,
        "power_w": powers,
        "temperature_c": temperatures,
    })
    first_track = gpx.tracks[0] if gpx.tracks else None
    meta = ActivityMeta(
        sport=_text(getattr(first_track, "type", None)),
        name=_text(getattr(first_track, "name", None)) or _text(gpx.name),
        manufacturer=_text(gpx.creator),
        start_time=records["timestamp"][0].as_py().astimezone(UTC),
    )
    return DecodedActivity(
        source_format="gpx",
        decoder="gpxpy",
        session_index=0,
        meta=meta,
        records=records,
        pauses=pauses,
        warnings=tuple(warnings),
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def _milliseconds(times: list[datetime]) -> Any:
    """UTC datetimes as datetime64[ms], cut to the millisecond as pyarrow cuts them, without pyarrow's
    cost per aware datetime (before 1970, where cutting and flooring differ, the datetimes as they are)."""
    millis = np.array([(t - _EPOCH) // _MILLISECOND for t in times], dtype=np.int64)
    return times if len(millis) and millis.min() < 0 else millis.astype("datetime64[ms]")


def _utc(time: datetime | None) -> datetime | None:
    """GPX times are UTC unless they carry an offset; naive ones are taken as UTC."""
    if time is None:
        return None
    if time.tzinfo is None:
        return time.replace(tzinfo=UTC)
    try:
        return time.astimezone(UTC)
    except (OverflowError, ValueError):  # an offset that pushes year 1 or 9999 out of range
        return None


def _extension_values(extensions: list[Any]) -> list[float | None]:
    """Heart rate, cadence, power, temperature and speed from a point's extension elements.

    Every descendant is searched, so nesting (TrackPointExtension) and prefixes do not matter; the first
    element of each kind wins.
    """
    values: list[float | None] = [None] * 5
    for extension in extensions:
        for element in extension.iter():
            tag = element.tag
            if not isinstance(tag, str):
                continue
            slot = _EXTENSION_SLOTS.get(tag.rpartition("}")[2].rpartition(":")[2].lower())
            if slot is not None and values[slot] is None:
                values[slot] = _number(element)
    return values


def _number(element: Any) -> float | None:
    text = element.text
    if text is None or not text.strip():
        # TCX-style <HeartRateBpm><Value>142</Value></HeartRateBpm>
        for child in element:
            if isinstance(child.tag, str) and child.tag.rpartition("}")[2].lower() == "value":
                text = child.text
                break
        else:
            return None
    return finite_number(text)
