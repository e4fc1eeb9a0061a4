"""EXIF / TIFF IFD walker and GPS IFD decoder.

Hand-written (not Pillow/piexif) because we need bounded random access, loop detection and the
tag path of every value; and the same walker serves a JPEG APP1 block, a WebP/PNG/HEIC Exif
payload (bytes in memory) and a whole TIFF/DNG file (read through ``Source``, never loaded).
"""

from __future__ import annotations

import math
import struct
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable, Container, NamedTuple

from geoprivacy.attacks.metadata import geotiff
from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.errors import ParseError

MAX_IFDS = 128               # IFDs visited in one block (chains, sub-IFDs, pointers)
MAX_ENTRIES = 1024           # entries read from one IFD
MAX_VALUE_BYTES = 1 << 16    # bytes of one ordinary tag value we decode
MAX_BLOB_BYTES = 16 << 20    # XMP / IPTC / Photoshop blobs embedded in a TIFF
MAX_SUBIFDS = 16
MAX_NESTING = 4              # Exif inside Photoshop IRB inside a TIFF tag inside …

_nesting: ContextVar[int] = ContextVar("exif_nesting", default=0)

TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4,
              16: 8, 17: 8, 18: 8}   # LONG8, SLONG8, IFD8: BigTIFF
RATIONAL_TYPES = (5, 10)
UINT32_MAX = 0xFFFFFFFF

TAG_EXIF_IFD = 0x8769
TAG_GPS_IFD = 0x8825
TAG_INTEROP_IFD = 0xA005
TAG_SUBIFDS = 0x014A
TAG_XMP = 700
TAG_IPTC = 33723
TAG_PHOTOSHOP = 34377

GPS_TAGS = {
    0: "GPSVersionID", 1: "GPSLatitudeRef", 2: "GPSLatitude", 3: "GPSLongitudeRef",
    4: "GPSLongitude", 5: "GPSAltitudeRef", 6: "GPSAltitude", 7: "GPSTimeStamp",
    8: "GPSSatellites", 9: "GPSStatus", 10: "GPSMeasureMode", 11: "GPSDOP", 12: "GPSSpeedRef",
    13: "GPSSpeed", 14: "GPSTrackRef", 15: "GPSTrack", 16: "GPSImgDirectionRef",
    17: "GPSImgDirection", 18: "GPSMapDatum", 19: "GPSDestLatitudeRef", 20: "GPSDestLatitude",
    21: "GPSDestLongitudeRef", 22: "GPSDestLongitude", 23: "GPSDestBearingRef",
    24: "GPSDestBearing", 25: "GPSDestDistanceRef", 26: "GPSDestDistance",
    27: "GPSProcessingMethod", 28: "GPSAreaInformation", 29: "GPSDateStamp",
    30: "GPSDifferential", 31: "GPSHPositioningError",
}

Reader = Callable[[int, int], bytes]


class Entry(NamedTuple):   # a tuple: built ~3x faster than a dataclass
    """One 12-byte IFD entry; ``value_at`` is where its value bytes start in the block."""

    tag: int
    type: int
    count: int
    value_at: int
    size: int          # bytes of the value (count × type size); -1 for an unknown type


