"""The TCX connector against tcxreader (an independent TCX parser) on every TCX file of the corpus.

For each file tcxreader reads (with `only_gps=False`, so that it keeps indoor points too), the connector's
records, all activities of the file together, must hold the same timed track points: every time exact
(tcxreader drops the offset, so both are compared as naive UTC), and heart rate, position, altitude,
distance, cadence (RunCadence, else the point's Cadence), speed and power equal where tcxreader has them.
The counts of activities, laps and track points are checked against MANIFEST.csv (counted with lxml when
the corpus was built), which also covers what tcxreader does not read: multisport sessions, and laps
without points. The two files tcxreader cannot parse get the outcome their damage allows.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest
from tcxreader.tcxreader import TCXReader

from connectors import InputError, NotAnActivity, decode_file
from tests.conftest import corpus_root, manifest

pytestmark = pytest.mark.slow


def _tcx_rows() -> list[dict[str, str]]:
    try:
        return [r for r in manifest() if r["path"].endswith(".tcx")]
    except FileNotFoundError:
        return []


ROWS = _tcx_rows()


def _counts(notes: str) -> dict[str, int]:
    """'activities=1 laps=11 trackpoints=686 courses=0; has Position' -> the four counts."""
    return {k: int(v) for k, v in (item.split("=") for item in notes.split(";")[0].split())}


def _naive(t):
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


@pytest.mark.parametrize("row", ROWS, ids=[Path(r["path"]).name for r in ROWS])
def test_tcx_file_matches_tcxreader(row: dict[str, str], corpus: Path):
    path = row["path"]
    data = Path(path).read_bytes()
    try:
        reference = TCXReader().read(path, only_gps=False)
    except Exception as e:  # noqa: BLE001 - tcxreader raises what lxml/ElementTree raise
        reference_error: Exception | None = e
    else:
        reference_error = None
    try:
        decoded = decode_file(data, path)
    except NotAnActivity as e:
        assert path in str(e)
        assert reference_error is not None or not [tp for tp in reference.trackpoints if tp.time], \
            f"tcxreader finds timed points where the connector sees no activity: {e.reason}"
        return
    except InputError as e:
        assert path in str(e) and reference_error is not None, f"connector refused what tcxreader read: {e}"
        return
    if reference_error is not None:
        # the connector mends two kinds of damage tcxreader stops at; it must say so
        assert row["kind"] == "corrupt" and (decoded[0].warnings or len(decoded) == 1), reference_error
        return

    counts = _counts(row["notes"]) if row["kind"] != "corrupt" else None
    if counts:
        assert sum(act.laps.num_rows for act in decoded) == counts["laps"]
        skipped = [w for w in decoded[0].warnings if "other activit" in w]
        assert len(decoded) == counts["activities"] or skipped, decoded[0].warnings
        dropped = sum(int(w.split()[1]) for act in decoded for w in act.warnings if w.startswith("dropped "))
        assert sum(act.records.num_rows for act in decoded) + dropped <= counts["trackpoints"]
        if not skipped:
            assert sum(act.records.num_rows for act in decoded) + dropped == counts["trackpoints"]
    if not reference.trackpoints:  # tcxreader reads no MultiSportSession: the counts above are the check
        assert reference.activity_type is None
        return
    ours = sorted(
        (rec for act in decoded for rec in act.records.to_pylist()), key=lambda r: r["timestamp"])
    theirs = sorted((tp for tp in reference.trackpoints if tp.time is not None), key=lambda tp: _naive(tp.time))
    assert len(ours) == len(theirs)
    mismatches = []
    for rec, tp in zip(ours, theirs, strict=True):
        ext = tp.tpx_ext or {}
        expected = {
            "timestamp": _naive(tp.time),
            "heart_rate_bpm": tp.hr_value,
            "latitude_deg": tp.latitude,
            "longitude_deg": tp.longitude,
            "altitude_m": tp.elevation,
            "distance_m": tp.distance,
            "cadence_rpm": ext.get("RunCadence", tp.cadence),
            "speed_m_s": ext.get("Speed"),
            "power_w": ext.get("Watts"),
        }
        got = dict(rec, timestamp=_naive(rec["timestamp"]))
        for key, want in expected.items():
            if want is None:
                continue
            have = got[key]
            if have is None or (have != want and abs(float(have) - float(want)) > 1e-6 * max(1.0, abs(float(want)))):
                mismatches.append((str(got["timestamp"]), key, have, want))
    assert not mismatches[:10]
    assert decoded[0].meta.sport == reference.activity_type


def test_the_corpus_holds_tcx_files():
    if not (corpus_root() / "MANIFEST.csv").exists():
        pytest.skip(f"corpus not found at {corpus_root()}")
    assert len(ROWS) >= 30
