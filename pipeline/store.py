"""The Parquet store: the one place that decides the layout and how files are written.

Layout (every table a folder of Parquet files that DuckDB, pyarrow.dataset, pandas and polars read
as one table; no hive partitions yet, so each file carries every column of its schema):

    STORE/activities/activities.parquet        all activities (rewritten atomically per commit)
    STORE/imports/imports.parquet              the ledger, one row per input file (ditto)
    STORE/gentleness/gentleness.parquet        one verdict per activity (ditto)
    STORE/excursions/excursions.parquet        stretches above the easy ceiling (ditto)
    STORE/runner_notes/runner_notes.parquet    what the runner said about a run: feel, intent (ditto)
    STORE/sync_seen/sync_seen.parquet          source files the sync has read, by path, size, mtime (ditto)
    STORE/sync_runs/sync_runs.parquet          one row per sync (ditto)
    STORE/corrections/corrections.parquet      the runner's corrections and a Strava export's labels (ditto)
    STORE/weekly/weekly.parquet, monthly/...   summaries per local week and month (ditto)
    STORE/rest_weeks/rest_weeks.parquet        weeks the runner marked as rest (ditto)
    STORE/records/<activity_id>.parquet        samples of one activity
    STORE/laps/<activity_id>.parquet           laps of one activity
    STORE/developer_fields/<activity_id>.parquet   developer fields of one activity (when it has any)
    STORE/originals/<sha256>                   every input file kept as it arrived
    STORE/.staging/                            per-activity files and originals import workers wrote, until adopted
    STORE/.lock                                held by the one writer

Atomicity: a file is written under a temporary name that no reader matches (`.name.tmp`, or a file in
`.staging/` that an import worker wrote) and renamed into place, so no half-written file is ever
visible. Per-activity files are written before the activities table names them, and files no activity
names are swept at the next commit, so a crash leaves at most unreferenced files, never a half row.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from connectors.base import KindpaceError
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


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    return [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_boolean(f.type)
            or (pa.types.is_list(f.type) and pa.types.is_string(f.type.value_type))]


class Store:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()

    # --- layout ------------------------------------------------------------------------------------

    def table_dir(self, table: str) -> Path:
        if table not in TABLES:
            raise KeyError(table)
        return self.root / table

    def table_file(self, table: str, activity_id: str | None = None) -> Path:
        if table in WHOLE:
            return self.table_dir(table) / f"{table}.parquet"
        if activity_id is None:
            raise ValueError(f"{table} is stored per activity")
        return self.table_dir(table) / f"{activity_id}.parquet"

    def original_path(self, sha256: str) -> Path:
        return self.root / "originals" / sha256

    def ensure(self) -> None:
        """Create the folders, or fail with a clear reason when the store is not writable."""
        try:
            for table in TABLES:
                self.table_dir(table).mkdir(parents=True, exist_ok=True)
            (self.root / "originals").mkdir(exist_ok=True)
            probe = self.root / f".probe-{uuid.uuid4().hex}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StoreError(f"store {self.root} is not writable: {exc.strerror or exc}") from exc

    # --- writing ------------------------------------------------------------------------------------

    def _write(self, table: str, data: pa.Table, path: Path) -> None:
        schema = TABLES[table]
        if not data.schema.equals(schema):
            data = data.cast(schema)  # raises when a column is missing or does not convert
        data = data.replace_schema_metadata(
            {"kindpace.table": table, "kindpace.schema_version": SCHEMA_VERSION}
        )
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            # dictionary encoding where values repeat (ids, names, flags); not for the measurements, where
            # it costs time and space (a run's records: 1.8 -> 1.2 ms to write, 54 -> 37 KB)
            pq.write_table(data, tmp, compression="zstd", use_dictionary=_dictionary_columns(schema))
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def write_activity_table(self, table: str, activity_id: str, data: pa.Table) -> None:
        path = self.table_file(table, activity_id)
        if data.num_rows == 0:
            path.unlink(missing_ok=True)
            return
        self._write(table, data, path)

    # --- staging: per-activity files written by pool workers, adopted (renamed in) by the writer ----------

    def staging_dir(self) -> Path:
        return self.root / ".staging"

    def stage(self, table: str, data: pa.Table) -> str | None:
        """Write a per-activity table under a name no reader looks at; None for an empty table."""
        if data.num_rows == 0:
            return None
        path = self.staging_dir() / f"{table}-{uuid.uuid4().hex}.parquet"
        self._write(table, data, path)
        return str(path)

    def clear_staging(self) -> None:
        """Staged files no writer adopted (duplicates, or a crash's leftovers): only the lock holder calls it."""
        folder = self.staging_dir()
        folder.mkdir(exist_ok=True)
        for path in folder.iterdir():
            path.unlink(missing_ok=True)

    def replace_table(self, table: str, data: pa.Table) -> None:
        """One whole table replaced (a rename: atomic on its own); several together: `commit`."""
        self._write(table, data, self.table_file(table))

    # --- commits: several whole tables replaced at once, or none of them -----------------------------

    def _journal(self) -> Path:
        return self.root / ".commit.json"

    def commit(self, tables: dict[str, pa.Table], moves: Iterable[tuple[str | None, Path]] = ()) -> None:
        """Replace whole tables, and move staged per-activity files in (`moves`: (staged file, its place);
        None: remove the place), together: each table is written beside its file first, then a journal
        naming every rename is put in place (a rename too), then the renames are made and the journal
        removed. A writer killed before the journal leaves only files no reader looks at; after it, `recover`
        (the next writer, as it takes the lock) makes the rest of the renames. So the ledger never disagrees
        with the activities it names, and no reader meets a run's samples without its activity for longer
        than the next writer takes to start."""
        staged: list[tuple[str | None, str]] = [(src, str(dst)) for src, dst in moves]
        written: list[str] = []
        try:
            for table, data in tables.items():
                final = self.table_file(table)
                tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.commit")
                self._write(table, data, tmp)
                written.append(str(tmp))
                staged.append((str(tmp), str(final)))
            if len(staged) > 1:
                journal_tmp = self._journal().with_suffix(".tmp")
                journal_tmp.write_text(json.dumps(staged), encoding="utf-8")
                os.replace(journal_tmp, self._journal())
            self._rename(staged)
            self._journal().unlink(missing_ok=True)
        except OSError as exc:
            for leftover in written:
                Path(leftover).unlink(missing_ok=True)
            raise StoreError(f"cannot write the tables {', '.join(tables)} of {self.root}: "
                             f"{exc.strerror or exc}") from exc

    @staticmethod
    def _rename(staged: list[tuple[str | None, str]]) -> None:
        for src, dst in staged:
            if src is None:
                Path(dst).unlink(missing_ok=True)
            elif Path(src).exists():  # on recovery, some were renamed before the kill
                os.replace(src, dst)

    def recover(self) -> None:
        """Finish a commit a killed writer left half done (see `commit`), and drop the whole tables' files it
        left half written."""
        journal = self._journal()
        if journal.exists():
            try:
                staged = json.loads(journal.read_text(encoding="utf-8"))
            except ValueError:  # killed while writing the journal itself: it never counted
                staged = []
            self._rename(staged)
            journal.unlink()
        journal.with_suffix(".tmp").unlink(missing_ok=True)
        for table in WHOLE:
            folder = self.table_dir(table)
            if folder.exists():
                for path in [*folder.glob(".*.commit"), *folder.glob(".*.tmp")]:
                    path.unlink(missing_ok=True)

    def stage_original(self, data: bytes) -> str:
        """An input's bytes written under a name no reader looks at (by a pool worker), for adopt_original."""
        path = self.staging_dir() / f"original-{uuid.uuid4().hex}"
        try:
            path.write_bytes(data)
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return str(path)

    def adopt_original(self, sha256: str, staged: str) -> None:
        """A staged original renamed into place (dropped where the store keeps these bytes already)."""
        path = self.original_path(sha256)
        try:
            if path.exists():
                Path(staged).unlink(missing_ok=True)
            else:
                os.replace(staged, path)
        except OSError as exc:
            raise StoreError(f"cannot keep the original {path}: {exc.strerror or exc}") from exc

    def put_original(self, sha256: str, data: bytes) -> None:
        path = self.original_path(sha256)
        if path.exists():
            return
        tmp = path.with_name(f".{sha256}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot keep the original {path}: {exc.strerror or exc}") from exc

    def remove_activity(self, activity_id: str) -> None:
        for table in PER_ACTIVITY:
            self.table_file(table, activity_id).unlink(missing_ok=True)

    def sweep(self, keep: set[str]) -> int:
        """Remove per-activity files and temporary files no committed activity names (crash leftovers)."""
        removed = 0
        for table in PER_ACTIVITY:
            folder = self.table_dir(table)
            if not folder.exists():
                continue
            for path in folder.iterdir():
                stale_tmp = path.name.endswith(".tmp")
                orphan = path.suffix == ".parquet" and path.stem not in keep
                if stale_tmp or orphan:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    # --- reading ------------------------------------------------------------------------------------

    def read(self, table: str) -> pa.Table:
        """A whole table, with exactly its declared schema (empty when nothing is stored yet)."""
        schema = TABLES[table]
        folder = self.table_dir(table)
        files = sorted(folder.glob("*.parquet")) if folder.exists() else []
        if not files:
            return schema.empty_table()
        parts = [pq.read_table(f, schema=schema) for f in files]
        return pa.concat_tables(parts).replace_schema_metadata(None)

    def read_activity(self, table: str, activity_id: str) -> pa.Table:
        path = self.table_file(table, activity_id)
        if not path.exists():
            return TABLES[table].empty_table()
        return pq.read_table(path, schema=TABLES[table]).replace_schema_metadata(None)

    # --- the one writer -----------------------------------------------------------------------------

    @contextmanager
    def writer_lock(self, wait_s: float | None = None) -> Iterator[None]:
        """Hold the store's exclusive lock; the OS drops it when a holder dies, so a crashed writer's lock
        is taken over at once. Waits up to `wait_s` (default `lock_wait_s()`), then raises StoreLocked."""
        self.ensure()
        path = self.root / ".lock"
        handle = open(path, "a+")
        deadline = time.monotonic() + (lock_wait_s() if wait_s is None else wait_s)
        try:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise StoreError(f"store {self.root}: cannot lock: {exc}") from exc
                    if time.monotonic() > deadline:
                        holder = path.read_text(encoding="utf-8", errors="replace").strip() or "an unknown process"
                        raise StoreLocked(f"store {self.root} is locked by another writer ({holder})") from exc
                    time.sleep(0.2)
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}, {' '.join(os.path.basename(a) for a in sys.argv[:2])}\n")
            handle.flush()
            self.recover()  # a writer killed mid-commit: its commit is finished before anything else
            yield
        finally:
            handle.close()
