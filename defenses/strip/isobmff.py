"""The ISO-BMFF strip writer: MP4, MOV, 3GP movies and HEIF/HEIC/AVIF images.

Lossless by editing structure, never by re-encoding: a movie gets a rebuilt ``moov`` (location
atoms, keys and GPS tracks gone, offsets kept valid) and zeros over location bytes in ``mdat``;
an image gets its Exif and XMP items edited in place. The output is streamed: input ranges are
copied in chunks around the edits, so a file of any size needs little memory.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from geoprivacy.defenses.strip import StripOptions
from geoprivacy.defenses.strip import bmff_box as bb
from geoprivacy.defenses.strip import bmff_heif, bmff_insta360, bmff_movie, bmff_write
from geoprivacy.defenses.strip.bmff_remux import NeedsRemux
from geoprivacy.defenses.strip.bmff_write import Edit
from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source


def plan(input_path: str, options: StripOptions,
         compact: bool = False) -> tuple[list[Edit], list[str]]:
    """The edits that clean ``input_path`` and the ``where`` strings of what they remove."""
    try:
        return _plan(input_path, options, compact)
    except (struct.error, IndexError) as exc:  # a field cut short that no size check caught
        raise ParseError(f"malformed ISO-BMFF structure ({exc})") from exc


def _plan(input_path: str, options: StripOptions,
          compact: bool) -> tuple[list[Edit], list[str]]:
    with Source.from_path(input_path) as src:
        if src.size < 8:
            raise ParseError(f"file of {src.size} bytes is too short for ISO-BMFF")
        trailer = bmff_insta360.find(src)   # Insta360 telemetry after the last box
        top = _boxes(src, trailer)
        if top is None:
            trailer = None
            top = list(bb.iter_file(src, 0, src.size, "the file"))
        if not top or top[0].type not in (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide",
                                          b"pnot", b"uuid"):
            raise ParseError("not an ISO-BMFF file (no ftyp or moov at the start)")
        edits: list[Edit] = []
        removed: list[str] = []
        metas = [b for b in top if b.type == b"meta"]
        if len(metas) > 1:
            raise ParseError("more than one top-level 'meta' box")
        if metas:
            e, r = bmff_heif.plan(src, metas[0], options.all_metadata)
            edits += e
            removed += r
        if any(b.type == b"moov" for b in top):
            e, r = bmff_movie.plan(input_path, src, top, options.all_metadata, compact)
            edits += e
            removed += r
        elif not metas:
            raise ParseError("ISO-BMFF file with neither 'moov' nor 'meta'")
        e, r = bmff_insta360.plan(src, top, trailer)
        edits += e
        removed += r
        bmff_write.check_edits(edits, src.size)
    return edits, list(dict.fromkeys(removed))


def _boxes(src: Source, trailer: bmff_insta360.insta360.Trailer | None) -> list[bb.Box] | None:
    """The top-level boxes before an Insta360 trailer, or None when they do not end exactly
    where it begins (then the file is read as boxes to its end, as any other)."""
    if trailer is None:
        return None
    try:
        return list(bb.iter_file(src, 0, trailer.start, "the file"))
    except ParseError:
        return None


def strip_isobmff(input_path: str, out: BinaryIO, options: StripOptions) -> list[str]:
    """Write the cleaned copy of ``input_path`` to ``out``; return the ``where`` of what went.

    A movie whose layout the structural writer cannot edit (a GPS track in a fragmented movie)
    is remuxed with PyAV instead (packets copied, all metadata dropped), and the list says so.
    """
    try:
        edits, removed = plan(input_path, options)
    except NeedsRemux as exc:
        from geoprivacy.defenses.strip.bmff_remux import REMUX_MARKER, remux
        from geoprivacy.media.sniff import sniff

        with Source.from_path(input_path) as src:
            container = sniff(src).container
        remux(input_path, out, container)
        return [*dict.fromkeys(exc.removed), "QuickTime:all metadata (remuxed)", REMUX_MARKER]
    bmff_write.write(input_path, out, edits)
    return removed
