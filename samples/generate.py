"""Write kindpace's sample watch files: three FIT activities, one GPX track and one TCX export.

Why generated and not copied: no file from the test corpus (or anyone's watch) is copied here,
so the samples carry no real person's track, heart rate or device serial, and their licence is
ours. The FIT files are written with Garmin's own FIT SDK encoder (`garmin_fit_sdk.Encoder`),
which produces valid FIT 2.0 files with header and file CRCs; the GPX file is written with
gpxpy's writer, and the TCX file with the standard library's XML writer in the shape Garmin
Connect exports (TrainingCenterDatabase v2, ActivityExtension v2 for speed and run cadence). Every
run writes the same bytes: timestamps are fixed, the only randomness comes from
`numpy.random.default_rng` with a fixed seed per file, and the shapes of the runs (speed, distance,
pause) are pure integer arithmetic, so the totals are exact round numbers that a test
can state by hand:

    file                     start (UTC)  timer   elapsed  distance   records / points
    easy-run.fit             Tue 06:30    2400 s  2460 s   6240.00 m  2402, 1 s apart, one 60 s pause
    harder-stretch-run.fit   Thu 17:10    2100 s  2100 s   5820.00 m  2101, 1 s apart
    phone-run.gpx            Sat 09:00    --      1800 s   --         901, 2 s apart
    treadmill-run.fit        Mon 17:30    1800 s  1800 s   4860.00 m  1801, 1 s apart
    long-run.tcx.gz          Sun 08:00    3600 s  3690 s   8820.00 m  903, 4 s apart, one 90 s pause

long-run.tcx.gz is a TCX file gzipped, as Strava's bulk export holds them. It has two laps of
1800 s and 4410.00 m each; the 90 s pause (a drink stop, 40 minutes in) splits the second lap into
two <Track> elements, as Garmin writes a timer stop. Its points are 4 s apart (and at the edges of
the pause), like a watch's smart recording; the lap totals are over every second.

Speeds are whole centimetres per second plus a wiggle that sums to zero over every 60 timer
seconds, so a run's distance is (timer seconds x base speed) exactly. The outdoor runs are in
Berlin (Tiergarten, Tempelhofer Feld) and Zurich (Allmend Brunau); all dates are in November
2026, when both cities are at UTC+1.

easy-run.fit also carries Garmin's post-run self-report in its session message: field 192
(workout_feel) = 75 and field 193 (workout_rpe) = 30. The SDK's 21.x profile knows both fields by
name, so they are written like any other session field. (The encoder silently drops any key it
cannot find in its profile, so `CheckedEncoder` turns that into an error.)

Run ``python samples/generate.py`` to rewrite the files next to this script.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import gpxpy.gpx
import numpy as np
from garmin_fit_sdk import Encoder, Profile

MESG = Profile["mesg_num"]
FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)

GARMIN_FR945 = 3113  # garmin_product fr945
SERIAL_NUMBER = 3_391_205_477  # made up
SOFTWARE_VERSION = 27.10  # scale 100 in the profile
UTC_OFFSET_S = 3600  # Europe/Berlin and Europe/Zurich in November
BODY_KCAL_PER_KM = 70  # ~1 kcal per kg per km, 70 kg runner

OUT_DIR = Path(__file__).resolve().parent / "activities"
FILE_NAMES = ("easy-run.fit", "harder-stretch-run.fit", "phone-run.gpx", "treadmill-run.fit", "long-run.tcx.gz")


# --------------------------------------------------------------------------------------------
# The shape of a run: per-second speed (cm/s), heart rate and cadence, as plain ints
# --------------------------------------------------------------------------------------------


def wiggle_cm(k: int, amplitude: int = 8, period: int = 60) -> int:
    """A small speed wiggle that sums to exactly 0 over every full `period` seconds.

    round() is odd-symmetric (banker's rounding), and sin(x + pi) = -sin(x), so the values of the
    second half of a period cancel those of the first half.
    """
    return round(amplitude * math.sin(2 * math.pi * (k % period) / period))


@dataclass(frozen=True)
class Sample:
    offset_s: int  # seconds since the start, pauses included
    timer_s: int  # seconds of timer time so far
    distance_cm: int
    speed_cm_s: int
    heart_rate: int
    cadence: int  # strides (one foot) per minute, as Garmin writes running cadence
    altitude_m: float | None = None  # already quantized to the FIT resolution (0.2 m)
    lat_semi: int | None = None
    lon_semi: int | None = None


def to_semicircles(degrees: float) -> int:
    return round(degrees * 2**31 / 180)


def quantize_altitude(metres: float) -> float:
    """enhanced_altitude is stored as (m + 500) * 5: return what a decoder will read back."""
    return round((metres + 500) * 5) / 5 - 500


@dataclass(frozen=True)
class Loop:
    """An ellipse run round and round, position as a function of distance along it."""

    lat: float
    lon: float
    a_m: float  # east-west semi-axis
    b_m: float  # north-south semi-axis
    base_alt_m: float
    alt_swing_m: float

    @functools.cached_property
    def _arc(self) -> tuple[np.ndarray, np.ndarray]:
        """(arc length, angle) along the ellipse: equal steps in angle are not equal steps in distance
        (they are 1.8 times longer at the ends of a 450 x 250 m loop), so positions go by arc length."""
        theta = np.linspace(0.0, 2 * math.pi, 8193)
        step = np.hypot(self.a_m * np.diff(np.sin(theta)), self.b_m * np.diff(np.cos(theta)))
        return np.concatenate(([0.0], np.cumsum(step))), theta

    @property
    def perimeter_m(self) -> float:
        return float(self._arc[0][-1])

    def angle(self, distance_m: float) -> float:
        arc, theta = self._arc
        laps, rest = divmod(distance_m, float(arc[-1]))
        return 2 * math.pi * laps + float(np.interp(rest, arc, theta))

    def position(self, distance_m: float, wander: tuple[float, float] = (0.0, 0.0)) -> tuple[float, float]:
        """Degrees (lat, lon) at `distance_m` round the loop, moved by `wander` (east, north) metres."""
        theta = self.angle(distance_m)
        east = self.a_m * math.sin(theta) + wander[0]
        north = -self.b_m * math.cos(theta) + wander[1]
        lat = self.lat + north / 111_320.0
        lon = self.lon + east / (111_320.0 * math.cos(math.radians(self.lat)))
        return lat, lon

    def altitude(self, distance_m: float) -> float:
        theta = self.angle(distance_m)
        return self.base_alt_m + self.alt_swing_m * math.sin(2 * theta + 0.7)


class Wander:
    """Slowly wandering error (an AR(1) process), like GPS or a phone's elevation: not white noise,
    which would add metres of zig-zag to every second of the track."""

    def __init__(self, rng: np.random.Generator, sd: float, dims: int = 2, keep: float = 0.97) -> None:
        self.rng, self.keep, self.dims = rng, keep, dims
        self.kick = sd * math.sqrt(1 - keep * keep)  # keeps the stationary spread at `sd`
        self.value = [float(v) for v in rng.normal(0.0, sd, dims)]

    def step(self) -> list[float]:
        kicks = self.rng.normal(0.0, self.kick, self.dims)
        self.value = [self.keep * v + float(k) for v, k in zip(self.value, kicks, strict=False)]
        return self.value


TIERGARTEN = Loop(lat=52.5137, lon=13.3555, a_m=620, b_m=370, base_alt_m=34.0, alt_swing_m=2.4)
TEMPELHOFER_FELD = Loop(lat=52.4735, lon=13.4010, a_m=900, b_m=550, base_alt_m=45.0, alt_swing_m=1.2)
ALLMEND_BRUNAU = Loop(lat=47.3540, lon=8.5200, a_m=450, b_m=250, base_alt_m=421.0, alt_swing_m=2.0)


def simulate(
    *,
    segments: list[tuple[int, int]],
    speed_cm_s,
    hr_target,
    cadence_at,
    seed: int,
    hr_start: float = 104.0,
    loop: Loop | None = None,
    gps_noise_m: float = 2.0,
) -> list[Sample]:
    """One record per second over `segments` [(first offset, last offset)], none in between.

    `speed_cm_s(timer_s)` is the speed over the second that ends at timer_s+1, so the distance
    of a record is the sum of the speeds of the timer seconds before it. Heart rate follows its
    target with a lag (faster up than down), plus +-1 bpm of noise.
    """
    rng = np.random.default_rng(seed)
    gps = Wander(rng, gps_noise_m)
    samples: list[Sample] = []
    timer_s = 0
    distance_cm = 0
    hr = hr_start
    last_offset = None
    for first, last in segments:
        if last_offset is not None:
            hr -= 0.18 * (first - last_offset)  # heart rate settles while paused
        for offset in range(first, last + 1):
            if offset > first:
                step = speed_cm_s(timer_s)
                distance_cm += step
                timer_s += 1
            target = hr_target(timer_s)
            tau = 35.0 if target > hr else 70.0
            hr += (target - hr) / tau
            # the speed a watch shows: over the second just run (at a (re)start: the one to come)
            speed = speed_cm_s(timer_s - 1) if offset > first else speed_cm_s(timer_s)
            alt = lat_semi = lon_semi = None
            if loop is not None:
                d_m = distance_cm / 100
                lat, lon = loop.position(d_m, tuple(gps.step()))
                lat_semi, lon_semi = to_semicircles(lat), to_semicircles(lon)
                alt = quantize_altitude(loop.altitude(d_m))
            samples.append(
                Sample(
                    offset_s=offset,
                    timer_s=timer_s,
                    distance_cm=distance_cm,
                    speed_cm_s=int(speed),
                    heart_rate=round(hr) + int(rng.integers(-1, 2)),
                    cadence=int(cadence_at(timer_s)) + int(rng.integers(-1, 2)),
                    altitude_m=alt,
                    lat_semi=lat_semi,
                    lon_semi=lon_semi,
                )
            )
        last_offset = last
    return samples


# --------------------------------------------------------------------------------------------
# FIT writing
# --------------------------------------------------------------------------------------------


class CheckedEncoder(Encoder):
    """The SDK encoder, minus two silent failure modes.

    `Encoder.on_mesg` drops, without a word, any key its profile does not name (a typo, a
    sub-field name such as `garmin_product`, an int field number). Here that is an error. Two more
    things callers here take care of: it rejects numpy scalars (only int/float/str/bool/datetime
    pass), and for fields without a scale it truncates floats with int() and wraps out-of-range
    ints with a bit mask (300 bpm becomes 44), so unscaled fields are always given in-range ints.
    """

    _names: ClassVar[dict[int, frozenset[str]]] = {}

    def on_mesg(self, mesg_num, mesg):
        names = self._names.get(mesg_num)
        if names is None:
            fields = Profile["messages"][mesg_num]["fields"].values()
            names = self._names[mesg_num] = frozenset(f["name"] for f in fields)
        unknown = sorted(set(mesg) - names - {"mesg_num"})
        if unknown:
            raise ValueError(f"mesg {mesg_num}: the FIT SDK profile does not know {unknown}")
        return super().on_mesg(mesg_num, mesg)


def fit_ts(moment: datetime) -> int:
    return int((moment - FIT_EPOCH).total_seconds())


def ascent_descent(samples: list[Sample]) -> tuple[int, int]:
    alts = [s.altitude_m for s in samples if s.altitude_m is not None]
    up = sum(max(0.0, b - a) for a, b in itertools.pairwise(alts))
    down = sum(max(0.0, a - b) for a, b in itertools.pairwise(alts))
    return round(up), round(down)


def summary(samples: list[Sample], start: Sample) -> dict:
    """Totals and averages over the records after `start` (a lap or session boundary record)."""
    body = [s for s in samples if s.offset_s > start.offset_s] or samples
    end = samples[-1]
    timer = end.timer_s - start.timer_s
    distance_m = (end.distance_cm - start.distance_cm) / 100
    ascent, descent = ascent_descent([start, *body])
    speeds = [s.speed_cm_s / 100 for s in body]
    out = {
        "total_elapsed_time": float(end.offset_s - start.offset_s),
        "total_timer_time": float(timer),
        "total_distance": distance_m,
        "total_calories": round(distance_m / 1000 * BODY_KCAL_PER_KM),
        "enhanced_avg_speed": distance_m / timer if timer else 0.0,
        "enhanced_max_speed": max(speeds),
        "avg_heart_rate": round(sum(s.heart_rate for s in body) / len(body)),
        "max_heart_rate": max(s.heart_rate for s in body),
        "avg_cadence": round(sum(s.cadence for s in body) / len(body)),
        "max_cadence": max(s.cadence for s in body),
    }
    if start.altitude_m is not None:
        out["total_ascent"] = ascent
        out["total_descent"] = descent
    return out


def timer_event(when: datetime, event_type: str) -> dict:
    """A timer event as a watch writes it; data 0 is timer_trigger manual."""
    return {"timestamp": when, "event": "timer", "event_type": event_type, "event_group": 0, "data": 0}


def record_mesg(s: Sample, start: datetime) -> dict:
    mesg = {"timestamp": start + timedelta(seconds=s.offset_s)}
    if s.lat_semi is not None:
        mesg["position_lat"] = s.lat_semi
        mesg["position_long"] = s.lon_semi
    if s.altitude_m is not None:
        mesg["enhanced_altitude"] = s.altitude_m
    mesg["heart_rate"] = s.heart_rate
    mesg["cadence"] = s.cadence
    mesg["distance"] = s.distance_cm / 100
    mesg["enhanced_speed"] = s.speed_cm_s / 100
    return mesg


def write_fit(
    path: Path,
    *,
    start: datetime,
    samples: list[Sample],
    sub_sport: str,
    lap_every_m: int = 1000,
    session_extra: dict | None = None,
) -> Path:
    """Encode one run as a Garmin-like activity file: the messages in a watch's order."""
    enc = CheckedEncoder()
    def at(offset):
        return start + timedelta(seconds=offset)

    enc.on_mesg(
        MESG["FILE_ID"],
        {
            "type": "activity",
            "manufacturer": "garmin",
            "product": GARMIN_FR945,
            "serial_number": SERIAL_NUMBER,
            "time_created": start,
        },
    )
    enc.on_mesg(
        MESG["DEVICE_INFO"],
        {
            "timestamp": start,
            "device_index": 0,  # creator
            "manufacturer": "garmin",
            "product": GARMIN_FR945,
            "serial_number": SERIAL_NUMBER,
            "software_version": SOFTWARE_VERSION,
            "source_type": "local",
        },
    )
    enc.on_mesg(MESG["EVENT"], timer_event(start, "start"))

    laps: list[dict] = []
    lap_start = samples[0]
    prev = None

    def close_lap(end_index: int, trigger: str) -> None:
        nonlocal lap_start
        lap_samples = [s for s in samples[: end_index + 1] if s.offset_s >= lap_start.offset_s]
        end = lap_samples[-1]
        lap = {
            "timestamp": at(end.offset_s),
            "start_time": at(lap_start.offset_s),
            "event": "lap",
            "event_type": "stop",
            "lap_trigger": trigger,
            "sport": "running",
            "sub_sport": sub_sport,
            "message_index": len(laps),
        }
        if lap_start.lat_semi is not None:
            lap |= {
                "start_position_lat": lap_start.lat_semi,
                "start_position_long": lap_start.lon_semi,
                "end_position_lat": end.lat_semi,
                "end_position_long": end.lon_semi,
            }
        lap |= summary(lap_samples, lap_start)
        enc.on_mesg(MESG["LAP"], lap)
        laps.append(lap)
        lap_start = end

    for i, s in enumerate(samples):
        if prev is not None and s.offset_s - prev.offset_s > 1:  # the pause: stop_all, then start
            enc.on_mesg(
                MESG["EVENT"],
                timer_event(at(prev.offset_s), "stop_all"),
            )
            enc.on_mesg(MESG["EVENT"], timer_event(at(s.offset_s), "start"))
        enc.on_mesg(MESG["RECORD"], record_mesg(s, start))
        if s.distance_cm - lap_start.distance_cm >= lap_every_m * 100 and i < len(samples) - 1:
            close_lap(i, "distance")
        prev = s

    last = samples[-1]
    enc.on_mesg(MESG["EVENT"], timer_event(at(last.offset_s), "stop_all"))
    close_lap(len(samples) - 1, "session_end")

    session = {
        "timestamp": at(last.offset_s),
        "start_time": start,
        "event": "session",
        "event_type": "stop",
        "trigger": "activity_end",
        "sport": "running",
        "sub_sport": sub_sport,
        "first_lap_index": 0,
        "num_laps": len(laps),
        "message_index": 0,
    }
    if samples[0].lat_semi is not None:
        session |= {"start_position_lat": samples[0].lat_semi, "start_position_long": samples[0].lon_semi}
    session |= summary(samples, samples[0])
    session |= session_extra or {}
    enc.on_mesg(MESG["SESSION"], session)

    end_ts = fit_ts(at(last.offset_s))
    enc.on_mesg(
        MESG["ACTIVITY"],
        {
            "timestamp": end_ts,
            "total_timer_time": float(last.timer_s),
            "num_sessions": 1,
            "type": "manual",
            "event": "activity",
            "event_type": "stop",
            "local_timestamp": end_ts + UTC_OFFSET_S,
        },
    )
    path.write_bytes(enc.close())
    return path


# --------------------------------------------------------------------------------------------
# The four runs
# --------------------------------------------------------------------------------------------

EASY_START = datetime(2026, 11, 17, 6, 30, tzinfo=UTC)
EASY_PAUSE_AT_S = 1200  # the timer stops 20 minutes in ...
EASY_PAUSE_S = 60  # ... for a minute (traffic lights, a shoelace)
EASY_TIMER_S = 40 * 60
EASY_SPEED_CM_S = 260

HARDER_START = datetime(2026, 11, 19, 17, 10, tzinfo=UTC)
HARDER_TIMER_S = 35 * 60
HARDER_STRETCH = (20 * 60, 26 * 60)  # timer seconds of the 6-minute faster stretch
HARDER_SPEED_CM_S = (260, 360)

PHONE_START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
PHONE_DURATION_S = 30 * 60
PHONE_EVERY_S = 2
PHONE_SPEED_CM_S = 275

TREADMILL_START = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)
TREADMILL_TIMER_S = 30 * 60
TREADMILL_SPEED_CM_S = 270

