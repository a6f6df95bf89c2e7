"""A vectorized FIT decoder: one pass over the framing, then every run of data messages that share a
definition decoded at once into NumPy columns.

1. Framing (`frame`): file headers (chained FIT files included), definition messages (developer field
   definitions too), and the offset of every data message, grouped by its definition. A run of data
   messages with the same header is found with one NumPy comparison over the header bytes at the
   message stride, so a long run of records costs a few array operations, not a Python step each.
   The file CRC is checked (CRC-16/ARC, `fastcrc`).
2. Decoding (`decode`): each group's bytes gathered into a (messages x size) array and viewed through a
   structured dtype in the definition's byte order; invalid sentinels become missing values.
3. Meaning, from the Garmin FIT SDK's published profile (`garmin_fit_sdk.Profile`, data, not hand-typed):
   field names, scale and offset, enum names, date_time, strings, sub-fields chosen by their reference
   field, and components (such as `compressed_speed_distance` -> speed and an accumulated distance).

The result is columnar (`FitColumns`: per message name, columns in file order). `messages()` turns it into
the per-message dictionaries the connector has used with fitparse, for comparison and the transition.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
RELATIVE_LIMIT = 0x10000000  # date_time values below this count from power-on

# base type number -> (numpy code, size, invalid value)
BASE_TYPES: dict[int, tuple[str, int, int | float | None]] = {
    0x00: ("u1", 1, 0xFF), 0x01: ("i1", 1, 0x7F), 0x02: ("u1", 1, 0xFF), 0x83: ("i2", 2, 0x7FFF),
    0x84: ("u2", 2, 0xFFFF), 0x85: ("i4", 4, 0x7FFFFFFF), 0x86: ("u4", 4, 0xFFFFFFFF), 0x07: ("S", 1, None),
    0x88: ("f4", 4, None), 0x89: ("f8", 8, None), 0x0A: ("u1", 1, 0x00), 0x8B: ("u2", 2, 0x0000),
    0x8C: ("u4", 4, 0x00000000), 0x0D: ("u1", 1, 0xFF), 0x8E: ("i8", 8, 0x7FFFFFFFFFFFFFFF),
    0x8F: ("u8", 8, 0xFFFFFFFFFFFFFFFF), 0x90: ("u8", 8, 0x0000000000000000),
}
_BASE_BY_NUMBER = {t & 0x1F: t for t in BASE_TYPES}  # some writers leave the endian bit out


class FitFormatError(ValueError):
    """The bytes are not a FIT file, or its framing breaks before the end."""


@dataclass
class Definition:
    """One distinct definition: files that define the same layout again (some do for every lap) share it."""

    global_num: int
    big_endian: bool
    fields: tuple[tuple[int, int, int], ...]  # (field number, size, base type)
    dev_fields: tuple[tuple[int, int, int], ...]  # (field number, size, developer data index)
    size: int = 0

    def __post_init__(self) -> None:
        self.size = sum(s for _, s, _ in self.fields) + sum(s for _, s, _ in self.dev_fields)


@dataclass
class Framing:
    definitions: list[Definition]
    def_index: np.ndarray  # per data message, in file order
    offsets: np.ndarray  # byte offset of each data message's content
    time_offsets: np.ndarray  # compressed-timestamp header's 5-bit time offset, -1 for a normal header
    segments: np.ndarray  # which chained FIT file each data message is in (0 for most files)
    error: str | None = None  # why the framing stopped early (a truncated or damaged file)
    crc_ok: list[bool] = field(default_factory=list)


def _crc16(data: bytes) -> int:
    import fastcrc

    return int(fastcrc.crc16.arc(data))


def frame(data: bytes) -> Framing:
    buf = np.frombuffer(data, dtype=np.uint8)
    definitions: list[Definition] = []
    known: dict[tuple[Any, ...], int] = {}
    def_parts: list[np.ndarray] = []
    off_parts: list[np.ndarray] = []
    ts_parts: list[np.ndarray] = []
    seg_parts: list[np.ndarray] = []
    crc_ok: list[bool] = []
    error = None
    pos, n, segment = 0, len(data), 0
    while pos + 12 <= n and error is None:
        header_size = data[pos]
        if header_size < 12 or data[pos + 8:pos + 12] != b".FIT":
            if segment == 0:
                raise FitFormatError("not a FIT file: no '.FIT' signature in the header")
            break  # trailing bytes after the last chained file
        data_size = int.from_bytes(data[pos + 4:pos + 8], "little")
        start, end = pos + header_size, pos + header_size + data_size
        if end + 2 <= n:
            crc_ok.append(_crc16(data[pos:end]) == int.from_bytes(data[end:end + 2], "little"))
        else:
            crc_ok.append(False)
            error = f"file ends at byte {n}, before the {end + 2} its header announces"
            end = min(end, n)
        local: dict[int, int] = {}
        p = start
        defs_i: list[int] = []
        offs: list[int] = []
        tss: list[int] = []
        while p < end:
            h = data[p]
            if h & 0x80:  # compressed timestamp header: a data message
                d = local.get((h >> 5) & 0x03)
                kind_mask, compressed = 0xE0, True
            elif h & 0x40:  # definition message
                if p + 6 > end:
                    error = f"definition cut short at byte {p}"
                    break
                big = data[p + 2] == 1
                global_num = int.from_bytes(data[p + 3:p + 5], "big" if big else "little")
                count = data[p + 5]
                q = p + 6 + 3 * count
                raw = data[p + 6:q]
                fields = tuple((raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3))
                dev: tuple[tuple[int, int, int], ...] = ()
                if h & 0x20:
                    if q >= end:
                        error = f"definition cut short at byte {p}"
                        break
                    dev_count = data[q]
                    raw = data[q + 1:q + 1 + 3 * dev_count]
                    dev = tuple((raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3))
                    q += 1 + 3 * dev_count
                if q > end:
                    error = f"definition cut short at byte {p}"
                    break
                key = (global_num, big, fields, dev)
                if key not in known:
                    known[key] = len(definitions)
                    definitions.append(Definition(global_num, big, fields, dev))
                local[h & 0x0F] = known[key]
                p = q
                continue
            else:  # normal header: a data message
                d = local.get(h & 0x0F)
                kind_mask, compressed = 0xFF, False
            if d is None:
                error = f"data message at byte {p} uses local type {h & 0x0F} before any definition of it"
                break
            stride = definitions[d].size + 1
            # a run of messages with this same header: one comparison over the header bytes at the stride
            run = 1
            if p + 2 * stride <= end and (data[p + stride] & kind_mask) == (h & kind_mask):
                last = min(end - stride, p + stride * 4096)
                heads = buf[p:last + 1:stride]
                same = (heads & kind_mask) == (h & kind_mask)
                run = int(np.argmin(same)) if not same.all() else len(heads)
            if p + run * stride > end:
                run = (end - p) // stride
                if run == 0:
                    error = f"data message at byte {p} runs past the end of the data"
                    break
            defs_i.extend([d] * run)
            positions = range(p + 1, p + 1 + run * stride, stride)
            offs.extend(positions)
            if compressed:
                tss.extend((buf[p:p + run * stride:stride] & 0x1F).tolist())
            else:
                tss.extend([-1] * run)
            p += run * stride
        seg_parts.append(np.full(len(defs_i), segment, dtype=np.int16))
        def_parts.append(np.array(defs_i, dtype=np.int32))
        off_parts.append(np.array(offs, dtype=np.int64))
        ts_parts.append(np.array(tss, dtype=np.int16))
        pos = end + 2
        segment += 1
    cat = (lambda parts, t: np.concatenate(parts) if parts else np.zeros(0, dtype=t))  # noqa: E731
    return Framing(definitions, cat(def_parts, np.int32), cat(off_parts, np.int64), cat(ts_parts, np.int16),
                   cat(seg_parts, np.int16), error, crc_ok)


# --- decoding ---------------------------------------------------------------------------------------------


@dataclass
class RawGroup:
    """The messages of one definition: raw values per field number (a masked array: mask = invalid)."""

    definition: Definition
    order: np.ndarray  # position of each message in the file's sequence of data messages
    fields: dict[int, np.ma.MaskedArray | np.ndarray]  # field number -> raw values (strings: object array)
    base_types: dict[int, int]
    dev: dict[tuple[int, int], np.ndarray]  # (developer data index, field number) -> raw bytes per message


def _dtype(definition: Definition) -> tuple[np.dtype, dict[int, int]]:
    names: list[str] = []
    formats: list[Any] = []
    offsets: list[int] = []
    bases: dict[int, int] = {}
    at = 0
    order = ">" if definition.big_endian else "<"
    for num, size, base in definition.fields:
        base = base if base in BASE_TYPES else _BASE_BY_NUMBER.get(base & 0x1F, 0x0D)
        code, width, _ = BASE_TYPES[base]
        name = f"f{num}_{at}"
        if code == "S":
            formats.append(f"S{size}")
        elif size % width:
            formats.append(f"V{size}")  # a size that is no multiple of its type: unreadable, invalid
            base = -1
        elif size == width:
            formats.append(order + code)
        else:
            formats.append((order + code, (size // width,)))
        names.append(name)
        offsets.append(at)
        bases[len(names) - 1] = base
        at += size
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": max(at, 1)}), bases


def decode_groups(data: bytes, framing: Framing) -> list[RawGroup]:
    buf = np.frombuffer(data, dtype=np.uint8)
    groups = []
    by_definition = np.argsort(framing.def_index, kind="stable")
    bounds = np.searchsorted(framing.def_index[by_definition], np.arange(len(framing.definitions) + 1))
    for d, definition in enumerate(framing.definitions):
        order = by_definition[bounds[d]:bounds[d + 1]]
        if not len(order):
            continue
        offsets = framing.offsets[order]
        size = definition.size
        block = buf[offsets[:, None] + np.arange(max(size, 1))] if size else np.zeros((len(order), 1), np.uint8)
        dtype, bases = _dtype(definition)
        fixed_size = sum(s for _, s, _ in definition.fields)
        records = np.ascontiguousarray(block[:, :max(fixed_size, 1)]).view(dtype).reshape(-1)
        fields: dict[int, Any] = {}
        base_of: dict[int, int] = {}
        for i, (num, _size, _base) in enumerate(definition.fields):
            if num in fields:
                continue  # a field defined twice: the first wins
            raw = records[(dtype.names or ())[i]]
            base = bases[i]
            base_of[num] = base
            if base == -1:
                fields[num] = np.ma.masked_all(len(order), dtype=np.uint8)
                continue
            fields[num] = _invalid_masked(raw, base)
        dev = {}
        at = fixed_size
        for num, dsize, index in definition.dev_fields:
            dev[(index, num)] = block[:, at:at + dsize]
            at += dsize
        groups.append(RawGroup(definition, order, fields, base_of, dev))
    return groups


def _invalid_masked(raw: np.ndarray, base: int) -> Any:
    code, _, invalid = BASE_TYPES[base]
    if code == "S":
        return np.array([_text(b) for b in raw], dtype=object)
    if code in ("f4", "f8"):
        bits = raw.view(np.uint32 if code == "f4" else np.uint64)
        mask = bits == (0xFFFFFFFF if code == "f4" else 0xFFFFFFFFFFFFFFFF)
        return np.ma.MaskedArray(raw.astype(np.float64), mask=mask | ~np.isfinite(raw))
    mask = raw == invalid
    if raw.ndim == 2:  # an array field: invalid where every element is
        return np.ma.MaskedArray(raw, mask=mask)
    return np.ma.MaskedArray(raw, mask=mask)


def _text(value: bytes) -> str | None:
    text = value.split(b"\x00", 1)[0].decode("utf-8", errors="replace")
    return text or None


# --- meaning, from the FIT profile ------------------------------------------------------------------------


@functools.cache
def _profile() -> dict[str, Any]:
    from garmin_fit_sdk import Profile

    return Profile  # type: ignore[no-any-return]


_EPOCH_S = int(FIT_EPOCH.timestamp())


def _datetimes(seconds: np.ndarray) -> list[Any]:
    """FIT seconds -> naive UTC datetimes (as fitparse gives them), in one NumPy conversion."""
    return (seconds.astype(np.int64) + _EPOCH_S).astype("datetime64[s]").astype(object).tolist()  # type: ignore[no-any-return]


_TIME_TYPES = ("date_time", "local_date_time")


@dataclass
class Message:
    """One data message as a dictionary of named values, the way the connector has read fitparse's."""

    name: str
    values: dict[str, Any]
    dev: list[tuple[int, int, str, str | None, Any]] = field(default_factory=list)
    segment: int = 0


