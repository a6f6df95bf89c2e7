"""The whole shared corpus through the import: every file accounted for, idempotent, readable."""

from __future__ import annotations

from pathlib import Path

import duckdb
import gpxpy
import gpxpy.geo
import numpy as np
import pytest

from pipeline.importer import discover, run_batches
from pipeline.store import Store
from schemas.tables import TABLES
from tests.conftest import manifest

pytestmark = pytest.mark.slow

# Manifest kinds (from the files themselves, see MANIFEST.csv) and the outcome each must get.
NOT_ACTIVITY_KINDS = {"settings", "workout", "course", "weight", "monitoring_b", "other(type8)",
                      "waypoints", "route", "empty"}


@pytest.fixture(scope="module")
def imported(corpus: Path, tmp_path_factory) -> tuple[Store, dict, dict]:
    from pipeline.ceiling import ProfileVersion
    from pipeline.verdicts import Context, judge, set_note

    store = Store(tmp_path_factory.mktemp("corpus-store"))
    first = run_batches(store, discover([corpus]), "me")
    second = run_batches(store, discover([corpus]), "me")
    # the gentleness stage over the whole corpus, as the import flow runs it, with one runner note
    noted = next(a for a in store.read("activities").to_pylist() if a["workout_rpe"] is None)
    set_note(store, "me", noted, talk="yes")
    judge(store, "me", Context(profiles=(ProfileVersion(age=40, conversational_pace_s_per_km=360.0),)))
    return store, first, second


def _outcomes(report: dict) -> dict[str, dict]:
    return {str(Path(f["path"]).resolve()): f for f in report["files"]}


def test_every_corpus_file_ends_in_exactly_one_outcome(imported, corpus: Path):
    _, first, _ = imported
    outcomes = _outcomes(first)
    rows = manifest()
    assert len(first["files"]) == len(outcomes) == len(rows) + 1  # every file once, plus MANIFEST.csv
    assert outcomes[str(corpus / "MANIFEST.csv")]["outcome"] == "skipped"
    wrong = []
    for row in rows:
        got = outcomes[str(Path(row["path"]).resolve())]
        kind = row["kind"]
        if kind.startswith("corrupt"):
            # a damaged copy of a run also found whole elsewhere in the corpus is its duplicate
            expected = {"quarantined", "imported", "duplicate", "not_activity"}
            if got["outcome"] == "imported" and not got["warnings"]:
                wrong.append((row["file"], "salvaged without saying so"))
        elif kind in NOT_ACTIVITY_KINDS:
            expected = {"not_activity"}
        else:
            expected = {"imported", "duplicate", "not_activity"}
        if got["outcome"] not in expected:
            wrong.append((row["file"], kind, got["outcome"], got["reason"]))
        if got["outcome"] != "imported" and not got["reason"]:
            wrong.append((row["file"], "no reason"))
    assert not wrong


def test_not_activity_among_activity_kinds_is_only_the_documented_cases(imported):
    _, first, _ = imported
    outcomes = _outcomes(first)
    odd = {Path(r["path"]).name: outcomes[str(Path(r["path"]).resolve())]["reason"] for r in manifest()
           if r["kind"] == "activity" and outcomes[str(Path(r["path"]).resolve())]["outcome"] == "not_activity"}
    # A GPX track a route planner wrote without times, and a FIT activity with no record and no session.
    assert set(odd) <= {"gcheetah__A_ride_mapped_on_11_22_2011.gpx", "muktihari__TestEncode.fit"}, odd


def test_a_second_import_adds_no_row(imported):
    store, first, second = imported
    assert second["counts"]["imported"] == 0
    assert all(f["outcome"] != "imported" for f in second["files"])
    for f in second["files"]:
        before = _outcomes(first)[str(Path(f["path"]).resolve())]
        if before["outcome"] in ("imported", "duplicate"):
            assert (f["outcome"], f["reason"]) == ("duplicate", "already imported")
        else:
            assert (f["outcome"], f["reason"]) == (before["outcome"], before["reason"])


def test_store_reads_back_through_duckdb_with_the_documented_columns(imported):
    store, first, _ = imported
    for name, schema in TABLES.items():
        if name in ("sync_seen", "sync_runs", "corrections", "rest_weeks"):  # the runner's: test_import.py reads them
            continue
        rel = duckdb.sql(f"select * from read_parquet('{store.root}/{name}/*/*.parquet')")
        assert rel.columns == [*schema.names, "athlete"], name  # the partition's key, added by hive readers
    acts = store.read("activities")
    n_records = duckdb.sql(f"select count(*) from read_parquet('{store.root}/records/*/*.parquet')").fetchall()[0][0]
    assert n_records == sum(acts["record_count"].to_pylist())
    dup = duckdb.sql("select count(*) - count(distinct activity_id) "
                     f"from read_parquet('{store.root}/activities/*/*.parquet')")
    assert dup.fetchall()[0][0] == 0


def test_gpx_point_counts_and_length_agree_with_gpxpy(imported):
    store, first, _ = imported
    acts = {r["source_sha256"]: r for r in store.read("activities").to_pylist()}
    checked = 0
    for f in first["files"]:
        if not f["path"].endswith(".gpx") or f["outcome"] != "imported":
            continue
        (act,) = [acts[s] for s in acts if s == f["sha256"]]
        gpx = gpxpy.parse(Path(f["path"]).read_text(encoding="utf-8", errors="replace")) \
            if "standard" not in f["path"] else None
        if gpx is None:  # gpxpy refuses that file (a trkpt without lat/lon): counted by the GPX tests
            continue
        points = [p for t in gpx.tracks for s in t.segments for p in s.points if p.time is not None]
        if len(points) != act["record_count"]:
            continue  # files gpxpy reads through its 1.0 path differently are covered in test_gpx
        checked += 1
        # gpxpy's own length over the points the pipeline keeps (those with a time), segment by segment
        length = sum(gpxpy.geo.length_2d([p for p in s.points if p.time is not None])
                     for t in gpx.tracks for s in t.segments)
        if act["distance_m"] is None or length == 0:
            continue
        # gpxpy sums each segment's legs; the pipeline also counts the leg between segments
        assert act["distance_m"] == pytest.approx(length, rel=0.02, abs=5), f["path"]
    assert checked >= 40


