"""The gate cache: content hashes, the stat memo, private files, changed files re-read."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from geoprivacy.cache import ResultCache, hash_file, result_key
from geoprivacy.gate import GateOptions, gate
from geoprivacy.policy import load_policy
from tests.geoprivacy.gate_helpers import jpeg


def test_hashes_and_keys(tmp_path: Path) -> None:
    f = tmp_path / "a.bin"
    f.write_bytes(b"hello" * 1000)
    h = hash_file(str(f))
    assert h.sha256 == hashlib.sha256(b"hello" * 1000).hexdigest()
    assert h.fast.split(":")[0] in ("blake3", "blake2b")
    assert result_key(h.fast, {"tool": "1"}) != result_key(h.fast, {"tool": "2"})


def test_memo_and_results_round_trip(tmp_path: Path) -> None:
    f = tmp_path / "a.bin"
    f.write_bytes(b"x")
    cache = ResultCache(tmp_path / "c" / "gate.sqlite3")
    hashes, skey = cache.hashes(str(f))
    assert skey is not None
    cache.remember(skey, hashes)
    cache.put("k", {"b": 1, "a": 2})
    cache.commit()
    assert cache.hashes(str(f)) == (hashes, None)          # from the memo, not re-read
    assert list(cache.get("k") or {}) == ["b", "a"]         # key order kept
    assert (os.stat(tmp_path / "c" / "gate.sqlite3").st_mode & 0o777) == 0o600
    cache.close()


def test_a_changed_file_is_judged_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOPRIVACY_HOME", str(tmp_path / "home"))
    photo = jpeg(tmp_path / "d" / "p.jpg")
    options = GateOptions(policy=load_policy())
    assert gate([str(tmp_path / "d")], options).exit_code == 0
    jpeg(photo, 59.3293, 18.0686)
    os.utime(photo, ns=(1, 1))                              # even with an old mtime
    assert gate([str(tmp_path / "d")], GateOptions(policy=load_policy())).exit_code == 1