def _field_profile(global_num: int, num: int) -> dict[str, Any] | None:
    message = _profile()["messages"].get(global_num)
    return None if message is None else message["fields"].get(num)


def _message_name(global_num: int) -> str:
    message = _profile()["messages"].get(global_num)
    return message["name"] if message else f"unknown_{global_num}"


def convert(raw: Any, profile: dict[str, Any] | None) -> np.ndarray:
    """Raw values (masked: invalid) -> an object array of meaningful values (None where invalid)."""
    n = len(raw)
    out = np.empty(n, dtype=object)
    if raw.dtype == object:  # strings
        out[:] = list(raw)
        return out
    mask = np.ma.getmaskarray(raw)
    data = np.ma.getdata(raw)
    if data.ndim == 2:  # arrays: a list per message, None for each invalid element, None when all are
        kind = profile["type"] if profile else None
        for i in range(n):
            if mask[i].all():
                out[i] = None
            else:
                out[i] = [None if m else _scalar(v, profile, kind) for v, m in zip(data[i].tolist(), mask[i].tolist(),
                                                                                 strict=False)]
        return out
    kind = profile["type"] if profile else None
    values = data
    if profile is not None and kind not in _TIME_TYPES:
        scale, offset = profile["scale"][0], profile["offset"][0]
        if (scale != 1 or offset != 0) and kind not in _profile()["types"]:
            values = data / scale - offset
    listed = values.tolist()
    if kind == "date_time":  # below RELATIVE_LIMIT: seconds since the device powered on, left as a number
        absolute = data >= RELATIVE_LIMIT
        if absolute.all():
            listed = _datetimes(data)
        else:
            converted = _datetimes(data)
            listed = [c if a else v for c, a, v in zip(converted, absolute.tolist(), listed, strict=True)]
    elif kind == "local_date_time":
        listed = _datetimes(data)
    elif kind == "bool":
        listed = [bool(v) for v in listed]
    elif kind is not None and kind in _profile()["types"]:
        names = _profile()["types"][kind]
        listed = [names.get(v, v) for v in listed]
    out[:] = listed
    out[mask] = None
    return out


