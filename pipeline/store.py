"""The Parquet store: the one place that decides the layout and how files are written.

One store holds many athletes (a club, a coach, a clinic); every table is partitioned by athlete, so one
athlete's commands read and write only their own files, and two athletes' imports can run at once. Layout
(every table a folder that DuckDB, pyarrow.dataset, pandas and polars read as one table; the folders are
hive partitions, so hive-aware readers add an `athlete` column equal to `athlete_id` and skip the other
athletes' folders when filtered by it; each file still carries every column of its schema):

    STORE/activities/athlete=ID/activities.parquet    all activities of one athlete (rewritten atomically per commit)
    STORE/imports/athlete=ID/imports.parquet          the ledger, one row per input file (ditto)
    STORE/gentleness/athlete=ID/gentleness.parquet    one verdict per activity (ditto)
    STORE/excursions/athlete=ID/...                   stretches above the easy ceiling (ditto)
    STORE/runner_notes/athlete=ID/...                 what the runner said about a run: feel, intent (ditto)
    STORE/sync_seen/athlete=ID/...                    source files the sync has read, by path, size, mtime (ditto)
    STORE/sync_runs/athlete=ID/...                    one row per sync (ditto)
    STORE/corrections/athlete=ID/...                  the runner's corrections and a Strava export's labels (ditto)
    STORE/weekly/athlete=ID/..., monthly/...          summaries per local week and month (ditto)
    STORE/rest_weeks/athlete=ID/...                   weeks the runner marked as rest (ditto)
    STORE/records/athlete=ID/<activity_id>.parquet    samples of one activity
    STORE/laps/athlete=ID/<activity_id>.parquet       laps of one activity
    STORE/developer_fields/athlete=ID/<activity_id>.parquet   developer fields of one activity (when it has any)
    STORE/originals/<sha256>                          every input file kept as it arrived (shared: content-addressed)
    STORE/.athletes/athlete=ID/staging/               files import workers wrote, until adopted
    STORE/.athletes/athlete=ID/lock, commit.json      the one writer of that athlete's partition, its journal

STORE is a folder, or a URL of any filesystem fsspec knows (`s3://bucket/prefix`: pipeline/files.py).

Atomicity: a file is written under a temporary name that no reader matches (`.name.tmp`, or a file in the
staging folder that an import worker wrote) and renamed into place, so no half-written file is ever
visible; on object storage, where a put is atomic and there is no rename, a single file is put in place
and a "rename" is a copy then a delete, which the commit journal makes safe. Per-activity files are
written before the activities table names them, and files no activity names are swept at the end of
the next import, so a crash leaves at most unreferenced files, never a half row.

Stores written before schema 2.0 kept one file per table for every athlete (STORE/activities/activities.parquet,
STORE/records/<activity_id>.parquet); readers still see them, and the first writer moves them into the
partitions (`migrate`).
"""

from __future__ import annotations

import errno
import fcntl
import functools
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from connectors.base import KindpaceError
from pipeline.athlete import DEFAULT_ATHLETE, check_athlete
from pipeline.files import Files, files_for
from schemas.tables import SCHEMA_VERSION, TABLES

PER_ACTIVITY = ("records", "laps", "developer_fields")
WHOLE = ("activities", "imports", "gentleness", "excursions", "runner_notes", "sync_seen", "sync_runs",
         "corrections", "weekly", "monthly", "rest_weeks")


class StoreError(KindpaceError):
    """The store cannot be used (unwritable, locked, damaged): the run cannot proceed."""


class StoreLocked(StoreError):
    """Another writer held the store's lock for longer than this one would wait."""


def lock_wait_s() -> float:
    """How long a writer waits for the lock: KINDPACE_LOCK_WAIT_S (`--wait`), default 10 minutes."""
    return float(os.environ.get("KINDPACE_LOCK_WAIT_S", "600"))


