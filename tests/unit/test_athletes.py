"""Many runners in one store: each athlete's partition, profile and sources; a store from before partitions."""

from __future__ import annotations

import json
import os
import shutil
import time
import tomllib
from pathlib import Path

import duckdb
import fitdecode
import pyarrow.parquet as pq
import pytest

from kindpace import config as config_mod
from kindpace.cli import main
from pipeline.importer import discover, run_batches
from pipeline.store import PER_ACTIVITY, WHOLE, Store, StoreError, StoreLocked
from schemas.tables import TABLES
from tests.conftest import ROOT, SAMPLES

CLUB = """\
units = "metric"
timezone = "Europe/Berlin"

[[profile]]          # the config's own runner, "me"
age = 40

[athletes.ana]
timezone = "Europe/Lisbon"
[[athletes.ana.profile]]
age = 60
"""


def _session_avg_hr(path: Path) -> int:
    with fitdecode.FitReader(path) as reader:
        return next(f.get_value("avg_heart_rate") for f in reader
                    if isinstance(f, fitdecode.FitDataMessage) and f.name == "session")


def test_each_athlete_is_judged_against_their_own_profile_and_reads_only_their_partition(
        tmp_path: Path, capsys, monkeypatch):
    config = tmp_path / "club.toml"
    config.write_text(CLUB)
    store = tmp_path / "store"
    common = ["--store", str(store), "--config", str(config)]
    assert main(["import", str(SAMPLES), *common, "--json"]) == 0
    assert main(["import", str(SAMPLES / "easy-run.fit"), *common, "--athlete", "ana", "--json"]) == 0
    capsys.readouterr()

    me, ana = Store(store), Store(store, "ana")
    assert Store(store).athletes() == ["ana", "me"]
    # the same file is a new run for another athlete (not a duplicate of me's), and its bytes are kept once
    assert ana.read("imports")["outcome"].to_pylist() == ["imported"]
    [ana_run] = ana.read("activities").to_pylist()
    assert ana_run["activity_id"] in me.read("activities")["activity_id"].to_pylist()
    assert len(list((store / "originals").iterdir())) == me.read("imports").num_rows
    # every file of hers in her partition
    for table in PER_ACTIVITY[:2]:
        assert [p.name for p in ana.table_dir(table).iterdir()] == [f"{ana_run['activity_id']}.parquet"]

    # her ceiling from her age, by hand: 0.77 x (208 - 0.7 x 60) = 127.8 bpm; me's: 0.77 x (208 - 28) = 138.6
    easy_me = next(v for v in me.read("gentleness").to_pylist() if v["activity_id"] == ana_run["activity_id"])
    [easy_ana] = ana.read("gentleness").to_pylist()
    assert (round(easy_me["ceiling_bpm"], 1), round(easy_ana["ceiling_bpm"], 1)) == (138.6, 127.8)
    # the device says the run averaged 134 bpm (max 139): under me's ceiling, over hers
    assert 127.8 < _session_avg_hr(SAMPLES / "easy-run.fit") < 138.6
    assert easy_me["category"] == "gentle" and easy_ana["category"] != "gentle"  # (age alone: borderline)
    assert easy_ana["time_above_ceiling_s"] > easy_ana["assessed_s"] / 2
    # her calendar is Lisbon's (UTC+0 in November), me's Berlin's (UTC+1): her weeks start at midnight UTC
    assert {w["week_start_utc"].hour for w in ana.read("weekly").to_pylist()} == {0}
    assert {w["week_start_utc"].hour for w in me.read("weekly").to_pylist()} == {23}

    # her commands read her partition only
    opened: list[str] = []
    real_read = pq.read_table

    def spy(source, *args, **kwargs):
        opened.append(str(source))
        return real_read(source, *args, **kwargs)

    monkeypatch.setattr(pq, "read_table", spy)
    for command in (["runs", "--json"], ["activities", "--json"], ["status", "--json"], ["profile", "show", "--json"],
                    ["export", "--what", "runs", "--out", str(tmp_path / "out"), "--format", "csv"]):
        assert main([*command, *common, "--athlete", "ana"]) == 0, command
    assert opened and not [p for p in opened if "athlete=me" in p]
    monkeypatch.undo()
    runs = json.loads(capsys.readouterr().out.splitlines()[0])
    assert [r["activity_id"] for r in runs] == [ana_run["activity_id"]]

    # the whole store as DuckDB reads it: one table, the partition's key beside athlete_id
    counts = duckdb.sql(f"select athlete, athlete_id, count(*) from read_parquet('{store}/activities/*/*.parquet') "
                        f"group by all order by athlete").fetchall()
    assert counts == [("ana", "ana", 1), ("me", "me", me.read("activities").num_rows)]