def _scalar(value: Any, profile: dict[str, Any] | None, kind: str | None) -> Any:
    if profile is None:
        return value
    if kind in _profile()["types"] and kind not in _TIME_TYPES:
        return _profile()["types"][kind].get(value, value)
    scale, offset = profile["scale"][0], profile["offset"][0]
    return value / scale - offset if (scale != 1 or offset != 0) else value


def _raw_int(raw: Any) -> tuple[np.ndarray, np.ndarray]:
    """A field's raw value as one unsigned integer per message (byte arrays little-endian), and validity."""
    data = np.ma.getdata(raw)
    mask = np.ma.getmaskarray(raw)
    if data.ndim == 2:
        width = data.dtype.itemsize * 8
        total = np.zeros(len(data), dtype=np.uint64)
        for j in range(data.shape[1]):
            total |= data[:, j].astype(np.uint64) << np.uint64(j * width)
        return total, np.asarray(~mask.all(axis=1))
    return data.astype(np.int64).astype(np.uint64), np.asarray(~mask)


def named_columns(groups: list[RawGroup], keep: dict[str, set[str]] | None = None) -> dict[int, dict[str, Any]]:
    """Per global message number: `order` (file positions) and `values` (name -> object array), every
    definition of that message merged, sub-fields and components expanded; accumulating components
    accumulate in file order. `keep` (message name -> field names) leaves every other field out."""
    by_global: dict[int, list[RawGroup]] = {}
    for g in groups:
        by_global.setdefault(g.definition.global_num, []).append(g)
    out: dict[int, dict[str, Any]] = {}
    for global_num, parts in by_global.items():
        order = np.concatenate([g.order for g in parts])
        sort = np.argsort(order, kind="stable")
        n = len(order)
        columns: dict[str, np.ndarray] = {}
        raws: dict[int, Any] = {}
        at = 0
        needed = None if keep is None else _needed(global_num, frozenset(keep.get(_message_name(global_num), ())))
        for g in parts:
            m = len(g.order)
            for num, raw in g.fields.items():
                profile = _field_profile(global_num, num)
                name = profile["name"] if profile else f"unknown_{num}"
                if needed is not None and name not in needed:
                    continue
                column = columns.setdefault(name, np.full(n, None, dtype=object))
                column[at:at + m] = convert(raw, profile)
                if raw.dtype != object and np.ma.getdata(raw).ndim == 1:
                    full = raws.setdefault(num, np.ma.masked_all(n, dtype=np.float64))
                    full[at:at + m] = raw.astype(np.float64)
                elif raw.dtype != object:
                    key = ("bytes", num)
                    full_int, valid = _raw_int(raw)
                    store = raws.setdefault(key, (np.zeros(n, np.uint64), np.zeros(n, bool)))  # type: ignore[call-overload]
                    store[0][at:at + m], store[1][at:at + m] = full_int, valid
            at += m
        for name, column in columns.items():
            columns[name] = column[sort]
        raws = {k: (v[sort] if not isinstance(v, tuple) else (v[0][sort], v[1][sort])) for k, v in raws.items()}
        _expand(global_num, columns, raws, n)
        out[global_num] = {"order": order[sort], "values": columns}
    return out


