"""A differentiable JPEG-like codec, so optimised noise is shaped to survive publishing.

What it models (baseline JPEG as libjpeg/Pillow writes it at a given quality): RGB → YCbCr
(full range, BT.601), 4:2:0 chroma subsampling (2×2 mean), 8×8 orthonormal DCT, quantisation
with the IJG standard tables scaled by quality, dequantisation, inverse DCT, chroma upsampling
(bilinear, close to libjpeg's "fancy" upsampling) and YCbCr → RGB. Rounding of the quantised
coefficients is either straight-through (exact forward, identity gradient) or soft (the cubic
``round(x) + (x − round(x))³`` of Shin & Song 2017, which has a useful gradient everywhere).

``RealJPEG`` is the other option: encode with Pillow in the loop and pass gradients straight
through (forward = the real decoded file, backward = identity).

Hand-written because no installed library offers a differentiable JPEG; about 100 lines.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

#: IJG (libjpeg) standard luminance / chrominance quantisation tables, natural order.
LUMA_TABLE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float32)
CHROMA_TABLE = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99], np.float32)


def quality_tables(quality: int) -> tuple[np.ndarray, np.ndarray]:
    """(luma, chroma) 8×8 tables for a quality in 1..100, with libjpeg's scaling formula."""
    q = int(min(100, max(1, quality)))
    scale = 5000 / q if q < 50 else 200 - 2 * q
    tables = []
    for base in (LUMA_TABLE, CHROMA_TABLE):
        t = np.floor((base * scale + 50) / 100)
        tables.append(np.clip(t, 1, 255).reshape(8, 8).astype(np.float32))
    return tables[0], tables[1]


def dct_matrix() -> np.ndarray:
    """The orthonormal 8-point DCT-II matrix (rows are basis functions)."""
    k = np.arange(8)[:, None]
    n = np.arange(8)[None, :]
    m = np.cos((2 * n + 1) * k * np.pi / 16) * np.sqrt(2 / 8)
    m[0] /= np.sqrt(2)
    return m.astype(np.float32)


def round_ste(x: Any) -> Any:
    """Exact rounding forward, identity gradient backward."""
    return x + (x.round() - x).detach()


def round_soft(x: Any) -> Any:
    """Cubic soft rounding: exact at integers, gradient 3(x − round x)² + 0 elsewhere."""
    r = x.round().detach()
    return r + (x - r) ** 3


def rgb_to_ycbcr(x: Any) -> Any:
    """(N,3,H,W) RGB on the 0–255 scale → YCbCr (JPEG full range)."""
    import torch

    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    return torch.stack([y, cb, cr], dim=1)


def ycbcr_to_rgb(x: Any) -> Any:
    import torch

    y, cb, cr = x[:, 0], x[:, 1] - 128, x[:, 2] - 128
    r = y + 1.402 * cr
    g = y - 0.344136 * cb - 0.714136 * cr
    b = y + 1.772 * cb
    return torch.stack([r, g, b], dim=1)


class JPEGApprox:
    """Differentiable stand-in for JPEG at ``quality``: (N,3,H,W) in [0,1] → same shape."""

    def __init__(self, quality: int = 90, rounding: str = "ste", subsample: bool = True) -> None:
        if rounding not in ("ste", "soft"):
            raise ValueError(f"rounding must be 'ste' or 'soft', not {rounding!r}")
        self.quality, self.rounding, self.subsample = int(quality), rounding, subsample
        self._luma, self._chroma = quality_tables(quality)
        self._dct = dct_matrix()

    def _blocks(self, plane: Any, table: Any, dct: Any) -> Any:
        """Quantise and reconstruct one (N,H,W) plane (H, W multiples of 8)."""
        n, h, w = plane.shape
        blocks = (plane - 128).view(n, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4)
        coef = dct @ blocks @ dct.T
        rnd = round_ste if self.rounding == "ste" else round_soft
        coef = rnd(coef / table) * table
        rec = dct.T @ coef @ dct
        return rec.permute(0, 1, 3, 2, 4).reshape(n, h, w) + 128

    def __call__(self, x: Any) -> Any:
        import torch

        # Quantisation needs float32: fp16 (autocast) cannot hold a DC coefficient to ±0.5.
        with torch.autocast(device_type=x.device.type, enabled=False):
            return self._codec(x)

    def _codec(self, x: Any) -> Any:
        import torch
        import torch.nn.functional as F

        n, _, h, w = x.shape
        ph, pw = (-h) % 16, (-w) % 16
        v = F.pad(x * 255.0, (0, pw, 0, ph), mode="replicate") if (ph or pw) else x * 255.0
        ycc = rgb_to_ycbcr(v.float())
        dct = torch.as_tensor(self._dct, device=x.device)
        luma = torch.as_tensor(self._luma, device=x.device)
        chroma = torch.as_tensor(self._chroma, device=x.device)
        y = self._blocks(ycc[:, 0], luma, dct)
        c = ycc[:, 1:]
        if self.subsample:
            small = F.avg_pool2d(c, 2)
            sh, sw = small.shape[-2:]
            spad = F.pad(small, (0, (-sw) % 8, 0, (-sh) % 8), mode="replicate")
            rec = torch.stack([self._blocks(spad[:, i], chroma, dct) for i in range(2)], dim=1)
            c = F.interpolate(rec[..., :sh, :sw], scale_factor=2, mode="bilinear",
                              align_corners=False)
        else:
            c = torch.stack([self._blocks(c[:, i], chroma, dct) for i in range(2)], dim=1)
        out = ycbcr_to_rgb(torch.cat([y[:, None], c], dim=1))[..., :h, :w] / 255.0
        return out.clamp(0, 1).to(x.dtype)


def pil_jpeg(x: np.ndarray, quality: int) -> np.ndarray:
    """Real JPEG round trip of one (H,W,3) uint8 image with Pillow."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(x).save(buf, "JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


class RealJPEG:
    """Pillow JPEG in the loop: the forward pass sees the real decoded file; gradients pass
    straight through (the codec's Jacobian is taken to be the identity)."""

    def __init__(self, quality: int = 90) -> None:
        self.quality = int(quality)

    def __call__(self, x: Any) -> Any:
        import torch

        arr = (x.detach().float().clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1)
        dec = np.stack([pil_jpeg(a, self.quality) for a in arr.cpu().numpy()])
        real = torch.as_tensor(dec, device=x.device).permute(0, 3, 1, 2).to(x.dtype) / 255.0
        return x + (real - x).detach()


def make_codec(kind: str, quality: int = 90) -> Any:
    """'approx' (differentiable JPEG), 'real' (Pillow, straight-through) or 'none'."""
    if kind == "approx":
        return JPEGApprox(quality)
    if kind == "real":
        return RealJPEG(quality)
    if kind == "none":
        return None
    raise ValueError(f"unknown codec {kind!r}; choose approx, real or none")
