"""Plan the edits that clean a HEIF/HEIC/AVIF image: its Exif and XMP items, edited in place.

Items keep their size, so ``iloc`` and every image item stay exactly as they were: the Exif GPS
IFD is cut out of its TIFF block (``exif_edit.strip_gps``) and XMP is cleaned and padded with
spaces (``xmp_edit``). Items may lie anywhere in the file (``mdat`` at the end, ``idat``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from geoprivacy.defenses.strip import bmff_box as bb
from geoprivacy.defenses.strip.bmff_box import Box
from geoprivacy.defenses.strip.bmff_write import Edit
from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source

MAX_ITEMS = 65_536
EMPTY_XMP = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
             b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/><?xpacket end="w"?>')


@dataclass(frozen=True)
class Item:
    """An item from ``iinf``: its id, type and MIME content type."""

    item_id: int
    type: bytes
    content_type: str = ""
    encoding: str = ""


def plan(src: Source, meta_box: Box, all_metadata: bool) -> tuple[list[Edit], list[str]]:
    """Edits of the Exif and XMP items described by the top-level ``meta`` box."""
    if meta_box.size > bb.MAX_META_BYTES:
        raise ParseError(f"'meta' of {meta_box.size} bytes is too large")
    data = src.read(meta_box.offset, meta_box.size)
    meta = bb.parse_header(data[:16], 0, len(data), "meta")
    kids = {b.type: b for b in bb.iter_bytes(data, meta.payload_start + 4, meta.end, "meta")}
    if b"iinf" not in kids or b"iloc" not in kids:
        return [], []
    items = _iinf(data, kids[b"iinf"])
    locations = _iloc(data, kids[b"iloc"])
    idat = kids.get(b"idat")
    idat_start = meta_box.offset + idat.payload_start if idat else None
    edits: list[Edit] = []
    removed: list[str] = []
    for item in items:
        is_exif = item.type == b"Exif"
        is_xmp = item.type == b"mime" and item.content_type.split(";")[0].strip() in (
            "application/rdf+xml", "application/xmp+xml", "text/xml")
        if not (is_exif or is_xmp):
            continue
        if item.item_id not in locations:
            raise ParseError(f"item {item.item_id} has no 'iloc' entry")
        extents = _extents(locations[item.item_id], idat_start, idat, src.size)
        body = bytearray(b"".join(src.read(a, b - a) for a, b in extents))
        if is_exif:
            gone = _clean_exif(body, all_metadata)
        else:
            if item.encoding:
                raise ParseError(f"XMP item {item.item_id} is {item.encoding}-encoded; "
                                 "cannot clean it in place")
            gone = _clean_xmp(body, all_metadata)
        if gone:
            removed.extend(gone)
            pos = 0
            for a, b in extents:
                edits.append(Edit(a, b, bytes(body[pos:pos + b - a])))
                pos += b - a
    return edits, removed


def _clean_exif(body: bytearray, all_metadata: bool) -> list[str]:
    from geoprivacy.defenses.strip import exif_edit

    if len(body) < 4:
        raise ParseError("Exif item shorter than its header")
    start = 4 + struct.unpack_from(">I", body)[0]
    if body[start:start + 6] == b"Exif\x00\x00":
        start += 6
    if start + 8 > len(body):
        raise ParseError("Exif item's TIFF header offset points past the item")
    gone = exif_edit.strip_gps(body, start, len(body), prefix="HEIF:EXIF")
    if all_metadata:
        order = bytes(body[start:start + 4])
        if order not in (b"II*\x00", b"MM\x00*"):
            raise ParseError("Exif item does not hold a TIFF header")
        body[start:] = bytes(len(body) - start)
        body[start:start + 4] = order
        struct.pack_into("<I" if order[:2] == b"II" else ">I", body, start + 4, 8)
        gone.append("HEIF:EXIF")
    return gone


def _clean_xmp(body: bytearray, all_metadata: bool) -> list[str]:
    from geoprivacy.defenses.strip import xmp_edit

    if all_metadata:
        empty = EMPTY_XMP if len(EMPTY_XMP) <= len(body) else b""
        body[:] = xmp_edit.pad(empty, len(body)) if empty else b" " * len(body)
        return ["HEIF:XMP"]
    cleaned, gone = xmp_edit.clean_xmp(bytes(body), same_size=True)
    if len(cleaned) != len(body):
        raise ParseError("cleaned XMP item changed size")
    body[:] = cleaned
    return [f"HEIF:{w}" for w in gone]


def _iinf(data: bytes, box: Box) -> list[Item]:
    p = box.payload_start
    if p + 6 > box.end:
        raise ParseError("'iinf' too short")
    version = data[p]
    start = p + (6 if version == 0 else 8)
    items = []
    for infe in bb.iter_bytes(data, start, box.end, "iinf"):
        if infe.type != b"infe":
            continue
        if len(items) >= MAX_ITEMS:
            raise ParseError(f"more than {MAX_ITEMS} items")
        items.append(_infe(data, infe))
    return items


def _infe(data: bytes, box: Box) -> Item:
    p, end = box.payload_start, box.end
    if p + 4 > end:
        raise ParseError("'infe' too short")
    version = data[p]
    if version < 2:
        if p + 8 > end:
            raise ParseError("'infe' too short")
        item_id = struct.unpack_from(">H", data, p + 4)[0]
        return Item(item_id, b"")  # version 0/1 items carry no type: not Exif/XMP by type
    width = 2 if version == 2 else 4
    if p + 4 + width + 6 > end:
        raise ParseError("'infe' too short")
    item_id = int.from_bytes(data[p + 4:p + 4 + width], "big")
    pos = p + 4 + width + 2
    itype = data[pos:pos + 4]
    strings = data[pos + 4:end].split(b"\x00")
    content_type = strings[1].decode("utf-8", "replace") if itype == b"mime" and len(strings) > 1 \
        else ""
    encoding = strings[2].decode("utf-8", "replace") if itype == b"mime" and len(strings) > 2 \
        else ""
    return Item(item_id, itype, content_type, encoding)


@dataclass(frozen=True)
class Location:
    """One ``iloc`` entry: construction method, base offset and (offset, length) extents."""

    method: int
    base: int
    extents: tuple[tuple[int, int], ...]


def _iloc(data: bytes, box: Box) -> dict[int, Location]:
    p, end = box.payload_start, box.end
    reader = _Reader(data, p, end)
    version = reader.uint(1)
    reader.uint(3)
    sizes = reader.uint(1)
    off_size, len_size = sizes >> 4, sizes & 0xF
    sizes = reader.uint(1)
    base_size, index_size = sizes >> 4, (sizes & 0xF if version in (1, 2) else 0)
    if any(s not in (0, 4, 8) for s in (off_size, len_size, base_size, index_size)):
        raise ParseError("'iloc' uses field sizes other than 0, 4 or 8 bytes")
    count = reader.uint(2 if version < 2 else 4)
    if count > MAX_ITEMS:
        raise ParseError(f"'iloc' declares {count} items")
    out: dict[int, Location] = {}
    for _ in range(count):
        item_id = reader.uint(2 if version < 2 else 4)
        method = reader.uint(2) & 0xF if version in (1, 2) else 0
        reader.uint(2)  # data_reference_index
        base = reader.uint(base_size)
        n = reader.uint(2)
        extents = []
        for _ in range(n):
            reader.uint(index_size)
            extents.append((reader.uint(off_size), reader.uint(len_size)))
        out[item_id] = Location(method, base, tuple(extents))
    return out


def _extents(loc: Location, idat_start: int | None, idat: Box | None,
             file_size: int) -> list[tuple[int, int]]:
    """Absolute file ranges of an item, checked against the file (or the idat box)."""
    if loc.method == 0:
        start, limit = 0, file_size
    elif loc.method == 1:
        if idat is None or idat_start is None:
            raise ParseError("item stored in 'idat' but the file has none")
        start, limit = idat_start, idat_start + (idat.end - idat.payload_start)
    else:
        raise ParseError("Exif/XMP item built from other items: not supported")
    out = []
    total = 0
    for offset, length in loc.extents:
        a = start + loc.base + offset
        b = limit if length == 0 and len(loc.extents) == 1 else a + length
        if b > limit or a > b:
            raise ParseError(f"item data at {a}..{b} lies past the end of the file "
                             "(truncated file?)")
        total += b - a
        if total > bb.MAX_META_BYTES:
            raise ParseError("Exif/XMP item is too large")
        out.append((a, b))
    return out


class _Reader:
    """Big-endian integers of 0, 1, 2, 3, 4 or 8 bytes, bounded by ``end``."""

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data, self.pos, self.end = data, pos, end

    def uint(self, n: int) -> int:
        if self.pos + n > self.end:
            raise ParseError("'iloc' is truncated")
        value = int.from_bytes(self.data[self.pos:self.pos + n], "big")
        self.pos += n
        return value
