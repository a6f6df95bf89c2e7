"""`kindpace init` and `kindpace source add|list|remove`: the config a runner sets up once."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from kindpace import config as config_mod
from kindpace.cli import main


def test_init_writes_a_commented_config_with_an_inbox_and_refuses_to_overwrite(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("KINDPACE_CONFIG", str(tmp_path / "conf" / "kindpace.toml"))
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert main(["init"]) == 0
    path = tmp_path / "conf" / "kindpace.toml"
    text = path.read_text(encoding="utf-8")
    values = tomllib.loads(text)
    inbox = tmp_path / "data" / "kindpace" / "inbox"
    assert values["source"] == [{"kind": "inbox", "path": str(inbox)}] and inbox.is_dir()
    assert (values["timezone"], values["nightly"]) == ("Europe/Berlin", "03:00")
    assert "# [[profile]]" in text  # commented, for the runner to read
    cfg = config_mod.load()
    assert cfg.sources == (config_mod.Source("inbox", inbox),)
    assert main(["init"]) == 2 and "already there" in capsys.readouterr().err


def test_sources_are_added_listed_and_removed_and_comments_stay(tmp_path: Path, capsys):
    cfg = tmp_path / "kindpace.toml"
    cfg.write_text("# my settings\nunits = \"imperial\"\n", encoding="utf-8")
    watch, folder = tmp_path / "GARMIN-DRIVE", tmp_path / "phone"
    folder.mkdir()
    assert main(["source", "add", "watch", str(watch), "--config", str(cfg)]) == 0
    assert "not reachable now" in capsys.readouterr().out
    assert main(["source", "add", "folder", str(folder), "--config", str(cfg)]) == 0
    assert main(["source", "add", "folder", str(folder), "--config", str(cfg)]) == 2  # once only
    capsys.readouterr()
    assert main(["source", "list", "--json", "--config", str(cfg)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == [{"kind": "watch", "path": str(watch), "reachable": False},
                      {"kind": "folder", "path": str(folder), "reachable": True}]
    assert main(["source", "remove", str(watch), "--config", str(cfg)]) == 0
    text = cfg.read_text(encoding="utf-8")
    assert text.startswith("# my settings\nunits = \"imperial\"\n") and str(watch) not in text
    assert config_mod.load(str(cfg)).sources == (config_mod.Source("folder", folder),)
    assert main(["source", "remove", str(watch), "--config", str(cfg)]) == 2
    cfg.write_text('[[source]]\nkind = "drive"\npath = "/x"\n', encoding="utf-8")
    assert main(["source", "list", "--config", str(cfg)]) == 2


def test_status_says_when_the_sync_stops_working_and_tells_once(tmp_path: Path, capsys):
    from datetime import UTC, datetime, timedelta

    from pipeline.health import health
    from pipeline.store import Store
    from pipeline.sync import SourceSpec, sync
    from tests.conftest import SAMPLES

    store = Store(tmp_path / "store")
    unplugged = tmp_path / "unplugged"
    told = tmp_path / "told.txt"
    cfg = tmp_path / "kindpace.toml"
    cfg.write_text(f'on_warning = "echo $KINDPACE_WARNING >> {told}"\n[[source]]\nkind = "folder"\n'
                   f'path = "{SAMPLES}"\n[[source]]\nkind = "watch"\npath = "{unplugged}"\n', encoding="utf-8")
    specs = [SourceSpec("folder", str(SAMPLES)), SourceSpec("watch", str(unplugged))]
    sync(store, specs, "me")
    common = ["--store", str(store.root), "--config", str(cfg)]
    assert main(["status", *common]) == 0 and "All well." in capsys.readouterr().out
    sync(store, specs, "me")
    sync(store, specs, "me")  # the watch was missing in each of the last 3 syncs
    assert main(["status", "--json", *common]) == 1
    warned = json.loads(capsys.readouterr().out)
    assert [w["code"] for w in warned["warnings"]] == ["source_unreachable"]
    assert main(["status", *common]) == 1  # still warning, but the command ran once per warning
    assert told.read_text().count("source_unreachable") == 1
    assert main(["runs", *common]) == 0 and "Note (source_unreachable)" in capsys.readouterr().out
    # three weeks later without a sync: the sync is stale, and the runner (4 runs in a week) has no new run
    later = health(store, [(s.kind, Path(s.path)) for s in specs], now=datetime.now(UTC) + timedelta(days=21))
    assert [code for code, _ in later.warnings] == ["no_recent_sync", "source_unreachable", "no_recent_run"]
    # an inbox-only sync (a dropped file) does not hide what the folder held at its last sync
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sync(store, [SourceSpec("inbox", str(inbox))], "me")
    held = health(store, [(s.kind, Path(s.path)) for s in specs] + [("inbox", inbox)]).sources
    assert held == [f"folder {SAMPLES}: 5 files, 0 new", f"watch {unplugged}: unreachable",
                    f"inbox {inbox}: 0 files, 0 new"]
