"""`kindpace profile set / show`: versions with effective dates, in the TOML config, comments kept."""

from __future__ import annotations

import json
import tomllib
from datetime import date
from pathlib import Path

import pytest

from kindpace import config as config_mod
from kindpace.cli import main


def _show(capsys, cfg: Path, *extra: str) -> dict:
    capsys.readouterr()
    assert main(["profile", "show", "--config", str(cfg), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_set_creates_the_config_and_show_resolves_the_ceiling(tmp_path: Path, capsys):
    cfg = tmp_path / "conf" / "kindpace.toml"
    assert main(["profile", "set", "--config", str(cfg), "--age", "40", "--resting-hr", "55",
                 "--conversational-pace", "7:00/km"]) == 0
    shown = _show(capsys, cfg)
    # Karvonen on the Tanaka maximum: 55 + 0.60 x (180 - 55) = 130; 55 + 0.75 x 125 = 148.75
    assert (shown["ceiling_bpm"], shown["hard_line_bpm"], shown["method"], shown["confidence"]) == (
        130.0, 148.8, "karvonen", "low")
    assert shown["conversational_pace_s_per_km"] == 420.0
    # the pace equivalents: the conversational pace is the ceiling, 1.10 x its speed the hard line
    assert (shown["pace_ceiling_s_per_km"], shown["pace_method"]) == (420.0, "conversational_pace")
    assert shown["pace_hard_line_s_per_km"] == pytest.approx(420.0 / 1.10)
    assert shown["conversational_speed_m_s"] == pytest.approx(1000 / 420)


def test_a_later_version_applies_from_its_date_and_keeps_the_other_fields(tmp_path: Path, capsys):
    cfg = tmp_path / "kindpace.toml"
    cfg.write_text('# my settings\nstore = "~/runs"\n')
    main(["profile", "set", "--config", str(cfg), "--age", "40", "--max-hr", "190"])
    main(["profile", "set", "--config", str(cfg), "--easy-hr-ceiling", "140", "--from", "2026-12-01"])
    text = cfg.read_text()
    assert text.startswith("# my settings\nstore = \"~/runs\"\n")  # the runner's own lines stay
    assert len(tomllib.loads(text)["profile"]) == 2
    before = _show(capsys, cfg, "--on", "2026-11-30")
    after = _show(capsys, cfg, "--on", "2026-12-01")
    assert (before["method"], before["ceiling_bpm"]) == ("percent_max", 146.3)  # 0.77 x 190
    assert (after["method"], after["ceiling_bpm"], after["profile"]["max_hr"]) == ("manual", 140.0, 190)
    assert _show(capsys, cfg, "--on", "2000-01-01")["ceiling_bpm"] == 146.3  # the first version reaches back


def test_hr_not_reliable_gives_no_heart_rate_ceiling(tmp_path: Path, capsys):
    cfg = tmp_path / "kindpace.toml"
    main(["profile", "set", "--config", str(cfg), "--age", "60", "--hr-reliable", "false",
          "--conversational-pace", "12:00/mi"])
    shown = _show(capsys, cfg)
    assert shown["ceiling_bpm"] is None
    assert shown["conversational_pace_s_per_km"] == pytest.approx(720 / 1.609344, abs=0.05)  # kept to 0.1 s


def test_bad_values_are_refused_with_the_reason(tmp_path: Path, capsys):
    cfg = tmp_path / "kindpace.toml"
    assert main(["profile", "set", "--config", str(cfg), "--resting-hr", "190", "--max-hr", "180"]) == 2
    assert "below max_hr" in capsys.readouterr().err
    assert not cfg.exists()
    cfg.write_text("[[profile]]\nage = 40\nspeed = 3\n")
    assert main(["profile", "show", "--config", str(cfg)]) == 2
    assert "unknown profile keys" in capsys.readouterr().err


def test_pace_and_time_parsing():
    assert config_mod.parse_pace("7:00/km") == 420.0
    assert config_mod.parse_pace("11:15/mi") == pytest.approx(675 / 1.609344)
    assert config_mod.format_pace(420.0) == "7:00/km"
    assert config_mod.format_pace(720 / 1.609344) == "7:27.4/km"
    assert config_mod.parse_duration("52:30") == 3150.0
    assert config_mod.parse_duration("1:52:30") == 6750.0
    version = config_mod.profile_from_table({"from": date(2026, 1, 1), "race_time": "52:30", "race_distance_m": 10000})
    assert config_mod.profile_from_table(tomllib.loads(config_mod.profile_toml(version))["profile"][0]) == version
