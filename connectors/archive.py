"""Zip and gzip files: the members inside, read in memory (never unpacked to disk), within limits.

A Garmin Connect data export and a Strava bulk export are zips of thousands of activity files, Strava's
gzipped one by one (`activities/123.fit.gz`). Each member becomes an input of its own, named
`ARCHIVE!member` in the ledger; a gzip inside a zip is opened too (one level, no deeper). Limits keep
a hostile file from exhausting memory: member count, each member's and the total uncompressed size,
and the compression ratio (a zip bomb packs gigabytes into kilobytes). Members are never written out,
so a name cannot place a file anywhere; still, a member whose name climbs out of the archive (`..`),
is absolute, or that is a symbolic link is refused with that reason: no watch or export writes one.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from connectors.base import CorruptFile

ARCHIVE_SUFFIXES = (".zip", ".gz")


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 100_000
    max_member_bytes: int = 256 * 2**20
    max_total_bytes: int = 8 * 2**30
    max_ratio: float = 200.0  # uncompressed / compressed, per member


DEFAULT_LIMITS = ArchiveLimits()


def is_archive(path: str) -> bool:
    return path.lower().endswith(ARCHIVE_SUFFIXES)


_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_name(info: zipfile.ZipInfo) -> str | None:
    """Why a member's name or kind is refused (None where it is a plain file inside the archive)."""
    if (info.external_attr >> 16) & 0o170000 == stat.S_IFLNK:
        return "a symbolic link, not a file: refused"
    name = info.orig_filename.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        return "an absolute path inside the archive: refused"
    if ".." in name.split("/"):
        return "a name that climbs out of the archive (..): refused"
    if any(ord(c) < 32 for c in name):
        return "a name with control characters: refused"
    return None


def gunzip(path: str, data: bytes, limits: ArchiveLimits = DEFAULT_LIMITS) -> bytes:
    """Decompress a gzip stream, stopping as soon as it would pass the limits."""
    cap = min(limits.max_member_bytes, int(max(len(data), 1) * limits.max_ratio))
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, cap + 1)
    except zlib.error as exc:
        raise CorruptFile(path, f"not a readable gzip file: {exc}") from exc
    if len(out) > cap:
        raise CorruptFile(path, f"gzip member expands beyond {cap} bytes (limit: {limits.max_ratio:.0f}x its size "
                                f"or {limits.max_member_bytes} bytes)")
    if not inflater.eof:
        raise CorruptFile(path, "gzip stream is truncated")
    return out


def members(path: str, data: bytes, limits: ArchiveLimits = DEFAULT_LIMITS
            ) -> Iterator[tuple[str, bytes, str | None]]:
    """(ARCHIVE!member, bytes, why it cannot be used or None) for each file inside. An archive that cannot
    be opened, or whose directory breaks a limit, raises CorruptFile; one bad member does not stop the rest."""
    if path.lower().endswith(".gz"):
        inner = PurePosixPath(path.replace("\\", "/")).name[:-3] or "member"
        yield f"{path}!{inner}", gunzip(path, data, limits), None
        return
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise CorruptFile(path, f"not a readable zip file: {exc}") from exc
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > limits.max_members:
            raise CorruptFile(path, f"{len(infos)} members, more than the limit of {limits.max_members}")
        total = sum(i.file_size for i in infos)
        if total > limits.max_total_bytes:
            raise CorruptFile(path, f"members total {total} bytes, more than the limit of {limits.max_total_bytes}")
        for info in infos:
            name = f"{path}!{info.filename}"
            refused = unsafe_name(info)
            if refused is not None:
                yield f"{path}!{info.orig_filename}", b"", refused
                continue
            if info.file_size > limits.max_member_bytes or (
                    info.compress_size and info.file_size / info.compress_size > limits.max_ratio):
                yield name, b"", (f"member expands to {info.file_size} bytes from {info.compress_size} "
                                  f"(limits: {limits.max_member_bytes} bytes, {limits.max_ratio:.0f}x)")
                continue
            try:
                body = archive.read(info)
                if info.filename.lower().endswith(".gz"):
                    yield f"{path}!{info.filename[:-3]}", gunzip(name, body, limits), None
                else:
                    yield name, body, None
            except CorruptFile as exc:
                yield name, b"", exc.reason
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                yield name, b"", f"cannot read this member: {exc}"


def member(path: str, data: bytes, name: str, limits: ArchiveLimits = DEFAULT_LIMITS) -> bytes | None:
    """One zip member by its name (a Strava export's activities.csv, read before the files it describes),
    None where there is no such member or it breaks a limit; a gzip file has no named members."""
    if path.lower().endswith(".gz"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo(name)
            if info.file_size > limits.max_member_bytes or (
                    info.compress_size and info.file_size / info.compress_size > limits.max_ratio):
                return None
            return archive.read(info)
    except KeyError:
        return None
    except (zipfile.BadZipFile, ValueError, zlib.error, EOFError, NotImplementedError) as exc:
        raise CorruptFile(path, f"not a readable zip file: {exc}") from exc
