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
