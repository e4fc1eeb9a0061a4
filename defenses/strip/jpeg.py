"""JPEG writer: location out of EXIF, XMP (incl. Extended XMP), IPTC, FLIR, MPF images, thumbnail.

Default mode edits every block at its own length (GPS IFD neutralised, XMP padded, IPTC
padded with NULs, FLIR GPS record emptied), so the file keeps its exact length: MPF offsets
to secondary images and MakerNote offsets stay valid, and the entropy-coded image data is
copied byte for byte. Only a block that cannot be parsed is dropped whole.

``--all`` keeps only what decoding needs or what changes how the picture looks: JFIF (APP0),
the ICC colour profile (APP2), Adobe APP14 (colour transform for CMYK/YCCK) and a minimal EXIF
holding just Orientation; everything else (EXIF, XMP, IPTC, comments, vendor segments, MPF
images and other data after EOI) goes.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

from geoprivacy.defenses.strip import StripOptions
from geoprivacy.defenses.strip import exif_edit
from geoprivacy.defenses.strip.iptc_edit import clean_irb
from geoprivacy.defenses.strip.xmp_edit import clean_xmp
from geoprivacy.errors import ParseError

MAX_PHOTO = 1024 * 1024 * 1024
MAX_SEGMENTS = 10_000
MAX_DEPTH = 2            # a thumbnail or MPF image inside a JPEG, and one level below

EXIF_ID = b"Exif\x00\x00"
XMP_ID = b"http://ns.adobe.com/xap/1.0/\x00"
EXT_XMP_ID = b"http://ns.adobe.com/xmp/extension/\x00"
IRB_ID = b"Photoshop 3.0\x00"
FLIR_ID = b"FLIR\x00"
ICC_ID = b"ICC_PROFILE\x00"
MPF_ID = b"MPF\x00"
GOPRO_ID = b"GoPro\x00"
FLIR_GPS_RECORD = 0x2B
GPMF_GPS_KEYS = {b"GPS5", b"GPS9", b"GPSU", b"GPSF", b"GPSP", b"GPSA"}
GPMF_FREE = b"FREE"     # an unknown key: readers skip it
MAX_GPMF_ITEMS = 100_000


@dataclass
class Segment:
    marker: int
    start: int          # position of 0xFF
    payload: int        # first payload byte (after the length field)
    end: int            # first byte after the segment

    def ident(self, data: bytes | bytearray, prefix: bytes) -> bool:
        return bytes(data[self.payload:self.payload + len(prefix)]) == prefix


def read_input(path: str, limit: int = MAX_PHOTO) -> bytes:
    """The whole file (photos are edited in memory), refusing absurd sizes."""
    with open(path, "rb") as fh:
        # read(n) reserves n bytes up front: ask for the file's size, not the limit
        data = fh.read(min(limit, os.fstat(fh.fileno()).st_size) + 1)
    if len(data) > limit:
        raise ParseError(f"file is larger than {limit} bytes; not cleaned")
    return data


def parse_segments(data: bytes | bytearray) -> tuple[list[Segment], int]:
    """Marker segments before the first SOS, and the position of the SOS marker."""
    if data[:2] != b"\xff\xd8":
        raise ParseError("not a JPEG (no SOI marker)")
    segments: list[Segment] = []
    pos = 2
    while len(segments) < MAX_SEGMENTS:
        if pos + 2 > len(data):
            raise ParseError(f"JPEG ends at byte {pos} before the image data (no SOS)")
        if data[pos] != 0xFF:
            raise ParseError(f"JPEG: expected a marker at byte {pos}")
        while pos + 1 < len(data) and data[pos + 1] == 0xFF:
            pos += 1                      # fill bytes
        if pos + 1 >= len(data):
            raise ParseError(f"JPEG ends in fill bytes at byte {pos} (no SOS)")
        marker = data[pos + 1]
        if marker == 0xDA:
            return segments, pos
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xD9:
            raise ParseError("JPEG has an EOI before any image data")
        if pos + 4 > len(data):
            raise ParseError(f"JPEG segment header truncated at byte {pos}")
        length = struct.unpack_from(">H", data, pos + 2)[0]
        if length < 2 or pos + 2 + length > len(data):
            raise ParseError(f"JPEG segment 0x{marker:02X} at byte {pos} runs past the end")
        segments.append(Segment(marker, pos, pos + 4, pos + 2 + length))
        pos += 2 + length
    raise ParseError(f"JPEG has more than {MAX_SEGMENTS} segments")


def find_eoi(data: bytes | bytearray, sos: int) -> int:
    """Position just after the EOI that ends the primary image (len(data) when missing)."""
    pos = sos
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            return len(data)
        nxt = data[pos + 1]
        if nxt == 0x00 or nxt == 0xFF or 0xD0 <= nxt <= 0xD7:
            pos += 1
            continue
        if nxt == 0xD9:
            return pos + 2
        if pos + 4 > len(data):
            return len(data)
        pos += 2 + struct.unpack_from(">H", data, pos + 2)[0]


# ---------------------------------------------------------------- default (location) mode

def clean_in_place(buf: bytearray, depth: int = 0) -> list[str]:
    """Remove location from the JPEG in ``buf`` without changing its length.

    Raises ParseError when a location-bearing block cannot be parsed (so it cannot be cleaned
    at the same length); the caller may then drop it.
    """
    segments, _sos = parse_segments(buf)
    removed: list[str] = []
    ext_xmp: list[Segment] = []
    flir: list[Segment] = []
    for seg in segments:
        if seg.marker == 0xE1 and seg.ident(buf, EXIF_ID):
            removed += _clean_exif(buf, seg.payload + len(EXIF_ID), seg.end, depth)
        elif seg.marker == 0xE1 and seg.ident(buf, XMP_ID):
            start = seg.payload + len(XMP_ID)
            cleaned, gone = clean_xmp(bytes(buf[start:seg.end]), same_size=True)
            buf[start:seg.end] = cleaned
            removed += gone
        elif seg.marker == 0xE1 and seg.ident(buf, EXT_XMP_ID):
            ext_xmp.append(seg)
        elif seg.marker == 0xE1 and seg.ident(buf, FLIR_ID):
            flir.append(seg)
        elif seg.marker == 0xED and seg.ident(buf, IRB_ID):
            start = seg.payload + len(IRB_ID)
            cleaned, gone = clean_irb(buf[start:seg.end])
            buf[start:seg.end] = cleaned
            removed += gone
        elif seg.marker == 0xE6 and seg.ident(buf, GOPRO_ID):
            removed += clean_gpmf(buf, seg.payload + len(GOPRO_ID), seg.end)
        elif seg.marker == 0xE2 and seg.ident(buf, MPF_ID) and depth == 0:
            removed += _clean_mpf_images(buf, seg, depth)
    if ext_xmp:
        removed += _clean_extended_xmp(buf, segments, ext_xmp)
    if flir:
        removed += _clean_flir(buf, flir)
    return removed


def _clean_exif(buf: bytearray, start: int, end: int, depth: int) -> list[str]:
    thumb = (lambda inner: clean_in_place(inner, depth + 1)) if depth < MAX_DEPTH else None
    return exif_edit.clean_block(buf, start, end, thumb)


def _clean_mpf_images(buf: bytearray, seg: Segment, depth: int) -> list[str]:
    """Clean each MPF secondary image where it lies (same length, so MPF offsets hold)."""
    base = seg.payload + len(MPF_ID)
    try:
        layout = exif_edit.walk(buf, base, seg.end)
    except ParseError:
        return []
    removed: list[str] = []
    for role, ifd in layout.ifds:
        for e in ifd.entries:
            if role != "IFD0" or e.tag != 0xB002 or not e.value_len:
                continue
            for k in range(min(e.value_len // 16, 64)):
                at = base + e.value_pos + 16 * k
                size, offset = struct.unpack_from(layout.endian + "II", buf, at + 4)
                lo = base + offset
                if offset == 0 or lo + size > len(buf) or buf[lo:lo + 2] != b"\xff\xd8":
                    continue
                inner = bytearray(buf[lo:lo + size])
                try:
                    gone = clean_in_place(inner, depth + 1)
                except ParseError:
                    continue        # the re-audit decides whether it leaks
                buf[lo:lo + size] = inner
                removed += [f"MPF image {k + 1}:{w}" for w in gone]
    return removed


def clean_gpmf(buf: bytearray, start: int, end: int) -> list[str]:
    """GoPro GPMF (KLV) in place: GPS entries renamed to an unknown key and their data zeroed."""
    removed: list[str] = []
    stack = [(start, end)]
    items = 0
    while stack and items < MAX_GPMF_ITEMS:
        pos, stop = stack.pop()
        while pos + 8 <= stop and items < MAX_GPMF_ITEMS:
            items += 1
            key = bytes(buf[pos:pos + 4])
            typ, size, repeat = buf[pos + 4], buf[pos + 5], struct.unpack_from(">H", buf, pos + 6)[0]
            length = size * repeat
            body_end = pos + 8 + length
            if body_end > stop or key == b"\x00\x00\x00\x00":
                break
            if typ == 0:
                stack.append((pos + 8, body_end))
            elif key in GPMF_GPS_KEYS:
                buf[pos:pos + 4] = GPMF_FREE
                buf[pos + 8:body_end] = bytes(length)
                removed.append(f"GoPro:{key.decode()}")
            pos = body_end + (-length % 4)
    return removed


def _clean_extended_xmp(buf: bytearray, segments: list[Segment],
                        parts: list[Segment]) -> list[str]:
    """Reassemble each Extended XMP (by GUID), clean it at its length, give it its new GUID."""
    groups: dict[bytes, list[Segment]] = {}
    for seg in parts:
        guid = bytes(buf[seg.payload + 35:seg.payload + 67])
        groups.setdefault(guid, []).append(seg)
    removed: list[str] = []
    for guid, segs in groups.items():
        total = struct.unpack_from(">I", buf, segs[0].payload + 67)[0]
        if total > len(buf):        # a hostile length (up to 4 GB) must not size an allocation
            raise ParseError(f"Extended XMP declares {total} bytes, more than the whole file")
        whole = bytearray(total)
        pieces = []
        for seg in segs:
            offset = struct.unpack_from(">I", buf, seg.payload + 71)[0]
            chunk = buf[seg.payload + 75:seg.end]
            if offset + len(chunk) > total:
                raise ParseError("Extended XMP chunk lies outside its declared length")
            whole[offset:offset + len(chunk)] = chunk
            pieces.append((seg, offset, len(chunk)))
        cleaned, gone = clean_xmp(bytes(whole), same_size=True)
        if not gone:
            continue
        removed += [f"{w} (extended)" for w in gone]
        new_guid = hashlib.md5(cleaned).hexdigest().upper().encode()
        for seg, offset, n in pieces:
            buf[seg.payload + 35:seg.payload + 67] = new_guid
            buf[seg.payload + 75:seg.payload + 75 + n] = cleaned[offset:offset + n]
        for seg in segments:        # the main packet names its extension by GUID
            if seg.marker == 0xE1 and seg.ident(buf, XMP_ID):
                body = bytes(buf[seg.payload:seg.end])
                buf[seg.payload:seg.end] = body.replace(guid, new_guid)
    return removed


def _clean_flir(buf: bytearray, segs: list[Segment]) -> list[str]:
    """Empty the FLIR FFF GPS record (type 0x2B -> 0, data zeroed) across its APP1 chunks."""
    spans = [(s.payload + 8, s.end) for s in segs]
    fff = b"".join(bytes(buf[a:b]) for a, b in spans)
    if len(fff) < 0x40 or fff[:4] not in (b"FFF\x00", b"AFF\x00"):
        return []
    endian = ">" if 100 <= struct.unpack_from(">I", fff, 0x14)[0] < 200 else "<"
    dir_pos, count = struct.unpack_from(endian + "II", fff, 0x18)
    if count > 1024 or dir_pos + 32 * count > len(fff):
        raise ParseError("FLIR record directory runs past the FLIR data")

    def write(offset: int, data: bytes) -> None:
        for a, b in spans:
            n = b - a
            if offset < n:
                take = min(n - offset, len(data))
                buf[a + offset:a + offset + take] = data[:take]
                data = data[take:]
                offset = 0
                if not data:
                    return
            else:
                offset -= n

    removed = []
    for i in range(count):
        entry = dir_pos + 32 * i
        rtype = struct.unpack_from(endian + "H", fff, entry)[0]
        if rtype != FLIR_GPS_RECORD:
            continue
        rpos, rlen = struct.unpack_from(endian + "II", fff, entry + 0x0C)
        write(entry, b"\x00\x00")
        if rpos + rlen <= len(fff):
            write(rpos, bytes(rlen))
        removed.append("FLIR:GPSInfo")
    return removed


def clean_default(data: bytes) -> tuple[bytes, list[str]]:
    """Location removed at equal length; an unparseable EXIF/XMP block is dropped whole."""
    buf = bytearray(data)
    try:
        removed = clean_in_place(buf)
        return bytes(buf), removed
    except (ParseError, struct.error) as first:
        dropped = _drop_unreadable(data)
        if dropped is None:
            raise ParseError(str(first)) from None
        out, where = dropped
        buf = bytearray(out)
        try:
            removed = where + clean_in_place(buf)
            return bytes(buf), removed
        except (ParseError, struct.error):
            raise ParseError(str(first)) from None


def _drop_unreadable(data: bytes) -> tuple[bytes, list[str]] | None:
    """Drop EXIF/XMP/Extended XMP blocks that cannot be parsed (only before any MPF block)."""
    segments, _ = parse_segments(data)
    out = bytearray(data[:2])
    pos = 2
    removed: list[str] = []
    mpf_seen = False
    ext = [s for s in segments if s.marker == 0xE1 and s.ident(data, EXT_XMP_ID)]
    ext_ok = True
    if ext:
        try:
            _clean_extended_xmp(bytearray(data), segments, ext)
        except (ParseError, struct.error):
            ext_ok = False
    for seg in segments:
        reason = None
        if not ext_ok and seg in ext:
            reason = "XMP (extended, unreadable, dropped)"
        elif seg.marker == 0xE2 and seg.ident(data, MPF_ID):
            mpf_seen = True
        elif seg.marker == 0xE1 and seg.ident(data, EXIF_ID):
            try:
                probe = bytearray(data[seg.start:seg.end])
                _clean_exif(probe, seg.payload - seg.start + 6, len(probe), MAX_DEPTH)
            except (ParseError, struct.error):
                reason = "EXIF (unreadable, dropped)"
        elif seg.marker == 0xE1 and seg.ident(data, XMP_ID):
            try:
                clean_xmp(bytes(data[seg.payload + len(XMP_ID):seg.end]), same_size=True)
            except ParseError:
                reason = "XMP (unreadable, dropped)"
        if reason:
            if mpf_seen:
                return None
            out += data[pos:seg.start]
            pos = seg.end
            removed.append(reason)
    if not removed:
        return None
    out += data[pos:]
    return bytes(out), removed


# ---------------------------------------------------------------- --all mode

def clean_all(data: bytes) -> tuple[bytes, list[str]]:
    """Only decoding-relevant segments, ICC, JFIF, Adobe and Orientation; nothing after EOI."""
    segments, sos = parse_segments(data)
    keep = bytearray(data[:2])
    removed: list[str] = []
    orient = None
    for seg in segments:
        m = seg.marker
        if m == 0xE1 and seg.ident(data, EXIF_ID):
            orient = orient or exif_edit.orientation(data, seg.payload + 6, seg.end)
        if (m == 0xE0 and seg.ident(data, b"JFIF\x00")) or (m == 0xE2 and seg.ident(data, ICC_ID)) \
                or (m == 0xEE and seg.ident(data, b"Adobe")) or not (0xE0 <= m <= 0xEF or m == 0xFE):
            keep += data[seg.start:seg.end]
            continue
        removed.append(_describe(data, seg))
    tiff = exif_edit.minimal_exif(orient)
    if tiff is not None:
        payload = EXIF_ID + tiff
        exif = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
        at = 2
        if data[2:4] == b"\xff\xe0" and segments and segments[0].ident(data, b"JFIF\x00"):
            at += segments[0].end - segments[0].start
        keep[at:at] = exif
    eoi = find_eoi(data, sos)
    keep += data[sos:eoi]
    if eoi < len(data):
        removed.append(f"JPEG:data after EOI ({len(data) - eoi} bytes)")
    return bytes(keep), removed


def _describe(data: bytes, seg: Segment) -> str:
    for ident, name in ((EXIF_ID, "EXIF"), (XMP_ID, "XMP"), (EXT_XMP_ID, "XMP (extended)"),
                        (IRB_ID, "IPTC/Photoshop"), (FLIR_ID, "FLIR"), (MPF_ID, "MPF")):
        if seg.ident(data, ident):
            return name
    return "JPEG:COM" if seg.marker == 0xFE else f"JPEG:APP{seg.marker - 0xE0}"


def strip_jpeg(path: str, out: BinaryIO, options: StripOptions) -> list[str]:
    """Writer for JPEG (see ``geoprivacy.defenses.strip`` for the contract)."""
    data = read_input(path)
    try:
        cleaned, removed = clean_all(data) if options.all_metadata else clean_default(data)
    except struct.error as exc:
        raise ParseError(f"JPEG metadata block is truncated ({exc})") from None
    out.write(cleaned)
    return removed
