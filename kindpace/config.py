"""Configuration: one typed object from one TOML file; precedence is flag, environment, file, default.

    # kindpace.toml
    store = "~/runs/store"      # where the Parquet store lives
    athlete = "me"              # whose runs these are
    units = "metric"            # or "imperial": how distances and paces are shown (stored data stays SI)

    [gentleness]                # any number of the gentleness stage (docs/gentleness.md §5.12), e.g.
    s2_free_min = 4.0           # a sustained stretch of 4 minutes above the ceiling is still free

    [[profile]]                 # the runner's profile; later versions take effect from their date
    age = 40
    resting_hr = 55
    conversational_pace = "7:00/km"

    [[profile]]
    from = 2026-06-01
    easy_hr_ceiling = 140       # after a talk test

    [engine]
    dask = "tcp://10.0.0.5:8786"  # import and sync batches on this existing Dask cluster (or --dask)

    [athletes.ana]              # another runner in the same store (a club, a coach): `--athlete ana`
    timezone = "Europe/Lisbon"  # any shared setting above, for her alone
    [[athletes.ana.profile]]    # her profile and sources; the ones above are the config's own runner's
    age = 34
    [[athletes.ana.source]]
    kind = "folder"
    path = "~/club/ana"

Profile keys are the fields of `pipeline.ceiling.ProfileVersion`; paces are "M:SS/km" or "M:SS/mi",
race times "H:MM:SS" or "MM:SS". `kindpace profile set` appends a version; for one date, the last
version written wins.

Defaults: the store is `<user data dir>/store` (on Linux `~/.local/share/kindpace/store`, or under
`$XDG_DATA_HOME`); the config file is `<user config dir>/kindpace.toml` (`~/.config/kindpace/`).
Environment: KINDPACE_STORE, KINDPACE_CONFIG, KINDPACE_ATHLETE, KINDPACE_DASK.

An athlete with no table of their own and not the config's `athlete` has no profile and no sources
until `kindpace --athlete ID profile set` or `source add` writes their table.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from platformdirs import user_config_path, user_data_path

from pipeline.athlete import DEFAULT_ATHLETE, check_athlete
from pipeline.ceiling import PROFILE_FIELDS, ProfileError, ProfileVersion
from pipeline.files import is_url

APP = "kindpace"
UNITS = ("metric", "imperial")


def user_data_dir() -> Path:
    return user_data_path(APP, appauthor=False)


def default_config_path() -> Path:
    return user_config_path(APP, appauthor=False) / "kindpace.toml"


class ConfigError(ValueError):
    """The config file is missing (when named explicitly) or invalid."""


SOURCE_KINDS = ("watch", "folder", "inbox")
TOP_LEVEL = {"store", "athlete", "profile", "units", "gentleness", "source", "timezone", "nightly", "on_warning",
             "gentle_week_runs", "athletes", "engine"}
PER_ATHLETE = {"profile", "source", "units", "gentleness", "timezone", "on_warning", "gentle_week_runs"}


@dataclass(frozen=True)
class Source:
    """Where files come from: a watch mounted as a drive, a synced folder (both read-only), or the inbox
    (files handled move to processed/ or quarantine/)."""

    kind: str
    path: Path


@dataclass(frozen=True)
class Config:
    store: Path | str  # a folder, or a URL of object storage (s3://bucket/prefix)
    athlete: str = "me"
    path: Path = field(default_factory=default_config_path)  # the config file, whether it exists or not
    profiles: tuple[ProfileVersion, ...] = ()
    units: str = "metric"
    gentleness: dict[str, Any] = field(default_factory=dict)  # overrides of the stage's settings
    sources: tuple[Source, ...] = ()
    timezone: str | None = None  # IANA zone of the nightly sync; None: the machine's
    nightly: str = "03:00"
    on_warning: str | None = None  # a command run when `kindpace status` first sees a warning
    gentle_week_runs: int = 2  # gentle or borderline runs that make a gentle week (1-4)
    athletes: tuple[str, ...] = (DEFAULT_ATHLETE,)  # the config's own runner and every [athletes.ID]
    section: str = ""  # where this athlete's profile and sources are written: "" or 'athletes."ID".'
    dask: str | None = None  # an existing Dask scheduler for the import's batches ([engine] dask, KINDPACE_DASK)

    def zone(self) -> str:
        """The runner's calendar: the config's time zone, else the machine's."""
        return self.timezone or machine_timezone()

    def summary(self) -> Any:
        from pipeline.summaries import SummarySettings

        return SummarySettings(gentle_week_runs=self.gentle_week_runs)

    def settings(self) -> Any:
        """The gentleness stage's `Settings` with this config's overrides (imported lazily: numpy, pandas)."""
        from pipeline.assess import Settings

        try:
            return Settings.from_table(self.gentleness)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{self.path}: [gentleness]: {exc}") from exc


