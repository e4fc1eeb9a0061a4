"""Tracks of a ``moov``: what each holds, where its samples lie, and whether it leaks a position.

Sample ranges are computed per chunk (a chunk's samples are contiguous), from ``stsc``, ``stsz``
/``stz2`` and ``stco``/``co64``; every count is checked against its box size.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from geoprivacy.attacks.metadata import tracks_policy
from geoprivacy.defenses.strip import bmff_box as bb
from geoprivacy.defenses.strip.bmff_box import Box
from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source

MAX_TEXT_BYTES = 16 * 1024 * 1024   # subtitle sample bytes read to decide whether a track is GPS

# Sample formats that are position telemetry, with the ``where`` the audit gives them.
GPS_FORMATS = {b"gpmd": "GPMF", b"camm": "CAMM:GPS", b"djmd": "DJI:djmd", b"gps ": "GPS track"}
GPMF_GPS_KEYS = (b"GPS5", b"GPS9", b"GPRI", b"GLPI")  # GoPro cameras; Karma drone
MAX_GPMF_PEEK = 4 * 1024 * 1024
TEXT_FORMATS = {b"tx3g", b"text", b"wvtt"}
TEXT_HANDLERS = {b"text", b"sbtl", b"subt"}
AV_HANDLERS = {b"vide", b"soun"}


@dataclass
class Track:
    """One ``trak``: its box (offsets relative to the moov bytes) and what we learned of it."""

    index: int
    box: Box
    track_id: int = 0
    handler: bytes = b""
    fmt: bytes = b""
    self_contained: bool = True
    chunks: list[tuple[int, int]] = field(default_factory=list)  # absolute (offset, length)
    samples: list[tuple[int, int]] = field(default_factory=list)  # text tracks only
    stsd: bytes = b""
    drop: tuple[str, ...] = ()  # the ``where`` of what it leaks, when it goes


def read_track(moov: bytes, box: Box, index: int) -> Track:
    """Identify a track and compute its chunk ranges."""
    track = Track(index, box)
    where = f"track {index}"
    tkhd = bb.child(moov, box, b"tkhd")
    if tkhd is not None and tkhd.end - tkhd.payload_start >= 24:
        p = tkhd.payload_start
        version = moov[p]
        at = p + (20 if version == 1 else 12)
        if at + 4 <= tkhd.end:
            track.track_id = struct.unpack_from(">I", moov, at)[0]
    mdia = bb.child(moov, box, b"mdia")
    if mdia is None:
        return track
    track.handler = bb.handler_type(moov, mdia)
    stbl = bb.path(moov, mdia, b"minf", b"stbl")
    dref = bb.path(moov, mdia, b"minf", b"dinf", b"dref")
    if dref is not None:
        track.self_contained = _self_contained(moov, dref)
    if stbl is None:
        return track
    stsd = bb.child(moov, stbl, b"stsd")
    if stsd is not None:
        track.stsd = moov[stsd.payload_start:stsd.end]
        if stsd.end - stsd.payload_start >= 16:
            track.fmt = moov[stsd.payload_start + 12:stsd.payload_start + 16]
    text = track.fmt in TEXT_FORMATS or track.handler in TEXT_HANDLERS
    track.chunks, track.samples = _chunks(moov, stbl, where, text)
    return track


def _self_contained(moov: bytes, dref: Box) -> bool:
    """False when any data reference points outside this file (flag bit 1 clear)."""
    for entry in bb.iter_bytes(moov, dref.payload_start + 8, dref.end, "dref"):
        if entry.end - entry.payload_start < 4:
            return False
        flags = int.from_bytes(moov[entry.payload_start + 1:entry.payload_start + 4], "big")
        if not flags & 1:
            return False
    return True


def _table(moov: bytes, box: Box, skip: int, width: int, where: str) -> tuple[int, int]:
    """(count, first entry offset) of a version/flags + count table, checked against the box."""
    p = box.payload_start + skip
    if p + 4 > box.end:
        raise ParseError(f"{where}: '{box.name}' too short")
    count = struct.unpack_from(">I", moov, p)[0]
    if count * width > box.end - p - 4:
        raise ParseError(f"{where}: '{box.name}' declares {count} entries but holds fewer")
    return count, p + 4


def _chunks(moov: bytes, stbl: Box, where: str,
            want_samples: bool) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(offset, length) of every chunk, and of every sample when ``want_samples``."""
    boxes = {b.type: b for b in bb.iter_bytes(moov, stbl.payload_start, stbl.end, "stbl")}
    offsets = _chunk_offsets(moov, boxes, where)
    if not offsets:
        return [], []
    sizes = _sample_sizes(moov, boxes, where)
    stsc = boxes.get(b"stsc")
    if stsc is None:
        raise ParseError(f"{where}: chunk offsets without 'stsc'")
    count, p = _table(moov, stsc, 4, 12, where)
    runs = [struct.unpack_from(">III", moov, p + 12 * i)[:2] for i in range(count)]
    chunks: list[tuple[int, int]] = []
    samples: list[tuple[int, int]] = []
    sample = 0
    total = sizes[1] if isinstance(sizes, tuple) else len(sizes)
    for r, (first, per_chunk) in enumerate(runs):
        last = runs[r + 1][0] - 1 if r + 1 < len(runs) else len(offsets)
        if first < 1 or last > len(offsets) or (r + 1 < len(runs) and last < first - 1):
            raise ParseError(f"{where}: 'stsc' refers to chunks out of order or out of range")
        for chunk in range(first, last + 1):
            n = min(per_chunk, total - sample)
            if n <= 0:
                break
            if isinstance(sizes, tuple):
                each = [sizes[0]] * n if want_samples else []
                length = sizes[0] * n
            else:
                each = sizes[sample:sample + n]
                length = sum(each)
            chunks.append((offsets[chunk - 1], length))
            if want_samples:
                pos = offsets[chunk - 1]
                for size in each:
                    samples.append((pos, size))
                    pos += size
            sample += n
    return chunks, samples


