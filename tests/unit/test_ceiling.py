"""Ceilings worked by hand from the published formulas (gentleness.md §5.2)."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.ceiling import ProfileError, ProfileVersion, profile_at, resolve_ceiling, tanaka_max_hr


def _c(**kw):
    ceiling = resolve_ceiling(ProfileVersion(**kw))
    assert ceiling is not None
    return ceiling


def test_tanaka_max_hr():
    assert tanaka_max_hr(40) == 180.0  # 208 - 0.7 x 40


def test_age_only_is_a_percentage_of_the_tanaka_maximum():
    c = _c(age=40)
    assert (c.method, c.confidence) == ("percent_max", "low")
    assert c.ceiling_bpm == pytest.approx(0.77 * 180)  # 138.6
    assert c.hard_line_bpm == pytest.approx(0.85 * 180)  # 153.0
    assert c.edge_bpm == pytest.approx(138.6 + 0.25 * (153.0 - 138.6))  # 142.2


def test_age_and_resting_hr_is_karvonen_on_the_tanaka_maximum():
    c = _c(age=40, resting_hr=60)
    assert (c.method, c.confidence) == ("karvonen", "low")
    assert c.ceiling_bpm == pytest.approx(60 + 0.60 * (180 - 60))  # 132
    assert c.hard_line_bpm == pytest.approx(60 + 0.75 * (180 - 60))  # 150


def test_measured_maximum_beats_age():
    assert _c(age=40, max_hr=190).ceiling_bpm == pytest.approx(0.77 * 190)  # 146.3
    c = _c(age=40, max_hr=190, resting_hr=50)
    assert (c.method, c.confidence) == ("karvonen", "medium")
    assert c.ceiling_bpm == pytest.approx(50 + 0.6 * 140)  # 134
    assert c.hard_line_bpm == pytest.approx(50 + 0.75 * 140)  # 155


def test_lthr_vt1_and_the_runners_own_ceiling_in_priority_order():
    c = _c(age=40, max_hr=190, resting_hr=50, lthr=170)
    assert (c.method, c.ceiling_bpm, c.hard_line_bpm) == ("lthr", pytest.approx(144.5), pytest.approx(153.0))
    c = _c(age=40, lthr=170, vt1_hr=150, vt1_source="talk_test")
    assert (c.method, c.ceiling_bpm, c.hard_line_bpm, c.confidence) == ("vt1", 145, 155, "medium")
    c = _c(age=40, lthr=170, vt1_hr=150, easy_hr_ceiling=140)
    assert (c.method, c.ceiling_bpm, c.hard_line_bpm, c.confidence) == ("manual", 140, 152, "high")


def test_maf_only_when_asked_for():
    assert _c(age=40).method != "maf"
    c = _c(age=40, method="maf", maf_adjustment=-5)
    assert (c.ceiling_bpm, c.hard_line_bpm) == (135, 145)  # 180 - 40 - 5, + 10


def test_a_chosen_method_without_its_data_gives_no_ceiling_and_unreliable_hr_none():
    assert resolve_ceiling(ProfileVersion(age=40, method="lthr")) is None
    assert resolve_ceiling(ProfileVersion(age=40, hr_reliable=False)) is None
    assert resolve_ceiling(ProfileVersion()) is None


def test_impossible_profiles_are_refused_with_the_reason():
    with pytest.raises(ProfileError, match="below max_hr"):
        ProfileVersion(resting_hr=190, max_hr=180)
    with pytest.raises(ProfileError, match="method"):
        ProfileVersion(method="fastest")


def test_the_first_version_applies_to_earlier_runs_and_later_ones_from_their_date():
    first = ProfileVersion(age=40)
    later = ProfileVersion(effective=date(2026, 6, 1), age=40, resting_hr=50)
    again = ProfileVersion(effective=date(2026, 6, 1), age=40, resting_hr=52)  # set later, same date
    versions = [first, later, again]
    assert profile_at(versions, date(2020, 1, 1)) is first
    assert profile_at(versions, date(2026, 5, 31)) is first
    assert profile_at(versions, date(2026, 6, 1)) is again
    assert profile_at([later], date(2026, 1, 1)) is later  # the first version applies before its date too
