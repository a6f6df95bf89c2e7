"""What the runner corrected, kept in a table of its own and applied wherever activities are written.

A watch gets things wrong that only the runner knows: the sport (a walk recorded as a run), the time zone
(a watch that kept home time on a trip), two runs merged that were not the same (a partner's run started
together), a run that should not be there at all. `kindpace activity ...` writes one `corrections` row per
change and applies it at once; the import applies every stored correction to what it writes, so a
`kindpace reimport`, which rebuilds the activities from the original files, gives the corrected activities
again. A Strava bulk export's `activities.csv` carries what the runner typed into Strava (the name, the
type, the perceived exertion): those become corrections too, with origin `strava_export`, and the
runner's own corrections win over them.

Corrections are keyed by activity id, which comes from the content of the file that first supplied the
run, so they outlive paths, renames and reimports.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from connectors.base import KindpaceError
from pipeline.normalize import SPORTS, NormalizedActivity, sport_of

ACTIONS = ("delete", "set_sport", "set_timezone", "set_name", "unmerge", "set_rpe")
ORIGINS = ("runner", "strava_export")
RUNNING_FAMILY = {"running", "trail_running", "treadmill_running", "track_running"}
_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{1,2})(?::?(\d{2}))?$")


class CorrectionError(KindpaceError):
    """A correction that cannot be made (unknown sport or zone, nothing to unmerge)."""


def zone_offset(value: str, instant: datetime) -> tuple[str | None, int]:
    """An IANA zone (`Europe/Berlin`) or a fixed offset (`+02:00`, `UTC-5`) -> (zone or None, offset s)."""
    fixed = _OFFSET.match(value.strip())
    if fixed:
        sign = -1 if fixed.group(1) == "-" else 1
        seconds = sign * (int(fixed.group(2)) * 3600 + int(fixed.group(3) or 0) * 60)
        if abs(seconds) > 14 * 3600:
            raise CorrectionError(f"{value}: UTC offsets run from -12:00 to +14:00")
        return None, seconds
    try:
        zone = ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise CorrectionError(
            f"{value!r} is neither a time zone (like Europe/Berlin) nor an offset (like +02:00)") from None
    delta = instant.astimezone(zone).utcoffset()
    return value.strip(), int(delta.total_seconds()) if delta is not None else 0


def check(action: str, value: str | None) -> None:
    """Refuse a correction that could not be applied, before it is stored."""
    if action not in ACTIONS:
        raise CorrectionError(f"unknown correction {action!r}")
    if action == "set_sport" and value not in SPORTS:
        raise CorrectionError(f"sport must be one of {', '.join(SPORTS)}, not {value!r}")
    if action == "set_timezone":
        zone_offset(value or "", datetime.now(UTC))
    if action == "delete":
        try:
            run = json.loads(value or "")
            datetime.fromisoformat(run["start_time"])
            float(run["elapsed_time_s"] or 0)
        except (ValueError, KeyError, TypeError):
            raise CorrectionError("a deletion keeps the run's start_time and elapsed_time_s as JSON") from None
    if action == "set_rpe" and not (value and value.replace(".", "", 1).isdigit() and 0 <= float(value) <= 100):
        raise CorrectionError(f"RPE is stored on the watch's 0-100 scale, not {value!r}")


@dataclass
class Corrections:
    """Every stored correction of one store, looked up by activity id and by source file."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._index()

    def _index(self) -> None:
        self.rows.sort(key=_order)
        self._by_activity: dict[str, list[dict[str, Any]]] = {}
        self._by_source: dict[str, list[dict[str, Any]]] = {}
        self._unmerged = [r for r in self.rows if r["action"] == "unmerge"]
        for row in self.rows:
            if row["activity_id"]:
                self._by_activity.setdefault(row["activity_id"], []).append(row)
            elif row["source_sha256"]:
                self._by_source.setdefault(row["source_sha256"], []).append(row)

    @classmethod
    def from_table(cls, table: pa.Table) -> Corrections:
        return cls(table.to_pylist())

    def add(self, rows: list[dict[str, Any]]) -> None:
        self.rows.extend(rows)
        self._index()

    def has_labels(self, source_sha256: str) -> bool:
        return any(r["origin"] == "strava_export" for r in self._by_source.get(source_sha256, []))

    def for_activity(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        """Its corrections: those of its files (a Strava label follows the run when a richer file takes it
        over), then its own; Strava's word first, the runner's after, each in the order made."""
        found = [c for sha in [row["source_sha256"], *(row.get("duplicate_sources") or [])]
                 for c in self._by_source.get(sha, [])]
        return sorted(found + self._by_activity.get(row["activity_id"], []), key=_order)

    def deleted_runs(self) -> dict[str, dict[str, Any]]:
        """Runs the runner deleted: id -> what `same_run` needs to recognise another file of the same run."""
        gone = {}
        for aid, rows in self._by_activity.items():
            for r in rows:
                if r["action"] == "delete":
                    run = json.loads(r["value"])
                    gone[aid] = {"activity_id": aid, "athlete_id": r["athlete_id"],
                                 "start_time": datetime.fromisoformat(run["start_time"]),
                                 "elapsed_time_s": run["elapsed_time_s"]}
        return gone

    def kept_apart(self, stored: dict[str, Any], source_sha256: str) -> bool:
        """True when the runner said the file `source_sha256` is not the run `stored` (unmerge): either
        that run's id, or the pair of files, whichever of the two comes first in a reimport."""
        pair = {stored["source_sha256"], source_sha256}
        return any(r["action"] == "unmerge" and (
            (r["activity_id"] == stored["activity_id"] and r["value"] == source_sha256)
            or {r["source_sha256"], r["value"]} == pair) for r in self._unmerged)

    def apply(self, row: dict[str, Any]) -> dict[str, Any]:
        """The activity row with every correction for it applied (a new dict; `row` is not changed)."""
        out = dict(row)
        for c in self.for_activity(row):
            action, value = c["action"], c["value"]
            if action == "set_sport":
                # Strava's type only where it says something the file did not: a walk, not "a run" again
                if c["origin"] == "strava_export" and _family(value) == _family(out["sport"]):
                    continue
                out["sport"] = value
                out["indoor"] = value in ("treadmill_running", "indoor_cycling") or not out["has_position"]
            elif action == "set_name":
                out["name"] = value
            elif action == "set_rpe" and (c["origin"] == "runner" or out["workout_rpe"] is None):
                out["workout_rpe"] = round(float(value))
            elif action == "set_timezone":
                zone, offset = zone_offset(value, out["start_time"])
                out.update(timezone=zone, utc_offset_s=offset, utc_offset_source="runner",
                           start_time_local=(out["start_time"] + timedelta(seconds=offset)).replace(tzinfo=None))
        return out

    def apply_to(self, norm: NormalizedActivity) -> NormalizedActivity:
        """A normalized activity with its corrections applied, the samples' local offset included."""
        activity = self.apply(norm.activity)
        if activity["utc_offset_s"] == norm.activity["utc_offset_s"]:
            return replace(norm, activity=activity)
        return replace(norm, activity=activity, records=with_offset(norm.records, activity["utc_offset_s"]),
                       laps=with_offset(norm.laps, activity["utc_offset_s"]),
                       developer_fields=with_offset(norm.developer_fields, activity["utc_offset_s"]))


def _order(row: dict[str, Any]) -> tuple[bool, datetime]:
    return row["origin"] == "runner", row["made_at"]


def _family(sport: str | None) -> str | None:
    return "running" if sport in RUNNING_FAMILY else sport


def with_offset(table: pa.Table, offset: int | None) -> pa.Table:
    index = table.schema.get_field_index("utc_offset_s")
    if index < 0:
        return table
    column = pa.array([offset] * table.num_rows, type=table.schema.field(index).type)
    return table.set_column(index, table.schema.field(index), column)


def correction_row(athlete_id: str, action: str, value: str | None, *, activity_id: str | None = None,
                   source_sha256: str | None = None, origin: str = "runner", made_at: datetime | None = None,
                   utc_offset_s: int = 0) -> dict[str, Any]:
    from schemas.tables import SCHEMA_VERSION

    check(action, value)
    return {"athlete_id": athlete_id, "activity_id": activity_id, "source_sha256": source_sha256,
            "action": action, "value": value, "origin": origin,
            "made_at": made_at or datetime.now(UTC).replace(microsecond=0), "utc_offset_s": utc_offset_s,
            "schema_version": SCHEMA_VERSION}


# --- Strava's activities.csv --------------------------------------------------------------------------


@dataclass(frozen=True)
class StravaLabels:
    """What the runner told Strava about one activity file of the export."""

    name: str | None
    sport: str | None  # already mapped onto SPORTS, None when Strava's type means nothing to kindpace
    perceived_exertion: float | None  # Strava's 1-10 scale


def strava_labels(data: bytes) -> dict[str, StravaLabels]:
    """`activities.csv` of a Strava bulk export -> labels by the activity file's path in the export,
    without `.gz` (`activities/123.fit`). Strava writes some column names twice (a display value, then
    the raw one); the first `Activity Name`, `Activity Type` and `Filename` are the ones wanted."""
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    where: dict[str, int] = {}
    for i, name in enumerate(header):
        where.setdefault(name.strip(), i)
    if "Filename" not in where:
        return {}

    def cell(row: list[str], name: str) -> str | None:
        i = where.get(name)
        value = row[i].strip() if i is not None and i < len(row) else ""
        return value or None

    labels = {}
    for row in reader:
        filename = cell(row, "Filename")
        if not filename:
            continue  # an activity entered by hand: no file to label
        kind = cell(row, "Activity Type")
        effort = cell(row, "Perceived Exertion")
        try:
            exertion = float(effort) if effort else None
        except ValueError:
            exertion = None
        labels[_member_key(filename)] = StravaLabels(
            name=cell(row, "Activity Name"),
            sport=strava_sport(kind),
            perceived_exertion=exertion if exertion is not None and 1 <= exertion <= 10 else None,
        )
    return labels


def strava_sport(kind: str | None) -> str | None:
    """Strava's activity type (`Run`, `Trail Run`, `Virtual Run`, `Walk`, ...) on kindpace's sports."""
    if not kind:
        return None
    words = kind.strip().lower()
    sport = sport_of(words, None)
    if sport == "other":
        sport = sport_of(words.replace(" ", ""), None)
    return sport


def _member_key(name: str) -> str:
    path = str(PurePosixPath(name.replace("\\", "/")))
    return path[:-3] if path.lower().endswith(".gz") else path


def label_rows(athlete_id: str, sha256: str, labels: StravaLabels, made_at: datetime) -> list[dict[str, Any]]:
    """The corrections a Strava label gives one file (keyed by the file: its activity ids are not known yet)."""
    rows = []
    if labels.name:
        rows.append(correction_row(athlete_id, "set_name", labels.name, source_sha256=sha256,
                                   origin="strava_export", made_at=made_at))
    if labels.sport and labels.sport != "other":
        rows.append(correction_row(athlete_id, "set_sport", labels.sport, source_sha256=sha256,
                                   origin="strava_export", made_at=made_at))
    if labels.perceived_exertion is not None:
        rows.append(correction_row(athlete_id, "set_rpe", str(round(labels.perceived_exertion * 10)),
                                   source_sha256=sha256, origin="strava_export", made_at=made_at))
    return rows


def member_label(labels: dict[str, StravaLabels], member_path: str) -> StravaLabels | None:
    """The label for `ARCHIVE!activities/123.fit` (the member part, with or without `.gz`)."""
    inner = member_path.rpartition("!")[2]
    return labels.get(_member_key(inner))


__all__ = ["ACTIONS", "CorrectionError", "Corrections", "StravaLabels", "correction_row", "label_rows",
           "member_label", "strava_labels", "with_offset", "zone_offset"]