@functools.cache
def _needed(global_num: int, wanted: frozenset[str]) -> frozenset[str]:
    """The wanted fields of a message and those they are made from: component sources, fields whose
    sub-fields are wanted, and the reference fields that choose those sub-fields."""
    message = _profile()["messages"].get(global_num)
    if message is None:
        return wanted
    needed = set(wanted)
    for f in message["fields"].values():
        components = {message["fields"].get(c, {}).get("name") for c in f["components"]}
        subs = {sub["name"] for sub in f["sub_fields"]}
        if components & wanted or subs & wanted:
            needed.add(f["name"])
        if f["name"] in wanted or subs & wanted:
            needed |= {ref["name"] for sub in f["sub_fields"] for ref in sub["map"]}
    return frozenset(needed)


def _expand(global_num: int, columns: dict[str, np.ndarray], raws: dict[Any, Any], n: int) -> None:
    message = _profile()["messages"].get(global_num)
    if message is None:
        return
    fields = message["fields"]
    for num, profile in fields.items():
        if num not in raws and ("bytes", num) not in raws:
            continue
        if num in raws:
            raw = raws[num]
            valid = ~np.ma.getmaskarray(raw)
            value_int = np.where(valid, np.ma.getdata(raw), 0).astype(np.int64).astype(np.uint64)
        else:
            value_int, valid = raws[("bytes", num)]
        # sub-fields: the same value under another name and type where a reference field says so
        for sub in profile.get("sub_fields", []):
            chosen = np.zeros(n, dtype=bool)
            for ref in sub["map"]:
                ref_raw = raws.get(ref["num"])
                if ref_raw is not None:
                    chosen |= (~np.ma.getmaskarray(ref_raw)) & (np.ma.getdata(ref_raw) == ref["raw_value"])
            chosen &= valid
            if chosen.any():
                sub_profile = {**sub, "type": sub["type"]}
                target = columns.setdefault(sub["name"], np.full(n, None, dtype=object))
                raw_sub = np.ma.MaskedArray(np.ma.getdata(raws[num])[chosen] if num in raws else
                                            value_int[chosen].astype(np.float64))
                target[chosen] = convert(raw_sub, sub_profile)
        if not profile["has_components"] or not profile["components"]:
            continue
        shift = np.uint64(0)
        for i, target_num in enumerate(profile["components"]):
            bits = profile["bits"][i]
            target = fields.get(target_num)
            if target is None:
                break
            part = (value_int >> shift) & np.uint64((1 << bits) - 1)
            shift += np.uint64(bits)
            values = part.astype(np.float64)
            name = target["name"]
            # a declared field beats its expansion from a component (fitparse and the SDK agree)
            declared = columns[name] != None if name in columns else None  # noqa: E711 (elementwise)
            if target["is_accumulated"]:
                values = _accumulate(part.astype(np.int64), valid, bits, columns.get(name), declared,
                                     profile["scale"][i], profile["offset"][i])
            scaled = values / profile["scale"][i] - profile["offset"][i]
            column = columns.setdefault(name, np.full(n, None, dtype=object))
            fill = valid if declared is None else valid & ~declared
            if target["type"] in _profile()["types"] and target["type"] not in _TIME_TYPES:
                names = _profile()["types"][target["type"]]
                column[fill] = [names.get(int(v), int(v)) for v in scaled[fill]]
            else:
                column[fill] = scaled[fill].tolist()


