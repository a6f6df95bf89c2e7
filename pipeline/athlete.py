"""Athlete ids: one rule for every store partition, config table and command line (no heavy imports)."""

from __future__ import annotations

import re

# letters, digits, '.', '_' and '-': safe as a folder and an object key, and never a hive key itself
ATHLETE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
DEFAULT_ATHLETE = "me"


def check_athlete(athlete: str) -> str:
    """An athlete id as given, or a ValueError saying what an id may hold."""
    if not ATHLETE_ID.fullmatch(athlete):
        raise ValueError(f"athlete id {athlete!r}: use 1 to 64 letters, digits, '.', '_' or '-' "
                         f"(not starting with '.' or '-')")
    return athlete
