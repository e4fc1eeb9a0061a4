"""A bounded, random-access byte source: the only way metadata parsers touch a file.

Every read is checked against the file size and a per-file read budget, so a hostile offset,
a 4 GB declared size or a loop in a chain of pointers gives a ParseError instead of a hang or
a huge allocation.
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO

from geoprivacy.errors import BudgetExceeded, ParseError

DEFAULT_READ_BUDGET = 256 * 1024 * 1024  # bytes a parser may read from one file in total
MAX_SINGLE_READ = 64 * 1024 * 1024       # bytes one read may ask for


class Source:
    """Random-access reads from a file or bytes, bounded by size and budget."""

    def __init__(self, stream: BinaryIO, size: int, name: str = "<bytes>",
                 budget: int = DEFAULT_READ_BUDGET) -> None:
        self._stream = stream
        self.size = size
        self.name = name
        self.budget = budget
        self.bytes_read = 0

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], budget: int = DEFAULT_READ_BUDGET) -> "Source":
        stream = open(path, "rb")  # noqa: SIM115 - closed by close()/context manager
        size = os.fstat(stream.fileno()).st_size
        return cls(stream, size, os.fspath(path), budget)

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<bytes>",
                   budget: int = DEFAULT_READ_BUDGET) -> "Source":
        return cls(io.BytesIO(data), len(data), name, budget)

    def read(self, offset: int, length: int) -> bytes:
        """Exactly ``length`` bytes at ``offset``, or ParseError when they are not all there."""
        if offset < 0 or length < 0:
            raise ParseError(f"negative offset or length ({offset}, {length})")
        if offset + length > self.size:
            raise ParseError(f"read of {length} bytes at offset {offset} runs past end of file "
                             f"({self.size} bytes)")
        return self._read(offset, length)

    def read_upto(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` (fewer at end of file)."""
        if offset < 0 or length < 0:
            raise ParseError(f"negative offset or length ({offset}, {length})")
        length = max(0, min(length, self.size - offset))
        return self._read(offset, length)

    def _read(self, offset: int, length: int) -> bytes:
        if length > MAX_SINGLE_READ:
            raise BudgetExceeded(f"refusing a single read of {length} bytes at offset {offset}")
        self.bytes_read += length
        if self.bytes_read > self.budget:
            raise BudgetExceeded(f"read budget of {self.budget} bytes exhausted")
        self._stream.seek(offset)
        data = self._stream.read(length)
        if len(data) != length:
            raise ParseError(f"short read at offset {offset}: file changed or unreadable")
        return data

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
