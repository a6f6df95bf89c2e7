"""Weekly and monthly summaries worked by hand: a month of runs in Berlin across the end of summer time
(2026-10-25, 03:00 CEST -> 02:00 CET), with runs just after local midnight on a Monday and on the first
of a month, whose UTC dates fall in the week and month before."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from pipeline.summaries import iso_week, monthly_rows, week_start, weekly_rows

CET, CEST = timedelta(hours=1), timedelta(hours=2)


def _run(local: datetime, offset: timedelta, minutes: int, category: str, calm_share: float = 1.0,
         sport: str = "running") -> tuple[dict, dict]:
    aid = f"{local:%m%d%H%M}-0"
    seconds = minutes * 60.0
    activity = {"activity_id": aid, "sport": sport, "start_time": (local - offset).replace(tzinfo=UTC),
                "timer_time_s": seconds, "distance_m": minutes * 150.0}
    verdict = {"activity_id": aid, "category": category, "assessed_s": seconds, "calm_s": seconds * calm_share}
    return activity, verdict


MONTH = [
    _run(datetime(2026, 10, 1, 7, 0), CEST, 40, "gentle"),  # W40 (Thu 1 Oct)
    _run(datetime(2026, 10, 3, 9, 0), CEST, 50, "gentle"),
    _run(datetime(2026, 10, 6, 7, 0), CEST, 40, "gentle"),  # W41
    _run(datetime(2026, 10, 8, 18, 0), CEST, 35, "too_hard", calm_share=0.5),
    _run(datetime(2026, 10, 10, 9, 0), CEST, 45, "borderline"),
    _run(datetime(2026, 10, 11, 10, 0), CEST, 60, "not_assessed", sport="walking"),  # not a run: left out
    _run(datetime(2026, 10, 14, 7, 0), CEST, 30, "gentle"),  # W42, marked as a rest week
    _run(datetime(2026, 10, 24, 8, 0), CEST, 40, "gentle"),  # W43, the last Saturday of summer time
    _run(datetime(2026, 10, 26, 0, 30), CET, 100, "gentle"),  # W44: Monday 00:30 CET = Sunday 23:30 UTC
    _run(datetime(2026, 10, 28, 18, 0), CET, 60, "gentle"),
    _run(datetime(2026, 11, 1, 0, 30), CET, 30, "gentle"),  # Sunday 1 Nov 00:30 CET = 31 Oct 23:30 UTC
]
ACTIVITIES = [a for a, _ in MONTH]
VERDICTS = {v["activity_id"]: v for _, v in MONTH}


def _weeks(zone: str = "Europe/Berlin", rest: frozenset[str] = frozenset({"2026-W42"})) -> dict[str, dict]:
    return {r["week"]: r for r in weekly_rows(ACTIVITIES, VERDICTS, zone, set(rest), "me")}


def test_weeks_follow_the_local_calendar_across_the_dst_change():
    weeks = _weeks()
    assert list(weeks) == ["2026-W40", "2026-W41", "2026-W42", "2026-W43", "2026-W44"]
    # week starts: local Monday midnight, CEST (+2) before the change, CET (+1) after it
    assert (weeks["2026-W43"]["week_start"], weeks["2026-W43"]["week_start_utc"], weeks["2026-W43"]["utc_offset_s"]) \
        == (date(2026, 10, 19), datetime(2026, 10, 18, 22, tzinfo=UTC), 7200)
    assert (weeks["2026-W44"]["week_start_utc"], weeks["2026-W44"]["utc_offset_s"]) == (
        datetime(2026, 10, 25, 23, tzinfo=UTC), 3600)
    # the Monday 00:30 run and the Sunday 1 November 00:30 run are both in W44 locally
    assert [weeks[w]["runs"] for w in weeks] == [2, 3, 1, 1, 3]
    # in UTC the Monday run would fall on Sunday, in W43
    assert [r["runs"] for r in _weeks("UTC").values()] == [2, 3, 1, 2, 2]


def test_week_totals_rhythm_trend_and_ramp_by_hand():
    w = _weeks()
    assert w["2026-W41"]["distance_m"] == (40 + 35 + 45) * 150.0  # 150 m a minute in every run here
    assert (w["2026-W41"]["gentle_runs"], w["2026-W41"]["borderline_runs"], w["2026-W41"]["harder_runs"]) == (1, 1, 1)
    assert w["2026-W41"]["time_on_feet_s"] == (40 + 35 + 45) * 60  # the walk is not running time
    # calm: 40 + 17.5 + 45 of 120 assessed minutes
    assert w["2026-W41"]["calm_share"] == pytest.approx((40 + 17.5 + 45) / 120)
    # gentle week: at least 2 gentle-or-borderline runs; the rest week counts against nothing
    assert [w[k]["gentle_week"] for k in w] == [True, True, False, False, True]
    assert [w[k]["rest_week"] for k in w] == [False, False, True, False, False]
    assert [(w[k]["gentle_weeks_last_8"], w[k]["rhythm_weeks"]) for k in w] == [(1, 1), (2, 2), (2, 2), (2, 3), (3, 4)]
    # gentle share over the 4 weeks W41..W44: gentle 1+1+1+3 of judged 3+1+1+3
    assert w["2026-W44"]["gentle_share_4w"] == pytest.approx(6 / 8)
    # ramp: W44 has 190 min; the weeks before that were not rest: W40 90, W41 120, W43 40 -> mean 83.3;
    # 190 > 1.3 x 83.3 and >= 60 min. W41 (120 min after W40's 90) is 1.33 x, but one week is no "usual":
    # a note needs 3 weeks (not rest) to compare with
    assert [w[k]["ramp_note"] for k in w] == [False, False, False, False, True]
    assert w["2026-W44"]["message"] == ("3 runs this week, 3 h 10 min on your feet; 3 of them gentle. Most of your "
                                        "running time was calm. A bigger week than usual: keep the next few runs calm.")
    assert w["2026-W42"]["message"] == "A rest week: resting is part of the plan."


def test_without_the_rest_mark_the_quiet_week_counts_and_the_ramp_mean_includes_it():
    w = _weeks(rest=frozenset())
    assert [(w[k]["gentle_weeks_last_8"], w[k]["rhythm_weeks"]) for k in w] == [(1, 1), (2, 2), (2, 3), (2, 4), (3, 5)]
    assert w["2026-W44"]["ramp_note"]  # mean of W40..W43 = (90 + 120 + 30 + 40) / 4 = 70 min


def test_months_by_local_date_and_weeks_by_their_thursday():
    weeks = weekly_rows(ACTIVITIES, VERDICTS, "Europe/Berlin", {"2026-W42"}, "me")
    months = {m["month"]: m for m in monthly_rows(ACTIVITIES, VERDICTS, "Europe/Berlin", weeks, "me")}
    assert list(months) == ["2026-10", "2026-11"]
    assert (months["2026-10"]["runs"], months["2026-11"]["runs"]) == (9, 1)  # 1 Nov 00:30 CET is November
    assert months["2026-11"]["month_start_utc"] == datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert (months["2026-10"]["gentle_weeks"], months["2026-10"]["rest_weeks"]) == (3, 1)
    assert months["2026-11"]["gentle_weeks"] == 0  # W44's Thursday is 29 October
    utc = {m["month"]: m["runs"] for m in monthly_rows(ACTIVITIES, VERDICTS, "UTC", weeks, "me")}
    assert utc == {"2026-10": 10}


def test_iso_week_names():
    assert iso_week(date(2026, 11, 26)) == "2026-W48"
    assert iso_week(date(2027, 1, 1)) == "2026-W53"  # 2026 has 53 ISO weeks
    assert week_start("2026-W48") == date(2026, 11, 23)
    with pytest.raises(ValueError):
        week_start("2026-48")
