"""Normalization against numbers worked by hand from the published formulas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from connectors.base import ActivityMeta, DecodedActivity, records_table
from pipeline.normalize import (
    EARTH_RADIUS_M,
    climb_m,
    haversine_m,
    normalize,
    offset_in,
    paused_per_interval,
    sport_of,
    timer_paused_per_interval,
    timezone_at,
)

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 30 min before Europe's switch to summer time


def test_haversine_one_degree_of_latitude_is_a_360th_of_the_meridian_circle():
    expected = 2 * np.pi * EARTH_RADIUS_M / 360  # 111,195.08 m
    got = haversine_m(np.array([0.0]), np.array([0.0]), np.array([1.0]), np.array([0.0]))[0]
    assert got == pytest.approx(expected, rel=1e-12)
    assert got == pytest.approx(111_195.08, abs=0.01)


def test_paused_seconds_per_interval_from_timer_pauses_and_gaps():
    t = np.array([0.0, 10.0, 20.0, 100.0, 110.0, 300.0])
    pauses = np.array([[15.0, 95.0]])  # the timer stopped 15 s..95 s
    got = paused_per_interval(np.diff(t), timer_paused_per_interval(t, pauses), gap_s=60.0)
    # [0,10] none; [10,20] 5 s of the pause; [20,100] 75 s; [100,110] none; [110,300] a 190 s gap
    assert got.tolist() == [0.0, 5.0, 75.0, 0.0, 190.0]


def test_climb_with_hysteresis_ignores_small_wiggles():
    alt = np.array([100.0, 101.0, 100.0, 105.0, 104.0, 110.0, 102.0, np.nan, 103.0])
    ascent, descent = climb_m(alt, hysteresis=3.0)
    # 100 -> 105 (+5, the 1 m wiggle is ignored), 105 -> 110 (+5; 104 is within 3 m), 110 -> 102 (-8)
    assert (ascent, descent) == (10.0, 8.0)


@pytest.mark.parametrize(
    ("sport", "sub_sport", "expected"),
    [
        ("running", "generic", "running"),
        ("running", "treadmill", "treadmill_running"),
        ("running", "trail", "trail_running"),
        ("Run", None, "running"),
        ("9", None, "running"),  # Strava's activity type code in GPX <type>
        ("cycling", "indoor_cycling", "indoor_cycling"),
        ("walking", None, "walking"),
        ("snorkeling", None, "other"),
        (None, None, "other"),
    ],
)
def test_sport_vocabulary(sport, sub_sport, expected):
    assert sport_of(sport, sub_sport) == expected


def test_time_zone_and_offset_from_a_position_offline():
    assert timezone_at(52.5145, 13.3501) == "Europe/Berlin"  # Tiergarten
    assert offset_in("Europe/Berlin", datetime(2026, 11, 17, 6, 30, tzinfo=UTC)) == 3600
    assert offset_in("Europe/Berlin", datetime(2026, 7, 1, 6, 30, tzinfo=UTC)) == 7200


def _activity(n: int = 601, pause: tuple[int, int] | None = (300, 360), speed: float = 2.5,
              positions: bool = True, offset: int | None = None) -> DecodedActivity:
    """A 1 Hz run due north at `speed`; no samples inside the pause."""
    secs = np.arange(n, dtype=float)
    if pause:
        secs = secs[(secs < pause[0]) | (secs >= pause[1])]
    stop, resume = pause if pause else (np.inf, np.inf)
    moved = np.where(secs >= resume, secs - (resume - stop), secs) * speed
    lat = 47.3769 + np.degrees(moved / EARTH_RADIUS_M)  # Zurich, straight north
    cols = {
        "timestamp": [T0 + timedelta(seconds=float(s)) for s in secs],
        "speed_m_s": np.full(len(secs), speed),
        "heart_rate_bpm": np.where(secs < 200, 120, 150).tolist(),
        "altitude_m": np.full(len(secs), 408.0),
    }
    if positions:
        cols["latitude_deg"] = lat
        cols["longitude_deg"] = np.full(len(secs), 8.5417)
    pauses = ((T0 + timedelta(seconds=pause[0]), T0 + timedelta(seconds=pause[1])),) if pause else ()
    meta = ActivityMeta(sport="running", sub_sport="generic", utc_offset_s=offset)
    return DecodedActivity("fit", "test", 0, meta, records_table(cols), pauses=pauses)


def _row(act: DecodedActivity):
    return normalize(act, athlete_id="me", activity_id="a-0", source_sha256="0" * 64, source_path="x.fit",
                     imported_at=T0)


def test_totals_of_a_run_with_one_timer_pause():
    norm = _row(_activity())
    row = norm.activity
    # samples at 0..299 and 360..600: elapsed 600 s, the 60 s pause excluded from the timer
    assert row["elapsed_time_s"] == 600.0
    assert row["timer_time_s"] == 540.0
    assert row["moving_time_s"] == 540.0
    # distance from positions (no device distance): the leg across the pause (299 s -> 360 s) does not
    # count, so 299 legs before it and 240 after, each 2.5 m
    assert row["distance_m"] == pytest.approx(539 * 2.5, rel=1e-9)
    assert row["avg_speed_m_s"] == pytest.approx(539 * 2.5 / 540, rel=1e-9)
    # HR 120 for t < 200 s, 150 after; time-weighted over the 540 running seconds (interval i -> sample i+1)
    assert row["avg_heart_rate_bpm"] == pytest.approx((199 * 120 + 341 * 150) / 540)
    assert row["max_heart_rate_bpm"] == 150
    assert norm.records["timer_running"].to_pylist().count(False) == 0  # no sample inside the pause
    assert norm.records["elapsed_s"].to_pylist()[-1] == 600.0


def test_local_offset_from_the_file_first_then_from_the_position():
    row = _row(_activity(offset=7200)).activity
    assert (row["utc_offset_s"], row["utc_offset_source"], row["timezone"]) == (7200, "file", "Europe/Zurich")
    row = _row(_activity()).activity  # 00:30 UTC on 29 March: still CET, +1 h
    assert (row["utc_offset_s"], row["utc_offset_source"]) == (3600, "position")
    assert row["start_time_local"] == datetime(2026, 3, 29, 1, 30)


def test_indoor_run_without_positions_is_first_class():
    row = _row(_activity(positions=False, pause=None)).activity
    assert row["indoor"] is True and row["has_position"] is False
    assert row["utc_offset_s"] is None and row["utc_offset_source"] is None
    assert row["distance_m"] is None  # no device distance, no positions: unknown, not zero
    assert row["timer_time_s"] == 600.0


def test_standing_still_is_not_moving_but_a_slow_walk_is():
    slow = _row(_activity(speed=0.9, pause=None)).activity  # 3.2 km/h, a slow walk
    assert slow["moving_time_s"] == 600.0
    still = _row(_activity(speed=0.2, pause=None)).activity
    assert still["moving_time_s"] == 0.0


def test_a_new_gpx_segment_is_a_pause_and_the_jump_between_segments_no_leg(tmp_path):
    import gpxpy.gpx

    from connectors.gpx import decode_gpx

    gpx = gpxpy.gpx.GPX()
    track = gpxpy.gpx.GPXTrack()
    gpx.tracks.append(track)
    for first_second, lat0 in ((0, 47.0), (600, 47.1)):  # 11 km apart: a bus ride between segments
        segment = gpxpy.gpx.GPXTrackSegment()
        for i in range(61):  # 60 legs of 0.0001 degree latitude, 1 per 5 s
            segment.points.append(gpxpy.gpx.GPXTrackPoint(
                lat0 + i * 1e-4, 8.0, time=T0 + timedelta(seconds=first_second + 5 * i)))
        track.segments.append(segment)
    (act,) = decode_gpx(gpx.to_xml().encode(), "two-segments.gpx")
    row = _row(act).activity
    leg = 2 * np.pi * EARTH_RADIUS_M * 1e-4 / 360  # 11.12 m
    assert row["distance_m"] == pytest.approx(120 * leg, rel=1e-6)
    # gpxpy's own figure; it uses the equatorial radius (6,378,137 m), 0.11 % more than the mean radius
    assert row["distance_m"] == pytest.approx(gpx.length_2d() * EARTH_RADIUS_M / 6_378_137.0, rel=1e-4)
    assert row["elapsed_time_s"] == 900.0
    assert row["timer_time_s"] == 600.0  # 300 s of each segment; the 300 s between them is a pause


def _sparse(meta: ActivityMeta, every_s: float, n: int, first_distance: float) -> DecodedActivity:
    """A pool-swim-like file: a sample per length, the first one at the end of the first length."""
    secs = np.arange(1, n + 1) * every_s
    cols = {
        "timestamp": [T0 + timedelta(seconds=float(s)) for s in secs],
        "distance_m": first_distance + np.arange(n) * 25.0,
    }
    return DecodedActivity("fit", "test", 0, meta, records_table(cols))


def test_sparse_recordings_keep_their_intervals_and_the_session_start_counts():
    meta = ActivityMeta(sport="swimming", start_time=T0)
    row = _row(_sparse(meta, every_s=90.0, n=20, first_distance=25.0)).activity
    # the session started at T0, the first sample 90 s later, then one every 90 s: 20 x 90 s
    assert row["start_time"] == T0
    assert row["elapsed_time_s"] == 1800.0
    assert row["timer_time_s"] == 1800.0  # 90 s intervals are this file's rhythm, not gaps
    # the first sample already holds the first length: 20 lengths of 25 m
    assert row["distance_m"] == 500.0


def test_a_later_multisport_session_counts_only_its_own_distance():
    meta = ActivityMeta(sport="running", start_time=T0, distance_from_zero=False)
    row = _row(_sparse(meta, every_s=5.0, n=11, first_distance=10_000.0)).activity
    assert row["distance_m"] == 250.0  # 10,000 m carried over from the ride before, then 10 x 25 m


def test_a_session_start_long_before_the_first_sample_is_not_trusted():
    meta = ActivityMeta(sport="running", start_time=T0 - timedelta(hours=3))
    row = _row(_sparse(meta, every_s=5.0, n=11, first_distance=0.0)).activity
    assert row["start_time"] == T0 + timedelta(seconds=5)
    assert row["elapsed_time_s"] == 50.0