def test_athletes_write_at_once_and_one_athlete_has_one_writer(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KINDPACE_WORKERS", "1")
    me, ana = Store(tmp_path / "store"), Store(tmp_path / "store", "ana")
    with me.writer_lock():
        report = run_batches(ana, discover([SAMPLES / "easy-run.fit"]), "ana")  # me's writer does not stop her
        assert report["counts"]["imported"] == 1
        with pytest.raises(StoreLocked, match="locked by another writer"):
            with me.writer_lock(wait_s=0.3):
                pass


def test_athlete_ids_are_checked_where_they_enter(tmp_path: Path, capsys):
    (tmp_path / "empty.toml").write_text("")
    store = ["--store", str(tmp_path / "store"), "--config", str(tmp_path / "empty.toml")]
    for bad in ("../etc", "a/b", "athlete=x", ".hidden", "-x", "x" * 65):
        assert main(["runs", *store, f"--athlete={bad}"]) == 2, bad
        assert "athlete id" in capsys.readouterr().err
    with pytest.raises(ValueError, match="athlete id"):
        Store(tmp_path, "a b")
    bad_section = tmp_path / "bad.toml"
    bad_section.write_text('[athletes."a b"]\nunits = "metric"\n')
    with pytest.raises(config_mod.ConfigError, match=r"\[athletes.a b\]: athlete id"):
        config_mod.load(str(bad_section))
    bad_key = tmp_path / "key.toml"
    bad_key.write_text("[athletes.ana]\nstore = \"/elsewhere\"\n")
    with pytest.raises(config_mod.ConfigError, match=r"\[athletes.ana\]: unknown settings \['store'\]"):
        config_mod.load(str(bad_key))


def test_each_athlete_keeps_their_own_profile_and_sources_in_the_config(tmp_path: Path, capsys):
    config = tmp_path / "club.toml"
    config.write_text(CLUB)
    common = ["--config", str(config), "--store", str(tmp_path / "store")]
    watch = tmp_path / "ana-watch"
    watch.mkdir()
    assert main(["source", "add", "folder", str(watch), *common, "--athlete", "ana"]) == 0
    assert main(["profile", "set", "--resting-hr", "50", *common, "--athlete", "ben"]) == 0
    written = tomllib.loads(config.read_text())
    assert written["athletes"]["ana"]["source"] == [{"kind": "folder", "path": str(watch)}]
    assert written["athletes"]["ben"]["profile"] == [{"resting_hr": 50}]
    assert written["profile"] == [{"age": 40}]

    me, ana, ben = (config_mod.load(str(config), athlete=a) for a in ("me", "ana", "ben"))
    assert (me.sources, [s.path for s in ana.sources], ben.sources) == ((), [watch], ())
    assert [p.age for p in me.profiles] == [40] and [p.age for p in ana.profiles] == [60]
    assert [p.resting_hr for p in ben.profiles] == [50]
    assert (me.zone(), ana.zone(), ben.zone()) == ("Europe/Berlin", "Europe/Lisbon", "Europe/Berlin")
    assert me.athletes == ("ana", "ben", "me")
    assert main(["source", "remove", str(watch), *common, "--athlete", "ana"]) == 0
    assert config_mod.load(str(config), athlete="ana").sources == ()
    assert [p.age for p in config_mod.load(str(config), athlete="ana").profiles] == [60]


# --- a store written before partitions (schema 1.2.1) --------------------------------------------------------


def _unpartitioned(root: Path) -> None:
    """Turn a store into the layout before partitions: one file per table for every athlete, per-activity
    files beside each other, nothing under .athletes (what kindpace wrote up to schema 1.2.1)."""
    for table in WHOLE:
        parts = sorted((root / table).glob("athlete=*/*.parquet"))
        if parts:
            merged = pq.read_table(parts[0]).schema
            pq.write_table(__import__("pyarrow").concat_tables([pq.read_table(p, schema=merged) for p in parts]),
                           root / table / f"{table}.parquet")
        for folder in (root / table).glob("athlete=*"):
            shutil.rmtree(folder)
    for table in PER_ACTIVITY:
        for path in (root / table).glob("athlete=*/*.parquet"):
            path.rename(root / table / path.name)
        for folder in (root / table).glob("athlete=*"):
            shutil.rmtree(folder)
    shutil.rmtree(root / ".athletes")


def _contents(store: Store) -> dict[str, list[dict]]:
    out = {t: sorted(store.read(t).to_pylist(), key=repr) for t in WHOLE}
    for aid in store.read("activities")["activity_id"].to_pylist():
        for t in PER_ACTIVITY:
            out[f"{t}/{aid}"] = store.read_activity(t, aid).to_pylist()
    return out


def test_a_store_from_before_partitions_is_read_as_it_is_and_moved_by_the_next_writer(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KINDPACE_WORKERS", "1")
    root = tmp_path / "store"
    me, ana = Store(root), Store(root, "ana")
    # before partitions a file was imported once for the whole store (its runs' files named by activity alone)
    run_batches(me, discover([p for p in SAMPLES.iterdir() if p.name != "treadmill-run.fit"]), "me")
    run_batches(ana, discover([SAMPLES / "treadmill-run.fit"]), "ana")
    me.replace_table("sync_runs", TABLES["sync_runs"].empty_table())
    before = {"me": _contents(me), "ana": _contents(ana)}
    _unpartitioned(root)
    assert (root / "activities" / "activities.parquet").exists() and not (root / "activities" / "athlete=me").exists()

    # read as it is: each athlete sees their own rows, and every per-activity file
    assert {"me": _contents(me), "ana": _contents(ana)} == before
    assert me.athletes() == ["ana", "me"]

    # the next writer (an import of a file the store holds) moves it into the partitions, losing nothing
    report = run_batches(me, discover([SAMPLES / "easy-run.fit"]), "me")
    assert report["counts"] == {**report["counts"], "duplicate": 1, "imported": 0}
    assert not list(root.glob("*/*.parquet")), "no file left in the old places"
    after = {"me": _contents(me), "ana": _contents(ana)}
    assert after["ana"] == before["ana"]
    assert after["me"] == before["me"]  # (a file the ledger holds by its hash adds no row)
    assert sorted(p.name for p in (root / "records" / "athlete=ana").iterdir()) == [
        f"{a}.parquet" for a in sorted(ana.read("activities")["activity_id"].to_pylist())]
    assert me.migrate() is False  # done once


def test_a_migration_killed_part_way_is_finished_by_the_next_writer(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KINDPACE_WORKERS", "1")
    root = tmp_path / "store"
    me = Store(root)
    run_batches(me, discover([SAMPLES]), "me")
    before = _contents(me)
    _unpartitioned(root)
    moved = 0
    real_replace = __import__("os").replace

    def dies_on_the_third(src, dst):
        nonlocal moved
        moved += 1
        if moved == 3:
            raise KeyboardInterrupt("killed")  # a kill between two of the migration's renames
        return real_replace(src, dst)

    monkeypatch.setattr("pipeline.store.os.replace", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        me.migrate()
    monkeypatch.undo()
    monkeypatch.setenv("KINDPACE_WORKERS", "1")
    assert _contents(me) == before  # readers in between see every row once
    assert me.migrate() is True
    assert _contents(me) == before and not list(root.glob("*/*.parquet"))


def test_the_demo_config_still_names_one_runner():
    cfg = config_mod.load(str(ROOT / "samples" / "kindpace.toml"))
    assert (cfg.athlete, cfg.athletes, cfg.section) == ("me", ("me",), "")


def test_rows_of_one_athlete_never_land_in_another_athletes_partition(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KINDPACE_WORKERS", "1")
    with pytest.raises(StoreError, match="rows of another athlete than me, not written"):
        run_batches(Store(tmp_path / "store"), discover([SAMPLES / "easy-run.fit"]), "ana")
    assert not list((tmp_path / "store").glob("*/*/*.parquet"))


def test_a_clubs_night_syncs_every_athlete_into_their_partition_and_one_locked_athlete_stops_no_other(
        tmp_path: Path, capsys, monkeypatch):
    # `--wait` sets KINDPACE_LOCK_WAIT_S in this process (the CLI's own, normally): put it back afterwards, or
    # every later test's subprocess would give up on a lock after half a second (the CI simulation caught it)
    monkeypatch.setenv("KINDPACE_LOCK_WAIT_S", os.environ.get("KINDPACE_LOCK_WAIT_S", "600"))
    runs = {"ana": ["easy-run.fit"], "ben": ["treadmill-run.fit"], "cy": ["phone-run.gpx", "harder-stretch-run.fit"]}
    config = tmp_path / "club.toml"
    text = (ROOT / "samples" / "kindpace.toml").read_text()
    for athlete, names in runs.items():
        (tmp_path / athlete).mkdir()
        for name in names:
            shutil.copy2(SAMPLES / name, tmp_path / athlete / name)
        text += (f'\n[athletes.{athlete}]\n[[athletes.{athlete}.source]]\n'
                 f'kind = "folder"\npath = "{tmp_path / athlete}"\n')
    config.write_text(text)
    store = tmp_path / "store"
    common = ["--store", str(store), "--config", str(config), "--json", "--wait", "0.5"]

    with Store(store, "ben").writer_lock():  # another writer holds ben's partition all night
        assert main(["sync", "--every-athlete", *common]) == 1
    night = json.loads(capsys.readouterr().out)
    assert night["failed"] == ["ben"] and "locked by another writer" in night["athletes"]["ben"]["error"]
    assert {a: r["counts"].get("imported", 0) for a, r in night["athletes"].items()} == {"ana": 1, "ben": 0, "cy": 2}
    assert night["counts"]["imported"] == 3
    assert sorted(Store(store).athletes()) == ["ana", "cy"]  # "me" has no source: not in the night

    assert main(["sync", "--every-athlete", *common]) == 0  # the next night takes ben, and nothing twice
    again = json.loads(capsys.readouterr().out)
    assert {a: r["counts"]["imported"] for a, r in again["athletes"].items()} == {"ana": 0, "ben": 1, "cy": 0}
    for athlete, names in runs.items():
        assert Store(store, athlete).read("activities").num_rows == len(names)
        assert sorted(Path(p).name for p in Store(store, athlete).read("imports")["path"].to_pylist()) == sorted(names)

    # shards split the club: every athlete in exactly one of three
    seen: list[str] = []
    for k in (1, 2, 3):
        code = main(["sync", "--every-athlete", "--shard", f"{k}/3", *common])
        out = capsys.readouterr().out
        seen += list(json.loads(out)["athletes"]) if code == 0 else []
    assert sorted(seen) == ["ana", "ben", "cy"]
    assert main(["sync", "--every-athlete", "--shard", "4/3", *common]) == 2


def test_serve_catches_up_a_club_by_the_athlete_most_behind(tmp_path: Path, monkeypatch):
    from kindpace.serve import _last_sync
    from pipeline.sync import SourceSpec, sync

    monkeypatch.setenv("KINDPACE_WORKERS", "1")
    config = tmp_path / "club.toml"
    config.write_text(f'store = "{tmp_path / "store"}"\n[athletes.ana]\n[athletes.ben]\n')
    cfg = config_mod.load(str(config))
    (tmp_path / "watch").mkdir()
    assert _last_sync(cfg, ["ana", "ben"]) is None
    sync(Store(cfg.store, "ana"), [SourceSpec("folder", str(tmp_path / "watch"))], "ana")
    assert _last_sync(cfg, ["ana", "ben"]) is None  # ben has never been synced: the night is owed
    time.sleep(1.1)  # sync times are kept to the second
    sync(Store(cfg.store, "ben"), [SourceSpec("folder", str(tmp_path / "watch"))], "ben")
    finished = {a: Store(cfg.store, a).read("sync_runs")["finished_at"][0].as_py() for a in ("ana", "ben")}
    assert _last_sync(cfg, ["ana", "ben"]) == finished["ana"] < finished["ben"]
