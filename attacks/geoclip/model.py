"""GeoCLIP on local files: a CLIP image backbone, GeoCLIP's image head and location encoder.

PyPI ``geoclip`` ships the location encoder, the image MLP head, the logit scale and the 100K
GPS gallery (registry entry ``geoclip``, every file hash-checked). The CLIP ViT-L/14 backbone
(``openai/clip-vit-large-patch14``, Hugging Face format: ``config.json``,
``preprocessor_config.json`` and the weights) is not shipped; it is looked up, in order, at a
path the user gives (or ``$GEOPRIVACY_CLIP_BACKBONE``), in
``$GEOPRIVACY_HOME/clip-vit-large-patch14``, and in the Hugging Face cache. It is downloaded only with ``allow_download``.

The forward pass is GeoCLIP's: L2-normalised image features (CLIP → MLP) against L2-normalised
location features of every gallery coordinate, times ``exp(logit_scale)``, softmax over the
gallery. Gallery features depend only on the location encoder, so they are computed once per
(weights, gallery) and cached under ``$GEOPRIVACY_HOME/geoclip/cache``.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from geoprivacy.errors import GeoprivacyError, ModelUnavailable

BACKBONE_REPO = "openai/clip-vit-large-patch14"
BACKBONE_DIR = "clip-vit-large-patch14"
#: Files a Hugging Face CLIP folder needs for the image tower.
BACKBONE_FILES = ("config.json", "preprocessor_config.json")
BACKBONE_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
GALLERY_FILE = "gps_gallery/coordinates_100K.csv"
MAX_GALLERY = 2_000_000
#: Gallery coordinates encoded per forward pass of the location encoder.
CHUNK = 8192


@dataclass(frozen=True)
class Prediction:
    """One candidate place with GeoCLIP's (uncalibrated) probability."""

    lat: float
    lon: float
    prob: float


def _is_backbone(folder: Path) -> bool:
    return all((folder / f).is_file() for f in BACKBONE_FILES) and \
        any((folder / w).is_file() for w in BACKBONE_WEIGHTS)


def find_backbone(path: str | os.PathLike[str] | None = None, allow_download: bool = False
                  ) -> Path:
    """The folder of a Hugging Face CLIP image backbone, or ModelUnavailable (one line)."""
    from geoprivacy.models import geoprivacy_home

    if path is None and os.environ.get("GEOPRIVACY_CLIP_BACKBONE"):
        path = os.environ["GEOPRIVACY_CLIP_BACKBONE"]
    if path is not None:
        folder = Path(path).expanduser()
        if _is_backbone(folder):
            return folder
        raise ModelUnavailable(f"GeoCLIP backbone: {folder} is not a Hugging Face CLIP folder "
                               f"(needs {', '.join(BACKBONE_FILES)} and "
                               f"{' or '.join(BACKBONE_WEIGHTS)})")
    home = geoprivacy_home() / BACKBONE_DIR
    if _is_backbone(home):
        return home
    cached = _hf_cache(local_only=True)
    if cached is not None:
        return cached
    if allow_download:
        got = _hf_cache(local_only=False)
        if got is not None:
            return got
    raise ModelUnavailable(
        f"GeoCLIP needs the CLIP ViT-L/14 backbone ({BACKBONE_REPO}, Hugging Face format): "
        f"not at {home} nor in the Hugging Face cache; pass --geoclip-backbone DIR, or allow "
        f"the download with --allow-download")


def _hf_cache(local_only: bool) -> Path | None:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    try:
        folder = Path(snapshot_download(
            BACKBONE_REPO, local_files_only=local_only,
            allow_patterns=[*BACKBONE_FILES, "model.safetensors", "tokenizer*", "vocab.json",
                            "merges.txt", "special_tokens_map.json"]))
    except Exception:  # noqa: BLE001 - huggingface_hub raises many types for "not cached/offline"
        return None
    return folder if _is_backbone(folder) else None


def read_gallery(path: str | os.PathLike[str], limit: int = MAX_GALLERY) -> np.ndarray:
    """(n, 2) float32 lat/lon from a CSV with LAT and LON columns (GeoCLIP's format)."""
    rows: list[tuple[float, float]] = []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = {(f or "").strip().upper(): f for f in reader.fieldnames or []}
            if "LAT" not in fields or "LON" not in fields:
                raise GeoprivacyError(f"gallery {path}: needs LAT and LON columns")
            for n, row in enumerate(reader):
                if n >= limit:
                    raise GeoprivacyError(f"gallery {path}: more than {limit} rows")
                lat, lon = float(row[fields["LAT"]]), float(row[fields["LON"]])
                if -90 <= lat <= 90 and -180 <= lon <= 180:
                    rows.append((lat, lon))
    except (OSError, ValueError, csv.Error) as exc:
        raise GeoprivacyError(f"gallery {path}: cannot read ({exc})") from None
    if not rows:
        raise GeoprivacyError(f"gallery {path}: no valid coordinates")
    return np.asarray(rows, dtype=np.float32)