def test_every_corpus_activity_gets_a_verdict_or_a_stated_reason(imported):
    """Issue 3: every run of the corpus gets a verdict or says why not, and nothing raises."""
    from pipeline.assess import RUNNING_SPORTS

    store, _, _ = imported
    verdicts = {r["activity_id"]: r for r in store.read("gentleness").to_pylist()}
    activities = store.read("activities").to_pylist()
    assert set(verdicts) == {a["activity_id"] for a in activities}
    problems = []
    for a in activities:
        v = verdicts[a["activity_id"]]
        if not v["reasons"] or not v["message"] or "assessment_error" in v["reasons"]:
            problems.append((a["source_path"], v["reasons"], v["message"]))
        if a["sport"] not in RUNNING_SPORTS and (v["category"], v["reasons"]) != ("not_assessed", ["not_a_run"]):
            problems.append((a["source_path"], a["sport"], v["category"]))
        if v["category"] in ("gentle", "borderline", "too_hard") and v["basis"] != "self_report":
            if v["score"] is None or not 0 <= v["score"] <= 100 or not v["assessed_s"]:
                problems.append((a["source_path"], "scored without a score", v))
    assert not problems
    runs = [verdicts[a["activity_id"]] for a in activities if a["sport"] in RUNNING_SPORTS]
    assert len(runs) >= 50 and sum(v["category"] != "not_assessed" for v in runs) >= 30
    # the Forerunner 955 run carries the runner's own feel and RPE: kept as the self-report
    assert any(v["self_report_source"] == "watch" for v in runs)


def test_normalize_makes_each_row_as_the_store_gives_it_back(corpus: Path):
    """The import's workers judge each run from the row normalize made (verdicts.Early); judge keeps that
    verdict only where the stored row has the same digest. Every corpus activity's row survives Arrow's
    round trip value for value and type for type, so no run is assessed twice."""
    from datetime import UTC, datetime

    from pipeline.importer import decode_and_normalize, inputs, read_input
    from pipeline.normalize import activity_table
    from pipeline.verdicts import row_digest

    now = datetime.now(UTC).replace(microsecond=0)
    rows = [norm.activity for item in inputs(discover([corpus]))
            for norm in decode_and_normalize(read_input(item), "me", now).normalized]
    stored = activity_table(rows).to_pylist()
    assert len(rows) >= 250
    assert [row_digest(r) for r in rows] == [row_digest(r) for r in stored]
    # the digest still tells a changed value, or the same value of another type
    assert row_digest(dict(stored[0], ascent_m=1.0)) != row_digest(dict(stored[0], ascent_m=1))


def test_the_timer_clocks_shortcut_gives_what_the_grid_gives(corpus: Path):
    """assess.on_timer_clock takes a run recorded once a second, never paused, as it is; laying it on the
    grid of whole seconds (assess._gridded, what every other run goes through) gives the same series, on
    every corpus run and the sample runs, value for value."""
    from datetime import UTC, datetime

    from pipeline.assess import AssessSettings, _gridded, _once_a_second, _samples, on_timer_clock
    from pipeline.importer import decode_and_normalize, inputs, read_input
    from tests.conftest import SAMPLES

    now = datetime.now(UTC).replace(microsecond=0)
    shortcut = 0
    for item in inputs(discover([corpus, SAMPLES])):
        for norm in decode_and_normalize(read_input(item), "me", now).normalized:
            if not norm.records.num_rows:
                continue
            t, running, columns = _samples(norm.records)
            grid = _gridded(t, running, columns, AssessSettings())
            series = on_timer_clock(norm.records)
            for name in vars(grid):
                assert np.array_equal(getattr(series, name), getattr(grid, name), equal_nan=True), (item.path, name)
            shortcut += _once_a_second(t, running, columns)
    assert shortcut >= 50  # the shortcut was taken: 95 of the 312 runs when written


def test_the_report_on_the_corpus_runs_draws_each_run_of_the_latest_week(imported, tmp_path):
    """`kindpace report` over the corpus's running activities, ending at the last of them."""
    from zoneinfo import ZoneInfo

    from kindpace.config import Config
    from kindpace.report import write_report
    from pipeline.assess import RUNNING_SPORTS
    from pipeline.ceiling import ProfileVersion

    store, _, _ = imported
    cfg = Config(store=store.root, profiles=(ProfileVersion(age=40, conversational_pace_s_per_km=360.0),),
                 timezone="UTC")
    runs = [a for a in store.read("activities").to_pylist() if a["sport"] in RUNNING_SPORTS]
    last = max(a["start_time"] for a in runs).astimezone(ZoneInfo("UTC")).date()
    page = write_report(store, cfg, tmp_path / "report.html", weeks=8, today=last)
    text = page.read_text(encoding="utf-8")
    assert 'id="weekly-chart"' in text and 'id="rhythm-chart"' in text
    week = {a["activity_id"] for a in runs if a["start_time"].isocalendar()[:2] == last.isocalendar()[:2]}
    assert text.count('<article class="run">') == len(week) >= 1
    assert page.stat().st_size < 400_000 and "http" not in text.replace("http://www.w3.org", "")
