"""Adversarial PPEDCRF: background noise optimised against the retrieval attacker.

Calibrated Gaussian noise only blurs the attacker's view; here the noise is chosen by projected
gradient descent (PGD) so that the frame's embedding moves away from the gallery images the
attacker would match, at a far smaller cost in image quality.

- Budget: L∞ ≤ ε·w per pixel, where w are the NCP weights of the dynamic CRF's labels (the
  PPEDCRF machinery, composed: a ``PPEDCRF`` instance supplies sensitivity → CRF labels); zero
  on the foreground mask, so detected objects are untouched pixel for pixel.
- Objective (minimised, untargeted): a soft maximum (logsumexp, T = 0.05) of the embedding's
  similarity to the clean frame's top-k gallery matches, so the attacker's top-1 comes down,
  plus its cosine to the clean embedding (the only term without a gallery). When the gallery's
  positions are known (from the index), the matches are every gallery image within 25 km of the
  attacker's clean top-1, minus a soft maximum over the most similar images elsewhere: the
  margin the attacker's answer needs (no place is targeted). Several encoders (``--ensemble``)
  add their terms.
- Foreground: the pixels inside boxes are never changed, but a detector also looks at context,
  so a SURROGATE term keeps the encoder backbone's last feature map inside the foreground
  (mask downsampled to feature resolution) close to the clean one. It is not the detector's own
  output; the benchmark measures the second detector's mAP on the decoded output instead.
- Publishing: every PGD step sees the frame through a codec (``codec_approx.JPEGApprox``, or
  real Pillow JPEG with straight-through gradients), so the noise is shaped to survive it.
- Steps are accepted only when they do not raise the loss (else the step is halved and retried
  from the best point), so the attacker's similarity is non-increasing across steps.
- Temporal coherence: each frame starts from the previous frame's perturbation warped by
  optical flow (``crf.grid_flow``/``crf.warp``), chained through the batch, so the batch is
  optimised at once on the device and the noise follows the scene.
- PGD runs at ``work_width`` (default 1024 px; the CRF labels come from PPEDCRF at 512); it is
  upsampled to full size and clipped again to ε·w there. Mixed precision (autocast) on CUDA.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geoprivacy.defenses.ppedcrf.crf import grid_flow, warp
from geoprivacy.defenses.ppedcrf.perturb import PPEDCRF, upsample
from geoprivacy.errors import GeoprivacyError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MS_SCALES = (1.0, 0.7071, 0.5)


@dataclass(frozen=True)
class PGDParams:
    """PGD settings. ``step`` is the step as a share of each pixel's own bound."""

    epsilon: float = 4 / 255
    steps: int = 10
    step: float | None = None          # default max(0.1, 2.5 / steps)
    topk: int = 5
    own_weight: float = 0.5            # weight of cos(emb, clean emb) when a gallery is given
    fg_weight: float = 0.1             # weight of the foreground feature-preservation surrogate
    codec: str = "approx"              # approx | real | none
    quality: int = 90
    work_width: int = 1024
    tolerance: float = 1e-4
    temperature: float = 0.05          # soft maximum over the clean top-k matches


