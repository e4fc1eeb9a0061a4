"""Redact faces, licence plates and text (signs, burned-in overlays) — even inside kept boxes.

Runs after the background defense: the foreground is kept for detection, but a face, a plate
or a street sign inside a kept car or person box still identifies a person or a place.
Detectors run every ``every`` frames; boxes are reused in between, grown by a margin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: What each --anonymize / --mask-text target uses, in order of preference.
BACKENDS = {"faces": ("centerface", "haar-faces"), "plates": ("haar-plates",),
            "text": ("rapidocr",)}


def pixelate(region: np.ndarray, block: int = 12) -> np.ndarray:
    """Coarse blocks: unreadable and unrecognisable, unlike a light blur."""
    import cv2

    h, w = region.shape[:2]
    if h < 2 or w < 2:
        return region
    small = cv2.resize(region, (max(1, w // block), max(1, h // block)),
                       interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def load_backends(targets: tuple[str, ...]) -> dict[str, Any]:
    """target → loaded detector; a target with no usable back-end is a clear error."""
    from geoprivacy.cues import DETECTORS
    from geoprivacy.errors import GeoprivacyError
    from geoprivacy.registry import instantiate

    out = {}
    for target in targets:
        if target not in BACKENDS:
            raise GeoprivacyError(f"cannot anonymize {target!r}; choose faces, plates")
        names = [n for n in BACKENDS[target] if n in DETECTORS and DETECTORS.get(n).available()]
        if not names:
            raise GeoprivacyError(f"no detector for {target} is available here "
                                  f"({', '.join(BACKENDS[target])}); see `geoprivacy models check`")
        out[target] = instantiate(DETECTORS, names[0])
    return out


@dataclass
class Redactor:
    """Wraps a defense: defense first, then pixelate every detected face/plate/text box."""

    defense: Any
    detectors: dict[str, Any]
    every: int = 5
    margin: float = 0.15
    block: int = 12
    counts: dict[str, int] = field(default_factory=dict)
    _boxes: list[tuple[float, float, float, float]] = field(default_factory=list, init=False)
    _seen: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        # Forward the wrapped defense's per-input state hooks (PPEDCRF's CRF, for example).
        for name in ("_crf",):
            if hasattr(self.defense, name):
                setattr(self, name, getattr(self.defense, name))

    def _detect(self, frame: np.ndarray) -> list[tuple[float, float, float, float]]:
        boxes = []
        for target, detector in self.detectors.items():
            found = [d.box for d in detector.detect(frame) if d.box is not None]
            self.counts[target] = self.counts.get(target, 0) + len(found)
            boxes.extend(found)
        return boxes

    def __call__(self, frames: np.ndarray, fg: np.ndarray, rng: np.random.Generator
                 ) -> np.ndarray:
        out = self.defense(frames, fg, rng)
        h, w = frames.shape[1:3]
        for i, original in enumerate(frames):
            if self._seen % self.every == 0:
                self._boxes = self._detect(original)
            self._seen += 1
            for x1, y1, x2, y2 in self._boxes:
                mx, my = (x2 - x1) * self.margin, (y2 - y1) * self.margin
                a, b = max(0, int(x1 - mx)), max(0, int(y1 - my))
                c, d = min(w, int(np.ceil(x2 + mx))), min(h, int(np.ceil(y2 + my)))
                if c > a and d > b:
                    out[i, b:d, a:c] = pixelate(out[i, b:d, a:c], self.block)
        return out
