"""ISO-BMFF (MP4, MOV, 3GP, HEIF, AVIF): a bounded box walker and the dispatch to what boxes hold.

Hand-written because we need bounded reads and box paths: no media data (``mdat``) is ever read,
only box headers, the movie header tables and the small samples of metadata tracks. Every box size
is checked against its parent and the file, sizes past the end become warnings, nesting depth and
the number of boxes are bounded, and every box moves the cursor forward, so loops are impossible.

What the boxes mean lives in sibling modules: ``quicktime`` (udta/meta/keys/loci/XMP), ``heif``
(items), ``gpmf``, ``camm``, ``djmd`` (DJI protobuf), ``dashcam`` (70mai, Novatek) and
``subtitles`` (text tracks).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source

if TYPE_CHECKING:
    from geoprivacy.attacks.metadata import insta360

MAX_DEPTH = 24                  # boxes nested deeper than this are not walked
MAX_BOXES = 50_000              # box headers one file may make us read
MAX_TABLE_BYTES = 32 * 1024 * 1024   # one sample table (stsz, stco, ...) or metadata box
MAX_SAMPLE_BYTES = 4 * 1024 * 1024   # one metadata-track sample
MAX_TRACK_BYTES = 64 * 1024 * 1024   # all samples read from one metadata track
MAX_SAMPLES = 500_000           # samples listed for one track
MAC_EPOCH_OFFSET = 2_082_844_800     # seconds from 1904-01-01 (QuickTime) to 1970-01-01


def fourcc(kind: bytes) -> str:
    """A box type as text for messages and tag paths (``©xyz`` stays readable, control bytes
    of a damaged header are escaped so that one error stays one printable line)."""
    return "".join(chr(b) if 0x20 <= b < 0x7F or b >= 0xA0 else f"\\x{b:02x}" for b in kind)


@dataclass(frozen=True)
class Box:
    """One box: its type and where its header and payload lie in the file."""

    type: bytes
    start: int          # offset of the size field
    header: int         # 8, or 16 with a 64-bit size
    end: int            # offset just past the box (clamped to the parent)
    truncated: bool = False

    @property
    def payload(self) -> int:
        return self.start + self.header

    @property
    def payload_size(self) -> int:
        return self.end - self.payload

    @property
    def name(self) -> str:
        return fourcc(self.type)


@dataclass
class Movie:
    """What the movie header says (clock and duration), shared by the track parsers."""

    timescale: int = 0
    duration: int = 0
    creation_time: float | None = None   # Unix seconds


@dataclass
class Track:
    """One ``trak``: its kind and the sample tables needed to find its samples."""

    index: int
    handler: bytes = b""
    formats: list[bytes] = field(default_factory=list)   # sample-entry types from stsd
    entries: list[bytes] = field(default_factory=list)   # raw sample-entry payloads
    timescale: int = 0
    stts: list[tuple[int, int]] = field(default_factory=list)
    stsc: list[tuple[int, int]] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    chunks: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Sample:
    """Where one sample lies and when it plays (seconds of media time)."""

    offset: int
    size: int
    time: float | None
    duration: float | None


class Walker:
    """Bounded access to one ISO-BMFF file: box iteration, payload reads, track samples."""

    def __init__(self, src: Source, out: Collector) -> None:
        self.src = src
        self.out = out
        self.boxes_seen = 0
        self.movie = Movie()
        self._warned: set[str] = set()

    def warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            self.out.warn(message)

    def children(self, start: int, end: int, depth: int, parent: str,
                 stop: int | None = None) -> Iterator[Box]:
        """The boxes in ``[start, end)``; damaged sizes end the walk with a warning. The walk
        also ends when a box ends exactly at ``stop`` (where a trailer that is no box begins)."""
        if depth > MAX_DEPTH:
            self.warn_once(f"boxes nested deeper than {MAX_DEPTH} levels in {parent}: not walked")
            return
        end = min(end, self.src.size)
        pos = start
        while end - pos >= 8 and pos != stop:
            self.boxes_seen += 1
            if self.boxes_seen > MAX_BOXES:
                raise ParseError(f"more than {MAX_BOXES} boxes: refusing to walk further")
            size, kind = struct.unpack(">I4s", self.src.read(pos, 8))
            header = 8
            if size == 1:
                if end - pos < 16:
                    self.warn_once(f"box '{fourcc(kind)}' at offset {pos} in {parent}: 64-bit "
                                   "size cut off")
                    return
                size = struct.unpack(">Q", self.src.read(pos + 8, 8))[0]
                header = 16
            elif size == 0:
                size = end - pos   # "extends to the end of the file" (or of its parent)
            if size < header:
                self.warn_once(f"box '{fourcc(kind)}' at offset {pos} in {parent}: impossible "
                               f"size {size}")
                return
            box_end = pos + size
            truncated = box_end > end
            if truncated:
                where = "the file" if parent == "file" else f"its parent '{parent}'"
                self.warn_once(f"box '{fourcc(kind)}' at offset {pos} declares {size} bytes, "
                               f"{box_end - end} past the end of {where} (truncated file?)")
                box_end = end
            yield Box(kind, pos, header, box_end, truncated)
            pos = box_end   # size >= 8: always forward, so no loops

    def find(self, box: Box, *path: bytes, depth: int = 1) -> Box | None:
        """The first descendant along ``path`` (each step a child type), or None."""
        current: Box | None = box
        for step in path:
            if current is None:
                return None
            current = next((b for b in self.children(current.payload, current.end, depth,
                                                     current.name) if b.type == step), None)
            depth += 1
        return current

    def payload(self, box: Box, limit: int = MAX_TABLE_BYTES, skip: int = 0) -> bytes | None:
        """A box's payload (after ``skip`` bytes), or None with a warning when it is too big."""
        size = box.payload_size - skip
        if size <= 0:
            return b""
        if size > limit:
            self.warn_once(f"box '{box.name}' at offset {box.start} holds {size} bytes, more than "
                           f"the {limit}-byte limit: not read")
            return None
        return self.src.read(box.payload + skip, size)

    # --- track sample tables -------------------------------------------------------------

    def samples(self, track: Track, where: str) -> Iterator[Sample]:
        """Each sample of a track, from stsc/stco/stsz/stts, bounded by the file and the limits."""
        sizes, chunks = track.sizes, track.chunks
        if not sizes or not chunks or not track.stsc:
            return
        times = _sample_times(track)
        scale = track.timescale
        run = 0
        total = 0
        index = 0
        for chunk_no, chunk_offset in enumerate(chunks, start=1):
            while run + 1 < len(track.stsc) and track.stsc[run + 1][0] <= chunk_no:
                run += 1
            per_chunk = track.stsc[run][1]
            offset = chunk_offset
            for _ in range(per_chunk):
                if index >= len(sizes) or index >= MAX_SAMPLES:
                    return
                size = sizes[index]
                start, delta = next(times, (None, None))
                index += 1
                if size > MAX_SAMPLE_BYTES:
                    self.warn_once(f"{where}: sample of {size} bytes at offset {offset} is too "
                                   "large for a metadata sample: skipped")
                    offset += size
                    continue
                if offset + size > self.src.size:
                    self.warn_once(f"{where}: sample at offset {offset} ({size} bytes) lies past "
                                   f"the end of the file ({self.src.size} bytes)")
                    return
                total += size
                if total > MAX_TRACK_BYTES:
                    self.warn_once(f"{where}: more than {MAX_TRACK_BYTES} bytes of samples: rest "
                                   "not read")
                    return
                yield Sample(offset, size,
                             start / scale if start is not None and scale else None,
                             delta / scale if delta is not None and scale else None)
                offset += size

    def sample_data(self, sample: Sample) -> bytes:
        return self.src.read(sample.offset, sample.size)


