"""The GPX connector's fast road (connectors/gpx.py `_parse_fast`) against gpxpy's whole parse, on every
GPX file of the corpus: the same activity (records, pauses, name, sport, warnings), or the same refusal.
The fast road reads the points' fields through gpxpy's own converters and builds gpxpy's model for
the rest, so the two may differ only where the fast road hands a file to gpxpy (it must then be gpxpy
that reads it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors import gpx
from connectors.base import InputError
from tests.conftest import manifest

pytestmark = pytest.mark.slow


def _rows() -> list[dict[str, str]]:
    try:
        return [r for r in manifest() if r["path"].lower().endswith(".gpx")]
    except FileNotFoundError:
        return []


def _outcome(data: bytes, name: str) -> object:
    try:
        return gpx.decode_gpx(data, name)
    except InputError as exc:
        return (type(exc).__name__, exc.reason)


@pytest.mark.parametrize("row", _rows(), ids=[Path(r["path"]).name for r in _rows()])
def test_the_fast_road_gives_what_gpxpy_gives(row: dict[str, str], corpus: Path, monkeypatch):
    data = Path(row["path"]).read_bytes()
    fast = _outcome(data, "x.gpx")
    monkeypatch.setattr(gpx, "_parse_fast", lambda text, version: None)  # gpxpy's whole parse, as before
    slow = _outcome(data, "x.gpx")
    if isinstance(slow, tuple):
        assert fast == slow
        return
    assert not isinstance(fast, tuple), fast
    (a,), (b,) = fast, slow
    assert a.records.equals(b.records)
    assert (a.meta, a.pauses, a.warnings) == (b.meta, b.pauses, b.warnings)


def test_the_fast_road_reads_most_corpus_files(corpus: Path):
    """It must not quietly hand everything to gpxpy: count the files it reads itself."""
    from connectors.xmltext import xml_text

    read = 0
    for row in _rows():
        data = Path(row["path"]).read_bytes()
        try:
            text = xml_text(data, "x.gpx", [], "GPX")
            version = gpx._gpx_version(text, "x.gpx")
        except InputError:
            continue
        read += gpx._parse_fast(text, version) is not None
    assert read >= 50, read
