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