@functools.cache
def _parquet_options(table: str) -> dict[str, Any]:
    """How a table's files are written. Dictionary encoding where values repeat (ids, names, flags), not
    for the measurements, where it costs time and space (a run's records: 1.8 -> 1.2 ms to write, 54 ->
    37 KB); their floats byte-stream-split, which compresses tighter and sooner. The whole tables, written
    once a commit, zstd. A run's samples, written once a run (one file each), LZ4: half zstd's time (which
    is mostly its set-up per column: 0.91 -> 0.40 ms a sample run, 1.25 -> 0.62 ms a real recording) for
    files 35-46 % larger (66 -> 89 KB a real recording, beside its 177 KB original), and min/max statistics
    only for the timestamp, which readers filter by (the other columns' cost 0.1 ms a run). A run's laps (a
    few rows) uncompressed: no smaller with zstd, which cost a third of writing them."""
    schema = TABLES[table]
    per_activity = table in PER_ACTIVITY
    return {
        "compression": "none" if table == "laps" else "lz4" if per_activity else "zstd",
        "use_dictionary": [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_boolean(f.type)
                           or (pa.types.is_list(f.type) and pa.types.is_string(f.type.value_type))],
        "use_byte_stream_split": [f.name for f in schema if pa.types.is_floating(f.type)],
        "write_statistics": ["timestamp"] if per_activity and "timestamp" in schema.names else True,
    }