class DiffEncoder:
    """A retrieval encoder (timm, ``attacks.retrieval.encoders.TimmEncoder``) as a
    differentiable function, resizing with antialiasing like the attacker's Pillow resize."""

    def __init__(self, encoder: Any, gallery: np.ndarray | None = None,
                 positions: np.ndarray | None = None) -> None:
        import torch

        if not hasattr(encoder, "model") or not hasattr(encoder.model, "forward_features"):
            raise GeoprivacyError("adversarial noise needs a timm encoder (efficientnet-lite0/2)")
        self.encoder = encoder
        self.device = getattr(encoder, "device", "cpu")
        for p in encoder.model.parameters():
            p.requires_grad_(False)
        self.gallery = None if gallery is None or len(gallery) == 0 else \
            torch.as_tensor(np.asarray(gallery, np.float32), device=self.device)
        # (k, 2) lat/lon of the gallery rows: lets the loss push away from every gallery image
        # near the attacker's clean estimate, not only from the nearest few vectors.
        self.positions = None if positions is None or self.gallery is None else \
            np.asarray(positions, np.float64).reshape(-1, 2)

    @property
    def name(self) -> str:
        ident = getattr(self.encoder, "identity", None)
        return getattr(ident, "encoder", "encoder")

    def embed(self, x: Any) -> tuple[Any, Any]:
        """(L2-normalised vectors (N,D), last feature map at full scale) of (N,3,H,W) in [0,1]."""
        import torch
        import torch.nn.functional as F

        size = int(getattr(self.encoder, "image_size", 224))
        pooling = getattr(self.encoder, "pooling", "gap")
        mean = torch.tensor(IMAGENET_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        total, first = None, None
        for scale in (MS_SCALES if pooling == "ms" else (1.0,)):
            s = max(32, int(round(size * scale / 32)) * 32)
            xs = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False,
                               antialias=True)
            fmap = self.encoder.model.forward_features((xs - mean) / std)
            first = fmap if first is None else first
            fmap = fmap.float()
            vec = fmap.mean(dim=(2, 3)) if pooling == "gap" else \
                fmap.clamp(min=1e-6).pow(3.0).mean(dim=(2, 3)).pow(1.0 / 3.0)
            vec = F.normalize(vec, dim=1)
            total = vec if total is None else total + vec
        return F.normalize(total, dim=1), first


@dataclass
class Target:
    """What one encoder's loss pushes away from, fixed from the clean frames."""

    clean: Any                 # (N, D) clean embeddings
    matches: Any | None        # (N, k, D) clean top-k gallery vectors, or None
    match_mask: Any | None     # (N, k) which of ``matches`` are real (padding is False)
    others: Any | None         # (N, m, D) gallery vectors far from the clean estimate
    other_mask: Any | None     # (N, m)
    fmap: Any                  # (N, C, h, w) clean feature map
    fg: Any | None             # (N, 1, h, w) foreground share per feature cell, or None


def make_target(enc: DiffEncoder, x: Any, fg: Any, topk: int) -> Target:
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        emb, fmap = enc.embed(x)
        matches = match_mask = others = other_mask = None
        if enc.gallery is not None and enc.positions is not None:
            matches, match_mask, others, other_mask = split_by_place(
                enc, emb.float() @ enc.gallery.T)
        elif enc.gallery is not None:
            sims = emb.float() @ enc.gallery.T
            idx = sims.topk(min(topk, sims.shape[1]), dim=1).indices
            matches = enc.gallery[idx]
        cells = None
        if fg is not None and bool(fg.any()):
            cells = F.adaptive_avg_pool2d(fg, fmap.shape[-2:])
    return Target(emb.detach(), matches, match_mask, others, other_mask, fmap.detach(), cells)


def split_by_place(enc: DiffEncoder, sims: Any, cap: int = 64, km: float = 25.0
                   ) -> tuple[Any, Any, Any, Any]:
    """Per frame: the gallery vectors within ``km`` of the clean top-1's place (the attacker's
    answer) and the most similar ones elsewhere, each up to ``cap``, padded with masks."""
    import torch

    from geoprivacy.geo import haversine_km

    assert enc.gallery is not None and enc.positions is not None
    order = sims.argsort(dim=1, descending=True).cpu().numpy()
    pos_rows, neg_rows = [], []
    for row in order:
        lat0, lon0 = enc.positions[row[0]]
        near = np.array([haversine_km(lat0, lon0, a, b) <= km for a, b in enc.positions[row]])
        pos_rows.append(row[near][:cap])
        neg_rows.append(row[~near][:cap])

    def pack(rows: list[np.ndarray]) -> tuple[Any, Any]:
        width = max(1, max(len(r) for r in rows))
        idx = np.zeros((len(rows), width), np.int64)
        mask = np.zeros((len(rows), width), bool)
        for i, r in enumerate(rows):
            idx[i, :len(r)], mask[i, :len(r)] = r, True
        return (enc.gallery[torch.as_tensor(idx, device=sims.device)],
                torch.as_tensor(mask, device=sims.device))

    return (*pack(pos_rows), *pack(neg_rows))


