"""Plan the edits that clean an MP4/MOV/3GP movie: new moov, neutralised boxes, zeroed samples.

Offsets stay valid by construction: a moov that shrinks before the media data is followed by a
``free`` box of the difference (every absolute offset in the file stays right, including ones we
do not know about); when that is impossible the chunk offsets of every kept track are shifted.
Location bytes inside ``mdat`` (samples of the tracks that go, Novatek ``freeGPS`` blocks, and
any bytes no kept track refers to) are overwritten with zeros, so audio and video packets keep
their positions and their bytes.
"""

from __future__ import annotations

import struct

from geoprivacy.defenses.strip import bmff_box as bb
from geoprivacy.defenses.strip import bmff_moov, bmff_tracks
from geoprivacy.defenses.strip.bmff_box import Box
from geoprivacy.defenses.strip.bmff_remux import NeedsRemux
from geoprivacy.defenses.strip.bmff_write import Edit, scan
from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source

Range = tuple[int, int]  # [start, end)
FRAGMENT_BOXES = {b"moof", b"mfra", b"sidx", b"ssix"}
MAX_NOVATEK = 1_000_000


def plan(path: str, src: Source, top: list[Box], all_metadata: bool,
         compact: bool = False) -> tuple[list[Edit], list[str]]:
    """The edits that clean the movie at ``path`` and the ``where`` of what goes.

    ``compact`` moves the media data up instead of padding a shrunken moov (tests use it to
    exercise the chunk offset shift).
    """
    moovs = [b for b in top if b.type == b"moov"]
    if len(moovs) != 1:
        raise ParseError(f"expected one 'moov' box, found {len(moovs)}")
    mbox = moovs[0]
    if mbox.size > bb.MAX_META_BYTES:
        raise ParseError(f"'moov' of {mbox.size} bytes is larger than {bb.MAX_META_BYTES}")
    moov = src.read(mbox.offset, mbox.size)
    root = bb.parse_header(moov[:16], 0, len(moov), "moov")
    traks = [b for b in bb.iter_bytes(moov, root.payload_start, root.end, "moov")
             if b.type == b"trak"]
    tracks = [bmff_tracks.read_track(moov, b, i) for i, b in enumerate(traks, start=1)]
    for track in tracks:
        bmff_tracks.classify(track, src, all_metadata)
    dropped = [t for t in tracks if t.drop]
    fragmented = any(b.type in FRAGMENT_BOXES for b in top) \
        or bb.child(moov, root, b"mvex") is not None
    if dropped and fragmented:
        raise NeedsRemux("fragmented movie with a track to drop (GPS or undecoded telemetry): its "
                         "fragments cannot be edited",
                         [where for t in dropped for where in t.drop])

    ctx = bmff_moov.Context(drop_ids={t.track_id for t in dropped},
                            drop_traks={t.box.offset for t in dropped}, all_metadata=all_metadata)
    new_moov = bmff_moov.rebuild(moov, ctx)
    removed = [where for t in dropped for where in t.drop] + ctx.removed
    edits = _top_level(src, top, all_metadata, removed)
    edits.append(_place_moov(moov, mbox, new_moov, top, ctx, fragmented, compact))
    edits += _sample_edits(path, src, top, moov, tracks, ctx, edits, fragmented, removed)
    return edits, removed


def _sample_edits(path: str, src: Source, top: list[Box], moov: bytes,
                  tracks: list[bmff_tracks.Track], ctx: bmff_moov.Context, edits: list[Edit],
                  fragmented: bool, removed: list[str]) -> list[Edit]:
    """Zeros over location bytes in the media data; kept samples are checked, never touched."""
    kept = [t for t in tracks if not t.drop]
    own = [t for t in kept if t.self_contained]
    kept_ranges = _merge(r for t in own for r in _ranges(t.chunks))
    _check_kept(kept_ranges, src.size, [(e.start, e.end) for e in edits])
    zero = _merge(r for t in tracks if t.drop and t.self_contained for r in _ranges(t.chunks))
    if _overlap(zero, kept_ranges):
        raise ParseError("a GPS track shares bytes with an audio/video track; cannot zero it")
    zero = [(a, min(b, src.size)) for a, b in zero if a < src.size]
    zero += _novatek_blocks(moov, ctx.novatek, src, kept_ranges)
    headers = [(b.offset, b.payload_start) for b in top]
    zero = _subtract(_merge(zero), headers)  # box headers stay: the layout must still parse
    gap_safe = not fragmented and len(own) == len(kept) and b"iloc" not in moov \
        and not any(b.type == b"meta" for b in top)  # nothing but tracks points into mdat
    if gap_safe:  # bytes no kept track refers to: freeGPS blocks, leftovers of other tools
        mdats = [(b.payload_start, b.end) for b in top if b.type == b"mdat"]
        for a, b in _subtract(_subtract(mdats, kept_ranges), zero):
            nonzero, gps = scan(path, a, b, b"freeGPS ")
            if nonzero:
                zero.append((a, b))
                removed.append("Novatek:freeGPS" if gps else "QuickTime:mdat:unreferenced data")
    return [Edit(a, b) for a, b in _merge(zero) if b > a]


