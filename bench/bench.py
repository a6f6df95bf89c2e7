"""kindpace benchmarks, run on demand (never in the tests): `make bench`, or `python bench/bench.py`.

Measured side by side in one run, on this machine (the number of cores is printed with the results):

1. decode, on the corpus's FIT files (../shared/corpus or KINDPACE_CORPUS): MB/s of kindpace's
   vectorized decoder (framing, file CRC checked, the messages and fields the pipeline reads decoded
   into named, scaled columns; median of 3 runs), of the same with every field of every message, of
   the FIT connector as the import uses it (fitvec, fitparse for damaged files), and of fitparse,
   fitdecode and the Garmin FIT SDK (one run each: they are slow), with the ratio of kindpace's to
   each; fitfast (Rust, columns of records; median of 3) on the files it decodes, against kindpace on
   those same files.
2. import, end to end: `kindpace import` (Prefect's local mode, decode, normalize, dedupe, write, the
   verdicts) of a generated history into a fresh store, a large and a tiny one, so the fixed start-up
   drops out of (large - tiny) files / (large - tiny) seconds, the median of --repeats; with fitvec and
   with `--decoder fitparse` (a smaller large one: it is slow); peak memory of the import process and its
   children (Prefect's temporary server aside). Two histories (bench/history.py): the sample runs
   re-timed a day apart (short runs encoded with few fields, 50 KB on average), and the corpus's real
   running recordings re-timed the same way (39 files from a dozen devices, 177 KB on average, as a
   runner's years of files are). Then the whole corpus, every format, imported once.
3. no-op re-import: `kindpace import` of a folder of NOOP files all already in the ledger, timed inside
   the process (after start-up) through the same functions the flow runs.
4. read back: 1,000 activities' records from the store, with pyarrow.dataset and with DuckDB.
5. read-only commands on the large store: `activities`, `runs`, `status`, `profile show`, wall time.

Prints a table and writes every number as JSON (bench/results.json).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KINDPACE = str(Path(sys.executable).with_name("kindpace"))
CONFIG = str(ROOT / "samples" / "kindpace.toml")


def corpus_root() -> Path:
    return Path(os.environ.get("KINDPACE_CORPUS", ROOT.parent / "shared" / "corpus")).resolve()


def corpus_files(limit: int | None) -> list[Path]:
    root = corpus_root()
    rows = list(csv.DictReader(open(root / "MANIFEST.csv", encoding="utf-8")))
    files = [root / Path(r["file"]).relative_to("shared/corpus") for r in rows if r["file"].lower().endswith(".fit")]
    return files[:limit] if limit else files


# --- 1. decode ------------------------------------------------------------------------------------------


def _fitvec_pipeline(data: bytes) -> None:
    from connectors import fitvec
    from connectors.fit import _WANTED, FIELDS_USED

    fitvec.decode(data, set(_WANTED), FIELDS_USED)


def _fitvec_all(data: bytes) -> None:
    from connectors import fitvec

    fitvec.decode(data)


def _connector(data: bytes) -> None:
    from connectors.fit import decode_fit

    decode_fit(data, "bench.fit")


def _fitparse(data: bytes) -> None:
    import fitparse

    for _ in fitparse.FitFile(io.BytesIO(data), check_crc=True).get_messages():
        pass


def _fitdecode(data: bytes) -> None:
    import fitdecode

    with warnings.catch_warnings(), fitdecode.FitReader(io.BytesIO(data),
                                                         error_handling=fitdecode.ErrorHandling.WARN) as r:
        warnings.simplefilter("ignore")
        for _ in r:
            pass


def _sdk(data: bytes) -> None:
    from garmin_fit_sdk import Decoder, Stream

    Decoder(Stream.from_byte_array(bytearray(data))).read()


def _fitfast(data: bytes) -> None:
    import fitfast

    fitfast.records(data)


def throughput(fn: Any, datas: list[bytes], runs: int) -> float:
    """MB/s over all the files (a file a decoder refuses still counts as read), median of `runs`."""
    total = sum(map(len, datas)) / 1e6
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for data in datas:
            try:
                fn(data)
            except BaseException as exc:  # noqa: BLE001 - Rust wheels raise PanicException (a BaseException)
                if isinstance(exc, KeyboardInterrupt):
                    raise
        times.append(time.perf_counter() - start)
    return total / statistics.median(times)


def decode_section(datas: list[bytes]) -> dict[str, Any]:
    rates = {
        "kindpace fitvec (pipeline fields)": throughput(_fitvec_pipeline, datas, 3),
        "kindpace fitvec (every field)": throughput(_fitvec_all, datas, 3),
        "kindpace FIT connector": throughput(_connector, datas, 1),
        "fitparse": throughput(_fitparse, datas, 1),
        "fitdecode": throughput(_fitdecode, datas, 1),
        "garmin fit sdk": throughput(_sdk, datas, 1),
    }
    ours = rates["kindpace fitvec (pipeline fields)"]
    out: dict[str, Any] = {"mb_per_s": rates, "ratio": {k: ours / v for k, v in rates.items()}}
    try:
        import fitfast

        decodable = [d for d in datas if _decodes(fitfast.records, d)]
        fast, mine = throughput(_fitfast, decodable, 3), throughput(_fitvec_pipeline, decodable, 3)
        out["fitfast"] = {"files": len(decodable), "mb": sum(map(len, decodable)) / 1e6, "fitfast_mb_per_s": fast,
                          "kindpace_mb_per_s": mine, "ratio": mine / fast}
    except ImportError:
        out["fitfast"] = None
    return out


def _decodes(fn: Any, data: bytes) -> bool:
    try:
        fn(data)
        return True
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, KeyboardInterrupt):
            raise
        return False


# --- 2. import, end to end -----------------------------------------------------------------------------


class PeakMemory:
    """Peak memory of a process and its descendants, sampled every 50 ms from /proc (Linux): the sum of
    their proportional set sizes (PSS: a page shared by n processes counts 1/n in each, so the libraries
    every worker maps count once, as RSS would count them n times). The Prefect temporary server's
    processes are left out (they are not the import's)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kb, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, self._tree_kb())
            self._stop.wait(0.05)

    def _tree_kb(self) -> int:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                    parents[int(entry.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
                except (OSError, ValueError):
                    continue
        tree, frontier = {self.pid}, [self.pid]
        while frontier:
            kids = [p for p, pp in parents.items() if pp in frontier and p not in tree]
            tree.update(kids)
            frontier = kids
        total = 0
        for pid in tree:
            try:
                cmd = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
                if b"uvicorn" in cmd or (b"prefect" in cmd and b"server" in cmd):
                    continue
                rollup = (Path("/proc") / str(pid) / "smaps_rollup").read_text()
                total += int(next(line.split()[1] for line in rollup.splitlines() if line.startswith("Pss:")))
            except (OSError, StopIteration, ValueError):
                continue
        return total

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run `kindpace ARGS`: (seconds, peak MB of it and its children, the completed process)."""
    start = time.perf_counter()
    proc = subprocess.Popen([KINDPACE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    memory = PeakMemory(proc.pid)
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    if proc.returncode != 0:
        raise RuntimeError(f"kindpace {' '.join(args)} failed ({proc.returncode}): {err[-2000:]}")
    return seconds, memory.stop(), done


def import_section(files: list[Path], tiny: int, large: int, decoder: str, work: Path,
                   repeats: int) -> dict[str, Any]:
    """`kindpace import` of the first `tiny` and the first `large` files, each into a fresh store, `repeats`
    times: files/s is the median over the repeats of (large - tiny) files / (large - tiny) seconds."""
    runs: dict[int, list[dict[str, Any]]] = {tiny: [], large: []}
    for n in (tiny, large):
        folder = work / f"{decoder}-{n}"
        folder.mkdir(parents=True)
        for f in files[:n]:
            os.link(f, folder / f.name)
    for k in range(repeats):
        for n in (tiny, large):
            store = work / f"store-{decoder}-{n}-{k}"
            seconds, peak, done = cli("import", str(work / f"{decoder}-{n}"), "--store", str(store), "--config",
                                      CONFIG, "--json", "--decoder", decoder)
            report = json.loads(done.stdout)
            runs[n].append({"seconds": seconds, "peak_mb": peak, "imported": report["counts"]["imported"],
                            "store": str(store)})
            if k < repeats - 1:
                shutil.rmtree(store)  # the last repeat's stores stay, for the sections that read a store
    mb = {n: sum(f.stat().st_size for f in files[:n]) / 1e6 for n in (tiny, large)}
    rates = sorted((large - tiny) / (big["seconds"] - small["seconds"])
                   for big, small in zip(runs[large], runs[tiny], strict=True))
    rate = statistics.median(rates)
    return {"tiny": runs[tiny], "large": runs[large], "files": (tiny, large), "files_per_s": rate,
            "files_per_s_each": rates, "mb_per_s": rate * (mb[large] - mb[tiny]) / (large - tiny),
            "start_up_s": statistics.median(r["seconds"] for r in runs[tiny]) - tiny / rate,
            "peak_mb": max(r["peak_mb"] for r in runs[tiny] + runs[large]),
            "imported": runs[large][-1]["imported"], "store": runs[large][-1]["store"]}


def corpus_import_section(root: Path, work: Path) -> dict[str, Any]:
    """`kindpace import` of the whole corpus (every format, the damaged and odd files too), once."""
    listed = list(csv.DictReader(open(root / "MANIFEST.csv", encoding="utf-8")))
    paths = [root / Path(r["file"]).relative_to("shared/corpus") for r in listed]
    seconds, peak, done = cli("import", str(root), "--store", str(work / "store-corpus"), "--config", CONFIG,
                              "--json")
    report = json.loads(done.stdout)
    return {"files": len(paths), "mb": sum(p.stat().st_size for p in paths) / 1e6, "seconds": seconds,
            "peak_mb": peak, "counts": report["counts"]}


# --- 3. no-op re-import, 4. read back, 5. read-only commands -----------------------------------------


def noop_section(files: list[Path], work: Path) -> dict[str, Any]:
    from flows.import_flow import context
    from pipeline import sync, verdicts
    from pipeline.store import Store

    folder = work / "noop"
    folder.mkdir()
    for f in files:
        os.link(f, folder / f.name)
    store = Store(work / "store-noop")
    ctx = context(CONFIG, str(store.root), "me")
    start = time.perf_counter()
    first = sync.import_paths(store, [str(folder)], "me")  # no Prefect: the ledger and the verdicts matter here
    verdicts.judge(store, "me", ctx)
    setup_s = time.perf_counter() - start
    start = time.perf_counter()
    again = sync.import_paths(store, [str(folder)], "me")
    verdicts.judge(store, "me", ctx)  # as the flow does after every import
    seconds = time.perf_counter() - start
    assert again["counts"]["duplicate"] == len(files), again["counts"]
    return {"files": len(files), "ledger_rows": store.read("imports").num_rows, "seconds": seconds,
            "first_import_s": setup_s, "first_imported": first["counts"]["imported"]}


def read_section(store: Path, n: int) -> dict[str, Any]:
    import duckdb
    import pyarrow.dataset as ds

    from pipeline.store import Store

    paths = sorted(str(p) for p in Store(store).table_dir("records").glob("*.parquet"))[:n]
    start = time.perf_counter()
    table = ds.dataset(paths, format="parquet").to_table()
    arrow_s = time.perf_counter() - start
    start = time.perf_counter()
    rows = duckdb.connect().execute(f"select count(*), avg(heart_rate_bpm) from read_parquet({paths!r})").fetchall()
    duck_s = time.perf_counter() - start
    return {"activities": len(paths), "records": table.num_rows, "pyarrow_s": arrow_s, "duckdb_s": duck_s,
            "duckdb_rows": rows[0][0]}


def commands_section(store: Path) -> dict[str, float]:
    out = {}
    for command in (["activities"], ["runs"], ["status"], ["profile", "show"]):
        seconds, _, _ = cli(*command, "--store", str(store), "--config", CONFIG)
        out[" ".join(command)] = seconds
    return out


# --- 6. scale-out: a 20,000-file history here and on a 2-worker cluster; many athletes' nightly sync ----------


def scale_section(files: list[Path], work: Path, athletes: tuple[int, int]) -> dict[str, Any]:
    """`kindpace import` of the whole generated history on this machine, then with `--dask` on a local
    2-worker cluster (bench/cluster.py: a Prefect server, a scheduler and two one-thread workers, each its
    own process); then `kindpace sync --every-athlete` of a club whose every athlete has one new run in a
    folder of their own, for two club sizes, so the start-up drops out of the difference: the nightly
    cost of one athlete."""
    from bench.cluster import local_cluster, reads_per_worker

    folder = work / "scale-history"
    folder.mkdir()
    for f in files:
        os.link(f, folder / f.name)
    mb = sum(f.stat().st_size for f in files) / 1e6
    out: dict[str, Any] = {"files": len(files), "mb": mb}
    seconds, peak, done = cli("import", str(folder), "--store", str(work / "scale-local"), "--config", CONFIG,
                              "--json")
    out["local"] = {"seconds": seconds, "peak_mb": peak, "counts": json.loads(done.stdout)["counts"]}
    # the night of an athlete with that whole history: one new run, synced into the large store and into an
    # empty one; the difference is what the history costs a night
    from bench.history import history

    watch = work / "one-more"
    history(watch, 1, first=len(files))
    config = work / "one-more.toml"
    config.write_text(Path(CONFIG).read_text(encoding="utf-8") + f'\n[[source]]\nkind = "folder"\npath = "{watch}"\n',
                      encoding="utf-8")
    heavy, _, _ = cli("sync", "--store", str(work / "scale-local"), "--config", str(config))
    light, _, _ = cli("sync", "--store", str(work / "one-more-store"), "--config", str(config))
    out["history_night_s"] = {"with_history": heavy, "empty_store": light, "history_runs": len(files)}
    with local_cluster(work / "cluster", workers=2) as cluster:
        seconds, peak, done = cli("import", str(folder), "--store", str(work / "scale-dask"), "--config", CONFIG,
                                  "--json", "--dask", cluster["address"], env=cluster["env"])
        out["dask"] = {"seconds": seconds, "peak_mb_client": peak, "counts": json.loads(done.stdout)["counts"],
                       "reads_per_worker": reads_per_worker(cluster["address"]), "workers": 2}
    out["club"] = {}
    for n in athletes:
        club = work / f"club-{n}"
        config = club / "kindpace.toml"
        club.mkdir()
        text = Path(CONFIG).read_text(encoding="utf-8")
        for k in range(n):
            source = club / f"a{k:05d}"
            source.mkdir()
            os.link(files[k], source / files[k].name)
            text += f'\n[athletes.a{k:05d}]\n[[athletes.a{k:05d}.source]]\nkind = "folder"\npath = "{source}"\n'
        config.write_text(text, encoding="utf-8")
        seconds, peak, done = cli("sync", "--every-athlete", "--store", str(club / "store"), "--config", str(config),
                                  "--json")
        out["club"][n] = {"seconds": seconds, "peak_mb": peak, "counts": json.loads(done.stdout)["counts"]}
    small, large = athletes
    out["per_athlete_s"] = (out["club"][large]["seconds"] - out["club"][small]["seconds"]) / (large - small)
    night = out["history_night_s"]
    out["per_heavy_athlete_s"] = out["per_athlete_s"] + max(0.0, night["with_history"] - night["empty_store"])
    return out


# --- report ----------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, help="only the first N FIT files of the corpus (decode)")
    parser.add_argument("--history", type=int, default=2000, help="files in the large generated import")
    # at 80, the fitparse import's 60 files beyond the tiny one were 4-6 s of work, and its start-up varies by 1-2 s:
    # its rate on the sample runs was 10.8, 14.5 and 16.0 files/s in three repeats of one run
    parser.add_argument("--fitparse-history", type=int, default=200, help="the same with the fitparse decoder")
    parser.add_argument("--tiny", type=int, default=20, help="files in the tiny import (start-up)")
    parser.add_argument("--noop", type=int, default=10_000, help="files in the no-op re-import")
    parser.add_argument("--repeats", type=int, default=3, help="imports per measure (the median is kept)")
    parser.add_argument("--skip-decode", action="store_true", help="leave out the decode section (minutes)")
    parser.add_argument("--decode-only", action="store_true", help="only the decode section")
    parser.add_argument("--scale", type=int, default=20_000, help="files in the scale-out history (section 6)")
    parser.add_argument("--club", default="20,80", help="two club sizes for the nightly sync of many athletes")
    parser.add_argument("--scale-only", action="store_true", help="only section 6 (scale-out)")
    parser.add_argument("--skip-scale", action="store_true", help="leave out section 6 (about 10 minutes)")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results.json"), help="where to write the numbers")
    args = parser.parse_args()
    from bench.history import corpus_runs, history

    cores = os.cpu_count()
    out: dict[str, Any] = {"cores": cores, "python": sys.version.split()[0]}
    print(f"kindpace bench: {cores} cores, Python {out['python']}")
    if not args.skip_decode and not args.scale_only:
        files = corpus_files(args.files)
        datas = [f.read_bytes() for f in files]
        out["decode"] = dict(decode_section(datas), files=len(files), mb=sum(map(len, datas)) / 1e6)
        d = out["decode"]
        print(f"\n1. decode: {d['files']} corpus FIT files, {d['mb']:.1f} MB")
        print(f"{'':<36}{'MB/s':>9}{'kindpace x':>12}")
        for name, rate in d["mb_per_s"].items():
            print(f"{name:<36}{rate:>9.2f}{d['ratio'][name]:>12.1f}")
        if d["fitfast"]:
            f = d["fitfast"]
            print(f"{'fitfast 0.1.0 (on its ' + str(f['files']) + ' files)':<36}{f['fitfast_mb_per_s']:>9.2f}"
                  f"{f['ratio']:>12.2f}   (kindpace {f['kindpace_mb_per_s']:.1f} MB/s on the same files)")
    if args.decode_only:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"\nwritten to {args.json}")
        return 0
    if args.scale_only:
        return _scale(args, out)
    with tempfile.TemporaryDirectory(prefix="kindpace-bench-") as tmp:
        work = Path(tmp)
        corpus = corpus_root()
        generated = history(work / "history", max(args.history, args.noop))
        sets = {"samples": generated}
        if (corpus / "MANIFEST.csv").exists():
            sets["corpus runs"] = history(work / "corpus-history", args.history, corpus_runs(corpus))
        out["import"] = {}
        print(f"\n2. kindpace import of a generated history (large - tiny, start-up removed; median of {args.repeats})")
        print(f"{'history':<13}{'decoder':<10}{'files':>7}{'files/s':>10}{'MB/s':>8}{'start-up s':>12}{'peak MB':>9}"
              f"  files/s of each repeat")
        for name, files in sets.items():
            sizes = [f.stat().st_size for f in files[:args.history]]
            runs = {decoder: import_section(files, args.tiny, n, decoder, work / name.replace(" ", "-"), args.repeats)
                    for decoder, n in (("fitvec", args.history), ("fitparse", args.fitparse_history))}
            ratio = runs["fitvec"]["files_per_s"] / runs["fitparse"]["files_per_s"]
            out["import"][name] = dict(runs, ratio=ratio, mean_file_kb=statistics.mean(sizes) / 1e3)
            for decoder, r in runs.items():
                print(f"{name:<13}{decoder:<10}{r['imported']:>7}{r['files_per_s']:>10.1f}{r['mb_per_s']:>8.2f}"
                      f"{r['start_up_s']:>12.1f}{r['peak_mb']:>9.0f}  "
                      f"{', '.join(f'{x:.1f}' for x in r['files_per_s_each'])}")
            print(f"{name:<13}import with fitvec: {ratio:.1f}x the same pipeline with fitparse "
                  f"(files of {statistics.mean(sizes) / 1e3:.0f} KB on average)")
        if (corpus / "MANIFEST.csv").exists():
            c = out["corpus_import"] = corpus_import_section(corpus, work)
            print(f"\n   the whole corpus ({c['files']} files, {c['mb']:.1f} MB, every format): {c['seconds']:.1f} s "
                  f"with start-up, {c['files'] / c['seconds']:.1f} files/s, {c['mb'] / c['seconds']:.2f} MB/s, "
                  f"peak {c['peak_mb']:.0f} MB; {c['counts']}")
        out["noop"] = noop_section(generated[:args.noop], work)
        n = out["noop"]
        print(f"\n3. no-op re-import of {n['files']} files ({n['ledger_rows']} ledger rows): {n['seconds']:.2f} s "
              f"after start-up (the first import of them took {n['first_import_s']:.0f} s)")
        large_store = Path(out["import"]["samples"]["fitvec"]["store"])
        out["read"] = read_section(large_store, 1000)
        r = out["read"]
        print(f"\n4. read back {r['activities']} activities' records ({r['records']} rows): pyarrow.dataset "
              f"{r['pyarrow_s']:.2f} s, DuckDB {r['duckdb_s']:.2f} s")
        out["commands"] = commands_section(large_store)
        print(f"\n5. read-only commands on a store of {out['import']['samples']['fitvec']['imported']} activities "
              "(wall s)")
        for command, seconds in out["commands"].items():
            print(f"   kindpace {command:<14}{seconds:>6.2f}")
    if not args.skip_scale:
        return _scale(args, out)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.json}")
    return 0


def _scale(args: argparse.Namespace, out: dict[str, Any]) -> int:
    from bench.history import history

    club = tuple(int(n) for n in args.club.split(","))
    assert len(club) == 2 and club[0] < club[1], "--club takes two sizes, the smaller first"
    with tempfile.TemporaryDirectory(prefix="kindpace-bench-scale-") as tmp:
        work = Path(tmp)
        files = history(work / "history", args.scale)
        s = out["scale"] = scale_section(files, work, (club[0], club[1]))
    local, dask = s["local"], s["dask"]
    print(f"\n6. scale-out: {s['files']} generated files ({s['mb']:.0f} MB), with start-up")
    print(f"   this machine:           {local['seconds']:7.1f} s  {s['files'] / local['seconds']:6.1f} files/s  "
          f"peak {local['peak_mb']:.0f} MB")
    print(f"   2-worker Dask cluster:  {dask['seconds']:7.1f} s  {s['files'] / dask['seconds']:6.1f} files/s  "
          f"(reads per worker {dask['reads_per_worker']}); ratio {local['seconds'] / dask['seconds']:.2f}")
    for n, r in s["club"].items():
        print(f"   nightly sync of {n} athletes, one new run each: {r['seconds']:.1f} s ({r['counts']})")
    night = s["history_night_s"]
    print(f"   one new run for an athlete with {night['history_runs']} runs stored: {night['with_history']:.1f} s; "
          f"into an empty store: {night['empty_store']:.1f} s")
    per, heavy = s["per_athlete_s"], s["per_heavy_athlete_s"]
    shards = math.ceil(10_000 * heavy / 3600)
    s["estimate"] = {"runners": 10_000, "per_athlete_s": per, "per_heavy_athlete_s": heavy,
                     "sync_processes_for_one_hour": shards}
    print(f"   one athlete's night costs {per:.2f} s (the difference of the two clubs), {heavy:.2f} s with "
          f"{night['history_runs']} runs stored: 10,000 such runners take {10_000 * heavy / 3600:.1f} h in one "
          f"sync process, so {shards} process(es) (--shard k/{shards}) keep the night under one hour")
    target = Path(args.json)
    if args.scale_only and target.exists():  # the other sections' last numbers stay beside these
        out = {**json.loads(target.read_text(encoding="utf-8")), "scale": s}
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
