"""Synthetic scenarios against the categories gentleness.md expects (the table of §5.6, the catalogue of §7.1).

One runner throughout, as in the §5.6 check: age 40, so the profile the algorithm sees (age only) gives
C = 0.77 x 180 = 138.6 bpm and H = 0.85 x 180 = 153 bpm; the runner's true physiology matches (true HRmax
180, VT1 at 0.83 x 180 = 149.4 bpm, reached at 3.0 m/s). "Easy" is the pace whose steady-state heart rate
is 134 bpm, about 5 bpm under C: the level at which a clean 7 %/h drift stays above E(t) for the last
16 min, the stretch the sketch's 54 for that case implies. Run/walk "slightly above C" runs at a steady
state of C + 5 bpm (the sketch does not say how far; +4 scores gentle, +6 borderline, +7 too hard).

Expectations come from the document, never from what the code gives. Where the code gives another
category because a rule of the document is not there yet, the case is a strict xfail naming the rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pytest

from pipeline.assess import Verdict, assess_run
from pipeline.ceiling import ProfileVersion
from tests.synthetic import (
    Run,
    Runner,
    Segment,
    activity_row,
    inject_cadence_lock,
    inject_dropout,
    inject_dry_strap,
    inject_frozen,
    inject_spikes,
    oracle,
    records_table,
    run_for,
    runner,
    simulate,
    smart_recording,
    strava_gap_factor,
    through_connectors,
    to_fit_bytes,
    to_gpx_bytes,
    walk_for,
    without_heart_rate,
)

RUNNER = Runner(age=40, hr_max=180.0, vt1_frac=0.83, hr_rest=60.0, v_vt1=3.0, tau_s=55.0, dead_s=7)
AGE_40 = ProfileVersion(age=40)
C, H = 0.77 * 180, 0.85 * 180
EASY = RUNNER.speed_for_hr(134.0)  # about 2.36 m/s, 7:04/km
TEMPO = RUNNER.speed_for_hr(160.0)  # about 3.29 m/s, 5:04/km: a tempo effort near 0.89 HRmax
STRAP, OPTICAL = ("heart_rate/antplus",), ("wrist_heart_rate/local",)
TEMPE = ("heart_rate/antplus", "env_sensor/antplus")  # an external temperature sensor beside the strap


# --- the runs ------------------------------------------------------------------------------------------------


def steady_easy(minutes: float = 45, drift: float = 0.03, seed: int = 1, **kw) -> Run:
    return simulate(RUNNER, [run_for(minutes, EASY)], seed=seed, drift_per_h=drift, **kw)


def short_hills() -> Run:
    hill = [run_for(1.5, EASY, 0.06), run_for(1.5, EASY, -0.06), run_for(7, EASY)]
    return simulate(RUNNER, [run_for(10, EASY), *hill * 3, run_for(5, EASY)], seed=2, drift_per_h=0.03)


def tempo_block(seed: int = 3) -> Run:
    return simulate(RUNNER, [run_for(10, EASY), run_for(20, TEMPO), run_for(15, EASY)], seed=seed, drift_per_h=0.03)


def whole_run_at_vt1() -> Run:
    return simulate(RUNNER, [run_for(45, RUNNER.v_vt1)], seed=4, drift_per_h=0.03)


def run_walk_slightly_above_c() -> Run:
    running = RUNNER.speed_for_hr(C + 5.0)  # steady state 5 bpm over C: past the edge line E = C + 3.6, below H
    return simulate(RUNNER, [run_for(4, running), walk_for(1)] * 9, seed=5, drift_per_h=0.03)


def hot_day() -> Run:
    return steady_easy(seed=6, heat_bpm=12.0, temperature_c=31.0)


def climb(slowed: bool) -> Run:
    factor = float(strava_gap_factor(7.0))
    up = run_for(12, EASY / factor if slowed else EASY, 0.07)
    return simulate(RUNNER, [run_for(15, EASY), up, run_for(18, EASY)], seed=7, drift_per_h=0.03)


def fast_finish() -> Run:
    return simulate(RUNNER, [run_for(37, EASY), run_for(8, TEMPO)], seed=8, drift_per_h=0.03)


def fast_start(seed: int = 9) -> Run:
    return simulate(RUNNER, [run_for(8, TEMPO), run_for(37, EASY)], seed=seed, drift_per_h=0.03)


def treadmill() -> Run:
    return simulate(RUNNER, [run_for(40, EASY)], seed=10, drift_per_h=0.03, indoor=True)


# --- the cases -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    build: Callable[[], Run | tuple[Run, np.ndarray]]
    expected: str  # the category the document expects
    profile: ProfileVersion = AGE_40
    sensors: tuple[str, ...] | None = None
    via: str = "records"  # records: stored directly; fit / gpx: written as a file and read back
    reason: str | None = None  # the labelled seconds must be excluded under this reason...
    min_share: float = 0.9  # ...at least this share of them, and not much more than all of them
    expect_reason: str | None = None  # a reason code the verdict must carry
    basis: str | None = None


def verdict_of(case: Case) -> tuple[Verdict, Run, np.ndarray | None]:
    built = case.build()
    run, labels = built if isinstance(built, tuple) else (built, None)
    if case.via == "records":
        activity, records = activity_row(run, sensors=case.sensors), records_table(run)
    elif case.via == "fit":
        activity, records = through_connectors(to_fit_bytes(run, sensors=case.sensors), "synthetic.fit")
    else:
        activity, records = through_connectors(to_gpx_bytes(run), "synthetic.gpx")
    return assess_run(activity, records, case.profile), run, labels


def _xfail(rule: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(reason=f"missing rule: {rule}", strict=True)


RACE_10K = ProfileVersion(age=40, race_distance_m=10_000, race_time_s=52 * 60, race_date=date(2026, 10, 10))

CASES = [
    # the table of §5.6
    pytest.param(Case(steady_easy, "gentle"), id="45min-steady-easy"),
    pytest.param(Case(short_hills, "gentle"), id="easy+3x90s-hills-6pct-speed-kept"),
    pytest.param(Case(lambda: steady_easy(100, 0.06, seed=11), "gentle"), id="100min-drift-6pct-h"),
    pytest.param(Case(lambda: steady_easy(150, 0.04, seed=12), "gentle"), id="150min-drift-4pct-h"),
    pytest.param(Case(lambda: steady_easy(150, 0.07, seed=13), "borderline", expect_reason="late_drift"),
                 id="150min-drift-7pct-h", marks=pytest.mark.xfail(strict=True, reason=(
                     "no rule missing: the late drift rises only 0-2.5 bpm over E(t), so ordinary pace and heart-rate "
                     "wobble splits it into stretches under 10 min (m2 merges gaps < 20 s only) and the score stays "
                     "gentle (77); the §5.6 sketch's 54 assumed one unbroken 16-min stretch. Decoupling is 6.6 %, "
                     "under the 10 % that adds late_drift (§5.8)"))),
    pytest.param(Case(tempo_block, "too_hard"), id="20min-tempo-in-45min"),
    pytest.param(Case(whole_run_at_vt1, "too_hard"), id="whole-run-at-vt1"),
    pytest.param(Case(run_walk_slightly_above_c, "borderline"), id="run-walk-4-1-slightly-above-c"),
    pytest.param(Case(hot_day, "too_hard", sensors=TEMPE), id="hot-day-plus-12bpm"),
    pytest.param(Case(hot_day, "too_hard", sensors=TEMPE, expect_reason="heat"), id="hot-day-heat-reason"),
    pytest.param(Case(lambda: climb(slowed=False), "too_hard"), id="12min-7pct-climb-at-flat-pace"),
    pytest.param(Case(lambda: climb(slowed=True), "gentle"), id="12min-7pct-climb-slowed-to-gap-easy"),
    pytest.param(Case(fast_finish, "too_hard"), id="fast-last-8min"),
    pytest.param(Case(fast_start, "too_hard"), id="fast-first-8min-then-easy"),
    pytest.param(Case(lambda: inject_dry_strap(fast_start(seed=14), 300, seed=14), "too_hard", sensors=STRAP),
                 id="fast-start+dry-strap-5min"),
    # each artefact on an easy run stays gentle, its seconds excluded with their reason
    pytest.param(Case(lambda: inject_spikes(steady_easy(seed=21), [720, 1200, 1680, 2160], seed=21), "gentle",
                      reason="spike", min_share=0.5), id="easy+spikes"),
    pytest.param(Case(lambda: inject_dropout(steady_easy(seed=22), 1500, 90), "gentle"), id="easy+dropout-missing-90s"),
    pytest.param(Case(lambda: inject_dropout(steady_easy(seed=23), 1500, 60, value=0.0), "gentle", reason="range"),
                 id="easy+dropout-zero-60s"),
    pytest.param(Case(lambda: _spike_and_dropout(steady_easy(seed=24)), "gentle"), id="easy+spike+dropout-60s"),
    pytest.param(Case(lambda: inject_frozen(steady_easy(seed=25), 1800, 120), "gentle", reason="frozen"),
                 id="easy+frozen-120s"),
    pytest.param(Case(lambda: inject_cadence_lock(steady_easy(seed=26), 1200, 240), "gentle", sensors=OPTICAL,
                      reason="cadence_lock"), id="easy+cadence-lock-4min"),
    pytest.param(Case(lambda: inject_dry_strap(steady_easy(seed=27), 360, seed=27), "gentle", sensors=STRAP,
                      reason="early_contact", min_share=0.5), id="easy+dry-strap-6min"),
    # artefacts on a hard run leave it too hard
    pytest.param(Case(lambda: inject_spikes(tempo_block(31), [300, 900, 1500, 2100], seed=31), "too_hard"),
                 id="tempo+spikes"),
    pytest.param(Case(lambda: inject_dropout(tempo_block(32), 1200, 90), "too_hard"), id="tempo+dropout-missing-90s"),
    pytest.param(Case(lambda: inject_dropout(tempo_block(33), 1200, 60, value=0.0), "too_hard"),
                 id="tempo+dropout-zero-60s"),
    pytest.param(Case(lambda: inject_frozen(tempo_block(34), 1300, 120), "too_hard"), id="tempo+frozen-120s"),
    pytest.param(Case(lambda: inject_cadence_lock(tempo_block(35), 1200, 240), "too_hard", sensors=OPTICAL),
                 id="tempo+cadence-lock-4min"),
    pytest.param(Case(lambda: inject_dry_strap(tempo_block(36), 360, seed=36), "too_hard", sensors=STRAP),
                 id="tempo+dry-strap-6min"),
    # other paths
    pytest.param(Case(treadmill, "gentle"), id="treadmill-with-hr"),
    pytest.param(Case(treadmill, "gentle", via="fit"), id="treadmill-with-hr-fit"),
    pytest.param(Case(lambda: without_heart_rate(steady_easy(seed=41)), "not_assessed", via="gpx",
                      expect_reason="no_heart_rate"), id="gpx-no-hr-no-pace-profile"),
    pytest.param(Case(lambda: without_heart_rate(steady_easy(seed=42)), "gentle", profile=RACE_10K, via="gpx",
                      basis="pace"), id="gpx-no-hr-recent-race-easy-pace"),
    # the pace path judges grade-adjusted speed: the same climbs, recorded by a watch without heart rate
    pytest.param(Case(lambda: without_heart_rate(climb(slowed=False)), "too_hard", profile=RACE_10K, via="gpx",
                      basis="pace"), id="gpx-no-hr-race-12min-7pct-climb-at-flat-pace"),
    pytest.param(Case(lambda: without_heart_rate(climb(slowed=True)), "gentle", profile=RACE_10K, via="gpx",
                      basis="pace"), id="gpx-no-hr-race-12min-7pct-climb-slowed-to-gap-easy"),
]


def _spike_and_dropout(run: Run) -> tuple[Run, np.ndarray]:
    spiked, spikes = inject_spikes(run, [900], seed=24, duration_s=(8, 8), rise_bpm=(45.0, 45.0))
    dropped, gap = inject_dropout(spiked, 1800, 60)
    return dropped, spikes | gap


@pytest.mark.parametrize("case", CASES)
def test_scenario_gets_the_documented_category(case: Case):
    verdict, run, labels = verdict_of(case)
    assert verdict.category == case.expected, (verdict.score, verdict.reasons, verdict.excluded_s)
    if case.basis is not None:
        assert verdict.basis == case.basis
    if case.expect_reason is not None:
        assert case.expect_reason in verdict.reasons, verdict.reasons
    if case.reason is not None:
        assert labels is not None
        labelled = int(labels.sum())
        excluded = verdict.excluded_s.get(case.reason, 0)
        # the span, or the share of it the rule can see, is reported; a cadence lock's 10 s lead-in may add to it
        assert case.min_share * labelled <= excluded <= labelled + 15, (case.reason, excluded, labelled,
                                                                         verdict.excluded_s)


# --- invariance ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("build", [
    pytest.param(steady_easy, id="easy"),
    pytest.param(tempo_block, id="hard-tempo"),
    # interpolating within recording gaps (assess.on_timer_clock) is what keeps this one within 3 points
    pytest.param(fast_finish, id="hard-fast-finish"),
    pytest.param(fast_start, id="hard-fast-start"),
])
def test_smart_recording_keeps_the_category_and_the_score_within_3(build: Callable[[], Run], seed: int):
    every_second = build()
    smart = smart_recording(every_second, seed=seed)
    gaps = np.diff(np.flatnonzero(smart.recorded))
    assert gaps.min() >= 1 and gaps.max() <= 10 and len(np.unique(gaps)) > 5  # irregular, 1-10 s apart
    dense = assess_run(activity_row(every_second), records_table(every_second), AGE_40)
    sparse = assess_run(activity_row(smart), records_table(smart), AGE_40)
    assert sparse.category == dense.category
    assert dense.score is not None and sparse.score is not None
    assert abs(sparse.score - dense.score) <= 3, (dense.score, sparse.score)


@pytest.mark.parametrize("build", [steady_easy, tempo_block, short_hills, fast_finish, run_walk_slightly_above_c],
                         ids=["easy", "hard-tempo", "hills", "hard-fast-finish", "run-walk"])
def test_the_same_run_as_fit_and_as_gpx_gets_the_same_category(build: Callable[[], Run]):
    run = build()
    direct = assess_run(activity_row(run), records_table(run), AGE_40)
    fit = assess_run(*through_connectors(to_fit_bytes(run), "synthetic.fit"), AGE_40)
    gpx = assess_run(*through_connectors(to_gpx_bytes(run), "synthetic.gpx"), AGE_40)
    assert fit.category == gpx.category == direct.category, (direct.score, fit.score, gpx.score)
    scores = [v.score for v in (direct, fit, gpx) if v.score is not None]
    assert len(scores) == 3 and max(scores) - min(scores) <= 3, scores


# --- the generator itself ---------------------------------------------------------------------------------------


def test_the_generator_is_deterministic_and_writes_the_stored_schemas():
    from schemas.tables import ACTIVITIES, RECORDS

    a, b = steady_easy(), steady_easy()
    assert records_table(a).equals(records_table(b))
    assert to_fit_bytes(a) == to_fit_bytes(b)
    assert records_table(a).schema.equals(RECORDS)
    import pyarrow as pa

    pa.Table.from_pylist([activity_row(a)], schema=ACTIVITIES)


@pytest.mark.parametrize("fmt", ["fit", "gpx"])
def test_a_file_round_trip_keeps_every_sample_and_the_pause(fmt: str):
    course = [run_for(10, EASY), Segment(90, 0.0, kind="pause"), run_for(5, EASY), walk_for(1)]
    run = smart_recording(simulate(RUNNER, course, seed=51), seed=51)
    direct = records_table(run)
    data = to_fit_bytes(run) if fmt == "fit" else to_gpx_bytes(run)
    _, stored = through_connectors(data, f"synthetic.{fmt}")
    assert stored.num_rows == direct.num_rows
    for name in ("elapsed_s", "timer_running", "heart_rate_bpm", "cadence_rpm"):
        assert stored[name].to_pylist() == direct[name].to_pylist(), name
    assert not all(stored["timer_running"].to_pylist())
    if fmt == "fit":
        assert np.allclose(stored["speed_m_s"].to_numpy(), direct["speed_m_s"].to_numpy(), atol=0.001)


def test_random_runners_are_drawn_as_the_catalogue_says():
    drawn = [runner(seed) for seed in range(200)]
    assert runner(7) == runner(7)
    assert all(20 <= r.age <= 70 and 50 <= r.hr_rest <= 75 and 45 <= r.tau_s <= 65 for r in drawn)
    offsets = np.array([r.hr_max_offset for r in drawn])
    fractions = np.array([r.vt1_frac for r in drawn])
    assert abs(offsets.mean()) < 2.5 and 7 < offsets.std() < 13
    assert abs(fractions.mean() - 0.83) < 0.01 and 0.04 < fractions.std() < 0.06


def test_the_oracle_labels_the_clear_cases_from_the_true_physiology():
    assert oracle(steady_easy()) == "gentle"
    assert oracle(whole_run_at_vt1()) == "too_hard"
    assert oracle(tempo_block()) == "too_hard"
