"""Scene: home interior, other interior, residential, street, landmark or nature.

Back-end ``imagenet-scene`` (offline, always available with the vision extra): the ImageNet
classifier of the registry's EfficientNet-Lite0 (the retrieval encoder; its ``_fc`` head maps
onto timm's ``classifier``), with the documented mapping below from ImageNet classes to scenes.
A scene's score is the share of the probability mass that falls on mapped classes; when less
than ``MIN_MAPPED_MASS`` falls on any mapped class the scene is unclear (``not_checked``).

The mapping is a heuristic: ImageNet labels objects, not places, so a couch means a home, a
streetcar a street, a palace a landmark. Every class named here is checked against timm's
ImageNet class list (tests/cues/test_scene.py).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from geoprivacy.cues.base import Detection, as_rgb, module_available, register

#: Scene → ImageNet classes (first synonym of timm's ImageNet description).
SCENE_CLASSES: dict[str, tuple[str, ...]] = {
    "home": ("studio couch", "four-poster", "crib", "cradle", "bassinet", "quilt", "pillow",
             "wardrobe", "chiffonier", "china cabinet", "bookcase", "entertainment center",
             "home theater", "television", "desk", "dining table", "rocking chair",
             "folding chair", "table lamp", "lampshade", "window shade", "shower curtain",
             "bathtub", "tub", "washbasin", "toilet seat", "medicine chest", "dishwasher",
             "refrigerator", "microwave", "stove", "vacuum", "iron", "washer", "radiator",
             "bannister", "doormat"),
    "indoor": ("library", "restaurant", "barbershop", "bakery", "toyshop", "grocery store",
               "bookshop", "butcher shop", "confectionery", "shoe shop", "tobacco shop",
               "prison", "altar", "stage", "theater curtain"),
    "residential": ("patio", "picket fence", "mailbox", "lawn mower", "birdhouse", "worm fence",
                    "chainlink fence", "greenhouse", "boathouse", "sliding door", "window screen",
                    "swing", "pot", "mobile home", "barn"),
    "street": ("streetcar", "traffic light", "street sign", "parking meter", "cab", "trolleybus",
               "minibus", "police van", "moving van", "school bus", "passenger car",
               "garbage truck", "tow truck", "trailer truck", "minivan", "pickup", "jeep",
               "convertible", "sports car", "limousine", "beach wagon", "motor scooter", "moped",
               "mountain bike", "bicycle-built-for-two", "ambulance", "fire engine",
               "recreational vehicle", "manhole cover"),
    "landmark": ("palace", "castle", "church", "mosque", "stupa", "triumphal arch", "obelisk",
                 "monastery", "bell cote", "dome", "suspension bridge", "steel arch bridge",
                 "viaduct", "megalith", "totem pole", "planetarium", "beacon", "water tower",
                 "fountain", "pier", "cinema"),
    "nature": ("alp", "cliff", "coral reef", "geyser", "lakeside", "promontory", "sandbar",
               "seashore", "valley", "volcano", "rapeseed", "daisy"),
}
SCENES = tuple(SCENE_CLASSES)
#: Scenes that mean "where someone lives": the ``residential`` cue.
RESIDENTIAL_SCENES = frozenset({"home", "residential"})
MIN_MAPPED_MASS = 0.1
IMAGE_SIZE = 224


def imagenet_names() -> list[str]:
    """timm's 1000 ImageNet-1k descriptions, first synonym, lower case."""
    from timm.data import ImageNetInfo
    info = ImageNetInfo()
    return [info.index_to_description(i).split(",")[0].strip().lower() for i in range(1000)]


def class_indices(names: Sequence[str] | None = None) -> dict[str, list[int]]:
    """Scene → ImageNet indices; a mapped name missing from the list is an error."""
    names = list(names) if names is not None else imagenet_names()
    index: dict[str, int] = {}
    for i, n in enumerate(names):
        index.setdefault(n, i)
    out: dict[str, list[int]] = {}
    missing = []
    for scene, classes in SCENE_CLASSES.items():
        out[scene] = []
        for c in classes:
            if c in index:
                out[scene].append(index[c])
            else:
                missing.append(c)
    if missing:
        raise ValueError(f"scene mapping names unknown ImageNet classes: {', '.join(missing)}")
    return out


def scores_from_probs(probs: np.ndarray, indices: dict[str, list[int]]) -> list[Detection]:
    """One Detection per scene: its share of the mapped mass (detail: the raw mass)."""
    mass = {scene: float(probs[idx].sum()) for scene, idx in indices.items()}
    total = sum(mass.values())
    out = []
    for scene, m in mass.items():
        share = m / total if total >= MIN_MAPPED_MASS else 0.0
        out.append(Detection(scene, share, None, {"mass": round(m, 4)}))
    return sorted(out, key=lambda d: -d.score)


def aggregate(per_frame: Sequence[Sequence[Detection]]) -> tuple[str, float, dict[str, float]]:
    """The scene of a photo or video: mean score per scene over frames, best first."""
    sums: dict[str, float] = {}
    for dets in per_frame:
        for d in dets:
            sums[d.label] = sums.get(d.label, 0.0) + d.score
    n = max(1, len(per_frame))
    scores = {k: round(v / n, 4) for k, v in sorted(sums.items(), key=lambda kv: -kv[1])}
    if not scores:
        return "unknown", 0.0, {}
    label = next(iter(scores))
    return label, scores[label], scores


class ImageNetSceneDetector:
    """EfficientNet-Lite0 ImageNet logits → scene scores via ``SCENE_CLASSES``."""

    def __init__(self, device: str = "cpu", weights: str | None = None) -> None:
        from geoprivacy.attacks.retrieval.encoders import TimmEncoder
        self._encoder = TimmEncoder("efficientnet-lite0", pooling="gap", image_size=IMAGE_SIZE,
                                    device=device, weights=weights)
        self._indices = class_indices()
        self.name = "imagenet-scene"
        ident = self._encoder.identity
        self.model: dict[str, Any] = {"name": "efficientnet-lite0",
                                      "sha256": ident.weights_sha256,
                                      "mapping": "geoprivacy.cues.scene.SCENE_CLASSES"}

    def probabilities(self, image: np.ndarray) -> np.ndarray:
        import torch
        from PIL import Image

        from geoprivacy.attacks.retrieval.encoders import IMAGENET_MEAN, IMAGENET_STD
        rgb = Image.fromarray(as_rgb(image)).resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)
        arr = (np.asarray(rgb, np.float32) / 255.0 - np.array(IMAGENET_MEAN, np.float32)) / \
            np.array(IMAGENET_STD, np.float32)
        x = torch.from_numpy(arr.transpose(2, 0, 1)[None].copy()).to(self._encoder.device)
        with torch.inference_mode():
            logits = self._encoder.model(x)
        return logits.softmax(dim=-1)[0].float().cpu().numpy()

    def detect(self, image: np.ndarray) -> list[Detection]:
        return scores_from_probs(self.probabilities(image), self._indices)


def _imagenet_available() -> bool:
    from geoprivacy.models import check
    return module_available("torch", "timm") and check("efficientnet-lite0").ok


register("imagenet-scene", "scene: ImageNet classes of EfficientNet-Lite0 mapped to scenes",
         lambda: ImageNetSceneDetector(), _imagenet_available)
