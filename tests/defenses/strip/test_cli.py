"""`geoprivacy strip` through the real entry point: outputs, refusals, dry run, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from geoprivacy.cli import main
from geoprivacy.defenses.strip.engine import ERROR, StripReport, StripResult, StripSettings, \
    audit, strip_file
from tests.corpus import SHARED_DATA
from tests.defenses.strip.helpers import sha256

GPS_JPEG = SHARED_DATA / "photos" / "GPS.jpg"
CLEAN_JPEG = SHARED_DATA / "photos" / "noexif.jpg"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["strip", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


@pytest.fixture
def dirty(tmp_path: Path) -> Path:
    src = tmp_path / "in" / "photo.jpg"
    src.parent.mkdir()
    shutil.copyfile(GPS_JPEG, src)
    return src


def test_default_output_beside_input_and_input_untouched(dirty: Path) -> None:
    before = sha256(dirty)
    code, out = run(str(dirty))
    assert code == 0, out
    cleaned = dirty.with_name("photo.cleaned.jpg")
    assert cleaned.exists() and sha256(dirty) == before
    assert not audit(str(cleaned)).evidence


def test_refuses_to_overwrite_without_force(dirty: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    existing = out_dir / "photo.jpg"
    existing.write_bytes(b"keep me")
    code, out = run(str(dirty), "-o", str(out_dir))
    assert code == 3 and "--force" in out
    assert existing.read_bytes() == b"keep me"
    code, out = run(str(dirty), "-o", str(out_dir), "--force")
    assert code == 0, out
    assert existing.read_bytes()[:2] == b"\xff\xd8" and not audit(str(existing)).evidence


def test_in_place_replaces_only_after_verification(dirty: Path, tmp_path: Path) -> None:
    clean = tmp_path / "in" / "clean.jpg"
    shutil.copyfile(CLEAN_JPEG, clean)
    clean_stat = clean.stat()
    code, out = run("--in-place", str(dirty), str(clean))
    assert code == 0, out
    assert not audit(str(dirty)).evidence
    assert clean.stat().st_mtime_ns == clean_stat.st_mtime_ns   # nothing to remove: untouched
    assert sorted(p.name for p in dirty.parent.iterdir()) == ["clean.jpg", "photo.jpg"]


def test_in_place_warns_that_other_hard_links_keep_the_original(dirty: Path,
                                                                tmp_path: Path) -> None:
    other = tmp_path / "library-copy.jpg"
    os.link(dirty, other)
    code, out = run("--in-place", str(dirty))
    assert code == 0, out
    assert "note: this file had 1 other hard link(s): they still hold the original" in out
    assert not audit(str(dirty)).evidence and audit(str(other)).evidence
    code, out = run("--in-place", str(other))               # now the last name: no note
    assert code == 0 and "note:" not in out


def test_dry_run_writes_nothing(dirty: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "never"
    before = sorted(os.listdir(dirty.parent))
    code, out = run("--dry-run", "--format", "json", str(dirty), "-o", str(out_dir))
    assert code == 0, out
    doc = json.loads(out)
    assert doc["files"][0]["status"] == "would-clean"
    assert "EXIF:GPS IFD" in doc["files"][0]["removed"]
    assert not out_dir.exists() and sorted(os.listdir(dirty.parent)) == before


def test_json_lists_removed_items_and_method(dirty: Path, tmp_path: Path) -> None:
    code, out = run("--format", "json", str(dirty), "-o", str(tmp_path / "o"))
    assert code == 0
    doc = json.loads(out)
    assert doc["command"] == "strip" and doc["summary"]["exit_code"] == 0
    f = doc["files"][0]
    assert f["verified"] is True and f["method"] == "structural"
    assert {"EXIF:GPS IFD", "IPTC:City"} <= set(f["removed"])
    assert f["output"] == str(tmp_path / "o" / "photo.jpg")


def test_nothing_to_do_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no media here\n")
    code, _ = run(str(tmp_path), "-o", str(tmp_path / "o"))
    assert code == 2


def test_in_place_and_output_dir_exclude_each_other(dirty: Path, tmp_path: Path) -> None:
    code, out = run("--in-place", "-o", str(tmp_path), str(dirty))
    assert code == 2 and "exclude" in out


@pytest.mark.parametrize("name", ["notjpeg.jpg", "issue_2339_poc.tiff", "issue_1793_poc.heic",
                                  "issue_2340_poc.mp4"])
def test_malformed_input_is_one_line_error(name: str, tmp_path: Path) -> None:
    code, out = run(str(SHARED_DATA / "malformed" / name), "-o", str(tmp_path / "o"))
    assert code == 3
    assert "Traceback" not in out and "error:" in out
    assert not (tmp_path / "o" / name).exists()


def test_an_unverified_output_is_never_a_success(tmp_path: Path) -> None:
    """A writer that removes nothing: the re-audit catches the GPS; no output, an error."""
    def lazy(path: str, out, options) -> list[str]:  # type: ignore[no-untyped-def]
        out.write(Path(path).read_bytes())
        return ["EXIF:GPS IFD"]

    result = strip_file(str(GPS_JPEG), StripSettings(output_dir=str(tmp_path)), {"JPEG": lazy})
    assert result.status == ERROR and not result.verified
    assert any("EXIF" in r for r in result.remaining)
    assert list(tmp_path.iterdir()) == []
    assert StripReport((result,)).exit_code == 3


def test_exit_policy() -> None:
    ok = StripResult("a", "JPEG", "photo", "cleaned", verified=True)
    skipped = StripResult("b", "unknown", "unknown", "skipped")
    leak = StripResult("c", "GPX", "sidecar", "leak")
    assert StripReport((ok, skipped)).exit_code == 0
    assert StripReport((skipped,)).exit_code == 2
    assert StripReport(()).exit_code == 2
    assert StripReport((ok, leak)).exit_code == 3


def test_two_inputs_with_one_output_name_collide(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "x.jpg", tmp_path / "b" / "x.jpg"
    for p in (a, b):
        p.parent.mkdir()
        shutil.copyfile(GPS_JPEG, p)
    code, out = run(str(a), str(b), "-o", str(tmp_path / "o"))
    assert code == 3 and "another input" in out


def test_sidecar_modes(tmp_path: Path) -> None:
    src = tmp_path / "s"
    src.mkdir()
    for name in ("air2s.srt", "Geotag.gpx", "digikam-example.xmp"):
        shutil.copyfile(SHARED_DATA / "sidecars" / name, src / name)
    code, out = run(str(src), "-o", str(tmp_path / "r"))
    assert code == 3 and out.count("leak") >= 3
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())
    code, out = run(str(src), "-o", str(tmp_path / "st"), "--sidecars", "strip")
    assert code == 3                              # the GPX cannot be stripped, only deleted
    srt = (tmp_path / "st" / "air2s.srt").read_text()
    assert "latitude" not in srt and "[iso : 100]" in srt
    code, out = run(str(src), "--in-place", "--sidecars", "delete")
    assert code == 0, out
    assert sorted(p.name for p in src.iterdir()) == ["air2s.srt", "digikam-example.xmp"]
    assert not audit(str(src / "digikam-example.xmp")).evidence


def test_real_entry_point_exit_code(dirty: Path, tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("geoprivacy")
    if not exe.exists():
        pytest.skip("console script not installed")
    proc = subprocess.run([str(exe), "strip", str(dirty), "-o", str(tmp_path / "o"), "-q"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([str(exe), "strip", str(dirty), "-o", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3 and "exists" in proc.stdout


def test_output_dir_inside_input_dir_is_not_reread(dirty: Path) -> None:
    out = dirty.parent / "clean"
    assert run(str(dirty.parent), "-o", str(out))[0] == 0
    code, text = run(str(dirty.parent), "-o", str(out), "--force")
    assert code == 0 and "clean/photo.jpg ->" not in text
    assert sorted(p.name for p in out.iterdir()) == ["photo.jpg"]


def test_in_place_through_a_symlink_cleans_the_target(dirty: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.jpg"
    link.symlink_to(dirty)
    code, out = run("--in-place", str(link))
    assert code == 0, out
    assert link.is_symlink() and not audit(str(dirty)).evidence
