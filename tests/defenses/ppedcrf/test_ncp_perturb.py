"""NCP weights respect the budget; PPEDCRF noise is bounded and never touches the foreground."""

from __future__ import annotations

import numpy as np
import pytest

from geoprivacy.defenses.ppedcrf.crf import CRFParams
from geoprivacy.defenses.ppedcrf.ncp import ncp_weights
from geoprivacy.defenses.ppedcrf.perturb import PPEDCRF
from geoprivacy.defenses.quality import flicker


def test_ncp_weights_max_is_alpha_and_order_follows_level() -> None:
    labels = np.array([[0, 1, 2], [2, 1, 0]])
    w = ncp_weights(labels, alpha=0.7, levels=3)
    assert w.max() == pytest.approx(0.7)
    assert (w >= 0).all() and (w <= 0.7 + 1e-6).all()
    assert w[0, 0] < w[0, 1] < w[0, 2]
    # only low levels present: the strongest present region still gets the whole α
    assert ncp_weights(np.zeros((2, 2), int), alpha=0.5).max() == pytest.approx(0.5)
    text = np.ones((2, 3))
    text[0, 0] = 1.5                                  # a text region among level-0 cells
    wt = ncp_weights(labels, alpha=1.0, levels=3, class_map=text)
    assert wt.max() == pytest.approx(1.0) and wt[0, 0] > wt[1, 2]


class FixedSensitivity:
    """A stand-in attacker sensitivity: high on the left half of the grid."""

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        n, h, w = frames.shape[0], frames.shape[1] // 16, frames.shape[2] // 16
        s = np.full((n, h, w), 0.1, np.float32)
        s[:, :, : w // 2] = 0.95
        return s


def frames(n: int = 4) -> np.ndarray:
    rng = np.random.default_rng(3)
    base = rng.integers(60, 200, (1, 64, 128, 3)).astype(np.uint8)
    return np.repeat(base, n, axis=0)


@pytest.mark.parametrize("coherent", [False, True])
def test_noise_is_zero_on_foreground_and_bounded(coherent: bool) -> None:
    batch = frames()
    fg = np.zeros(batch.shape[:3], bool)
    fg[:, 10:40, 20:50] = True
    defense = PPEDCRF(FixedSensitivity(), sigma0=8.0, alpha=1.0, coherent=coherent)
    out = defense(batch, fg, np.random.default_rng(0))
    assert (out[fg] == batch[fg]).all()
    amp = defense.amplitude(batch)
    assert amp.max() <= 8.0 * (5 / 6) + 1e-4        # σ₀ × top level centre × α
    diff = np.abs(out.astype(int) - batch.astype(int))
    left = diff[:, 45:, :60].mean()
    right = diff[:, 45:, 80:].mean()
    assert left > 2 * right > 0, "noise goes where the sensitivity is"


def test_coherent_noise_flickers_less_than_iid() -> None:
    batch = frames(6)
    fg = np.zeros(batch.shape[:3], bool)
    results = {}
    for coherent in (False, True):
        defense = PPEDCRF(FixedSensitivity(), coherent=coherent)
        out = defense(batch, fg, np.random.default_rng(0))
        results[coherent] = flicker([o.astype(int) - b.astype(int) for o, b in zip(out, batch)])
    assert results[True] < 0.6 * results[False], results


class CountingSensitivity:
    """Sensitivity that follows the sensitive patch of the panning clip, counting calls."""

    def __init__(self, world: np.ndarray) -> None:
        self.calls = 0

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        self.calls += 1
        gray = frames.mean(axis=-1)
        h, w = gray.shape[1] // 16, gray.shape[2] // 16
        cells = gray[:, : h * 16, : w * 16].reshape(len(frames), h, 16, w, 16).mean(axis=(2, 4))
        return (cells > 200).astype(np.float32)


def test_sensitivity_every_k_frames_follows_the_scene() -> None:
    from tests.defenses.ppedcrf.test_crf import panning_clip

    clip, _, _ = panning_clip(frames=7, step=8)
    clip[:, 32:64, :, :] = np.minimum(clip[:, 32:64], 150)
    for t in range(len(clip)):                    # a bright patch moving with the scene
        x = 96 - 8 * t
        clip[t, 32:64, max(0, x):max(0, x + 48)] = 255
    sens = CountingSensitivity(clip)
    defense = PPEDCRF(sens, sensitivity_every=3, grain=1)
    defense.amplitude(clip)
    assert sens.calls == 3                         # frames 0, 3, 6
    carried = defense.last_sensitivity[2]           # frame 2: warped from frame 0
    fresh = sens(clip[2:3])[0]
    assert np.abs(carried - fresh).mean() < np.abs(defense.last_sensitivity[0] - fresh).mean()


def test_level_weights_put_the_whole_budget_on_the_most_sensitive_level() -> None:
    x = frames(1)
    spread = PPEDCRF(FixedSensitivity()).amplitude(x)[0]
    top_only = PPEDCRF(FixedSensitivity(), level_weights=(0.0, 0.0, 1.0)).amplitude(x)[0]
    assert spread[:, 80:].max() > 0                      # the default spreads some to the rest
    assert top_only[:, 80:].max() == 0                   # (0,0,1): nothing outside the top level
    assert top_only[:, :48].max() == pytest.approx(spread[:, :48].max())
    with pytest.raises(ValueError, match="level weights"):
        PPEDCRF(FixedSensitivity(), level_weights=(1.0, 2.0))
    with pytest.raises(ValueError, match="level weights"):
        PPEDCRF(FixedSensitivity(), level_weights=(0.0, 0.0, 0.0))
