"""The `kindpace` command. Read-only commands never import Prefect (it costs seconds to start)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from datetime import date
from typing import Any

from kindpace import config as config_mod

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="store folder (default: KINDPACE_STORE, config, per-user data folder)")
    parser.add_argument("--config", help="config file (default: KINDPACE_CONFIG, per-user config folder)")
    parser.add_argument("--athlete", help="athlete id (default: KINDPACE_ATHLETE, config, 'me')")


def _wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                        help="wait this long for another writer to finish (default 600); then exit 3")
    parser.add_argument("--decoder", choices=("fitvec", "fitparse"), default=None,
                        help="FIT decoder: fitvec (vectorized, the default) or fitparse (the reference)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="processes that decode and normalize files (default: one per core; 1: none)")
    parser.add_argument("--dask", default=None, metavar="tcp://HOST:PORT",
                        help="read the batches on this existing Dask cluster (default: KINDPACE_DASK, "
                             "[engine] dask; none: this machine)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kindpace", description="Gentle-running data, kept kindly.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("import", help="import FIT and GPX files and folders (recursively)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true", help="print a machine-readable report on stdout")
    _wait(p)
    _common(p)
    p = sub.add_parser("sync", help="import what is new in every source (watch, folders, inbox)")
    p.add_argument("--json", action="store_true", help="the import report, plus what each source held")
    p.add_argument("--every-athlete", action="store_true",
                   help="every athlete of the config with sources, each into their own partition (a club's night)")
    p.add_argument("--shard", metavar="K/N", default=None,
                   help="with --every-athlete: only the K-th of N shares of the athletes (1/N to N/N; for N "
                        "machines or processes syncing one club at once)")
    _wait(p)
    _common(p)
    p = sub.add_parser("status", help="is the sync working? last sync, sources, waiting files, warnings")
    p.add_argument("--json", action="store_true")
    _common(p)
    p = sub.add_parser("serve", help="sync every night and import files dropped into the inbox, until stopped")
    _common(p)
    p = sub.add_parser("init", help="write a commented config (with an inbox) in the per-user config folder")
    _common(p)
    source = sub.add_parser("source", help="where files come from: add, list, remove")
    actions = source.add_subparsers(dest="action", required=True)
    p = actions.add_parser("add", help="a watch drive, a synced folder (read only), or an inbox")
    p.add_argument("kind", choices=("watch", "folder", "inbox"))
    p.add_argument("path", metavar="PATH")
    _common(p)
    p = actions.add_parser("list")
    p.add_argument("--json", action="store_true")
    _common(p)
    p = actions.add_parser("remove")
    p.add_argument("path", metavar="PATH")
    _common(p)
    p = sub.add_parser("activities", help="list the activities in the store")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    _common(p)
    p = sub.add_parser("reimport", help="rebuild every table from the originals the store keeps")
    p.add_argument("--json", action="store_true")
    _wait(p)
    _common(p)
    p = sub.add_parser("runs", help="every run with its verdict: gentle, borderline, harder, or why not assessed")
    p.add_argument("--json", action="store_true", help="a JSON list, one object per activity")
    _common(p)
    p = sub.add_parser("explain", help="the full explanation of one run's verdict")
    p.add_argument("activity", metavar="ACTIVITY", help="activity id, a unique prefix of it, or 'last'")
    p.add_argument("--png", metavar="FILE", help="also draw heart rate (or pace) against the ceiling")
    p.add_argument("--json", action="store_true")
    _common(p)
    p = sub.add_parser("feel", help="say how a run felt: could you talk? (your answer wins ties)")
    p.add_argument("activity", metavar="ACTIVITY", help="activity id, a unique prefix of it, or 'last'")
    p.add_argument("--talk", choices=("yes", "yes-but", "no"), help="could you talk comfortably?")
    p.add_argument("--rpe", type=float, help="how hard it felt, 0 (rest) to 10 (maximal): the CR10 scale")
    _common(p)
    p = sub.add_parser("intent", help="say what a run was meant to be: easy, or a planned harder run")
    p.add_argument("activity", metavar="ACTIVITY", help="activity id, a unique prefix of it, or 'last'")
    p.add_argument("intent", choices=("easy", "hard"))
    _common(p)
    p = sub.add_parser("activity", help="correct one activity: delete, set-sport, set-timezone, rename, unmerge")
    fixes = p.add_subparsers(dest="action", required=True)
    for name, help_text, value in (
            ("delete", "take it out of the store (its file is kept; it will not come back)", None),
            ("set-sport", "the sport it really was", "SPORT: running, trail_running, treadmill_running, "
                                                     "track_running, walking, hiking, cycling, ..."),
            ("set-timezone", "where it really was, after travel", "ZONE: like Europe/Berlin, or an offset +02:00"),
            ("rename", "give it a name", "NAME"),
            ("unmerge", "two runs taken for one: import its other files as runs of their own", None)):
        q = fixes.add_parser(name, help=help_text)
        q.add_argument("activity", metavar="ACTIVITY", help="activity id, a unique prefix of it, or 'last'")
        if value:
            q.add_argument("value", metavar=value.split(":")[0], help=value)
        _common(q)
    p = sub.add_parser("export", help="tables for other tools, with a datapackage.json that describes them")
    p.add_argument("--what", default="runs", help="activities, runs, weekly, monthly, records; several with commas")
    p.add_argument("--format", default="csv", choices=("csv", "json", "parquet"))
    p.add_argument("--since", type=date.fromisoformat, metavar="DATE", help="first local date, inclusive")
    p.add_argument("--until", type=date.fromisoformat, metavar="DATE", help="last local date, inclusive")
    privacy = p.add_mutually_exclusive_group()
    privacy.add_argument("--no-gps", action="store_true", help="leave every position out")
    privacy.add_argument("--trim-gps", type=float, metavar="METRES",
                         help="blank positions within METRES of where each run started and ended")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the files and datapackage.json")
    _common(p)
    p = sub.add_parser("report", help="the last weeks on one HTML page (charts, kind words; opens anywhere)")
    p.add_argument("--weeks", type=int, default=8, help="how many weeks (default 8)")
    p.add_argument("--today", type=date.fromisoformat, metavar="DATE", help="the local date the report ends at")
    p.add_argument("--out", required=True, metavar="FILE.html")
    _common(p)
    p = sub.add_parser("rest", help="mark a week as a rest week: it counts against nothing in the summaries")
    p.add_argument("--week", required=True, metavar="YYYY-Www", help="ISO week, like 2026-W48")
    p.add_argument("--undo", action="store_true", help="it was not a rest week after all")
    _common(p)
    p = sub.add_parser("recompute", help="re-evaluate every verdict; prints which changed and why")
    p.add_argument("--json", action="store_true")
    _common(p)
    _profile_parsers(sub)
    return parser


# Flags of `kindpace profile set`: one per profile field, named after it with dashes.
_PROFILE_FLAGS: dict[str, tuple[str, Any]] = {
    "age": ("age", int),
    "resting-hr": ("resting_hr", int),
    "max-hr": ("max_hr", int),
    "lthr": ("lthr", int),
    "vt1-hr": ("vt1_hr", int),
    "vt1-source": ("vt1_source", str),
    "easy-hr-ceiling": ("easy_hr_ceiling", int),
    "conversational-pace": ("conversational_pace", str),
    "race-distance": ("race_distance_m", float),
    "race-time": ("race_time", str),
    "race-date": ("race_date", date.fromisoformat),
    "method": ("method", str),
    "maf-adjustment": ("maf_adjustment", int),
    "hr-reliable": ("hr_reliable", lambda v: v.lower() in ("1", "true", "yes")),
    "tolerance-profile": ("tolerance_profile", str),
}


def _profile_parsers(sub: Any) -> None:
    profile = sub.add_parser("profile", help="the runner's profile and the ceiling it gives")
    actions = profile.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="the profile in force and its ceiling")
    show.add_argument("--on", type=date.fromisoformat, default=None, help="the version in force on DATE")
    show.add_argument("--json", action="store_true")
    _common(show)
    change = actions.add_parser("set", help="add a profile version (creates the config if there is none)")
    for flag, (_, kind) in _PROFILE_FLAGS.items():
        change.add_argument(f"--{flag}", type=kind, default=None)
    change.add_argument("--from", dest="effective", type=date.fromisoformat, default=None,
                        help="take effect from DATE (default today; the first version applies to earlier runs too)")
    _common(change)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # `kindpace runs | head`: the reader has had enough; stop quietly
        # (not SIGPIPE's default action, which killed the import when it wrote to a pool worker that had died)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the flush at exit fails no more
        return EXIT_FAILED


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        creating = (args.command, getattr(args, "action", None)) in (("profile", "set"), ("init", None),
                                                                     ("source", "add"))
        cfg = config_mod.load(args.config, args.store, args.athlete, must_exist=not creating)
    except config_mod.ConfigError as exc:
        print(f"kindpace: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "activities":
        return _activities(cfg, args.json)
    if args.command == "profile":
        return _profile(cfg, args)
    if args.command == "status":
        return _status(cfg, args.json)
    if args.command == "serve":
        from kindpace.serve import serve

        if not cfg.sources:
            print(f"kindpace: no sources in {cfg.path}: kindpace source add watch|folder|inbox PATH", file=sys.stderr)
            return EXIT_USAGE
        return serve(cfg)
    if args.command in ("init", "source"):
        try:
            return _init(cfg, args) if args.command == "init" else _source(cfg, args)
        except config_mod.ConfigError as exc:
            print(f"kindpace: {exc}", file=sys.stderr)
            return EXIT_USAGE
    if args.command == "export":
        return _export(cfg, args)
    if args.command == "report":
        from pathlib import Path

        from kindpace.report import write_report
        from pipeline.store import Store

        if not 1 <= args.weeks <= 104:
            print("kindpace: --weeks must be from 1 to 104", file=sys.stderr)
            return EXIT_USAGE
        out = write_report(Store(cfg.store, cfg.athlete), cfg, Path(args.out).expanduser(), args.weeks, args.today)
        print(f"Wrote {out} ({out.stat().st_size // 1024} KB): open it in any browser, no network needed.")
        return EXIT_OK
    if args.command in ("runs", "explain", "feel", "intent", "activity", "rest"):
        from kindpace import runs
        from pipeline.corrections import CorrectionError

        try:
            return int(getattr(runs, args.command)(cfg, args))
        except (runs.NoteError, config_mod.ConfigError, CorrectionError) as exc:
            print(f"kindpace: {exc}", file=sys.stderr)
            return EXIT_USAGE
    return _import(cfg, args)


def _export(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    from pathlib import Path

    from pipeline.export import ExportError, Privacy, export
    from pipeline.store import Store

    whats = [w.strip() for w in args.what.split(",") if w.strip()]
    try:
        written = export(Store(cfg.store, cfg.athlete), cfg.athlete, whats, args.format, Path(args.out).expanduser(),
                         since=args.since, until=args.until, privacy=Privacy(args.no_gps, args.trim_gps),
                         zone=cfg.zone())
    except ExportError as exc:
        print(f"kindpace: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for w in written:
        print(f"{w.rows:>8} rows  {w.path}")
    print(f"{'':>8}       {Path(args.out).expanduser() / 'datapackage.json'} describes them")
    return EXIT_OK


def status_warnings(cfg: config_mod.Config) -> Any:
    """The sync's health; runs the config's `on_warning` command once for each warning that is new."""
    import subprocess

    from pipeline.health import health
    from pipeline.store import Store

    store = Store(cfg.store, cfg.athlete)
    h = health(store, [(s.kind, s.path) for s in cfg.sources])
    told = set((store.note("warnings-told") or "").splitlines()) - {""}
    now = {f"{code}: {message}" for code, message in h.warnings}
    if cfg.on_warning:
        for warning in sorted(now - told):
            subprocess.run(cfg.on_warning, shell=True, check=False, timeout=60,
                           env={**os.environ, "KINDPACE_WARNING": warning})
    if now != told and store.files.isdir(store.private_dir()):
        store.set_note("warnings-told", "\n".join(sorted(now)))
    return h


def _status(cfg: config_mod.Config, as_json: bool) -> int:
    h = status_warnings(cfg)
    if as_json:
        print(json.dumps(h.as_dict()))
    else:
        print(f"Last successful sync: {h.last_sync:%Y-%m-%d %H:%M} UTC" if h.last_sync else "No sync yet.")
        for line in h.sources:
            print(f"  {line}")
        print(f"Files waiting to be read: {len(h.waiting)}; quarantined files in the ledger: {h.quarantined}")
        for path in h.waiting[:20]:
            print(f"  waiting: {path}")
        if len(h.waiting) > 20:
            print(f"  ... and {len(h.waiting) - 20} more (kindpace status --json lists them all)")
        for code, message in h.warnings:
            print(f"Warning ({code}): {message}")
        if not h.warnings:
            print("All well.")
    return EXIT_FAILED if h.warnings else EXIT_OK


def _init(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    inbox = config_mod.user_data_dir() / "inbox"
    config_mod.write_new_config(cfg.path, cfg.store, inbox, config_mod.machine_timezone())
    inbox.mkdir(parents=True, exist_ok=True)
    print(f"Wrote {cfg.path}\n  store: {cfg.store}\n  inbox: {inbox} (drop files here)\n"
          "Next: kindpace profile set --age ...; kindpace source add watch|folder PATH; kindpace sync")
    return EXIT_OK


def _source(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    from pathlib import Path

    if args.action == "add":
        path = Path(args.path).expanduser().resolve()
        config_mod.add_source(cfg.path, config_mod.Source(args.kind, path), cfg.athlete)
        reachable = "" if path.is_dir() else " (not reachable now: sync will say so until it is)"
        print(f"Added {args.kind} {path} to {cfg.path}{reachable}")
    elif args.action == "remove":
        gone = config_mod.remove_source(cfg.path, Path(args.path).expanduser().resolve(), cfg.athlete)
        print(f"Removed {gone.kind} {gone.path} from {cfg.path}")
    elif args.json:
        print(json.dumps([{"kind": s.kind, "path": str(s.path), "reachable": s.path.is_dir()} for s in cfg.sources]))
    else:
        for s in cfg.sources:
            print(f"{s.kind:<7}{s.path}{'' if s.path.is_dir() else '  (not reachable)'}")
        if not cfg.sources:
            print(f"No sources in {cfg.path}. Add one: kindpace source add watch|folder|inbox PATH")
    return EXIT_OK


def _import(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    from pipeline.importer import ImportStopped, InputPathError, discover
    from pipeline.store import Store, StoreError, StoreLocked

    if getattr(args, "wait", None) is not None:
        os.environ["KINDPACE_LOCK_WAIT_S"] = str(args.wait)
    if getattr(args, "decoder", None) is not None:
        os.environ["KINDPACE_FIT_DECODER"] = args.decoder
    if getattr(args, "workers", None) is not None:
        os.environ["KINDPACE_WORKERS"] = str(max(1, args.workers))

    try:
        # Bad paths and an unwritable store are said plainly before Prefect starts (it takes seconds).
        if args.command == "import":
            discover(args.paths)
        Store(cfg.store, cfg.athlete).ensure()
        cfg.settings()  # a bad [gentleness] table is said before Prefect starts
        from flows.import_flow import import_files, on_engine, recompute, reimport, sync, sync_every_athlete

        dask = getattr(args, "dask", None) or cfg.dask
        if dask and not config_mod.is_scheduler(dask):
            print(f"kindpace: --dask {dask}: give a scheduler address like tcp://HOST:8786", file=sys.stderr)
            return EXIT_USAGE
        if dask and not os.environ.get("PREFECT_API_URL"):
            print("kindpace: --dask needs a Prefect server that this machine and the Dask workers reach: set "
                  "PREFECT_API_URL here and on the workers (kindpace serve runs one)", file=sys.stderr)
            return EXIT_USAGE
        config_path = str(cfg.path) if cfg.path.exists() else None
        if args.command == "import":
            report = on_engine(import_files, dask)(list(args.paths), str(cfg.store), cfg.athlete, config_path,
                                                   dask=dask)
        elif args.command == "sync" and args.every_athlete:
            plan = _club(cfg, args)
            if plan is None:
                return EXIT_USAGE
            report = on_engine(sync_every_athlete, dask)(plan, str(cfg.store), config_path, dask=dask)
        elif args.command == "sync":
            if not cfg.sources:
                print(f"kindpace: no sources in {cfg.path}: kindpace source add watch|folder|inbox PATH",
                      file=sys.stderr)
                return EXIT_USAGE
            sources = [{"kind": s.kind, "path": str(s.path)} for s in cfg.sources]
            report = on_engine(sync, dask)(sources, str(cfg.store), cfg.athlete, config_path, dask=dask)
        elif args.command == "reimport":
            report = on_engine(reimport, dask)(str(cfg.store), cfg.athlete, config_path, dask=dask)
        else:
            report = recompute(str(cfg.store), cfg.athlete, config_path)
    except config_mod.ConfigError as exc:
        print(f"kindpace: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except InputPathError as exc:
        print(f"kindpace: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreLocked as exc:
        print(f"kindpace: {exc}; gave up waiting (--wait)", file=sys.stderr)
        return EXIT_LOCKED
    except ImportStopped as exc:  # the store failed part way: what was written, and what waits
        print(json.dumps(dict(exc.report, error=str(exc)), ensure_ascii=False, default=str) if args.json
              else _summary(exc.report, cfg))
        print(f"kindpace: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except StoreError as exc:
        print(f"kindpace: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(report, ensure_ascii=False, default=str))
    elif "athletes" in report:
        print(_club_summary(report, cfg))
    elif args.command == "recompute":
        from kindpace.runs import changes_text

        print(changes_text(report["changes"], everything=True))
    else:
        from kindpace.runs import changes_text

        print(_summary(report, cfg))
        for s in report.get("sources", []):
            held = f"{s['files']} files, {s['new']} new or changed" if s["reachable"] else "not reachable now"
            if s.get("waiting"):
                held += f", {s['waiting']} waiting" + (" (gone during the sync)" if s.get("lost") else "")
            print(f"  {s['kind']} {s['path']}: {held}")
        print("\n" + changes_text(report["verdicts"], everything=False))
    return EXIT_FAILED if report.get("failed") else EXIT_OK


def _club(cfg: config_mod.Config, args: argparse.Namespace) -> list[dict[str, Any]] | None:
    """The athletes `sync --every-athlete` takes (this shard's), each with their sources; None after saying
    what is wrong."""
    share, shares = 1, 1
    if args.shard:
        k, _, n = args.shard.partition("/")
        if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
            print(f"kindpace: --shard {args.shard}: give K/N with 1 <= K <= N, like 2/4", file=sys.stderr)
            return None
        share, shares = int(k), int(n)
    plan = config_mod.club(cfg, share, shares)
    if not plan:
        print(f"kindpace: no athlete in {cfg.path}{' (this shard)' if args.shard else ''} has a source: "
              "kindpace --athlete ID source add watch|folder|inbox PATH", file=sys.stderr)
        return None
    return plan


def _club_summary(report: dict[str, Any], cfg: config_mod.Config) -> str:
    lines = [f"Store: {cfg.store}", "", f"{'athlete':<24}" + "".join(f"{k:>13}" for k in report["counts"])]
    for athlete, r in report["athletes"].items():
        lines.append(f"{athlete:<24}" + "".join(f"{r['counts'].get(k, 0):>13}" for k in report["counts"])
                     + (f"   not synced: {r['error']}" if "error" in r else ""))
    lines.append(f"{'all':<24}" + "".join(f"{n:>13}" for n in report["counts"].values()))
    return "\n".join(lines)


def _summary(report: dict[str, Any], cfg: config_mod.Config) -> str:
    counts = report["counts"]
    lines = [f"Store: {cfg.store}", "", f"{'outcome':<14}{'files':>6}"]
    lines += [f"{name:<14}{n:>6}" for name, n in counts.items()]
    lines.append(f"{'total':<14}{sum(counts.values()):>6}")
    problems = [f for f in report["files"] if f["outcome"] in ("quarantined", "skipped")]
    if problems:
        lines += ["", "Files set aside (nothing is lost; the reasons say why):"]
        lines += [f"  {f['outcome']}: {f['path']}: {f['reason']}" for f in problems]
    waiting = [f for f in report["files"] if f["outcome"] == "waiting"]
    if waiting:
        lines += ["", "Files waiting (nothing of them is stored yet; the next run reads them again):"]
        lines += [f"  {f['path']}: {f['reason']}" for f in waiting]
    return "\n".join(lines)


def _profile(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    from pipeline.ceiling import ProfileError, profile_at, resolve_ceiling
    from pipeline.pace import resolve_pace_ceiling

    if args.action == "set":
        given = {field: getattr(args, flag.replace("-", "_")) for flag, (field, _) in _PROFILE_FLAGS.items()}
        given = {k: v for k, v in given.items() if v is not None}
        # A new version starts from the one in force on its date, so setting one field keeps the others.
        effective = args.effective or date.today()
        base = profile_at(cfg.profiles, effective)
        table = {k: v for k, v in vars(base).items() if k != "effective"} if base else {}
        if "conversational_pace" in given:
            table.pop("conversational_pace_s_per_km", None)
        if "race_time" in given:
            table.pop("race_time_s", None)
        table.update(given)
        if cfg.profiles:
            table["from"] = effective
        elif args.effective is not None:
            table["from"] = args.effective
        try:
            new = config_mod.profile_from_table(table)
        except (ProfileError, ValueError) as exc:
            print(f"kindpace: profile: {exc}", file=sys.stderr)
            return EXIT_USAGE
        config_mod.append_profile(cfg.path, new, cfg.section)
        print(f"Saved to {cfg.path}.")
        cfg = replace(cfg, profiles=(*cfg.profiles, new))
        args.on, args.json = effective, False
    on = args.on or date.today()
    version = profile_at(cfg.profiles, on)
    ceiling = resolve_ceiling(version)
    pace = version.conversational_pace_s_per_km if version else None
    report: dict[str, Any] = {
        "on": on.isoformat(),
        "profile": None if version is None else {
            k: (v.isoformat() if isinstance(v, date) else v) for k, v in vars(version).items()},
        "ceiling_bpm": None, "hard_line_bpm": None, "edge_bpm": None, "method": None, "confidence": None,
        "how": None,
        "conversational_pace_s_per_km": pace,
        "conversational_speed_m_s": None if pace is None else 1000.0 / pace,
    }
    if ceiling is not None:
        report.update(ceiling.as_dict())
    pace_ceiling = resolve_pace_ceiling(version, on)
    report.update({"pace_ceiling_s_per_km": None, "pace_hard_line_s_per_km": None, "pace_ceiling_speed_m_s": None,
                   "pace_hard_line_speed_m_s": None, "pace_method": None, "pace_confidence": None, "pace_how": None})
    if pace_ceiling is not None:
        report.update({
            "pace_ceiling_s_per_km": 1000.0 / pace_ceiling.ceiling_m_s,
            "pace_hard_line_s_per_km": 1000.0 / pace_ceiling.hard_line_m_s,
            "pace_ceiling_speed_m_s": pace_ceiling.ceiling_m_s,
            "pace_hard_line_speed_m_s": pace_ceiling.hard_line_m_s,
            "pace_method": pace_ceiling.method,
            "pace_confidence": pace_ceiling.confidence,
            "pace_how": pace_ceiling.how,
        })
    if args.json:
        print(json.dumps(report))
        return EXIT_OK
    if version is None:
        print(f"No profile yet in {cfg.path}. Set one, for example: kindpace profile set --age 40 --resting-hr 55")
        return EXIT_OK
    print(f"Profile in force on {on:%Y-%m-%d}:")
    print(config_mod.profile_toml(version).split("\n", 1)[1].rstrip() or "  (empty)")
    if ceiling is None:
        reason = ("heart rate is set as not reliable, so pace and how the run felt will judge"
                  if not version.hr_reliable else "the profile holds nothing a heart-rate ceiling can come from")
        print(f"No heart-rate ceiling: {reason}.")
    else:
        print(f"Easy ceiling {ceiling.ceiling_bpm:.0f} bpm, harder from {ceiling.hard_line_bpm:.0f} bpm "
              f"({ceiling.confidence} confidence): {ceiling.how}.")
    if pace_ceiling is not None:
        print(f"Easy pace up to {config_mod.format_pace(1000.0 / pace_ceiling.ceiling_m_s)}, harder from "
              f"{config_mod.format_pace(1000.0 / pace_ceiling.hard_line_m_s)} (grade-adjusted, "
              f"{pace_ceiling.confidence} confidence): {pace_ceiling.how}.")
    return EXIT_OK


def _activities(cfg: config_mod.Config, as_json: bool) -> int:
    from pipeline.store import Store

    table = Store(cfg.store, cfg.athlete).read("activities")
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