LONG_START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
LONG_TIMER_S = 60 * 60
LONG_LAP_S = 30 * 60  # the watch laps every 30 minutes
LONG_PAUSE_AT_S = 40 * 60  # a drink stop 40 minutes in ...
LONG_PAUSE_S = 90  # ... of a minute and a half
LONG_SPEED_CM_S = 245
LONG_EVERY_S = 4  # smart recording: a point every few seconds


def warmup(timer_s: int, steady: float, drift_per_s: float = 0.0) -> float:
    """Heart-rate target: up from ~110 over the first 3 minutes, then a slow cardiac drift."""
    ramp = min(1.0, timer_s / 180)
    return 110 + (steady - 110) * ramp + drift_per_s * timer_s


def easy_run(out_dir: Path) -> Path:
    second_first = EASY_PAUSE_AT_S + EASY_PAUSE_S
    samples = simulate(
        segments=[(0, EASY_PAUSE_AT_S), (second_first, second_first + EASY_TIMER_S - EASY_PAUSE_AT_S)],
        speed_cm_s=lambda k: EASY_SPEED_CM_S + wiggle_cm(k),
        hr_target=lambda k: warmup(k, 132, drift_per_s=6 / EASY_TIMER_S) + 1.5 * math.sin(k / 97),
        cadence_at=lambda k: 82,
        seed=20261117,
        loop=TIERGARTEN,
    )
    return write_fit(
        out_dir / "easy-run.fit",
        start=EASY_START,
        samples=samples,
        sub_sport="generic",
        session_extra={"workout_feel": 75, "workout_rpe": 30},  # fields 192 and 193
    )


