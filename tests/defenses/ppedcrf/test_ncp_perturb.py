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