def load(config: str | None = None, store: str | None = None, athlete: str | None = None,
         must_exist: bool = True) -> Config:
    """Resolve the configuration: arguments (flags) beat the environment, which beats the file.

    A config file named explicitly must exist, unless the caller is about to create it."""
    named = config or os.environ.get("KINDPACE_CONFIG")
    path = Path(named).expanduser() if named else default_config_path()
    values: dict[str, object] = {}
    if path.exists():
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        unknown = set(values) - TOP_LEVEL
        if unknown:
            raise ConfigError(f"{path}: unknown settings {sorted(unknown)}")
    elif named and must_exist:
        raise ConfigError(f"{path}: config file not found")
    home = str(values.get("athlete") or DEFAULT_ATHLETE)
    sections = _athlete_sections(path, values.get("athletes", {}))
    athlete_value = str(athlete or os.environ.get("KINDPACE_ATHLETE") or home)
    try:
        check_athlete(athlete_value)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    section = ""
    if athlete_value in sections:  # their own table: it holds their profile and sources, and overrides the rest
        own = sections[athlete_value]
        shared = values.get("gentleness", {})
        values = {**values, "profile": [], "source": [], **own,
                  "gentleness": {**(shared if isinstance(shared, dict) else {}), **own.get("gentleness", {})}}
        section = f'athletes."{athlete_value}".'
    elif athlete_value != home:  # another runner with no table yet: nothing of the config's own runner
        values = {**values, "profile": [], "source": []}
        section = f'athletes."{athlete_value}".'
    raw = values.get("profile", [])
    tables: list[Any] = [raw] if isinstance(raw, dict) else list(raw) if isinstance(raw, list) else [raw]
    try:
        profiles = tuple(profile_from_table(t) for t in tables)
    except (ProfileError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: profile: {exc}") from exc
    store_value = store or os.environ.get("KINDPACE_STORE") or values.get("store") or user_data_dir() / "store"
    units = values.get("units", "metric")
    if units not in UNITS:
        raise ConfigError(f"{path}: units must be metric or imperial, not {units!r}")
    gentleness = values.get("gentleness", {})
    if not isinstance(gentleness, dict):
        raise ConfigError(f"{path}: [gentleness] must be a table of settings")
    sources = _sources(path, values.get("source", []))
    gentle_week_runs = values.get("gentle_week_runs", 2)
    if not isinstance(gentle_week_runs, int) or not 1 <= gentle_week_runs <= 4:
        raise ConfigError(f"{path}: gentle_week_runs must be a whole number from 1 to 4, not {gentle_week_runs!r}")
    zone = values.get("timezone")
    if zone:
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{path}: timezone {zone!r} is not an IANA time zone (like Europe/Berlin)") from None
    engine = values.get("engine", {})
    if not isinstance(engine, dict) or set(engine) - {"dask"}:
        raise ConfigError(f"{path}: [engine] takes one setting, dask = \"tcp://HOST:PORT\"")
    dask = os.environ.get("KINDPACE_DASK") or engine.get("dask") or None
    if dask is not None and not is_scheduler(str(dask)):
        raise ConfigError(f"{path}: dask must be a scheduler address like tcp://HOST:8786, not {dask!r}")
    nightly = str(values.get("nightly", "03:00"))
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", nightly):
        raise ConfigError(f"{path}: nightly must be a time of day as HH:MM, not {nightly!r}")
    return Config(
        store=str(store_value) if is_url(str(store_value)) else Path(str(store_value)).expanduser(),
        athlete=str(athlete_value),
        path=path,
        profiles=profiles,
        units=str(units),
        gentleness=dict(gentleness),
        sources=sources,
        timezone=str(values["timezone"]) if values.get("timezone") else None,
        nightly=nightly,
        on_warning=str(values["on_warning"]) if values.get("on_warning") else None,
        gentle_week_runs=gentle_week_runs,
        athletes=tuple(sorted({home, *sections})),
        section=section,
        dask=str(dask) if dask else None,
    )


def is_scheduler(address: str) -> bool:
    """Whether `address` names a Dask scheduler (tcp://HOST:PORT and the other protocols Dask speaks)."""
    return re.fullmatch(r"(tcp|tls|inproc|ws|wss)://\S+", address) is not None


def club(cfg: Config, share: int = 1, shares: int = 1) -> list[dict[str, Any]]:
    """Every athlete of the config with a source ({"athlete", "sources"}), or the `share`-th of `shares`
    shares of them: a stable share (by a hash of the id), so adding an athlete moves no other one."""
    import hashlib

    plan = []
    for athlete in cfg.athletes:
        if int(hashlib.sha1(athlete.encode()).hexdigest(), 16) % shares != share - 1:
            continue
        theirs = load(str(cfg.path), str(cfg.store), athlete)
        if theirs.sources:
            sources = [{"kind": s.kind, "path": str(s.path)} for s in theirs.sources]
            plan.append({"athlete": athlete, "sources": sources})
    return plan


def _athlete_sections(path: Path, raw: Any) -> dict[str, dict[str, Any]]:
    """The [athletes.ID] tables, checked: ids that can name a partition, settings an athlete can have."""
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise ConfigError(f"{path}: [athletes.ID] must be tables, one per athlete")
    for athlete, table in raw.items():
        try:
            check_athlete(athlete)
        except ValueError as exc:
            raise ConfigError(f"{path}: [athletes.{athlete}]: {exc}") from None
        unknown = set(table) - PER_ATHLETE
        if unknown:
            raise ConfigError(f"{path}: [athletes.{athlete}]: unknown settings {sorted(unknown)} "
                              f"(an athlete can have {', '.join(sorted(PER_ATHLETE))})")
    return raw


def _sources(path: Path, raw: Any) -> tuple[Source, ...]:
    tables = [raw] if isinstance(raw, dict) else list(raw) if isinstance(raw, list) else [raw]
    out = []
    for table in tables:
        if not isinstance(table, dict) or set(table) != {"kind", "path"} or table["kind"] not in SOURCE_KINDS:
            raise ConfigError(f"{path}: each [[source]] needs kind (one of {', '.join(SOURCE_KINDS)}) and path")
        out.append(Source(str(table["kind"]), Path(str(table["path"])).expanduser()))
    return tuple(out)


# --- the profile in TOML ------------------------------------------------------------------------------

KM_PER_MILE = 1.609344
_PACE = re.compile(r"^\s*(\d+):([0-5]\d(?:\.\d+)?)(?:\s*/\s*(km|mi|mile))?\s*$")


def parse_pace(text: str) -> float:
    """'7:00/km' or '11:15/mi' -> seconds per kilometre."""
    match = _PACE.match(text)
    if not match:
        raise ValueError(f"pace {text!r} is not M:SS/km or M:SS/mi")
    seconds = int(match.group(1)) * 60 + float(match.group(2))
    return seconds / KM_PER_MILE if match.group(3) in ("mi", "mile") else float(seconds)


def format_pace(seconds_per_km: float) -> str:
    """Seconds per km as M:SS/km, with a tenth of a second where it is not whole (a pace set per mile)."""
    tenths = round(seconds_per_km * 10)
    minutes, rest = divmod(tenths, 600)
    seconds = f"{rest // 10:02d}" if rest % 10 == 0 else f"{rest // 10:02d}.{rest % 10}"
    return f"{minutes}:{seconds}/km"


def format_duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def parse_duration(text: str | float) -> float:
    """'52:30' or '1:52:30' (or a number of seconds) -> seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"time {text!r} is not H:MM:SS or MM:SS")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return seconds


def profile_from_table(table: dict[str, Any]) -> ProfileVersion:
    values = dict(table)
    effective = values.pop("from", None)
    unknown = set(values) - set(PROFILE_FIELDS) - {"conversational_pace", "race_time"}
    if unknown:
        raise ValueError(f"unknown profile keys {sorted(unknown)}")
    if "conversational_pace" in values:
        values["conversational_pace_s_per_km"] = parse_pace(str(values.pop("conversational_pace")))
    if "race_time" in values:
        values["race_time_s"] = parse_duration(values.pop("race_time"))
    if effective is not None and not isinstance(effective, date):
        effective = date.fromisoformat(str(effective))
    return ProfileVersion(effective=effective, **values)


def profile_toml(version: ProfileVersion, section: str = "") -> str:
    """One `[[profile]]` table (under `section`: one athlete's) holding the fields a version sets (the
    defaults are left out)."""
    lines = [f"[[{section}profile]]"]
    if version.effective is not None:
        lines.append(f"from = {version.effective.isoformat()}")
    default = ProfileVersion()
    for name in PROFILE_FIELDS:
        value = getattr(version, name)
        if value == getattr(default, name):
            continue
        if name == "conversational_pace_s_per_km":
            lines.append(f'conversational_pace = "{format_pace(value)}"')
        elif name == "race_time_s":
            lines.append(f'race_time = "{format_duration(value)}"')
        elif isinstance(value, bool):
            lines.append(f"{name} = {'true' if value else 'false'}")
        elif isinstance(value, str):
            lines.append(f'{name} = "{value}"')
        elif isinstance(value, date):
            lines.append(f"{name} = {value.isoformat()}")
        else:
            lines.append(f"{name} = {value}")
    return "\n".join(lines) + "\n"


def append_profile(path: Path, version: ProfileVersion, section: str = "") -> None:
    """Add a profile version to the config file (created, with a header, if missing); comments stay."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text(encoding="utf-8") if path.exists() else (
        "# kindpace configuration (see README). Profile versions take effect from their date;\n"
        "# the first one applies to every earlier run too.\n")
    separator = "" if existing.endswith("\n\n") or not existing else ("\n" if existing.endswith("\n") else "\n\n")
    path.write_text(existing + separator + profile_toml(version, section), encoding="utf-8")


