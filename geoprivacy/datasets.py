"""Datasets given as zip files or WebDataset tar shards: members become logical inputs.

Members are extracted one by one into a private temporary folder under generated names (never
the member's own name, so no path traversal can happen) and reported as
``archive.zip!/folder/member.jpg``. Bombs are stopped by counting bytes while copying, not by
trusting the sizes the archive declares.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO

from geoprivacy.fsutil import private_temp_dir

SEP = "!/"


@dataclass(frozen=True)
class Limits:
    max_members: int = 200_000
    max_member_bytes: int = 2 * 1024**3
    max_total_bytes: int = 16 * 1024**3
    max_ratio: float = 200.0          # uncompressed / compressed, for zip members > 1 MiB


@dataclass
class Expanded:
    """(logical path, real path) pairs in order, member problems, and the temp folder."""

    items: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    tmpdir: str | None = None
    extracted: int = 0       # names temp files uniquely across every archive of the run

    def cleanup(self) -> None:
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


def archive_kind(path: str) -> str | None:
    """"zip" or "tar" by content at offset 0 (a JPEG with a zip appended stays a JPEG)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return None
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def safe_member_name(name: str) -> str | None:
    """The member's normalised relative name, or None when it is absolute or climbs out."""
    name = name.replace("\\", "/")
    if not name or name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\x00" in name:
        return None
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def expand(files: list[str], limits: Limits = Limits()) -> Expanded:
    """Replace each zip/tar in ``files`` by its members; other files pass through."""
    out = Expanded()
    for path in files:
        kind = archive_kind(path)
        if kind is None:
            out.items.append((path, path))
            continue
        if out.tmpdir is None:
            out.tmpdir = private_temp_dir("dataset")   # 0700
        try:
            if kind == "zip":
                _expand_zip(path, out, limits)
            else:
                _expand_tar(path, out, limits)
        except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError, ValueError) as exc:
            reason = " ".join(str(exc).split())     # tarfile's "r:*" errors span lines
            out.errors.append((path, f"cannot read {kind} archive: {reason}"))
    return out


class _Budget:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.total = 0
        self.count = 0


def _copy(src: IO[bytes], dst_path: str, budget: _Budget) -> str | None:
    """Copy with a byte budget; a reason string when a limit was hit (file removed)."""
    written = 0
    with open(dst_path, "wb") as dst:
        while chunk := src.read(1024 * 1024):
            written += len(chunk)
            budget.total += len(chunk)
            if written > budget.limits.max_member_bytes:
                reason = f"member larger than {budget.limits.max_member_bytes} bytes"
                break
            if budget.total > budget.limits.max_total_bytes:
                reason = f"archive expands beyond {budget.limits.max_total_bytes} bytes"
                break
            dst.write(chunk)
        else:
            return None
    os.unlink(dst_path)
    return reason


def _target(out: Expanded, budget: _Budget, name: str) -> str:
    suffix = PurePosixPath(name).suffix[:16]
    suffix = suffix if suffix[1:].isalnum() else ""
    out.extracted += 1
    return os.path.join(out.tmpdir or "", f"m{out.extracted:08d}{suffix}")


def _expand_zip(path: str, out: Expanded, limits: Limits) -> None:
    budget = _Budget(limits)
    with zipfile.ZipFile(path) as zf:
        infos = sorted((i for i in zf.infolist() if not i.is_dir()), key=lambda i: i.filename)
        for info in infos:
            logical = f"{path}{SEP}{info.filename}"
            name = safe_member_name(info.filename)
            if name is None:
                out.errors.append((logical, "unsafe member name (absolute or '..'): not read"))
                continue
            logical = f"{path}{SEP}{name}"
            budget.count += 1
            if budget.count > limits.max_members:
                out.errors.append((path, f"more than {limits.max_members} members: rest not read"))
                return
            if info.flag_bits & 0x1:
                out.errors.append((logical, "encrypted member: cannot be checked"))
                continue
            if info.file_size > 1024 * 1024 and \
                    info.file_size > limits.max_ratio * max(info.compress_size, 1):
                out.errors.append((logical, "compression ratio too high (zip bomb?): not read"))
                continue
            target = _target(out, budget, name)
            with zf.open(info) as src:
                problem = _copy(src, target, budget)
            if problem:
                out.errors.append((logical, problem + ": not read"))
                if budget.total > limits.max_total_bytes:
                    return
                continue
            out.items.append((logical, target))


def _expand_tar(path: str, out: Expanded, limits: Limits) -> None:
    budget = _Budget(limits)
    members = []
    with tarfile.open(path, mode="r:*") as tf:
        for info in tf:   # streaming header walk; bounded by the member limit
            if len(members) > limits.max_members:
                out.errors.append((path, f"more than {limits.max_members} members: rest not read"))
                break
            members.append(info)
        for info in sorted(members, key=lambda i: i.name)[:limits.max_members]:
            if info.isdir():
                continue
            name = safe_member_name(info.name)
            logical = f"{path}{SEP}{name or info.name}"
            if name is None:
                out.errors.append((logical, "unsafe member name (absolute or '..'): not read"))
                continue
            if not info.isreg():
                out.errors.append((logical, "link or special member: not read"))
                continue
            budget.count += 1
            src = tf.extractfile(info)
            if src is None:
                continue
            target = _target(out, budget, name)
            problem = _copy(src, target, budget)
            if problem:
                out.errors.append((logical, problem + ": not read"))
                if budget.total > limits.max_total_bytes:
                    return
                continue
            out.items.append((logical, target))
