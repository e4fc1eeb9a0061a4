"""FLIR thermal cameras: the GPS record of the FFF structure carried in JPEG APP1 "FLIR" chunks.

Only the FFF header, its record directory and the GPS record are read (through a map of
chunk positions), never the thermal raw data or the embedded visible image.
The hemisphere references are separate fields and the values are unsigned, so the sign must
come from the references (exiftool's combined GPSPosition gets this wrong).
"""

from __future__ import annotations

import math
import struct
from typing import Any

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source

MAX_RECORDS = 256
RECORD_GPS = 0x2B
GPS_RECORD_SIZE = 0x68


class ChunkedReader:
    """Reads a byte stream that is split over several file ranges (JPEG APP1 chunks)."""

    def __init__(self, src: Source, chunks: list[tuple[int, int]]) -> None:
        self.src = src
        self.chunks = chunks          # (file offset, length) in stream order
        self.size = sum(n for _, n in chunks)

    def read(self, offset: int, n: int) -> bytes:
        if offset < 0 or n < 0 or offset + n > self.size:
            raise ParseError(f"FLIR record at {offset}+{n} runs past the {self.size}-byte stream")
        parts, pos = [], 0
        for at, length in self.chunks:
            if n and offset < pos + length:
                start = max(0, offset - pos)
                take = min(length - start, n)
                parts.append(self.src.read(at + start, take))
                offset += take
                n -= take
            pos += length
            if not n:
                break
        return b"".join(parts)


def parse_fff(reader: ChunkedReader, out: Collector, where_prefix: str = "FLIR") -> None:
    """Find the GPS record in an FFF stream and report its position."""
    head = reader.read(0, 64)
    if head[:4] not in (b"FFF\x00", b"AFF\x00"):
        out.warn(f"{where_prefix}: not an FFF structure")
        return
    endian = ">" if 100 <= struct.unpack_from(">I", head, 0x14)[0] < 200 else "<"
    dir_at, count = struct.unpack_from(endian + "II", head, 0x18)
    count = min(count, MAX_RECORDS)
    directory = reader.read(dir_at, 32 * count)
    for i in range(count):
        rtype, _sub, _ver, _id, off, length = struct.unpack_from(endian + "HHIIII", directory, 32 * i)
        if rtype == RECORD_GPS and length >= GPS_RECORD_SIZE:
            _gps_record(reader.read(off, GPS_RECORD_SIZE), out, where_prefix)


def _gps_record(rec: bytes, out: Collector, where_prefix: str) -> None:
    # Records are little-endian on the devices we know; a valid flag of 1 tells which way.
    endian = "<" if struct.unpack_from("<I", rec, 0)[0] <= 1 else ">"
    valid = struct.unpack_from(endian + "I", rec, 0)[0]
    lat_ref = rec[8:10].split(b"\x00")[0].decode("latin-1").upper()
    lon_ref = rec[10:12].split(b"\x00")[0].decode("latin-1").upper()
    lat, lon = struct.unpack_from(endian + "dd", rec, 0x10)
    alt = struct.unpack_from(endian + "f", rec, 0x20)[0]
    datum = rec[0x58:0x68].split(b"\x00")[0].decode("latin-1").strip()
    where = f"{where_prefix}:GPSLatitude"
    detail: dict[str, Any] = {"gps_valid": bool(valid)}
    if math.isfinite(alt):
        detail["altitude_m"] = round(alt, 3)
    if datum:
        detail["map_datum"] = datum
    if lat_ref not in ("N", "S") or lon_ref not in ("E", "W"):
        if valid == 0 and lat == 0 and lon == 0:
            out.placeholder(where, "FLIR GPS record marked invalid and empty", detail)
        else:
            out.invalid(where, f"FLIR GPS references {lat_ref!r}/{lon_ref!r} are not N/S and E/W",
                        detail)
        return
    if not (math.isfinite(lat) and math.isfinite(lon)):
        out.invalid(where, "FLIR GPS values are not finite numbers", detail)
        return
    # the references alone give the sign (values are written unsigned)
    out.position(where, -abs(lat) if lat_ref == "S" else abs(lat),
                 -abs(lon) if lon_ref == "W" else abs(lon), detail=detail)
