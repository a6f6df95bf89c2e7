"""One incremental pass over the runner's sources: new and changed files only, then the inbox tidied.

A watch (mounted as a drive) and a synced folder are only ever read. A file is read again only when
its path is new or its size or modification time changed since the last sync (`sync_seen`); the
import's own ledger then skips bytes it already holds (content hash), so a touched but unchanged file
costs a hash, never a decode. Inbox files, once handled, move to `processed/YYYY-MM/` (imported,
duplicates, not activities, and formats kindpace does not read, with a `.reason.txt` beside those) or
to `quarantine/` with a `NAME.reason.txt`; nothing is deleted, and neither folder is read again. A
source that cannot be reached (a watch not plugged in) is reported, not an error.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.importer import OUTCOMES, ImportStopped, Stages, discover, local_offset, now_utc, run_batches
from pipeline.store import Store, StoreError
from pipeline.verdicts import Early
from schemas.tables import SYNC_RUNS, SYNC_SEEN

KINDS = ("watch", "folder", "inbox")
INBOX_DONE = ("processed", "quarantine")
# Partial downloads and sync-tool scratch files: not yet (or never) a watch file.
_SCRATCH_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", ".syncthing", ".reason.txt")


@dataclass(frozen=True)
class SourceSpec:
    kind: str
    path: str


def _is_scratch(name: str) -> bool:
    return name.startswith((".", "~")) or name.lower().endswith(_SCRATCH_SUFFIXES)


def _walk(root: Path, skip_top: tuple[str, ...] = ()) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (here == root and d in skip_top))
        found.extend(here / f for f in sorted(files) if not _is_scratch(f))
    return found


def activity_folders(watch: Path) -> list[Path]:
    """A Garmin drive's GARMIN/Activity folder (any letter case), else the whole drive."""
    for garmin in (p for p in watch.iterdir() if p.is_dir() and p.name.lower() == "garmin"):
        folders = [p for p in garmin.iterdir() if p.is_dir() and p.name.lower() == "activity"]
        if folders:
            return folders
    return [watch]


def source_files(source: SourceSpec) -> list[Path]:
    root = Path(source.path).expanduser()
    if source.kind == "watch":
        return [f for folder in activity_folders(root) for f in _walk(folder)]
    if source.kind == "inbox":
        return _walk(root, skip_top=INBOX_DONE)
    return _walk(root)


@dataclass
class SyncReport:
    report: dict[str, Any]  # the import report (counts, files), as `kindpace import --json`
    sources: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**self.report, "sources": self.sources, "missing_sources": self.missing}


