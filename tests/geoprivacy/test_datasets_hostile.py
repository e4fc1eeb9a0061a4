"""Hostile zip and tar datasets: traversal names, links and devices, bombs, member floods,
corrupt archives. Members are only ever written under the private temp folder."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

from geoprivacy.datasets import Limits, expand

BAD_NAMES = ["../escape.jpg", "a/../../escape.jpg", "/etc/escape.jpg", "C:/escape.jpg",
             "..\\escape.jpg"]


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, blob in members.items():
            info = zipfile.ZipInfo("placeholder")
            info.filename = name          # bypass ZipInfo's own clean-up of the name
            info.compress_type = method
            zf.writestr(info, blob)
    return path


def _inside(out, path: str) -> bool:  # type: ignore[no-untyped-def]
    return os.path.commonpath([out.tmpdir, os.path.abspath(path)]) == out.tmpdir


def test_zip_traversal_names_are_refused_and_nothing_escapes(tmp_path: Path) -> None:
    members = {name: b"x" for name in BAD_NAMES} | {"ok/./a.jpg": b"fine"}
    out = expand([str(_zip(tmp_path / "set.zip", members))])
    try:
        assert [logical for logical, _ in out.items] == [f"{tmp_path}/set.zip!/ok/a.jpg"]
        assert all(_inside(out, real) for _, real in out.items)
        refused = [reason for _, reason in out.errors]
        assert len(refused) == len(BAD_NAMES)
        assert all("unsafe member name" in r for r in refused)
        assert stat.S_IMODE(os.stat(out.tmpdir).st_mode) == 0o700
        assert not list(tmp_path.rglob("escape.jpg")) and not os.path.exists("/etc/escape.jpg")
    finally:
        tmpdir = out.tmpdir
        out.cleanup()
    assert tmpdir and not os.path.exists(tmpdir)


def test_zip_bomb_by_ratio_and_by_counted_bytes(tmp_path: Path) -> None:
    ratio = _zip(tmp_path / "ratio.zip", {"zeros.jpg": b"\0" * (4 << 20)}, zipfile.ZIP_DEFLATED)
    big = _zip(tmp_path / "big.zip", {"a.jpg": os.urandom(3 << 20), "b.jpg": os.urandom(3 << 20)})
    out = expand([str(ratio), str(big)], Limits(max_member_bytes=2 << 20))
    try:
        reasons = dict(out.errors)
        assert "compression ratio too high" in reasons[f"{ratio}!/zeros.jpg"]
        assert "member larger than" in reasons[f"{big}!/a.jpg"]
        assert out.items == [] and os.listdir(out.tmpdir) == []   # partial copies removed
    finally:
        out.cleanup()


def test_total_bytes_and_member_count_limits(tmp_path: Path) -> None:
    many = _zip(tmp_path / "many.zip", {f"{i:03d}.jpg": b"x" * 100 for i in range(50)})
    out = expand([str(many)], Limits(max_members=10))
    try:
        assert len(out.items) == 10 and "more than 10 members" in out.errors[-1][1]
    finally:
        out.cleanup()
    out = expand([str(many)], Limits(max_total_bytes=1000))
    try:
        assert len(out.items) == 10 and "expands beyond 1000 bytes" in out.errors[-1][1]
    finally:
        out.cleanup()


def _tar(path: Path, build) -> Path:  # type: ignore[no-untyped-def]
    with tarfile.open(path, "w") as tf:
        build(tf)
    return path


def test_tar_links_devices_and_traversal_are_not_extracted(tmp_path: Path) -> None:
    def build(tf: tarfile.TarFile) -> None:
        def add(name: str, kind: bytes = tarfile.REGTYPE, link: str = "", blob: bytes = b"")\
                -> None:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, link, len(blob)
            tf.addfile(info, io.BytesIO(blob) if blob else None)
        add("good.jpg", blob=b"data")
        add("sym.jpg", tarfile.SYMTYPE, "/etc/passwd")
        add("hard.jpg", tarfile.LNKTYPE, "good.jpg")
        add("zero.jpg", tarfile.CHRTYPE)
        add("fifo.jpg", tarfile.FIFOTYPE)
        for name in ("../up.jpg", "/abs.jpg"):
            add(name, blob=b"data")
    out = expand([str(_tar(tmp_path / "shard.tar", build))])
    try:
        assert [logical.rsplit("!/", 1)[1] for logical, _ in out.items] == ["good.jpg"]
        reasons = {logical.rsplit("!/", 1)[1]: r for logical, r in out.errors}
        for name in ("sym.jpg", "hard.jpg", "zero.jpg", "fifo.jpg"):
            assert reasons[name] == "link or special member: not read"
        for name in ("../up.jpg", "/abs.jpg"):
            assert "unsafe member name" in reasons[name]
        assert os.listdir(out.tmpdir) == [os.path.basename(out.items[0][1])]
    finally:
        out.cleanup()


def test_tar_member_over_budget_is_counted_not_trusted(tmp_path: Path) -> None:
    def build(tf: tarfile.TarFile) -> None:
        blob = os.urandom(3 << 20)
        info = tarfile.TarInfo("big.jpg")
        info.size = len(blob)
        tf.addfile(info, io.BytesIO(blob))
    out = expand([str(_tar(tmp_path / "big.tar", build))], Limits(max_member_bytes=1 << 20))
    try:
        assert out.items == [] and "member larger than" in out.errors[0][1]
        assert os.listdir(out.tmpdir) == []
    finally:
        out.cleanup()


def test_corrupt_archives_are_one_line_errors(tmp_path: Path) -> None:
    good = _zip(tmp_path / "g.zip", {"a.jpg": b"x" * 1000}).read_bytes()
    (tmp_path / "cut.zip").write_bytes(good[: len(good) // 2])
    tar_head = bytearray(512)
    tar_head[257:262] = b"ustar"
    (tmp_path / "junk.tar").write_bytes(bytes(tar_head) + os.urandom(100))
    out = expand([str(tmp_path / "cut.zip"), str(tmp_path / "junk.tar")])
    try:
        assert out.items == []
        assert [p for p, _ in out.errors] == [str(tmp_path / "cut.zip"), str(tmp_path / "junk.tar")]
        assert all("cannot read" in r and "\n" not in r for _, r in out.errors), out.errors
    finally:
        out.cleanup()


def test_encrypted_zip_member_is_not_checked(tmp_path: Path) -> None:
    path = _zip(tmp_path / "enc.zip", {"a.jpg": b"secret"})
    data = bytearray(path.read_bytes())
    # set the "encrypted" flag bit in the local header and the central directory entry
    data[6] |= 1
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 1
    path.write_bytes(bytes(data))
    out = expand([str(path)])
    try:
        assert out.items == [] and out.errors[0][1] == "encrypted member: cannot be checked"
    finally:
        out.cleanup()
