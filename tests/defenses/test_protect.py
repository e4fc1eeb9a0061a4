"""`geoprivacy protect` end to end: outputs decode fully, keep frames/timestamps/audio, carry no
location, and report privacy/utility/quality numbers."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import av
import pytest

from geoprivacy.samples import sample_dir
from tests.corpus import SHARED_DATA
from tests.geoprivacy.test_cli_audit import cli
from tests.media_factory import cut_clip, make_clip


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def frame_pts(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [f.pts for f in c.decode(video=0)]


@pytest.mark.parametrize("method", ["blur", "mosaic", "noise", "mask"])
def test_photo_baselines_without_foreground(tmp_path: Path, method: str) -> None:
    src = tmp_path / "lund.jpg"
    shutil.copy(sample_dir() / "lund_cathedral.jpg", src)
    before = sha(src)
    report = tmp_path / "r.json"
    out = cli("protect", str(src), "--method", method, "--no-foreground", "--format", "json",
              "--report", str(report))
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(report.read_text())["results"][0]
    dst = Path(result["output"])
    assert dst.exists() and dst.name == "lund.protected.jpg"
    assert sha(src) == before, "the input must never change"
    assert result["privacy_before"]["metadata"]["locations"] >= 1
    assert result["privacy_after"]["metadata"]["locations"] == 0
    q = result["quality"]
    assert 5 < q["psnr_db"] < 60 and 0 < q["ssim"] <= 1   # white-noise mask: ~10 dB
    audit = cli("audit", str(dst))
    assert audit.returncode == 0, audit.stdout


def test_video_keeps_every_frame_timestamps_and_audio(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "clip.mp4", frames=24, vfr=True)
    report = tmp_path / "r.json"
    out = cli("protect", str(src), "-o", str(tmp_path / "out.mp4"), "--method", "mosaic",
              "--no-foreground", "--format", "json", "--report", str(report),
              "--min-utility", "0")    # colour bars: what the scorer sees there is noise
    assert out.returncode == 0, out.stdout + out.stderr
    dst = tmp_path / "out.mp4"
    assert frame_pts(dst) == frame_pts(src)
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        assert len(b.streams.audio) == len(a.streams.audio) == 1
        pa = [bytes(p) for p in a.demux(a.streams.audio[0]) if p.size]
        pb = [bytes(p) for p in b.demux(b.streams.audio[0]) if p.size]
        assert pa == pb, "audio packets are copied untouched"
    result = json.loads(report.read_text())["results"][0]
    assert result["quality"]["frames"] == 24


def test_unreadable_input_is_one_line_and_exit_3(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\0\0\0\x18ftypisom" + b"\0" * 40)
    good = tmp_path / "good.jpg"
    shutil.copy(sample_dir() / "clean.png", good)
    out = cli("protect", str(bad), "--no-foreground", "--method", "blur")
    assert out.returncode == 3, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    assert sum("NOT PROCESSED" in ln for ln in out.stdout.splitlines()) == 1


@pytest.mark.slow
def test_people_stay_detectable_on_a_real_street_clip(tmp_path: Path) -> None:
    """vtest.avi (pedestrians): mask by YOLO, score by another detector; blur keeps mAP."""
    from importlib.util import find_spec

    from geoprivacy.cues import DETECTORS

    if find_spec("ultralytics") is None:   # find_spec: importing it would write settings
        pytest.skip("ultralytics is not installed (pip install 'geoprivacy[all]')")
    src = cut_clip(SHARED_DATA / "videos" / "vtest.avi", tmp_path / "street.mp4", 20)
    report = tmp_path / "r.json"
    scorer = "centerface" if "ssdlite" not in DETECTORS else "ssdlite"
    out = cli("protect", str(src), "-o", str(tmp_path / "out.mp4"), "--method", "blur",
              "--detector", "yolo", "--scorer", scorer, "--classes", "person",
              "--format", "json", "--report", str(report), "--min-utility", "0.0")
    assert out.returncode in (0, 1), out.stdout + out.stderr
    result = json.loads(report.read_text())["results"][0]
    assert result["utility_after"]["checked"], result["utility_after"]
    assert result["utility_after"]["kept"] > 0.5


def test_resume_mode_writes_the_same_frames_and_cleans_up(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "clip.mp4", frames=30, gop=10)
    dst = tmp_path / "out.mp4"
    out = cli("protect", str(src), "-o", str(dst), "--method", "blur", "--no-foreground",
              "--resume", "--min-utility", "0")
    assert out.returncode == 0, out.stdout + out.stderr
    assert frame_pts(dst) == frame_pts(src)
    assert not (tmp_path / "out.mp4.parts").exists()


def test_two_inputs_with_one_output_name_do_not_overwrite_each_other(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        shutil.copy(sample_dir() / "lund_cathedral.jpg", tmp_path / sub / "x.jpg")
    out = cli("protect", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "o"),
              "--method", "blur", "--no-foreground")
    assert out.returncode == 3, out.stdout + out.stderr
    assert "already taken" in out.stdout
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["x.protected.jpg"]


def test_output_extension_follows_the_content() -> None:
    from geoprivacy.commands.protect import output_path
    assert output_path("/a/clip.jpg", None, False, "video") == "/a/clip.protected.mp4"
    assert output_path("/a/photo.mp4", None, False, "photo") == "/a/photo.protected.jpg"
    assert output_path("/a/photo.png", None, False, "photo") == "/a/photo.protected.png"
    assert output_path("/a/drive.avi", None, False, "video") == "/a/drive.protected.mp4"
    assert output_path("/a/iphone.HEIC", None, False, "photo") == "/a/iphone.protected.heic"
    assert output_path("/a/band.TIF", None, False, "photo") == "/a/band.protected.tif"


def test_photos_are_written_in_the_format_their_name_says(tmp_path: Path) -> None:
    from PIL import Image

    src = tmp_path / "lund.jpg"
    shutil.copy(sample_dir() / "lund_cathedral.jpg", src)
    for name, fmt in (("a.webp", "WEBP"), ("b.tiff", "TIFF"), ("c.png", "PNG")):
        out = cli("protect", str(src), "-o", str(tmp_path / name), "--method", "blur",
                  "--no-foreground", "-q")
        assert out.returncode == 0, out.stdout + out.stderr
        with Image.open(tmp_path / name) as im:
            assert im.format == fmt
    out = cli("protect", str(src), "-o", str(tmp_path / "d.gif"), "--method", "blur",
              "--no-foreground", "-q")
    assert out.returncode == 3 and "unsupported output extension for a photo" in out.stdout
    assert not (tmp_path / "d.gif").exists()


def test_left_out_streams_are_reported(tmp_path: Path) -> None:
    from tests.geoprivacy.test_video import with_cover_picture

    src = with_cover_picture(tmp_path / "cover.mp4")
    out = cli("protect", str(src), "--method", "blur", "--no-foreground", "--min-utility", "0",
              "-q")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "left out: cover picture (mjpeg)" in out.stdout
    dst = tmp_path / "cover.protected.mp4"
    with av.open(str(dst)) as c:
        assert [s.type for s in c.streams] == ["video"]


def test_alpha_is_kept_and_animations_are_refused(tmp_path: Path) -> None:
    from PIL import Image

    still = Image.new("RGBA", (64, 48), (200, 30, 30, 0))
    still.paste((30, 200, 30, 255), (10, 10, 30, 30))
    still.save(tmp_path / "logo.png")
    out = cli("protect", str(tmp_path / "logo.png"), "--method", "blur", "--no-foreground", "-q")
    assert out.returncode == 0, out.stdout + out.stderr
    with Image.open(tmp_path / "logo.protected.png") as im:
        assert im.mode == "RGBA"
        assert im.getpixel((0, 0))[3] == 0 and im.getpixel((20, 20))[3] == 255
    frames = [Image.new("RGB", (32, 32), (40 * i, 0, 0)) for i in range(3)]
    frames[0].save(tmp_path / "anim.webp", save_all=True, append_images=frames[1:])
    out = cli("protect", str(tmp_path / "anim.webp"), "--method", "blur", "--no-foreground",
              "-q")
    assert out.returncode == 3 and "animated image (3 frames)" in out.stdout, out.stdout
    assert not (tmp_path / "anim.protected.webp").exists()


def test_a_bug_on_one_input_does_not_lose_the_others(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    import geoprivacy.defenses.protect.pipeline as pipeline
    from geoprivacy.cli import main

    real = pipeline.protect_photo

    def buggy(src, *args, **kwargs):  # type: ignore[no-untyped-def]
        if src.endswith("a.jpg"):
            raise ValueError("operands could not be broadcast")
        return real(src, *args, **kwargs)

    monkeypatch.setattr(pipeline, "protect_photo", buggy)
    monkeypatch.delenv("GEOPRIVACY_DEBUG", raising=False)
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(sample_dir() / "lund_cathedral.jpg", tmp_path / name)
    result = CliRunner().invoke(main, ["protect", str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg"),
                                       "--method", "blur", "--no-foreground", "-q"])
    assert result.exit_code == 3, result.output
    assert "a.jpg: NOT PROCESSED: internal error: ValueError" in result.output
    assert (tmp_path / "b.protected.jpg").exists()


def test_heic_in_heic_out(tmp_path: Path) -> None:
    pytest.importorskip("pillow_heif").register_heif_opener()
    from PIL import Image

    src = SHARED_DATA / "photos" / "IMG_5195.HEIC"
    out = cli("protect", str(src), "-o", str(tmp_path / "iphone.heic"), "--method", "blur",
              "--no-foreground", "-q")
    assert out.returncode == 0, out.stdout + out.stderr
    with Image.open(tmp_path / "iphone.heic") as im:
        assert im.format == "HEIF"
    assert "0 location(s) left" in out.stdout
    audit = cli("audit", str(tmp_path / "iphone.heic"))
    assert audit.returncode == 0, audit.stdout


def test_a_truncated_photo_is_a_decode_error_not_an_internal_one(tmp_path: Path) -> None:
    cut = tmp_path / "cut.jpg"
    cut.write_bytes((SHARED_DATA / "photos" / "Canon_40D.jpg").read_bytes()[:3000])
    out = cli("protect", str(cut), "--method", "blur", "--no-foreground", "-q")
    assert out.returncode == 3, out.stdout + out.stderr
    assert "cut.jpg: NOT PROCESSED: cannot decode image" in out.stdout
    assert "internal error" not in out.stdout
