"""Connectors: bytes of one file in, decoded activities (or a typed InputError) out."""

from __future__ import annotations

from connectors.base import (
    ActivityMeta,
    CorruptFile,
    DecodedActivity,
    InputError,
    KindpaceError,
    NotAnActivity,
    Unavailable,
    UnsupportedFormat,
)

__all__ = [
    "ActivityMeta",
    "CorruptFile",
    "DecodedActivity",
    "InputError",
    "KindpaceError",
    "NotAnActivity",
    "Unavailable",
    "UnsupportedFormat",
    "decode_file",
    "sniff_format",
]

_TEXT_PEEK = 4096


def sniff_format(data: bytes, path: str) -> str | None:
    """'fit', 'gpx', 'tcx' or None, from the content first and the file name second."""
    from connectors.fit import looks_like_fit

    if looks_like_fit(data):
        return "fit"
    head = data[:_TEXT_PEEK]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode()
    lowered = head.lower()
    if b"<gpx" in lowered:
        return "gpx"
    if b"<trainingcenterdatabase" in lowered:
        return "tcx"
    suffix = path.lower().rsplit(".", 1)[-1] if "." in path else ""
    return suffix if suffix in ("fit", "gpx", "tcx") else None


def decode_file(data: bytes, path: str, fit_decoder: str | None = None) -> list[DecodedActivity]:
    """Decode one file of any supported format, or raise an InputError subclass. `fit_decoder`:
    fitvec or fitparse (default: KINDPACE_FIT_DECODER, else fitvec)."""
    kind = sniff_format(data, path)
    if kind == "fit":
        from connectors.fit import decode_fit

        return decode_fit(data, path, fit_decoder)
    if kind == "gpx":
        from connectors.gpx import decode_gpx

        return decode_gpx(data, path)
    if kind == "tcx":
        from connectors.tcx import decode_tcx

        return decode_tcx(data, path)
    raise UnsupportedFormat(path, "not a FIT, GPX or TCX file")
