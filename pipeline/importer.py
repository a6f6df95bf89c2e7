"""The import stages, as plain functions over batches of files: parse -> normalize -> dedupe -> write.

`flows/` wraps each stage in a Prefect task; tests call them directly. Every input file ends with
exactly one `FileOutcome`; per-file problems are data, only store problems raise (StoreError).
"""

from __future__ import annotations

import contextvars
import hashlib
import math
import os
from collections import deque
from collections.abc import Callable, Container, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any

import pyarrow as pa

from connectors import DecodedActivity, InputError, Unavailable, UnsupportedFormat, archive, decode_file
from connectors.base import KindpaceError
from connectors.fit import default_decoder
from pipeline import parallel, verdicts
from pipeline.corrections import Corrections, StravaLabels, label_rows, member_label, strava_labels
from pipeline.files import is_url, read_source
from pipeline.normalize import NormalizedActivity, activity_table, normalize
from pipeline.parallel import map_ordered
from pipeline.store import PER_ACTIVITY, Store, StoreError
from schemas.tables import CORRECTIONS, IMPORTS, SCHEMA_VERSION, TABLES

OUTCOMES = ("imported", "duplicate", "not_activity", "skipped", "quarantined", "waiting")

# Two activities are the same run when they start within this many seconds of each other...
SAME_RUN_START_S = 120.0
# ...and their elapsed times differ by no more than this share of the longer one (or 120 s).
SAME_RUN_DURATION_SHARE = 0.10


class InputPathError(KindpaceError):
    """A path given on the command line does not exist: the run cannot proceed."""


@dataclass
class FileOutcome:
    """What happened to one input file: one JSON report entry and one ledger row."""

    path: str
    sha256: str
    size_bytes: int
    outcome: str
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    activity_ids: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "outcome": self.outcome,
            "reason": self.reason,
            "warnings": list(self.warnings),
            "activity_ids": list(self.activity_ids),
        }


@dataclass
class ParsedFile:
    path: str  # as the runner gave it (or as the ledger remembers it, on reimport)
    sha256: str
    size_bytes: int
    data: bytes
    activities: list[DecodedActivity] = field(default_factory=list)
    error: InputError | None = None
    normalized: list[NormalizedActivity] = field(default_factory=list)
    labels: StravaLabels | None = None  # what the runner told Strava about this file (its export's CSV)
    warnings: list[str] = field(default_factory=list)  # the decoders' notes, kept once the activities are normalized
    early: dict[str, Any] = field(default_factory=dict)  # activity id -> verdicts.early_verdict, where asked for
    original: str | None = None  # the bytes as a file a pool worker staged (Store.stage_original), not in `data`


@dataclass
class Input:
    """One file to import: read from `source` (or `path`) when the batch gets to it, or, for an
    archive's member, held in `data`; `error` when it cannot be used at all."""

    path: str
    source: str | None = None
    data: bytes | None = None
    labels: StravaLabels | None = None
    error: InputError | None = None

    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        try:
            return os.stat(self.source or self.path).st_size
        except OSError:
            return 0


@dataclass
class Decision:
    """The dedupe stage's plan for one file: what to write and the outcome to record."""

    parsed: ParsedFile
    outcome: FileOutcome
    write: list[NormalizedActivity] = field(default_factory=list)
    keep_original: bool = True
    ledger_changed: bool = True


# --- discovery ----------------------------------------------------------------------------------------


