"""Scene: the ImageNet → scene mapping is valid, and real frames get plausible scenes."""

from __future__ import annotations

import numpy as np
import pytest

from geoprivacy.cues.base import module_available

timm_missing = pytest.mark.skipif(not module_available("timm"), reason="timm not installed")


@timm_missing
def test_every_mapped_class_exists_in_imagenet() -> None:
    from geoprivacy.cues.scene import SCENE_CLASSES, class_indices
    indices = class_indices()
    assert {k: len(v) for k, v in indices.items()} == {k: len(v) for k, v in
                                                      SCENE_CLASSES.items()}
    flat = [i for v in indices.values() for i in v]
    assert len(flat) == len(set(flat)), "a class is mapped to two scenes"


def test_scores_follow_the_mass() -> None:
    from geoprivacy.cues.scene import aggregate, scores_from_probs
    indices = {"home": [0, 1], "street": [2], "nature": [3]}
    probs = np.zeros(10)
    probs[[0, 1, 2]] = [0.3, 0.3, 0.2]
    dets = scores_from_probs(probs, indices)
    assert dets[0].label == "home" and dets[0].score == pytest.approx(0.75)
    label, score, scores = aggregate([dets, scores_from_probs(probs, indices)])
    assert label == "home" and score == pytest.approx(0.75) and set(scores) == set(indices)
    # Almost no mass on mapped classes: no scene is claimed.
    low = np.zeros(10)
    low[9] = 0.99
    assert all(d.score == 0 for d in scores_from_probs(low, indices))


@timm_missing
@pytest.mark.slow
def test_street_clip_is_outdoors(street_frames) -> None:
    from geoprivacy.cues.scene import ImageNetSceneDetector, aggregate
    from geoprivacy.models import check
    if not check("efficientnet-lite0").ok:
        pytest.skip("weights missing: efficientnet-lite0")
    det = ImageNetSceneDetector()
    label, score, _ = aggregate([det.detect(f) for f in street_frames])
    assert label in ("street", "residential", "nature", "landmark") and score > 0.2


@pytest.mark.slow
@pytest.mark.skipif(not module_available("torch", "transformers", "geoclip", "tokenizers"),
                    reason="torch, transformers, geoclip or tokenizers not installed")
def test_clip_scene_runs_with_a_local_clip(tmp_path, monkeypatch, street_frames) -> None:
    from geoprivacy.cues.base import DETECTORS
    from geoprivacy.cues.clip_scene import ClipSceneDetector
    from geoprivacy.cues.providers import PROVIDERS
    from geoprivacy.cues.scene import SCENES
    from tests.tiny_clip import build_tiny_clip
    monkeypatch.setenv("GEOPRIVACY_CLIP_BACKBONE", str(build_tiny_clip(tmp_path, True)))
    assert DETECTORS.get("clip-scene").available()
    dets = ClipSceneDetector().detect(street_frames[0])
    assert sorted(d.label for d in dets) == sorted(SCENES)
    assert sum(d.score for d in dets) == pytest.approx(1.0, abs=1e-4)
    # With a CLIP on disk the scene cue uses it, not the ImageNet mapping.
    provider = PROVIDERS["scene"]()
    assert provider.detector.name == "clip-scene"


def test_clip_scene_unavailable_without_a_clip(tmp_path, monkeypatch) -> None:
    from geoprivacy.cues.base import DETECTORS
    monkeypatch.setenv("GEOPRIVACY_HOME", str(tmp_path))
    monkeypatch.setenv("GEOPRIVACY_CLIP_BACKBONE", str(tmp_path / "none"))
    assert DETECTORS.get("clip-scene").available() is False
