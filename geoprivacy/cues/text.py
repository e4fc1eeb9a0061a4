"""Text in the picture: OCR with RapidOCR (PP-OCR ONNX models shipped in its wheel).

Two uses: the ``text`` cue (signs, shop fronts, house numbers: a place can be read) and the
``overlay`` attacker: dashcams and drones burn coordinates, speed, date and plate into every
frame, and coordinates read that way are exact-location Evidence (``where="overlay:text"``).
OCR of one picture is remembered (small LRU) so the cue and the attacker do not read it twice.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from geoprivacy.cues.base import Detection, as_rgb, model_info, module_available, register
from geoprivacy.cues.overlay import OverlayFacts, parse_overlay
from geoprivacy.geo import granularity_for_radius, radius_for_precision
from geoprivacy.types import Evidence, EvidenceKind

#: Longest side OCR sees; overlay text of 1080p cameras stays legible at this size.
MAX_SIDE = 1600
#: Lines read with less confidence than this are ignored.
MIN_SCORE = 0.5


class RapidOcrDetector:
    """Lines of text with their boxes; ``detail["text"]`` holds what was read."""

    def __init__(self) -> None:
        import contextlib
        import io

        from rapidocr_onnxruntime import RapidOCR
        with contextlib.redirect_stdout(io.StringIO()):
            self._engine = RapidOCR()
        self.name = "rapidocr"
        self.model = _ocr_model_info()
        self._cache: OrderedDict[str, list[Detection]] = OrderedDict()
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray) -> list[Detection]:
        rgb = as_rgb(image)
        key = hashlib.blake2b(rgb.tobytes(), digest_size=16).hexdigest() + str(rgb.shape)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return list(self._cache[key])
        import cv2
        h, w = rgb.shape[:2]
        scale = min(1.0, MAX_SIDE / max(h, w))
        small = cv2.resize(rgb, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA) \
            if scale < 1.0 else rgb
        result, _elapsed = self._engine(np.ascontiguousarray(small[:, :, ::-1]), use_cls=False)
        out = []
        for box, text, score in result or []:
            pts = np.asarray(box, dtype=float) / scale
            out.append(Detection("text", float(score), (float(pts[:, 0].min()),
                                                         float(pts[:, 1].min()),
                                                         float(pts[:, 0].max()),
                                                         float(pts[:, 1].max())),
                                 {"text": str(text)}))
        with self._lock:
            self._cache[key] = out
            while len(self._cache) > 32:
                self._cache.popitem(last=False)
        return list(out)


def _ocr_model_info() -> dict[str, Any]:
    from pathlib import Path

    import rapidocr_onnxruntime
    folder = Path(rapidocr_onnxruntime.__file__).parent / "models"
    info = model_info("rapidocr-onnxruntime", None, "rapidocr-onnxruntime")
    from geoprivacy.models import file_sha256
    info["files"] = {p.name: file_sha256(p) for p in sorted(folder.glob("*.onnx"))}
    return info


def lines_of(detections: list[Detection], min_score: float = MIN_SCORE) -> list[str]:
    """The text lines read with at least ``min_score``, top to bottom, left to right."""
    good = [d for d in detections if d.score >= min_score and d.detail.get("text")]
    good.sort(key=lambda d: ((d.box or (0, 0))[1] // 20, (d.box or (0, 0))[0]))
    return [str(d.detail["text"]) for d in good]


def overlay_evidence(facts: OverlayFacts, frame: str, confidence: float = 1.0
                     ) -> list[Evidence]:
    """Exact-location Evidence for every coordinate an overlay prints."""
    out = []
    extras = {k: v for k, v in facts.to_dict().items() if v and k != "coordinates"}
    for c in facts.coordinates:
        radius = radius_for_precision(c.step_deg)
        out.append(Evidence(
            attacker="overlay", kind=EvidenceKind.POSITION, where="overlay:text",
            lat=round(c.lat, 7), lon=round(c.lon, 7),
            radius_km=None if radius is None else round(radius, 3),
            granularity=granularity_for_radius(radius), confidence=round(confidence, 4),
            detail={"frame": frame, "matched": c.text, "form": c.form, **extras}))
    return out


class OverlayAttacker:
    """Reads burned-in overlays (OCR) on a photo or a few frames of a video."""

    name = "overlay"
    reads_pixels = True

    def __init__(self, frames: int = 3) -> None:
        self._ocr = RapidOcrDetector()
        self.frames = frames
        self.model_info = dict(self._ocr.model, attacker="overlay")

    def supports(self, container: str) -> bool:
        from geoprivacy.cues.frames import VISUAL_CONTAINERS
        return container in VISUAL_CONTAINERS

    def attack(self, item: Any) -> Any:
        from geoprivacy.attacks import AttackOutcome
        from geoprivacy.cues.frames import media_frames
        from geoprivacy.errors import GeoprivacyError

        outcome = AttackOutcome()
        try:
            frames = media_frames(item.path, item.kind, self.frames)
        except GeoprivacyError as exc:
            outcome.errors.append(str(exc))
            return outcome
        seen: set[tuple[float, float]] = set()
        for label, rgb in frames:
            dets = self._ocr.detect(rgb)
            lines = lines_of(dets)
            score = min((d.score for d in dets if d.score >= MIN_SCORE), default=0.0)
            for ev in overlay_evidence(parse_overlay(lines), label, score):
                key = (round(ev.lat or 0, 5), round(ev.lon or 0, 5))
                if key not in seen:
                    seen.add(key)
                    outcome.evidence.append(ev)
        return outcome


def _available() -> bool:
    return module_available("rapidocr_onnxruntime", "onnxruntime", "cv2")


register("rapidocr", "text: RapidOCR (PP-OCR ONNX, shipped in rapidocr-onnxruntime)",
         lambda: RapidOcrDetector(), _available)
