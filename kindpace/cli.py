"""The `kindpace` command. Read-only commands never import Prefect (it costs seconds to start)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kindpace import config as config_mod

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="store folder (default: KINDPACE_STORE, config, per-user data folder)")
    parser.add_argument("--config", help="config file (default: KINDPACE_CONFIG, per-user config folder)")
    parser.add_argument("--athlete", help="athlete id (default: KINDPACE_ATHLETE, config, 'me')")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kindpace", description="Gentle-running data, kept kindly.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("import", help="import FIT and GPX files and folders (recursively)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true", help="print a machine-readable report on stdout")
    _common(p)
    p = sub.add_parser("activities", help="list the activities in the store")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    _common(p)
    p = sub.add_parser("reimport", help="rebuild every table from the originals the store keeps")
    p.add_argument("--json", action="store_true")
    _common(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = config_mod.load(args.config, args.store, args.athlete)
    except config_mod.ConfigError as exc:
        print(f"kindpace: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "activities":
        return _activities(cfg, args.json)
    return _import(cfg, args)


def _import(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    from pipeline.importer import InputPathError, discover
    from pipeline.store import Store, StoreError

    try:
        # Bad paths and an unwritable store are said plainly before Prefect starts (it takes seconds).
        if args.command == "import":
            discover(args.paths)
        Store(cfg.store).ensure()
        from flows.import_flow import import_files, reimport

        if args.command == "import":
            report = import_files(list(args.paths), str(cfg.store), cfg.athlete)
        else:
            report = reimport(str(cfg.store), cfg.athlete)
    except InputPathError as exc:
        print(f"kindpace: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"kindpace: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(_summary(report, cfg))
    return EXIT_OK


def _summary(report: dict[str, Any], cfg: config_mod.Config) -> str:
    counts = report["counts"]
    lines = [f"Store: {cfg.store}", "", f"{'outcome':<14}{'files':>6}"]
    lines += [f"{name:<14}{n:>6}" for name, n in counts.items()]
    lines.append(f"{'total':<14}{sum(counts.values()):>6}")
    problems = [f for f in report["files"] if f["outcome"] in ("quarantined", "skipped")]
    if problems:
        lines += ["", "Files set aside (nothing is lost; the reasons say why):"]
        lines += [f"  {f['outcome']}: {f['path']}: {f['reason']}" for f in problems]
    return "\n".join(lines)


def _activities(cfg: config_mod.Config, as_json: bool) -> int:
    from pipeline.store import Store

    table = Store(cfg.store).read("activities")
    rows = [r for r in table.to_pylist() if r["athlete_id"] == cfg.athlete]
    if as_json:
        for r in rows:
            print(json.dumps(r, default=str, ensure_ascii=False))
        return EXIT_OK
    if not rows:
        print(f"No activities in {cfg.store} yet. Import some with: kindpace import PATH")
        return EXIT_OK
    header = f"{'local start':<17} {'sport':<18} {'km':>6} {'time':>8} {'avg HR':>6}  {'feel':>4} {'rpe':>3}  source"
    print(header)
    for r in rows:
        local = r["start_time_local"] or r["start_time"]
        km = "" if r["distance_m"] is None else f"{r['distance_m'] / 1000:.2f}"
        secs = int(r["timer_time_s"] or 0)
        hr = "" if r["avg_heart_rate_bpm"] is None else f"{r['avg_heart_rate_bpm']:.0f}"
        feel = "" if r["workout_feel"] is None else str(r["workout_feel"])
        rpe = "" if r["workout_rpe"] is None else str(r["workout_rpe"] // 10)
        name = r["source_path"].rsplit("/", 1)[-1]
        clock = f"{secs // 3600:>2}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
        print(f"{local:%Y-%m-%d %H:%M} {r['sport']:<18} {km:>6} {clock} {hr:>6}  {feel:>4} {rpe:>3}  {name}")
    print(f"\n{len(rows)} activities in {cfg.store}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