def _top_level(src: Source, top: list[Box], all_metadata: bool, removed: list[str]) -> list[Edit]:
    """Edits of top-level boxes other than moov: 70mai ``GPS ``, XMP ``uuid``, (--all) udta."""
    from geoprivacy.defenses.strip import xmp_edit

    edits = []
    for box in top:
        if box.type == b"GPS ":
            edits.append(Edit(box.offset, box.end, bb.free_box(box.size)))
            removed.append("70mai:GPS")
        elif box.type == b"uuid" and src.read(box.payload_start - 16, 16) == bmff_moov.XMP_UUID:
            if all_metadata:
                edits.append(Edit(box.offset, box.end, bb.free_box(box.size)))
                removed.append("QuickTime:XMP")
                continue
            if box.size > bb.MAX_META_BYTES:
                raise ParseError(f"XMP box of {box.size} bytes is too large to clean")
            packet = src.read(box.payload_start, box.end - box.payload_start)
            cleaned, gone = xmp_edit.clean_xmp(packet, same_size=True)
            if gone:
                edits.append(Edit(box.payload_start, box.end, cleaned))
                removed.extend(f"QuickTime:{w}" for w in gone)
        elif all_metadata and box.type == b"udta":  # (a top-level meta is the HEIF writer's)
            edits.append(Edit(box.offset, box.end, bb.free_box(box.size)))
            removed.append(f"QuickTime:{box.name}")
    return edits


def _place_moov(moov: bytes, mbox: Box, new: bytes, top: list[Box], ctx: bmff_moov.Context,
                fragmented: bool, compact: bool) -> Edit:
    """The edit that puts the new moov in place without breaking any offset."""
    delta = len(new) - mbox.size
    behind = [b for b in top if b.offset >= mbox.end and b.type not in (b"free", b"skip")]
    if delta == 0 or not behind:
        return Edit(mbox.offset, mbox.end, new)
    if delta <= -8 and not compact:
        return Edit(mbox.offset, mbox.end, new + bb.free_box(-delta))
    if fragmented or any(b.type == b"meta" for b in top):
        raise NeedsRemux("moov changed size before data whose offsets we cannot fix",
                         list(ctx.removed))
    ctx.shift_from, ctx.shift = mbox.end, delta
    ctx.removed.clear()
    ctx.novatek.clear()
    shifted = bmff_moov.rebuild(moov, ctx)
    if len(shifted) != len(new):
        raise ParseError("chunk offset tables changed size while shifting")
    return Edit(mbox.offset, mbox.end, shifted)


def _novatek_blocks(moov: bytes, boxes: list[Box], src: Source, kept: list[Range]) -> list[Range]:
    """Byte ranges of the ``freeGPS`` blocks a Novatek ``gps `` atom lists."""
    out: list[Range] = []
    for box in boxes:
        p = box.payload_start
        if p + 8 > box.end:
            continue
        count = min(struct.unpack_from(">I", moov, p + 4)[0], (box.end - p - 8) // 8, MAX_NOVATEK)
        for i in range(count):
            offset, size = struct.unpack_from(">II", moov, p + 8 + 8 * i)
            end = min(offset + size, src.size)
            if size and offset < end:
                out.append((offset, end))
    blocks = _merge(out)
    if _overlap(blocks, kept):
        raise ParseError("Novatek GPS blocks overlap audio/video samples")
    return blocks


def _ranges(chunks: list[tuple[int, int]]) -> list[Range]:
    return [(offset, offset + length) for offset, length in chunks if length > 0]


def _merge(ranges) -> list[Range]:  # type: ignore[no-untyped-def]
    out: list[Range] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _overlap(xs: list[Range], ys: list[Range]) -> bool:
    """Whether two sorted, merged range lists intersect."""
    i = j = 0
    while i < len(xs) and j < len(ys):
        if xs[i][1] <= ys[j][0]:
            i += 1
        elif ys[j][1] <= xs[i][0]:
            j += 1
        else:
            return True
    return False


def _subtract(xs: list[Range], ys: list[Range]) -> list[Range]:
    """``xs`` minus ``ys`` (both sorted and merged)."""
    out: list[Range] = []
    j = 0
    for a, b in xs:
        while j < len(ys) and ys[j][1] <= a:
            j += 1
        k = j
        pos = a
        while k < len(ys) and ys[k][0] < b:
            if ys[k][0] > pos:
                out.append((pos, ys[k][0]))
            pos = max(pos, ys[k][1])
            k += 1
        if pos < b:
            out.append((pos, b))
    return out


def _check_kept(kept: list[Range], size: int, edited: list[Range]) -> None:
    """Kept samples must lie in the file and outside every box we rewrite."""
    if kept and kept[-1][1] > size:
        raise ParseError(f"audio/video samples run past the end of the file ({size} bytes): "
                         "truncated file")
    if _overlap(kept, _merge(edited)):
        raise ParseError("audio/video samples lie inside a box that must be rewritten")