def loss_terms(enc: DiffEncoder, target: Target, x: Any, params: PGDParams) -> tuple[Any, Any]:
    """Per-frame (privacy loss, foreground surrogate loss), both (N,)."""
    import torch

    emb, fmap = enc.embed(x)
    own = (emb * target.clean).sum(dim=1)
    t = params.temperature
    if target.matches is not None:
        sims = (target.matches @ emb[:, :, None])[..., 0]
        if target.match_mask is not None:
            sims = sims.masked_fill(~target.match_mask, -1e4)
        # A soft maximum: the attacker's top-1 is what must come down, whichever match it is.
        priv = t * torch.logsumexp(sims / t, dim=1) + params.own_weight * own
        if target.others is not None and bool(target.other_mask.any()):
            far = (target.others @ emb[:, :, None])[..., 0].masked_fill(~target.other_mask, -1e4)
            # minus a soft maximum over places elsewhere: the margin the attacker's vote needs
            priv = priv - t * torch.logsumexp(far / t, dim=1)
    else:
        priv = own
    if target.fg is None:
        return priv, priv.new_zeros(priv.shape)
    diff = ((fmap.float() - target.fmap.float()) ** 2).mean(dim=1, keepdim=True)
    scale = (target.fmap.float() ** 2).mean(dim=(1, 2, 3), keepdim=True).clamp(min=1e-6)
    fg = target.fg
    fgl = (diff / scale * fg).sum(dim=(1, 2, 3)) / fg.sum(dim=(1, 2, 3)).clamp(min=1e-6)
    return priv, fgl


@dataclass
class PGDResult:
    delta: np.ndarray          # (N, h, w, 3) float32 on the [0, 1] scale
    history: np.ndarray        # (steps + 1, N) accepted total loss per step
    privacy: np.ndarray        # (steps + 1, N) accepted privacy loss per step


def pgd(encoders: list[DiffEncoder], frames: np.ndarray, bound: np.ndarray, params: PGDParams,
        fg: np.ndarray | None = None, init: np.ndarray | None = None,
        device: str = "cpu") -> PGDResult:
    """Optimise δ for (N,h,w,3) uint8 ``frames`` under the per-pixel ``bound`` (N,h,w) on the
    [0,1] scale; ``init`` (N,h,w,3) warm-starts it. Batched; autocast on CUDA."""
    import contextlib

    import torch

    from geoprivacy.defenses.ppedcrf.codec_approx import make_codec

    codec = make_codec(params.codec, params.quality)
    x = torch.as_tensor(np.array(frames, np.uint8), device=device).permute(0, 3, 1, 2)
    x = x.float() / 255.0
    b = torch.as_tensor(bound, device=device, dtype=torch.float32)[:, None]
    fgt = None if fg is None else torch.as_tensor(fg, device=device, dtype=torch.float32)[:, None]
    delta = torch.zeros_like(x) if init is None else \
        torch.as_tensor(init, device=device, dtype=torch.float32).permute(0, 3, 1, 2)
    delta = torch.maximum(torch.minimum(delta, b), -b)
    cuda = str(device).startswith("cuda")
    amp = torch.autocast("cuda", dtype=torch.float16) if cuda else contextlib.nullcontext()
    with amp:
        clean = codec(x) if codec is not None else x
        targets = [make_target(e, clean, fgt, params.topk) for e in encoders]
    step = params.step if params.step is not None else max(0.1, 2.5 / max(1, params.steps))
    n = x.shape[0]
    scale = torch.full((n, 1, 1, 1), float(step), device=device)
    best_loss = torch.full((n,), float("inf"), device=device)
    best_priv = torch.full((n,), float("inf"), device=device)
    best_delta, best_grad = delta.clone(), torch.zeros_like(delta)
    history, privacy = [], []
    for it in range(params.steps + 1):
        d = delta.clone().requires_grad_(True)
        with amp:
            xa = (x + d).clamp(0, 1)
            if codec is not None:
                xa = codec(xa)
            priv = x.new_zeros(n)
            fgl = x.new_zeros(n)
            for enc, tgt in zip(encoders, targets):
                p, f = loss_terms(enc, tgt, xa, params)
                priv, fgl = priv + p.float(), fgl + f.float()
            loss = (priv + params.fg_weight * fgl) / len(encoders)
        (grad,) = torch.autograd.grad(loss.sum(), d) if it < params.steps else (None,)
        with torch.no_grad():
            better = loss.detach() <= best_loss + params.tolerance
            keep = better.view(n, 1, 1, 1)
            best_delta = torch.where(keep, delta, best_delta)
            if grad is not None:
                best_grad = torch.where(keep, grad.float(), best_grad)
            best_priv = torch.where(better, priv.detach() / len(encoders), best_priv)
            best_loss = torch.where(better, loss.detach(), best_loss)
            scale = torch.where(keep, scale, scale * 0.5)
            history.append(best_loss.cpu().numpy())
            privacy.append(best_priv.cpu().numpy())
            if it == params.steps:
                break
            delta = best_delta - scale * b * best_grad.sign()
            delta = torch.maximum(torch.minimum(delta, b), -b)
            delta = (x + delta).clamp(0, 1) - x          # stay a valid image
    out = best_delta.permute(0, 2, 3, 1).float().cpu().numpy()
    return PGDResult(out, np.stack(history), np.stack(privacy))