class Store:
    """One athlete's partition of the store at `root` (a folder or a URL; every read and write goes to the
    partition), and the files all athletes share (originals)."""

    def __init__(self, root: str | os.PathLike[str] | Files, athlete: str = DEFAULT_ATHLETE) -> None:
        self.files = root if isinstance(root, Files) else files_for(root)
        self.root: PurePath = self.files.root  # a Path on this machine; a path inside the filesystem otherwise
        self.athlete = check_athlete(athlete)
        self.partition = f"athlete={athlete}"
        self._dirs: dict[str, PurePath] = {}

    def __str__(self) -> str:
        return self.files.url

    def of(self, athlete: str) -> Store:
        """The same store, another athlete's partition."""
        return Store(self.files, athlete)

    def athletes(self) -> list[str]:
        """Every athlete with anything stored (a ledger, activities or a sync in their partition)."""
        found = {p.name.removeprefix("athlete=") for table in ("imports", "activities", "sync_runs")
                 for p in self.files.listdir(self.root / table) if p.name.startswith("athlete=")
                 and any(f.suffix == ".parquet" for f in self.files.listdir(p))}
        if self._legacy():
            found |= {r for t in ("imports", "activities") for r in self._legacy_column(self.root / t / f"{t}.parquet")}
        return sorted(found)

    # --- layout ------------------------------------------------------------------------------------

    def table_dir(self, table: str) -> PurePath:
        folder = self._dirs.get(table)  # asked for three times per run an import writes: made once
        if folder is None:
            if table not in TABLES:
                raise KeyError(table)
            folder = self._dirs[table] = self.root / table / self.partition
        return folder

    def private_dir(self) -> PurePath:
        """This athlete's lock, commit journal and staging folder: no reader looks here."""
        return self.root / ".athletes" / self.partition

    def table_file(self, table: str, activity_id: str | None = None) -> PurePath:
        if table in WHOLE:
            return self.table_dir(table) / f"{table}.parquet"
        if activity_id is None:
            raise ValueError(f"{table} is stored per activity")
        return self.table_dir(table) / f"{activity_id}.parquet"

    def original_path(self, sha256: str) -> PurePath:
        return self.root / "originals" / sha256

    def has_original(self, sha256: str) -> bool:
        return self.files.exists(self.original_path(sha256))

    def original_source(self, sha256: str) -> str:
        """Where an input reads a kept original from: a path here, or a URL any worker can open."""
        path = self.original_path(sha256)
        return str(path) if self.files.local else f"{self.files.url.split('://')[0]}://{path}"

    def ensure(self) -> None:
        """Create the folders, or fail with a clear reason when the store is not writable."""
        try:
            for table in TABLES:
                self.files.makedirs(self.table_dir(table))
            self.files.makedirs(self.root / "originals")
            self.files.makedirs(self.staging_dir())
            probe = self.root / f".probe-{uuid.uuid4().hex}"
            self.files.write_bytes(probe, b"")
            self.files.remove(probe)
        except OSError as exc:
            raise StoreError(f"store {self} is not writable: {exc.strerror or exc}") from exc

    # --- writing ------------------------------------------------------------------------------------

    def _whole(self, path: PurePath, write: Callable[[PurePath], None], in_place: bool = False) -> None:
        """`write(target)` puts one whole file at `path`: directly where the filesystem's put is atomic or
        nobody reads the name yet (`in_place`), else under a temporary name no reader matches, then renamed.
        An OSError goes to the caller, with no temporary file left."""
        if in_place or self.files.put_is_atomic():
            write(path)
            return
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")  # unique: two writers may race
        try:
            write(tmp)
            self.files.replace(tmp, path)
        except OSError:
            self.files.remove(tmp)
            raise

    def _write(self, table: str, data: pa.Table, path: PurePath, in_place: bool = False) -> None:
        """One table file written whole (`_whole`)."""
        schema = TABLES[table]
        if not data.schema.equals(schema):
            data = data.cast(schema)  # raises when a column is missing or does not convert
        if "athlete_id" in schema.names and data.num_rows and not pc.all(
                pc.equal(data["athlete_id"], self.athlete)).as_py():  # a caller passed another athlete's partition
            raise StoreError(f"{path}: rows of another athlete than {self.athlete}, not written")
        data = data.replace_schema_metadata(
            {"kindpace.table": table, "kindpace.schema_version": SCHEMA_VERSION}
        )
        options = _parquet_options(table)
        try:
            self._whole(path, lambda target: self.files.write_parquet(data, target, **options), in_place)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def write_activity_table(self, table: str, activity_id: str, data: pa.Table) -> None:
        path = self.table_file(table, activity_id)
        if data.num_rows == 0:
            self.files.remove(path)
            return
        self._write(table, data, path)

    # --- staging: per-activity files written by pool workers, adopted (renamed in) by the writer ----------

    def staging_dir(self) -> PurePath:
        return self.private_dir() / "staging"

    def stage(self, table: str, data: pa.Table) -> str | None:
        """Write a per-activity table under a name no reader looks at; None for an empty table."""
        if data.num_rows == 0:
            return None
        path = self.staging_dir() / f"{table}-{uuid.uuid4().hex}.parquet"
        self._write(table, data, path, in_place=True)
        return str(path)

    def clear_staging(self) -> None:
        """Staged files no writer adopted (duplicates, or a crash's leftovers): only the lock holder calls it."""
        self.files.makedirs(self.staging_dir())
        for path in self.files.listdir(self.staging_dir()):
            self.files.remove(path)

    def read_staged(self, staged: str) -> pa.Table:
        """A staged per-activity table back in memory (an activity renamed on its way in)."""
        return self.files.read_parquet(PurePath(staged)).replace_schema_metadata(None)

    def discard(self, staged: str) -> None:
        """A staged file no commit took."""
        self.files.remove(staged)

    def replace_table(self, table: str, data: pa.Table) -> None:
        """One whole table replaced (a rename: atomic on its own); several together: `commit`."""
        self._write(table, data, self.table_file(table))

    # --- commits: several whole tables replaced at once, or none of them -----------------------------

    def _journal(self) -> PurePath:
        return self.private_dir() / "commit.json"

    def commit(self, tables: dict[str, pa.Table], moves: Iterable[tuple[str | None, PurePath]] = ()) -> None:
        """Replace whole tables, and move staged per-activity files in (`moves`: (staged file, its place);
        None: remove the place), together: each table is written beside its file first, then a journal
        naming every rename is put in place (a rename too), then the renames are made and the journal
        removed. A writer killed before the journal leaves only files no reader looks at; after it, `recover`
        (the next writer, as it takes the lock) makes the rest of the renames. So the ledger never disagrees
        with the activities it names, and no reader meets a run's samples without its activity for longer
        than the next writer takes to start. (On object storage a rename is a copy then a delete: repeating
        one the kill cut short is harmless, since its source is deleted only after the copy.)"""
        staged: list[tuple[str | None, str]] = [(src, str(dst)) for src, dst in moves]
        written: list[str] = []
        try:
            for table, data in tables.items():
                final = self.table_file(table)
                tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.commit")
                self._write(table, data, tmp, in_place=True)
                written.append(str(tmp))
                staged.append((str(tmp), str(final)))
            if len(staged) > 1:
                journal_tmp = self._journal().with_suffix(".tmp")
                self.files.write_bytes(journal_tmp, json.dumps(staged).encode())
                self.files.replace(journal_tmp, self._journal())
            self._rename(staged)
            self.files.remove(self._journal())
        except OSError as exc:
            for leftover in written:
                self.files.remove(leftover)
            raise StoreError(f"cannot write the tables {', '.join(tables)} of {self}: "
                             f"{exc.strerror or exc}") from exc

    def _rename(self, staged: list[tuple[str | None, str]], recovering: bool = False) -> None:
        for src, dst in staged:
            if src is None:
                self.files.remove(dst)
            elif not recovering or self.files.exists(PurePath(src)):  # recovering: some were renamed before the kill
                self.files.replace(src, dst)

    def recover(self) -> None:
        """Finish a commit a killed writer left half done (see `commit`), and drop the whole tables' files it
        left half written."""
        self._recover_journal(self._journal())
        for table in WHOLE:
            for path in self.files.listdir(self.table_dir(table)):
                if path.name.startswith(".") and path.name.endswith((".commit", ".tmp")):
                    self.files.remove(path)

    def _recover_journal(self, journal: PurePath) -> None:
        if self.files.exists(journal):
            try:
                staged = json.loads(self.files.read_bytes(journal))
            except ValueError:  # killed while writing the journal itself: it never counted
                staged = []
            self._rename(staged, recovering=True)
            self.files.remove(journal)
        self.files.remove(journal.with_suffix(".tmp"))

    def stage_original(self, data: bytes) -> str:
        """An input's bytes written under a name no reader looks at (by a pool worker), for adopt_original."""
        path = self.staging_dir() / f"original-{uuid.uuid4().hex}"
        try:
            self.files.write_bytes(path, data)
        except OSError as exc:
            self.files.remove(path)
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return str(path)

    def adopt_original(self, sha256: str, staged: str) -> None:
        """A staged original renamed into place. Where the store keeps these bytes already (another
        athlete's file), the rename puts the same bytes over them: no need to look first."""
        path = self.original_path(sha256)
        try:
            self.files.replace(staged, path)
        except OSError as exc:
            raise StoreError(f"cannot keep the original {path}: {exc.strerror or exc}") from exc

    def put_original(self, sha256: str, data: bytes) -> None:
        path = self.original_path(sha256)
        if self.files.exists(path):
            return
        try:
            self._whole(path, lambda target: self.files.write_bytes(target, data))
        except OSError as exc:
            raise StoreError(f"cannot keep the original {path}: {exc.strerror or exc}") from exc

    def remove_activity(self, activity_id: str) -> None:
        for table in PER_ACTIVITY:
            self.files.remove(self.table_file(table, activity_id))

    def sweep(self, keep: set[str]) -> int:
        """Remove per-activity files and temporary files no committed activity names (crash leftovers)."""
        removed = 0
        for table in PER_ACTIVITY:
            for path in self.files.listdir(self.table_dir(table)):
                stale_tmp = path.name.endswith(".tmp")
                orphan = path.suffix == ".parquet" and path.stem not in keep
                if stale_tmp or orphan:
                    self.files.remove(path)
                    removed += 1
        return removed

    # --- small notes of the athlete's own (what `kindpace status` told already) ------------------------

    def note(self, name: str) -> str | None:
        path = self.private_dir() / name
        return self.files.read_bytes(path).decode("utf-8") if self.files.exists(path) else None

    def set_note(self, name: str, text: str) -> None:
        self.files.write_bytes(self.private_dir() / name, text.encode("utf-8"))

    # --- reading ------------------------------------------------------------------------------------

    def read(self, table: str) -> pa.Table:
        """This athlete's whole table, with exactly its declared schema (empty when nothing is stored yet)."""
        schema = TABLES[table]
        files = [p for p in self.files.listdir(self.table_dir(table))
                 if p.suffix == ".parquet" and not p.name.startswith(".")]
        if not files:
            return self._legacy_rows(table)
        parts = [self.files.read_parquet(f, schema=schema) for f in files]
        return pa.concat_tables(parts).replace_schema_metadata(None)

    def read_activity(self, table: str, activity_id: str) -> pa.Table:
        path = self.table_file(table, activity_id)
        try:
            return self.files.read_parquet(path, schema=TABLES[table]).replace_schema_metadata(None)
        except FileNotFoundError:
            pass
        legacy = self.root / table / f"{activity_id}.parquet"  # a store not migrated yet
        if self.files.local and self.files.exists(legacy):
            return self.files.read_parquet(legacy, schema=TABLES[table]).replace_schema_metadata(None)
        return TABLES[table].empty_table()

    # --- stores written before partitions (schema < 2.0; only ever on a local disk) ------------------------

    def _legacy(self) -> bool:
        """Whether the store still holds files of the layout before partitions."""
        if not self.files.local:
            return False
        root = Path(self.root)
        return (root / ".commit.json").exists() or any(
            (root / table / f"{table}.parquet").exists() for table in WHOLE) or any(
            next((root / table).glob("*.parquet"), None) is not None for table in PER_ACTIVITY)

    def _legacy_rows(self, table: str) -> pa.Table:
        """This athlete's rows of a table not moved into its partition yet (all rows where the table does not
        name the athlete: a store before partitions held one runner's syncs)."""
        schema = TABLES[table]
        path = Path(self.root) / table / f"{table}.parquet"
        if table not in WHOLE or not self.files.local or not path.exists():
            return schema.empty_table()
        data = pq.read_table(path, schema=schema).replace_schema_metadata(None)
        if "athlete_id" in schema.names:
            data = data.filter(pc.equal(data["athlete_id"], self.athlete))
        return data

    @staticmethod
    def _legacy_column(path: PurePath) -> set[str]:
        if not os.path.exists(path):
            return set()
        return set(pq.read_table(path, columns=["athlete_id"])["athlete_id"].to_pylist())

    def migrate(self) -> bool:
        """Move a store written before partitions into them, under the whole store's lock (STORE/.lock, the
        old writers' lock): each table's rows into their athletes' partitions (sync_seen and sync_runs, which
        name no athlete, to this one), each per-activity file beside its activity's partition. Every step is a
        rename or a write that the next try repeats, and the old files go last, so a kill part way loses
        nothing and readers see each table whole in the old place or the new one. True where it moved any."""
        if not self._legacy():
            return False
        root = Path(self.root)
        with self._locked(root / ".lock", lock_wait_s()):
            if not self._legacy():  # another writer did it while this one waited
                return False
            self._recover_journal(root / ".commit.json")
            owner: dict[str, str] = {}
            for table in WHOLE:
                path = root / table / f"{table}.parquet"
                for leftover in [*(root / table).glob(".*.commit"), *(root / table).glob(".*.tmp")]:
                    leftover.unlink(missing_ok=True)
                if not path.exists():
                    continue
                data = pq.read_table(path, schema=TABLES[table]).replace_schema_metadata(None)
                named = "athlete_id" in data.schema.names
                for athlete in sorted(set(data["athlete_id"].to_pylist())) if named else [self.athlete]:
                    part = data.filter(pc.equal(data["athlete_id"], athlete)) if named else data
                    self.of(athlete).ensure()
                    self.of(athlete).replace_table(table, part)
                    if table == "activities":
                        owner.update(dict.fromkeys(part["activity_id"].to_pylist(), athlete))
            for table in PER_ACTIVITY:
                for path in list((root / table).glob("*.parquet")):
                    if path.stem in owner:
                        os.replace(path, self.of(owner[path.stem]).table_file(table, path.stem))
                    else:  # named by no activity: a crash's leftover, which the old sweep removed too
                        path.unlink(missing_ok=True)
            for leftover in (root / ".staging").glob("*"):
                leftover.unlink(missing_ok=True)
            for table in WHOLE:
                (root / table / f"{table}.parquet").unlink(missing_ok=True)
        return True

    # --- the one writer -----------------------------------------------------------------------------

    @contextmanager
    def writer_lock(self, wait_s: float | None = None) -> Iterator[None]:
        """Hold this athlete's exclusive lock (other athletes' writers go on); the OS drops it when a holder
        dies, so a crashed writer's lock is taken over at once. Waits up to `wait_s` (default
        `lock_wait_s()`), then raises StoreLocked. A store of the layout before partitions is moved first.
        (On object storage the lock is a file on this machine: pipeline/files.py.)"""
        self.ensure()
        self.migrate()
        lock = self.files.lock_path(f".athletes/{self.partition}/lock")
        with self._locked(lock, lock_wait_s() if wait_s is None else wait_s):
            self.recover()  # a writer killed mid-commit: its commit is finished before anything else
            yield

    @contextmanager
    def _locked(self, path: Path, wait_s: float) -> Iterator[None]:
        handle = open(path, "a+")
        deadline = time.monotonic() + wait_s
        try:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise StoreError(f"store {self}: cannot lock: {exc}") from exc
                    if time.monotonic() > deadline:
                        holder = path.read_text(encoding="utf-8", errors="replace").strip() or "an unknown process"
                        raise StoreLocked(f"store {self} is locked by another writer ({holder})") from exc
                    time.sleep(0.2)
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}, {' '.join(os.path.basename(a) for a in sys.argv[:2])}\n")
            handle.flush()
            yield
        finally:
            handle.close()
