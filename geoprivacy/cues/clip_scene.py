"""Scene by CLIP zero-shot: image-text similarity against a few prompts per scene.

Runs when a Hugging Face CLIP folder with its tokenizer is on disk: the one GeoCLIP uses
(``$GEOPRIVACY_HOME/clip-vit-large-patch14``, the Hugging Face cache) or the folder named by
``$GEOPRIVACY_CLIP_BACKBONE``. Nothing is downloaded. Otherwise the scene cue falls back to the
ImageNet mapping in ``geoprivacy.cues.scene``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from geoprivacy.cues.base import Detection, as_rgb, module_available, register

#: Scene → prompts; a scene's score is the softmax mass of its prompts.
PROMPTS: dict[str, tuple[str, ...]] = {
    "home": ("a photo of a living room", "a photo of a bedroom", "a photo of a kitchen",
             "a photo taken inside someone's home"),
    "indoor": ("a photo of an office", "a photo inside a shop", "a photo inside a restaurant",
               "a photo of a public building interior"),
    "residential": ("a photo of a house in a residential street", "a photo of a back garden",
                    "a photo of a front yard and driveway"),
    "street": ("a photo of a city street", "a photo of a road with cars",
               "a photo of a busy downtown street"),
    "landmark": ("a photo of a famous landmark", "a photo of a famous monument",
                 "a photo of a tourist attraction"),
    "nature": ("a photo of mountains", "a photo of a forest", "a photo of a beach",
               "a photo of a lake in nature"),
}
ENV = "GEOPRIVACY_CLIP_BACKBONE"


def find_clip(path: str | os.PathLike[str] | None = None) -> Any:
    """A CLIP folder with a tokenizer, or ModelUnavailable."""
    from pathlib import Path

    from geoprivacy.attacks.geoclip.model import find_backbone
    from geoprivacy.errors import ModelUnavailable
    folder = find_backbone(path or os.environ.get(ENV) or None)
    if not any((folder / f).is_file() for f in ("tokenizer.json", "vocab.json")):
        raise ModelUnavailable(f"CLIP at {folder} has no tokenizer (tokenizer.json or vocab.json)")
    return Path(folder)


class ClipSceneDetector:
    """One Detection per scene: the share of the prompt softmax its prompts take."""

    def __init__(self, path: str | os.PathLike[str] | None = None, device: str = "cpu") -> None:
        import torch
        from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel
        from transformers.utils import logging as hf_logging

        from geoprivacy.attacks.geoclip.model import _backbone_sha
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        folder = find_clip(path)
        self._torch = torch
        self._clip = CLIPModel.from_pretrained(str(folder), local_files_only=True).eval()
        self._clip.to(device)
        self._processor = CLIPImageProcessor.from_pretrained(str(folder), local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self._scenes = [s for s, ps in PROMPTS.items() for _ in ps]
        prompts = [p for ps in PROMPTS.values() for p in ps]
        tokens = tokenizer(prompts, padding=True, return_tensors="pt")
        with torch.inference_mode():
            text = _features(self._clip.get_text_features(
                input_ids=tokens["input_ids"].to(device),
                attention_mask=tokens["attention_mask"].to(device)))
            self._text = torch.nn.functional.normalize(text.float(), dim=1)
        self._device = device
        self._scale = float(self._clip.logit_scale.exp())
        self.name = "clip-scene"
        self.model = {"name": f"clip:{folder.name}", "file": str(folder),
                      "sha256": _backbone_sha(folder), "prompts": "geoprivacy.cues.clip_scene"}

    def detect(self, image: np.ndarray) -> list[Detection]:
        torch = self._torch
        pixels = self._processor(images=[np.array(as_rgb(image))],
                                 return_tensors="pt")["pixel_values"].to(self._device)
        with torch.inference_mode():
            img = torch.nn.functional.normalize(
                _features(self._clip.get_image_features(pixel_values=pixels)).float(), dim=1)
            probs = (self._scale * img @ self._text.t()).softmax(dim=-1)[0].cpu().numpy()
        mass: dict[str, float] = {}
        for scene, p in zip(self._scenes, probs):
            mass[scene] = mass.get(scene, 0.0) + float(p)
        return sorted((Detection(s, m) for s, m in mass.items()), key=lambda d: -d.score)


def _features(output: Any) -> Any:
    from geoclip.model.image_encoder import _extract_image_features
    return _extract_image_features(output)


def _available() -> bool:
    if not module_available("torch", "transformers", "geoclip"):
        return False
    from geoprivacy.errors import ModelUnavailable
    try:
        find_clip()
    except ModelUnavailable:
        return False
    return True


register("clip-scene", "scene: CLIP zero-shot (a local Hugging Face CLIP with tokenizer)",
         lambda: ClipSceneDetector(), _available)