def _chunk_offsets(moov: bytes, boxes: dict[bytes, Box], where: str) -> list[int]:
    if b"stco" in boxes:
        count, p = _table(moov, boxes[b"stco"], 4, 4, where)
        return list(struct.unpack_from(f">{count}I", moov, p))
    if b"co64" in boxes:
        count, p = _table(moov, boxes[b"co64"], 4, 8, where)
        return list(struct.unpack_from(f">{count}Q", moov, p))
    return []


def _sample_sizes(moov: bytes, boxes: dict[bytes, Box], where: str) -> tuple[int, int] | list[int]:
    """(constant size, count) or the list of sizes."""
    if b"stsz" in boxes:
        box = boxes[b"stsz"]
        p = box.payload_start
        if p + 12 > box.end:
            raise ParseError(f"{where}: 'stsz' too short")
        constant, count = struct.unpack_from(">II", moov, p + 4)
        if constant:
            return (constant, count)
        count, p = _table(moov, box, 8, 4, where)
        return list(struct.unpack_from(f">{count}I", moov, p))
    if b"stz2" in boxes:
        box = boxes[b"stz2"]
        p = box.payload_start
        if p + 12 > box.end:
            raise ParseError(f"{where}: 'stz2' too short")
        bits = moov[p + 7]
        count = struct.unpack_from(">I", moov, p + 8)[0]
        if bits not in (4, 8, 16) or (count * bits + 7) // 8 > box.end - p - 12:
            raise ParseError(f"{where}: bad 'stz2' table")
        raw = moov[p + 12:p + 12 + (count * bits + 7) // 8]
        if bits == 16:
            return list(struct.unpack(f">{count}H", raw))
        if bits == 8:
            return list(raw)
        return [(raw[i // 2] >> (4 if i % 2 == 0 else 0)) & 0xF for i in range(count)]
    raise ParseError(f"{where}: no sample size table")


def classify(track: Track, src: Source, all_metadata: bool) -> None:
    """Decide whether a track goes, and record the ``where`` of what it leaks."""
    if track.fmt == b"gpmd":
        track.drop = _gpmf_keys(track, src)
    elif track.fmt in GPS_FORMATS:
        track.drop = (GPS_FORMATS[track.fmt],)
    elif track.fmt == b"mebx" and b"location" in track.stsd.lower():
        track.drop = ("QuickTime:mebx:location",)
    elif track.fmt in TEXT_FORMATS or track.handler in TEXT_HANDLERS:
        flavour = _text_gps(track, src)
        if flavour:
            track.drop = (f"Subtitle:{flavour}",)
    if not track.drop:
        track.drop = _undecoded(track)
    if not track.drop and all_metadata and track.handler not in AV_HANDLERS:
        track.drop = (f"QuickTime:track {track.index} ({bb.fourcc(track.handler or b'----')})",)


def _undecoded(track: Track) -> tuple[str, ...]:
    """A timed-metadata track the audit cannot decode goes too (the audit's own predicate), so
    that the output re-audits clean instead of "not checked"."""
    formats, entries = tracks_policy.stsd_entries(track.stsd)
    fmt = tracks_policy.undecoded_format(track.handler, formats, entries)
    if fmt is None:
        return ()
    return (f"QuickTime:track {track.index} ({bb.fourcc(fmt)}, not decoded)",)


def _gpmf_keys(track: Track, src: Source) -> tuple[str, ...]:
    """``GPMF:<key>`` for the GPS keys the first samples of a GPMF track use (``GPMF`` if none)."""
    found: list[str] = []
    budget = MAX_GPMF_PEEK
    for offset, length in track.chunks[:8]:
        length = min(length, budget, max(0, src.size - offset))
        budget -= length
        data = src.read(offset, length) if length else b""
        found += [f"GPMF:{k.decode()}" for k in GPMF_GPS_KEYS if k in data]
    return tuple(dict.fromkeys(found)) or ("GPMF",)


def _text_gps(track: Track, src: Source) -> str | None:
    """The flavour of the first position a subtitle track states, or None."""
    from geoprivacy.attacks.metadata import subtitles

    budget = MAX_TEXT_BYTES
    for offset, length in track.samples:
        if length > budget or offset + length > src.size:
            raise ParseError(f"track {track.index}: subtitle samples too large or past the end "
                             "of the file; cannot check them for positions")
        budget -= length
        found = subtitles.fixes_from_text(subtitles.sample_text(src.read(offset, length)), None)
        if found:
            return found[0][0]
    return None
