"""Bytes of an XML activity file (GPX, TCX) to text the standard library parser accepts, once the file
has shown it is not hostile.

GPX and TCX never need a document type declaration, and a DTD is where XML's dangers live: entities that
expand a kilobyte into gigabytes ("billion laughs"), external entities that read other files or reach the
network, parameter entities that do either before the document starts. A file that declares one is
refused with that reason, whatever a parser would have made of it. Nesting is bounded too: GPX and TCX
nest about ten deep, and a file nested hundreds of thousands deep crashes the standard library's parser
(a segmentation fault, which would take an import's worker down with it), so the depth is counted on the
bytes before any parser sees them.
"""

from __future__ import annotations

import codecs
import math
import re

import numpy as np

from connectors.base import CorruptFile

__all__ = ["finite_number", "stripped", "xml_text"]

MAX_DEPTH = 1_000  # elements inside elements; GPX and TCX files nest about ten deep
_PROLOG_CHARS = 1 << 16  # where a DTD would be: before the root element, after a declaration and comments

_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_DECLARATION_ENCODING_ATTR = re.compile(r"""^(<\?xml[^>]*?)\s+encoding\s*=\s*(["'])[^"']*\2""")


def xml_text(data: bytes, path: str, warnings: list[str], kind: str) -> str:
    """The document as str, without a declared encoding: the parsers are handed text, not bytes. A `kind`
    file (GPX, TCX) with a DTD or nested beyond MAX_DEPTH raises CorruptFile with the reason.

    Byte-order marks first, then the declaration; a mis-declared 8-bit encoding is decoded with
    replacement characters and a warning, since device names are where it goes wrong and numbers are ASCII.
    """
    if data.startswith(codecs.BOM_UTF8):
        encoding, data = "utf-8", data[len(codecs.BOM_UTF8):]
    elif data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: FF FE prefixes both
        encoding = "utf-32"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif data.startswith(b"<\x00?\x00"):
        encoding = "utf-16-le"
    elif data.startswith(b"\x00<\x00?"):
        encoding = "utf-16-be"
    else:
        declared = _DECLARED_ENCODING.match(data)
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
        if _plain(encoding) in ("utf16", "utf32", "ucs2"):
            encoding = "utf-8"  # declared wide but written without a BOM or NULs: the bytes are 8-bit
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise CorruptFile(path, f"unknown XML encoding {encoding!r}") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        # Device names in mis-declared encodings are common; the numbers are ASCII either way.
        text = data.decode(encoding, errors="replace")
        warnings.append(f"bytes not valid {encoding} ({e.reason} at byte {e.start}); replaced")
    stripped = text.lstrip("\ufeff \t\r\n")  # a declaration must start the document
    if stripped.startswith("<?xml") and len(stripped) < len(text.lstrip("\ufeff")):
        warnings.append("blank space before the XML declaration removed")
    text = stripped
    if _declares_dtd(text[:_PROLOG_CHARS]):
        raise CorruptFile(path, f"{kind} file declares a DTD (<!DOCTYPE ...>), which {kind} never needs: its "
                                "entities could expand without bound, read other files or reach the network, so the "
                                "file is not read")
    depth = _deepest(data if _plain(encoding) in _ASCII_BASED else text.encode("utf-8"))
    if depth > MAX_DEPTH:
        raise CorruptFile(path, f"{kind} file nests its elements {depth} deep (more than {MAX_DEPTH}): built to "
                                "exhaust a parser, not read")
    return _DECLARATION_ENCODING_ATTR.sub(r"\1", text, count=1)


def _plain(encoding: str) -> str:
    return encoding.lower().replace("-", "").replace("_", "")


# encodings in which '<', '>', '/', '?' and '!' are the ASCII bytes (the depth is counted on the bytes)
_ASCII_BASED = {"utf8", "ascii", "usascii", "latin1", "iso88591", "iso885915", "cp1252", "windows1252"}


def _declares_dtd(prolog: str) -> bool:
    """Whether a <!DOCTYPE comes before the root element (after the declaration, comments, PIs, blanks)."""
    at = 0
    while (at := prolog.find("<", at)) >= 0:
        if prolog.startswith("<?", at):
            at = prolog.find("?>", at)
        elif prolog.startswith("<!--", at):
            at = prolog.find("-->", at)
        else:
            return prolog[at:at + 9].upper() == "<!DOCTYPE"  # else the root element: no DTD can follow
        if at < 0:
            return False
    return False


def _deepest(data: bytes) -> int:
    """The deepest nesting of elements, from the markup's bytes: a start tag opens a level unless it closes
    itself (`/>`), an end tag closes one, `<?` and `<!` leave the depth as it is. Markup inside comments
    and CDATA can only make a file look deeper, never shallower."""
    buf = np.frombuffer(data, dtype=np.uint8)
    opens = np.flatnonzero(buf == ord("<"))
    if not len(opens):
        return 0
    closes = np.flatnonzero(buf == ord(">"))
    after = buf[np.minimum(opens + 1, len(buf) - 1)]
    end = np.searchsorted(closes, opens)
    shut = np.zeros(len(opens), dtype=bool)
    found = end < len(closes)
    shut[found] = buf[closes[end[found]] - 1] == ord("/")
    step = np.where(after == ord("/"), -1, np.where((after == ord("?")) | (after == ord("!")) | shut, 0, 1))
    return int(np.cumsum(step).max())


def finite_number(text: str | None) -> float | None:
    """An element's text as a finite float, or None (absent, empty, not a number, NaN or infinite)."""
    if text is None:
        return None
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def stripped(value: str | None) -> str | None:
    """Text without surrounding blanks; None when nothing is left."""
    if value is None:
        return None
    value = value.strip()
    return value or None
