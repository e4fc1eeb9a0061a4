"""Faces, plates and text are pixelated even inside kept foreground boxes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from geoprivacy.cues.base import Detection
from geoprivacy.defenses.baselines import Blur
from geoprivacy.defenses.protect.redact import Redactor


class BoxDetector:
    """Finds one fixed box (the real back-ends are exercised in the slow test below)."""

    def __init__(self, box: tuple[float, float, float, float]) -> None:
        self.box = box
        self.calls = 0

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.calls += 1
        return [Detection("face", 0.9, self.box)]


def test_redaction_inside_kept_foreground_and_detection_every_k() -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (6, 64, 96, 3), dtype=np.uint8)
    fg = np.ones(frames.shape[:3], bool)                 # everything is "kept" foreground
    detector = BoxDetector((30, 10, 60, 40))
    out = Redactor(Blur(), {"faces": detector}, every=3, margin=0.0, block=8)(
        frames, fg, np.random.default_rng(1))
    assert detector.calls == 2                            # frames 0 and 3
    inside = out[:, 10:40, 30:60]
    assert not np.array_equal(inside, frames[:, 10:40, 30:60])
    blocks = inside[0, :8, :8].reshape(-1, 3)
    assert (blocks == blocks[0]).all(), "pixelated into flat blocks"
    outside = np.ones(frames.shape[:3], bool)
    outside[:, 10:40, 30:60] = False
    assert np.array_equal(out[outside], frames[outside]), "the kept foreground is untouched"


@pytest.mark.slow
def test_mask_text_makes_a_rendered_sign_unreadable(tmp_path: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont

    from geoprivacy.cues import DETECTORS
    from geoprivacy.registry import instantiate

    if "rapidocr" not in DETECTORS or not DETECTORS.get("rapidocr").available():
        pytest.skip("rapidocr-onnxruntime is not installed")
    import matplotlib

    font = ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" /
                                  "DejaVuSans-Bold.ttf"), 40)
    img = Image.new("RGB", (640, 200), (235, 235, 235))
    ImageDraw.Draw(img).text((20, 70), "STORGATAN 12 LUND", fill=(10, 10, 10), font=font)
    frame = np.asarray(img)[None]
    ocr = instantiate(DETECTORS, "rapidocr")
    assert any("STORGATAN" in d.detail.get("text", "").upper() for d in ocr.detect(frame[0]))
    out = Redactor(lambda f, m, r: f.copy(), {"text": ocr}, block=16)(
        frame, np.zeros(frame.shape[:3], bool), np.random.default_rng(0))
    read = " ".join(d.detail.get("text", "") for d in ocr.detect(out[0])).upper()
    assert "STORGATAN" not in read and "LUND" not in read
