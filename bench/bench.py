"""kindpace benchmarks, run on demand (never in the tests): `python bench/bench.py [--files N] [--json OUT]`.

Measured side by side in one run on the corpus's FIT files (../shared/corpus or KINDPACE_CORPUS):

- decode: MB/s of kindpace's vectorized decoder (framing, CRC and every message decoded into columns;
  median of 3 runs), of the connector as the import uses it (fitvec with named values, fitparse for
  damaged files and files with developer fields), and of fitparse, fitdecode and the Garmin FIT SDK
  (one run each: they are slow), with the ratio of kindpace's to each;
- import: files/s and MB/s of the import stages (parse, normalize, dedupe, write; no Prefect, no
  verdicts) into a fresh store, with the fitvec decoder and with fitparse, and the ratio; peak memory.

Prints a table and writes the numbers as JSON. The issue's other measures (a 10,000-file no-op re-import,
reading 1,000 activities back, the verdict stage) are not here yet.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def corpus_files(limit: int | None) -> list[Path]:
    import csv

    root = Path(os.environ.get("KINDPACE_CORPUS", ROOT.parent / "shared" / "corpus")).resolve()
    rows = list(csv.DictReader(open(root / "MANIFEST.csv", encoding="utf-8")))
    files = [root / Path(r["file"]).relative_to("shared/corpus") for r in rows if r["file"].lower().endswith(".fit")]
    return files[:limit] if limit else files


def _fitvec_columns(data: bytes) -> None:
    from connectors import fitvec

    framing = fitvec.frame(data)
    fitvec.decode_groups(data, framing)


def _connector(data: bytes) -> None:
    from connectors.fit import decode_fit

    try:
        decode_fit(data, "bench.fit")
    except Exception:  # noqa: BLE001 - damaged files count as read
        pass


def _fitparse(data: bytes) -> None:
    import fitparse

    try:
        for _ in fitparse.FitFile(io.BytesIO(data), check_crc=True).get_messages():
            pass
    except Exception:  # noqa: BLE001
        pass


def _fitdecode(data: bytes) -> None:
    import fitdecode

    try:
        with warnings.catch_warnings(), fitdecode.FitReader(io.BytesIO(data),
                                                             error_handling=fitdecode.ErrorHandling.WARN) as r:
            warnings.simplefilter("ignore")
            for _ in r:
                pass
    except Exception:  # noqa: BLE001
        pass


def _sdk(data: bytes) -> None:
    from garmin_fit_sdk import Decoder, Stream

    try:
        Decoder(Stream.from_byte_array(bytearray(data))).read()
    except Exception:  # noqa: BLE001
        pass


def throughput(fn: Any, datas: list[bytes], runs: int) -> float:
    total = sum(map(len, datas)) / 1e6
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for data in datas:
            try:
                fn(data)
            except Exception:  # noqa: BLE001 - a file the decoder refuses still counts as read
                pass
        times.append(time.perf_counter() - start)
    return total / statistics.median(times)


def import_rate(files: list[Path], decoder: str) -> dict[str, float]:
    from pipeline.importer import run_batches
    from pipeline.store import Store

    os.environ["KINDPACE_FIT_DECODER"] = decoder
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        report = run_batches(Store(Path(tmp) / "store"), [str(f) for f in files], "me")
        seconds = time.perf_counter() - start
    mb = sum(f.stat().st_size for f in files) / 1e6
    return {"seconds": seconds, "files_per_s": len(files) / seconds, "mb_per_s": mb / seconds,
            "imported": report["counts"]["imported"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, help="only the first N FIT files of the corpus")
    parser.add_argument("--json", default="bench/results.json", help="where to write the numbers")
    args = parser.parse_args()
    files = corpus_files(args.files)
    datas = [f.read_bytes() for f in files]
    mb = sum(map(len, datas)) / 1e6
    print(f"{len(files)} FIT files, {mb:.1f} MB, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    decode = {
        "kindpace fitvec (columns)": throughput(_fitvec_columns, datas, 3),
        "kindpace connector": throughput(_connector, datas, 1),
        "fitparse": throughput(_fitparse, datas, 1),
        "fitdecode": throughput(_fitdecode, datas, 1),
        "garmin fit sdk": throughput(_sdk, datas, 1),
    }
    ours = decode["kindpace fitvec (columns)"]
    print(f"\n{'decode':<28}{'MB/s':>10}{'kindpace x':>12}")
    for name, rate in decode.items():
        print(f"{name:<28}{rate:>10.2f}{ours / rate:>12.1f}")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    imports = {decoder: import_rate(files, decoder) for decoder in ("fitvec", "fitparse")}
    peak_mb = max(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024
    print(f"\n{'import (no Prefect)':<28}{'files/s':>10}{'MB/s':>10}{'seconds':>10}")
    for decoder, r in imports.items():
        print(f"{decoder:<28}{r['files_per_s']:>10.1f}{r['mb_per_s']:>10.2f}{r['seconds']:>10.1f}")
    ratio = imports["fitvec"]["mb_per_s"] / imports["fitparse"]["mb_per_s"]
    print(f"import with fitvec: {ratio:.1f}x fitparse; peak memory of this process {peak_mb:.0f} MB")
    out = {"files": len(files), "mb": mb, "cores": os.cpu_count(), "decode_mb_per_s": decode,
           "decode_ratio": {k: ours / v for k, v in decode.items()}, "import": imports, "import_ratio": ratio,
           "peak_rss_mb": peak_mb}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
