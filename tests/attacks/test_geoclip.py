"""GeoCLIP: the real code path with a tiny CLIP backbone built here; calibration; real model."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from geoprivacy.attacks.geoclip.calibration import (UNCALIBRATED_RADIUS_KM, fit_calibration,
                                                    load_calibration, radius_for,
                                                    save_calibration)
from geoprivacy.cues.base import module_available
from geoprivacy.errors import GeoprivacyError, ModelUnavailable
from geoprivacy.types import EvidenceKind, Granularity

from tests.corpus import SHARED_DATA

#: The user's model home, before the tests point GEOPRIVACY_HOME at a temporary folder.
_REAL_HOME = os.environ.get("GEOPRIVACY_HOME")

needs_stack = pytest.mark.skipif(
    not module_available("torch", "transformers", "geoclip"),
    reason="torch, transformers or geoclip not installed")


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOPRIVACY_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


# ------------------------------------------------------------------ calibration (no model)

def _samples(n=60, seed=0):
    """Confident predictions land near the truth, unconfident ones far away."""
    rng = random.Random(seed)
    preds, truths = [], []
    for i in range(n):
        prob = 0.3 if i % 2 else 0.005
        truth = (rng.uniform(-50, 60), rng.uniform(-170, 170))
        off = 0.05 if prob > 0.1 else 15.0
        preds.append((truth[0] + off, truth[1], prob))
        truths.append(truth)
    return preds, truths


def test_fit_calibration_bins_radius_by_confidence() -> None:
    preds, truths = _samples()
    table = fit_calibration(preds, truths, meta={"backbone_sha256": "abc"})
    near, calibrated = radius_for(table, 0.3)
    far, _ = radius_for(table, 0.005)
    assert calibrated
    assert near < 10 and 1000 < far < 2000
    assert table["samples"] == 60
    # A bin without samples borrows the coarser side's radius, never a finer one.
    mid = [b for b in table["bins"] if b["lo"] == 0.05][0]
    assert mid.get("borrowed") and mid["radius_km"] >= far


def test_uncalibrated_is_conservative() -> None:
    assert radius_for(None, 0.9) == (UNCALIBRATED_RADIUS_KM, False)


def test_calibration_round_trip_and_backbone_check(home) -> None:
    preds, truths = _samples()
    table = fit_calibration(preds, truths, meta={"backbone_sha256": "abc"})
    path = save_calibration(table)
    assert path == home / "geoclip" / "calibration.json"
    assert load_calibration(backbone_sha256="abc") == table
    assert load_calibration(backbone_sha256="other") is None   # fitted on another model
    path.write_text("{not json")
    assert load_calibration() is None


def test_fit_rejects_bad_input() -> None:
    with pytest.raises(GeoprivacyError):
        fit_calibration([], [])
    with pytest.raises(GeoprivacyError):
        fit_calibration([(0, 0, 0.1)], [])


# ------------------------------------------------------------------ tiny backbone

@pytest.fixture(scope="module")
def tiny_backbone(tmp_path_factory) -> tuple[str, str]:
    """A Hugging Face CLIP folder of the real interface (projection 768), a few KB of weights,
    and a 400-point gallery CSV."""
    if not module_available("torch", "transformers", "geoclip"):
        pytest.skip("torch, transformers or geoclip not installed")
    from tests.tiny_clip import build_tiny_clip
    folder = build_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))
    gallery = folder / "gallery.csv"
    rng = random.Random(1)
    gallery.write_text("LAT,LON\n" + "".join(
        f"{rng.uniform(-60, 70):.5f},{rng.uniform(-180, 180):.5f}\n" for _ in range(400)))
    return str(folder), str(gallery)


@needs_stack
@pytest.mark.slow
def test_tiny_backbone_predicts_top_k(tiny_backbone, vtest_like) -> None:
    from geoprivacy.attacks.geoclip.model import GeoClipModel
    folder, gallery = tiny_backbone
    model = GeoClipModel(folder, gallery=gallery, device="cpu")
    preds = model.predict(vtest_like, top_k=5)
    assert len(preds) == len(vtest_like) and all(len(p) == 5 for p in preds)
    for p in preds:
        probs = [c.prob for c in p]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
        assert all(-90 <= c.lat <= 90 and -180 <= c.lon <= 180 for c in p)
    assert model.info["gallery_size"] == 400 and len(model.info["backbone_sha256"]) == 64
    assert set(model.info["weights_sha256"]) >= {"weights/location_encoder_weights.pth"}
    # Gallery features were cached; a second load reads them and predicts the same.
    again = GeoClipModel(folder, gallery=gallery, device="cpu").predict(vtest_like[:1], 5)
    assert [(c.lat, c.lon) for c in again[0]] == [(c.lat, c.lon) for c in preds[0]]


@needs_stack
@pytest.mark.slow
def test_attacker_evidence_uncalibrated_then_calibrated(tiny_backbone, tmp_path) -> None:
    from PIL import Image

    from geoprivacy.attacks.geoclip import GeoClipAttacker, GeoClipOptions
    from geoprivacy.audit import identify
    folder, gallery = tiny_backbone
    photo = tmp_path / "p.jpg"
    Image.fromarray((np.indices((96, 128)).sum(0) % 255).astype(np.uint8)).convert("RGB") \
        .save(photo)
    attacker = GeoClipAttacker(GeoClipOptions(device="cpu")).configure(backbone=folder,
                                                                        gallery=gallery)
    (ev,) = attacker.attack(identify(str(photo))).evidence
    assert ev.kind is EvidenceKind.PREDICTION and ev.attacker == "geoclip"
    assert ev.radius_km == UNCALIBRATED_RADIUS_KM and ev.granularity is Granularity.COUNTRY
    assert ev.detail["calibrated"] is False and len(ev.detail["top_k"]) == 5
    assert "place" in ev.detail["top_k"][0]      # named offline
    # A table saying predictions this confident land within 20 km makes the claim city-level.
    save_calibration({"version": 1, "bins": [{"lo": 0.0, "hi": 1.0, "n": 50, "radius_km": 20.0}],
                      "meta": {"backbone_sha256": attacker.model_info["backbone_sha256"]}})
    calibrated = GeoClipAttacker(GeoClipOptions(device="cpu", backbone=folder, gallery=gallery))
    (ev2,) = calibrated.attack(identify(str(photo))).evidence
    assert ev2.granularity is Granularity.CITY and ev2.detail["calibrated"] is True
    assert ev2.confidence == 0.75
    assert ev2.detail["top1_prob"] == pytest.approx(ev.confidence, abs=1e-3)
    assert calibrated.model_info["calibrated"] is True


def test_missing_backbone_is_one_line(tmp_path) -> None:
    from geoprivacy.attacks.geoclip.model import find_backbone
    with pytest.raises(ModelUnavailable, match="not a Hugging Face CLIP folder"):
        find_backbone(tmp_path)


@pytest.fixture(scope="module")
def vtest_like() -> list[np.ndarray]:
    from geoprivacy.cues.frames import video_frames
    return [rgb for _l, rgb in video_frames(str(SHARED_DATA / "videos" / "vtest.avi"), 2)]


# ------------------------------------------------------------------ the real model

@needs_stack
@pytest.mark.slow
def test_real_geoclip_on_a_lund_street(monkeypatch) -> None:
    """Runs where the backbone is on disk ($GEOPRIVACY_HOME, the HF cache, or the folder in
    $GEOPRIVACY_GEOCLIP_BACKBONE); skips, saying so, where it is not."""
    from geoprivacy.attacks.geoclip.model import GeoClipModel, find_backbone
    from geoprivacy.geo import haversine_km
    if _REAL_HOME is None:
        monkeypatch.delenv("GEOPRIVACY_HOME", raising=False)
    else:
        monkeypatch.setenv("GEOPRIVACY_HOME", _REAL_HOME)
    try:
        find_backbone(os.environ.get("GEOPRIVACY_GEOCLIP_BACKBONE"))
    except ModelUnavailable as exc:
        pytest.skip(f"backbone weights missing: {exc}")
    from PIL import Image
    query = SHARED_DATA / "retrieval" / "queries" / "q_lund_04.jpg"
    model = GeoClipModel(os.environ.get("GEOPRIVACY_GEOCLIP_BACKBONE"))
    (top,) = model.predict([Image.open(query).convert("RGB")], top_k=5)
    # Lund, Sweden: GeoCLIP should at least put it in Europe.
    assert haversine_km(top[0].lat, top[0].lon, 55.6986, 13.1950) < 2500


@needs_stack
@pytest.mark.slow
def test_fit_from_corpus_truth_is_used_next_time(tiny_backbone, home) -> None:
    import csv

    from geoprivacy.attacks.geoclip import GeoClipAttacker, GeoClipOptions
    from geoprivacy.attacks.geoclip.calibration import fit_from_files
    folder, gallery = tiny_backbone
    root = SHARED_DATA / "retrieval"
    with open(root / "truth.csv", newline="") as fh:
        samples = [(str(root / r["path"]), float(r["lat"]), float(r["lon"]))
                   for r in csv.DictReader(fh)]
    attacker = GeoClipAttacker(GeoClipOptions(device="cpu", backbone=folder, gallery=gallery))
    table = fit_from_files(attacker, samples)
    assert table["samples"] == len(samples) and table["meta"]["skipped"] == 0
    assert (home / "geoclip" / "calibration.json").is_file()
    again = GeoClipAttacker(GeoClipOptions(device="cpu", backbone=folder, gallery=gallery))
    assert again.model_info["calibrated"] is True


def test_attackers_lists_geoclip_as_needing_weights_until_a_backbone_is_there(
        tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from geoprivacy.attacks.geoclip import available
    from geoprivacy.attacks.geoclip.model import BACKBONE_FILES, BACKBONE_WEIGHTS
    from geoprivacy.cli import main

    if not available():
        pytest.skip("GeoCLIP packages or shipped files not installed")
    monkeypatch.setenv("GEOPRIVACY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.delenv("GEOPRIVACY_CLIP_BACKBONE", raising=False)
    line = next(x for x in CliRunner().invoke(main, ["attackers"]).output.splitlines()
                if x.startswith("geoclip"))
    assert "needs weights" in line and "--geoclip-backbone DIR" in line
    folder = tmp_path / "clip"
    folder.mkdir()
    for name in (*BACKBONE_FILES, BACKBONE_WEIGHTS[0]):
        (folder / name).write_text("{}")
    monkeypatch.setenv("GEOPRIVACY_CLIP_BACKBONE", str(folder))
    line = next(x for x in CliRunner().invoke(main, ["attackers"]).output.splitlines()
                if x.startswith("geoclip"))
    assert " available " in line and "missing here" not in line
