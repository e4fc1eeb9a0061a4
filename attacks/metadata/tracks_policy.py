"""Which timed-metadata tracks may hold positions that nothing here decodes.

One predicate for both sides: the audit warns about such a track (the file is "not checked",
never "clean"), and strip drops it, so that every stripped output re-audits clean. A track is
judged by its handler and its sample formats (the ``stsd`` entry types): picture and sound
tracks, text tracks and the formats we decode are fine; so is a short list of formats known to
carry no position; anything else (Sony ``rtmd``, Canon ``CTMD``, a dashcam's own format) is not.
"""

from __future__ import annotations

import struct
from typing import Sequence

# Formats whose samples the audit decodes (isobmff.parse_track_samples); text formats come from
# ``subtitles`` (TEXT_FORMATS, TEXT_HANDLERS).
DECODED_FORMATS = frozenset({b"gpmd", b"camm", b"djmd"})

# Handlers of tracks whose samples are coded pictures, sound or transmission instructions.
MEDIA_HANDLERS = frozenset({
    b"vide",   # video
    b"soun",   # audio
    b"hint",   # RTP/SRTP hint track: packetisation instructions for the media tracks
               # (ISO/IEC 14496-12, hint tracks)
    b"pict",   # HEIF/AVIF image sequence: coded pictures (ISO/IEC 23008-12)
    b"auxv",   # auxiliary video, e.g. alpha or depth planes (ISO/IEC 14496-12,
               # 23008-12): coded pictures
})

# Sample formats known to carry no position, each with why.
POSITION_FREE_FORMATS = frozenset({
    b"tmcd",   # timecode: each sample is a frame counter (QuickTime File Format, TimecodeSample)
    b"fdsc",   # GoPro SOS/recovery track: exiftool's GoPro.pm 'fdsc' table reads only firmware,
               # serial numbers and model; GoPro's positions are in the GPMF ('gpmd') track
    b"dbgi",   # DJI debug track: exiftool shows it only as unknown tags (-U -U, Unknown => 2),
               # none of them a position; DJI's positions are in the 'djmd' track
    b"rtp ",   # RTP hint sample entry (ISO/IEC 14496-12): packetisation instructions
    b"srtp",   # SRTP hint sample entry (ISO/IEC 14496-12): the same, for secure RTP
})

# Words in an Apple ``mebx`` key name that mark a location (exiftool's QuickTime Keys table:
# ``location.ISO6709``, ``location.name``, ``location.body``, ...).
MEBX_LOCATION_WORDS = (b"location", b"gps", b"iso6709", b"coordinate")
MAX_ENTRIES = 16   # sample entries looked at per track (the audit reads no more)


def undecoded_format(handler: bytes, formats: Sequence[bytes],
                     entries: Sequence[bytes]) -> bytes | None:
    """The first sample format of a track that may hold positions we do not decode, else None.

    ``entries`` are the sample-entry payloads (after the 8-byte box header), in the order of
    ``formats``; only Apple ``mebx`` needs them (its key table says what its samples hold).
    """
    from geoprivacy.attacks.metadata import subtitles

    if handler in MEDIA_HANDLERS or handler in subtitles.TEXT_HANDLERS:
        return None
    for n, fmt in enumerate(formats):
        if fmt in DECODED_FORMATS or fmt in subtitles.TEXT_FORMATS or fmt in POSITION_FREE_FORMATS:
            continue
        if fmt == b"mebx" and mebx_without_location(entries[n] if n < len(entries) else b""):
            continue
        return fmt
    return None


def mebx_without_location(entry: bytes) -> bool:
    """True when an Apple ``mebx`` entry's key table is readable and names no location: a
    sample can only hold values for the keys its entry declares."""
    keys = mebx_keys(entry)
    return keys is not None and not any(
        word in key.lower() for key in keys for word in MEBX_LOCATION_WORDS)


def mebx_keys(entry: bytes) -> list[bytes] | None:
    """The key names of a ``mebx`` sample entry (``keys`` > local-id box > ``keyd``), or None
    when the table is missing or damaged."""
    table = _child(entry, 8, len(entry), b"keys")
    if table is None:
        return None
    found, whole = _boxes(entry, *table)
    if not whole:
        return None
    names: list[bytes] = []
    for _, start, end in found:
        keyd = _child(entry, start, end, b"keyd")
        if keyd is None or keyd[1] - keyd[0] < 4:
            return None
        names.append(entry[keyd[0] + 4:keyd[1]])   # after the 4-byte namespace ('mdta', ...)
    return names


def stsd_entries(stsd: bytes) -> tuple[list[bytes], list[bytes]]:
    """(formats, payloads) of the sample entries of an ``stsd`` payload (version/flags, count,
    entries), as the audit reads them: at most ``count``, a cut-off entry clamped to the end."""
    formats: list[bytes] = []
    payloads: list[bytes] = []
    count = struct.unpack_from(">I", stsd, 4)[0] if len(stsd) >= 8 else 0
    for kind, start, end in _boxes(stsd, 8, len(stsd), clamp=True)[0][:min(count, MAX_ENTRIES)]:
        formats.append(kind)
        payloads.append(stsd[start:end])
    return formats, payloads


def _boxes(data: bytes, start: int, end: int,
           clamp: bool = False) -> tuple[list[tuple[bytes, int, int]], bool]:
    """(type, payload start, payload end) of the plain boxes in ``data[start:end]``, and whether
    they fill it exactly. An impossible size ends the list; one past the end does too, unless
    ``clamp`` keeps that last box cut to the end (as the audit's walker does)."""
    found = []
    pos = start
    while end - pos >= 8:
        size, kind = struct.unpack_from(">I4s", data, pos)
        size = size or end - pos   # 0: "to the end of the parent"
        if size < 8 or (pos + size > end and not clamp):
            return found, False
        found.append((kind, pos + 8, min(pos + size, end)))
        if pos + size >= end:
            return found, pos + size == end
        pos += size
    return found, pos == end


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    return next(((s, e) for k, s, e in _boxes(data, start, end)[0] if k == kind), None)
