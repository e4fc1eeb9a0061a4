"""The detector interface every cue back-end implements, and their registry.

A back-end (YOLO people, SSDLite COCO objects, CenterFace faces, Haar plates, OCR text, scene
classifier) is one module with a ``Detector``: ``detect(rgb) -> list[Detection]``. Back-ends are
plugins (name, extra, cheap ``available()``, lazy ``load()``): heavy imports and weights happen in
``load()`` only. ``geoprivacy.cues.providers`` turns detections into cue values for the risk engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from geoprivacy.registry import Plugin, Registry


@dataclass(frozen=True)
class Detection:
    """One thing found in one image: a label, a score in [0, 1] and a pixel box (x1, y1, x2, y2)."""

    label: str
    score: float
    box: tuple[float, float, float, float] | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "score": round(float(self.score), 4)}
        if self.box is not None:
            out["box"] = [round(float(v), 1) for v in self.box]
        if self.detail:
            out["detail"] = dict(self.detail)
        return out


class Detector(Protocol):
    """What a cue back-end's ``load()`` returns."""

    name: str
    model: dict[str, Any]      # what ran: model name, file, sha256, library version

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Detections in an RGB uint8 image of shape (H, W, 3)."""
        ...


DETECTORS: Registry[Detector] = Registry("cue detector", entry_point_group="geoprivacy.detectors")


def register(name: str, description: str, load: Any, available: Any, extra: str = "vision"
             ) -> None:
    DETECTORS.register(Plugin(name, description, load, extra=extra, available=available))


def as_rgb(image: np.ndarray) -> np.ndarray:
    """A contiguous uint8 (H, W, 3) view of ``image`` (gray and RGBA accepted)."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {arr.shape}")
    if arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def module_available(*modules: str) -> bool:
    """True when every module can be found (without importing it)."""
    from importlib.util import find_spec
    try:
        return all(find_spec(m) is not None for m in modules)
    except (ImportError, ValueError):
        return False


def model_info(name: str, path: Any, library: str | None = None) -> dict[str, Any]:
    """What the run report records for a model: name, file, sha256 and library version."""
    from importlib import metadata
    from pathlib import Path

    from geoprivacy.models import file_sha256
    info: dict[str, Any] = {"name": name}
    if path is not None:
        p = Path(path)
        info["file"] = str(p)
        if p.is_file():
            info["sha256"] = file_sha256(p)
    if library:
        try:
            info["library"] = f"{library} {metadata.version(library)}"
        except metadata.PackageNotFoundError:
            info["library"] = library
    return info