def _accumulate(part: np.ndarray, valid: np.ndarray, bits: int, target: np.ndarray | None,
                declared: np.ndarray | None, scale: float, offset: float) -> np.ndarray:
    """A rolling-over counter (such as 12 bits of distance) as a running total, the way the FIT SDK
    accumulates: each valid value adds its difference from the last, modulo 2^bits; a message that
    declares the target field itself restarts the total at that value."""
    mask = (1 << bits) - 1
    out = np.full(len(part), np.nan)
    if declared is None or target is None or not declared.any():
        at = np.flatnonzero(valid)
        steps = np.diff(np.concatenate(([0], part[at]))) & mask
        out[at] = np.cumsum(steps)
        return out
    total = last = 0
    for i in range(len(part)):
        if declared[i]:
            total = last = int(round((float(target[i]) + offset) * scale))
        elif valid[i]:
            total += (int(part[i]) - last) & mask
            last = int(part[i])
            out[i] = total
    return out


def messages(data: bytes, wanted: set[str] | None = None, keep: dict[str, set[str]] | None = None,
             framing: Framing | None = None) -> tuple[list[Message], str | None]:
    """Every data message (or those named in `wanted`) in file order, and why decoding stopped early.
    With `keep` (message name -> field names), only those fields (and what they are made from)."""
    framing = framing or frame(data)
    groups = decode_groups(data, framing)
    if wanted is not None:  # what was asked, what carries developer fields, and what describes those
        groups = [g for g in groups if _message_name(g.definition.global_num) in wanted or g.dev
                  or g.definition.global_num == FIELD_DESCRIPTION]
    if keep is not None:
        keep = {**keep, "field_description": _DESCRIPTION_FIELDS}
    named = named_columns(groups, keep)
    _compressed_timestamps(framing, named)
    dev = _developer_values(groups, named)
    rows: list[tuple[int, Message]] = []
    for global_num, table in named.items():
        name = _message_name(global_num)
        keys = list(table["values"])
        columns = [table["values"][k] for k in keys]
        for i, position in enumerate(table["order"].tolist()):
            if wanted is not None and name not in wanted and position not in dev:
                continue
            values = {k: c[i] for k, c in zip(keys, columns, strict=True) if c[i] is not None}
            rows.append((position, Message(name, values, dev.get(position, []), int(framing.segments[position]))))
    rows.sort(key=lambda item: item[0])
    error = framing.error
    if error is None and not all(framing.crc_ok):
        error = "file CRC mismatch"
    return [m for _, m in rows], error


