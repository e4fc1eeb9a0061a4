"""Rebuild a ``moov`` box without its location atoms, keys and tracks.

Works on the moov bytes in memory (moov holds only tables, never media). Containers are rebuilt
child by child; leaves we do not touch are copied byte for byte, so the tkhd matrix, durations,
edit lists and sample tables of kept tracks stay exactly as written (only chunk offsets move,
and only when the caller asks for a shift).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from geoprivacy.defenses.strip import bmff_box as bb
from geoprivacy.defenses.strip.bmff_box import Box
from geoprivacy.errors import ParseError

XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")

# udta children that are positions, with the ``where`` the audit gives them.
UDTA_LOCATION = {b"\xa9xyz": "QuickTime:©xyz", b"@xyz": "QuickTime:@xyz", b"loci": "3GPP:loci",
                 b"udat": "QuickTime:udat", b"gps ": "Novatek:freeGPS", b"GPS ": "70mai:GPS"}
# iTunes-style ilst items (meta handler 'mdir') that are positions.
ILST_LOCATION = {b"\xa9xyz": "QuickTime:©xyz"}
# Boxes whose header starts with creation and modification times (--all zeroes them).
TIMED = {b"mvhd", b"tkhd", b"mdhd"}


@dataclass
class Context:
    """What the rebuild needs to know and what it found."""

    drop_ids: set[int]                 # track_IDs of the tracks that go
    drop_traks: set[int]               # offsets (in moov bytes) of those trak boxes
    all_metadata: bool = False
    shift_from: int = 0                # chunk offsets >= this move by ``shift`` ...
    shift: int = 0                     # ... bytes (when the moov changes size before mdat)
    removed: list[str] = field(default_factory=list)
    novatek: list[Box] = field(default_factory=list)  # moov/gps  boxes (tables of freeGPS blocks)


def rebuild(moov: bytes, ctx: Context) -> bytes:
    """The new moov box for the moov box held in ``moov`` (which starts at byte 0)."""
    top = bb.parse_header(moov[:16], 0, len(moov), "moov")
    out = _container(moov, top, ctx, depth=0)
    if out is None:
        raise ParseError("moov box would be empty")
    return out


def _container(data: bytes, box: Box, ctx: Context, depth: int, skip: int = 0) -> bytes | None:
    if depth > bb.MAX_DEPTH:
        raise ParseError(f"boxes nested deeper than {bb.MAX_DEPTH} levels")
    parts = [data[box.payload_start:box.payload_start + skip]]
    for kid in bb.iter_bytes(data, box.payload_start + skip, box.end, box.name):
        new = _box(data, kid, box.type, ctx, depth + 1)
        if new is not None:
            parts.append(new)
    return bb.build(box.type, b"".join(parts))


def _box(data: bytes, box: Box, parent: bytes, ctx: Context, depth: int) -> bytes | None:
    """The rewritten box, or None when it goes."""
    btype = box.type
    raw = data[box.offset:box.end]
    if btype == b"trak":
        return None if box.offset in ctx.drop_traks else _container(data, box, ctx, depth)
    if btype == b"udta":
        return _udta(data, box, ctx, depth)
    if btype == b"meta":
        return _meta(data, box, ctx, depth)
    if btype == b"tref":
        return _tref(data, box, ctx)
    if btype == b"uuid" and data[box.payload_start - 16:box.payload_start] == XMP_UUID:
        return _xmp_box(data, box, ctx, "QuickTime")
    if btype == b"gps " and parent == b"moov":
        ctx.novatek.append(box)
        ctx.removed.append("Novatek:freeGPS")
        return None
    if btype in (b"stco", b"co64") and ctx.shift:
        return _shift(raw, btype, ctx)
    if btype in TIMED and ctx.all_metadata:
        return _zero_times(raw)
    if btype in bb.CONTAINERS:
        return _container(data, box, ctx, depth)
    return raw


def _udta(data: bytes, box: Box, ctx: Context, depth: int) -> bytes | None:
    parts = []
    for kid in bb.iter_bytes(data, box.payload_start, box.end, "udta"):
        if kid.type in UDTA_LOCATION:
            ctx.removed.append(UDTA_LOCATION[kid.type])
            continue
        if kid.type == b"XMP_":
            new = _xmp_box(data, kid, ctx, "QuickTime")
        elif kid.type == b"meta":
            new = _meta(data, kid, ctx, depth + 1)
        elif kid.type == b"uuid" and data[kid.payload_start - 16:kid.payload_start] == XMP_UUID:
            new = _xmp_box(data, kid, ctx, "QuickTime")
        else:
            new = data[kid.offset:kid.end]
        if new is not None:
            parts.append(new)
    if ctx.all_metadata:
        ctx.removed.append("QuickTime:udta")
        return None
    return bb.build(b"udta", b"".join(parts))


def _meta(data: bytes, box: Box, ctx: Context, depth: int) -> bytes | None:
    """A QuickTime ``mdta`` (keys + ilst) or iTunes ``mdir`` meta without location items."""
    skip = bb.meta_skip(data, box)
    handler = bb.handler_type(data, box, skip)
    kids = list(bb.iter_bytes(data, box.payload_start + skip, box.end, "meta"))
    keys = next((k for k in kids if k.type == b"keys"), None)
    ilst = next((k for k in kids if k.type == b"ilst"), None)
    new_keys = new_ilst = None
    if handler == b"mdta" and keys is not None:
        new_keys, new_ilst = _keys_ilst(data, keys, ilst, ctx)
    elif ilst is not None:
        new_ilst = _ilst_by_type(data, ilst, ctx)
    parts = [data[box.payload_start:box.payload_start + skip]]
    for kid in kids:
        if kid is keys and new_keys is not None:
            parts.append(new_keys)
        elif kid is ilst and new_ilst is not None:
            parts.append(new_ilst)
        elif kid.type == b"uuid" and data[kid.payload_start - 16:kid.payload_start] == XMP_UUID:
            new = _xmp_box(data, kid, ctx, "QuickTime")
            if new is not None:
                parts.append(new)
        else:
            parts.append(data[kid.offset:kid.end])
    if ctx.all_metadata and handler in (b"mdta", b"mdir", b"ID32", b""):
        ctx.removed.append("QuickTime:meta")
        return None
    return bb.build(b"meta", b"".join(parts))


def _keys_ilst(data: bytes, keys: Box, ilst: Box | None,
               ctx: Context) -> tuple[bytes, bytes | None]:
    """keys and ilst without the location keys; remaining keys renumbered 1..n in order."""
    p = keys.payload_start
    if p + 8 > keys.end:
        raise ParseError("'keys' box too short")
    count = struct.unpack_from(">I", data, p + 4)[0]
    entries: list[tuple[str, bytes]] = []
    pos = p + 8
    for _ in range(count):
        if pos + 8 > keys.end:
            raise ParseError("'keys' box declares more entries than it holds")
        size = struct.unpack_from(">I", data, pos)[0]
        if size < 8 or pos + size > keys.end:
            raise ParseError("'keys' entry runs past its box")
        entries.append((data[pos + 8:pos + size].decode("utf-8", "replace"), data[pos:pos + size]))
        pos += size
    renumber: dict[int, int] = {}
    kept: list[bytes] = []
    for i, (name, raw) in enumerate(entries, start=1):
        if "location" in name.lower():
            ctx.removed.append(f"QuickTime:keys:{name}")
        else:
            kept.append(raw)
            renumber[i] = len(kept)
    new_keys = bb.build(b"keys", data[p:p + 4] + struct.pack(">I", len(kept)) + b"".join(kept))
    if ilst is None:
        return new_keys, None
    items = []
    for item in bb.iter_bytes(data, ilst.payload_start, ilst.end, "ilst"):
        index = struct.unpack(">I", item.type)[0]
        if index in renumber:
            items.append(bb.build(struct.pack(">I", renumber[index]),
                                  data[item.payload_start:item.end]))
        elif 1 <= index <= len(entries):
            continue  # the value of a removed key
        elif item.type in ILST_LOCATION:  # a named item in a keyed list: judged by its name
            ctx.removed.append(ILST_LOCATION[item.type])
        else:
            items.append(data[item.offset:item.end])
    return new_keys, bb.build(b"ilst", b"".join(items))


def _ilst_by_type(data: bytes, ilst: Box, ctx: Context) -> bytes:
    items = []
    for item in bb.iter_bytes(data, ilst.payload_start, ilst.end, "ilst"):
        if item.type in ILST_LOCATION:
            ctx.removed.append(ILST_LOCATION[item.type])
        else:
            items.append(data[item.offset:item.end])
    return bb.build(b"ilst", b"".join(items))


def _tref(data: bytes, box: Box, ctx: Context) -> bytes | None:
    """Track references without the tracks that go (an emptied reference type goes too)."""
    parts = []
    for ref in bb.iter_bytes(data, box.payload_start, box.end, "tref"):
        n = (ref.end - ref.payload_start) // 4
        ids = struct.unpack_from(f">{n}I", data, ref.payload_start)
        kept = [i for i in ids if i not in ctx.drop_ids]
        if kept:
            parts.append(bb.build(ref.type, struct.pack(f">{len(kept)}I", *kept)))
    return bb.build(b"tref", b"".join(parts)) if parts else None


def _xmp_box(data: bytes, box: Box, ctx: Context, prefix: str) -> bytes | None:
    """An XMP box (``XMP_`` or the XMP ``uuid``) cleaned, or None when it goes."""
    from geoprivacy.defenses.strip import xmp_edit

    packet = data[box.payload_start:box.end]
    label = "XMP_" if box.type == b"XMP_" else "XMP"  # the audit names the two boxes apart
    if ctx.all_metadata:
        ctx.removed.append(f"{prefix}:{label}")
        return None
    cleaned, removed = xmp_edit.clean_xmp(packet)
    if not removed:
        return data[box.offset:box.end]
    ctx.removed.extend(f"{prefix}:{label}{where[3:]}" for where in removed)  # where: "XMP:..."
    usertype = data[box.payload_start - 16:box.payload_start] if box.type == b"uuid" else b""
    return bb.build(box.type, usertype + cleaned)


def _shift(raw: bytes, btype: bytes, ctx: Context) -> bytes:
    width, fmt, limit = (4, "I", 0xFFFFFFFF) if btype == b"stco" else (8, "Q", 2 ** 64 - 1)
    header = 16 if struct.unpack_from(">I", raw)[0] == 1 else 8
    start = header + 8
    if len(raw) < start:
        raise ParseError(f"'{btype.decode()}' too short")
    count = struct.unpack_from(">I", raw, header + 4)[0]
    if start + count * width > len(raw):
        raise ParseError(f"'{btype.decode()}' declares more entries than it holds")
    values = list(struct.unpack_from(f">{count}{fmt}", raw, start))
    for i, value in enumerate(values):
        if value >= ctx.shift_from:
            value += ctx.shift
            if not 0 <= value <= limit:
                raise ParseError("chunk offset out of range after moving mdat")
            values[i] = value
    return raw[:start] + struct.pack(f">{count}{fmt}", *values) + raw[start + count * width:]


def _zero_times(raw: bytes) -> bytes:
    """mvhd/tkhd/mdhd with creation and modification times set to zero (``--all``)."""
    header = 16 if struct.unpack_from(">I", raw)[0] == 1 else 8
    if len(raw) < header + 4:
        return raw
    span = 16 if raw[header] == 1 else 8
    if len(raw) < header + 4 + span:
        return raw
    return raw[:header + 4] + bytes(span) + raw[header + 4 + span:]
