"""Adversarial PPEDCRF: bounded by ε·w, zero on the foreground, and PGD really lowers the
attacker's similarity (measured by the attacker's own encoder on the rounded image)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from geoprivacy.defenses.ppedcrf.adversarial import (AdversarialPPEDCRF, DiffEncoder,  # noqa: E402
                                                     PGDParams, pgd)
from geoprivacy.defenses.ppedcrf.ncp import ncp_weights  # noqa: E402
from geoprivacy.defenses.ppedcrf.perturb import PPEDCRF, upsample  # noqa: E402
from tests.corpus import SHARED_DATA  # noqa: E402

GALLERY = SHARED_DATA / "retrieval" / "gallery"
QUERY = SHARED_DATA / "retrieval" / "queries" / "q_lund_04.jpg"
SIZE = (160, 120)
ENCODER_SIZE = 128          # small encoder input keeps every step well under a second


def load(path, size=SIZE) -> np.ndarray:
    from PIL import Image

    if not path.is_file():
        pytest.skip(f"shared photo missing: {path}")
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB").resize(size, Image.BILINEAR)).copy()


@pytest.fixture(scope="module")
def encoder():
    from geoprivacy.attacks.retrieval.encoders import load_encoder
    from geoprivacy.errors import GeoprivacyError

    try:
        return load_encoder("efficientnet-lite0", image_size=ENCODER_SIZE, device="cpu")
    except GeoprivacyError as exc:
        pytest.skip(f"EfficientNet-Lite0 weights unavailable: {exc}")


NAMES = ["lund_02.jpg", "lund_08.jpg", "lund_16.jpg", "caliterra_9358.jpg",
         "distractor_helsinki_harbour.jpg", "distractor_omaha.jpg"]


@pytest.fixture(scope="module")
def gallery(encoder) -> np.ndarray:
    from PIL import Image

    return encoder.encode([Image.fromarray(load(GALLERY / n)) for n in NAMES])


def positions() -> np.ndarray:
    import csv

    with open(GALLERY.parent / "gallery.csv", newline="") as fh:
        where = {r["path"].split("/")[-1]: (float(r["lat"]), float(r["lon"]))
                 for r in csv.DictReader(fh)}
    return np.array([where[n] for n in NAMES])


class FixedSensitivity:
    """High sensitivity on the left half, low on the right (no encoder pass needed)."""

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        n, h, w = frames.shape[0], -(-frames.shape[1] // 16), -(-frames.shape[2] // 16)
        s = np.full((n, h, w), 0.1, np.float32)
        s[:, :, : w // 2] = 0.95
        return s


def attacker_top1(encoder, gallery: np.ndarray, frame: np.ndarray) -> float:
    from PIL import Image

    vec = encoder.encode([Image.fromarray(frame)])[0]
    return float((gallery @ vec).max())


@pytest.mark.slow
def test_perturbation_within_eps_w_and_zero_on_foreground(encoder, gallery) -> None:
    frame = load(QUERY)
    fg = np.zeros(frame.shape[:2], bool)
    fg[30:80, 40:100] = True
    params = PGDParams(epsilon=4 / 255, steps=3, work_width=96)   # work size < frame size
    defense = AdversarialPPEDCRF(PPEDCRF(FixedSensitivity()), [DiffEncoder(encoder, gallery)],
                                 params)
    delta = defense.perturbation(frame[None], fg[None])[0]
    labels = defense.base.last_labels
    assert labels is not None
    w = upsample(ncp_weights(labels[0], 1.0, 3), frame.shape[:2])
    bound = 255 * params.epsilon * w
    assert (np.abs(delta) <= bound[..., None] + 1e-4).all()
    assert (delta[fg] == 0).all()
    assert np.abs(delta).max() > 1.0, "PGD used the budget"
    # the published pixels obey the same bound, and the foreground is the input exactly
    out = defense(frame[None], fg[None], np.random.default_rng(0))[0]
    change = np.abs(out.astype(int) - frame.astype(int))
    assert (change <= bound[..., None] + 1e-4).all()
    assert (out[fg] == frame[fg]).all()
    left, right = change[:, :80][~fg[:, :80]].mean(), change[:, 80:][~fg[:, 80:]].mean()
    assert left > right, "more budget where the CRF labels say the place shows"


@pytest.mark.slow
def test_pgd_lowers_attacker_similarity_monotonically(encoder, gallery) -> None:
    frame = load(QUERY)
    bound = np.full(frame.shape[:2], 4 / 255, np.float32)[None]
    enc = DiffEncoder(encoder, gallery)
    measured = []
    for steps in (0, 2, 5):
        result = pgd([enc], frame[None], bound, PGDParams(steps=steps, step=0.25, codec="none"))
        assert np.all(np.diff(result.history[:, 0]) <= 1e-4), "accepted loss never rises"
        out = np.clip(np.round(frame + 255 * result.delta[0]), 0, 255).astype(np.uint8)
        assert np.abs(out.astype(int) - frame.astype(int)).max() <= 4
        measured.append(attacker_top1(encoder, gallery, out))
    # the attacker's own pipeline (Pillow resize, uint8 image) sees a falling similarity
    assert all(b <= a + 0.01 for a, b in zip(measured, measured[1:])), measured
    assert measured[-1] < measured[0] - 0.03, measured


@pytest.mark.slow
def test_warm_start_carries_the_perturbation_to_the_next_frame(encoder, gallery) -> None:
    frame = load(QUERY)
    fg = np.zeros((1, *frame.shape[:2]), bool)
    defense = AdversarialPPEDCRF(PPEDCRF(FixedSensitivity()), [DiffEncoder(encoder, gallery)],
                                 PGDParams(steps=3, codec="none"))
    defense.perturbation(frame[None], fg)
    first = defense.last_result
    defense.perturbation(frame[None], fg)             # same scene: zero flow
    second = defense.last_result
    assert first is not None and second is not None
    # the second frame starts where the first ended, not from zero
    assert second.history[0, 0] < first.history[0, 0] - 1e-3
    assert second.history[0, 0] <= first.history[-1, 0] + 1e-2


@pytest.mark.gpu
def test_cpu_and_cuda_agree(encoder, gallery) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here")
    from geoprivacy.attacks.retrieval.encoders import load_encoder

    frame = load(QUERY)
    bound = np.full(frame.shape[:2], 4 / 255, np.float32)[None]
    params = PGDParams(steps=0, codec="approx")
    cpu = pgd([DiffEncoder(encoder, gallery)], frame[None], bound, params, device="cpu")
    gpu_enc = load_encoder("efficientnet-lite0", image_size=ENCODER_SIZE, device="cuda")
    gpu = pgd([DiffEncoder(gpu_enc, gallery)], frame[None], bound, params, device="cuda")
    # the same starting loss (fp16 autocast on CUDA: loose tolerance)
    assert abs(float(cpu.history[0, 0]) - float(gpu.history[0, 0])) < 2e-2
    params = PGDParams(steps=4, step=0.25, codec="approx")
    cpu = pgd([DiffEncoder(encoder, gallery)], frame[None], bound, params, device="cpu")
    gpu = pgd([DiffEncoder(gpu_enc, gallery)], frame[None], bound, params, device="cuda")
    assert abs(float(cpu.privacy[-1, 0]) - float(gpu.privacy[-1, 0])) < 5e-2


def test_factory_builds_what_the_protect_options_ask_for(encoder, gallery) -> None:
    from geoprivacy.defenses.ppedcrf.adversarial import ppedcrf_factory
    from geoprivacy.defenses.ppedcrf.distill import DistilledSensitivity
    from geoprivacy.errors import GeoprivacyError

    sens = FixedSensitivity()
    adv = ppedcrf_factory(encoder, gallery, sens, {"noise": "adversarial", "epsilon": 2.0,
                                                   "steps": 3, "alpha": 0.8}, "cpu",
                          positions())()
    assert isinstance(adv, AdversarialPPEDCRF)
    assert adv.params.epsilon == pytest.approx(2 / 255) and adv.params.steps == 3
    assert adv.base.alpha == 0.8 and adv.base.sensitivity is sens
    assert len(adv.encoders) == 1 and adv.encoders[0].gallery is not None
    assert adv.encoders[0].positions is not None
    plain = ppedcrf_factory(encoder, gallery, sens, {"train_sens": 4, "sigma0": 6.0}, "cpu")()
    assert isinstance(plain, PPEDCRF) and plain.sigma0 == 6.0
    assert isinstance(plain.sensitivity, DistilledSensitivity)
    assert plain.sensitivity.train_frames == 4
    with pytest.raises(GeoprivacyError):
        ppedcrf_factory(encoder, gallery, sens, {"noise": "uniform"}, "cpu")


def test_with_positions_the_loss_separates_the_attackers_place_from_the_rest(encoder,
                                                                             gallery) -> None:
    from geoprivacy.defenses.ppedcrf.adversarial import make_target

    frame = load(QUERY)                      # Lund: its clean top-1 is a Lund gallery photo
    x = torch.as_tensor(frame).permute(2, 0, 1)[None].float() / 255.0
    target = make_target(DiffEncoder(encoder, gallery, positions()), x, None, topk=5)
    assert target.match_mask is not None and target.other_mask is not None
    assert int(target.match_mask.sum()) == 3          # the three Lund photos, all of them
    assert int(target.other_mask.sum()) == 3          # Texas, Helsinki, Omaha
    lund = {tuple(np.round(v, 5)) for v in gallery[:3]}
    got = {tuple(np.round(v, 5)) for v in target.matches[0].numpy()}
    assert got == lund


@pytest.mark.slow
def test_protect_cli_runs_adversarial_noise_with_an_index(tmp_path, encoder, gallery) -> None:
    import json

    from click.testing import CliRunner
    from PIL import Image

    from geoprivacy.attacks.retrieval.index import GalleryIndex
    from geoprivacy.cli import main

    rows = [{"lat": float(a), "lon": float(b), "source": n, "sha256": ""}
            for n, (a, b) in zip(NAMES, positions())]
    index = tmp_path / "gallery.npz"
    GalleryIndex.build(gallery, rows, encoder.identity).save(index)
    src = tmp_path / "street.jpg"
    Image.fromarray(load(QUERY)).save(src, quality=95)
    out = tmp_path / "street.protected.jpg"
    result = CliRunner().invoke(main, [
        "protect", str(src), "-o", str(out), "--method", "ppedcrf", "--noise", "adversarial",
        "--steps", "2", "--epsilon", "6", "--index", str(index), "--no-foreground",
        "--level-weights", "0,0.5,1", "--device", "cpu", "-q", "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.output)
    (entry,) = report["results"]
    assert entry["params"]["noise"] == "adversarial" and entry["params"]["epsilon"] == 6
    assert entry["params"]["level_weights"] == [0, 0.5, 1]
    assert entry["privacy_after"]["retrieval"]["checked"]
    with Image.open(out) as im:
        assert im.size == (SIZE[0], SIZE[1])
