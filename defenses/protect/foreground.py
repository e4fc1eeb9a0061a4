"""Foreground masks: what must stay detectable (vehicles, people, lights, signs).

A detector runs on every k-th frame; the frames in between reuse its boxes, grown by a margin
that widens with every frame since the detection, so objects that move between detections
stay covered (a walker moves a few pixels a frame; a fixed margin loses them by frame 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geoprivacy.defenses.utility import Box

#: Default classes kept intact: the objects a driving or street-scene dataset is used for.
DEFAULT_CLASSES = ("person", "bicycle", "car", "motorcycle", "bus", "truck", "train",
                   "traffic light", "stop sign")


def to_boxes(detections: list[Any], classes: tuple[str, ...] | None = None) -> list[Box]:
    """Detector output (geoprivacy.cues Detection) as utility Boxes, filtered by class."""
    out = []
    for d in detections:
        if d.box is None or (classes is not None and d.label not in classes):
            continue
        x1, y1, x2, y2 = d.box
        out.append(Box(d.label, float(x1), float(y1), float(x2), float(y2), float(d.score)))
    return out


def boxes_to_mask(boxes: list[Box], shape: tuple[int, int], margin: float = 0.08) -> np.ndarray:
    """A boolean (H, W) mask covering each box grown by ``margin`` of its size."""
    h, w = shape
    mask = np.zeros((h, w), dtype=bool)
    for b in boxes:
        mx, my = (b.x2 - b.x1) * margin, (b.y2 - b.y1) * margin
        x1, y1 = max(0, int(b.x1 - mx)), max(0, int(b.y1 - my))
        x2, y2 = min(w, int(np.ceil(b.x2 + mx))), min(h, int(np.ceil(b.y2 + my)))
        mask[y1:y2, x1:x2] = True
    return mask


@dataclass
class ForegroundMasker:
    """Masks for a stream of frames from a detector run every ``every`` frames.

    A reused box grows by ``margin + grow × age`` of its size, ``age`` being frames since the
    detection.
    """

    detector: Any
    classes: tuple[str, ...] = DEFAULT_CLASSES
    every: int = 1
    margin: float = 0.08
    grow: float = 0.08
    _boxes: list[Box] | None = field(default=None, init=False, repr=False)
    _shape: tuple[int, int] | None = field(default=None, init=False, repr=False)
    _age: int = field(default=0, init=False, repr=False)
    boxes_seen: int = field(default=0, init=False)

    def boxes(self, frame: np.ndarray) -> list[Box]:
        return to_boxes(self.detector.detect(frame), self.classes)

    def masks(self, frames: np.ndarray, indices: list[int]) -> np.ndarray:
        out = np.zeros(frames.shape[:3], dtype=bool)
        for k, (frame, index) in enumerate(zip(frames, indices)):
            if self._boxes is None or index % self.every == 0 \
                    or self._shape != frame.shape[:2]:
                self._boxes, self._shape, self._age = self.boxes(frame), frame.shape[:2], 0
                self.boxes_seen += len(self._boxes)
            else:
                self._age += 1
            out[k] = boxes_to_mask(self._boxes, frame.shape[:2],
                                   self.margin + self.grow * self._age)
        return out


class NoForeground:
    """For scenes with nothing to keep (``--no-foreground``): every pixel is background."""

    detector = None
    boxes_seen = 0

    def masks(self, frames: np.ndarray, indices: list[int]) -> np.ndarray:
        return np.zeros(frames.shape[:3], dtype=bool)
