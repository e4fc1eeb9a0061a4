"""Atomic, private file writes: a temp file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", *,
                 encoding: str | None = "utf-8") -> Iterator[IO]:
    """Write to a 0600 temp file in the target's folder and rename it over the target on success.

    A crash or exception leaves the old file (or nothing) in place, never half a file.
    """
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target)) or "."
    fd, tmp = tempfile.mkstemp(prefix=".geoprivacy-", suffix=".tmp", dir=directory)
    try:
        binary = "b" in mode
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[str]:
    """A temp path beside ``path`` (same extension) for tools that write files themselves
    (encoders, Pillow); renamed over ``path`` on success, removed on failure."""
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target)) or "."
    suffix = os.path.splitext(target)[1]
    fd, tmp = tempfile.mkstemp(prefix=".geoprivacy-", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