def sync(store: Store, sources: list[SourceSpec], athlete_id: str, stages: Stages = Stages(),
         now: datetime | None = None, only: set[str] | None = None, early: Early | None = None) -> SyncReport:
    """Import what is new in every source, record what was seen, tidy the inbox. With `only`, just those
    files (the inbox watcher's, once they have finished arriving); `early` as for run_batches."""
    started = now or now_utc()
    store.ensure()
    seen = {r["path"]: r for r in store.read("sync_seen").to_pylist()}
    items: list[str] = []
    stats: dict[str, tuple[SourceSpec, os.stat_result]] = {}
    described: list[dict[str, Any]] = []
    missing: list[str] = []
    updates: dict[str, dict[str, Any] | None] = {}
    for source in sources:
        root = Path(source.path).expanduser()
        if not root.is_dir():
            missing.append(f"{source.kind} {source.path}")
            described.append({"kind": source.kind, "path": source.path, "reachable": False, "files": 0, "new": 0})
            continue
        files, new = source_files(source), 0
        if only is not None:
            files = [f for f in files if str(f) in only]
        else:  # a file that waited and is gone from a source that is here waits no longer
            listed = {str(f) for f in files}
            updates.update((p, None) for p, r in seen.items() if r["source"] == source.path
                           and r["outcome"] == "waiting" and p not in listed)
        for path in files:
            try:
                st = path.stat()
            except OSError:
                continue  # gone between listing and reading: the next sync sees what is there then
            before = seen.get(str(path))
            if (source.kind != "inbox" and before is not None and before["outcome"] != "waiting"
                    and before["size_bytes"] == st.st_size and before["mtime"] == _mtime(st)):
                continue
            items.append(str(path))
            stats[str(path)] = (source, st)
            new += 1
        described.append({"kind": source.kind, "path": source.path, "reachable": True, "files": len(files),
                          "new": new})
    report, stopped = _run(store, items, athlete_id, stages, early)
    offset = local_offset(started)
    for key, entries in _by_file(report["files"]).items():
        source, st = stats[key]
        if _waits(entries):  # recorded as waiting, not moved: the next sync reads it again
            updates[key] = _seen_row(source.path, source.kind, key, st, WAITING, started, offset)
            continue
        updates[key] = _seen_row(source.path, source.kind, key, st, entries[0], started, offset)
        if source.kind == "inbox":
            moved = tidy_inbox(Path(source.path).expanduser(), Path(key), entries, started)
            for entry in entries:
                entry["moved_to"] = str(moved)
            updates[key] = None  # it is not there any more
    waiting = [f for f in report["files"] if f["outcome"] == "waiting"]
    for d in described:
        if d["reachable"]:
            d["waiting"] = sum(1 for f in waiting if f["path"].startswith(str(Path(d["path"]).expanduser()) + os.sep))
            d["lost"] = not Path(d["path"]).expanduser().is_dir()  # unplugged during the sync
    result = SyncReport(report, described, missing)
    error = str(stopped) if stopped is not None else (
        f"{len(waiting)} file(s) could not be read and wait for the next sync: {waiting[0]['reason']}" if waiting
        else None)
    try:
        with store.writer_lock():
            _remember(store, updates)
            runs = store.read("sync_runs").to_pylist()
            runs.append({
                "started_at": started, "finished_at": datetime.now(UTC).replace(microsecond=0),
                "utc_offset_s": offset, "ok": error is None, "sources": [_described(d) for d in described],
                "missing_sources": missing, "files_new": len(items), "counts": json.dumps(report["counts"]),
                "error": error,
            })
            store.replace_table("sync_runs", pa.Table.from_pylist(runs, schema=SYNC_RUNS))
    except StoreError:
        if stopped is None:
            raise
    if stopped is not None:  # said after what could be recorded was
        stopped.report = result.as_dict()
        raise stopped
    return result


def _run(store: Store, items: list[str], athlete_id: str, stages: Stages, early: Early | None
         ) -> tuple[dict[str, Any], ImportStopped | None]:
    """The import of `items`, and the store failure that stopped it part way, if one did."""
    if not items:
        return {"counts": dict.fromkeys(OUTCOMES, 0), "files": []}, None
    try:
        return run_batches(store, items, athlete_id, stages=stages, early=early), None
    except ImportStopped as stopped:
        return stopped.report, stopped


WAITING = {"sha256": "", "outcome": "waiting"}  # a sync_seen row's content for a file that waits


def _waits(entries: list[dict[str, Any]]) -> bool:
    return any(e["outcome"] == "waiting" for e in entries)


def _described(d: dict[str, Any]) -> str:
    """A source as sync_runs keeps it: `kind path: N files, M new[, K waiting][ (gone during the sync)]`."""
    if not d["reachable"]:
        return f"{d['kind']} {d['path']}: unreachable"
    waiting = f", {d['waiting']} waiting" if d["waiting"] else ""
    return f"{d['kind']} {d['path']}: {d['files']} files, {d['new']} new{waiting}" + (
        " (gone during the sync)" if d["lost"] else "")


