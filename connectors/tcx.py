"""TCX connector: one Garmin TrainingCenterDatabase v2 file in, one decoded activity per <Activity> out.

Read with the standard library's XML parser, elements matched by local name so that files which put the
ActivityExtension v2 (`Speed`, `RunCadence`, `Watts`, lap `AvgSpeed`) under any prefix, or under none,
decode alike. A multisport file gives one activity per leg, a file holding several trainings one per
training. Times are UTC unless they carry an offset.

What the file says about pauses: Garmin ends a <Track> when the timer stops and starts a new one in the
same <Lap> when it runs again, so a break between two tracks of one lap is a pause. Between laps the next
track starts a sample or two later; that is the recording interval, not a pause.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import (
    ActivityMeta,
    CorruptFile,
    DecodedActivity,
    NotAnActivity,
    records_table,
    table_from_columns,
)
from connectors.xmltext import finite_number as _number
from connectors.xmltext import stripped as _text
from connectors.xmltext import xml_text
from schemas.tables import LAP_SCHEMA

__all__ = ["decode_tcx"]

# xsi:type is written on <Creator> by nearly every TCX writer; a few forget to declare the prefix.
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_FIRST_ELEMENT = re.compile(r"<(?![?!])[\w.\-]+(?::[\w.\-]+)?")
# TCX lap TriggerMethod / Intensity -> the FIT words the laps table uses elsewhere.
_TRIGGERS = {"manual": "manual", "distance": "distance", "location": "position_marked", "time": "time",
             "heartrate": "heart_rate"}
_INTENSITIES = {"active": "active", "resting": "rest"}


def decode_tcx(data: bytes, path: str) -> list[DecodedActivity]:
    """Decode one TCX file: every <Activity> (also the legs of a <MultiSportSession>) with timed samples.

    Raises `NotAnActivity` for courses, workouts and activities without a timed track point, and
    `CorruptFile` for anything that is not readable TCX.
    """
    warnings: list[str] = []
    root = _parse(xml_text(data, path, warnings, "TCX"), path, warnings)
    if _local(root.tag) == "Activities":  # the <TrainingCenterDatabase> wrapper lost (runpandas' malformed.tcx)
        warnings.append("no <TrainingCenterDatabase> around <Activities>; read the activities as they are")
    elif _local(root.tag) != "TrainingCenterDatabase":
        raise CorruptFile(path, f"not a TCX file: root element is <{_local(root.tag)}>")
    activities = [e for e in root.iter() if _local(e.tag) == "Activity"]
    if not activities:
        if any(_local(e.tag) in ("Courses", "Course") for e in root):
            raise NotAnActivity(path, "a TCX course (a planned route), not a recorded activity")
        if any(_local(e.tag) == "Workouts" for e in root):
            raise NotAnActivity(path, "a TCX workout plan, not a recorded activity")
        raise NotAnActivity(path, "the TCX file holds no activity")
    decoded: list[DecodedActivity] = []
    skipped: list[str] = []
    for activity in activities:
        try:
            decoded.append(_activity(activity, len(decoded), path, list(warnings)))
        except NotAnActivity as e:
            skipped.append(e.reason)
    if not decoded:
        raise NotAnActivity(path, skipped[0] if len(set(skipped)) == 1 else "; ".join(sorted(set(skipped))))
    if skipped:  # say on every decoded activity that some of the file was left out, and why
        note = f"{len(skipped)} other activit{'y' if len(skipped) == 1 else 'ies'} in the file skipped: " + \
            "; ".join(sorted(set(skipped)))
        decoded = [replace(d, warnings=(*d.warnings, note)) for d in decoded]
    return decoded


def _parse(text: str, path: str, warnings: list[str]) -> ET.Element:
    try:
        return ET.fromstring(text)
    except ET.ParseError as e:
        first_error = e
    # A writer that uses xsi:type without declaring xsi (runpandas' malformed.tcx): declare it and retry.
    if "unbound prefix" in str(first_error) and 'xmlns:xsi=' not in text[:4096]:
        fixed, n = _FIRST_ELEMENT.subn(lambda m: f'{m.group(0)} xmlns:xsi="{_XSI}"', text, count=1)
        if n:
            try:
                root = ET.fromstring(fixed)
            except ET.ParseError:
                pass
            else:
                warnings.append("the xsi namespace prefix was used without being declared; declared it")
                return root
    raise CorruptFile(path, f"XML error: {first_error}") from None


def _activity(element: ET.Element, index: int, path: str, warnings: list[str]) -> DecodedActivity:
    sport = _text(element.get("Sport"))
    cols: dict[str, list[Any]] = {name: [] for name in (
        "timestamp", "latitude_deg", "longitude_deg", "altitude_m", "heart_rate_bpm", "cadence_rpm",
        "speed_m_s", "distance_m", "power_w")}
    pauses: list[tuple[datetime, datetime]] = []
    laps: list[dict[str, Any]] = []
    untimed = 0
    for lap in _children(element, "Lap"):
        lap_first = len(cols["timestamp"])
        track_bounds: list[tuple[int, int]] = []
        for track in _children(lap, "Track"):
            first = len(cols["timestamp"])
            for point in _children(track, "Trackpoint"):
                if not _add_point(point, cols):
                    untimed += 1
            if len(cols["timestamp"]) > first:
                track_bounds.append((first, len(cols["timestamp"]) - 1))
        times = cols["timestamp"]
        pauses += [
            (times[prev_last], times[next_first])
            for (_, prev_last), (next_first, _) in zip(track_bounds, track_bounds[1:], strict=False)
            if times[next_first] > times[prev_last]
        ]
        laps.append(_lap(lap, times[lap_first:]))
    if not cols["timestamp"]:
        what = "no track points" if not untimed else "track points without times"
        raise NotAnActivity(path, f"the TCX activity has {what}, only lap totals")
    if untimed:
        warnings.append(f"dropped {untimed} track point(s) without a valid time")
    records = records_table(dict(cols))
    creator = _child(element, "Creator")
    timer = [lap["timer_time_s"] for lap in laps]
    distance = [lap["distance_m"] for lap in laps]
    start = _time(_child_text(element, "Id")) or _first([lap["start_time"] for lap in laps])
    meta = ActivityMeta(
        sport=sport,
        product=_child_text(creator, "Name") if creator is not None else None,
        device_serial=_child_text(creator, "UnitId") if creator is not None else None,
        start_time=start or records["timestamp"][0].as_py().astimezone(UTC),
        total_timer_time_s=math.fsum(timer) if timer and None not in timer else None,
        total_distance_m=math.fsum(distance) if distance and None not in distance else None,
        avg_heart_rate_bpm=_weighted_hr(laps),
        max_heart_rate_bpm=max((lap["max_heart_rate_bpm"] for lap in laps
                                if lap["max_heart_rate_bpm"] is not None), default=None),
    )
    return DecodedActivity(
        source_format="tcx",
        decoder="xml.etree",
        session_index=index,
        meta=meta,
        records=records,
        laps=table_from_columns(LAP_SCHEMA, {k: [lap[k] for lap in laps] for k in LAP_SCHEMA.names}, len(laps)),
        pauses=tuple(pauses),
        warnings=tuple(warnings),
    )


def _add_point(point: ET.Element, cols: dict[str, list[Any]]) -> bool:
    """Append one <Trackpoint> to the columns; False (nothing appended) when it has no usable time."""
    values: dict[str, Any] = {}
    for child in point:
        name = _local(child.tag)
        if name == "Position":
            values["lat"] = _number(_child_text(child, "LatitudeDegrees"))
            values["lon"] = _number(_child_text(child, "LongitudeDegrees"))
        elif name == "HeartRateBpm":
            values["hr"] = _number(_child_text(child, "Value"))
        elif name == "Extensions":
            for item in child.iter():
                local = _local(item.tag)
                if local in ("Speed", "RunCadence", "Watts") and local not in values:
                    values[local] = _number(item.text)
        else:
            values[name] = child.text
    time = _time(values.get("Time"))
    if time is None:
        return False
    lat, lon = values.get("lat"), values.get("lon")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        lat = lon = None
    hr = values.get("hr")
    cadence = _number(values.get("Cadence"))
    run_cadence = values.get("RunCadence")
    cols["timestamp"].append(time)
    cols["latitude_deg"].append(lat)
    cols["longitude_deg"].append(lon)
    cols["altitude_m"].append(_number(values.get("AltitudeMeters")))
    cols["heart_rate_bpm"].append(round(hr) if hr is not None and 0 <= hr < 32767.5 else None)
    # Garmin writes a run's cadence as the extension's RunCadence (one foot's steps per minute, as FIT
    # counts); Polar and Suunto put it in the point's own <Cadence>, where a bike's crank cadence goes too.
    cols["cadence_rpm"].append(run_cadence if run_cadence is not None else cadence)
    cols["speed_m_s"].append(values.get("Speed"))
    cols["distance_m"].append(_number(values.get("DistanceMeters")))
    cols["power_w"].append(values.get("Watts"))
    return True


def _lap(lap: ET.Element, times: list[datetime]) -> dict[str, Any]:
    start = _time(lap.get("StartTime")) or _first(times)
    timer = _number(_child_text(lap, "TotalTimeSeconds"))
    distance = _number(_child_text(lap, "DistanceMeters"))
    end = times[-1] if times else (start + timedelta(seconds=timer) if start and timer is not None else None)
    avg_speed = None
    for item in lap.iter():
        if _local(item.tag) == "AvgSpeed":
            avg_speed = _number(item.text)
            break
    if avg_speed is None and distance is not None and timer:
        avg_speed = distance / timer
    trigger = (_child_text(lap, "TriggerMethod") or "").lower()
    intensity = (_child_text(lap, "Intensity") or "").lower()
    return {
        "start_time": start,
        "end_time": end,
        "elapsed_time_s": (end - start).total_seconds() if start and end and end >= start else None,
        "timer_time_s": timer,
        "distance_m": distance,
        "avg_speed_m_s": avg_speed,
        "avg_heart_rate_bpm": _bpm(_child(lap, "AverageHeartRateBpm")),
        "max_heart_rate_bpm": _bpm(_child(lap, "MaximumHeartRateBpm")),
        "ascent_m": None,
        "descent_m": None,
        "trigger": _TRIGGERS.get(trigger, trigger or None),
        "intensity": _INTENSITIES.get(intensity, intensity or None),
    }


def _weighted_hr(laps: list[dict[str, Any]]) -> int | None:
    """The device's average heart rate over the activity: its lap averages weighted by lap timer time."""
    pairs = [(lap["avg_heart_rate_bpm"], lap["timer_time_s"]) for lap in laps]
    if not pairs or any(hr is None or t is None for hr, t in pairs):
        return None
    total = math.fsum(t for _, t in pairs)
    return round(math.fsum(hr * t for hr, t in pairs) / total) if total > 0 else None


def _bpm(element: ET.Element | None) -> int | None:
    if element is None:
        return None
    value = _number(_child_text(element, "Value"))
    return round(value) if value is not None and 0 <= value < 32767.5 else None


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in element if _local(c.tag) == name]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for c in element:
        if _local(c.tag) == name:
            return c
    return None


def _child_text(element: ET.Element | None, name: str) -> str | None:
    child = _child(element, name) if element is not None else None
    return _text(child.text) if child is not None else None


def _time(text: str | None) -> datetime | None:
    """An xsd:dateTime as a UTC instant; a time without an offset is UTC, as the TCX schema says."""
    text = _text(text)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _first(values: Sequence[datetime | None]) -> datetime | None:
    return next((v for v in values if v is not None), None)
