"""The timer clock and heart-rate cleaning in front of the score (gentleness.md §5.3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pipeline.artefacts import DEFAULT_ARTEFACTS, ArtefactSettings, cadence_lock, early_contact
from pipeline.assess import AssessSettings, CleanHr, clean_hr, moving_mask, on_timer_clock
from schemas.tables import RECORDS


def _records(t, hr, speed=None, running=None) -> pa.Table:
    n = len(t)
    cols = {name: pa.nulls(n, RECORDS.field(name).type) for name in RECORDS.names}
    cols.update(
        athlete_id=pa.array(["me"] * n), activity_id=pa.array(["a-0"] * n),
        timestamp=pa.array(np.asarray(t, dtype="int64") * 1000, pa.timestamp("ms", tz="UTC")),
        elapsed_s=pa.array(np.asarray(t, dtype=float)),
        timer_running=pa.array(np.ones(n, bool) if running is None else running),
        heart_rate_bpm=pa.array(hr, pa.int16()),
        speed_m_s=pa.array(np.full(n, 2.5) if speed is None else speed, pa.float64()),
    )
    return pa.table([cols[name] for name in RECORDS.names], schema=RECORDS)


def test_smart_recording_is_filled_pauses_and_long_gaps_are_left_out():
    # samples every 4 s to 40 s, a 30 s gap (a pause), every 4 s to 100 s
    t = list(range(0, 41, 4)) + list(range(70, 101, 4))
    series = on_timer_clock(_records(t, [120] * len(t)))
    # 0..39 on (40 s); from the sample at 40 to the one at 70 paused (a gap over 10 s); 70..98 on (29 s)
    assert series.elapsed_s[0] == 0 and 40 not in series.elapsed_s and 69 not in series.elapsed_s
    assert len(series.elapsed_s) == 40 + 29
    assert not np.isnan(series.hr).any()  # 4 s spacing is within the 5 s forward fill


def test_a_timer_stop_is_a_pause_a_9_s_gap_is_interpolated_and_a_dropout_held_5_s():
    t = [0, 1, 2, 11, 12, 13, 14, 15, 16, 24, 25]
    running = np.array([True] * 5 + [False] + [True] * 5)  # stopped at 13, resumed at 14
    hr = [120, 120, 120, 129, 120, 120, 120, None, 120, None, 120]  # two samples lost their heart rate
    series = on_timer_clock(_records(t, hr, running=running))
    assert 13 not in series.elapsed_s and len(series.elapsed_s) == 25
    got = dict(zip(series.elapsed_s.tolist(), series.hr.tolist(), strict=True))
    # a 9 s recording gap is no pause: 3..10 lie between 120 and 129, one beat a second
    assert [got[float(i)] for i in range(2, 12)] == [120 + i for i in range(10)]
    assert np.isnan(got[15.0]) and np.isnan(got[24.0])  # the samples without a value
    # before a sample without a value, the last value is held for 5 s: 16..21, then a hole
    assert [got[float(i)] for i in range(16, 22)] == [120] * 6 and np.isnan(got[22.0]) and np.isnan(got[23.0])


def test_moving_needs_speed_unless_indoors():
    series = on_timer_clock(_records(range(10), [120] * 10, speed=[0.0] * 5 + [2.0] * 5))
    assert moving_mask(series, indoor=False).tolist() == [False] * 5 + [True] * 5
    assert moving_mask(series, indoor=True).all()


def test_a_spike_and_out_of_range_values_are_removed_with_their_reasons():
    hr = np.full(120, 130.0)
    hr[50] = 190.0  # a single-second spike
    hr[80] = 20.0  # below any real heart rate
    got = clean_hr(hr, np.full(120, 2.5))
    assert got.excluded_s == {"range": 1, "spike": 1}
    assert np.allclose(got.hr, 130.0)  # both holes were short and interpolated


def test_a_frozen_value_while_the_pace_changes_is_removed_and_not_filled():
    hr = 130 + np.sin(np.arange(300) / 10.0) * 3
    hr[100:190] = 128.0  # stuck for 90 s
    speed = 2.5 + 0.3 * np.sin(np.arange(300) / 7.0)
    got = clean_hr(hr, speed)
    assert got.excluded_s == {"frozen": 90}
    assert np.isnan(got.hr[100:190]).all() and not np.isnan(got.hr[:100]).any()


def test_a_real_rise_is_kept():
    hr = np.concatenate([np.full(300, 130.0), np.linspace(130, 165, 60), np.full(300, 165.0)])
    got = clean_hr(hr, np.full(len(hr), 3.0))
    assert got.excluded_s == {}
    assert got.hr[-1] == pytest.approx(165.0)


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    from pipeline.importer import discover, run_batches
    from pipeline.store import Store
    from tests.conftest import SAMPLES

    store = Store(tmp_path_factory.mktemp("samples"))
    run_batches(store, discover([SAMPLES]), "me")
    return store


def _verdicts(store, profile):
    from pipeline.assess import assess_run

    out = {}
    for row in store.read("activities").to_pylist():
        records = store.read_activity("records", row["activity_id"])
        out[row["source_path"].rsplit("/", 1)[-1]] = assess_run(row, records, profile)
    return out


def test_the_samples_get_the_verdicts_they_were_made_for(sample_store):
    """The generator's easy run holds 130-139 bpm, the harder one 6 min near 170 bpm; runner aged 40
    (ceiling 0.77 x 180 = 138.6 bpm, hard line 153 bpm)."""
    from pipeline.ceiling import ProfileVersion

    got = _verdicts(sample_store, ProfileVersion(age=40))
    assert got["easy-run.fit"].category == "gentle"
    assert got["treadmill-run.fit"].category == "gentle"
    harder = got["harder-stretch-run.fit"]
    assert harder.category in ("borderline", "too_hard")
    assert harder.time_above_hard_line_s >= 5 * 60 and "harder run than your easy plan" in harder.message
    phone = got["phone-run.gpx"]
    assert (phone.category, phone.reasons) == ("not_assessed", ("no_heart_rate",))


def test_without_a_usable_profile_nothing_is_judged_and_the_message_says_why(sample_store):
    from pipeline.ceiling import ProfileVersion

    # the easy run's watch kept the runner's RPE 3 (session field 193 = 30): that alone judges it
    got = _verdicts(sample_store, None)
    assert (got.pop("easy-run.fit").reasons, got["phone-run.gpx"].reasons) == (("self_report",), ("no_profile",))
    assert {v.reasons for v in got.values()} == {("no_profile",)}
    unreliable = _verdicts(sample_store, ProfileVersion(age=40, hr_reliable=False))
    easy = unreliable.pop("easy-run.fit")
    assert (easy.category, easy.basis, easy.self_report.rpe_cr10) == ("gentle", "self_report", 3.0)
    assert {v.reasons for v in unreliable.values()} == {("hr_not_reliable",)}


# The clean-up as first written, on pandas Series: the NumPy version must give the same values, bit for bit.
def _pandas_clean_hr(hr: np.ndarray, speed: np.ndarray, max_hr: float | None = None,
             s: AssessSettings = AssessSettings(), *, cadence_spm: np.ndarray | None = None,
             gap_speed: np.ndarray | None = None, running: np.ndarray | None = None,
             a: ArtefactSettings = DEFAULT_ARTEFACTS) -> CleanHr:
    """§5.3 step 6. Cadence lock and early strap contact need cadence, grade-adjusted speed and the
    running seconds; without them those two rules are skipped."""
    original = np.asarray(hr, dtype=float)
    raw = pd.Series(original)
    excluded: dict[str, int] = {}

    def drop(mask: pd.Series | np.ndarray, reason: str) -> None:
        nonlocal raw
        mask = pd.Series(np.asarray(mask, dtype=bool)) & raw.notna()
        excluded[reason] = int(mask.sum())
        raw = raw.mask(mask)

    top = min(s.hr_max_bpm, max_hr + 10) if max_hr else s.hr_max_bpm
    drop((raw < s.hr_min_bpm) | (raw > top), "range")
    # artefacts that replace the heart rate with another signal come before the spike filter, which
    # would otherwise nibble at their edges and leave their middles
    if cadence_spm is not None and not np.isnan(cadence_spm).all():
        drop(cadence_lock(raw.to_numpy(), cadence_spm, np.asarray(speed, dtype=float), a), "cadence_lock")
    if gap_speed is not None and running is not None:
        drop(early_contact(raw.to_numpy(), gap_speed, running, a), "early_contact")
    median = raw.rolling(s.hampel_window_s, center=True, min_periods=1).median()
    mad = (raw - median).abs().rolling(s.hampel_window_s, center=True, min_periods=1).median()
    drop((raw - median).abs() > np.maximum(s.hampel_min_bpm, s.hampel_k * 1.4826 * mad), "spike")
    # frozen: a run of one identical value for a minute or more while the speed changes
    run_id = (raw != raw.shift()).cumsum()
    run_len = raw.groupby(run_id).transform("size")
    speed_spread = pd.Series(np.asarray(speed, dtype=float)).groupby(run_id).transform("std").fillna(0.0)
    drop((run_len >= s.frozen_min_s) & (speed_spread > 0.1), "frozen")
    filled = raw.interpolate(limit=s.interp_max_gap_s, limit_area="inside")
    # only holes no longer than the limit are filled: a longer hole stays whole
    hole = raw.isna()
    hole_len = hole.groupby((~hole).cumsum()).transform("sum")
    filled = filled.where(~hole | (hole_len <= s.interp_max_gap_s))
    smooth = filled.rolling(s.hr_smooth_s, center=True, min_periods=1).mean().where(filled.notna())
    return CleanHr(smooth.to_numpy(), {k: v for k, v in excluded.items() if v})



def test_the_numpy_clean_up_gives_what_the_pandas_one_gave():
    rng = np.random.default_rng(7)
    for _ in range(150):
        n = int(rng.integers(1, 2500))
        hr = np.round(120 + np.cumsum(rng.normal(0, 1, n)))
        hr[rng.random(n) < 0.05] = np.nan  # dropouts
        hr[rng.random(n) < 0.01] = rng.choice([0.0, 250.0, 30.0, 220.0])  # out of range, spikes
        start = int(rng.integers(0, n))
        hr[start:start + int(rng.integers(0, 90))] = 140.0  # a frozen stretch
        speed = 2.5 + rng.normal(0, 0.3, n)
        speed[rng.random(n) < 0.05] = np.nan
        for max_hr in (None, 170.0):
            want, got = _pandas_clean_hr(hr, speed, max_hr), clean_hr(hr, speed, max_hr)
            # the same seconds dropped for the same reasons; the smoothed values equal to a billionth of a
            # beat (pandas' rolling mean keeps a running sum, the NumPy one sums each window on its own)
            assert got.excluded_s == want.excluded_s
            assert np.array_equal(np.isnan(got.hr), np.isnan(want.hr))
            np.testing.assert_allclose(got.hr, want.hr, rtol=0, atol=1e-9)