class TiffBlock:
    """A TIFF-structured byte range read through a bounded ``read(offset, n)`` function.

    Classic TIFF (32-bit offsets, 12-byte entries) and BigTIFF (64-bit offsets, 8-byte entry
    counts, 20-byte entries, values up to 8 bytes inline): large orthomosaics are BigTIFF.
    """

    def __init__(self, read: Reader, size: int) -> None:
        self._read = read
        self.size = size
        head = self.read(0, 8)
        if head[:2] == b"II":
            self.endian = "<"
        elif head[:2] == b"MM":
            self.endian = ">"
        else:
            raise ParseError(f"not a TIFF header ({head[:4]!r})")
        magic = self.u16(head, 2)
        self.big = magic == 43
        if magic == 42:
            self.first_ifd = self.u32(head, 4)
        elif self.big:
            if self.u16(head, 4) != 8 or self.u16(head, 6) != 0:
                raise ParseError(f"BigTIFF with {self.u16(head, 4)}-byte offsets (only 8 exists)")
            self.first_ifd = struct.unpack(self.endian + "Q", self.read(8, 8))[0]
        else:
            raise ParseError(f"not a TIFF header ({head[:4]!r})")
        # (count field, entry, inline value / offset) sizes and their formats
        self._count_size, self._entry_size, self._inline = (8, 20, 8) if self.big else (2, 12, 4)
        self._count_fmt, self._entry_fmt, self._offset_fmt = \
            ("Q", "HHQ8s", "Q") if self.big else ("H", "HHI4s", "I")

    @classmethod
    def from_bytes(cls, data: bytes) -> "TiffBlock":
        def read(offset: int, n: int) -> bytes:
            if offset < 0 or n < 0 or offset + n > len(data):
                raise ParseError(f"offset {offset}+{n} past the end of a {len(data)}-byte block")
            return data[offset:offset + n]
        return cls(read, len(data))

    def read(self, offset: int, n: int) -> bytes:
        if offset < 0 or n < 0 or offset + n > self.size:
            raise ParseError(f"offset {offset}+{n} past the end of a {self.size}-byte block")
        return self._read(offset, n)

    def u16(self, data: bytes, at: int) -> int:
        return struct.unpack_from(self.endian + "H", data, at)[0]

    def u32(self, data: bytes, at: int) -> int:
        return struct.unpack_from(self.endian + "I", data, at)[0]

    def ifd(self, offset: int, wanted: Container[int] | None = None
            ) -> tuple[list[Entry], int, bool]:
        """Entries of the IFD at ``offset`` (only tags in ``wanted`` when given), the next-IFD
        offset, and whether it was cut short."""
        e, width = self.endian, self._entry_size
        count = struct.unpack(e + self._count_fmt, self.read(offset, self._count_size))[0]
        base = offset + self._count_size
        fits = max(0, (self.size - base) // width)
        short = count > fits or count > MAX_ENTRIES
        count = min(count, fits, MAX_ENTRIES)
        raw = self.read(base, width * count)
        entries = []
        sizes, inline = TYPE_SIZES, self._inline
        # iter_unpack decodes the fixed-size records in C: DNG IFDs hold hundreds of entries
        records = enumerate(struct.iter_unpack(e + self._entry_fmt, raw))
        if wanted is not None:
            records = [r for r in records if r[1][0] in wanted]   # type: ignore[assignment]
        for i, (tag, typ, n, pointer) in records:
            unit = sizes.get(typ)
            size = n * unit if unit else -1
            value_at = base + width * i + width - inline
            if size > inline:
                value_at = struct.unpack(e + self._offset_fmt, pointer)[0]
            entries.append(Entry(tag, typ, n, value_at, size))
        next_at = base + width * count
        nxt = 0
        if not short and next_at + inline <= self.size:
            nxt = struct.unpack(e + self._offset_fmt, self.read(next_at, inline))[0]
        return entries, nxt, short

    def raw(self, entry: Entry, limit: int = MAX_VALUE_BYTES) -> bytes:
        if entry.size < 0:
            raise ParseError(f"tag 0x{entry.tag:04x} has unknown TIFF type {entry.type}")
        if entry.size > limit:
            raise ParseError(f"tag 0x{entry.tag:04x} value of {entry.size} bytes exceeds {limit}")
        return self.read(entry.value_at, entry.size)

    def values(self, entry: Entry) -> list[Any]:
        """Decoded values: ints, (num, den) pairs for rationals, floats; bytes for ASCII/UNDEF."""
        data = self.raw(entry)
        e, t, n = self.endian, entry.type, entry.count
        if t in (2, 7):
            return [data]
        fmt = {1: "B", 6: "b", 3: "H", 8: "h", 4: "I", 13: "I", 9: "i", 11: "f", 12: "d",
               16: "Q", 17: "q", 18: "Q"}.get(t)
        if fmt:
            return list(struct.unpack(f"{e}{n}{fmt}", data))
        if t in RATIONAL_TYPES:
            flat = struct.unpack(f"{e}{2 * n}{'I' if t == 5 else 'i'}", data)
            return [(flat[i], flat[i + 1]) for i in range(0, 2 * n, 2)]
        raise ParseError(f"tag 0x{entry.tag:04x} has unknown TIFF type {t}")

    def pointers(self, entry: Entry) -> list[int]:
        """Offsets stored in a pointer tag (LONG, IFD, LONG8, IFD8; SHORT tolerated)."""
        if entry.type not in (3, 4, 13, 7, 16, 18) or entry.count == 0:
            return []
        if entry.type == 7:  # some writers store a pointer as 4 undefined bytes
            return [self.u32(self.raw(entry), 0)] if entry.count == 4 else []
        return [int(v) for v in self.values(entry)[:MAX_SUBIFDS]]


def parse_tiff_block(data: bytes, out: Collector, where_prefix: str = "EXIF") -> None:
    """Report every GPS position in a TIFF-structured block (Exif payload) held in memory."""
    try:
        block = TiffBlock.from_bytes(data)
    except ParseError as exc:
        out.warn(f"{where_prefix}: {exc}")
        return
    walk(block, out, where_prefix)


def walk(block: TiffBlock, out: Collector, where_prefix: str) -> None:
    """Visit IFD0 and its chain, Exif/GPS/Interop/Sub-IFDs once each; decode GPS IFDs."""
    depth = _nesting.get()
    if depth >= MAX_NESTING:
        out.warn(f"{where_prefix}: TIFF blocks nested more than {MAX_NESTING} deep; not read")
        return
    token = _nesting.set(depth + 1)
    try:
        _walk(block, out, where_prefix)
    finally:
        _nesting.reset(token)


def _walk(block: TiffBlock, out: Collector, where_prefix: str) -> None:
    visited: set[int] = set()
    # (offset, label, follows the next-IFD chain, is a GPS IFD); labels: IFD0, IFD0/ExifIFD, …
    queue: deque[tuple[int, str, bool, bool]] = deque([(block.first_ifd, "IFD0", True, False)])
    while queue:
        offset, label, chain, gps = queue.popleft()
        index = 0
        while offset:
            if offset in visited:
                out.warn(f"{where_prefix}: IFD loop at offset {offset} ({label}); stopped there")
                break
            if len(visited) >= MAX_IFDS:
                out.warn(f"{where_prefix}: more than {MAX_IFDS} IFDs; the rest was not read")
                return
            visited.add(offset)
            try:
                entries, nxt, short = block.ifd(offset, None if gps else _FOLLOWED)
            except ParseError as exc:
                out.warn(f"{where_prefix}: {label} unreadable: {exc}")
                break
            if short:
                out.warn(f"{where_prefix}: {label} entry count runs past the block; cut short")
            if gps:
                _decode_gps(block, entries, out, _gps_prefix(where_prefix, label))
                break
            geo = [e for e in entries if e.tag in geotiff.GEOTIFF_TAGS]
            for entry in entries:
                if entry.tag not in geotiff.GEOTIFF_TAGS:
                    _visit_entry(block, entry, label, queue, out, where_prefix)
            if geo:
                _decode_geotiff(block, geo, out, _gps_prefix(where_prefix, label))
            if not chain:
                break
            offset, index = nxt, index + 1
            label = f"IFD{index}"


#: the only tags read outside a GPS IFD: pointers, embedded blobs and GeoTIFF georeferencing
_FOLLOWED = frozenset({TAG_GPS_IFD, TAG_EXIF_IFD, TAG_INTEROP_IFD, TAG_SUBIFDS, TAG_XMP, TAG_IPTC,
                       TAG_PHOTOSHOP}) | geotiff.GEOTIFF_TAGS


def _decode_geotiff(block: TiffBlock, entries: list[Entry], out: Collector, prefix: str) -> None:
    """GeoTIFF tags of one IFD: only the first tie point is read (GCP lists can be huge)."""
    values: dict[int, list[Any]] = {}
    for entry in entries:
        if entry.tag == geotiff.TAG_TIEPOINT and entry.type == 12 and entry.count > 6:
            entry = entry._replace(count=6, size=48)
        try:
            values[entry.tag] = block.values(entry)
        except (ParseError, struct.error) as exc:
            out.warn(f"{prefix}: GeoTIFF tag {entry.tag} unreadable: {exc}")
    geotiff.decode(values, out, _beside_exif(prefix, "GeoTIFF"))


def _beside_exif(prefix: str, name: str) -> str:
    """Where a block found inside a TIFF structure is reported: "MPF[1]:EXIF" → "MPF[1]:NAME",
    a bare "EXIF" → "NAME", anything else → "PREFIX:NAME"."""
    return f"{prefix[:-4]}{name}" if prefix.endswith("EXIF") else f"{prefix}:{name}"


def _gps_prefix(where_prefix: str, label: str) -> str:
    """EXIF for the main image's GPS IFD; EXIF:IFD1 (thumbnail), EXIF:SubIFD2 otherwise."""
    owner = label.split("/")[0]
    return where_prefix if owner == "IFD0" else f"{where_prefix}:{owner}"


def _visit_entry(block: TiffBlock, entry: Entry, label: str, queue: deque[tuple[int, str, bool, bool]],
                 out: Collector, where_prefix: str) -> None:
    owner = label.split("/")[0]
    try:
        if entry.tag == TAG_GPS_IFD:
            if entry.count == 0:
                out.placeholder(f"{_gps_prefix(where_prefix, owner)}:GPSInfo",
                                "GPSInfo pointer present but empty")
            for p in block.pointers(entry)[:1]:
                queue.append((p, f"{owner}/GPS", False, True))
        elif entry.tag == TAG_EXIF_IFD:
            for p in block.pointers(entry)[:1]:
                queue.append((p, f"{owner}/ExifIFD", False, False))
        elif entry.tag == TAG_INTEROP_IFD:
            for p in block.pointers(entry)[:1]:
                queue.append((p, f"{owner}/Interop", False, False))
        elif entry.tag == TAG_SUBIFDS and owner.startswith("IFD"):
            for i, p in enumerate(block.pointers(entry)):
                queue.append((p, f"SubIFD{i + 1}", False, False))
        elif entry.tag in (TAG_XMP, TAG_IPTC, TAG_PHOTOSHOP) and entry.size > 0:
            _embedded_blob(block, entry, out, where_prefix, owner)
    except ParseError as exc:
        out.warn(f"{where_prefix}: {label} tag 0x{entry.tag:04x}: {exc}")


def _embedded_blob(block: TiffBlock, entry: Entry, out: Collector, where_prefix: str,
                   owner: str) -> None:
    """XMP (700), IPTC (33723) and Photoshop IRB (34377) stored as TIFF tags."""
    data = block.raw(entry, MAX_BLOB_BYTES)
    tail = "" if owner == "IFD0" else f":{owner}"
    if entry.tag == TAG_XMP:
        from geoprivacy.attacks.metadata.xmp import parse_xmp
        parse_xmp(data, out, _beside_exif(where_prefix, "XMP") + tail)
    elif entry.tag == TAG_IPTC:
        from geoprivacy.attacks.metadata.iptc import parse_iptc
        parse_iptc(data, out, _beside_exif(where_prefix, "IPTC") + tail)
    else:
        from geoprivacy.attacks.metadata.iptc import parse_photoshop_irb
        parse_photoshop_irb(data, out, _beside_exif(where_prefix, "Photoshop") + tail)


# --- GPS IFD -------------------------------------------------------------------------------

class _Bad(Exception):
    """A coordinate that is not a place: ``kind`` is 'placeholder' or 'invalid'."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def _decode_gps(block: TiffBlock, entries: list[Entry], out: Collector, prefix: str) -> None:
    tags: dict[int, Entry] = {}
    for entry in entries:
        tags.setdefault(entry.tag, entry)
    if not tags:
        out.placeholder(f"{prefix}:GPSInfo", "GPS IFD is present but empty")
        return
    values: dict[int, list[Any]] = {}
    for tag, entry in tags.items():
        try:
            values[tag] = block.values(entry)
        except (ParseError, struct.error) as exc:
            out.warn(f"{prefix}: {GPS_TAGS.get(tag, hex(tag))} unreadable: {exc}")
    detail = _gps_detail(values, tags)
    found = _emit_pair(out, prefix, "GPSLatitude", values, tags, (1, 2, 3, 4), detail)
    dest = _emit_pair(out, prefix, "GPSDestLatitude", values, tags, (19, 20, 21, 22), {})
    if not found and not dest:
        out.placeholder(f"{prefix}:GPSInfo", "GPS IFD holds no coordinates", detail)


def _emit_pair(out: Collector, prefix: str, name: str, values: dict[int, list[Any]],
               tags: dict[int, Entry], ids: tuple[int, int, int, int],
               detail: dict[str, Any]) -> bool:
    """Report one latitude/longitude pair; False when neither half is present."""
    lat_ref_id, lat_id, lon_ref_id, lon_id = ids
    if lat_id not in tags and lon_id not in tags:
        return False
    where = f"{prefix}:{name}"
    try:
        lat, lat_step = _coordinate(values.get(lat_id), tags.get(lat_id), "latitude")
        lon, lon_step = _coordinate(values.get(lon_id), tags.get(lon_id), "longitude")
        lat_sign = _ref_sign(values.get(lat_ref_id), "NS", "latitude")
        lon_sign = _ref_sign(values.get(lon_ref_id), "EW", "longitude")
    except _Bad as bad:
        if bad.kind == "placeholder":
            out.placeholder(where, bad.reason, detail)
        else:
            out.invalid(where, bad.reason, detail)
        return True
    step = min(lat_step, lon_step)
    out.position(where, lat * lat_sign, lon * lon_sign,
                 step_deg=step if step >= 1e-5 else None, detail=detail)
    return True


def _coordinate(vals: list[Any] | None, entry: Entry | None, axis: str) -> tuple[float, float]:
    """Unsigned degrees and their quantisation step from a GPS rational triple (or a variant)."""
    if entry is None or vals is None:
        raise _Bad("invalid", f"{axis} missing")
    if entry.count == 0 or not vals:
        raise _Bad("placeholder", f"{axis} tag is empty")
    if entry.type in (11, 12):  # FLOAT/DOUBLE degrees: non-standard but unambiguous
        deg = float(vals[0])
        if not math.isfinite(deg):
            raise _Bad("invalid", f"{axis} is not a finite number")
        return abs(deg), 0.0
    if entry.type not in RATIONAL_TYPES:
        shown = vals[0] if not isinstance(vals[0], bytes) else vals[0][:16]
        raise _Bad("invalid", f"{axis} has TIFF type {entry.type} instead of RATIONAL "
                              f"(value {shown!r})")
    parts = list(vals[:3])
    if all(num == 0 and den == 0 for num, den in parts):
        raise _Bad("placeholder", f"{axis} is empty (0/0)")
    total = 0.0
    step = math.inf
    scales = (1.0, 60.0, 3600.0)
    for i, (num, den) in enumerate(parts):
        if num == UINT32_MAX or den == UINT32_MAX:
            raise _Bad("invalid", f"{axis} holds 0xFFFFFFFF, a 'no value' marker")
        if den == 0:
            if num == 0 and i > 0:
                continue  # unused trailing component, written as 0/0 (Nikon)
            raise _Bad("invalid", f"{axis} has a zero denominator ({num}/0)")
        value = num / den
        if value < 0:
            raise _Bad("invalid", f"{axis} component is negative ({num}/{den})")
        if i > 0 and value > 60.0:
            raise _Bad("invalid", f"{axis} minutes/seconds out of range ({value:g})")
        total += value / scales[i]
        if num != 0 or den != 1:  # an integer 0 is padding, not precision
            step = min(step, 1.0 / (den * scales[i]))
    if step is math.inf:  # every component was 0/1: the value is 0 at whole-degree precision
        step = 1.0
    return total, step


def _ref_sign(vals: list[Any] | None, letters: str, axis: str) -> int:
    if not vals:
        raise _Bad("invalid", f"{axis} reference (hemisphere) missing")
    raw = vals[0]
    if isinstance(raw, (bytes, bytearray)):
        text = raw.decode("latin-1").strip("\x00 ").upper()
    elif isinstance(raw, int) and 32 < raw < 127:  # a letter stored as BYTE instead of ASCII
        text = chr(raw).upper()
    else:
        text = "" if raw == 0 else str(raw)
    if not text:
        raise _Bad("invalid", f"{axis} reference (hemisphere) is empty")
    letter = text[0]
    if letter == letters[0]:
        return 1
    if letter == letters[1]:
        return -1
    raise _Bad("invalid", f"{axis} reference {text[:8]!r} is not {letters[0]} or {letters[1]}")


def _gps_detail(values: dict[int, list[Any]], tags: dict[int, Entry]) -> dict[str, Any]:
    """Altitude, time, direction, datum, processing method and area information, when present."""
    detail: dict[str, Any] = {}
    alt = _rational(values.get(6))
    if alt is not None:
        ref = values.get(5)
        below = bool(ref and isinstance(ref[0], int) and ref[0] == 1)
        detail["altitude_m"] = round(-alt if below else alt, 3)
    ts = values.get(7)
    if ts and tags[7].type in RATIONAL_TYPES and len(ts) == 3 and all(d for _, d in ts):
        h, m, s = (n / d for n, d in ts)
        detail["time_utc"] = f"{int(h):02d}:{int(m):02d}:{s:06.3f}"
    date = _text(values.get(29))
    if date:
        detail["date"] = date
    direction = _rational(values.get(17))
    if direction is not None:
        detail["image_direction_deg"] = round(direction, 3)
    datum = _text(values.get(18))
    if datum:
        detail["map_datum"] = datum
    for tag, key in ((27, "processing_method"), (28, "area_information")):
        text = _encoded_text(values.get(tag))
        if text:
            detail[key] = text
    return detail


def _rational(vals: list[Any] | None) -> float | None:
    if not vals:
        return None
    v = vals[0]
    if isinstance(v, tuple):
        num, den = v
        return None if den == 0 or num == UINT32_MAX else num / den
    if isinstance(v, (int, float)) and math.isfinite(v):
        return float(v)
    return None


def _text(vals: list[Any] | None) -> str:
    if not vals or not isinstance(vals[0], (bytes, bytearray)):
        return ""
    return vals[0].split(b"\x00", 1)[0].decode("latin-1").strip()[:200]


def _encoded_text(vals: list[Any] | None) -> str:
    """EXIF 'UNDEFINED' text with an 8-byte character-code prefix (ASCII, UNICODE, JIS)."""
    if not vals or not isinstance(vals[0], (bytes, bytearray)):
        return ""
    raw = bytes(vals[0])
    code, body = raw[:8], raw[8:]
    if code.startswith(b"UNICODE"):
        enc = "utf-16-be" if body[:2] != b"\xff\xfe" else "utf-16"
        text = body.decode(enc, errors="replace")
    elif code.startswith((b"ASCII", b"JIS", b"\x00" * 8)) and len(raw) >= 8:
        text = body.decode("utf-8", errors="replace")
    else:
        text = raw.decode("utf-8", errors="replace")
    return text.replace("\x00", "").strip()[:200]
