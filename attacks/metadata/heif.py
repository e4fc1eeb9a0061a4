"""HEIF/HEIC/AVIF items: the Exif and XMP items found through ``iinf``/``iloc``/``idat``.

Hand-written because item locations are a small table that must be read with bounds (Pillow's
HEIF plugins decode pixels, not item tables). Items may lie anywhere, often after the image data
at the end of the file: ``iloc`` gives their extents (construction method 0 = file offsets,
1 = offsets into ``idat``); we read only those extents. The Exif and XMP bytes are handed to the
photo attacker's EXIF and XMP parsers.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from geoprivacy.attacks.metadata.isobmff import Box, Walker

MAX_ITEMS = 65_536
MAX_EXTENTS = 4_096
MAX_ITEM_BYTES = 16 * 1024 * 1024
XMP_MIME = "application/rdf+xml"


@dataclass
class Item:
    item_id: int
    item_type: str = ""
    content_type: str = ""
    method: int = 0
    base: int = 0
    extents: list[tuple[int, int]] = field(default_factory=list)   # (offset, length)


def parse_meta(walker: Walker, meta: Box) -> None:
    """The file-level ``meta`` box of a HEIF/AVIF image (a full box)."""
    items: dict[int, Item] = {}
    locations: dict[int, Item] = {}
    idat: Box | None = None
    for box in walker.children(meta.payload + 4, meta.end, 1, "meta"):
        if box.type == b"iinf":
            data = walker.payload(box)
            if data is not None:
                items = _parse_iinf(walker, box, data)
        elif box.type == b"iloc":
            data = walker.payload(box)
            if data is not None:
                locations = _parse_iloc(walker, data)
        elif box.type == b"idat":
            idat = box
    for item_id, item in items.items():
        kind = _metadata_kind(item)
        if kind is None:
            continue
        where = f"HEIF:{kind}"
        located = locations.get(item_id)
        if located is None:
            walker.warn_once(f"{where}: item {item_id} has no location in 'iloc'")
            continue
        data = _item_bytes(walker, located, idat, where)
        if data is None:
            continue
        if kind == "EXIF":
            _report_exif(walker, data, where)
        else:
            from geoprivacy.attacks.metadata.quicktime import report_xmp
            report_xmp(walker, data, where)


def _metadata_kind(item: Item) -> str | None:
    if item.item_type == "Exif":
        return "EXIF"
    if item.item_type == "mime" and item.content_type.lower().startswith(XMP_MIME):
        return "XMP"
    return None


def _parse_iinf(walker: Walker, box: Box, data: bytes) -> dict[int, Item]:
    if len(data) < 6:
        return {}
    version = data[0]
    start = 6 if version == 0 else 8
    items: dict[int, Item] = {}
    for infe in walker.children(box.payload + start, box.end, 2, "iinf"):
        if infe.type != b"infe":
            continue
        if len(items) >= MAX_ITEMS:
            break
        raw = walker.payload(infe, 64 * 1024)
        item = _parse_infe(raw or b"")
        if item is not None:
            items[item.item_id] = item
    return items


def _parse_infe(raw: bytes) -> Item | None:
    if len(raw) < 8:
        return None
    version = raw[0]
    if version < 2:
        item_id = struct.unpack_from(">H", raw, 4)[0]
        name_end = raw.find(b"\x00", 8)
        if name_end < 0:
            return Item(item_id)
        content, _, _ = raw[name_end + 1:].partition(b"\x00")
        return Item(item_id, "mime", content.decode("latin-1"))
    if version == 2:
        if len(raw) < 12:
            return None
        item_id = struct.unpack_from(">H", raw, 4)[0]
        pos = 8
    else:
        if len(raw) < 14:
            return None
        item_id = struct.unpack_from(">I", raw, 4)[0]
        pos = 10
    item_type = raw[pos:pos + 4].decode("latin-1")
    item = Item(item_id, item_type)
    if item_type == "mime":
        rest = raw[pos + 4:]
        _, _, after_name = rest.partition(b"\x00")
        content, _, _ = after_name.partition(b"\x00")
        item.content_type = content.decode("latin-1")
    return item


class _Reader:
    """Big-endian fields of variable width (0, 4 or 8 bytes) from a bytes buffer."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def uint(self, width: int) -> int:
        if width == 0:
            return 0
        if width not in (1, 2, 4, 8) or self.pos + width > len(self.data):
            raise EOFError
        value = int.from_bytes(self.data[self.pos:self.pos + width], "big")
        self.pos += width
        return value