def harder_stretch_run(out_dir: Path) -> Path:
    lo, hi = HARDER_STRETCH
    slow, fast = HARDER_SPEED_CM_S

    def speed(k: int) -> int:
        return (fast if lo <= k < hi else slow) + wiggle_cm(k)

    def hr_target(k: int) -> float:
        if lo <= k < hi:
            return 171.0
        return warmup(k, 136, drift_per_s=4 / HARDER_TIMER_S)

    samples = simulate(
        segments=[(0, HARDER_TIMER_S)],
        speed_cm_s=speed,
        hr_target=hr_target,
        cadence_at=lambda k: 87 if lo <= k < hi else 82,
        seed=20261119,
        loop=TEMPELHOFER_FELD,
    )
    return write_fit(
        out_dir / "harder-stretch-run.fit", start=HARDER_START, samples=samples, sub_sport="generic"
    )


def treadmill_run(out_dir: Path) -> Path:
    samples = simulate(
        segments=[(0, TREADMILL_TIMER_S)],
        speed_cm_s=lambda k: TREADMILL_SPEED_CM_S + wiggle_cm(k, amplitude=3),
        hr_target=lambda k: warmup(k, 134, drift_per_s=7 / TREADMILL_TIMER_S),
        cadence_at=lambda k: 83,
        seed=20261123,
        loop=None,
    )
    return write_fit(
        out_dir / "treadmill-run.fit", start=TREADMILL_START, samples=samples, sub_sport="treadmill"
    )