# --- kindpace init and kindpace source ------------------------------------------------------------------


def machine_timezone() -> str:
    """The machine's IANA zone (TZ, /etc/timezone, or where /etc/localtime points), else UTC."""
    if os.environ.get("TZ", "").count("/") >= 1:
        return os.environ["TZ"].lstrip(":")
    etc = Path("/etc/timezone")
    if etc.exists() and etc.read_text(encoding="utf-8").strip():
        return etc.read_text(encoding="utf-8").strip()
    local = Path("/etc/localtime")
    if local.is_symlink() and "zoneinfo/" in str(local.resolve()):
        return str(local.resolve()).split("zoneinfo/", 1)[1]
    return "UTC"


def config_template(store: Path | str, inbox: Path, timezone: str) -> str:
    return f'''# kindpace configuration. Every setting is optional; see the README.
store = "{store}"        # the Parquet store
athlete = "me"
units = "metric"         # or "imperial": how distances and paces are shown (data stays SI)
timezone = "{timezone}"  # the nightly sync runs at this zone's clock
nightly = "03:00"        # when `kindpace serve` syncs every night
# on_warning = "notify-send kindpace"   # run when `kindpace status` first sees a warning
# gentle_week_runs = 2   # gentle runs that make a "gentle week" in the summaries (1 to 4)

# Your profile: kindpace profile set --age 40 --resting-hr 55 ... writes these tables.
# [[profile]]
# age = 40
# conversational_pace = "7:00/km"

# Where files come from: kindpace source add watch|folder|inbox PATH writes these tables.
# A watch or a folder is only read; files dropped into the inbox move to processed/ or quarantine/.
[[source]]
kind = "inbox"
path = "{inbox}"
'''


