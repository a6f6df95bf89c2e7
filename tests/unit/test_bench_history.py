"""The bench's re-timed histories are real FIT files: fitparse reads every time moved, the CRC sound."""

from __future__ import annotations

import io
from datetime import timedelta

import fitparse

from bench.history import DAY_S, SAMPLES, retime


def _times(data: bytes) -> list[object]:
    fit = fitparse.FitFile(io.BytesIO(data), check_crc=True)
    return [(m.name, f.name, f.value) for m in fit.get_messages() for f in m.fields
            if f.type.name in ("date_time", "local_date_time") and f.value is not None]


def test_retime_moves_every_time_and_keeps_the_crc():
    data = SAMPLES[0].read_bytes()
    moved = retime(data, -3 * DAY_S)
    before, after = _times(data), _times(moved)  # fitparse checks the CRC as it reads
    assert len(before) == len(after) > 2000
    assert all(a[:2] == b[:2] and a[2] == b[2] - timedelta(days=3) for a, b in zip(after, before, strict=True))
    assert len(moved) == len(data) and moved != data
