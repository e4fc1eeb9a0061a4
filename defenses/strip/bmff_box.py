"""A small bounded ISO-BMFF box reader and box builder for the strip writers.

Hand-written because the writer needs exact byte positions of every header and payload (to copy,
patch or rebuild them) and bounded reads on hostile sizes; no maintained Python library gives both.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterator

from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source

MAX_BOXES = 100_000        # boxes one container may hold before we call the file hostile
MAX_DEPTH = 16             # nesting depth we follow
MAX_META_BYTES = 64 * 1024 * 1024  # largest moov / meta / item we load into memory

# Containers whose children are plain boxes (no header fields before the first child).
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"edts", b"dinf",
              b"tref", b"mvex", b"moof", b"traf", b"iprp", b"ipco", b"meco", b"gmhd"}


def fourcc(data: bytes) -> str:
    """A box type as printable text (``©xyz`` for 0xA9 ``xyz``; other bytes as ``\\xNN``)."""
    text = data.decode("latin-1")
    if all(c.isprintable() for c in text):
        return text
    return "".join(c if c.isprintable() and c != "\\" else f"\\x{ord(c):02x}" for c in text)


@dataclass(frozen=True)
class Box:
    """One box: type, where it starts, its header length and its total size (all absolute)."""

    type: bytes
    offset: int
    header: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def payload_start(self) -> int:
        return self.offset + self.header

    @property
    def name(self) -> str:
        return fourcc(self.type)


def parse_header(head: bytes, offset: int, limit: int, where: str) -> Box:
    """Decode one box header at ``offset`` from the bytes ``head`` (at least 8, 16 if largesize).

    ``limit`` is the end of the parent; a box running past it is an error (truncated or hostile).
    """
    if len(head) < 8:
        raise ParseError(f"truncated box header at offset {offset} in {where}")
    size, btype = struct.unpack(">I4s", head[:8])
    header = 8
    if size == 1:
        if len(head) < 16:
            raise ParseError(f"truncated 64-bit box size at offset {offset} in {where}")
        size = struct.unpack(">Q", head[8:16])[0]
        header = 16
    elif size == 0:
        size = limit - offset
    if btype == b"uuid":
        header += 16
    if size < header:
        raise ParseError(f"box '{fourcc(btype)}' at offset {offset} in {where} declares "
                         f"{size} bytes, less than its header")
    if offset + size > limit:
        raise ParseError(f"box '{fourcc(btype)}' at offset {offset} runs {offset + size - limit} "
                         f"bytes past the end of {where} (truncated file?)")
    return Box(btype, offset, header, size)


def iter_file(src: Source, start: int, end: int, where: str) -> Iterator[Box]:
    """The boxes laid out between ``start`` and ``end`` of a file, headers read from ``src``."""
    pos = start
    count = 0
    while pos < end:
        count += 1
        if count > MAX_BOXES:
            raise ParseError(f"more than {MAX_BOXES} boxes in {where}")
        if end - pos < 8:
            raise ParseError(f"{end - pos} stray bytes at offset {pos} in {where}")
        head = src.read(pos, min(16, end - pos))
        box = parse_header(head, pos, end, where)
        yield box
        pos = box.end


def iter_bytes(data: bytes, start: int, end: int, where: str, base: int = 0) -> Iterator[Box]:
    """The boxes inside ``data[start:end]``; offsets are relative to ``data`` (plus ``base``)."""
    pos = start
    count = 0
    while pos < end:
        count += 1
        if count > MAX_BOXES:
            raise ParseError(f"more than {MAX_BOXES} boxes in {where}")
        if end - pos < 8:
            raise ParseError(f"{end - pos} stray bytes at offset {base + pos} in {where}")
        box = parse_header(data[pos:min(pos + 24, end)], pos, end, where)
        yield box
        pos = box.end


def child(data: bytes, parent: Box, btype: bytes, skip: int = 0) -> Box | None:
    """The first child of type ``btype`` of ``parent`` (a box inside ``data``)."""
    for box in iter_bytes(data, parent.payload_start + skip, parent.end, parent.name):
        if box.type == btype:
            return box
    return None


def path(data: bytes, parent: Box, *types: bytes) -> Box | None:
    """Follow a chain of first children (``path(d, trak, b"mdia", b"hdlr")``)."""
    box: Box | None = parent
    for btype in types:
        if box is None:
            return None
        box = child(data, box, btype)
    return box


def build(btype: bytes, payload: bytes) -> bytes:
    """A box with a 32-bit size (or a 64-bit one when the payload needs it)."""
    size = 8 + len(payload)
    if size <= 0xFFFFFFFF:
        return struct.pack(">I4s", size, btype) + payload
    return struct.pack(">I4sQ", 1, btype, size + 8) + payload


def free_box(size: int) -> bytes:
    """A ``free`` box of exactly ``size`` bytes (size >= 8), its payload zero."""
    if size < 8:
        raise ValueError("a free box needs at least 8 bytes")
    if size <= 0xFFFFFFFF:
        return struct.pack(">I4s", size, b"free") + bytes(size - 8)
    return struct.pack(">I4sQ", 1, b"free", size) + bytes(size - 16)


def meta_skip(data: bytes, meta: Box) -> int:
    """Bytes between a ``meta`` header and its first child: 4 for the ISO full box, 0 for QuickTime.

    QuickTime writes ``meta`` as a plain container, ISO-BMFF as a full box; tell them apart by
    where the ``hdlr`` child starts.
    """
    p = meta.payload_start
    if data[p + 4:p + 8] == b"hdlr" and meta.size - meta.header >= 8:
        return 0
    return 4


def handler_type(data: bytes, meta_or_mdia: Box, skip: int = 0) -> bytes:
    """The ``hdlr`` handler type under a ``meta`` or ``mdia`` box (b"" when absent)."""
    hdlr = child(data, meta_or_mdia, b"hdlr", skip)
    if hdlr is None or hdlr.size - hdlr.header < 12:
        return b""
    p = hdlr.payload_start
    return data[p + 8:p + 12]
