"""Where a store's files live: a folder on this machine, or any filesystem fsspec knows (s3://, gs://, ...).

The store asks for a few operations (`Files`); each place answers them its own way. On the local disk a
rename is atomic. On object storage there is no rename: a put is atomic (a reader gets the old object
or the new one, never half), and `replace` is a copy then a delete, which the store's journal makes
safe (a commit killed part way is finished by repeating it). The filesystem is resolved once, through
fsspec (credentials and endpoints from the usual environment: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...),
and that one filesystem is handed to every pyarrow read and write: pyarrow's own S3 filesystem leaves
directory markers that s3fs readers then fail on (../shared/docs/prefect.md §8.3).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePath, PurePosixPath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pyarrow is imported where a table is read or written: the config reads this module too
    import pyarrow as pa


def is_url(location: str | os.PathLike[str]) -> bool:
    return "://" in str(location) and not str(location).startswith("file://")


class Files:
    """The local disk: paths are `Path`s, renames atomic."""

    local = True
    arrow: Any = None  # pyarrow's own local filesystem, by default

    def __init__(self, location: str | os.PathLike[str]) -> None:
        text = str(location).removeprefix("file://")
        self.root: PurePath = Path(text).expanduser().absolute()  # the same place from any working folder
        self.url = str(self.root)

    def exists(self, path: PurePath) -> bool:
        return os.path.exists(path)

    def makedirs(self, path: PurePath) -> None:
        os.makedirs(path, exist_ok=True)

    def listdir(self, path: PurePath) -> list[PurePath]:
        """The entries of a folder (none where it is missing)."""
        try:
            return [path / name for name in sorted(os.listdir(path))]
        except (FileNotFoundError, NotADirectoryError):
            return []

    def isdir(self, path: PurePath) -> bool:
        return os.path.isdir(path)

    def remove(self, path: PurePath | str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def replace(self, src: PurePath | str, dst: PurePath | str) -> None:
        os.replace(src, dst)

    def read_bytes(self, path: PurePath | str) -> bytes:
        return Path(path).read_bytes()

    def write_bytes(self, path: PurePath, data: bytes) -> None:
        Path(path).write_bytes(data)

    def write_parquet(self, table: pa.Table, path: PurePath, **options: Any) -> None:
        import pyarrow.parquet as pq

        pq.write_table(table, str(path), filesystem=self.arrow, **options)

    def read_parquet(self, path: PurePath, **options: Any) -> pa.Table:
        import pyarrow.parquet as pq

        return pq.read_table(str(path), filesystem=self.arrow, **options)

    def put_is_atomic(self) -> bool:
        """Whether a file written in place is seen whole or not at all (object storage: yes)."""
        return False

    def lock_path(self, name: str) -> Path:
        """A file to lock for `name`, where the OS can lock it: in the store's folder itself."""
        return Path(self.root / name)


class ObjectFiles(Files):
    """Any fsspec filesystem (object storage): paths are `PurePosixPath`s inside it."""

    local = False

    def __init__(self, location: str | os.PathLike[str]) -> None:
        import fsspec
        import pyarrow.fs as pafs

        self.url = str(location).rstrip("/")
        self.fs, base = fsspec.core.url_to_fs(self.url)
        self.root = PurePosixPath(base)
        self.arrow = pafs.PyFileSystem(pafs.FSSpecHandler(self.fs))

    def __getstate__(self) -> dict[str, Any]:  # a Dask worker resolves the filesystem in its own environment
        return {"url": self.url}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"])  # type: ignore[misc]

    def exists(self, path: PurePath) -> bool:
        self.fs.invalidate_cache(str(path))
        return bool(self.fs.exists(str(path)))

    def makedirs(self, path: PurePath) -> None:
        if len(path.parts) == 1:  # a bucket: made where missing (object stores have no other folders)
            self.fs.makedirs(str(path), exist_ok=True)

    def listdir(self, path: PurePath) -> list[PurePath]:
        self.fs.invalidate_cache(str(path))
        try:
            return [PurePosixPath(p) for p in sorted(self.fs.ls(str(path), detail=False))]
        except FileNotFoundError:
            return []

    def isdir(self, path: PurePath) -> bool:
        self.fs.invalidate_cache(str(path))
        return bool(self.fs.isdir(str(path)))

    def remove(self, path: PurePath | str) -> None:
        try:
            self.fs.rm(str(path))
        except FileNotFoundError:
            pass

    def replace(self, src: PurePath | str, dst: PurePath | str) -> None:
        self.fs.copy(str(src), str(dst))  # a copy is seen whole or not at all; then the source goes
        self.fs.rm(str(src))

    def read_bytes(self, path: PurePath | str) -> bytes:
        return bytes(self.fs.cat_file(str(path)))

    def write_bytes(self, path: PurePath, data: bytes) -> None:
        self.fs.pipe_file(str(path), data)

    def put_is_atomic(self) -> bool:
        return True

    def lock_path(self, name: str) -> Path:
        """Object storage has no locks: the writer's lock is a file on this machine, one per store and name
        (so one machine writes an athlete's partition at a time: the one that runs the flow)."""
        from platformdirs import user_state_path

        store = hashlib.sha1(self.url.encode()).hexdigest()[:16]
        folder = user_state_path("kindpace", appauthor=False) / "locks" / store
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name.replace("/", "_")


def files_for(location: str | os.PathLike[str]) -> Files:
    return ObjectFiles(location) if is_url(location) else Files(location)


def read_source(source: str) -> bytes:
    """An input's bytes from a path on this machine, or from a URL (an original kept on object storage)."""
    if is_url(source):
        import fsspec

        with fsspec.open(source, "rb") as handle:
            return bytes(handle.read())
    return Path(source).read_bytes()

