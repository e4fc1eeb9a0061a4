"""JPEG: walk the marker segments up to the first scan and hand each metadata segment on.

Hand-written because Pillow decodes the image header and loads every APPn into memory; here only
segment headers are read, payloads only for segments that can carry a location, and the
entropy-coded image data is never touched.
"""

from __future__ import annotations

import struct

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.attacks.metadata.exif import TiffBlock, parse_tiff_block
from geoprivacy.attacks.metadata.flir import ChunkedReader, parse_fff
from geoprivacy.attacks.metadata.iptc import PHOTOSHOP_HEADER, parse_photoshop_irb
from geoprivacy.attacks.metadata.xmp import parse_xmp
from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source
from geoprivacy.tracks import Fix

MAX_SEGMENTS = 2048
MAX_PARSED = 64              # metadata payloads parsed per file (all MPF images together)
MAX_MPF_IMAGES = 32
MAX_EXTENDED_XMP = 16 << 20
MAX_IRB = 16 << 20
SIGNATURE_BYTES = 40

XMP_SIG = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_EXT_SIG = b"http://ns.adobe.com/xmp/extension/\x00"
FLIR_SIG = b"FLIR\x00"
MPF_SIG = b"MPF\x00"
GOPRO_SIG = b"GoPro\x00"
STANDALONE = set(range(0xD0, 0xD8)) | {0x01, 0xD8}


class _Segments:
    """What one JPEG's marker walk collected for the parsers run after it."""

    def __init__(self) -> None:
        self.irb: list[bytes] = []
        self.flir: dict[int, tuple[int, int]] = {}        # chunk index → (file offset, length)
        self.extended: dict[bytes, tuple[int, bytearray, list[tuple[int, int]]]] = {}
        self.mpf: tuple[int, bytes] | None = None         # (file offset of TIFF header, block)


class _Budget:
    """How many more metadata payloads this file may have parsed (hostile files repeat them)."""

    def __init__(self) -> None:
        self.left = MAX_PARSED
        self.warned = False

    def take(self, out: Collector) -> bool:
        self.left -= 1
        if self.left >= 0:
            return True
        if not self.warned:
            out.warn(f"JPEG: more than {MAX_PARSED} metadata segments; the rest was not read")
            self.warned = True
        return False


def parse(src: Source, out: Collector) -> None:
    """Report every location in a JPEG's metadata, including MPF secondary images."""
    budget = _Budget()
    seg = _walk(src, 0, out, "", budget, main=True)
    if seg.mpf is not None:
        _mpf_images(src, seg.mpf, out, budget)


def _walk(src: Source, start: int, out: Collector, prefix: str, budget: _Budget,
          main: bool) -> _Segments:
    if src.read(start, 2) != b"\xff\xd8":
        raise ParseError(f"no JPEG start-of-image marker at offset {start}")
    seg = _Segments()
    pos = start + 2
    for _ in range(MAX_SEGMENTS):
        head = src.read_upto(pos, 4)
        if len(head) < 2:
            out.warn(f"{prefix}JPEG: file ends at offset {pos} before the image data")
            break
        if head[0] != 0xFF:
            out.warn(f"{prefix}JPEG: no marker at offset {pos}; metadata after it not read")
            break
        marker = head[1]
        if marker == 0xFF:      # fill byte
            pos += 1
            continue
        if marker in STANDALONE:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan: metadata is over
            break
        if len(head) < 4:
            out.warn(f"{prefix}JPEG: segment header cut at offset {pos}")
            break
        length = struct.unpack_from(">H", head, 2)[0]
        if length < 2:
            out.warn(f"{prefix}JPEG: segment length {length} at offset {pos}; stopped")
            break
        body_at, body_len = pos + 4, length - 2
        if body_at + body_len > src.size:
            out.warn(f"{prefix}JPEG: segment 0x{marker:02X} at offset {pos} runs past the end")
            body_len = src.size - body_at
        if 0xE0 <= marker <= 0xEF:
            _app_segment(src, marker, body_at, body_len, seg, out, prefix, main, budget)
        pos += 2 + length
    else:
        out.warn(f"{prefix}JPEG: more than {MAX_SEGMENTS} segments; the rest was not read")
    _finish(src, seg, out, prefix)
    return seg


def _app_segment(src: Source, marker: int, at: int, n: int, seg: _Segments, out: Collector,
                 prefix: str, main: bool, budget: _Budget) -> None:
    sig = src.read(at, min(n, SIGNATURE_BYTES))
    if marker == 0xE1:
        if sig.startswith(b"Exif\x00") and budget.take(out):
            parse_tiff_block(src.read(at + 6, max(0, n - 6)), out, f"{prefix}EXIF")
        elif sig.startswith(XMP_SIG) and budget.take(out):
            parse_xmp(src.read(at + len(XMP_SIG), n - len(XMP_SIG)), out, f"{prefix}XMP")
        elif sig.startswith(XMP_EXT_SIG):  # bounded by MAX_EXTENDED_XMP, parsed once at the end
            _extended_chunk(src.read(at, n), seg, out, prefix)
        elif sig.startswith(FLIR_SIG) and n > 8:  # only positions are kept here
            seg.flir.setdefault(sig[6], (at + 8, n - 8))
    elif marker == 0xED and sig.startswith(PHOTOSHOP_HEADER):
        if sum(map(len, seg.irb)) + n > MAX_IRB:
            out.warn(f"{prefix}Photoshop: resource blocks exceed {MAX_IRB} bytes; rest not read")
        else:
            seg.irb.append(src.read(at + len(PHOTOSHOP_HEADER), n - len(PHOTOSHOP_HEADER)))
    elif marker == 0xE6 and sig.startswith(GOPRO_SIG) and budget.take(out):
        _gopro(src.read(at + len(GOPRO_SIG), n - len(GOPRO_SIG)), out, prefix)
    elif marker == 0xE2 and sig.startswith(MPF_SIG) and main and seg.mpf is None:
        seg.mpf = (at + 4, src.read(at + 4, n - 4))