def _sample_times(track: Track) -> Iterator[tuple[int, int]]:
    """(start, duration) in track timescale units for each sample, from stts runs."""
    now = 0
    produced = 0
    for count, delta in track.stts:
        for _ in range(count):
            if produced >= MAX_SAMPLES:
                return
            yield now, delta
            now += delta
            produced += 1


# --- parsing the movie --------------------------------------------------------------------

def parse(src: Source, out: Collector) -> None:
    """Every location an ISO-BMFF file's boxes hold (the metadata-attacker entry point)."""
    if src.size < 8:
        raise ParseError(f"file of {src.size} bytes is too small to hold an ISO-BMFF box")
    from geoprivacy.attacks.metadata import dashcam, heif, insta360, quicktime

    walker = Walker(src, out)
    trailer = insta360.read_trailer(src, src.size, 0)   # Insta360 telemetry after the boxes
    stop = trailer.start if trailer is not None and trailer.located else None
    top = list(walker.children(0, src.size, 0, "file", stop=stop))
    if not top:
        raise ParseError("no readable ISO-BMFF box at the start of the file")
    if trailer is not None:
        _trailer(walker, trailer, top)
    for box in top:   # the movie header first: its clock dates the other boxes
        if box.type == b"moov":
            mvhd = walker.find(box, b"mvhd")
            if mvhd is not None:
                _parse_mvhd(walker, mvhd)
    for box in top:
        if box.type == b"moov":
            parse_moov(walker, box)
        elif box.type == b"meta":   # HEIF items, or keys/ilst in a top-level movie meta
            heif.parse_meta(walker, box)
            quicktime.parse_meta(walker, box, "QuickTime", 1)
        elif box.type == b"uuid":
            quicktime.parse_uuid(walker, box, "QuickTime")
        elif box.type == b"udta":
            quicktime.parse_udta(walker, box, 1)
        elif box.type == b"GPS ":
            dashcam.parse_70mai(walker, box)
        elif box.type == b"inst":   # Insta360 trailer in a box (exiftool's Insta360Info)
            insta360.parse_box(walker, box)


