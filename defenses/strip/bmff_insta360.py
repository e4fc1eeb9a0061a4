"""Clean the Insta360 trailer (after the last box, or in a top-level ``inst`` box) in place.

The GPS records' payloads (and the ``gps`` field of the protobuf metadata record) are overwritten
with zeros of the same length: every size, offset and directory entry of the trailer stays valid,
and the calibration, gyro and exposure records Insta360 Studio needs to stitch keep their bytes.
The reader in ``geoprivacy.attacks.metadata.insta360`` reads all-zero GPS entries as blank, so
the output re-audits clean. A trailer that cannot be walked cannot be cleaned: a ParseError.
"""

from __future__ import annotations

from geoprivacy.attacks.metadata import insta360
from geoprivacy.defenses.strip.bmff_box import Box
from geoprivacy.defenses.strip.bmff_write import Edit
from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source


def find(src: Source) -> insta360.Trailer | None:
    """The trailer at the end of the file, when its declared length fits in the file."""
    trailer = insta360.read_trailer(src, src.size, 0)
    return trailer if trailer is not None and trailer.located else None


def plan(src: Source, top: list[Box], trailer: insta360.Trailer | None
         ) -> tuple[list[Edit], list[str]]:
    """Zeroing edits for the trailer after the boxes and for every top-level ``inst`` box."""
    trailers = [trailer] if trailer is not None else []
    for box in top:
        if box.type == b"inst":
            found = insta360.read_trailer(src, box.end, box.payload_start)
            if found is None:
                raise ParseError(f"Insta360 'inst' box at offset {box.offset} in an unknown "
                                 "layout: cannot clean")
            trailers.append(found)
    edits: list[Edit] = []
    removed: list[str] = []
    for found in trailers:
        if found.problem:
            raise ParseError(f"{found.problem}: cannot clean")
        ranges, problems = insta360.location_ranges(src, found)
        if problems:
            raise ParseError(f"{problems[0]}: cannot clean")
        for loc in ranges:
            removed.append(loc.where)
        edits += [Edit(a, b) for a, b in _merge((r.start, r.end) for r in ranges)]
    return edits, removed


def _merge(ranges) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return out
