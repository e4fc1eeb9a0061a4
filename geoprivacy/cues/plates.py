"""Licence plates: a documented heuristic, not a trained plate detector.

OpenCV 4.x wheels ship two Haar cascades trained on Russian plates
(``haarcascade_russian_plate_number.xml``, ``haarcascade_licence_plate_rus_16stages.xml``).
They find many rectangular, high-contrast plates of other countries too, but miss angled or
small plates and fire on some signs and grilles. A plate-like string read by OCR
(``geoprivacy.cues.text``) is a second, independent hint. Treat "absent" from this back-end
as weak evidence; the cue's detail says which heuristic answered.
"""

from __future__ import annotations

import numpy as np

from geoprivacy.cues.base import Detection, module_available, register
from geoprivacy.cues.faces import HaarDetector

CASCADES = ("haarcascade_russian_plate_number.xml", "haarcascade_licence_plate_rus_16stages.xml")


class PlateDetector:
    """The first Haar plate cascade, with a plate's aspect ratio (wider than tall) enforced."""

    def __init__(self, cascade: str = CASCADES[0], min_neighbors: int = 4) -> None:
        self._haar = HaarDetector(cascade, "plate", min_neighbors=min_neighbors,
                                  min_size=(30, 10), max_side=1920)
        self.name = "haar-plates"
        self.model = dict(self._haar.model, heuristic=True)

    def detect(self, image: np.ndarray) -> list[Detection]:
        out = []
        for det in self._haar.detect(image):
            x1, y1, x2, y2 = det.box or (0, 0, 0, 0)
            ratio = (x2 - x1) / max(1e-6, y2 - y1)
            if 1.5 <= ratio <= 6.5:
                out.append(det)
        return out


register("haar-plates", "licence plates: OpenCV Haar cascade (heuristic)",
         lambda: PlateDetector(), lambda: module_available("cv2"))
