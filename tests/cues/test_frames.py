"""Pictures for the detectors: photos upright in RGB, a few frames spread over a video."""

from __future__ import annotations

import numpy as np
import pytest

from geoprivacy.cues.frames import media_frames, photo_rgb, video_frames
from geoprivacy.errors import GeoprivacyError

from tests.corpus import SHARED_DATA


def test_photo_is_upright_rgb(tmp_path) -> None:
    from PIL import Image
    img = Image.new("RGB", (40, 20), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6                      # "rotate 90 CW to display"
    path = tmp_path / "rot.jpg"
    img.save(path, exif=exif)
    rgb = photo_rgb(str(path))
    assert rgb.shape == (40, 20, 3) and rgb.dtype == np.uint8


def test_video_frames_are_spread_out() -> None:
    pytest.importorskip("av")
    frames = list(video_frames(str(SHARED_DATA / "videos" / "vtest.avi"), 3))
    assert len(frames) == 3
    indexes = [int(label.split()[1]) for label, _ in frames]
    assert indexes[0] == 0 and indexes[1] > 100 and indexes[2] > indexes[1]
    assert all(rgb.shape == (576, 768, 3) for _, rgb in frames)


def test_broken_inputs_are_one_line_errors(tmp_path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(GeoprivacyError, match="cannot decode image"):
        photo_rgb(str(bad))
    with pytest.raises(GeoprivacyError, match="not a photo or video"):
        media_frames(str(bad), "sidecar")
    truncated = SHARED_DATA / "malformed" / "sample-5s_truncated.mp4"
    if truncated.exists():
        try:
            frames = media_frames(str(truncated), "video", 3)
        except GeoprivacyError as exc:
            assert "\n" not in str(exc)
        else:
            assert len(frames) <= 3



def test_deep_single_band_photos_are_stretched_not_clipped(tmp_path) -> None:
    """A 16-bit multispectral band (here the corpus' DJI TIFF, values 4096..65408) must not
    decode to a white page: Pillow's convert('RGB') clips every value above 255."""
    from PIL import Image

    from geoprivacy.cues.frames import to_rgb8

    dji = photo_rgb(str(SHARED_DATA / "photos" / "Issue_555_1.tif"))
    assert dji.shape == (1300, 1600, 3) and dji.std() > 20
    ramp = np.linspace(1000, 60000, 64 * 64).reshape(64, 64).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "ramp.tif")
    out = photo_rgb(str(tmp_path / "ramp.tif"))
    assert out[0, 0, 0] == 0 and out[-1, -1, 0] == 255
    assert (np.diff(out[..., 0].ravel().astype(int)) >= 0).all()      # order is kept
    flat = to_rgb8(Image.fromarray(np.full((8, 8), 7.0, np.float32), "F"))
    assert np.asarray(flat).shape == (8, 8, 3)                        # constant: no division
    holes = np.full((8, 8), np.nan, np.float32)
    holes[0, 0] = 1.0
    assert np.asarray(to_rgb8(Image.fromarray(holes, "F"))).shape == (8, 8, 3)
