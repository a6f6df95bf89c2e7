"""The vectorized FIT decoder on the samples, against numbers worked by hand and against fitparse;
`--decoder fitparse` still selects the reference."""

from __future__ import annotations

import struct
from dataclasses import replace
from datetime import datetime

import pytest

from connectors import fitvec
from connectors.fit import _WANTED, FIELDS_USED, decode_fit
from kindpace.cli import main
from tests.conftest import SAMPLES


def test_the_easy_run_decodes_to_its_stated_records():
    data = (SAMPLES / "easy-run.fit").read_bytes()
    framing = fitvec.frame(data)
    assert framing.crc_ok == [True] and framing.error is None
    found, error = fitvec.messages(data, {"record", "session"})
    records = [m for m in found if m.name == "record"]
    assert error is None and len(records) == 2 * (20 * 60 + 1)  # 2402 records, as samples/generate.py states
    assert records[0].values["timestamp"] == datetime(2026, 11, 17, 6, 30)
    assert records[-1].values["distance"] == pytest.approx(40 * 60 * 2.60)  # 6240 m, exact by construction
    (session,) = [m for m in found if m.name == "session"]
    assert (session.values["workout_feel"], session.values["workout_rpe"]) == (75, 30)  # fields 192, 193


def test_the_connector_reads_the_same_activity_with_either_decoder():
    data = (SAMPLES / "harder-stretch-run.fit").read_bytes()
    (fast,) = decode_fit(data, "x.fit", decoder="fitvec")
    (ref,) = decode_fit(data, "x.fit", decoder="fitparse")
    assert (fast.decoder, ref.decoder) == ("fitvec", "fitparse")
    assert fast.records.equals(ref.records) and fast.laps.equals(ref.laps)
    assert fast.pauses == ref.pauses
    assert fast.meta == replace(ref.meta, product="fr945")  # fitparse's older profile knows only the number
    assert ref.meta.product == "3113"


def test_a_damaged_file_goes_to_fitparse_and_the_crc_is_checked():
    data = bytearray((SAMPLES / "easy-run.fit").read_bytes())
    data[-1] ^= 0xFF  # the file CRC
    framing = fitvec.frame(bytes(data))
    assert framing.crc_ok == [False]
    assert fitvec.messages(bytes(data), set(_WANTED), FIELDS_USED)[1] == "file CRC mismatch"
    (activity,) = decode_fit(bytes(data), "bad-crc.fit", decoder="fitvec")
    assert activity.decoder == "fitparse"  # the salvage rules live there


def test_a_compressed_timestamp_header_moves_the_time_on():
    """A tiny FIT file by hand: a record with a full timestamp, then two with compressed-time headers."""
    def message(header: int, body: bytes) -> bytes:
        return bytes([header]) + body

    definition = message(0x40, struct.pack("<BBHB", 0, 0, 20, 2) + bytes([253, 4, 0x86, 3, 1, 0x02]))
    definition_no_time = message(0x41, struct.pack("<BBHB", 0, 0, 20, 1) + bytes([3, 1, 0x02]))
    t0 = 1_100_000_000  # FIT seconds (2024-11-09); a multiple of 32, so its low 5 bits are 0
    body = (definition + message(0x00, struct.pack("<IB", t0, 120)) + definition_no_time
            + message(0x80 | (1 << 5) | ((t0 + 3) & 0x1F), bytes([121]))
            + message(0x80 | (1 << 5) | ((t0 + 40) & 0x1F), bytes([122])))
    header = struct.pack("<BBHI4s", 12, 0x10, 2132, len(body), b".FIT")
    import fastcrc

    data = header + body
    data += struct.pack("<H", fastcrc.crc16.arc(data))
    found, error = fitvec.messages(data)
    assert error is None
    seconds = [(m.values["timestamp"] - datetime(1989, 12, 31)).total_seconds() for m in found]
    # +3 s; then 5 bits of 8 (40 mod 32) after a last time whose 5 bits are 3: the FIT rule reads t0 + 8
    # (a compressed header can only say less than 32 s on, so a 37 s jump cannot be written this way)
    assert seconds == [t0, t0 + 3, t0 + 8]
    assert [m.values["heart_rate"] for m in found] == [120, 121, 122]


def test_the_import_command_takes_the_reference_decoder_when_asked(tmp_path, monkeypatch):
    # setenv, not delenv: monkeypatch then restores what was there before, whatever `--decoder` sets
    # (a delenv of an absent variable records nothing, and the choice would leak into later tests)
    monkeypatch.setenv("KINDPACE_FIT_DECODER", "fitvec")
    store = tmp_path / "store"
    assert main(["import", str(SAMPLES / "easy-run.fit"), "--decoder", "fitparse", "--store", str(store)]) == 0
    from pipeline.store import Store

    assert Store(store).read("activities")["decoder"].to_pylist() == ["fitparse"]
