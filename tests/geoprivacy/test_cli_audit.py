"""`geoprivacy audit` through the real console entry point: exit codes, formats, odd names."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from geoprivacy.samples import sample_dir

EXE = [sys.executable, "-c", "from geoprivacy.cli import run; run()"]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*EXE, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=120)


@pytest.fixture()
def photos(tmp_path: Path) -> Path:
    for name in ("lund_cathedral.jpg", "no_fix.jpg", "clean.png"):
        shutil.copy(sample_dir() / name, tmp_path / name)
    return tmp_path


def test_leak_exits_1_and_plain_lines_when_not_a_tty(photos: Path) -> None:
    out = cli("audit", str(photos / "lund_cathedral.jpg"))
    assert out.returncode == 1, out.stderr
    assert "LEAKS" in out.stdout and "55.704167, 13.193611" in out.stdout
    assert "\x1b[" not in out.stdout  # no colour codes in a pipe
    assert out.stderr == ""


def test_clean_exits_0(photos: Path) -> None:
    out = cli("audit", str(photos / "clean.png"), str(photos / "no_fix.jpg"))
    assert out.returncode == 0, out.stdout + out.stderr


def test_not_checked_exits_3_and_run_goes_on(photos: Path) -> None:
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe1\xff\xffExif\0\0II*\0")
    (photos / "empty.jpg").write_bytes(b"")
    out = cli("audit", str(photos / "broken.jpg"), str(photos / "empty.jpg"),
              str(photos / "clean.png"))
    assert out.returncode == 3, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    lines = [ln for ln in out.stdout.splitlines() if "NOT CHECKED" in ln]
    assert len(lines) == 2 and "empty file" in out.stdout


def test_nothing_checked_exits_2(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    out = cli("audit", str(tmp_path))
    assert out.returncode == 2, out.stdout + out.stderr


def test_json_to_file_atomically(photos: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    out = cli("audit", str(photos), "--format", "json", "-o", str(target))
    assert out.returncode == 1 and out.stdout == ""
    report = json.loads(target.read_text())
    assert report["schema_version"] == "1.0"
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    assert by_name["lund_cathedral.jpg"]["evidence"][0]["where"].startswith("EXIF:GPS")
    assert report["summary"]["with_location"] == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".geoprivacy-")]


def test_file_named_like_an_option(photos: Path) -> None:
    shutil.copy(photos / "lund_cathedral.jpg", photos / "-x")
    out = cli("audit", "-x", cwd=photos)
    assert out.returncode == 1, out.stdout + out.stderr
    out = cli("audit", "--", "-x", cwd=photos)
    assert out.returncode == 1, out.stdout + out.stderr


def test_unknown_option_that_is_not_a_file_is_an_error(photos: Path) -> None:
    out = cli("audit", "--no-such-flag", str(photos))
    assert out.returncode == 2 and "no-such-flag" in out.stderr


def test_wrong_extension_is_sniffed(photos: Path) -> None:
    shutil.copy(photos / "lund_cathedral.jpg", photos / "looks_like.png")
    out = cli("audit", "--format", "json", str(photos / "looks_like.png"))
    assert json.loads(out.stdout)["files"][0]["container"] == "JPEG"
    assert out.returncode == 1


def test_missing_input_is_reported(photos: Path) -> None:
    out = cli("audit", str(photos / "nope.jpg"), str(photos / "clean.png"))
    assert out.returncode == 3
    assert "no such file" in out.stdout


def test_redact_hides_coordinates(photos: Path) -> None:
    out = cli("audit", "--redact", str(photos / "lund_cathedral.jpg"))
    assert "55.70" not in out.stdout and "redacted" in out.stdout


def test_help_teaches() -> None:
    out = cli("audit", "--help")
    assert out.returncode == 0
    for word in ("Exit codes", "--format", "--exclude", "Examples"):
        assert word in out.stdout


def test_demo_runs_offline(tmp_path: Path) -> None:
    out = cli("demo", "--out", str(tmp_path / "demo"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "demo OK" in out.stderr


def test_a_voice_memo_is_read_for_its_location_and_not_looked_at(tmp_path: Path) -> None:
    """An .m4a keeps the recording's location atom; pixel attackers have nothing to look at
    there, which is not a failure to check it."""
    from tests.attacks.metadata.bmffbuild import box

    ftyp = box(b"ftyp", b"M4A \0\0\0\0M4A mp42isom")
    loci = box(b"\xa9xyz", b"\0\x12\x15\xc7+48.8583+002.2945/")
    memo = tmp_path / "memo.m4a"
    memo.write_bytes(ftyp + box(b"moov", box(b"udta", loci)))
    out = cli("audit", str(memo), "--attackers", "metadata,overlay")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "LEAKS [MP4]" in out.stdout and "48.8583" in out.stdout
    assert "NOT CHECKED" not in out.stdout and "overlay" not in out.stdout


def test_transport_streams_in_a_folder_are_not_checked_never_skipped(tmp_path: Path) -> None:
    """Dashcam .ts and camcorder .mts files can carry GPS nothing here parses: a folder audit
    must say so, even when a pixel attacker found nothing in their frames."""
    from tests.media_factory import make_clip

    folder = tmp_path / "drive"
    folder.mkdir()
    make_clip(folder / "0001.ts", frames=5, audio=False)       # .ts: PyAV writes MPEG-TS
    out = cli("audit", str(folder))
    assert out.returncode == 3, out.stdout + out.stderr
    assert "NOT CHECKED [MPEG-TS]" in out.stdout and "skipped" not in out.stdout.split("summary")[0]
    both = cli("audit", str(folder), "--attackers", "metadata,overlay")
    assert both.returncode == 3, both.stdout + both.stderr
    assert "metadata: cannot read MPEG-TS files: not checked" in both.stdout
