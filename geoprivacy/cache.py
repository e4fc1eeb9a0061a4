"""Result cache for `gate`: what the attackers and cue providers found, keyed by content.

The key is a fast content hash (BLAKE3 when installed, else BLAKE2b) plus the tool version and
the attackers' names and versions, so a changed file, tool or attacker never reuses an old
answer. Cue-provider answers are stored in the same entry with the provider's version; a
known answer is reused as it is (after swapping a detector's model file, run once with
``--no-cache``). The policy is applied after the cache on every run (it is cheap), so editing
the policy never serves a stale judgement.

A second table remembers (path, size, mtime, inode) → content hashes, like git's index, so an
unchanged dataset is not even re-read. Only the parent process writes (one transaction).
Lives in ``$GEOPRIVACY_HOME/cache/gate.sqlite3`` (default ``~/.cache/geoprivacy``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHUNK = 1024 * 1024
SCHEMA = 1


def home() -> Path:
    """The same folder the model registry uses (one place decides it)."""
    from geoprivacy.models import geoprivacy_home
    return geoprivacy_home()


def fast_hasher() -> tuple[str, Any]:
    """(name, new hasher): BLAKE3 if importable (several times faster), else BLAKE2b."""
    try:
        import blake3
        return "blake3", blake3.blake3()
    except ImportError:
        return "blake2b", hashlib.blake2b(digest_size=32)


@dataclass(frozen=True)
class Hashes:
    fast: str        # "<algo>:<hex>", the cache key part
    sha256: str      # the stable content id in finding fingerprints


def hash_file(path: str) -> Hashes:
    """Both hashes in one pass over the file."""
    name, fast = fast_hasher()
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            fast.update(chunk)
            sha.update(chunk)
    return Hashes(f"{name}:{fast.hexdigest()}", sha.hexdigest())


def stat_key(path: str) -> str | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return f"{os.path.abspath(path)}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}"


class ResultCache:
    """sqlite-backed cache; opened read-only in workers, written by the parent."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self._pending: list[tuple[str, str]] = []
        self._pending_memo: list[tuple[str, str, str]] = []
        if not readonly:
            # The cache holds evidence (coordinates) of private photos: owner-only.
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError:
                pass   # sqlite reports the real problem below
        uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        try:
            self._db: sqlite3.Connection | None = sqlite3.connect(uri, uri=True, timeout=30)
            if not readonly:
                self._db.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, "
                                 "value TEXT NOT NULL)")
                self._db.execute("CREATE TABLE IF NOT EXISTS memo (stat TEXT PRIMARY KEY, "
                                 "fast TEXT NOT NULL, sha256 TEXT NOT NULL)")
                self._db.commit()
        except sqlite3.Error:
            self._db = None   # no cache (read-only home, first run in a worker): just slower

    @staticmethod
    def default_path() -> Path:
        return home() / "cache" / "gate.sqlite3"

    def hashes(self, path: str) -> tuple[Hashes, str | None]:
        """Content hashes, from the stat memo when the file is unchanged."""
        skey = stat_key(path)
        if self._db is not None and skey is not None:
            try:
                row = self._db.execute("SELECT fast, sha256 FROM memo WHERE stat = ?",
                                       (skey,)).fetchone()
            except sqlite3.Error:
                row = None
            if row:
                return Hashes(row[0], row[1]), None
        return hash_file(path), skey

    def get(self, key: str) -> dict[str, Any] | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT value FROM results WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        return json.loads(row[0]) if row else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._pending.append((key, json.dumps(value)))  # key order kept: same report

    def remember(self, skey: str, hashes: Hashes) -> None:
        self._pending_memo.append((skey, hashes.fast, hashes.sha256))

    def commit(self) -> None:
        if self._db is None:
            return
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO results VALUES (?, ?)", self._pending)
                self._db.executemany("INSERT OR REPLACE INTO memo VALUES (?, ?, ?)",
                                     self._pending_memo)
        except sqlite3.Error:
            pass  # a cache that cannot be written only costs speed next time
        self._pending.clear()
        self._pending_memo.clear()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def result_key(fast_hash: str, versions: dict[str, str]) -> str:
    blob = json.dumps({"schema": SCHEMA, "content": fast_hash, **versions}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()
