"""Lossless, verified removal of location metadata (``geoprivacy strip``).

Writers edit container structure (never re-encode pixels or packets). Every writer has the same
signature, so the engine picks one by the sniffed container::

    Writer = Callable[[str, BinaryIO, StripOptions], list[str]]

    def strip_<container>(path: str, out: BinaryIO, options: StripOptions) -> list[str]:
        '''Read ``path``, write the cleaned file to ``out`` (a binary stream positioned at 0),
        return the ``where`` strings of what was removed, in the same spelling the metadata
        attacker uses for Evidence.where (``EXIF:GPS IFD``, ``XMP:exif:GPSLatitude``,
        ``IPTC:City``, ``QuickTime:©xyz``...). Raise geoprivacy.errors.ParseError (one line)
        when the file cannot be cleaned; never write a partial "success".'''

``options.all_metadata`` (``--all``) asks for every metadata block to go, not only location.
A writer that could not edit the structure and had to remux instead (re-muxing packets with
PyAV) adds the string ``"method:remux-fallback"`` to its list; the engine reports it as the
file's ``method`` so the output says so.
The engine writes ``out`` to a temp file beside the target and renames it only after the
output has been re-audited and found clean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Callable


@dataclass(frozen=True)
class StripOptions:
    """What a writer removes. Default: every location field; ``all_metadata``: everything."""

    all_metadata: bool = False


Writer = Callable[[str, BinaryIO, StripOptions], "list[str]"]

__all__ = ["StripOptions", "Writer"]