def _parse_iloc(walker: Walker, data: bytes) -> dict[int, Item]:
    if len(data) < 8:
        return {}
    version = data[0]
    offset_size, length_size = data[4] >> 4, data[4] & 0x0F
    base_size, index_size = data[5] >> 4, data[5] & 0x0F
    if version == 0:
        index_size = 0
    reader = _Reader(data, 6)
    found: dict[int, Item] = {}
    try:
        count = reader.uint(2 if version < 2 else 4)
        for _ in range(min(count, MAX_ITEMS)):
            item_id = reader.uint(2 if version < 2 else 4)
            method = reader.uint(2) & 0x0F if version in (1, 2) else 0
            reader.uint(2)                               # data_reference_index
            base = reader.uint(base_size)
            extent_count = reader.uint(2)
            if extent_count > MAX_EXTENTS:
                walker.warn_once(f"'iloc' item {item_id} declares {extent_count} extents")
                break
            item = Item(item_id, method=method, base=base)
            for _ in range(extent_count):
                if index_size:
                    reader.uint(index_size)
                offset = reader.uint(offset_size)
                length = reader.uint(length_size)
                item.extents.append((offset, length))
            found[item_id] = item
    except EOFError:
        walker.warn_once("'iloc' box is cut off or uses an invalid field width")
    return found


def _item_bytes(walker: Walker, item: Item, idat: Box | None, where: str) -> bytes | None:
    """The concatenated extents of an item, checked against the file (or ``idat``) first."""
    if item.method == 0:
        area_start, area_end = 0, walker.src.size
    elif item.method == 1:
        if idat is None:
            walker.warn_once(f"{where}: item {item.item_id} points into a missing 'idat' box")
            return None
        area_start, area_end = idat.payload, idat.end
    else:
        walker.warn_once(f"{where}: item {item.item_id} uses construction method {item.method} "
                         "(item references), not read")
        return None
    parts: list[bytes] = []
    total = 0
    for offset, length in item.extents:
        start = area_start + item.base + offset
        if length == 0:                                   # "to the end of the data"
            length = area_end - start
        end = start + length
        if start < area_start or end > area_end:
            walker.warn_once(f"{where}: item {item.item_id} at offset {start} ({length} bytes) "
                             f"lies past the end of the {'file' if item.method == 0 else 'idat'} "
                             f"({area_end} bytes): truncated file, not checked")
            return None
        total += length
        if total > MAX_ITEM_BYTES:
            walker.warn_once(f"{where}: item {item.item_id} is larger than {MAX_ITEM_BYTES} bytes")
            return None
        parts.append(walker.src.read(start, length))
    return b"".join(parts)


def _report_exif(walker: Walker, data: bytes, where: str) -> None:
    """An Exif item: a 32-bit offset to the TIFF header, then the Exif block."""
    if len(data) < 4:
        walker.warn_once(f"{where}: Exif item too short")
        return
    offset = struct.unpack_from(">I", data, 0)[0]
    if 4 + offset >= len(data):
        walker.warn_once(f"{where}: Exif item's TIFF header offset {offset} is past its end")
        return
    try:
        from geoprivacy.attacks.metadata import exif
    except ImportError:
        walker.warn_once(f"{where}: Exif item not checked (EXIF parser unavailable)")
        return
    exif.parse_tiff_block(data[4 + offset:], walker.out, where)
