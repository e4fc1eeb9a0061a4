"""Build small TIFF/Exif blocks in tests (layout: header, IFDs in order, then value data)."""

from __future__ import annotations

import struct
from typing import Any

RAT, SRAT, ASCII, BYTE, SHORT, LONG, UNDEF, DOUBLE = 5, 10, 2, 1, 3, 4, 7, 12
SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 10: 8, 12: 8}


class Ptr:
    """A pointer value that resolves to the offset of IFD number ``index``."""

    def __init__(self, index: int) -> None:
        self.index = index


def _encode(e: str, typ: int, value: Any, offsets: list[int]) -> tuple[bytes, int]:
    if isinstance(value, Ptr):
        return struct.pack(e + "I", offsets[value.index]), 1
    if typ in (ASCII, UNDEF):
        return bytes(value), len(value)
    if typ in (RAT, SRAT):
        f = "I" if typ == RAT else "i"
        return b"".join(struct.pack(e + f + f, n, d) for n, d in value), len(value)
    fmt = {BYTE: "B", SHORT: "H", LONG: "I", DOUBLE: "d"}[typ]
    return b"".join(struct.pack(e + fmt, v) for v in value), len(value)


def build(ifds: list[list[tuple]], chain: dict[int, int] | None = None, big: bool = False,
          raw_next: dict[int, int] | None = None) -> bytes:
    """``ifds``: lists of (tag, type, value); IFD0 is first. ``chain``: IFD i → next IFD j."""
    e = ">" if big else "<"
    offsets, at = [], 8
    for entries in ifds:
        offsets.append(at)
        at += 2 + 12 * len(entries) + 4
    data_at = at
    out = bytearray((b"MM\x00*" if big else b"II*\x00") + struct.pack(e + "I", offsets[0]))
    data = bytearray()
    for i, entries in enumerate(ifds):
        out += struct.pack(e + "H", len(entries))
        for tag, typ, value in entries:
            payload, count = _encode(e, typ, value, offsets)
            if isinstance(value, Ptr):
                typ = LONG
            if len(payload) <= 4:
                field = payload.ljust(4, b"\x00")
            else:
                field = struct.pack(e + "I", data_at + len(data))
                data += payload + (b"\x00" if len(payload) % 2 else b"")
            out += struct.pack(e + "HHI", tag, typ, count) + field
        nxt = (raw_next or {}).get(i)
        if nxt is None:
            nxt = offsets[(chain or {})[i]] if i in (chain or {}) else 0
        out += struct.pack(e + "I", nxt)
    return bytes(out + data)


def gps_entries(lat: Any = ((52, 1), (30, 1), (1234, 100)), lon: Any = ((13, 1), (24, 1), (5678, 100)),
                lat_ref: bytes | None = b"N\x00", lon_ref: bytes | None = b"E\x00",
                typ: int = RAT) -> list[tuple]:
    entries: list[tuple] = [(0, BYTE, [2, 3, 0, 0])]
    if lat_ref is not None:
        entries.append((1, ASCII, lat_ref))
    if lat is not None:
        entries.append((2, typ, lat))
    if lon_ref is not None:
        entries.append((3, ASCII, lon_ref))
    if lon is not None:
        entries.append((4, typ, lon))
    return entries


def exif_with_gps(gps: list[tuple], big: bool = False) -> bytes:
    """IFD0 with a GPS pointer → the given GPS IFD."""
    return build([[(0x0110, ASCII, b"Cam\x00"), (0x8825, LONG, Ptr(1))], gps], big=big)


def bigtiff_with_gps(offset_size: int = 8) -> bytes:
    """A little-endian BigTIFF whose IFD0 points (IFD8 type) to a GPS IFD at 48.1173, 11.5167;
    ``offset_size`` is the header's byte size of offsets (8 is the only one defined)."""
    e = "<"

    def entry(tag: int, typ: int, count: int, value: bytes) -> bytes:
        return struct.pack(e + "HHQ", tag, typ, count) + value.ljust(8, b"\0")
    gps_at = 16 + 8 + 2 * 20 + 8
    ifd0 = struct.pack(e + "Q", 2) + entry(0x0110, 2, 4, b"Cam\0") \
        + entry(0x8825, 18, 1, struct.pack(e + "Q", gps_at)) + struct.pack(e + "Q", 0)
    data_at = gps_at + 8 + 4 * 20 + 8
    gps = struct.pack(e + "Q", 4) + entry(1, 2, 2, b"N\0") \
        + entry(2, 5, 3, struct.pack(e + "Q", data_at)) + entry(3, 2, 2, b"E\0") \
        + entry(4, 5, 3, struct.pack(e + "Q", data_at + 24)) + struct.pack(e + "Q", 0)
    rationals = struct.pack(e + "12I", 48, 1, 7, 1, 228, 100, 11, 1, 31, 1, 0, 1)
    return b"II" + struct.pack(e + "HHHQ", 43, offset_size, 0, 16) + ifd0 + gps + rationals
