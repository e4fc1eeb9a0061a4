"""Normalized control penalty: spread the perturbation budget by sensitivity level and class.

Each region gets a raw weight from its sensitivity level (higher level, more noise) times a
class factor (text and signs name the place outright); weights are normalised so the largest
is exactly α (w = α·w / max w), which bounds every region's share of the budget.
"""

from __future__ import annotations

import numpy as np

DEFAULT_LEVEL_WEIGHTS = (0.2, 0.6, 1.0)
CLASS_FACTORS = {"background": 1.0, "text": 1.5, "sign": 1.5}


def level_weights(levels: int, base: tuple[float, ...] | None = None) -> np.ndarray:
    """Raw weight per level, increasing with sensitivity."""
    if base is not None and len(base) == levels:
        return np.asarray(base, dtype=np.float32)
    return np.linspace(0.2, 1.0, levels, dtype=np.float32)


def ncp_weights(labels: np.ndarray, alpha: float = 1.0, levels: int = 3,
                class_map: np.ndarray | None = None,
                base: tuple[float, ...] | None = DEFAULT_LEVEL_WEIGHTS) -> np.ndarray:
    """(…, h, w) weights in [0, α] for label maps; the maximum present weight equals α."""
    raw = level_weights(levels, base)[labels]
    if class_map is not None:
        raw = raw * class_map
    top = float(raw.max()) if raw.size else 0.0
    if top <= 0:
        return np.zeros_like(raw, dtype=np.float32)
    return (alpha * raw / top).astype(np.float32)
