"""Turn command-line inputs (files, directories, globs) into a deterministic list of files.

Symlink loops, unreadable entries and missing paths are reported as input errors, never fatal.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

IGNORE_FILE = ".geoprivacyignore"
TEMP_PREFIX = ".geoprivacy-"   # temp files, journals and staging files the tool writes
_GLOB_CHARS = set("*?[")


@dataclass
class Inputs:
    """The files to process, in order, and the inputs that could not be used."""

    files: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)   # (path, one-line reason)
    excluded: int = 0


def _read_ignore(directory: Path) -> list[str]:
    path = directory / IGNORE_FILE
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def _matches(rel: str, patterns: list[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    for pat in patterns:
        pat = pat.rstrip("/")
        if fnmatch.fnmatchcase(rel, pat) or fnmatch.fnmatchcase(name, pat) \
                or fnmatch.fnmatchcase(rel, f"**/{pat}") or rel.startswith(pat + "/"):
            return True
    return False


def collect(paths: list[str], exclude: list[str] | None = None) -> Inputs:
    """Expand ``paths`` into files: directories recursively (sorted), globs expanded (sorted).

    ``exclude`` globs and ``.geoprivacyignore`` files (in each walked directory, applying to
    paths below it) remove matches. Each file appears once, in a deterministic order.
    """
    exclude = list(exclude or [])
    out = Inputs()
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            out.files.append(path)

    for raw in paths:
        if os.path.lexists(raw):
            _add_path(raw, exclude, out, add)
        elif _GLOB_CHARS & set(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            if not matches:
                out.errors.append((raw, "no file matches this pattern"))
            for m in matches:
                _add_path(m, exclude, out, add)
        else:
            out.errors.append((raw, "no such file or directory"))
    return out


def _add_path(path: str, exclude: list[str], out: Inputs, add) -> None:  # type: ignore[no-untyped-def]
    try:
        st = os.stat(path)
    except OSError as exc:
        reason = "symlink loop" if exc.errno == 40 else (exc.strerror or str(exc))
        out.errors.append((path, reason))
        return
    if stat.S_ISDIR(st.st_mode):
        _walk(path, exclude, out, add)
    elif _matches(path.replace(os.sep, "/"), exclude):
        out.excluded += 1
    else:
        _check_file(path, st, out, add)


def _check_file(path: str, st: os.stat_result, out: Inputs, add) -> None:  # type: ignore[no-untyped-def]
    if not stat.S_ISREG(st.st_mode):
        out.errors.append((path, "not a regular file (FIFO, socket or device); not read"))
        return
    if not os.access(path, os.R_OK):
        out.errors.append((path, "permission denied"))
        return
    add(path)


def _walk(root: str, exclude: list[str], out: Inputs, add) -> None:  # type: ignore[no-untyped-def]
    visited: set[tuple[int, int]] = set()
    root_path = Path(root)

    def walk(directory: Path, patterns: list[str]) -> None:
        try:
            st = directory.stat()
        except OSError as exc:
            out.errors.append((str(directory), exc.strerror or str(exc)))
            return
        key = (st.st_dev, st.st_ino)
        if key in visited:
            out.errors.append((str(directory), "symlink loop: directory already visited"))
            return
        visited.add(key)
        patterns = patterns + _read_ignore(directory)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            out.errors.append((str(directory), exc.strerror or str(exc)))
            return
        for entry in entries:
            if entry.name == IGNORE_FILE or entry.name.startswith(TEMP_PREFIX):
                continue   # our own temp files, left behind if a run was killed
            path = Path(entry.path)
            rel = path.relative_to(root_path).as_posix()
            if _matches(rel, patterns) or _matches(path.as_posix(), exclude):
                out.excluded += 1
                continue
            try:
                est = os.stat(path)
            except OSError as exc:
                reason = "symlink loop" if exc.errno == 40 else \
                    ("broken symlink" if entry.is_symlink() else (exc.strerror or str(exc)))
                out.errors.append((str(path), reason))
                continue
            if stat.S_ISDIR(est.st_mode):
                walk(path, patterns)
            else:
                _check_file(str(path), est, out, add)

    walk(root_path, list(exclude))