FIELD_DESCRIPTION = 206
_DESCRIPTION_FIELDS = {"developer_data_index", "field_definition_number", "fit_base_type_id", "field_name", "units"}


def _developer_values(groups: list[RawGroup], named: dict[int, dict[str, Any]]
                      ) -> dict[int, list[tuple[int, int, str, str | None, Any]]]:
    """Developer fields per message (by file position), named and typed by the field_description in
    force there (the last one before it: apps may describe a field number anew mid-file), as
    (developer data index, field number, name, units, value), the way fitparse gives them."""
    if not any(g.dev for g in groups):
        return {}
    described: dict[tuple[int, int], list[tuple[int, str, str | None, int]]] = {}
    table = named.get(FIELD_DESCRIPTION)
    if table is not None:
        v = table["values"]
        n = len(table["order"])

        def cell(name: str, i: int) -> Any:
            column = v.get(name)
            return None if column is None else column[i]

        base_numbers = {name: number for number, name in _profile()["types"]["fit_base_type"].items()}
        for i, position in enumerate(table["order"].tolist()[:n]):
            index, number, base = cell("developer_data_index", i), cell("field_definition_number", i), \
                cell("fit_base_type_id", i)
            base = base_numbers.get(base, base) if isinstance(base, str) else base
            if index is None or number is None or base is None:
                continue
            name = cell("field_name", i) or f"unnamed_dev_field_{number}"
            described.setdefault((int(index), int(number)), []).append((position, name, cell("units", i), int(base)))
    out: dict[int, list[tuple[int, int, str, str | None, Any]]] = {}
    for g in groups:
        if not g.dev:
            continue
        order = ">" if g.definition.big_endian else "<"
        positions = g.order
        columns: list[tuple[int, int, list[Any], list[Any], list[Any]]] = []
        for (index, number), block in g.dev.items():
            options = described.get((index, number)) or [(-1, f"unnamed_dev_field_{number}", None, 0x0D)]
            starts = np.array([o[0] for o in options])
            which = np.clip(np.searchsorted(starts, positions, side="right") - 1, 0, len(options) - 1)
            names: list[Any] = [None] * len(positions)
            units: list[Any] = [None] * len(positions)
            values: list[Any] = [None] * len(positions)
            for k in np.unique(which).tolist():
                rows = np.flatnonzero(which == k)
                _, name, unit, base = options[k]
                decoded = _dev_column(block[rows], base, order)
                for r, value in zip(rows.tolist(), decoded, strict=True):
                    names[r], units[r], values[r] = name, unit, value
            columns.append((index, number, names, units, values))
        for row, position in enumerate(positions.tolist()):
            out[position] = [(i, n, nm[row], un[row], va[row]) for i, n, nm, un, va in columns]
    return out


