"""The gentleness stage over a real store of the samples: tables, notes, intent, provenance, the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from kindpace.cli import main
from pipeline.ceiling import ProfileVersion
from pipeline.importer import discover, originals_in_order, run_batches
from pipeline.store import Store
from pipeline.verdicts import Context, Early, judge, profile_version_id, row_digest, set_note
from schemas.tables import GENTLENESS
from tests.conftest import ROOT, SAMPLES

AGE_40 = Context(profiles=(ProfileVersion(age=40, conversational_pace_s_per_km=330.0),))


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "store")
    run_batches(s, discover([SAMPLES]), "me")
    return s


def _by_file(store: Store) -> dict[str, dict]:
    paths = {a["activity_id"]: a["source_path"].rsplit("/", 1)[-1] for a in store.read("activities").to_pylist()}
    return {paths[r["activity_id"]]: r for r in store.read("gentleness").to_pylist()}


def test_every_sample_gets_a_verdict_stored_with_its_provenance(store: Store):
    changes = judge(store, "me", AGE_40)
    assert len(changes) == 5 and all(c.before is None for c in changes)
    got = _by_file(store)
    assert got["easy-run.fit"]["category"] == "gentle"
    assert got["treadmill-run.fit"]["category"] == "gentle"
    assert got["long-run.tcx.gz!long-run.tcx"]["category"] == "gentle"
    assert got["harder-stretch-run.fit"]["category"] in ("borderline", "too_hard")
    # the phone GPX has no heart rate: judged by grade-adjusted pace against 5:30/km, low confidence
    phone = got["phone-run.gpx"]
    assert (phone["basis"], phone["confidence"]) == ("pace", "low")
    assert phone["category"] == "gentle"
    # the easy run carries the watch's RPE 3 (field 193 = 30): kept as the runner's self-report
    easy = got["easy-run.fit"]
    assert (easy["rpe_cr10"], easy["self_report_source"]) == (3.0, "watch")
    # provenance: the algorithm, and which profile version (first version, so "initial/<hash>")
    assert easy["algorithm_version"] == "1.0.0" and easy["profile_version"].startswith("initial/")
    # the Parquet files read back with the declared schema, by pyarrow and by DuckDB
    table = pq.read_table(store.table_file("gentleness"))
    assert table.schema.remove_metadata().equals(GENTLENESS)
    path = store.table_file("excursions")
    n = duckdb.sql(f"select count(*) from read_parquet('{path}') where type <> ''").fetchall()[0][0]
    assert n == sum(1 for _ in store.read("excursions").to_pylist()) and n >= 1


def test_judging_again_changes_nothing_and_a_new_profile_version_leaves_older_runs_alone(store: Store):
    judge(store, "me", AGE_40)
    before = store.read("gentleness")
    assert judge(store, "me", AGE_40) == []  # nothing pending
    assert store.read("gentleness").equals(before)
    # a talk-test ceiling from 2026-11-20 on: only the two later runs can change, and only on recompute
    later = Context(profiles=(*AGE_40.profiles, ProfileVersion(effective=date(2026, 11, 20), easy_hr_ceiling=175)))
    changes = judge(store, "me", later, everything=True)
    files = _by_file(store)
    assert files["easy-run.fit"]["profile_version"] == before.to_pylist()[0]["profile_version"]
    assert files["treadmill-run.fit"]["profile_version"].startswith("2026-11-20/")
    assert files["treadmill-run.fit"]["ceiling_method"] == "manual"
    assert all("profile" in " ".join(c.why) for c in changes)
    assert profile_version_id(None) is None


def test_the_runners_word_wins_ties_and_a_planned_hard_run_is_never_flagged(store: Store):
    judge(store, "me", AGE_40)
    harder = next(a for a in store.read("activities").to_pylist() if "harder" in a["source_path"])
    set_note(store, "me", harder, talk="yes", rpe_cr10=2)
    judge(store, "me", AGE_40, activity_ids=[harder["activity_id"]])
    row = _by_file(store)["harder-stretch-run.fit"]
    if row["sensor_category"] == "too_hard":
        assert row["category"] == "borderline" and row["reasons"][0] == "self_report_easier"
    assert (row["talk"], row["rpe_cr10"], row["self_report_source"]) == ("yes", 2.0, "runner")
    set_note(store, "me", harder, intent="hard")
    changes = judge(store, "me", AGE_40, activity_ids=[harder["activity_id"]])
    row = _by_file(store)["harder-stretch-run.fit"]
    assert row["category"] == "planned_hard" and row["reasons"][0] == "planned_hard"
    assert "intent None -> hard" in changes[0].why
    # notes are the runner's words: a reimport keeps them, and the verdict built on them
    run_batches(store, originals_in_order(store), "me", reset=True)
    judge(store, "me", AGE_40, everything=True)
    assert store.read("runner_notes").num_rows == 1
    assert _by_file(store)["harder-stretch-run.fit"]["category"] == "planned_hard"


def test_cli_runs_json_explain_feel_intent_and_recompute(store: Store, tmp_path: Path, capsys):
    cfg = tmp_path / "kindpace.toml"
    cfg.write_text((ROOT / "samples" / "kindpace.toml").read_text(encoding="utf-8"), encoding="utf-8")
    common = ["--store", str(store.root), "--config", str(cfg)]
    judge(store, "me", Context(profiles=AGE_40.profiles))
    capsys.readouterr()
    assert main(["runs", "--json", *common]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 5
    for key in ("activity_id", "start", "sport", "category", "score", "confidence", "reasons", "message"):
        assert all(key in r for r in rows), key
    assert rows[0]["start"] == "2026-11-17T07:30:00+01:00"  # the local offset of Berlin in November
    assert [r["sport"] for r in rows] == ["running", "running", "running", "running", "treadmill_running"]
    assert [r["category"] for r in rows] == ["gentle", "too_hard", "gentle", "gentle", "gentle"]
    assert rows[1]["reasons"][0] == "surge" and rows[1]["score"] == 20
    easy = rows[0]["activity_id"]
    assert main(["explain", easy[:8], *common]) == 0
    text = capsys.readouterr().out
    assert "Gentle run" in text and "138 bpm" in text.replace("139 bpm", "138 bpm")
    assert "split" in text and "km" in text
    png = tmp_path / "easy.png"
    assert main(["explain", easy, "--png", str(png), *common]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["feel", easy, "--talk", "no", *common]) == 0
    out = capsys.readouterr().out
    assert "chatting was hard" in out
    assert main(["intent", "last", "hard", *common]) == 0
    assert "planned harder run" in capsys.readouterr().out.lower()
    assert main(["feel", "nope", "--talk", "yes", *common]) == 2
    assert main(["feel", easy, "--rpe", "11", *common]) == 2


def test_verdicts_given_as_the_import_reads_are_those_judged_from_the_store(tmp_path: Path, monkeypatch):
    """The import gives each run its verdict from the records it has just decoded (verdicts.Early); judge
    takes them without reading the runs back, and they are the verdicts judge gives from the store."""
    now = datetime(2026, 11, 27, 6, tzinfo=UTC)
    read = Store(tmp_path / "read")
    run_batches(read, discover([SAMPLES]), "me")
    judge(read, "me", AGE_40, now=now)
    early = Early(AGE_40)
    given = Store(tmp_path / "given")
    run_batches(given, discover([SAMPLES]), "me", early=early)
    ids = sorted(a["activity_id"] for a in given.read("activities").to_pylist())
    assert sorted(early.given) == ids
    reads: list[str] = []
    original = Store.read_activity

    def counted(self: Store, table: str, activity_id: str):
        reads.append(activity_id)
        return original(self, table, activity_id)

    monkeypatch.setattr(Store, "read_activity", counted)
    assert len(judge(given, "me", AGE_40, now=now, early=early)) == 5
    assert reads == []  # not one run read back
    for table in ("gentleness", "excursions"):
        assert given.read(table).equals(read.read(table)), table
    # a row that changed after the import read it (here: a label merged in by a dedupe) is judged from the store
    row = next(a for a in given.read("activities").to_pylist() if a["activity_id"] == ids[0])
    assert early.given[ids[0]][0] == row_digest(row)
    early.given[ids[0]] = (row_digest(dict(row, workout_rpe=90)), early.given[ids[0]][1])
    judge(given, "me", AGE_40, now=now, early=early, everything=True)
    assert reads == [ids[0]]
    # so is every run when the profile changed in between
    judge(given, "me", replace(AGE_40, units="imperial"), now=now, early=early, everything=True)
    assert sorted(reads[1:]) == ids
