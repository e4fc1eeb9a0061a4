"""Per-pixel location sensitivity, derived from the retrieval attacker itself.

The paper trains a sensitivity network on masks nobody ships; instead we ask the attacker:
the gradient of its similarity to its top gallery matches (or, without a gallery, to the
frame's own embedding) with respect to the input, pooled over regions. Pixels whose change
moves the match most are the ones that reveal the place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class AttackerSensitivity:
    """Gradient-based sensitivity of a torch image encoder (the retrieval attacker's).

    ``encoder`` has ``.model`` (timm, with ``forward_features``), ``.pooling`` ('gap'|'gem'|'ms'),
    ``.image_size`` and ``.device``. ``gallery`` (k×D, L2-normalised) are the vectors the
    attacker would match; when None the frame's own embedding is the target.
    """

    def __init__(self, encoder: Any, gallery: np.ndarray | None = None, topk: int = 5,
                 region: int = 16, probes: int = 2) -> None:
        import torch

        self.encoder, self.topk, self.region, self.probes = encoder, topk, region, probes
        self.device = getattr(encoder, "device", "cpu")
        self.gallery = None if gallery is None else \
            torch.as_tensor(np.asarray(gallery, np.float32), device=self.device)

    def embed(self, x: Any) -> Any:
        """Differentiable embedding of a (N,3,H,W) batch in [0, 1]."""
        import torch
        import torch.nn.functional as F

        size = int(getattr(self.encoder, "image_size", 224))
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
        fmap = self.encoder.model.forward_features((x - mean) / std)
        if getattr(self.encoder, "pooling", "gap") == "gap":
            vec = fmap.mean(dim=(2, 3))
        else:
            vec = fmap.clamp(min=1e-6).pow(3.0).mean(dim=(2, 3)).pow(1.0 / 3.0)
        return F.normalize(vec, dim=1)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """(N, H/region, W/region) sensitivity in [0, 1] for RGB uint8 frames (N, H, W, 3)."""
        import torch
        import torch.nn.functional as F

        pixels = torch.as_tensor(np.array(frames), device=self.device)
        x = pixels.permute(0, 3, 1, 2).float() / 255.0
        x.requires_grad_(True)
        emb = self.embed(x)
        if self.gallery is not None and len(self.gallery):
            sims = emb @ self.gallery.T
            k = min(self.topk, sims.shape[1])
            (grad,) = torch.autograd.grad(sims.topk(k, dim=1).values.sum(), x)
            mag = grad.abs().sum(dim=1, keepdim=True)                      # (N,1,H,W)
        else:
            # No gallery: how strongly each pixel moves the embedding at all, estimated as the
            # mean |∂(emb·v)/∂x| over fixed random unit directions v (a Jacobian-norm probe).
            gen = torch.Generator().manual_seed(0)
            mag = torch.zeros_like(x[:, :1])
            for i in range(self.probes):
                v = F.normalize(torch.randn(emb.shape, generator=gen), dim=1).to(emb.device)
                (grad,) = torch.autograd.grad((emb * v).sum(), x,
                                              retain_graph=i < self.probes - 1)
                mag = mag + grad.abs().sum(dim=1, keepdim=True)
        pooled = F.avg_pool2d(mag, self.region, self.region, ceil_mode=True)[:, 0]
        return normalise(pooled.detach().cpu().numpy())


def normalise(maps: np.ndarray, low: float = 5.0, high: float = 99.0) -> np.ndarray:
    """Per-frame robust scaling to [0, 1] (percentiles, so one hot pixel cannot dominate)."""
    out = np.empty_like(maps, dtype=np.float32)
    for i, m in enumerate(maps):
        lo, hi = np.percentile(m, [low, high])
        out[i] = np.clip((m - lo) / (hi - lo), 0, 1) if hi > lo else 0.0
    return out


def with_priors(sens: np.ndarray, prior: np.ndarray | None, weight: float = 0.5) -> np.ndarray:
    """Raise sensitivity where cues say the place shows (text, signs): max(s, weight·prior)."""
    if prior is None:
        return sens
    return np.maximum(sens, weight * prior).astype(np.float32)
