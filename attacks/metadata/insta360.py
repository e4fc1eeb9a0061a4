"""The Insta360 trailer: the telemetry Insta360 cameras append after the last MP4 box.

Written (not copied) from the layout exiftool reads in ``ProcessInsta360``
(``lib/Image/ExifTool/QuickTimeStream.pl``) and cross-checked with gyroflow's telemetry-parser
(``src/insta360/mod.rs``, ``record.rs``, ``extra_info.rs``). All integers little-endian.

The file (or a top-level ``inst`` box, which exiftool reads the same way) ends with 78 bytes::

    u16 kind, u32 size     header of the record nearest the end
    32 bytes               reserved
    u32 trailer length     bytes from the trailer's first byte to its end, these 78 included
    u32 version
    32 ASCII bytes         8db42d694ccc418790edff439fe026bf

Records lie back to back before it, each ``payload, u16 kind, u32 size`` and are read from the
end: the header of the record before one sits just before its payload. ``kind`` is exiftool's
number; telemetry-parser reads it as ``u8 format`` (0 binary, 1 protobuf, 2 JSON) then ``u8 type``
(1 metadata, 2 thumbnail, 3 gyro, 4 exposure, 6 frame times, 7 GPS, ...). Newer cameras (Ace Pro,
X4, X5) end with record 0x000, a directory of ``u16 kind, u32 size, u32 offset from the
trailer start`` entries (10 bytes each, empty slots zero) that says where the records are;
exiftool follows it instead of the sequential walk, and so do we.

Position data, per exiftool: only record 0x700 (GPS) is read for a position — 53-byte entries
``u32 unix seconds, u32 counter, u16 milliseconds, char fix ('A' or 'V'), double latitude,
char 'N'/'S', double longitude, char 'E'/'W' (or 'O'), double speed m/s, double track,
double altitude``. exiftool reads no position from the others: 0x101 (camera metadata: serial,
model, firmware, lens parameters), 0x200 (preview), 0x300 (accelerometer/gyro), 0x400 (exposure),
0x600 (frame timestamps), and the rest it does not decode. We go one step further on two points:
a GPS-type record in another format (protobuf/JSON) is reported as not checked, and the
protobuf metadata record (0x101) is checked for field 11, which telemetry-parser's schema
names ``gps`` (bytes we cannot decode: reported as not checked unless blank).

Every size is checked against the trailer, the trailer length against the file and the end of the
boxes; the walk moves strictly backwards and is bounded in records and bytes, so a hostile
trailer ends in a warning, never a loop or a huge allocation. A trailer that cannot be walked is
a warning (not checked), never clean. Entries that are all zero bytes (what ``strip`` leaves)
are blank: no evidence at all.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from geoprivacy.attacks.metadata.protobuf import LEN, ProtobufError, field_spans
from geoprivacy.media.source import Source
from geoprivacy.tracks import Fix

MAGIC = b"8db42d694ccc418790edff439fe026bf"
FOOTER = 78            # last record header (6) + reserved (32) + length (4) + version (4) + magic
HEADER = 6             # u16 kind, u32 size after each payload
DIRECTORY = 0x000
METADATA = 0x101       # protobuf camera metadata
GPS = 0x700
GPS_TYPE = 7           # the high byte of the kind: GPS in any format
GPS_ENTRY = struct.Struct("<IIHcdcdcddd")   # 53 bytes
DIRECTORY_ENTRY = struct.Struct("<HII")     # 10 bytes
METADATA_GPS_FIELD = 11                     # ExtraMetadata.gps (bytes), telemetry-parser schema
MAX_RECORDS = 4096
MAX_DIRECTORY_BYTES = 1024 * 1024
MAX_GPS_BYTES = 32 * 1024 * 1024
MAX_METADATA_BYTES = 4 * 1024 * 1024
MAX_PADDING_SCAN = 16 * 1024 * 1024  # zero padding before the records we are willing to check
MAX_FIXES = 2_000_000
SCAN_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Record:
    """One record: its kind (exiftool's number) and where its payload lies in the file."""

    kind: int
    start: int
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size

    @property
    def type(self) -> int:
        return self.kind >> 8

    @property
    def format(self) -> int:
        return self.kind & 0xFF


@dataclass
class Trailer:
    """A trailer found by its signature; ``problem`` says why it could not be walked."""

    start: int
    end: int
    version: int
    records: list[Record] = field(default_factory=list)
    problem: str | None = None
    located: bool = True     # the declared length fits: ``start`` is where the trailer begins


def has_signature(src: Source, end: int) -> bool:
    return end >= len(MAGIC) and src.read(end - len(MAGIC), len(MAGIC)) == MAGIC


def read_trailer(src: Source, end: int, floor: int) -> Trailer | None:
    """The trailer whose signature ends at ``end`` and which may not begin before ``floor``;
    None when there is no signature there."""
    if end - floor < len(MAGIC) or not has_signature(src, end):
        return None
    if end - floor < FOOTER:
        return Trailer(end, end, 0, problem=f"Insta360 trailer signature at offset "
                       f"{end - len(MAGIC)} without room for its {FOOTER}-byte footer",
                       located=False)
    foot = src.read(end - FOOTER, FOOTER)
    length, version = struct.unpack_from("<II", foot, 38)
    trailer = Trailer(end - length, end, version)
    if length < FOOTER or end - length < floor:
        trailer.located = False
        room = end - floor
        trailer.problem = (f"Insta360 trailer declares {length} bytes, "
                           + (f"less than its {FOOTER}-byte footer" if length < FOOTER
                              else f"more than the {room} bytes it may occupy"))
        trailer.start = end
        return trailer
    _walk(src, trailer, foot[:HEADER])
    return trailer


def _walk(src: Source, trailer: Trailer, head: bytes) -> None:
    """Records from the last to the first; strictly backwards, bounded in count."""
    start = trailer.start
    pos = trailer.end - FOOTER            # offset of the current record's header
    for _ in range(MAX_RECORDS):
        kind, size = struct.unpack("<HI", head)
        payload = pos - size
        if payload < start:
            trailer.problem = (f"Insta360 record 0x{kind:03x} at offset {pos} declares {size} "
                               f"bytes, {start - payload} before the start of the trailer")
            return
        if kind == DIRECTORY and size:
            trailer.records.append(Record(kind, payload, size))
            _directory(src, trailer, payload, size)
            return
        if kind == DIRECTORY:             # a zero header (exiftool stops there): padding only
            if not _zeros(src, start, pos):
                trailer.problem = (f"empty Insta360 record header at offset {pos} with "
                                   f"{pos - start} bytes of data before it")
            return
        trailer.records.append(Record(kind, payload, size))
        if payload - start < HEADER:      # no room for another header
            if payload > start and not _zeros(src, start, payload):
                trailer.problem = (f"{payload - start} unexplained bytes at the start of the "
                                   f"Insta360 trailer (offset {start})")
            return
        pos = payload - HEADER
        head = src.read(pos, HEADER)
    trailer.problem = f"Insta360 trailer holds more than {MAX_RECORDS} records"


def _directory(src: Source, trailer: Trailer, payload: int, size: int) -> None:
    if size > MAX_DIRECTORY_BYTES:
        trailer.problem = f"Insta360 record directory of {size} bytes is too large to read"
        return
    data = src.read(payload, size)
    limit = trailer.end - FOOTER
    for kind, rsize, offset in DIRECTORY_ENTRY.iter_unpack(data[:size - size % 10]):
        if not kind or not rsize:
            continue                      # an empty slot
        rstart = trailer.start + offset
        if rstart + rsize > limit:
            trailer.problem = (f"Insta360 directory entry for record 0x{kind:03x} ({rsize} bytes "
                               f"at trailer offset {offset}) lies past the records")
            return
        trailer.records.append(Record(kind, rstart, rsize))


def _zeros(src: Source, start: int, end: int) -> bool:
    """Whether ``[start, end)`` is all zero bytes (False when too long to check)."""
    if end - start > MAX_PADDING_SCAN:
        return False
    pos = start
    while pos < end:
        block = src.read(pos, min(SCAN_CHUNK, end - pos))
        if block.count(0) != len(block):
            return False
        pos += len(block)
    return True


# --- what the records say -----------------------------------------------------------------

@dataclass
class GpsEntries:
    fixes: list[Fix] = field(default_factory=list)
    no_fix: int = 0         # void ('V') or otherwise fixless entries
    blank: int = 0          # all-zero entries (a stripped record)
    leftover: int = 0       # bytes after the last whole entry
    problem: str | None = None


def decode_gps(data: bytes, into: GpsEntries | None = None) -> GpsEntries:
    """The 53-byte entries of a 0x700 record (exiftool's validation: N/S and E/W/O, fix 'A')."""
    out = into or GpsEntries()
    size = GPS_ENTRY.size
    whole = len(data) - len(data) % size
    out.leftover += len(data) - whole
    for off in range(0, whole, size):
        entry = data[off:off + size]
        if entry.count(0) == size:
            out.blank += 1
            continue
        secs, _counter, millis, fix, lat, ns, lon, ew, speed, track, alt = \
            GPS_ENTRY.unpack(entry)
        if ns not in (b"N", b"S") or ew not in (b"E", b"W", b"O"):
            if fix == b"V":
                out.no_fix += 1
                continue
            out.problem = f"GPS entry at byte {off} is in an unrecognised format"
            return out
        if fix != b"A":
            out.no_fix += 1
            continue
        if ns == b"S":
            lat = -abs(lat)
        if ew != b"E":
            lon = -abs(lon)
        when = secs + millis / 1000 if secs else None
        if len(out.fixes) < MAX_FIXES:
            out.fixes.append(Fix(lat, lon, alt, when,
                                 (("speed_kmh", round(speed * 3.6, 3)),
                                  ("track", round(track, 3)))))
    return out


def metadata_gps_fields(data: bytes) -> list[tuple[int, int]] | str:
    """Byte ranges (within ``data``) of field 11 (``gps``) of the protobuf metadata record, or
    why the record is not a readable protobuf message."""
    try:
        return [(start, end) for number, wire, _, start, end in field_spans(data)
                if number == METADATA_GPS_FIELD and wire == LEN]
    except ProtobufError as exc:
        return f"metadata record is not a readable protobuf message ({exc})"


@dataclass(frozen=True)
class Location:
    """Bytes of a trailer that hold (or may hold) positions: what ``strip`` zeroes."""

    start: int
    end: int
    where: str


def location_ranges(src: Source, trailer: Trailer) -> tuple[list[Location], list[str]]:
    """The byte ranges of the trailer that hold or may hold a position (non-blank ones only),
    and the problems that leave part of it unchecked."""
    found: list[Location] = []
    problems: list[str] = []
    for rec in trailer.records:
        if rec.type == GPS_TYPE and rec.size:
            if not _zeros(src, rec.start, rec.end):
                found.append(Location(rec.start, rec.end, "Insta360:GPS"))
        elif rec.kind == METADATA and rec.size:
            if rec.size > MAX_METADATA_BYTES:
                problems.append(f"Insta360 metadata record of {rec.size} bytes is too large to "
                                "check for a 'gps' field")
                continue
            fields = metadata_gps_fields(src.read(rec.start, rec.size))
            if isinstance(fields, str):
                problems.append(f"Insta360 {fields}: may hold a 'gps' field")
                continue
            for a, b in fields:
                if b > a and not _zeros(src, rec.start + a, rec.start + b):
                    found.append(Location(rec.start + a, rec.start + b, "Insta360:metadata gps"))
    return found, problems


# --- the audit ------------------------------------------------------------------------------

def report(walker, trailer: Trailer) -> None:  # type: ignore[no-untyped-def]
    """Hand what one trailer holds to the walker's collector (a warning when it cannot)."""
    if trailer.problem:
        walker.warn_once(f"{trailer.problem}: not checked")
        return
    src = walker.src
    entries = GpsEntries()
    for rec in trailer.records:
        if rec.type != GPS_TYPE or not rec.size:
            continue
        where = f"Insta360 GPS record 0x{rec.kind:03x} at offset {rec.start}"
        if rec.kind != GPS:
            if not _zeros(src, rec.start, rec.end):
                walker.warn_once(f"{where} in format {rec.format} not decoded: may hold positions")
            continue
        if rec.size > MAX_GPS_BYTES:
            walker.warn_once(f"{where} holds {rec.size} bytes, more than the {MAX_GPS_BYTES}-byte "
                             "limit: not checked")
            continue
        decode_gps(src.read(rec.start, rec.size), entries)
        if entries.problem:
            walker.warn_once(f"{where}: {entries.problem}: not checked")
            entries.problem = None
    for rec in trailer.records:
        if rec.kind == METADATA and rec.size:
            _report_metadata(walker, rec)
    detail: dict[str, object] = {"trailer_version": trailer.version}
    if entries.no_fix:
        detail["skipped_no_fix"] = entries.no_fix
    if entries.leftover:
        detail["leftover_bytes"] = entries.leftover
    if entries.fixes:
        walker.out.track("Insta360:GPS", entries.fixes, detail)
    elif entries.no_fix:
        walker.out.placeholder("Insta360:GPS", f"{entries.no_fix} GPS entries without a fix",
                               detail)


def _report_metadata(walker, rec: Record) -> None:  # type: ignore[no-untyped-def]
    where = f"Insta360 metadata record at offset {rec.start}"
    if rec.size > MAX_METADATA_BYTES:
        walker.warn_once(f"{where} holds {rec.size} bytes, too many to check for a 'gps' field")
        return
    fields = metadata_gps_fields(walker.src.read(rec.start, rec.size))
    if isinstance(fields, str):
        walker.warn_once(f"{where}: {fields}: may hold a 'gps' field, not checked")
        return
    for a, b in fields:
        if b > a and not _zeros(walker.src, rec.start + a, rec.start + b):
            walker.warn_once(f"{where} holds a 'gps' field of {b - a} bytes that is not "
                             "decoded: may hold a position")


def parse_box(walker, box) -> None:  # type: ignore[no-untyped-def]
    """A top-level ``inst`` box: the same trailer, ending where the box ends (exiftool)."""
    trailer = read_trailer(walker.src, box.end, box.payload)
    if trailer is None:
        walker.warn_once(f"Insta360 'inst' box at offset {box.start} without the trailer "
                         "signature: not decoded, may hold positions")
        return
    report(walker, trailer)