def phone_run(out_dir: Path) -> Path:
    """A phone app's GPX: a point every 2 s with time and elevation, no heart rate, no extensions."""
    rng = np.random.default_rng(20261121)
    gps, baro = Wander(rng, 4.0, keep=0.9), Wander(rng, 0.6, dims=1, keep=0.95)
    loop = ALLMEND_BRUNAU
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "Phone app"
    gpx.name = "Saturday run"
    gpx.time = PHONE_START
    track = gpxpy.gpx.GPXTrack(name="Saturday run")
    track.type = "running"
    segment = gpxpy.gpx.GPXTrackSegment()
    distance_cm = 0
    for offset in range(PHONE_DURATION_S + 1):
        if offset % PHONE_EVERY_S == 0:
            lat, lon = loop.position(distance_cm / 100, tuple(gps.step()))
            elevation = loop.altitude(distance_cm / 100) + baro.step()[0]
            segment.points.append(
                gpxpy.gpx.GPXTrackPoint(
                    latitude=round(lat, 7),
                    longitude=round(lon, 7),
                    elevation=round(elevation, 1),
                    time=PHONE_START + timedelta(seconds=offset),
                )
            )
        distance_cm += PHONE_SPEED_CM_S + wiggle_cm(offset)
    track.segments.append(segment)
    gpx.tracks.append(track)
    path = out_dir / "phone-run.gpx"
    path.write_text(gpx.to_xml(version="1.1"), encoding="utf-8", newline="\n")
    return path


