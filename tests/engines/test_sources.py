"""URL and manifest inputs (no Ray needed): listing, manifests, bounded fetching."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geoprivacy.engines import runner
from geoprivacy.engines.sources import fetch, is_url, list_urls, read_manifest
from geoprivacy.errors import GeoprivacyError

fsspec = pytest.importorskip("fsspec")


@pytest.mark.parametrize("text, url", [("s3://b/k.jpg", True), ("memory://x", True),
                                       ("file:///tmp/a", True), ("/tmp/a.jpg", False),
                                       ("C:\\photos\\a.jpg", False), ("a://", True),
                                       ("photos/x://y", False)])
def test_is_url(text: str, url: bool) -> None:
    assert is_url(text) is url


def test_manifests(tmp_path: Path) -> None:
    (tmp_path / "one.csv").write_text("id,path\n1,a.jpg\n2,/abs/b.jpg\n3,s3://bkt/c.jpg\n")
    (tmp_path / "bare.csv").write_text("a.jpg\n\nb.jpg\n")
    (tmp_path / "m.jsonl").write_text('{"path": "a.jpg"}\n"memory://x/b.jpg"\n\n{"url": "/c"}\n')
    assert read_manifest(str(tmp_path / "one.csv")) == [str(tmp_path / "a.jpg"), "/abs/b.jpg",
                                                        "s3://bkt/c.jpg"]
    assert read_manifest(str(tmp_path / "bare.csv")) == [str(tmp_path / "a.jpg"),
                                                         str(tmp_path / "b.jpg")]
    assert read_manifest(str(tmp_path / "m.jsonl")) == [str(tmp_path / "a.jpg"),
                                                        "memory://x/b.jpg", "/c"]


@pytest.mark.parametrize("text, where", [('{"path": 3}\n', ":1:"), ('"a"\n{bad\n', ":2:"),
                                         ("id,name\n1,a\n", ":1:"),
                                         ("path,id\na,1\n\n,2\n", ":4:")])
def test_bad_manifest_is_one_clear_error(tmp_path: Path, text: str, where: str) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(text)
    with pytest.raises(GeoprivacyError, match=where):
        read_manifest(str(bad))
    with pytest.raises(GeoprivacyError, match="cannot read manifest"):
        read_manifest(str(tmp_path / "missing.csv"))


def test_list_memory_and_file_urls(tmp_path: Path) -> None:
    fs = fsspec.filesystem("memory")
    root = f"memory://gp-list-{os.getpid()}"
    for name in ("b/2.jpg", "a.jpg", "b/skip.tmp"):
        fs.pipe(f"{root}/{name}", b"x")
    (tmp_path / "z.jpg").write_bytes(b"x")
    files, errors = list_urls([root, f"{root}/a.jpg", f"file://{tmp_path}",
                               f"{root}/missing"], exclude=["*.tmp"])
    assert files == [f"{root}/a.jpg", f"{root}/b/2.jpg", f"file://{tmp_path}/z.jpg"]
    assert errors == [(f"{root}/missing", "no such file or directory")]


def test_fetch_copies_into_a_private_temp_file() -> None:
    fs = fsspec.filesystem("memory")
    url = f"memory://gp-fetch-{os.getpid()}/p.jpg"
    fs.pipe(url, b"\xff\xd8data")
    path = fetch(url)
    try:
        assert Path(path).read_bytes() == b"\xff\xd8data" and path.endswith(".jpg")
        assert os.stat(os.path.dirname(path)).st_mode & 0o077 == 0
    finally:
        os.unlink(path)
    with pytest.raises(OSError):
        fetch(f"memory://gp-fetch-{os.getpid()}/missing.jpg")
    with pytest.raises(OSError):
        fetch("nosuchproto://x/y.jpg")


def test_unknown_engine() -> None:
    with pytest.raises(GeoprivacyError, match="unknown engine"):
        runner("spark")


def as_json(report: object) -> str:
    import io

    from geoprivacy.reports import WRITERS, WriteOptions
    buf = io.StringIO()
    WRITERS.get("json").load()(buf, report, WriteOptions())
    return buf.getvalue()


def test_local_pool_reads_memory_urls(tmp_path: Path) -> None:
    """--jobs 2 over memory:// URLs: the same report (the parent sends the bytes, as workers
    started by spawn cannot see its memory filesystem)."""
    from geoprivacy.gate import GateOptions, gate
    from geoprivacy.policy import load_policy
    from tests.geoprivacy.gate_helpers import jpeg

    src = tmp_path / "src"
    jpeg(src / "leak.jpg", 48.858, 2.2945)
    jpeg(src / "clean.jpg")
    (src / "empty.jpg").write_bytes(b"")
    url = f"memory://gp-pool-{os.getpid()}"
    for p in sorted(src.iterdir()):
        fsspec.filesystem("memory").pipe(f"{url}/{p.name}", p.read_bytes())
    local = gate([str(src)], GateOptions(policy=load_policy(None), cache=False))
    pooled = gate([url], GateOptions(policy=load_policy(None), cache=False, jobs=2))
    assert as_json(pooled).replace(url, str(src)) == as_json(local)
    assert pooled.exit_code == local.exit_code == 1
