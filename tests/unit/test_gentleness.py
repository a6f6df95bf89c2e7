"""The heart-rate score worked by hand from gentleness.md §5.4 to §5.6, and the scenarios of §5.6."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.ceiling import ProfileVersion, resolve_ceiling
from pipeline.gentleness import (
    ABOVE,
    CALM,
    EDGE,
    WELL_ABOVE,
    assess_hr,
    bands,
    category_of,
    drift_allowance,
    runs_of,
    sub_scores,
)

# Runner aged 40: Tanaka max 180, C = 0.77 x 180 = 138.6, H = 0.85 x 180 = 153, E = 142.2
CEILING = resolve_ceiling(ProfileVersion(age=40))


def test_drift_allowance():
    got = drift_allowance(np.array([0, 20, 80, 116, 200]))
    # nothing for 20 min, then 5 % of C per hour, capped at 8 %
    assert got.tolist() == pytest.approx([0, 0, 0.05, 0.08, 0.08])


def test_bands_and_weights_by_hand():
    hr = np.array([130.0, 140.0, 145.0, 160.0, 150.0])
    # the last sample 80 min in: C(t) = 138.6 x 1.05 = 145.53, E(t) = 145.53 + 3.6 = 149.13,
    # H(t) = 153 + 6.93 = 159.93, so 150 bpm is above the edge there
    minutes = np.array([0, 0, 0, 0, 80])
    b = bands(hr, minutes, np.ones(5, bool), CEILING.ceiling_bpm, CEILING.hard_line_bpm)
    assert b.band.tolist() == [CALM, EDGE, ABOVE, WELL_ABOVE, ABOVE]
    # w = (h - C(t)) / (H - C) with H - C = 14.4
    assert b.weight.tolist() == pytest.approx([0, 1.4 / 14.4, 6.4 / 14.4, 1.0, (150 - 145.53) / 14.4])
    assert b.hard_line[-1] == pytest.approx(153 + 138.6 * 0.05)
    assert b.edge[-1] == pytest.approx(145.53 + 0.25 * 14.4)


def test_runs_merge_gaps_shorter_than_the_limit():
    mask = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1], dtype=bool)
    assert runs_of(mask) == [(0, 2), (4, 5), (9, 11)]
    assert runs_of(mask, merge_gap=3) == [(0, 5), (9, 11)]
    assert runs_of(mask, merge_gap=5) == [(0, 11)]


def test_sub_scores_by_hand():
    # p1 20 %: 1 - 0.15/0.30; 9 min excursion in a 45-min run: 1 - 6/12; 4.5 min above H: 1 - 3.5/7
    assert sub_scores(0.20, 9.0, 4.5, 45.0) == pytest.approx((0.5, 0.5, 0.5))
    # on a 150-min run the excursion limit is 20 % of the run, 30 min: 1 - (12 - 3)/27
    assert sub_scores(0.0, 12.0, 0.0, 150.0)[1] == pytest.approx(1 - 9 / 27)


@pytest.mark.parametrize(
    ("p1", "m2", "m3", "category"),
    [
        # the plain-terms boundaries of §5.6 for a 45-min run (the score is rounded, so just past them)
        (0.125, 0, 0, "gentle"), (0.13, 0, 0, "borderline"), (0.215, 0, 0, "borderline"), (0.22, 0, 0, "too_hard"),
        (0, 6.0, 0, "gentle"), (0, 6.1, 0, "borderline"), (0, 9.6, 0, "borderline"), (0, 9.7, 0, "too_hard"),
        (0, 0, 2.75, "gentle"), (0, 0, 2.8, "borderline"), (0, 0, 4.85, "borderline"), (0, 0, 4.9, "too_hard"),
    ],
)
def test_category_boundaries(p1, m2, m3, category):
    assert category_of(round(100 * min(sub_scores(p1, m2, m3, 45.0)))) == category


def _run(minutes: float, hr_of_minute) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(int(minutes * 60)) / 60.0
    return np.vectorize(hr_of_minute, otypes=[float])(t), np.ones(len(t), bool)


def test_45_min_steady_easy_is_gentle():
    got = assess_hr(*_run(45, lambda m: 132.0), CEILING)
    assert (got.score, got.category, got.time_above_ceiling_s) == (100, "gentle", 0)


def test_a_20_min_tempo_inside_45_min_is_too_hard():
    got = assess_hr(*_run(45, lambda m: 162.0 if 15 <= m < 35 else 132.0), CEILING)
    assert (got.score, got.category) == (0, "too_hard")
    assert got.longest_excursion_s == 20 * 60
    assert got.time_above_hard_line_s == 20 * 60


def test_a_whole_run_at_the_first_threshold_is_too_hard():
    got = assess_hr(*_run(45, lambda m: 0.83 * 180), CEILING)  # 149.4 bpm: above the edge throughout
    assert got.category == "too_hard" and got.s1 == got.s2 == 0.0  # both overage and excursion max out


def test_easy_long_run_with_modest_drift_stays_gentle():
    # 100 min, HR 132 rising 6 % per hour after 20 min: the drift allowance absorbs it
    got = assess_hr(*_run(100, lambda m: 132.0 * (1 + 0.06 * max(m - 20, 0) / 60)), CEILING)
    assert (got.score, got.category) == (100, "gentle")


def test_holes_and_stops_are_not_assessed():
    hr, moving = _run(30, lambda m: 170.0 if m < 5 else 132.0)
    hr[: 5 * 60] = np.nan  # the first five minutes were removed as an artefact
    moving[-60:] = False
    got = assess_hr(hr, moving, CEILING)
    assert got.assessed_s == 24 * 60 and got.category == "gentle"