def _by_file(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Report entries by the file they came from: an archive's members (`ARCHIVE!member`) under the archive."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        grouped.setdefault(entry["path"].split("!", 1)[0], []).append(entry)
    return grouped


def _seen_row(source: str, kind: str, path: str, st: os.stat_result, entry: dict[str, Any], when: datetime,
              offset: int) -> dict[str, Any]:
    """A `sync_seen` row: the file as it was read (an archive's first member stands for its content)."""
    return {"source": source, "source_kind": kind, "path": path, "size_bytes": st.st_size, "mtime": _mtime(st),
            "sha256": entry["sha256"], "outcome": entry["outcome"], "seen_at": when, "utc_offset_s": offset}


def _remember(store: Store, updates: dict[str, dict[str, Any] | None]) -> None:
    """Merge what was read (None: a path that is gone) into `sync_seen` as it is now, under the writer
    lock: another sync or import may have written since it was read."""
    if not updates:
        return
    current = {r["path"]: r for r in store.read("sync_seen").to_pylist()}
    # the outcome the ledger holds for the content (a file read again after a run was killed between its
    # import and this table is "imported", as it was, not "duplicate" of itself)
    ledger = {r["sha256"]: r["outcome"] for r in store.read("imports").to_pylist()}
    for seen_path, row in updates.items():
        if row is None:
            current.pop(seen_path, None)
        elif row["outcome"] == "waiting":
            current[seen_path] = row
        else:
            current[seen_path] = dict(row, outcome=ledger.get(row["sha256"], row["outcome"]))
    rows = sorted(current.values(), key=lambda r: r["path"])
    store.replace_table("sync_seen", pa.Table.from_pylist(rows, schema=SYNC_SEEN))


UNCHANGED = "unchanged since it was last read (same path, size and modification time)"


def import_paths(store: Store, paths: list[str], athlete_id: str, stages: Stages = Stages(),
                 now: datetime | None = None, early: Early | None = None) -> dict[str, Any]:
    """`kindpace import`: every file under `paths`. A file read before at the same path, size and
    modification time whose content the store holds is not read again (not even hashed): it is
    reported as a duplicate, so re-importing a folder of ten years costs a directory walk. `early` as
    for run_batches."""
    started = now or now_utc()
    files = discover(paths)
    store.ensure()
    seen = {r["path"]: r for r in store.read("sync_seen").to_pylist()}
    held = {r["sha256"]: r for r in store.read("imports").to_pylist() if r["outcome"] in ("imported", "duplicate")}
    items: list[str] = []
    stats: dict[str, tuple[str, os.stat_result]] = {}
    unchanged: list[dict[str, Any]] = []
    for path in files:
        key = os.path.abspath(path)
        try:
            st = os.stat(path)
        except OSError:
            items.append(path)  # the import reports why it cannot be read
            continue
        before = seen.get(key)
        if (before is not None and before["size_bytes"] == st.st_size and before["mtime"] == _mtime(st)
                and before["sha256"] in held):
            unchanged.append({"path": path, "sha256": before["sha256"], "outcome": "duplicate", "reason": UNCHANGED,
                              "warnings": [], "activity_ids": list(held[before["sha256"]]["activity_ids"] or [])})
            continue
        items.append(path)
        stats[path] = (key, st)
    report, stopped = _run(store, items, athlete_id, stages, early)
    offset = local_offset(started)
    updates: dict[str, dict[str, Any] | None] = {}
    for path, entries in _by_file(report["files"]).items():
        if path in stats and entries[0]["sha256"] and not _waits(entries):
            key, st = stats[path]
            updates[key] = _seen_row("kindpace import", "import", key, st, entries[0], started, offset)
    try:
        if updates:
            with store.writer_lock():
                _remember(store, updates)
    except StoreError:
        if stopped is None:
            raise
    report["files"] = unchanged + report["files"]
    report["counts"]["duplicate"] += len(unchanged)
    if stopped is not None:
        stopped.report = report
        raise stopped
    return report


def tidy_inbox(inbox: Path, path: Path, entries: list[dict[str, Any]], when: datetime) -> Path:
    """Move a handled inbox file to processed/YYYY-MM/ or quarantine/, never over another file; an
    archive goes to processed/ with the members that were set aside listed beside it."""
    broken = len(entries) == 1 and entries[0]["path"] == str(path) and entries[0]["outcome"] == "quarantined"
    target_dir = inbox / "quarantine" if broken else inbox / "processed" / f"{when:%Y-%m}"
    target_dir.mkdir(parents=True, exist_ok=True)
    relative = path.relative_to(inbox)
    target = target_dir / relative.name
    n = 1
    while target.exists():
        target = target_dir / f"{relative.stem}.{n}{relative.suffix}"
        n += 1
    os.replace(path, target)
    aside = [e for e in entries if e["outcome"] in ("quarantined", "skipped") and e.get("reason")]
    if aside:
        target.with_name(target.name + ".reason.txt").write_text(
            "".join(f"{e['path'].replace(str(inbox) + os.sep, '')}: {e['outcome']}: {e['reason']}\n" for e in aside),
            encoding="utf-8")
    return target


def _mtime(st: os.stat_result) -> datetime:
    return datetime.fromtimestamp(st.st_mtime_ns // 1_000_000 / 1000, tz=UTC)