def _dev_column(block: np.ndarray, base: int, order: str) -> list[Any]:
    base = base if base in BASE_TYPES else _BASE_BY_NUMBER.get(base & 0x1F, 0x0D)
    code, width, invalid = BASE_TYPES[base]
    rows, size = block.shape
    if code == "S":
        return [_text(bytes(r)) for r in block]
    if size == 0 or size % width:
        return [None] * rows
    values = np.ascontiguousarray(block).view(np.dtype(order + code)).reshape(rows, size // width)
    if code in ("f4", "f8"):
        unsigned = np.dtype(order + ("u4" if code == "f4" else "u8"))
        bits = np.ascontiguousarray(block).view(unsigned).reshape(values.shape)
        bad = (bits == (0xFFFFFFFF if code == "f4" else 0xFFFFFFFFFFFFFFFF)) | ~np.isfinite(values)
    else:
        bad = values == invalid
    listed = values.tolist()
    out: list[Any] = []
    for r in range(rows):
        if bad[r].all():
            out.append(None)
        elif size // width == 1:
            out.append(listed[r][0])
        else:
            out.append(tuple(None if b else x for x, b in zip(listed[r], bad[r].tolist(), strict=True)))
    return out


def _compressed_timestamps(framing: Framing, named: dict[int, dict[str, Any]]) -> None:
    """Times of compressed-header messages: the last full timestamp, moved on by the 5-bit offset."""
    compressed = np.flatnonzero(framing.time_offsets >= 0)
    if not len(compressed):
        return
    n = len(framing.offsets)
    stamps = np.full(n, np.nan)
    where: dict[int, tuple[int, int]] = {}
    for global_num, table in named.items():
        column = table["values"].get("timestamp")
        for i, position in enumerate(table["order"].tolist()):
            where[position] = (global_num, i)
            value = None if column is None else column[i]
            if isinstance(value, datetime):
                stamps[position] = (value.replace(tzinfo=UTC) - FIT_EPOCH).total_seconds()
            elif isinstance(value, int):
                stamps[position] = value
    last = None
    for position in range(n):
        offset = int(framing.time_offsets[position])
        if offset < 0:
            if not np.isnan(stamps[position]):
                last = int(stamps[position])
            continue
        if last is None:
            continue
        base = last & ~0x1F
        last = base + offset if offset >= (last & 0x1F) else base + offset + 0x20
        global_num, i = where[position]
        table = named[global_num]
        column = table["values"].setdefault("timestamp", np.full(len(table["order"]), None, dtype=object))
        column[i] = FIT_EPOCH.replace(tzinfo=None) + timedelta(seconds=last) if last >= RELATIVE_LIMIT else last


__all__ = ["FitFormatError", "Framing", "Message", "RawGroup", "decode_groups", "frame", "messages",
           "named_columns"]