def write_new_config(path: Path, store: Path | str, inbox: Path, timezone: str) -> None:
    if path.exists():
        raise ConfigError(f"{path}: a config is already there; edit it, or remove it first")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config_template(store, inbox, timezone), encoding="utf-8")


def _source_block(source: Source, section: str = "") -> str:
    return f'[[{section}source]]\nkind = "{source.kind}"\npath = "{source.path}"\n'


def add_source(path: Path, source: Source, athlete: str | None = None) -> None:
    """Append a `[[source]]` table (under an athlete's section where theirs are kept; the config is created
    if missing); a path is a source only once."""
    cfg = load(str(path), athlete=athlete, must_exist=False)
    if any(s.path == source.path for s in cfg.sources):
        raise ConfigError(f"{source.path} is already a source")
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    separator = "" if not existing or existing.endswith("\n\n") else ("\n" if existing.endswith("\n") else "\n\n")
    path.write_text(existing + separator + _source_block(source, cfg.section), encoding="utf-8")


def remove_source(path: Path, source_path: Path, athlete: str | None = None) -> Source:
    cfg = load(str(path), athlete=athlete)
    found = next((s for s in cfg.sources if s.path == source_path), None)
    if found is None:
        raise ConfigError(f"{source_path} is not a source")
    text = path.read_text(encoding="utf-8")
    block = re.compile(r'\[\[' + re.escape(cfg.section) + r'source\]\]\s*\nkind\s*=\s*"' + found.kind
                       + r'"\s*\npath\s*=\s*"' + re.escape(str(found.path)) + r'"\s*\n?')
    new, n = block.subn("", text, count=1)
    if n != 1:
        raise ConfigError(f"{path}: the [[source]] table for {source_path} is not in the form kindpace writes; "
                          "remove it by hand")
    path.write_text(new, encoding="utf-8")
    return found