def _trailer(walker: Walker, trailer: insta360.Trailer, top: list[Box]) -> None:
    """An Insta360 trailer at the end of the file: read when the boxes end where it begins."""
    from geoprivacy.attacks.metadata import insta360

    last = top[-1]
    if trailer.located and last.end == trailer.start and not last.truncated:
        insta360.report(walker, trailer)
    elif last.type == b"inst" and last.end == walker.src.size and trailer.start >= last.payload:
        pass   # the trailer is the content of a final 'inst' box: read with the box
    elif trailer.problem and not trailer.located:
        walker.warn_once(f"{trailer.problem}: not checked")
    else:
        walker.warn_once(f"Insta360 trailer at offset {trailer.start} does not begin where the "
                         f"boxes end (offset {last.end}): not checked")


def parse_moov(walker: Walker, moov: Box) -> None:
    from geoprivacy.attacks.metadata import dashcam, quicktime

    tracks: list[Track] = []
    for box in walker.children(moov.payload, moov.end, 1, "moov"):
        if box.type == b"trak":
            tracks.append(parse_trak(walker, box, len(tracks) + 1))
        elif box.type == b"udta":
            quicktime.parse_udta(walker, box, 2)
        elif box.type == b"meta":
            quicktime.parse_meta(walker, box, "QuickTime", 2)
        elif box.type == b"uuid":
            quicktime.parse_uuid(walker, box, "QuickTime")
        elif box.type == b"gps ":
            dashcam.parse_novatek(walker, box)
    for track in tracks:
        warn_undecoded(walker, track)
        parse_track_samples(walker, track)


def parse_trak(walker: Walker, trak: Box, index: int) -> Track:
    """Collect a track's handler, sample entries and sample tables (the tables, not the media)."""
    from geoprivacy.attacks.metadata import quicktime

    track = Track(index=index)
    for box in walker.children(trak.payload, trak.end, 2, "trak"):
        if box.type == b"mdia":
            _parse_mdia(walker, box, track)
        elif box.type == b"udta":
            quicktime.parse_udta(walker, box, 3)
    return track


def _parse_mdia(walker: Walker, mdia: Box, track: Track) -> None:
    for box in walker.children(mdia.payload, mdia.end, 3, "mdia"):
        if box.type == b"mdhd":
            data = walker.payload(box, 64) or b""
            if data[:1] == b"\x01" and len(data) >= 24:
                track.timescale = struct.unpack_from(">I", data, 20)[0]
            elif len(data) >= 16:
                track.timescale = struct.unpack_from(">I", data, 12)[0]
        elif box.type == b"hdlr":
            data = walker.payload(box, 4096) or b""
            if len(data) >= 12:
                track.handler = data[8:12]
        elif box.type == b"minf":
            stbl = walker.find(box, b"stbl", depth=4)
            if stbl is not None:
                _parse_stbl(walker, stbl, track)


