"""Large generated histories for the benchmarks: a few encoded FIT files re-timed, not thousands encoded.

`retime(data, shift_s)` moves every date_time (and local_date_time) field of a FIT file by `shift_s`
seconds and writes the file CRC anew. Which bytes are times comes from the framing and the FIT profile
(connectors/fitvec.py), so any whole FIT activity can be a template. Shifts are multiples of 32 s, so
the 5-bit offsets of compressed-timestamp headers stay right. `history(folder, n, templates)` writes n
files: the templates taken in turn, each one day earlier than the last.

Two sets of templates: the bundled sample runs (SAMPLES: three short runs encoded with few fields,
27-66 KB), and the corpus's real running recordings (`corpus_runs`: every whole running activity of
ten minutes or more, about 40 files from Garmin, Suunto, COROS, TomTom, Stryd and others, median about
110 KB), which are what a runner's years of history look like.
"""

from __future__ import annotations

import csv
import struct
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors import fitvec  # noqa: E402

SAMPLES = [ROOT / "samples" / "activities" / name for name in
           ("easy-run.fit", "harder-stretch-run.fit", "treadmill-run.fit")]
MIN_RECORDS = 600  # ten minutes at one record a second
DAY_S = 86_400  # a multiple of 32


def _time_fields(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Byte positions of every 4-byte date_time value in the file, and whether each is big-endian."""
    framing = fitvec.frame(data)
    profile = fitvec._profile()["messages"]
    positions, big = [], []
    for d, definition in enumerate(framing.definitions):
        fields = profile.get(definition.global_num, {"fields": {}})["fields"]
        at = 0
        starts = framing.offsets[framing.def_index == d]
        for num, size, _base in definition.fields:
            kind = fields.get(num, {}).get("type")
            if kind in ("date_time", "local_date_time") and size == 4 and len(starts):
                positions.append(starts + at)
                big.append(np.full(len(starts), definition.big_endian))
            at += size
    if not positions:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    return np.concatenate(positions), np.concatenate(big)


def retime(data: bytes, shift_s: int, fields: tuple[np.ndarray, np.ndarray] | None = None) -> bytes:
    if shift_s % 32:
        raise ValueError("shift by a multiple of 32 s, so compressed timestamps stay right")
    positions, big = fields if fields is not None else _time_fields(data)
    out = np.frombuffer(data, dtype=np.uint8).copy()
    for endian, where in ((">", positions[big]), ("<", positions[~big])):
        if not len(where):
            continue
        raw = out[where[:, None] + np.arange(4)].copy().view(endian + "u4").reshape(-1)
        moved = np.where((raw == 0xFFFFFFFF) | (raw < fitvec.RELATIVE_LIMIT), raw,
                         (raw.astype(np.int64) + shift_s).astype(np.uint32))
        out[where[:, None] + np.arange(4)] = moved.astype(endian + "u4").view(np.uint8).reshape(-1, 4)
    body = out[:-2].tobytes()
    return body + struct.pack("<H", fitvec._crc16(body))


def corpus_runs(corpus: Path) -> list[Path]:
    """The corpus's whole running recordings: activity files the MANIFEST calls running, with at least
    MIN_RECORDS records, one FIT file (not chained) whose framing ends cleanly with every CRC sound
    (a damaged file would come out of `retime` with a good CRC, and take another decoder's road), with
    times on the real clock (two old Forerunner 70 files count only from power-on: every copy of them
    would be the same run)."""
    rows = csv.DictReader(open(corpus / "MANIFEST.csv", encoding="utf-8"))
    runs = []
    for row in rows:
        if not (row["file"].lower().endswith(".fit") and row["kind"] == "activity" and row["sport"] == "running"
                and int(row["records"] or 0) >= MIN_RECORDS):
            continue
        path = corpus / Path(row["file"]).relative_to("shared/corpus")
        data = path.read_bytes()
        framing = fitvec.frame(data)
        if framing.error is None and all(framing.crc_ok) and not framing.segments.any() and _movable(data, path):
            runs.append(path)
    return runs


def _movable(data: bytes, path: Path) -> bool:
    """Whether a copy re-timed a day earlier starts a day earlier, as the connector reads it."""
    from connectors import decode_file

    before = [a.meta.start_time for a in decode_file(data, str(path))]
    after = [a.meta.start_time for a in decode_file(retime(data, -DAY_S), str(path))]
    return bool(before) and None not in before and [t - timedelta(days=1) for t in before] == after  # type: ignore[operator]


def history(folder: Path, n: int, templates: list[Path] = SAMPLES, first: int = 0) -> list[Path]:
    """Files first..first+n-1 of a generated history in `folder` (day k = k days before the templates)."""
    folder.mkdir(parents=True, exist_ok=True)
    prepared = [(data, t.stem, _time_fields(data)) for t in templates for data in (t.read_bytes(),)]
    paths = []
    for k in range(first, first + n):
        data, stem, fields = prepared[k % len(prepared)]
        path = folder / f"{k:05d}-{stem}.fit"
        path.write_bytes(retime(data, -DAY_S * (k + 1), fields))
        paths.append(path)
    return paths
