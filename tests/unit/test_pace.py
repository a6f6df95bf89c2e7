"""The pace path against numbers from outside the code: the VDOT table of gentleness.md §3.1, Daniels'
published VDOT tables, the grade-adjustment table of §3.3, and synthetic tracks with a known answer."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from pipeline.ceiling import ProfileVersion
from pipeline.pace import (
    centred_mean,
    centred_median,
    gap_speed,
    grade_series,
    has_elevation,
    minetti_cost,
    resolve_pace_ceiling,
    smoothed_speed,
    speed_of_vo2,
    strava_gap_factor,
    vdot,
    vo2_of_speed,
)

ON = date(2025, 6, 1)


def s_per_km(m_per_min: float) -> float:
    return 60000.0 / m_per_min


def clock(text: str) -> int:  # '1:02:03' or '7:14' as seconds
    return sum(int(part) * 60**i for i, part in enumerate(reversed(text.split(":"))))


# gentleness.md §3.1: race, VDOT, E slow v(0.59 VDOT), 0.74 v(VDOT), E fast v(0.74 VDOT), v(0.80 VDOT), min/km
VDOT_TABLE = [
    (5000, "25:00", 38.3, "7:14", "6:26", "6:03", "5:41"),
    (5000, "30:00", 30.8, "8:32", "7:39", "7:11", "6:45"),
    (5000, "35:00", 25.6, "9:48", "8:52", "8:17", "7:48"),
    (5000, "40:00", 21.7, "11:01", "10:05", "9:22", "8:51"),
    (10000, "1:15:00", 24.7, "10:03", "9:07", "8:30", "8:01"),
    (21097.5, "2:30:00", 27.9, "9:12", "8:17", "7:45", "7:18"),
    (42195, "5:00:00", 28.7, "9:00", "8:06", "7:35", "7:08"),
]


@pytest.mark.parametrize(("distance", "time", "table_vdot", "e_slow", "ceiling", "e_fast", "hard"), VDOT_TABLE)
def test_vdot_table_of_the_doc(distance, time, table_vdot, e_slow, ceiling, e_fast, hard):
    assert (got := vdot(float(distance), float(clock(time)))) == pytest.approx(table_vdot, abs=0.1)
    assert s_per_km(speed_of_vo2(0.59 * got)) == pytest.approx(clock(e_slow), abs=1)
    assert s_per_km(0.74 * speed_of_vo2(got)) == pytest.approx(clock(ceiling), abs=1)
    assert s_per_km(speed_of_vo2(0.74 * got)) == pytest.approx(clock(e_fast), abs=1)
    assert s_per_km(speed_of_vo2(0.80 * got)) == pytest.approx(clock(hard), abs=1)


# Daniels' Running Formula tables: VDOT 50 = 5K 19:57, 10K 41:21, marathon 3:10:49; VDOT 40 = 5K 24:08,
# 10K 50:03, marathon 3:49:45.
@pytest.mark.parametrize(("distance", "time", "published"), [
    (5000, "19:57", 50), (10000, "41:21", 50), (42195, "3:10:49", 50),
    (5000, "24:08", 40), (10000, "50:03", 40), (42195, "3:49:45", 40),
])
def test_vdot_matches_daniels_published_tables(distance, time, published):
    assert vdot(float(distance), float(clock(time))) == pytest.approx(published, abs=0.1)


def test_vdot_worked_by_hand():
    # 5K in 20:00: v = 250 m/min, VO2 = -4.60 + 45.5645 + 6.5 = 47.4645; %max(20) = 0.8 + 0.1894393 x 0.774483
    # + 0.2989558 x 0.020959 = 0.952983; VDOT = 49.806 (between Daniels' 49 at 20:18 and 50 at 19:57)
    assert vdot(5000.0, 1200.0) == pytest.approx(49.806, abs=0.005)
    # 10K in 50:00: v = 200, VO2 = -4.60 + 36.4516 + 4.16 = 36.0116; %max(50) = 0.8 + 0.1894393 x 0.527873
    # + 0.2989558 x 0.0000636 = 0.900019; VDOT = 40.012
    assert vdot(10000.0, 3000.0) == pytest.approx(40.012, abs=0.005)
    assert vo2_of_speed(200.0) == pytest.approx(36.0116)
    assert speed_of_vo2(36.0116) == pytest.approx(200.0)
    speeds = np.array([150.0, 250.0, 350.0])
    assert speed_of_vo2(vo2_of_speed(speeds)) == pytest.approx(speeds)


# gentleness.md §3.3: grade, Minetti Cr(i)/3.6, Strava-fit f
GAP_TABLE = [(-20, 0.50, 1.12), (-10, 0.60, 0.88), (-5, 0.76, 0.89), (0, 1.00, 1.00), (5, 1.30, 1.21),
             (10, 1.66, 1.52), (20, 2.50, 2.36)]


@pytest.mark.parametrize(("grade_pct", "minetti", "strava"), GAP_TABLE)
def test_grade_factors_of_the_doc(grade_pct, minetti, strava):
    assert strava_gap_factor(float(grade_pct)) == pytest.approx(strava, abs=0.005)
    assert minetti_cost(grade_pct / 100.0) / 3.6 == pytest.approx(minetti, abs=0.005)


def test_gap_speed():
    got = gap_speed(np.array([3.0, 3.0, 3.0, np.nan]), np.array([0.0, 0.10, np.nan, 0.10]))
    # 3 m/s up 10 %: 3 x 1.5226 (f(10) = 1 + 0.326567 + 0.205357 - 0.0039896 - 0.0052944)
    assert got[:3] == pytest.approx([3.0, 4.5679, 3.0], abs=1e-3)
    assert np.isnan(got[3])


def ramp(slope: float, n: int = 600, speed: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    distance = speed * np.arange(n, dtype=float)
    return distance, 200.0 + slope * distance


def test_grade_of_a_constant_ramp():
    distance, altitude = ramp(0.05)
    grade = grade_series(distance, altitude, 60)
    assert grade[60:-60] == pytest.approx(np.full(480, 0.05))
    assert not np.isnan(grade).any()


def test_grade_is_clamped_and_holes_stay_holes():
    distance, altitude = ramp(0.40)
    assert grade_series(distance, altitude, 30)[60:-60] == pytest.approx(np.full(480, 0.25))
    distance, altitude = ramp(-0.40)
    assert grade_series(distance, altitude, 30)[60:-60] == pytest.approx(np.full(480, -0.25))
    distance, altitude = ramp(0.05)
    distance[100:110] = np.nan
    altitude[300:400] = np.nan
    grade = grade_series(distance, altitude, 30)
    assert np.isnan(grade[100:110]).all() and np.isnan(grade[330:370]).all()
    assert grade[200] == pytest.approx(0.05)
    assert np.isnan(grade_series(np.arange(10.0), np.arange(10.0), 30)).all()  # 9 m: shorter than 50 m


def test_has_elevation():
    _, altitude = ramp(0.05)
    assert has_elevation(altitude)
    assert not has_elevation(np.full(600, 87.0))
    assert not has_elevation(np.full(600, np.nan))
    assert not has_elevation(87.0 + 0.4 * np.sin(np.arange(600.0)))  # under a metre: flat
    assert not has_elevation(np.array([]))


@pytest.mark.parametrize("kind", ["out_and_back", "one_sided"])
def test_speed_from_positions_drops_a_gps_jump(kind):
    t = np.arange(300.0)
    x, y = 3.0 * t, np.zeros(300)
    if kind == "out_and_back":
        y[150] = 100.0  # one fix 100 m off the road
    else:
        x[150:] += 100.0  # the track jumps 100 m ahead and stays
    distance = np.concatenate(([0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))))  # as a GPX reader sums it
    got = smoothed_speed(np.full(300, np.nan), distance, from_positions=True)
    assert got[20:-20] == pytest.approx(np.full(260, 3.0), abs=0.01)
    raw = (distance[165] - distance[135]) / 30.0
    assert raw > 5.0  # what a plain 30 s window would have said


def test_speed_from_positions_keeps_a_real_change_of_pace():
    speed = np.where(np.arange(300) < 150, 1.2, 6.0)  # a walk, then a sprint: 4.8 m/s faster within a second
    distance = np.concatenate(([0.0], np.cumsum(speed[1:])))
    got = smoothed_speed(np.full(300, np.nan), distance, from_positions=True)
    assert got[20:130] == pytest.approx(np.full(110, 1.2)) and got[170:-20] == pytest.approx(np.full(110, 6.0))
    assert not np.isnan(got).any()


def test_device_speed_median_and_fallback_to_distance():
    speed = np.full(120, 3.0)
    speed[60] = 25.0  # a one-second spike
    speed[90:100] = np.nan  # a hole
    got = smoothed_speed(speed, np.full(120, np.nan), from_positions=False)
    assert got[:90] == pytest.approx(np.full(90, 3.0))
    assert np.isnan(got[90:100]).all()
    derived = smoothed_speed(np.full(120, np.nan), 2.5 * np.arange(120.0), from_positions=False)
    assert derived[20:-20] == pytest.approx(np.full(80, 2.5))


def test_pace_only():
    assert (got := resolve_pace_ceiling(ProfileVersion(conversational_pace_s_per_km=420.0), ON)) is not None
    assert (got.method, got.confidence, got.vdot, got.flags) == ("conversational_pace", "medium", None, ())
    assert got.ceiling_m_s == pytest.approx(1000 / 420) and got.hard_line_m_s == pytest.approx(1.10 * 1000 / 420)
    assert "7:00/km" in got.how


def test_race_only_gives_the_doc_paces():
    assert (got := resolve_pace_ceiling(ProfileVersion(race_distance_m=5000, race_time_s=1500, race_date=ON), ON))
    assert (got.method, got.confidence, got.flags) == ("race_vdot", "medium", ())
    d = got.as_dict()
    assert d["vdot"] == pytest.approx(38.3, abs=0.1)
    assert d["ceiling_pace_s_per_km"] == pytest.approx(clock("6:26"), abs=1)
    assert d["hard_line_pace_s_per_km"] == pytest.approx(clock("5:41"), abs=1)
    assert set(d) == {"ceiling_m_s", "hard_line_m_s", "ceiling_pace_s_per_km", "hard_line_pace_s_per_km", "method",
                      "confidence", "how", "vdot"}


def test_pace_and_race():
    got = resolve_pace_ceiling(ProfileVersion(conversational_pace_s_per_km=420.0, race_distance_m=5000,
                                              race_time_s=1500), ON)
    assert got is not None and got.method == "conversational_pace" and got.confidence == "medium"
    assert 1000 / got.ceiling_m_s == pytest.approx(420.0)
    assert 1000 / got.hard_line_m_s == pytest.approx(clock("5:41"), abs=1)
    # a slow race (5K 35:00, hard line 7:48/km) never puts the hard line below 1.05 x a 5:00/km ceiling
    slow = resolve_pace_ceiling(ProfileVersion(conversational_pace_s_per_km=300.0, race_distance_m=5000,
                                               race_time_s=2100), ON)
    assert slow is not None and slow.hard_line_m_s == pytest.approx(1.05 * 1000 / 300)


@pytest.mark.parametrize(("days", "confidence", "flags"), [
    (None, "medium", ()), (0, "medium", ()), (84, "medium", ()), (85, "low", ()), (182, "low", ()),
    (183, "low", ("race_outdated",)),
])
def test_an_old_race_lowers_confidence(days, confidence, flags):
    race_date = None if days is None else ON - timedelta(days=days)
    got = resolve_pace_ceiling(ProfileVersion(race_distance_m=10000, race_time_s=4500, race_date=race_date), ON)
    assert got is not None and (got.confidence, got.flags) == (confidence, flags)


def test_nothing_to_go_by():
    assert resolve_pace_ceiling(None, ON) is None
    assert resolve_pace_ceiling(ProfileVersion(age=40, resting_hr=55), ON) is None
    assert resolve_pace_ceiling(ProfileVersion(race_distance_m=5000), ON) is None  # a race without a time


def test_centred_median_is_pandas_rolling_median_value_for_value():
    """The NumPy rolling median the assessment uses against pandas' own, on 2,000 random series: even and
    odd windows, windows longer than the series, every min_periods, holes from none to all, whole-number
    heart rates, speeds and large values with tiny differences (where a mean of two could round apart)."""
    rng = np.random.default_rng(7)
    for trial in range(2000):
        n, window = int(rng.integers(0, 150)), int(rng.integers(1, 40))
        min_periods = int(rng.integers(0, window + 1))
        values = (rng.normal(3, 1, n), np.round(rng.normal(140, 10, n)), 1e5 + rng.random(n) * 1e-3)[trial % 3]
        values[rng.random(n) < rng.random()] = np.nan
        expected = pd.Series(values, dtype=float).rolling(window, center=True, min_periods=min_periods).median()
        assert np.array_equal(centred_median(values, window, min_periods), expected.to_numpy(), equal_nan=True), (
            trial, n, window, min_periods)


def test_centred_mean_is_pandas_rolling_mean():
    """Exactly on whole numbers (heart rates), to a few units in the last place on anything else."""
    rng = np.random.default_rng(11)
    for trial in range(2000):
        n, window = int(rng.integers(0, 150)), int(rng.integers(1, 40))
        min_periods = int(rng.integers(0, window + 1))
        whole = trial % 2 == 1
        values = np.round(rng.normal(140, 10, n)) if whole else rng.normal(3, 1, n)
        values[rng.random(n) < rng.random()] = np.nan
        expected = pd.Series(values, dtype=float).rolling(window, center=True, min_periods=min_periods).mean()
        got = centred_mean(values, window, min_periods)
        assert np.array_equal(np.isnan(got), np.isnan(expected.to_numpy())), (trial, n, window, min_periods)
        if whole:
            assert np.array_equal(got, expected.to_numpy(), equal_nan=True), (trial, n, window, min_periods)
        else:
            np.testing.assert_allclose(got, expected.to_numpy(), rtol=1e-13, atol=0)