class GeoClipModel:
    """GeoCLIP inference: ``predict(images, top_k)`` → top-k places per image."""

    def __init__(self, backbone: str | os.PathLike[str] | None = None, *,
                 weights: str | os.PathLike[str] | None = None,
                 gallery: str | os.PathLike[str] | None = None, device: str = "auto",
                 allow_download: bool = False, cache: bool = True) -> None:
        import torch
        from geoclip.model.image_encoder import _extract_image_features
        from geoclip.model.location_encoder import LocationEncoder
        from transformers import CLIPImageProcessor, CLIPModel
        from transformers.utils import logging as hf_logging

        from geoprivacy.device import pick_device
        from geoprivacy.models import file_sha256, load_torch_state, resolve_file

        self._torch = torch
        self._extract = _extract_image_features
        self.device = pick_device(device)
        files = {rel: resolve_file("geoclip", rel, weights, allow_download)
                 for rel in ("weights/image_encoder_mlp_weights.pth",
                             "weights/location_encoder_weights.pth",
                             "weights/logit_scale_weights.pth", GALLERY_FILE)}
        self.backbone_dir = find_backbone(backbone, allow_download)
        hf_logging.set_verbosity_error()      # no progress bars or notices on stderr
        hf_logging.disable_progress_bar()
        self.clip = CLIPModel.from_pretrained(str(self.backbone_dir), local_files_only=True)
        self.clip.eval().to(self.device)
        self.processor = CLIPImageProcessor.from_pretrained(str(self.backbone_dir),
                                                            local_files_only=True)
        proj = int(self.clip.config.projection_dim)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(proj, 768), torch.nn.ReLU(),
                                       torch.nn.Linear(768, 512))
        try:
            self.mlp.load_state_dict(load_torch_state(
                files["weights/image_encoder_mlp_weights.pth"]))
        except RuntimeError as exc:
            raise ModelUnavailable(f"GeoCLIP image head does not fit the backbone at "
                                   f"{self.backbone_dir} (projection {proj}, expected 768): "
                                   f"{str(exc).splitlines()[0]}") from None
        self.mlp.eval().to(self.device)
        self.location_encoder = LocationEncoder(from_pretrained=False)
        self.location_encoder.load_state_dict(load_torch_state(
            files["weights/location_encoder_weights.pth"]))
        self.location_encoder.eval().to(self.device)
        scale = torch.load(str(files["weights/logit_scale_weights.pth"]), map_location="cpu",
                           weights_only=True)
        self.logit_scale = float(torch.as_tensor(scale).reshape(-1)[0])
        gallery_path = Path(gallery) if gallery is not None else files[GALLERY_FILE]
        self.gallery = read_gallery(gallery_path)
        self._files = files
        self.info = {
            "name": "geoclip",
            "geoclip": _version("geoclip"),
            "transformers": _version("transformers"),
            "weights_sha256": {rel: file_sha256(p) for rel, p in files.items()},
            "backbone": str(self.backbone_dir),
            "backbone_sha256": _backbone_sha(self.backbone_dir),
            "gallery": str(gallery_path),
            "gallery_size": int(len(self.gallery)),
            "device": self.device,
        }
        self._gallery_features = self._load_gallery_features(gallery_path, cache)

    # -------------------------------------------------------------------- gallery features

    def _load_gallery_features(self, gallery_path: Path, cache: bool) -> Any:
        torch = self._torch
        from geoprivacy.models import file_sha256, geoprivacy_home

        key = hashlib.sha256((file_sha256(self._files["weights/location_encoder_weights.pth"])
                              + file_sha256(gallery_path)).encode()).hexdigest()[:16]
        cache_file = geoprivacy_home() / "geoclip" / "cache" / f"gallery-{key}.npy"
        feats: np.ndarray | None = None
        if cache and cache_file.is_file():
            try:
                loaded = np.load(cache_file, allow_pickle=False)
                if loaded.shape == (len(self.gallery), 512):
                    feats = loaded.astype(np.float32)
            except (OSError, ValueError):
                feats = None
        if feats is None:
            out = []
            with torch.inference_mode():
                for start in range(0, len(self.gallery), CHUNK):
                    loc = torch.from_numpy(self.gallery[start:start + CHUNK]).to(self.device)
                    f = torch.nn.functional.normalize(self.location_encoder(loc), dim=1)
                    out.append(f.float().cpu().numpy())
            feats = np.concatenate(out)
            if cache:
                _save_npy(cache_file, feats.astype(np.float16))
        return torch.from_numpy(feats).to(self.device)

    # -------------------------------------------------------------------- inference

    def image_features(self, images: Sequence[Any]) -> Any:
        """(n, 512) L2-normalised GeoCLIP image features for PIL images or RGB arrays."""
        torch = self._torch
        images = [np.array(im) if isinstance(im, np.ndarray) else im for im in images]  # writable
        pixels = self.processor(images=images, return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            x = self._extract(self.clip.get_image_features(pixel_values=pixels.to(self.device)))
            return torch.nn.functional.normalize(self.mlp(x.float()), dim=1)

    def predict(self, images: Sequence[Any], top_k: int = 5) -> list[list[Prediction]]:
        """Top-k gallery places (probability-sorted) for each image."""
        torch = self._torch
        top_k = max(1, min(int(top_k), len(self.gallery)))
        feats = self.image_features(images)
        with torch.inference_mode():
            logits = np.exp(self.logit_scale) * feats @ self._gallery_features.float().t()
            probs = logits.softmax(dim=-1)
            values, indices = torch.topk(probs, top_k, dim=1)
        out = []
        for vals, idx in zip(values.cpu().numpy(), indices.cpu().numpy()):
            out.append([Prediction(float(self.gallery[i][0]), float(self.gallery[i][1]),
                                   float(v)) for v, i in zip(vals, idx)])
        return out


def _version(dist: str) -> str | None:
    from importlib import metadata
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _backbone_sha(folder: Path) -> str | None:
    from geoprivacy.models import file_sha256
    for name in BACKBONE_WEIGHTS:
        if (folder / name).is_file():
            return file_sha256(folder / name)
    return None


def _save_npy(path: Path, array: np.ndarray) -> None:
    """Write atomically; a cache that cannot be written is only slower next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, array, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        pass
