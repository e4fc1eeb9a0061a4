"""Deterministic test media: geo-tagged JPEGs and a tiny open_clip model."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

TINY_ARCH = "tiny-geoprivacy-test"
TINY_CONFIG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8,
                   "head_width": 16},
    "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1},
}


def _dms(value: float) -> tuple:
    from PIL.TiffImagePlugin import IFDRational

    value = abs(value)
    deg = int(value)
    minutes = int((value - deg) * 60)
    seconds = Fraction((value - deg - minutes / 60) * 3600).limit_denominator(10_000)
    return (IFDRational(deg, 1), IFDRational(minutes, 1),
            IFDRational(seconds.numerator, seconds.denominator))


def geotagged_jpeg(path: Path, lat: float, lon: float, seed: int, size: int = 96) -> Path:
    """A JPEG of smooth random colour blobs (seeded) with EXIF GPS at (lat, lon)."""
    rng = np.random.default_rng(seed)
    small = (rng.random((6, 6, 3)) * 255).astype("uint8")
    image = Image.fromarray(small).resize((size, size), Image.BICUBIC)
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N" if lat >= 0 else "S", 2: _dms(lat), 3: "E" if lon >= 0 else "W",
                4: _dms(lon)})
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, exif=exif, quality=95)
    return path


def tiny_open_clip(folder: Path, seed: int = 0) -> Path:
    """A randomly initialised tiny open_clip model saved as a local checkpoint + its config."""
    import open_clip
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    config = folder / f"{TINY_ARCH}.json"
    config.write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(str(config))
    torch.manual_seed(seed)
    model = open_clip.create_model(TINY_ARCH, pretrained=None)
    checkpoint = folder / f"seed{seed}.pt"
    # the encoder looks for ARCH.json beside the checkpoint
    torch.save(model.state_dict(), checkpoint)
    return checkpoint