def _parse_stbl(walker: Walker, stbl: Box, track: Track) -> None:
    """Sample entries always; the sample tables only for tracks whose samples we will read
    (video and audio tables of a long movie are megabytes we do not need)."""
    where = f"track {track.index}"
    boxes = list(walker.children(stbl.payload, stbl.end, 5, "stbl"))
    for box in boxes:
        if box.type == b"stsd" and box.payload_size >= 8:
            count = struct.unpack(">I", walker.src.read(box.payload + 4, 4))[0]
            _parse_stsd(walker, box, track, count)
    if not is_metadata_track(track):
        return
    for box in boxes:
        kind = box.type
        if kind not in (b"stts", b"stsc", b"stsz", b"stz2", b"stco", b"co64"):
            continue
        data = walker.payload(box)
        if data is None or len(data) < 8:
            continue
        count = struct.unpack_from(">I", data, 4)[0]
        if kind == b"stts":
            track.stts = _table(walker, data, 8, count, ">II", where, "stts")
        elif kind == b"stsc":
            rows = _table(walker, data, 8, count, ">III", where, "stsc")
            track.stsc = _clean_stsc([(first, per) for first, per, _ in rows], walker, where)
        elif kind in (b"stco", b"co64"):
            fmt = ">I" if kind == b"stco" else ">Q"
            track.chunks = [v for (v,) in _table(walker, data, 8, count, fmt, where, box.name)]
        elif kind == b"stsz" and len(data) >= 12:
            fixed, count = struct.unpack_from(">II", data, 4)
            if fixed:
                # One size for all: the count is only trusted as far as the file could hold it.
                count = min(count, MAX_SAMPLES, walker.src.size // max(fixed, 1))
                track.sizes = [fixed] * count
            else:
                track.sizes = [v for (v,) in _table(walker, data, 12, count, ">I", where, "stsz")]
        elif kind == b"stz2" and len(data) >= 12:
            track.sizes = _stz2(data)


def _parse_stsd(walker: Walker, stsd: Box, track: Track, count: int) -> None:
    for n, entry in enumerate(walker.children(stsd.payload + 8, stsd.end, 6, "stsd")):
        if n >= min(count, 16):
            break
        track.formats.append(entry.type)
        track.entries.append(walker.payload(entry, 64 * 1024) or b"")


def _table(walker: Walker, data: bytes, start: int, count: int, fmt: str, where: str,
           name: str) -> list[tuple[int, ...]]:
    """``count`` fixed-size rows from a table box, never more than the box really holds."""
    row = struct.calcsize(fmt)
    room = max(0, (len(data) - start) // row)
    if count > room:
        walker.warn_once(f"{where}: '{name}' declares {count} entries but holds {room}")
        count = room
    count = min(count, MAX_SAMPLES)
    return list(struct.iter_unpack(fmt, data[start:start + count * row]))


def _clean_stsc(rows: list[tuple[int, int]], walker: Walker, where: str) -> list[tuple[int, int]]:
    """Sample-to-chunk runs with increasing first chunks (a hostile table cannot loop us)."""
    clean: list[tuple[int, int]] = []
    for first, per in rows:
        if first < 1 or (clean and first <= clean[-1][0]):
            walker.warn_once(f"{where}: 'stsc' runs out of order")
            break
        clean.append((first, min(per, MAX_SAMPLES)))
    return clean


def _stz2(data: bytes) -> list[int]:
    field_size = data[7]
    count = struct.unpack_from(">I", data, 8)[0]
    body = data[12:]
    if field_size == 16:
        count = min(count, len(body) // 2, MAX_SAMPLES)
        return [v for (v,) in struct.iter_unpack(">H", body[:count * 2])]
    if field_size == 8:
        return list(body[:min(count, MAX_SAMPLES)])
    if field_size == 4:
        out: list[int] = []
        for byte in body[:min((count + 1) // 2, MAX_SAMPLES)]:
            out.extend((byte >> 4, byte & 0x0F))
        return out[:count]
    return []


def _parse_mvhd(walker: Walker, mvhd: Box) -> None:
    data = walker.payload(mvhd, 256) or b""
    if data[:1] == b"\x01" and len(data) >= 32:
        created, _, scale, duration = struct.unpack_from(">QQIQ", data, 4)
    elif len(data) >= 20:
        created, _, scale, duration = struct.unpack_from(">IIII", data, 4)
    else:
        return
    walker.movie.timescale = scale
    walker.movie.duration = duration
    if created > MAC_EPOCH_OFFSET:
        walker.movie.creation_time = float(created - MAC_EPOCH_OFFSET)


def is_metadata_track(track: Track) -> bool:
    """A track whose samples we decode: GPMF, CAMM, DJI djmd or timed text (DJI's ``dbgi``
    debug track is not: exiftool reads no position from it)."""
    from geoprivacy.attacks.metadata import subtitles, tracks_policy

    formats = set(track.formats)
    return bool(formats & (tracks_policy.DECODED_FORMATS | subtitles.TEXT_FORMATS)) \
        or track.handler in subtitles.TEXT_HANDLERS


def warn_undecoded(walker: Walker, track: Track) -> None:
    """A timed-metadata track in a format we do not decode may hold positions (Sony ``rtmd``,
    Canon ``CTMD``, a dashcam's own format): the file is not checked, never clean."""
    from geoprivacy.attacks.metadata import tracks_policy

    fmt = tracks_policy.undecoded_format(track.handler, track.formats, track.entries)
    if fmt is not None:
        walker.warn_once(f"track {track.index}: timed metadata '{fourcc(fmt)}' (handler "
                         f"'{fourcc(track.handler)}') not decoded: may hold positions")


def parse_track_samples(walker: Walker, track: Track) -> None:
    """Hand a metadata track (GPMF, CAMM, DJI djmd, text) to the parser that reads its samples."""
    from geoprivacy.attacks.metadata import camm, djmd, gpmf, subtitles

    formats = set(track.formats)
    if b"gpmd" in formats:
        gpmf.parse_track(walker, track)
    elif b"camm" in formats:
        camm.parse_track(walker, track)
    elif b"djmd" in formats:
        djmd.parse_track(walker, track)
    elif is_metadata_track(track):
        subtitles.parse_track(walker, track)
