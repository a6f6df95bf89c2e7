"""Configuration: one typed object from one TOML file; precedence is flag, environment, file, default.

    # kindpace.toml
    store = "~/runs/store"      # where the Parquet store lives
    athlete = "me"              # whose runs these are

Defaults: the store is `<user data dir>/store` (on Linux `~/.local/share/kindpace/store`, or under
`$XDG_DATA_HOME`); the config file is `<user config dir>/kindpace.toml` (`~/.config/kindpace/`).
Environment: KINDPACE_STORE, KINDPACE_CONFIG, KINDPACE_ATHLETE.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_config_path, user_data_path

APP = "kindpace"


def user_data_dir() -> Path:
    return user_data_path(APP, appauthor=False)


def default_config_path() -> Path:
    return user_config_path(APP, appauthor=False) / "kindpace.toml"


class ConfigError(ValueError):
    """The config file is missing (when named explicitly) or invalid."""


@dataclass(frozen=True)
class Config:
    store: Path
    athlete: str = "me"
    source: Path | None = None  # the file the settings came from, if any


def load(config: str | None = None, store: str | None = None, athlete: str | None = None) -> Config:
    """Resolve the configuration: arguments (flags) beat the environment, which beats the file."""
    named = config or os.environ.get("KINDPACE_CONFIG")
    path = Path(named).expanduser() if named else default_config_path()
    values: dict[str, object] = {}
    if path.exists():
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        unknown = set(values) - {"store", "athlete"}
        if unknown:
            raise ConfigError(f"{path}: unknown settings {sorted(unknown)}")
    elif named:
        raise ConfigError(f"{path}: config file not found")
    store_value = store or os.environ.get("KINDPACE_STORE") or values.get("store") or user_data_dir() / "store"
    athlete_value = athlete or os.environ.get("KINDPACE_ATHLETE") or values.get("athlete") or "me"
    return Config(
        store=Path(str(store_value)).expanduser(),
        athlete=str(athlete_value),
        source=path if path.exists() else None,
    )
