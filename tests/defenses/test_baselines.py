"""Baseline defenses change the background only, and each really changes it."""

from __future__ import annotations

import numpy as np
import pytest

from geoprivacy.defenses.baselines import BASELINES
from geoprivacy.defenses.quality import flicker, psnr, ssim


@pytest.fixture()
def frames() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = np.linspace(0, 255, 160)
    base = np.stack([np.tile(x, (120, 1))] * 3, axis=-1)
    batch = np.stack([base + rng.normal(0, 20, base.shape) for _ in range(3)])
    fg = np.zeros(batch.shape[:3], dtype=bool)
    fg[:, 30:70, 40:90] = True
    return np.clip(batch, 0, 255).astype(np.uint8), fg


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_background_only(name: str, frames: tuple[np.ndarray, np.ndarray]) -> None:
    batch, fg = frames
    out = BASELINES[name]()(batch, fg, np.random.default_rng(1))
    assert out.shape == batch.shape and out.dtype == np.uint8
    changed = np.any(out != batch, axis=-1)
    assert changed[~fg].mean() > 0.3, "the background must actually change"
    if name != "noise":  # global noise is the whole-frame baseline by definition
        assert not changed[fg].any(), "foreground pixels must stay bit-exact"


def test_quality_measures() -> None:
    a = np.full((32, 32, 3), 100, np.uint8)
    b = a.copy()
    b[0, 0, 0] = 110
    assert psnr(a, a) == float("inf")
    # mse = 100 / (32*32*3); psnr = 10 log10(255^2 / mse)
    assert psnr(a, b) == pytest.approx(10 * np.log10(255 ** 2 / (100 / 3072)))
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, np.zeros_like(a)) < 0.1
    assert flicker([np.zeros((4, 4)), np.ones((4, 4)) * 2, np.ones((4, 4)) * 2]) == 1.0
