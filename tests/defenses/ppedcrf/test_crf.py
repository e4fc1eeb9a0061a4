"""Dynamic CRF: hand-checked inference on small grids, and tracking on a panning clip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geoprivacy.defenses.ppedcrf.crf import CRFParams, DynamicCRF, mean_field, warp


def colour_grid(h: int, w: int, value: float = 0.5) -> torch.Tensor:
    return torch.full((1, 3, h, w), value)


def test_without_pairwise_terms_marginals_are_the_unary_softmax() -> None:
    params = CRFParams(levels=3, tau=0.2, w_spatial=0.0, w_temporal=0.0)
    q = mean_field(torch.tensor([[[0.1]]]), colour_grid(1, 1), params)[0, :, 0, 0]
    # centres 1/6, 1/2, 5/6; logits −(0.1−c)²/0.08 = −0.0556, −2.0, −6.7222 (by hand);
    # exp: 0.9460, 0.1353, 0.0012 → 0.9460 / 1.0825 = 0.8739
    logits = np.array([-(0.1 - 1 / 6) ** 2, -(0.1 - 0.5) ** 2, -(0.1 - 5 / 6) ** 2]) / 0.08
    expected = np.exp(logits) / np.exp(logits).sum()
    assert np.allclose(q.numpy(), expected, atol=1e-6)
    assert expected[0] == pytest.approx(0.8739, abs=1e-4)


def test_spatial_term_pulls_an_ambiguous_cell_to_its_uniform_neighbours() -> None:
    sens = torch.full((1, 5, 5), 0.9)
    sens[0, 2, 2] = 0.45                           # on its own: the middle level
    alone = mean_field(sens, colour_grid(5, 5), CRFParams(w_spatial=0.0)).argmax(1)
    smooth = mean_field(sens, colour_grid(5, 5), CRFParams(w_spatial=2.0)).argmax(1)
    assert alone[0, 2, 2] == 1 and smooth[0, 2, 2] == 2
    assert (smooth == 2).all()


def test_spatial_term_does_not_cross_an_appearance_edge() -> None:
    sens = torch.zeros((1, 4, 6))
    sens[0, :, :3] = 0.1
    sens[0, :, 3:] = 0.9
    sens[0, :, 2] = 0.5                            # ambiguous column on the dark side
    colour = torch.zeros((1, 3, 4, 6))
    colour[0, :, :, 3:] = 1.0                      # bright right half
    labels = mean_field(sens, colour, CRFParams(w_spatial=3.0)).argmax(1)[0]
    assert (labels[:, 2] == 0).all(), "the ambiguous column follows the side it looks like"
    assert (labels[:, 3:] == 2).all()


def test_temporal_prior_holds_a_label_against_one_noisy_frame() -> None:
    params = CRFParams(w_spatial=0.0, w_temporal=2.0)
    prev = torch.zeros((1, 3, 1, 1))
    prev[0, 2] = 1.0                               # previous frame: surely high
    q = mean_field(torch.tensor([[[0.45]]]), colour_grid(1, 1), params, prior=prev)
    assert q.argmax(1).item() == 2


def test_warp_moves_maps_by_the_flow() -> None:
    maps = np.zeros((1, 4, 6), np.float32)
    maps[0, :, 1] = 1.0
    flow = np.zeros((4, 6, 2), np.float32)
    flow[..., 0] = -2.0                            # each cell came from 2 cells to the left
    assert np.allclose(warp(maps, flow)[0, :, 3], 1.0)


def panning_clip(frames: int = 12, h: int = 96, w: int = 160, step: int = 8):
    """A textured scene panning right-to-left by ``step`` px a frame, with a sensitive patch,
    and noisy sensitivity maps on a 16-px grid (plus the true shift, for scoring)."""
    rng = np.random.default_rng(0)
    world_w = w + step * frames + 32
    import cv2
    noise = rng.normal(0, 1, (h, world_w, 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 4)
    world = np.clip(128 + smooth / smooth.std() * 50, 0, 255).astype(np.uint8)
    world_sens = np.zeros((h, world_w), np.float32)
    world_sens[16:80, 96:176] = 0.85
    world_sens[:, :] += 0.15
    clips, sens = [], []
    for t in range(frames):
        x0 = t * step
        clips.append(world[:, x0:x0 + w].copy())
        s = world_sens[:, x0:x0 + w].reshape(h // 16, 16, w // 16, 16).mean(axis=(1, 3))
        sens.append(np.clip(s + rng.normal(0, 0.22, s.shape), 0, 1).astype(np.float32))
    return np.stack(clips), np.stack(sens), step / 16


def label_changes(labels: np.ndarray, shift_cells: float) -> float:
    """Share of cells whose label differs from the same scene point in the previous frame."""
    changes = []
    for t in range(1, len(labels)):
        dx = int(round(shift_cells * t)) - int(round(shift_cells * (t - 1)))
        cur, prev = labels[t][:, : labels.shape[2] - dx], labels[t - 1][:, dx:]
        changes.append(float(np.mean(cur != prev)))
    return float(np.mean(changes))


def run(clip: np.ndarray, sens: np.ndarray, params: CRFParams, warp_previous: bool) -> np.ndarray:
    crf = DynamicCRF(params, warp_previous=warp_previous)
    return np.concatenate([crf(sens[i:i + 1], clip[i:i + 1]) for i in range(len(clip))])


def test_warped_temporal_term_reduces_label_changes_on_a_panning_clip() -> None:
    clip, sens, shift = panning_clip(step=8)   # Farnebäck tracks 8 px/frame on this texture
    none = label_changes(run(clip, sens, CRFParams(w_temporal=0.0), True), shift)
    unwarped = label_changes(run(clip, sens, CRFParams(w_temporal=2.0), False), shift)
    warped = label_changes(run(clip, sens, CRFParams(w_temporal=2.0), True), shift)
    assert warped < none, (warped, none)
    assert warped < unwarped, (warped, unwarped)
