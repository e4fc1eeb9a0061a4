"""Archive inputs: safe member names, content-based detection, limits."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from geoprivacy.datasets import Limits, archive_kind, expand, safe_member_name


@pytest.mark.parametrize("name, safe", [
    ("a/b.jpg", "a/b.jpg"), ("./a//b.jpg", "a/b.jpg"), ("../x.jpg", None), ("a/../../x", None),
    ("/etc/passwd", None), ("C:/x.jpg", None), ("a\\..\\..\\x", None), ("", None),
    ("a\x00.jpg", None), (".", None),
])
def test_safe_member_name(name: str, safe: str | None) -> None:
    assert safe_member_name(name) == safe


def test_detection_is_by_content(tmp_path: Path) -> None:
    jpeg_with_zip = tmp_path / "polyglot.jpg"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "x")
    jpeg_with_zip.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 100 + buf.getvalue())
    assert archive_kind(str(jpeg_with_zip)) is None
    (tmp_path / "z.dat").write_bytes(buf.getvalue())
    assert archive_kind(str(tmp_path / "z.dat")) == "zip"


def test_limits_and_cleanup(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "s.tar", "w") as tf:
        for i in range(5):
            blob = bytes([i]) * 1000
            info = tarfile.TarInfo(f"{i:03d}.bin")
            info.size = len(blob)
            tf.addfile(info, io.BytesIO(blob))
    out = expand([str(tmp_path / "s.tar")], Limits(max_member_bytes=10_000,
                                                     max_total_bytes=2_500))
    try:
        assert [p for p, _ in out.items] == [f"{tmp_path}/s.tar!/000.bin",
                                             f"{tmp_path}/s.tar!/001.bin"]
        assert any("expands beyond" in why for _, why in out.errors)
        assert all(Path(real).read_bytes()[:1] == bytes([i]) for i, (_, real) in
                   enumerate(out.items))
        tmpdir = out.tmpdir
        assert tmpdir and (Path(tmpdir).stat().st_mode & 0o777) == 0o700
    finally:
        out.cleanup()
    assert not Path(tmpdir).exists()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    out = expand([str(broken)])
    assert out.items == [] and "cannot read zip archive" in out.errors[0][1]
    out.cleanup()