def discover(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Every file under the given files and folders (recursively), in a stable order."""
    found: list[str] = []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_file():
            found.append(str(path))
        elif path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                found.extend(str(Path(folder) / name) for name in sorted(files))
        else:
            raise InputPathError(f"{given}: no such file or folder")
    return list(dict.fromkeys(found))


# --- stage 1: parse -----------------------------------------------------------------------------------


def inputs(items: Iterable[str | tuple[str, str]]) -> Iterator[Input]:
    """The files to import, one at a time: paths as they are, and each member of a zip or gzip file as an
    input of its own (`ARCHIVE!member`), read from the archive only when the stream gets to it, so an
    export of thousands of files is never in memory at once."""
    for item in items:
        path, source = (item, None) if isinstance(item, str) else item
        if not archive.is_archive(path):  # read where it is, from any working folder (a Dask worker's too)
            yield Input(path, source if source and is_url(source) else os.path.abspath(source or path))
            continue
        try:
            data = read_source(source or path)
        except OSError as exc:  # vanished or unreadable: accounted for, not fatal, read again next time
            yield Input(path, error=unreadable(path, exc))
            continue
        yield from _members(path, data, depth=0)


# A Garmin Connect export holds zips of uploaded files inside its zip: one level of nesting is opened.
MAX_ARCHIVE_DEPTH = 2


def _members(path: str, data: bytes, depth: int) -> Iterator[Input]:
    # A Strava bulk export lists the runner's names, types and perceived exertion in activities.csv.
    csv_name = f"{path}!activities.csv"
    try:
        listing = archive.member(path, data, "activities.csv")
        labels = strava_labels(listing) if listing is not None else {}
        for name, body, problem in archive.members(path, data):
            if problem is None and archive.is_archive(name):
                if depth + 1 < MAX_ARCHIVE_DEPTH:
                    yield from _members(name, body, depth + 1)
                else:
                    yield Input(name, data=body, error=InputError(
                        name, f"an archive nested more than {MAX_ARCHIVE_DEPTH} deep: not opened"))
            elif name == csv_name and labels:
                yield Input(name, data=body, error=UnsupportedFormat(
                    name, f"Strava's list of activities: names, types and perceived exertion taken from it for "
                          f"{len(labels)} file(s)"))
            elif problem is None:
                yield Input(name, data=body, labels=member_label(labels, name) if labels else None)
            else:
                yield Input(name, data=body, error=InputError(name, problem))
    except InputError as exc:  # the archive itself cannot be opened (or its directory breaks a limit)
        yield Input(path, data=data, error=exc)


def unreadable(path: str, exc: OSError) -> Unavailable:
    return Unavailable(path, f"cannot read it now ({exc.strerror or exc}); it is read again on the next run")


def read_input(item: Input) -> ParsedFile:
    """An input's bytes and content hash (no decoding): an error where it cannot be read."""
    if item.error is not None:
        data = item.data or b""
        sha = hashlib.sha256(data).hexdigest() if data else ""
        return ParsedFile(item.path, sha, len(data), data, error=item.error)
    try:
        data = item.data if item.data is not None else read_source(item.source or item.path)
    except OSError as exc:  # vanished or unreadable: accounted for, not fatal, read again next time
        return ParsedFile(item.path, "", 0, b"", error=unreadable(item.path, exc))
    return ParsedFile(item.path, hashlib.sha256(data).hexdigest(), len(data), data, labels=item.labels)


def decode_and_normalize(parsed: ParsedFile, athlete_id: str, imported_at: datetime,
                         staging: Store | None = None, fit_decoder: str | None = None,
                         judging: verdicts.Context | None = None) -> ParsedFile:
    """The CPU-bound part of reading one file, in a pool worker or here. With `staging`, the worker also
    writes each activity's tables as Parquet there (Store.stage), so only the activity rows travel back
    and the writer renames files instead of encoding them. With `judging`, it also gives each activity
    its verdict from the records in hand (verdicts.Early); read_one decides what of the bytes goes back.
    `fit_decoder` is the caller's choice: a worker's environment is the one its pool started with."""
    try:
        parsed.activities = decode_file(parsed.data, parsed.path, fit_decoder)
    except InputError as exc:
        parsed.error = exc
    except Exception as exc:  # a decoder bug must not stop the batch: quarantine, name it
        parsed.error = InputError(parsed.path, f"decoder failed unexpectedly: {type(exc).__name__}: {exc}")
    normalize_file(parsed, athlete_id, imported_at)
    if judging is not None:
        parsed.early = {n.activity_id: verdicts.early_verdict(n.activity, n.records, judging)
                        for n in parsed.normalized}
    if staging is not None and parsed.normalized:
        parsed.normalized = [_staged(staging, norm) for norm in parsed.normalized]
    return parsed


# The tables a staged activity carries back in their place: the same objects for every activity, so a
# chunk of results pickles each schema once, not three per run (9 of a run's 10 KB otherwise).
_EMPTY = {name: TABLES[name].empty_table() for name in PER_ACTIVITY}


def _staged(store: Store, norm: NormalizedActivity) -> NormalizedActivity:
    staged = {name: store.stage(name, getattr(norm, name)) for name in PER_ACTIVITY}
    return replace(norm, staged=staged, **_EMPTY)


def _unstaged(store: Store, norm: NormalizedActivity) -> NormalizedActivity:
    """The tables back in memory (for the rare activity that is renamed on its way in)."""
    if norm.staged is None:
        return norm
    tables = {name: store.read_staged(path) if path else getattr(norm, name) for name, path in norm.staged.items()}
    return replace(norm, staged=None, **tables)


def read_batch(items: list[Input], known: Container[str], athlete_id: str, imported_at: datetime,
               staging: Store | None = None, judging: verdicts.Context | None = None,
               fit_decoder: str | None = None, *,
               decode: Callable[..., ParsedFile] = decode_and_normalize) -> list[ParsedFile]:
    """Stages 1 and 2 for one batch, across the import's process pool where one is open
    (pipeline/parallel.py): every input read, hashed and, unless imported before (in `known`), decoded and
    normalized (`decode`), in one step (`read_one`). A file whose reading kills its process is
    quarantined (`_crashed`). `fit_decoder`: the importing process's choice, for a batch read on a Dask
    worker, whose environment is its own (None: this process's)."""
    return map_ordered(read_one, items, known, athlete_id, imported_at, staging, fit_decoder or default_decoder(),
                       judging, decode, crashed=_crashed)


def read_one(item: Input, known: Container[str], athlete_id: str, imported_at: datetime, staging: Store | None,
             fit_decoder: str | None, judging: verdicts.Context | None,
             decode: Callable[..., ParsedFile] = decode_and_normalize) -> ParsedFile:
    """One input read and hashed, then decoded and normalized unless the store holds it (`known`). With
    `staging` (a pool worker), its tables are staged there (decode_and_normalize), its verdict given under
    `judging`, and its bytes too, where the store will keep them as its original: only rows and file
    names travel back, so the import's own process never holds a batch's bytes."""
    parsed = read_input(item)
    if parsed.error is None and parsed.sha256 not in known:
        parsed = decode(parsed, athlete_id, imported_at, staging, fit_decoder, judging)
    if parsed.sha256 in known or not keeps_original(parsed):
        return replace(parsed, data=b"")  # a file the store holds, or one it does not keep: no bytes back
    if staging is not None:
        return replace(parsed, data=b"", original=staging.stage_original(parsed.data))
    return parsed


def keeps_original(parsed: ParsedFile) -> bool:
    """Whether the store keeps a file's bytes as its original: every file it read, but a format it does
    not read (skipped) and one it could not read at all. (A file it holds already is a duplicate.)"""
    return bool(parsed.sha256) and (parsed.error is None or parsed.error.outcome != "skipped")


def _crashed(item: Input, cause: str) -> ParsedFile:
    """A file whose reading killed the process doing it, twice, the second time alone: quarantined (its
    bytes read here, and kept as its original) so the rest of the import goes on."""
    parsed = read_input(item)
    if parsed.error is not None:
        return parsed
    return replace(parsed, error=InputError(
        parsed.path, f"the process decoding it died ({cause}): a crash in a decoder, or the machine ran out "
                     f"of memory; quarantined so the rest could be imported"))


# --- stage 2: normalize -------------------------------------------------------------------------------


def activity_id_for(sha256: str, session_index: int) -> str:
    """The one rule for activity ids: the first file that supplied the activity, and its session."""
    return f"{sha256[:20]}-{session_index}"


def normalize_file(item: ParsedFile, athlete_id: str, imported_at: datetime) -> ParsedFile:
    """The decoded activities as rows and tables; the decoded ones are dropped then (only their notes are
    kept), so a batch holds each run once."""
    if item.error is not None:
        return item
    try:
        item.normalized = [
            normalize(
                act,
                athlete_id=athlete_id,
                activity_id=activity_id_for(item.sha256, act.session_index),
                source_sha256=item.sha256,
                source_path=item.path,
                imported_at=imported_at,
            )
            for act in item.activities
        ]
    except Exception as exc:  # normalization bug on odd data: quarantine the file, keep going
        item.error = InputError(item.path, f"normalization failed: {type(exc).__name__}: {exc}")
        item.normalized = []
    item.warnings = sorted({w for act in item.activities for w in act.warnings})
    item.activities = []
    return item


# --- stage 3: identify and dedupe ---------------------------------------------------------------------


def richness(activity: dict[str, Any]) -> tuple[Any, ...]:
    """Which of two files of one run to keep: sensors first, FIT over GPX, then more samples."""
    return (
        bool(activity["has_heart_rate"]),
        bool(activity["has_position"]),
        bool(activity["has_power"]),
        activity["source_format"] == "fit",
        int(activity["record_count"]),
    )


def same_run(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a["athlete_id"] != b["athlete_id"]:
        return False
    start_gap = abs((a["start_time"] - b["start_time"]).total_seconds())
    longer = max(a["elapsed_time_s"] or 0.0, b["elapsed_time_s"] or 0.0)
    duration_gap = abs((a["elapsed_time_s"] or 0.0) - (b["elapsed_time_s"] or 0.0))
    return start_gap <= SAME_RUN_START_S and duration_gap <= max(120.0, SAME_RUN_DURATION_SHARE * longer)


class StoreState:
    """The activities and the ledger as the one writer sees them, kept in memory across batches."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.activities: dict[str, dict[str, Any]] = {
            row["activity_id"]: row for row in store.read("activities").to_pylist()
        }
        self.ledger: dict[str, dict[str, Any]] = {row["sha256"]: row for row in store.read("imports").to_pylist()}
        self.corrections = Corrections.from_table(store.read("corrections"))
        self.corrections_changed = False
        # Runs the runner deleted, by start and duration: another file of the same run stays out too.
        self.deleted: dict[str, dict[str, Any]] = self.corrections.deleted_runs()
        # When each file was first seen: kept through a reimport, so the ledger's order never changes.
        self.first_seen: dict[str, datetime] = {sha: row["imported_at"] for sha, row in self.ledger.items()}
        # Activity ids by start time in SAME_RUN_START_S buckets, so a match looks at three buckets, not all.
        self._by_start: dict[int, set[str]] = {}
        for row in self.activities.values():
            self._bucket(row).add(row["activity_id"])

    def _bucket(self, row: dict[str, Any], shift: int = 0) -> set[str]:
        key = int(row["start_time"].timestamp() // SAME_RUN_START_S) + shift
        return self._by_start.setdefault(key, set())

    def put(self, row: dict[str, Any]) -> None:
        """Add or replace an activity row."""
        old = self.activities.get(row["activity_id"])
        if old is not None:
            self._bucket(old).discard(old["activity_id"])
        self.activities[row["activity_id"]] = row
        self._bucket(row).add(row["activity_id"])

    def imported_hashes(self) -> frozenset[str]:
        """Files whose activities are in the store already: a re-import need not decode them."""
        return frozenset(sha for sha, row in self.ledger.items() if row["outcome"] in ("imported", "duplicate"))

    def reset(self) -> None:
        """Forget everything derived from the originals (for a reimport); skipped files have none, keep them."""
        self.activities.clear()
        self._by_start.clear()
        self.ledger = {sha: row for sha, row in self.ledger.items() if not self.store.has_original(sha)}

    def match(self, activity: dict[str, Any]) -> dict[str, Any] | None:
        """The stored activity that is the same run, if any (the closest start wins); never one the runner
        said this file is not (unmerge)."""
        nearby = {i for shift in (-1, 0, 1) for i in self._bucket(activity, shift)}
        candidates = [self.activities[i] for i in nearby if same_run(self.activities[i], activity)
                      and not self.corrections.kept_apart(self.activities[i], activity["source_sha256"])]
        if not candidates:
            return None
        return min(candidates, key=lambda a: abs((a["start_time"] - activity["start_time"]).total_seconds()))

    def deleted_match(self, activity: dict[str, Any]) -> str | None:
        """The id of a run the runner deleted that this activity is (the same id, or the same run)."""
        if activity["activity_id"] in self.deleted:
            return activity["activity_id"]
        return next((i for i, gone in self.deleted.items() if same_run(gone, activity)), None)

    def label(self, item: ParsedFile, athlete_id: str, now: datetime) -> bool:
        """Keep a Strava label of the file as corrections (once); True when that added something."""
        if item.labels is None or self.corrections.has_labels(item.sha256):
            return False
        self.corrections.add(label_rows(athlete_id, item.sha256, item.labels, now))
        self.corrections_changed = True
        return True

    def reapply(self, activity_ids: Iterable[str]) -> None:
        for aid in activity_ids:
            if aid in self.activities:
                self.activities[aid] = self.corrections.apply(self.activities[aid])


def local_offset(now: datetime) -> int:
    """The machine's UTC offset at `now`, in seconds (for rows about this machine's own actions)."""
    delta = now.astimezone().utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def _ledger_row(state: StoreState, outcome: FileOutcome, athlete_id: str, now: datetime) -> dict[str, Any]:
    when = state.first_seen.setdefault(outcome.sha256, now)
    return {
        "sha256": outcome.sha256,
        "athlete_id": athlete_id,
        "path": outcome.path,
        "size_bytes": outcome.size_bytes,
        "outcome": outcome.outcome,
        "reason": outcome.reason,
        "warnings": outcome.warnings,
        "activity_ids": outcome.activity_ids,
        "imported_at": when,
        "utc_offset_s": local_offset(when),
        "schema_version": SCHEMA_VERSION,
    }


def dedupe_batch(state: StoreState, parsed: list[ParsedFile], athlete_id: str, now: datetime) -> list[Decision]:
    """Decide each file's outcome against the store and the files before it; updates `state`."""
    return [_decide(state, item, athlete_id, now) for item in parsed]


def _decide(state: StoreState, item: ParsedFile, athlete_id: str, now: datetime) -> Decision:
    known = state.ledger.get(item.sha256) if item.sha256 else None
    if known is not None and known["outcome"] in ("imported", "duplicate"):
        outcome = FileOutcome(item.path, item.sha256, item.size_bytes, "duplicate", "already imported",
                              activity_ids=list(known["activity_ids"] or []))
        # the same file again, now inside a Strava export: what the runner told Strava still counts
        labelled = state.label(item, athlete_id, now)
        if labelled:
            state.reapply(known["activity_ids"] or [])
        return Decision(item, outcome, keep_original=False, ledger_changed=labelled)
    if item.error is not None:
        outcome = FileOutcome(item.path, item.sha256, item.size_bytes, item.error.outcome, item.error.reason)
        unchanged = known is not None and (known["outcome"], known["reason"]) == (outcome.outcome, outcome.reason)
        if not unchanged and item.sha256:
            state.ledger[item.sha256] = _ledger_row(state, outcome, athlete_id, now)
        return Decision(item, outcome, keep_original=keeps_original(item),
                        ledger_changed=not unchanged)

    warnings = list(item.warnings)
    to_write: list[NormalizedActivity] = []
    ids: list[str] = []
    duplicates_of: list[str] = []
    deleted: list[str] = []
    state.label(item, athlete_id, now)
    for norm in item.normalized:
        gone = state.deleted_match(norm.activity)
        if gone is not None:
            deleted.append(gone)
            continue
        norm = state.corrections.apply_to(norm)
        row = norm.activity
        match = state.match(row)
        if match is None:
            state.put(row)
            to_write.append(norm)
            ids.append(norm.activity_id)
            continue
        keep_id = match["activity_id"]
        if richness(row) > richness(match):
            # The new file is richer: it takes over the activity (and its id); the old file becomes its duplicate.
            sources = list(match["duplicate_sources"] or []) + [match["source_sha256"]]
            replaced = _renamed(state.store, norm, keep_id, sources)
            replaced = state.corrections.apply_to(replaced)  # the corrections of the run it takes over
            _keep_labels(replaced.activity, match)
            state.put(replaced.activity)
            to_write.append(replaced)
            ids.append(keep_id)
            warnings.append(f"replaced the less complete copy of this run from {match['source_path']}")
            old = state.ledger.get(match["source_sha256"])
            if old is not None:
                old.update(outcome="duplicate", activity_ids=[keep_id],
                           reason=f"same run as the more complete {item.path}, which replaced it")
        else:
            match["duplicate_sources"] = list(match["duplicate_sources"] or []) + [item.sha256]
            _keep_labels(match, row)
            duplicates_of.append(keep_id)

    if deleted and not ids and not duplicates_of:  # every run in it was deleted by the runner: it stays out
        outcome = FileOutcome(item.path, item.sha256, item.size_bytes, "duplicate",
                              f"the runner deleted this run (activity {deleted[0]}); kept out", warnings)
    elif not ids and not duplicates_of:  # a connector gave no activity and no error: say so, lose nothing
        outcome = FileOutcome(item.path, item.sha256, item.size_bytes, "not_activity", "no activity decoded")
    elif ids:
        outcome = FileOutcome(item.path, item.sha256, item.size_bytes, "imported", None, warnings, ids + duplicates_of)
    else:
        first = state.activities[duplicates_of[0]]
        outcome = FileOutcome(
            item.path, item.sha256, item.size_bytes, "duplicate",
            f"same run as activity {duplicates_of[0]} already imported from {first['source_path']}",
            warnings, duplicates_of,
        )
    state.ledger[item.sha256] = _ledger_row(state, outcome, athlete_id, now)
    return Decision(item, outcome, write=to_write)


LABELS = ("workout_feel", "workout_rpe")


def _keep_labels(kept: dict[str, Any], other: dict[str, Any]) -> None:
    """The runner's own feel and RPE are the ground truth for verdicts: never lose them to a dedupe."""
    for key in LABELS:
        if kept[key] is None and other[key] is not None:
            kept[key] = other[key]


def _renamed(store: Store, norm: NormalizedActivity, activity_id: str,
             duplicate_sources: list[str]) -> NormalizedActivity:
    norm = _unstaged(store, norm)

    def rekey(table: pa.Table) -> pa.Table:
        index = table.schema.get_field_index("activity_id")
        return table.set_column(index, table.schema.field(index), pa.array([activity_id] * table.num_rows, pa.string()))

    activity = dict(norm.activity, activity_id=activity_id, duplicate_sources=duplicate_sources)
    return replace(norm, activity=activity, records=rekey(norm.records), laps=rekey(norm.laps),
                   developer_fields=rekey(norm.developer_fields))


# --- stage 4: write -----------------------------------------------------------------------------------


def write_batch(store: Store, state: StoreState, decisions: list[Decision]) -> list[FileOutcome]:
    """Write one batch: the originals first, then one commit of the tables and the batch's staged
    per-activity files together (Store.commit)."""
    changed = False
    moves: list[tuple[str | None, PurePath]] = []  # staged per-activity files, moved in by the commit
    taken: set[str] = set()  # staged files the store took
    for decision in decisions:
        parsed = decision.parsed
        if decision.keep_original and parsed.sha256:
            if parsed.original is not None:
                store.adopt_original(parsed.sha256, parsed.original)
                taken.add(parsed.original)
            else:
                store.put_original(parsed.sha256, parsed.data)
        for norm in decision.write:
            staged = norm.staged or {name: store.stage(name, getattr(norm, name)) for name in PER_ACTIVITY}
            moves += [(staged[name], store.table_file(name, norm.activity_id)) for name in PER_ACTIVITY]
        changed = changed or decision.ledger_changed or bool(decision.write)
    if changed:
        commit(store, state, moves)
    taken.update(src for src, _ in moves if src)
    for decision in decisions:  # what a worker staged for a file that turned out a duplicate
        made = [path for norm in decision.parsed.normalized for path in (norm.staged or {}).values()]
        for path in [*made, decision.parsed.original]:
            if path and path not in taken:
                store.discard(path)
    return [d.outcome for d in decisions]


def commit(store: Store, state: StoreState, moves: list[tuple[str | None, PurePath]] | None = None) -> None:
    rows = sorted(state.activities.values(), key=lambda r: (r["start_time"], r["activity_id"]))
    ledger = sorted(state.ledger.values(), key=lambda r: (r["imported_at"], r["path"]))
    tables = {"activities": activity_table(rows), "imports": pa.Table.from_pylist(ledger, schema=IMPORTS)}
    if state.corrections_changed:
        tables["corrections"] = pa.Table.from_pylist(state.corrections.rows, schema=CORRECTIONS)
    store.commit(tables, moves or [])  # the activities, their files and the ledger: together or not at all
    state.corrections_changed = False


# --- composition --------------------------------------------------------------------------------------

# Aim for at most this many batches per import, each of at least MIN_BATCH files: tens of task runs
# per flow run, not one per file (prefect.md §5); and at most MAX_BATCH files or MAX_BATCH_BYTES of input
# each, so what a batch holds in memory is bounded however large the import.
MAX_BATCHES = 8
MIN_BATCH = 25
MAX_BATCH = 200
MAX_BATCH_BYTES = 8 * 2**20
# Batches a process pool reads ahead of the one being written.
POOL_AHEAD = 2


def batch_size(n_files: int) -> int:
    return min(MAX_BATCH, max(MIN_BATCH, math.ceil(n_files / MAX_BATCHES)))


def batched(stream: Iterable[Input], size: int, max_bytes: int = MAX_BATCH_BYTES,
            read_elsewhere: bool = False) -> Iterator[list[Input]]:
    """Batches of at most `size` inputs or `max_bytes` of input held here. With `read_elsewhere` (a pool's or
    a cluster's workers read each file themselves and send back rows), a file on disk holds nothing here:
    only an archive's members, already in memory, count."""
    batch: list[Input] = []
    held = 0
    for item in stream:
        batch.append(item)
        held += len(item.data or b"") if read_elsewhere else item.size()
        if len(batch) >= size or held >= max_bytes:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


@dataclass(frozen=True)
class Stages:
    """The three stages; the flow passes its Prefect tasks, tests and tools the plain functions.

    With `submit` (the read stage handed to a cluster: it returns a future), `ahead` batches are read on
    the cluster while the one before them is written here, in order, one commit at a time."""

    read: Callable[..., list[ParsedFile]] = read_batch
    dedupe: Callable[..., list[Decision]] = dedupe_batch
    write: Callable[..., list[FileOutcome]] = write_batch
    submit: Callable[..., Any] | None = None
    ahead: int = 1


def run_batches(
    store: Store, items: list[Any], athlete_id: str, *, reset: bool = False, stages: Stages = Stages(),
    early: verdicts.Early | None = None,
) -> dict[str, Any]:
    """Import `items` (paths, or (path, source) pairs) batch by batch under the store's writer lock.

    With `reset`, everything derived from the originals is rebuilt (reimport). With `early`, the runs get
    their verdicts as they are read, into `early.given`, for the judge that follows. Returns the report:
    counts per outcome and one entry per file.
    """
    outcomes: list[FileOutcome] = []
    store.ensure()
    with store.writer_lock(), parallel.opened(_expected_files(items)) as pool, ThreadPoolExecutor(POOL_AHEAD) as ahead:
        state = StoreState(store)
        if reset:
            state.reset()
        now = now_utc()

        # workers (a pool's, a cluster's) write the tables; the writer renames them in
        staging = store if pool is not None or stages.submit is not None else None
        store.clear_staging()
        decoder = default_decoder()

        def read(batch: list[Input]) -> Any:
            args: tuple[Any, ...] = (batch, state.imported_hashes(), athlete_id, now, staging,
                                     None if early is None else early.ctx, decoder)
            if stages.submit is not None:  # on the cluster
                return stages.submit(*args)
            # in the thread `ahead`, in this flow run's context (Prefect's run context is a context variable)
            return ahead.submit(contextvars.copy_context().run, stages.read, *args)

        in_flight: list[list[Input]] = []  # batches read or being read, not yet committed

        def start(batch: list[Input] | None) -> None:
            if batch is not None:
                in_flight.append(batch)
                pending.append(read(batch))

        # read ahead while writing: a cluster's batches, or the pool's next two (so its workers never wait
        # for the last file of a batch before they start the next); without either, one at a time
        window = stages.ahead if stages.submit is not None else POOL_AHEAD if pool is not None else 0
        stream = batched(inputs(items), batch_size(len(items)), read_elsewhere=staging is not None)
        pending: deque[Any] = deque()
        try:
            start(next(stream, None))
            while pending:
                parsed = pending.popleft().result()
                if early is not None:
                    for item in parsed:
                        early.given.update(item.early)
                while len(pending) < window and (batch := next(stream, None)) is not None:
                    start(batch)
                decisions = stages.dedupe(state, parsed, athlete_id, now)
                outcomes.extend(stages.write(store, state, decisions))
                in_flight.pop(0)
                if not pending:
                    start(next(stream, None))
            if reset:
                commit(store, state)  # an empty reimport still empties the tables
            # files no activity names (a reimport's runs that are no more, a crash's leftovers): once per
            # import, not per commit, which listed the whole store each time
            store.sweep(set(state.activities))
        except (StoreError, OSError) as exc:  # full, read-only, gone: what was committed stands, the rest waits
            cause = exc if isinstance(exc, StoreError) else StoreError(f"store {store.root}: {exc.strerror or exc}")
            outcomes += _waiting(items, in_flight[0][0].path if in_flight else None, cause)
            raise ImportStopped(cause, {"counts": count(outcomes), "files": [o.report() for o in outcomes]}) from exc
    return {"counts": count(outcomes), "files": [o.report() for o in outcomes]}


class ImportStopped(StoreError):
    """The store could not be written part way through an import. What was committed before stands
    (each batch is committed whole or not at all); every other file is in `report` as "waiting", with
    nothing of it recorded, so the next run reads it again."""

    def __init__(self, cause: StoreError, report: dict[str, Any]) -> None:
        self.report = report
        super().__init__(f"{cause}. {report['counts']['waiting']} file(s) wait for the next run")


def _waiting(items: list[Any], first: str | None, cause: StoreError) -> list[FileOutcome]:
    """Every item from the one that holds input `first` on (items are read in order, batch by batch): waiting.
    An archive some of whose members were committed waits whole: its members are read again, those in
    the store then as duplicates."""
    paths = [item if isinstance(item, str) else item[0] for item in items]
    holder = {first, None if first is None else first.split("!", 1)[0]}
    start = next((i for i, path in enumerate(paths) if path in holder), len(paths))
    reason = f"not imported: {cause}; it is read again on the next run"
    return [FileOutcome(path, "", 0, "waiting", reason) for path in paths[start:]]


def _expected_files(items: list[Any]) -> int:
    """How many inputs an import will read, for choosing whether a process pool pays: an archive may
    hold thousands, so it counts as many."""
    paths = [item if isinstance(item, str) else item[0] for item in items]
    return len(paths) + sum(parallel.MIN_FILES for p in paths if archive.is_archive(p))


def originals_in_order(store: Store) -> list[tuple[str, str]]:
    """(path as first given, kept original) for every file the store kept, in the order first seen."""
    ledger = sorted(store.read("imports").to_pylist(), key=lambda r: (r["imported_at"], r["path"]))
    return [(r["path"], store.original_source(r["sha256"])) for r in ledger if store.has_original(r["sha256"])]


def count(outcomes: list[FileOutcome]) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOMES, 0)
    for o in outcomes:
        counts[o.outcome] += 1
    return counts


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
