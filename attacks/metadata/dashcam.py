"""Dashcam GPS boxes: the 70mai top-level ``GPS `` box and Novatek ``gps `` atoms (``freeGPS``).

Hand-written: these are undocumented vendor layouts (described by exiftool's QuickTimeStream.pl
and the dashcam-gps project); no library reads them with bounded I/O.

70mai ``GPS `` box payload: 36-byte little-endian records
``u32 ?, u32 ?, u32 seconds, u32 speed*1000, char N/S, u32 lat DDMM.MMM*1000, char E/W,
u32 lon DDDMM.MMM*1000, 10 bytes padding``; an all-zero record ends the list.

Novatek ``gps `` atom in ``moov``: ``u32 version, u32 count, (u32 offset, u32 size) * count``;
each pair points at a ``free`` box whose payload starts with ``GPS `` (a ``freeGPS`` block):
``u32 hour, minute, second, year-2000, month, day`` at block offset 48 (little-endian), then
status ``A``/``V``, ``N``/``S``, ``E``/``W`` at 72..74 and float32 latitude and longitude in
DDMM.MMMM at 76 and 80 (speed in knots at 84, heading at 88); blocks whose header says ``IQS``
hold int32 degrees * 1e7 there instead (exiftool's "type 3b").
"""

from __future__ import annotations

import calendar
import struct

from geoprivacy.attacks.metadata.isobmff import Box, Walker
from geoprivacy.tracks import Fix

RECORD_70MAI = 36
MAX_70MAI_BYTES = 8 * 1024 * 1024
MAX_NOVATEK_BLOCKS = 100_000
NOVATEK_BLOCK_MAX = 64 * 1024


def ddmm_to_degrees(value: float) -> float:
    """NMEA-style DDDMM.MMMM to decimal degrees."""
    degrees = int(value / 100)
    return degrees + (value - degrees * 100) / 60.0


def parse_70mai(walker: Walker, box: Box) -> None:
    """A 70mai ``GPS `` box: a 1 Hz track. A truncated box is reported, not decoded."""
    where = "70mai:GPS"
    if box.truncated:
        walker.warn_once(f"{where}: box at offset {box.start} is cut off by the end of the file; "
                         "its records were not decoded")
        return
    data = walker.payload(box, MAX_70MAI_BYTES)
    if data is None:
        return
    fixes: list[Fix] = []
    for pos in range(0, len(data) - RECORD_70MAI + 1, RECORD_70MAI):
        record = data[pos:pos + RECORD_70MAI]
        if record == bytes(RECORD_70MAI):
            break
        _, _, seconds, speed, lat_ref, lat, lon_ref, lon = struct.unpack_from("<IIIIcIcI", record)
        lat_deg = ddmm_to_degrees(lat / 1000.0)
        lon_deg = ddmm_to_degrees(lon / 1000.0)
        if lat_ref == b"S":
            lat_deg = -lat_deg
        if lon_ref == b"W":
            lon_deg = -lon_deg
        fixes.append(Fix(lat_deg, lon_deg, None, float(seconds),
                         (("speed_kmh", speed / 1000.0),)))
    if not fixes:
        walker.out.placeholder(where, "GPS box without records")
        return
    base = walker.movie.creation_time
    detail = {"time": "media seconds", "created": base} if base else {"time": "media seconds"}
    walker.out.track(where, fixes, detail)


def parse_novatek(walker: Walker, box: Box) -> None:
    """A Novatek ``gps `` atom: a list of (offset, size) of ``freeGPS`` blocks, one per second."""
    where = "Novatek:freeGPS"
    data = walker.payload(box)
    if data is None or len(data) < 8:
        return
    count = struct.unpack_from(">I", data, 4)[0]
    room = (len(data) - 8) // 8
    if count > room:
        walker.warn_once(f"{where}: 'gps ' atom lists {count} blocks but holds {room}")
        count = room
    fixes: list[Fix] = []
    void = 0
    for i in range(min(count, MAX_NOVATEK_BLOCKS)):
        offset, size = struct.unpack_from(">II", data, 8 + 8 * i)
        if size < 92 or size > NOVATEK_BLOCK_MAX:
            continue
        if offset + size > walker.src.size:
            walker.warn_once(f"{where}: block at offset {offset} lies past the end of the file")
            break
        fix = decode_freegps(walker.src.read(offset, size))
        if fix is None:
            void += 1
        else:
            fixes.append(fix)
    if fixes:
        walker.out.track(where, fixes, {"void_blocks": void} if void else None)
    elif count:
        walker.out.placeholder(where, f"{count} GPS blocks, none with a fix")


def decode_freegps(block: bytes) -> Fix | None:
    """One Novatek ``freeGPS`` block (with its ``free`` box header), or None without a fix."""
    if len(block) < 92 or block[4:8] != b"free" or block[8:12] != b"GPS ":
        return None
    hour, minute, second, year, month, day = struct.unpack_from("<6I", block, 48)
    status, lat_ref, lon_ref = block[72:73], block[73:74], block[74:75]
    if status != b"A" or lat_ref not in (b"N", b"S") or lon_ref not in (b"E", b"W"):
        return None
    if block[16:19] == b"IQS":   # variant: decimal degrees * 1e7 and speed in m/s * 100
        lat_i, lon_i, speed = struct.unpack_from("<iii", block, 76)
        lat, lon, knots = abs(lat_i) / 1e7, abs(lon_i) / 1e7, speed / 100 / 0.514444
    else:
        lat_raw, lon_raw, knots = struct.unpack_from("<fff", block, 76)
        lat, lon = ddmm_to_degrees(abs(lat_raw)), ddmm_to_degrees(abs(lon_raw))
    lat = -lat if lat_ref == b"S" else lat
    lon = -lon if lon_ref == b"W" else lon
    when: float | None = None
    if 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61 \
            and year < 200:
        when = float(calendar.timegm((2000 + year, month, day, hour, minute, second, 0, 0, 0)))
    return Fix(lat, lon, None, when, (("speed_kmh", round(knots * 1.852, 3)),))