def resize_to(frames: np.ndarray, width: int) -> np.ndarray:
    import cv2

    h, w = frames.shape[1:3]
    if w <= width:
        return frames
    size = (width, max(16, int(round(h * width / w))))
    return np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])


@dataclass
class AdversarialPPEDCRF:
    """Streaming defense ``(frames uint8 N×H×W×3, fg bool N×H×W, rng) -> frames`` with
    PGD-optimised background noise bounded by ε × PPEDCRF's NCP weights."""

    base: PPEDCRF                       # supplies sensitivity → CRF labels (state per input)
    encoders: list[DiffEncoder]
    params: PGDParams = field(default_factory=PGDParams)
    device: str = "cpu"
    warm_start: bool = True
    last_result: PGDResult | None = field(default=None, init=False)
    last_bound: np.ndarray | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._prev_delta: np.ndarray | None = None
        self._prev_gray: np.ndarray | None = None

    def weights(self, small: np.ndarray) -> np.ndarray:
        """(N, h, w) NCP weights on the region grid, from PPEDCRF's sensitivity and CRF."""
        self.base.amplitude(small)
        labels = self.base.last_labels
        assert labels is not None
        return np.stack([self.base.ncp(lab) for lab in labels])

    def _init(self, small: np.ndarray) -> np.ndarray | None:
        """Warm start: the previous perturbation carried by optical flow, chained."""
        import cv2

        if not self.warm_start or self._prev_delta is None \
                or self._prev_delta.shape[:2] != small.shape[1:3]:
            return None
        prev, prev_gray = self._prev_delta, self._prev_gray
        out = []
        for frame in small:
            gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
            flow = grid_flow(prev_gray, gray, gray.shape)
            prev = warp(prev.transpose(2, 0, 1), flow).transpose(1, 2, 0)
            prev_gray = gray
            out.append(prev)
        return np.stack(out).astype(np.float32)

    def perturbation(self, frames: np.ndarray, fg: np.ndarray) -> np.ndarray:
        """(N,H,W,3) float32 δ on the 0–255 scale: |δ| ≤ 255·ε·w, zero on ``fg``."""
        import cv2

        small = resize_to(frames, self.params.work_width)
        h, w = small.shape[1:3]
        fg_small = np.stack([cv2.resize(m.astype(np.uint8), (w, h),
                                        interpolation=cv2.INTER_NEAREST) for m in fg]) > 0
        grids = self.weights(small)
        weights = np.stack([upsample(g, (h, w)) for g in grids])
        bound = self.params.epsilon * weights * ~fg_small
        result = pgd(self.encoders, small, bound.astype(np.float32), self.params,
                     fg=fg_small if fg_small.any() else None, init=self._init(small),
                     device=self.device)
        self.last_result = result
        self._prev_delta = result.delta[-1]
        self._prev_gray = cv2.cvtColor(small[-1], cv2.COLOR_RGB2GRAY)
        full_h, full_w = frames.shape[1:3]
        out = np.empty(frames.shape, np.float32)
        bounds = np.empty(frames.shape[:3], np.float32)
        for i in range(len(frames)):
            bounds[i] = 255.0 * self.params.epsilon * upsample(grids[i], (full_h, full_w))
            bounds[i][fg[i]] = 0.0
            d = 255.0 * cv2.resize(result.delta[i], (full_w, full_h),
                                   interpolation=cv2.INTER_LINEAR)
            out[i] = np.clip(d, -bounds[i][..., None], bounds[i][..., None])
        self.last_bound = bounds
        return out

    def __call__(self, frames: np.ndarray, fg: np.ndarray, rng: np.random.Generator
                 ) -> np.ndarray:
        delta = self.perturbation(frames, fg)
        # Round to whole levels, never past the (floored) bound, so the published pixel
        # stays within ε·w of the input.
        assert self.last_bound is not None
        cap = np.floor(self.last_bound + 1e-4)[..., None]
        step = np.clip(np.round(delta), -cap, cap)
        out = np.clip(frames.astype(np.float32) + step, 0, 255).astype(np.uint8)
        out[fg] = frames[fg]
        return out


