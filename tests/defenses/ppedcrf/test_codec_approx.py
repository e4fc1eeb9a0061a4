"""The differentiable JPEG approximation is close to Pillow's JPEG and passes gradients."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from geoprivacy.defenses.ppedcrf.codec_approx import (JPEGApprox, RealJPEG, pil_jpeg,  # noqa: E402
                                                      quality_tables)
from tests.corpus import SHARED_DATA  # noqa: E402

PHOTO = SHARED_DATA / "retrieval" / "gallery" / "lund_02.jpg"


def photo(size: tuple[int, int] = (200, 150)) -> np.ndarray:
    from PIL import Image

    if not PHOTO.is_file():
        pytest.skip(f"shared photo missing: {PHOTO}")
    with Image.open(PHOTO) as im:
        return np.asarray(im.convert("RGB").resize(size, Image.BILINEAR)).copy()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse))


def to_tensor(img: np.ndarray) -> "torch.Tensor":
    return torch.as_tensor(img).permute(2, 0, 1)[None].float() / 255.0


def to_uint8(x: "torch.Tensor") -> np.ndarray:
    return (x[0].permute(1, 2, 0).detach().numpy() * 255).round().clip(0, 255).astype(np.uint8)


def test_quality_tables_follow_libjpeg_scaling() -> None:
    luma50, chroma50 = quality_tables(50)
    assert luma50[0, 0] == 16 and chroma50[0, 0] == 17    # q=50 is the standard table
    luma100, _ = quality_tables(100)
    assert (luma100 == 1).all()
    luma90, _ = quality_tables(90)
    assert luma90[0, 0] == 3 and luma90[7, 7] == 20       # floor((99·20 + 50) / 100)


def test_quality_tables_match_the_tables_pillow_writes() -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(photo((32, 32))).save(buf, "JPEG", quality=90)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        tables = im.quantization
    luma, chroma = quality_tables(90)
    # Pillow lists the tables in zig-zag order; compare as sorted multisets of entries.
    assert sorted(tables[0]) == sorted(luma.ravel().astype(int).tolist())
    assert sorted(tables[1]) == sorted(chroma.ravel().astype(int).tolist())


@pytest.mark.parametrize("quality", [75, 90, 95])
def test_approximation_is_close_to_pillow_jpeg(quality: int) -> None:
    img = photo()          # 200×150: not a multiple of 16, so padding is exercised too
    real = pil_jpeg(img, quality)
    approx = to_uint8(JPEGApprox(quality)(to_tensor(img)))
    assert psnr(approx, real) > 30.0
    # and it really compresses: closer to the JPEG than the input is to the JPEG
    assert psnr(approx, real) > psnr(img, real)


@pytest.mark.parametrize("rounding", ["ste", "soft"])
def test_approximation_is_differentiable(rounding: str) -> None:
    x = to_tensor(photo((64, 48))).requires_grad_(True)
    out = JPEGApprox(90, rounding=rounding)(x)
    weights = torch.linspace(0, 1, out.numel()).view_as(out)
    (grad,) = torch.autograd.grad((out * weights).sum(), x)
    assert torch.isfinite(grad).all()
    assert grad.abs().sum() > 0
    assert grad.shape == x.shape


def test_real_jpeg_forward_is_pillow_and_gradient_is_identity() -> None:
    img = photo((64, 48))
    x = to_tensor(img).requires_grad_(True)
    out = RealJPEG(90)(x)
    assert (to_uint8(out) == pil_jpeg(img, 90)).all()
    (grad,) = torch.autograd.grad(out.sum(), x)
    assert torch.allclose(grad, torch.ones_like(grad))