def _extended_chunk(body: bytes, seg: _Segments, out: Collector, prefix: str) -> None:
    """Extended XMP: chunks of one packet named by a GUID, each with its offset in the packet."""
    head = len(XMP_EXT_SIG)
    if len(body) < head + 40:
        out.warn(f"{prefix}XMP-Extended: chunk header truncated")
        return
    guid = body[head:head + 32]
    full, offset = struct.unpack_from(">II", body, head + 32)
    data = body[head + 40:]
    if full > MAX_EXTENDED_XMP:
        out.warn(f"{prefix}XMP-Extended: declared size {full} exceeds {MAX_EXTENDED_XMP}; skipped")
        return
    if guid not in seg.extended:
        if sum(len(b) for _, b, _ in seg.extended.values()) + full > MAX_EXTENDED_XMP:
            out.warn(f"{prefix}XMP-Extended: too many packets; skipped")
            return
        seg.extended[guid] = (full, bytearray(full), [])
    size, buf, got = seg.extended[guid]
    if full != size or offset + len(data) > size:
        out.warn(f"{prefix}XMP-Extended: chunk at {offset} does not fit the declared {size} bytes")
        return
    buf[offset:offset + len(data)] = data
    got.append((offset, offset + len(data)))


def _gopro(data: bytes, out: Collector, prefix: str) -> None:
    """GoPro stills: a GPMF tree in APP6, which can hold GPS5/GPS9 rows like the video track."""
    try:
        from geoprivacy.attacks.metadata.gpmf import parse_payload
    except ImportError:  # the GPMF reader ships with the video parsers
        return
    payload = parse_payload(data)
    for problem in payload.problems[:5]:
        out.warn(f"{prefix}GoPro: {problem}")
    fixes = [(kind, Fix(lat, lon, alt, utc)) for kind, lat, lon, alt, utc, fix, _dop
             in payload.rows if fix != 0]
    where = f"{prefix}GoPro:{fixes[0][0] if fixes else 'GPS'}"
    if len(fixes) == 1:
        fix = fixes[0][1]
        out.position(where, fix.lat, fix.lon, detail={"altitude_m": fix.alt})
    elif fixes:
        out.track(where, [f for _, f in fixes])
    elif payload.rows:
        out.placeholder(where, f"{len(payload.rows)} GPS values without satellite lock")


def _finish(src: Source, seg: _Segments, out: Collector, prefix: str) -> None:
    """Parsers that need every segment first: IRB, Extended XMP, FLIR."""
    if seg.irb:
        parse_photoshop_irb(b"".join(seg.irb), out, f"{prefix}Photoshop")
    for guid, (size, buf, got) in seg.extended.items():
        covered = _covered(got)
        if covered < size:
            out.warn(f"{prefix}XMP-Extended: packet {guid.decode('latin-1')} incomplete "
                     f"({covered} of {size} bytes)")
        parse_xmp(bytes(buf), out, f"{prefix}XMP-Extended")
    if seg.flir:
        chunks = [seg.flir[i] for i in sorted(seg.flir)]
        try:
            parse_fff(ChunkedReader(src, chunks), out, f"{prefix}FLIR")
        except (ParseError, struct.error) as exc:
            out.warn(f"{prefix}FLIR: {exc}")


def _covered(ranges: list[tuple[int, int]]) -> int:
    """Bytes covered by a set of [start, end) ranges (chunks may repeat or overlap)."""
    total, reach = 0, 0
    for start, end in sorted(ranges):
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return total


def _mpf_images(src: Source, mpf: tuple[int, bytes], out: Collector, budget: _Budget) -> None:
    """MP Format: secondary images (previews, depth maps, other frames) with their own Exif."""
    base, block_bytes = mpf
    try:
        block = TiffBlock.from_bytes(block_bytes)
        entries, _, _ = block.ifd(block.first_ifd)
        table = next((e for e in entries if e.tag == 0xB002), None)
        raw = block.raw(table, 16 * MAX_MPF_IMAGES) if table is not None else b""
    except (ParseError, struct.error) as exc:
        out.warn(f"MPF: index unreadable: {exc}")
        return
    for n in range(1, min(len(raw) // 16, MAX_MPF_IMAGES)):
        _attr, size, offset = struct.unpack_from(block.endian + "III", raw, 16 * n)
        at = base + offset
        if offset == 0 or at + 2 > src.size:
            if offset:
                out.warn(f"MPF[{n}]: image offset {offset} is past the end of the file")
            continue
        try:
            _walk(src, at, out, f"MPF[{n}]:", budget, main=False)
        except ParseError as exc:
            out.warn(f"MPF[{n}]: {exc}")
