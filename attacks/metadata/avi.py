"""RIFF AVI: the ``INFO`` text chunks, where a few cameras write a position.

Hand-written because we only walk chunk headers (bounded, never the ``movi`` media list) and
read the small INFO strings; an INFO value that states coordinates (ISO 6709 or a lat/lon
pair) is reported. Most AVI files carry no location at all.
"""

from __future__ import annotations

import struct

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source

MAX_DEPTH = 8
MAX_CHUNKS = 50_000
MAX_INFO_BYTES = 64 * 1024
SKIPPED_LISTS = {b"movi", b"rec "}


def parse(src: Source, out: Collector) -> None:
    """Walk the RIFF chunks of an AVI file and report positions stated in INFO strings."""
    if src.size < 12 or src.read(0, 4) != b"RIFF":
        raise ParseError("not a RIFF file")
    state = {"chunks": 0}
    pos = 0
    while src.size - pos >= 12:      # AVI files over 1 GB continue in further RIFF 'AVIX' lists
        kind, size = struct.unpack("<4sI", src.read(pos, 8))
        if kind != b"RIFF":
            break
        end = pos + 8 + size
        if end > src.size:
            out.warn(f"RIFF list at offset {pos} declares {size} bytes, past the end of the file")
            end = src.size
        _walk(src, out, pos + 12, end, 1, state, None)
        pos = end + (size & 1)


def _walk(src: Source, out: Collector, start: int, end: int, depth: int, state: dict[str, int],
          list_type: bytes | None) -> None:
    if depth > MAX_DEPTH:
        out.warn("RIFF lists nested too deeply: not walked")
        return
    pos = start
    while end - pos >= 8:
        state["chunks"] += 1
        if state["chunks"] > MAX_CHUNKS:
            raise ParseError(f"more than {MAX_CHUNKS} RIFF chunks")
        kind, size = struct.unpack("<4sI", src.read(pos, 8))
        body = pos + 8
        if body + size > end:
            out.warn(f"chunk '{kind.decode('latin-1')}' at offset {pos} declares {size} bytes, "
                     "past the end of its list")
            size = end - body
        if kind == b"LIST" and size >= 4:
            sub = src.read(body, 4)
            if sub not in SKIPPED_LISTS:
                _walk(src, out, body + 4, body + size, depth + 1, state, sub)
        elif list_type == b"INFO" and 0 < size <= MAX_INFO_BYTES:
            _info(out, kind.decode("latin-1"), src.read(body, size))
        pos = body + size + (size & 1)


def _info(out: Collector, tag: str, raw: bytes) -> None:
    from geoprivacy.attacks.metadata.quicktime import parse_iso6709
    from geoprivacy.attacks.metadata.subtitles import fixes_from_text

    text = raw.split(b"\x00", 1)[0].decode("utf-8", "replace").strip()
    if not text:
        return
    where = f"AVI:INFO:{tag}"
    parsed = parse_iso6709(text)
    if parsed is not None:
        lat, lon, alt, step = parsed
        out.position(where, lat, lon, step_deg=step, detail={"value": text[:100]})
        return
    fixes = fixes_from_text(text, None)
    if fixes:
        fix = fixes[0][1]
        out.position(where, fix.lat, fix.lon, detail={"value": text[:100]})
