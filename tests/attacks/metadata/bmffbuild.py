"""Build small ISO-BMFF files in tests (ISO/IEC 14496-12 box layout) and read them as audit does."""

from __future__ import annotations

import struct
from pathlib import Path

from geoprivacy.attacks.metadata import isobmff
from geoprivacy.attacks.metadata.common import Collector, Options
from geoprivacy.errors import GeoprivacyError
from geoprivacy.media.sniff import sniff
from geoprivacy.media.source import Source
from geoprivacy.types import Evidence

BMFF_CONTAINERS = {"HEIF", "AVIF", "MP4", "MOV", "3GP"}


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind: bytes, payload: bytes = b"", version: int = 0, flags: int = 0) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def ftyp(major: bytes = b"isom", brands: tuple[bytes, ...] = (b"isom", b"mp42")) -> bytes:
    return box(b"ftyp", major + b"\x00\x00\x00\x00" + b"".join(brands))


def mvhd(timescale: int = 1000, duration: int = 1000, created: int = 0) -> bytes:
    body = struct.pack(">IIII", created, created, timescale, duration) + bytes(80)
    return full_box(b"mvhd", body)


def track(handler: bytes, sample_entry: bytes, offsets: list[int], sizes: list[int],
          timescale: int = 1000, delta: int = 1000, per_chunk: int = 1) -> bytes:
    """A ``trak`` whose samples (given by file offset and size) are described by its tables."""
    mdhd = full_box(b"mdhd", struct.pack(">IIII", 0, 0, timescale, delta * len(sizes)) + bytes(4))
    hdlr = full_box(b"hdlr", bytes(4) + handler + bytes(12) + b"\x00")
    stsd = full_box(b"stsd", struct.pack(">I", 1) + sample_entry)
    stts = full_box(b"stts", struct.pack(">III", 1, len(sizes), delta))
    stsc = full_box(b"stsc", struct.pack(">IIII", 1, 1, per_chunk, 1))
    stsz = full_box(b"stsz", struct.pack(">II", 0, len(sizes)) + b"".join(
        struct.pack(">I", s) for s in sizes))
    chunk_offsets = offsets[::per_chunk]
    stco = full_box(b"stco", struct.pack(">I", len(chunk_offsets)) + b"".join(
        struct.pack(">I", o) for o in chunk_offsets))
    stbl = box(b"stbl", stsd + stts + stsc + stsz + stco)
    minf = box(b"minf", stbl)
    mdia = box(b"mdia", mdhd + hdlr + minf)
    tkhd = full_box(b"tkhd", bytes(80))
    return box(b"trak", tkhd + mdia)


def sample_entry(kind: bytes, extra: bytes = b"") -> bytes:
    """A SampleEntry: 6 reserved bytes and a data-reference index, then format-specific data."""
    return box(kind, bytes(6) + struct.pack(">H", 1) + extra)


def movie_with_samples(handler: bytes, entry: bytes, samples: list[bytes],
                       extra_moov: bytes = b"", timescale: int = 1000, delta: int = 1000,
                       created: int = 0, major: bytes = b"isom") -> bytes:
    """ftyp, an mdat holding ``samples`` back to back, and a moov with one track over them."""
    head = ftyp(major)
    mdat_payload = b"".join(samples)
    offsets, at = [], len(head) + 8
    for sample in samples:
        offsets.append(at)
        at += len(sample)
    moov = box(b"moov", mvhd(created=created) + track(handler, entry, offsets,
                                                     [len(s) for s in samples], timescale,
                                                     delta) + extra_moov)
    return head + box(b"mdat", mdat_payload) + moov


def read_bmff(data: bytes | Path, options: Options | None = None
              ) -> tuple[str, Collector, list[str], int]:
    """(sniffed container, collector, errors, bytes read) — never raises for bad input."""
    src = Source.from_path(data) if isinstance(data, Path) else Source.from_bytes(data)
    out = Collector(options or Options())
    errors: list[str] = []
    with src:
        container = sniff(src).container
        if container in BMFF_CONTAINERS:
            try:
                isobmff.parse(src, out)
            except GeoprivacyError as exc:
                errors.append(str(exc))
        else:
            errors.append(f"not ISO-BMFF: {container}")
        read = src.bytes_read
    return container, out, errors + out.warnings, read


def locations(out: Collector) -> list[Evidence]:
    return [e for e in out.evidence if e.is_location]


def only(out: Collector, where: str) -> Evidence:
    found = [e for e in out.evidence if e.where == where]
    assert len(found) == 1, f"expected one {where}, got {[e.where for e in out.evidence]}"
    return found[0]
