"""Atomic, private file writes: a temp file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", *,
                 encoding: str | None = "utf-8") -> Iterator[IO]:
    """Write to a 0600 temp file in the target's folder and rename it over the target on success
    (see ``publish`` for the final mode).

    A crash or exception leaves the old file (or nothing) in place, never half a file.
    """
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target)) or "."
    with temp_file(directory, ".geoprivacy-", ".tmp") as (fd, tmp):
        binary = "b" in mode
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        publish(tmp, target)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[str]:
    """A temp path beside ``path`` (same extension) for tools that write files themselves
    (encoders, Pillow); renamed over ``path`` on success, removed on failure."""
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target)) or "."
    suffix = os.path.splitext(target)[1]
    with temp_file(directory, ".geoprivacy-", suffix) as (fd, tmp):
        os.close(fd)
        yield tmp
        publish(tmp, target)


def publish(tmp: str, target: str) -> None:
    """Rename a finished temp file over ``target`` with the mode a plain ``open()`` would have
    given it (the replaced file's, else 0666 less the umask): temp files are 0600 while being
    written, but an output kept 0600 is one a web server or a colleague cannot read."""
    try:
        mode = os.stat(target).st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_umask()
    os.chmod(tmp, mode)
    os.replace(tmp, target)


def _umask() -> int:
    """This process's umask, without the race of setting it (Linux); else set and restore."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def temp_file(directory: str, prefix: str, suffix: str = "") -> Iterator[tuple[int, str]]:
    """``mkstemp`` (0600) whose file is removed on any exit unless renamed away, Ctrl-C included.

    A SIGINT that lands while the file is being created (the creating syscall is the slow part)
    would otherwise raise KeyboardInterrupt before the cleanup is armed and leave the temp
    file behind; SIGINT is held back until it is armed, then delivered as usual.
    """
    import signal
    import threading

    hold = threading.current_thread() is threading.main_thread() \
        and hasattr(signal, "pthread_sigmask")
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if hold else None
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
        if old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
            old = None
        yield fd, tmp
    finally:
        if old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def private_temp_dir(kind: str) -> str:
    """A fresh 0700 folder ``geoprivacy-KIND-PID-*`` in the temp folder.

    A run killed with SIGKILL cannot clean up after itself, so each new one first removes the
    folders of this kind left by processes that no longer exist (only its own user's: others'
    are neither readable nor removable).
    """
    import shutil

    root = tempfile.gettempdir()
    prefix = f"geoprivacy-{kind}-"
    with contextlib.suppress(OSError):
        for name in os.listdir(root):
            if not name.startswith(prefix):
                continue
            pid = name[len(prefix):].split("-", 1)[0]
            path = os.path.join(root, name)
            if pid.isdigit() and not _alive(int(pid)) and os.path.isdir(path) \
                    and not os.path.islink(path) and os.stat(path).st_uid == os.getuid():
                shutil.rmtree(path, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=root)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True      # someone else's process
    return True