def build_encoders(names: list[str], primary: Any, gallery: np.ndarray | None,
                   device: str, positions: np.ndarray | None = None) -> list[DiffEncoder]:
    """The attacker's encoder (with its gallery) plus any other ensemble members by name
    (those push away from their own clean embedding)."""
    from geoprivacy.attacks.retrieval.encoders import load_encoder

    encoders = [DiffEncoder(primary, gallery, positions)]
    have = {encoders[0].name}
    for name in names:
        name = {"lite0": "efficientnet-lite0", "lite2": "efficientnet-lite2"}.get(name, name)
        if name in have:
            continue
        enc = load_encoder(name, pooling=getattr(primary, "pooling", None),
                           image_size=getattr(primary, "image_size", None), device=device)
        encoders.append(DiffEncoder(enc))
        have.add(name)
    return encoders


def ppedcrf_factory(encoder: Any, gallery: np.ndarray | None, sensitivity: Any,
                    params: dict[str, Any], device: str,
                    positions: np.ndarray | None = None) -> Any:
    """A builder of fresh PPEDCRF defenses for `protect`, honouring ``noise`` (gaussian |
    adversarial), ``epsilon``, ``steps``, ``ensemble`` and ``train_sens`` (frames to distil
    the sensitivity on; 0 = off) in ``params``; the remaining keys go to ``PPEDCRF``."""
    params = dict(params)
    noise = params.pop("noise", "gaussian")
    if noise not in ("gaussian", "adversarial"):
        raise GeoprivacyError(f"unknown --noise {noise!r}; choose gaussian or adversarial")
    pgd_kw = {k: params.pop(k) for k in ("epsilon", "steps") if k in params}
    if "epsilon" in pgd_kw:
        pgd_kw["epsilon"] = float(pgd_kw["epsilon"]) / 255.0   # given on the 0–255 scale
    ensemble = [n for n in str(params.pop("ensemble", "") or "").split(",") if n.strip()]
    train_sens = int(params.pop("train_sens", 0) or 0)
    encoders = build_encoders([n.strip() for n in ensemble], encoder, gallery, device,
                              positions) \
        if noise == "adversarial" else []

    def make() -> Any:
        sens = sensitivity
        if train_sens > 0:
            from geoprivacy.defenses.ppedcrf.distill import DistilledSensitivity
            sens = DistilledSensitivity(sensitivity, train_frames=train_sens, device=device)
        base = PPEDCRF(sens, device=device, **params)
        if noise == "gaussian":
            return base
        return AdversarialPPEDCRF(base, encoders, PGDParams(**pgd_kw), device=device)

    return make


def gallery_positions(index_path: str, limit: int = 20_000) -> np.ndarray | None:
    """(k, 2) lat/lon of the rows ``protect.privacy.gallery_vectors`` returns (same sampling),
    or None when the index cannot give its vectors back."""
    from geoprivacy.attacks.retrieval.index import GalleryIndex

    index = GalleryIndex.load(index_path)
    n = index.index.ntotal
    rows = np.linspace(0, n - 1, min(n, limit)).astype(np.int64) if n > limit else np.arange(n)
    try:
        index.index.reconstruct(0)
    except RuntimeError:
        return None
    return np.stack([index.labels.lat[rows], index.labels.lon[rows]], axis=1)
