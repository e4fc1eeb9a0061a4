"""Image-quality measures between original and protected frames: PSNR, SSIM, flicker."""

from __future__ import annotations

import numpy as np


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (8-bit); inf for identical images."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def ssim(a: np.ndarray, b: np.ndarray, sigma: float = 1.5) -> float:
    """Mean SSIM on luma with a Gaussian window (Wang et al. 2004 constants).

    Written here rather than pulling scikit-image (~40 MB) in for one formula.
    """
    from scipy.ndimage import gaussian_filter

    def luma(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float64)
        return x if x.ndim == 2 else x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114

    x, y = luma(a), luma(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = gaussian_filter(x, sigma), gaussian_filter(y, sigma)
    sxx = gaussian_filter(x * x, sigma) - mx * mx
    syy = gaussian_filter(y * y, sigma) - my * my
    sxy = gaussian_filter(x * y, sigma) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return float(np.mean(num / den))


def flicker(perturbations: list[np.ndarray]) -> float:
    """Mean absolute frame-to-frame change of the perturbation (0–255 scale).

    Re-seeded i.i.d. noise flickers; noise attached to tracked regions does not.
    """
    if len(perturbations) < 2:
        return 0.0
    diffs = [float(np.mean(np.abs(b.astype(np.float32) - a.astype(np.float32))))
             for a, b in zip(perturbations, perturbations[1:])]
    return float(np.mean(diffs))
