"""Inputs that are not plain local paths: fsspec URLs (``s3://``, ``memory://``, ``file://``)
and manifests (CSV or JSON lines listing paths or URLs).

A URL item is read through fsspec into a private temporary file by whoever audits it (a local
process or a Ray worker), then the normal per-file pipeline runs on that file: parsers keep
their bounded, seekable reads and never see the network. Filesystems that live inside one
process (``memory://``) cannot be read by other processes, so the driver reads those bytes and
ships them with the item.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import os
import re
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from geoprivacy.errors import GeoprivacyError
from geoprivacy.fsutil import private_temp_dir

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")
PROCESS_LOCAL = frozenset({"memory"})    # fsspec filesystems only the driver process can read
MAX_BYTES = 2 * 1024**3                  # per item, like an archive member
MAX_LISTED = 5_000_000                   # files listed under one URL or in one manifest
MAX_MANIFEST_BYTES = 1024**3


def is_url(path: str) -> bool:
    """``scheme://...`` (a Windows drive ``C:\\`` or a plain path is not a URL)."""
    return bool(_URL.match(path))


def _fsspec() -> Any:
    try:
        import fsspec
    except ImportError:
        raise GeoprivacyError("URL inputs need fsspec (pip install 'geoprivacy[ray]')") from None
    return fsspec


def protocol(url: str) -> str:
    return url.split("://", 1)[0].lower()


def list_url(url: str, exclude: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """(file URLs under ``url`` in sorted order, (url, reason) for what could not be listed)."""
    fsspec = _fsspec()
    try:
        fs, root = fsspec.core.url_to_fs(url)
        if not fs.isdir(root):
            if not fs.exists(root):
                return [], [(url, "no such file or directory")]
            return [url], []
        found = fs.find(root)
    except (OSError, ValueError, ImportError) as exc:
        return [], [(url, f"cannot list: {exc}")]
    base = url.rstrip("/")
    root = root.rstrip("/")
    out: list[str] = []
    for path in sorted(found)[:MAX_LISTED + 1]:
        rel = path[len(root):].lstrip("/") if path.startswith(root) else PurePosixPath(path).name
        if any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(rel.rsplit("/", 1)[-1], p)
               for p in exclude):
            continue
        out.append(f"{base}/{rel}")
    if len(out) > MAX_LISTED:
        return out[:MAX_LISTED], [(url, f"more than {MAX_LISTED} files: rest not read")]
    return out, []


def read_manifest(path: str) -> list[str]:
    """Paths or URLs listed in a manifest: CSV with a ``path`` (or ``url``) column or a single
    column, or JSON lines of strings or objects with ``path``/``url``. Relative paths are taken
    from the manifest's folder."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise GeoprivacyError(f"{path}: cannot read manifest: {exc.strerror or exc}") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise GeoprivacyError(f"{path}: manifest larger than {MAX_MANIFEST_BYTES} bytes")
    text = raw.decode("utf-8", errors="replace")
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    entries = _jsonl(path, text) if first[:1] in "{[\"" else _csv(path, text)
    if len(entries) > MAX_LISTED:
        raise GeoprivacyError(f"{path}: more than {MAX_LISTED} entries")
    base = os.path.dirname(os.path.abspath(path))
    return [e if is_url(e) or os.path.isabs(e) else os.path.join(base, e) for e in entries]


def _jsonl(path: str, text: str) -> list[str]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise GeoprivacyError(f"{path}:{n}: not a JSON line: {exc}") from None
        if isinstance(value, dict):
            value = value.get("path", value.get("url"))
        if not isinstance(value, str) or not value:
            raise GeoprivacyError(f"{path}:{n}: expected a path string or "
                                  "{\"path\": ...}") from None
        out.append(value)
    return out


def _csv(path: str, text: str) -> list[str]:
    reader = csv.reader(io.StringIO(text))
    rows = [(reader.line_num, r) for r in reader if r and any(c.strip() for c in r)]
    if not rows:
        return []
    header = [c.strip().lower() for c in rows[0][1]]
    column = next((header.index(k) for k in ("path", "url", "file") if k in header), None)
    if column is None and len(header) > 1:
        raise GeoprivacyError(f"{path}:{rows[0][0]}: a CSV manifest with several columns "
                              "needs a 'path' column")
    body = rows[1:] if column is not None else rows
    out = []
    for n, row in body:
        value = row[column or 0].strip() if (column or 0) < len(row) else ""
        if not value:
            raise GeoprivacyError(f"{path}:{n}: no path in this row")
        out.append(value)
    return out


def read_url_bytes(url: str) -> bytes:
    """All bytes of a URL, bounded (used on the driver for process-local filesystems)."""
    fsspec = _fsspec()
    with fsspec.open(url, "rb") as src:
        data = src.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise OSError(f"larger than {MAX_BYTES} bytes: not read")
    return bytes(data)


_TMP: dict[str, str] = {}


def fetch(url: str, data: bytes | None = None) -> str:
    """A private temporary file holding the URL's bytes (or ``data``); the caller unlinks it.

    Raises OSError (with a one-line reason) when the URL cannot be read or is too large.
    """
    if "dir" not in _TMP or not os.path.isdir(_TMP["dir"]):
        _TMP["dir"] = private_temp_dir("fetch")     # 0700, per process
    suffix = PurePosixPath(url).suffix[:16]
    suffix = suffix if suffix[1:].isalnum() else ""
    fd, target = tempfile.mkstemp(suffix=suffix, dir=_TMP["dir"])
    try:
        with os.fdopen(fd, "wb") as dst:
            if data is not None:
                dst.write(data)
            else:
                _copy_url(url, dst)
    except BaseException:
        Path(target).unlink(missing_ok=True)
        raise
    return target


def _copy_url(url: str, dst: Any) -> None:
    fsspec = _fsspec()
    written = 0
    try:
        with fsspec.open(url, "rb") as src:
            while chunk := src.read(1024 * 1024):
                written += len(chunk)
                if written > MAX_BYTES:
                    raise OSError(f"larger than {MAX_BYTES} bytes: not read")
                dst.write(chunk)
    except (ValueError, ImportError) as exc:      # fsspec: unknown protocol, bad URL
        raise OSError(str(exc)) from None


def list_urls(urls: list[str], exclude: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Every file under each URL, in order, each once; (url, reason) for the ones that failed."""
    files: list[str] = []
    errors: list[tuple[str, str]] = []
    seen: set[str] = set()
    for url in urls:
        found, problems = list_url(url, exclude)
        errors.extend(problems)
        for f in found:
            if f not in seen:
                seen.add(f)
                files.append(f)
    return files, errors
