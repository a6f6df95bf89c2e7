"""Bytes of an XML activity file (GPX, TCX) to text the standard library parser accepts."""

from __future__ import annotations

import codecs
import math
import re

from connectors.base import CorruptFile

__all__ = ["finite_number", "stripped", "xml_text"]

_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_DECLARATION_ENCODING_ATTR = re.compile(r"""^(<\?xml[^>]*?)\s+encoding\s*=\s*(["'])[^"']*\2""")


def xml_text(data: bytes, path: str, warnings: list[str]) -> str:
    """The document as str, without a declared encoding: the parsers are handed text, not bytes.

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
        if encoding.lower().replace("-", "").replace("_", "") in ("utf16", "utf32", "ucs2"):
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
    return _DECLARATION_ENCODING_ATTR.sub(r"\1", text, count=1)


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
