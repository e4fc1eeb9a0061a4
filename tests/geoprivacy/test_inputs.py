"""Input collection: deterministic order, excludes, ignore files, odd names, loops."""

from __future__ import annotations

import os
from pathlib import Path

from geoprivacy.inputs import collect


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_directories_recurse_in_sorted_order(tmp_path: Path) -> None:
    for name in ["b/2.jpg", "a/1.jpg", "a/0.jpg", "c.jpg"]:
        touch(tmp_path / name)
    got = collect([str(tmp_path)]).files
    assert [Path(p).relative_to(tmp_path).as_posix() for p in got] == \
        ["a/0.jpg", "a/1.jpg", "b/2.jpg", "c.jpg"]


def test_globs_expand_sorted_and_missing_paths_are_errors(tmp_path: Path) -> None:
    touch(tmp_path / "z.jpg")
    touch(tmp_path / "y.jpg")
    touch(tmp_path / "x.png")
    out = collect([str(tmp_path / "*.jpg"), str(tmp_path / "missing.jpg"),
                   str(tmp_path / "nomatch*.tif")])
    assert [Path(p).name for p in out.files] == ["y.jpg", "z.jpg"]
    reasons = dict(out.errors)
    assert reasons[str(tmp_path / "missing.jpg")] == "no such file or directory"
    assert "no file matches" in reasons[str(tmp_path / "nomatch*.tif")]


def test_each_file_once(tmp_path: Path) -> None:
    f = touch(tmp_path / "a.jpg")
    assert collect([str(f), str(tmp_path), str(tmp_path / "*.jpg")]).files == [str(f)]


def test_exclude_and_ignore_file(tmp_path: Path) -> None:
    touch(tmp_path / "keep.jpg")
    touch(tmp_path / "raw" / "skip.dng")
    touch(tmp_path / "thumbs" / "t.jpg")
    touch(tmp_path / "sub" / "private.jpg")
    (tmp_path / ".geoprivacyignore").write_text("# comment\nthumbs/\n")
    (tmp_path / "sub" / ".geoprivacyignore").write_text("private.*\n")
    out = collect([str(tmp_path)], exclude=["*.dng"])
    assert [Path(p).name for p in out.files] == ["keep.jpg"]
    assert out.excluded == 3


def test_symlink_loop_is_reported_not_fatal(tmp_path: Path) -> None:
    touch(tmp_path / "d" / "a.jpg")
    os.symlink(tmp_path / "d", tmp_path / "d" / "loop")
    os.symlink(tmp_path / "self", tmp_path / "self")
    out = collect([str(tmp_path)])
    assert [Path(p).name for p in out.files] == ["a.jpg"]
    assert any("loop" in reason for _, reason in out.errors)


def test_fifo_is_reported_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.jpg")
    out = collect([str(tmp_path / "pipe.jpg")])
    assert out.files == []
    assert "not a regular file" in out.errors[0][1]


def test_dash_name_is_a_file(tmp_path: Path) -> None:
    f = touch(tmp_path / "-x")
    assert collect([str(f)]).files == [str(f)]


def test_own_temp_files_are_never_inputs(tmp_path: Path) -> None:
    touch(tmp_path / "a.jpg")
    touch(tmp_path / ".geoprivacy-strip-x1.jpg")       # left by a killed run
    touch(tmp_path / ".geoprivacy-strip-journal.jsonl")
    assert [Path(p).name for p in collect([str(tmp_path)]).files] == ["a.jpg"]
