"""Baseline pixel defenses, all acting on the background only (foreground kept bit-exact).

Each takes a batch of RGB frames (N×H×W×3 uint8), the foreground masks (N×H×W bool, True
where an object must stay detectable) and a numpy Generator, and returns the new batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Defense = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


def _background_only(frames: np.ndarray, changed: np.ndarray, fg: np.ndarray) -> np.ndarray:
    out = changed.astype(np.uint8, copy=False)
    keep = fg[..., None]
    return np.where(keep, frames, out)


@dataclass(frozen=True)
class Blur:
    """Gaussian blur of the background (OpenCV; sigma in pixels at 1080p, scaled to size)."""

    sigma: float = 8.0

    def __call__(self, frames: np.ndarray, fg: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import cv2

        scale = frames.shape[1] / 1080.0
        sigma = max(0.5, self.sigma * scale)
        blurred = np.stack([cv2.GaussianBlur(f, (0, 0), sigma) for f in frames])
        return _background_only(frames, blurred, fg)


@dataclass(frozen=True)
class Mosaic:
    """Pixelate the background into blocks of ``block`` pixels (at 1080p, scaled to size)."""

    block: int = 24

    def __call__(self, frames: np.ndarray, fg: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import cv2

        n, h, w, _ = frames.shape
        block = max(2, int(round(self.block * h / 1080.0)))
        small = (max(1, w // block), max(1, h // block))
        mosaic = np.stack([cv2.resize(cv2.resize(f, small, interpolation=cv2.INTER_AREA), (w, h),
                                      interpolation=cv2.INTER_NEAREST) for f in frames])
        return _background_only(frames, mosaic, fg)


@dataclass(frozen=True)
class GlobalNoise:
    """i.i.d. Gaussian noise of ``sigma`` (0–255 scale) on the WHOLE frame: the naive baseline."""

    sigma: float = 8.0

    def __call__(self, frames: np.ndarray, fg: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noise = rng.normal(0.0, self.sigma, frames.shape).astype(np.float32)
        return np.clip(frames.astype(np.float32) + noise, 0, 255).round().astype(np.uint8)


@dataclass(frozen=True)
class WhiteNoiseMask:
    """Replace the background with uniform white noise: maximal privacy, minimal quality."""

    def __call__(self, frames: np.ndarray, fg: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noise = rng.integers(0, 256, frames.shape, dtype=np.uint8)
        return _background_only(frames, noise, fg)


BASELINES: dict[str, Callable[..., Defense]] = {
    "blur": Blur,
    "mosaic": Mosaic,
    "noise": GlobalNoise,
    "mask": WhiteNoiseMask,
}
