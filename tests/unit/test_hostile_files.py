"""Hostile files are refused with their reason, without network, without reading other files and without
memory blow-up, while the rest of the batch imports (issue 7). Each protection has a test here that fails
when it is taken away: the XML ones run the real import on files that stdlib XML would otherwise expand,
resolve or choke on."""

from __future__ import annotations

import resource
import socket
import struct
from pathlib import Path

import pytest

from connectors import decode_file
from connectors.base import InputError
from pipeline.importer import discover, run_batches
from pipeline.store import Store
from tests.conftest import SAMPLES
from tests.reliability.common import tally

GPX_OPEN = ('<gpx xmlns="http://www.topografix.com/GPX/1/1" version="1.1" creator="hostile">'
            '<trk><name>{name}</name><trkseg>'
            '<trkpt lat="52.5" lon="13.4"><time>2026-11-01T07:00:00Z</time></trkpt>'
            '<trkpt lat="52.5001" lon="13.4001"><time>2026-11-01T07:00:05Z</time></trkpt>'
            '</trkseg></trk></gpx>')
TCX_OPEN = ('<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
            '<Activities><Activity Sport="Running"><Id>2026-11-01T07:00:00Z</Id><Notes>{name}</Notes>'
            '<Lap StartTime="2026-11-01T07:00:00Z"><TotalTimeSeconds>5</TotalTimeSeconds><Track>'
            '<Trackpoint><Time>2026-11-01T07:00:00Z</Time><HeartRateBpm><Value>120</Value></HeartRateBpm></Trackpoint>'
            '<Trackpoint><Time>2026-11-01T07:00:05Z</Time><HeartRateBpm><Value>121</Value></HeartRateBpm></Trackpoint>'
            '</Track></Lap></Activity></Activities></TrainingCenterDatabase>')

LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
                    for i in range(1, 10))
          + "]>")


def _hostile(kind: str, body: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()


def _cases(tmp_path: Path) -> dict[str, Path]:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENTS")
    files = {
        "laughs.gpx": _hostile("gpx", LAUGHS + GPX_OPEN.format(name="&lol9;")),
        "laughs.tcx": _hostile("tcx", LAUGHS + TCX_OPEN.format(name="&lol9;")),
        "external-file.gpx": _hostile("gpx", f'<!DOCTYPE gpx [<!ENTITY xxe SYSTEM "file://{secret}">]>'
                                             + GPX_OPEN.format(name="&xxe;")),
        "external-file.tcx": _hostile("tcx", f'<!DOCTYPE t [<!ENTITY xxe SYSTEM "file://{secret}">]>'
                                             + TCX_OPEN.format(name="&xxe;")),
        "external-dtd.gpx": _hostile("gpx", '<!DOCTYPE gpx SYSTEM "http://kindpace.invalid/evil.dtd">'
                                            + GPX_OPEN.format(name="run")),
        "parameter-entity.gpx": _hostile("gpx", '<!DOCTYPE gpx [<!ENTITY % p SYSTEM "http://kindpace.invalid/p">%p;]>'
                                                + GPX_OPEN.format(name="run")),
    }
    folder = tmp_path / "drop"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in files}


@pytest.fixture()
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a hostile file made kindpace open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_xml_with_a_dtd_is_refused_with_its_reason_and_the_batch_goes_on(tmp_path: Path, no_network, monkeypatch):
    monkeypatch.setenv("KINDPACE_WORKERS", "1")  # in this process, where the network is refused
    cases = _cases(tmp_path)
    store = Store(tmp_path / "store")
    report = run_batches(store, discover([tmp_path / "drop", SAMPLES / "easy-run.fit"]), "me")
    outcomes = {Path(f["path"]).name: f for f in report["files"]}
    for name in cases:
        assert outcomes[name]["outcome"] == "quarantined", (name, outcomes[name])
        assert "DTD" in outcomes[name]["reason"] and name.rsplit(".", 1)[1].upper() in outcomes[name]["reason"]
    assert outcomes["easy-run.fit"]["outcome"] == "imported"
    # nothing of the file the entity named reached the store
    for path in store.root.rglob("*.parquet"):
        assert b"TOP-SECRET" not in path.read_bytes(), path
    tally(hostile_refused=len(cases))


@pytest.mark.parametrize("suffix", ["gpx", "tcx"])
def test_a_dtd_after_a_byte_order_mark_comments_and_processing_instructions_is_found(suffix: str):
    body = (GPX_OPEN if suffix == "gpx" else TCX_OPEN).format(name="&lol9;")
    for prolog in ('\ufeff<?xml version="1.0"?>', '<?xml version="1.0"?>\n<!-- a comment <!DOCTYPE -->\n<?pi x?>\n  '):
        with pytest.raises(InputError, match="DTD"):
            decode_file((prolog + LAUGHS + body).encode(), f"x.{suffix}")
    utf16 = ('<?xml version="1.0" encoding="UTF-16"?>' + LAUGHS + body).encode("utf-16")
    with pytest.raises(InputError, match="DTD"):
        decode_file(utf16, f"x.{suffix}")
    tally(hostile_refused=3)


def test_deeply_nested_xml_is_refused_without_a_crash():
    depth = 200_000
    body = GPX_OPEN.replace("<name>{name}</name>", "<extensions>" + "<a>" * depth + "</a>" * depth + "</extensions>")
    with pytest.raises(InputError) as caught:
        decode_file(body.encode(), "deep.gpx")
    assert "deep" in caught.value.reason or "nest" in caught.value.reason
    tally(hostile_refused=1)


def test_a_fit_header_announcing_gigabytes_is_refused_without_allocating_them():
    data = bytearray((SAMPLES / "easy-run.fit").read_bytes())
    data[4:8] = struct.pack("<I", 0xFFFF_FF00)  # the header says ~4 GB of messages follow
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(InputError):
        decode_file(bytes(data), "huge.fit")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KB: no gigabyte buffer
    tally(hostile_refused=1)
