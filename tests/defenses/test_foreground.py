"""Foreground masks between detections follow objects that move."""

from __future__ import annotations

import numpy as np

from geoprivacy.cues.base import Detection
from geoprivacy.defenses.protect.foreground import ForegroundMasker


class _Walker:
    """A fake detector: one 40×80 person whose box moves 3 px right per frame."""

    def __init__(self) -> None:
        self.frame = 0
        self.calls = 0

    def detect(self, frame: np.ndarray) -> list[object]:
        self.calls += 1
        x = 100 + 3 * self.frame
        return [Detection(label="person", score=0.9, box=(x, 50, x + 40, 130))]


def _run(masker: ForegroundMasker, walker: _Walker, n: int) -> list[float]:
    """Share of the true box covered by the mask, per frame."""
    covered = []
    for i in range(n):
        walker.frame = i
        mask = masker.masks(np.zeros((1, 200, 400, 3), np.uint8), [i])[0]
        x = 100 + 3 * i
        covered.append(float(mask[50:130, x:x + 40].mean()))
    return covered


def test_reused_boxes_grow_so_a_walker_stays_covered() -> None:
    walker = _Walker()
    covered = _run(ForegroundMasker(walker, ("person",), every=5), walker, 10)
    assert walker.calls == 2                       # frames 0 and 5 only
    assert min(covered) == 1.0


def test_a_fixed_margin_would_lose_the_walker() -> None:
    walker = _Walker()
    covered = _run(ForegroundMasker(walker, ("person",), every=5, grow=0.0), walker, 10)
    assert min(covered) < 1.0                      # what the growth is for
