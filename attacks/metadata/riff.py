"""WebP (RIFF): the EXIF and XMP chunks; image chunks are skipped by their sizes, never read."""

from __future__ import annotations

import struct

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.attacks.metadata.exif import parse_tiff_block
from geoprivacy.attacks.metadata.xmp import parse_xmp
from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source

MAX_CHUNKS = 10000
MAX_METADATA_CHUNK = 16 << 20


def parse(src: Source, out: Collector) -> None:
    """Walk the RIFF chunks of a WebP file and parse EXIF and XMP chunks."""
    head = src.read(0, 12)
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        raise ParseError("not a RIFF/WEBP file")
    declared = struct.unpack_from("<I", head, 4)[0] + 8
    end = src.size
    if declared != src.size:
        out.warn(f"WebP: RIFF size says {declared} bytes but the file has {src.size}")
        end = min(declared, src.size) if declared >= 12 else src.size
    pos = 12
    for _ in range(MAX_CHUNKS):
        if pos + 8 > end:
            return
        fourcc, size = struct.unpack("<4sI", src.read(pos, 8))
        body = pos + 8
        if body + size > end:
            out.warn(f"WebP: chunk {fourcc!r} at offset {pos} runs past the end")
            size = end - body
        if fourcc in (b"EXIF", b"XMP "):
            if size > MAX_METADATA_CHUNK:
                out.warn(f"WebP: {fourcc.decode().strip()} chunk of {size} bytes not read")
            else:
                _metadata_chunk(fourcc, src.read(body, size), out)
        pos = body + size + (size & 1)
    out.warn(f"WebP: more than {MAX_CHUNKS} chunks; the rest was not read")


def _metadata_chunk(fourcc: bytes, data: bytes, out: Collector) -> None:
    if fourcc == b"EXIF":
        if data.startswith(b"Exif\x00\x00"):  # improper but common (exiftool warns)
            data = data[6:]
        parse_tiff_block(data, out, "EXIF")
    else:
        parse_xmp(data, out, "XMP")
