"""Nothing lost: a strip or protect run killed (SIGKILL) or interrupted (SIGINT) mid-batch never
leaves a half-written file under an output's name, never touches an input, removes its temp
files on SIGINT, and ``strip --resume`` finishes the batch from the journal."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geoprivacy.defenses.strip.engine import audit
from tests.attacks.metadata import tiffbuild as tb
from tests.defenses.strip.builders import exif_segment, with_segments

EXE = [sys.executable, "-c", "from geoprivacy.cli import run; run()"]
COUNT = 400


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leaky_jpeg(seed: int) -> bytes:
    from PIL import Image
    img = Image.frombytes("RGB", (96, 64), bytes((i * 7 + seed) % 256 for i in range(96 * 64 * 3)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return with_segments(buf.getvalue(), [exif_segment(tb.exif_with_gps(tb.gps_entries()))])


@pytest.fixture()
def batch(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    blobs = [_leaky_jpeg(s) for s in range(4)]
    for i in range(COUNT):
        (src / f"{i:04d}.jpg").write_bytes(blobs[i % 4])
    return src


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*EXE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_for(predicate, proc: subprocess.Popen[str],  # type: ignore[no-untyped-def]
              limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while not predicate():
        if proc.poll() is not None:
            pytest.skip("the run finished before it could be interrupted (machine too fast)")
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError("the run made no progress")
        time.sleep(0.005)


def _outputs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.jpg") if not p.name.startswith(".")) \
        if folder.exists() else []


def _temps(*folders: Path) -> list[Path]:
    return [p for f in folders if f.exists() for p in f.iterdir()
            if p.name.startswith(".geoprivacy-") and not p.name.endswith(".jsonl")]


def _assert_good_output(out: Path, src: Path) -> None:
    from PIL import Image
    result = audit(str(out))
    assert result.status == "ok" and not result.evidence and not result.errors, out
    with Image.open(out) as a, Image.open(src) as b:
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_strip_batch_loses_nothing_and_resumes(batch: Path, tmp_path: Path,
                                                      sig: signal.Signals) -> None:
    before = {p.name: _digest(p) for p in batch.iterdir()}
    out_dir, journal = tmp_path / "out", tmp_path / "journal.jsonl"
    proc = _start("strip", str(batch), "-o", str(out_dir), "--journal", str(journal), "-q")
    _wait_for(lambda: len(_outputs(out_dir)) >= 20, proc)
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    done = _outputs(out_dir)
    assert 20 <= len(done) < COUNT
    for out in done:                                  # every output under its name is whole
        _assert_good_output(out, batch / out.name)
    assert {p.name: _digest(p) for p in batch.iterdir()} == before   # inputs untouched
    if sig == signal.SIGINT:
        assert _temps(out_dir, batch) == []
    else:                                             # a killed process cannot clean up, but
        assert all(p.name.startswith(".geoprivacy-strip-") for p in _temps(out_dir))
    lines = [json.loads(ln) for ln in journal.read_text().splitlines() if ln.strip()]
    lines = [entry for entry in lines if "input" in entry]      # finished, not "begin" lines
    assert len(lines) >= len(done) - 1

    resumed = subprocess.run([*EXE, "strip", str(batch), "-o", str(out_dir), "--journal",
                              str(journal), "--resume", "--format", "json"],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    files = json.loads(resumed.stdout)["files"]
    assert len(files) == COUNT
    assert sum(f["method"] == "resumed" for f in files) >= len(lines) - 1
    assert sum(f["method"] == "resumed" for f in files) < COUNT
    assert len(_outputs(out_dir)) == COUNT
    for out in _outputs(out_dir)[:: 37]:
        _assert_good_output(out, batch / out.name)


def test_resume_redoes_what_no_longer_verifies(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        (src / f"{i}.jpg").write_bytes(_leaky_jpeg(i))
    out_dir, journal = tmp_path / "out", tmp_path / "j.jsonl"
    args = [*EXE, "strip", str(src), "-o", str(out_dir), "--journal", str(journal),
            "--format", "json"]
    first = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    (out_dir / "0.jpg").unlink()                          # output gone: redo
    (src / "1.jpg").write_bytes(_leaky_jpeg(42))          # input changed: redo, replacing ours
    with open(out_dir / "2.jpg", "ab") as fh:             # output damaged: redo refused...
        fh.write(b"x")
    again = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=120)
    files = {Path(f["input"]).name: f for f in json.loads(again.stdout)["files"]}
    assert files["0.jpg"]["status"] == "cleaned" and files["0.jpg"]["method"] != "resumed"
    assert files["1.jpg"]["status"] == "cleaned" and files["1.jpg"]["method"] != "resumed"
    # ...because the damaged file is no longer the one the journal recorded: not overwritten
    assert files["2.jpg"]["status"] == "error" and "exists" in files["2.jpg"]["errors"][0]
    assert again.returncode == 3
    _assert_good_output(out_dir / "1.jpg", src / "1.jpg")


def test_killed_in_place_batch_leaves_each_input_whole(batch: Path) -> None:
    originals = {p.name: p.read_bytes() for p in batch.iterdir()}
    proc = _start("strip", str(batch), "--in-place", "-q")
    first = batch / "0000.jpg"
    _wait_for(lambda: first.read_bytes() != originals["0000.jpg"], proc)
    time.sleep(0.05)
    proc.kill()
    proc.communicate(timeout=60)
    changed = 0
    assert all(p.name.startswith(".geoprivacy-strip-") for p in _temps(batch))
    for path in _outputs(batch):
        if path.read_bytes() != originals[path.name]:
            changed += 1
            result = audit(str(path))            # replaced only by a verified clean version
            assert not result.evidence and not result.errors, path
    assert 0 < changed < COUNT


# ------------------------------------------------------------------------------ protect

@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.media_factory import make_clip
    return make_clip(tmp_path_factory.mktemp("clip") / "long.mp4", frames=240, size=(320, 240),
                     audio=False)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_protect_keeps_the_previous_good_output(long_clip: Path, tmp_path: Path,
                                                            sig: signal.Signals) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(long_clip.read_bytes())
    out = tmp_path / "out.mp4"
    good = b"previous good output"           # stands for an earlier run's result
    out.write_bytes(good)
    before = _digest(clip)
    proc = _start("protect", str(clip), "-o", str(out), "--method", "blur", "--no-foreground",
                  "-q", "--preset", "veryslow")
    _wait_for(lambda: any(p.stat().st_size > 0 for p in _temps(tmp_path)), proc, limit=120)
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert out.read_bytes() == good                # never replaced by half a video
    assert _digest(clip) == before
    if sig == signal.SIGINT:
        assert _temps(tmp_path) == []


def test_output_renamed_before_its_journal_line_is_replaced_on_resume(tmp_path: Path) -> None:
    """The window between renaming an output into place and journaling it: a resumed run must
    not refuse that output as someone else's file."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jpg").write_bytes(_leaky_jpeg(1))
    out_dir, journal = tmp_path / "out", tmp_path / "journal.jsonl"
    first = subprocess.run([*EXE, "strip", str(src), "-o", str(out_dir), "--journal",
                            str(journal), "-q"], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    # simulate the crash: keep the output and the begin line, drop the finished line
    lines = journal.read_text().splitlines()
    journal.write_text("\n".join(ln for ln in lines if '"begin"' in ln) + "\n")
    resumed = subprocess.run([*EXE, "strip", str(src), "-o", str(out_dir), "--journal",
                              str(journal), "--resume"], capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    other = tmp_path / "out2"
    other.mkdir()
    (other / "a.jpg").write_bytes(b"someone else's file")
    refused = subprocess.run([*EXE, "strip", str(src), "-o", str(other), "--journal",
                              str(tmp_path / "j2.jsonl"), "--resume"], capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 3 and (other / "a.jpg").read_bytes() == b"someone else's file"