def long_run(out_dir: Path) -> Path:
    """A Sunday long run as Garmin Connect exports it to TCX: two 30-minute laps, a 90 s drink stop."""
    restart = LONG_PAUSE_AT_S + LONG_PAUSE_S
    samples = simulate(
        segments=[(0, LONG_PAUSE_AT_S), (restart, restart + LONG_TIMER_S - LONG_PAUSE_AT_S)],
        speed_cm_s=lambda k: LONG_SPEED_CM_S + wiggle_cm(k),
        hr_target=lambda k: warmup(k, 129, drift_per_s=5 / LONG_TIMER_S) + 1.5 * math.sin(k / 83),
        cadence_at=lambda k: 80,
        seed=20261122,
        loop=TEMPELHOFER_FELD,
    )
    return write_tcx(out_dir / "long-run.tcx.gz", start=LONG_START, samples=samples, lap_every_s=LONG_LAP_S,
                     every_s=LONG_EVERY_S)


# --------------------------------------------------------------------------------------------
# TCX writing
# --------------------------------------------------------------------------------------------

TCX_NS = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
TCX_EXT_NS = "http://www.garmin.com/xmlschemas/ActivityExtension/v2"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"


def _tcx_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _sub(parent: ET.Element, tag: str, text: object = None, ns: str = TCX_NS, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
    if text is not None:
        element.text = str(text)
    return element


def write_tcx(path: Path, *, start: datetime, samples: list[Sample], lap_every_s: int, every_s: int = 1) -> Path:
    """A TCX activity as Garmin Connect writes one: a lap per `lap_every_s` timer seconds, a new <Track>
    after each timer stop, lap totals from every sample, Speed and RunCadence in the point extensions.
    Points are written `every_s` seconds and at the first and last second of each stretch of running."""
    ET.register_namespace("", TCX_NS)
    ET.register_namespace("ax", TCX_EXT_NS)
    ET.register_namespace("xsi", XSI_NS)
    root = ET.Element(f"{{{TCX_NS}}}TrainingCenterDatabase")
    activity = _sub(_sub(root, "Activities"), "Activity", Sport="Running")
    _sub(activity, "Id", _tcx_time(start))
    # a lap holds the samples after its start boundary; the first lap also holds the very first sample
    laps: list[list[Sample]] = [[] for _ in range(math.ceil(samples[-1].timer_s / lap_every_s))]
    for sample in samples:
        laps[max(0, (sample.timer_s - 1) // lap_every_s)].append(sample)
    boundary = samples[0]
    for lap_samples in laps:
        totals = summary([boundary, *lap_samples], boundary)
        lap = _sub(activity, "Lap", StartTime=_tcx_time(start + timedelta(seconds=boundary.offset_s)))
        _sub(lap, "TotalTimeSeconds", f"{totals['total_timer_time']:.1f}")
        _sub(lap, "DistanceMeters", f"{totals['total_distance']:.2f}")
        _sub(lap, "MaximumSpeed", f"{totals['enhanced_max_speed']:.3f}")
        _sub(lap, "Calories", totals["total_calories"])
        _sub(_sub(lap, "AverageHeartRateBpm"), "Value", totals["avg_heart_rate"])
        _sub(_sub(lap, "MaximumHeartRateBpm"), "Value", totals["max_heart_rate"])
        _sub(lap, "Intensity", "Active")
        _sub(lap, "TriggerMethod", "Time")
        track = _sub(lap, "Track")
        previous = None
        for i, s in enumerate(lap_samples):
            stopped = previous is not None and s.offset_s - previous.offset_s != s.timer_s - previous.timer_s
            if stopped:
                track = _sub(lap, "Track")
            edge = stopped or i == len(lap_samples) - 1 or lap_samples[i + 1].timer_s == s.timer_s
            if s.offset_s % every_s and not edge and s is not samples[0]:
                continue
            previous = s
            point = _sub(track, "Trackpoint")
            _sub(point, "Time", _tcx_time(start + timedelta(seconds=s.offset_s)))
            if s.lat_semi is not None:
                position = _sub(point, "Position")
                _sub(position, "LatitudeDegrees", f"{s.lat_semi * 180 / 2**31:.8f}")
                _sub(position, "LongitudeDegrees", f"{s.lon_semi * 180 / 2**31:.8f}")
            if s.altitude_m is not None:
                _sub(point, "AltitudeMeters", f"{s.altitude_m:.1f}")
            _sub(point, "DistanceMeters", f"{s.distance_cm / 100:.2f}")
            _sub(_sub(point, "HeartRateBpm"), "Value", s.heart_rate)
            tpx = _sub(_sub(point, "Extensions"), "TPX", ns=TCX_EXT_NS)
            _sub(tpx, "Speed", f"{s.speed_cm_s / 100:.2f}", ns=TCX_EXT_NS)
            _sub(tpx, "RunCadence", s.cadence, ns=TCX_EXT_NS)
        lx = _sub(_sub(lap, "Extensions"), "LX", ns=TCX_EXT_NS)
        _sub(lx, "AvgSpeed", f"{totals['enhanced_avg_speed']:.3f}", ns=TCX_EXT_NS)
        _sub(lx, "AvgRunCadence", totals["avg_cadence"], ns=TCX_EXT_NS)
        boundary = lap_samples[-1]
    creator = _sub(activity, "Creator")
    creator.set(f"{{{XSI_NS}}}type", "Device_t")
    _sub(creator, "Name", "Forerunner 945")
    _sub(creator, "UnitId", SERIAL_NUMBER)
    _sub(creator, "ProductID", GARMIN_FR945)
    ET.indent(root, space="  ")
    data = ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"
    # mtime 0 keeps the gzip header, and so the file, the same from one generation to the next
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
    return path


def generate(out_dir: Path) -> list[Path]:
    """Write the five sample files into `out_dir` and return their paths (FILE_NAMES order)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [easy_run(out_dir), harder_stretch_run(out_dir), phone_run(out_dir), treadmill_run(out_dir),
            long_run(out_dir)]


if __name__ == "__main__":
    for written in generate(OUT_DIR):
        print(f"{written.stat().st_size:>8} bytes  {written}")
