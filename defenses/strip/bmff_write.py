"""Write an edited copy of a file by streaming: input ranges copied in chunks, edits in between.

Files can be gigabytes, so nothing is held in memory but one chunk and the (small) edits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO, Iterable

from geoprivacy.errors import ParseError

CHUNK = 1 << 20


@dataclass(frozen=True)
class Edit:
    """Replace input bytes ``[start, end)`` by ``data``; ``data=None`` writes as many zeros."""

    start: int
    end: int
    data: bytes | None = None


def check_edits(edits: Iterable[Edit], size: int) -> list[Edit]:
    """The edits sorted by position; overlapping or out-of-file edits are a ParseError."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    pos = 0
    for edit in ordered:
        if edit.start < pos or edit.end < edit.start or edit.end > size:
            raise ParseError(f"conflicting edits around offset {edit.start}: the file's structures "
                             "overlap")
        pos = edit.end
    return ordered


def write(path: str, out: BinaryIO, edits: list[Edit]) -> int:
    """Copy ``path`` to ``out`` with ``edits`` applied; returns the number of bytes written."""
    with open(path, "rb") as src:
        size = os.fstat(src.fileno()).st_size
        ordered = check_edits(edits, size)
        pos = written = 0
        for edit in ordered:
            written += _copy(src, out, pos, edit.start)
            if edit.data is None:
                written += _zeros(out, edit.end - edit.start)
            else:
                out.write(edit.data)
                written += len(edit.data)
            pos = edit.end
        written += _copy(src, out, pos, size)
    return written


def _copy(src: BinaryIO, out: BinaryIO, start: int, end: int) -> int:
    src.seek(start)
    left = end - start
    while left > 0:
        block = src.read(min(CHUNK, left))
        if not block:
            raise ParseError(f"file shrank while being copied (offset {end - left})")
        out.write(block)
        left -= len(block)
    return end - start


def _zeros(out: BinaryIO, n: int) -> int:
    zero = bytes(min(CHUNK, n))
    left = n
    while left > 0:
        step = min(len(zero), left)
        out.write(zero[:step] if step < len(zero) else zero)
        left -= step
    return n


def scan(path: str, start: int, end: int, needle: bytes) -> tuple[bool, bool]:
    """Whether ``[start, end)`` holds any non-zero byte, and whether it contains ``needle``."""
    nonzero = found = False
    tail = b""
    with open(path, "rb") as src:
        src.seek(start)
        left = end - start
        while left > 0:
            block = src.read(min(CHUNK, left))
            if not block:
                break
            left -= len(block)
            if not nonzero and block.count(0) != len(block):
                nonzero = True
            if needle and needle in tail + block:
                found = True
            tail = block[-len(needle):] if needle else b""
            if nonzero and found:
                break
    return nonzero, found
