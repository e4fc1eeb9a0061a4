"""OCR reads an overlay rendered onto a real frame; its coordinates become exact Evidence."""

from __future__ import annotations

import os

import numpy as np
import pytest

from geoprivacy.cues.base import module_available
from geoprivacy.types import EvidenceKind, Granularity

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not module_available("rapidocr_onnxruntime"),
                                 reason="rapidocr-onnxruntime not installed")]

OVERLAY = ("2024-05-17 14:03:22", "N52.2297 E021.0122  58 km/h")


def render_overlay(frame: np.ndarray, lines=OVERLAY) -> np.ndarray:
    """A dashcam-style white-on-black strip (DejaVu Sans Mono from matplotlib) at the bottom."""
    import matplotlib
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(os.path.join(matplotlib.get_data_path(), "fonts", "ttf",
                                           "DejaVuSansMono-Bold.ttf"), 36)
    img = Image.fromarray(frame)
    draw = ImageDraw.Draw(img)
    top = img.height - 50 * len(lines) - 20
    draw.rectangle((10, top, 20 + 24 * max(map(len, lines)), img.height - 10), fill=(0, 0, 0))
    for i, line in enumerate(lines):
        draw.text((20, top + 8 + 50 * i), line, font=font, fill=(255, 255, 255))
    return np.asarray(img)


@pytest.fixture(scope="module")
def ocr():
    from geoprivacy.cues.text import RapidOcrDetector
    return RapidOcrDetector()


@pytest.fixture(scope="module")
def overlay_photo(street_frames, tmp_path_factory) -> str:
    from PIL import Image
    path = tmp_path_factory.mktemp("overlay") / "dashcam.jpg"
    Image.fromarray(render_overlay(street_frames[0])).save(path, quality=92)
    return str(path)


def test_ocr_reads_the_overlay(ocr, street_frames) -> None:
    from geoprivacy.cues.text import lines_of
    text = " ".join(lines_of(ocr.detect(render_overlay(street_frames[0]))))
    assert "N52.2297" in text and "E021.0122" in text
    assert "2024-05-17" in text


def test_overlay_attacker_gives_exact_evidence(overlay_photo) -> None:
    from geoprivacy.audit import identify
    from geoprivacy.cues.text import OverlayAttacker
    outcome = OverlayAttacker().attack(identify(overlay_photo))
    assert outcome.errors == []
    (ev,) = outcome.evidence
    assert ev.attacker == "overlay" and ev.where == "overlay:text"
    assert ev.kind is EvidenceKind.POSITION and ev.granularity is Granularity.EXACT
    assert (ev.lat, ev.lon) == pytest.approx((52.2297, 21.0122), abs=1e-6)
    assert [s.replace(" ", "") for s in ev.detail["speeds"]] == ["58km/h"]
    assert ev.detail["dates"] == ["2024-05-17"]
    assert 0.5 <= ev.confidence <= 1


def test_frame_without_overlay_gives_no_evidence(ocr, vtest_frames) -> None:
    from geoprivacy.cues.overlay import parse_overlay
    from geoprivacy.cues.text import lines_of
    assert parse_overlay(lines_of(ocr.detect(vtest_frames[0]))).coordinates == []
