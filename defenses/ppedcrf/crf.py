"""Dynamic CRF: label background regions into sensitivity levels, smooth in space and time.

Energy over a grid of regions with L ordered labels (low … high sensitivity):
- unary: how far a region's sensitivity is from each level's centre, (s − c_l)² / (2τ²);
- pairwise (Potts): neighbours that look alike (appearance) and sit close (position) prefer
  the same label;
- temporal: each region prefers the label the previous frame gave the place it came from —
  the previous frame's label marginals warped by optical flow, so regions are tracked and
  labels do not flicker when the camera pans.

Mean-field inference in torch, batched, on CPU or GPU. The paper's reference code does
``σ(unary + w_s·(avgpool(p) − p) + w_t·(p_prev − p))`` without any warp, so on a panning
camera its temporal term ties a region to whatever was at the same pixel before; warping is
what makes the temporal term track the scene (tests/defenses/ppedcrf compare both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class CRFParams:
    """Weights of the energy terms and inference settings."""

    levels: int = 3
    tau: float = 0.2            # unary width (sensitivity units)
    w_spatial: float = 2.0      # Potts weight of the appearance/position kernel
    w_temporal: float = 2.0     # weight of the warped previous marginals
    theta_color: float = 0.1    # appearance kernel width (colour in [0,1])
    theta_pos: float = 1.5      # position kernel width (grid cells)
    radius: int = 2             # neighbourhood radius (cells)
    iterations: int = 5


def level_centres(levels: int) -> np.ndarray:
    return (np.arange(levels, dtype=np.float32) + 0.5) / levels


def unary_logits(sens: Any, params: CRFParams) -> Any:
    """−U: (N, L, h, w) logits from (N, h, w) sensitivity."""
    import torch

    centres = torch.as_tensor(level_centres(params.levels), device=sens.device)
    return -((sens[:, None] - centres[None, :, None, None]) ** 2) / (2 * params.tau ** 2)


def pairwise_kernel(colour: Any, params: CRFParams) -> Any:
    """(N, K, h, w) weights to the K = (2r+1)²−1 neighbours: appearance × position Gaussian."""
    import torch
    import torch.nn.functional as F

    r = params.radius
    n, c, h, w = colour.shape
    size = 2 * r + 1
    patches = F.unfold(F.pad(colour, (r, r, r, r), mode="replicate"), size)  # (N, C·K', h·w)
    patches = patches.view(n, c, size * size, h, w)
    diff = ((patches - colour[:, :, None]) ** 2).sum(dim=1)                 # (N, K', h, w)
    dy, dx = np.meshgrid(np.arange(-r, r + 1), np.arange(-r, r + 1), indexing="ij")
    pos = torch.as_tensor(np.exp(-(dx ** 2 + dy ** 2) / (2 * params.theta_pos ** 2)).ravel(),
                          dtype=colour.dtype, device=colour.device)
    kernel = torch.exp(-diff / (2 * params.theta_color ** 2)) * pos[None, :, None, None]
    centre = (size * size) // 2
    kernel = torch.cat([kernel[:, :centre], kernel[:, centre + 1:]], dim=1)
    # Border cells see replicated neighbours; that only reinforces their own label.
    return kernel


def neighbour_sum(q: Any, kernel: Any, radius: int) -> Any:
    """Σ_j k_ij · Q_j(l) for every label: (N, L, h, w)."""
    import torch
    import torch.nn.functional as F

    n, labels, h, w = q.shape
    size = 2 * radius + 1
    patches = F.unfold(F.pad(q, (radius,) * 4, mode="replicate"), size)
    patches = patches.view(n, labels, size * size, h, w)
    centre = (size * size) // 2
    patches = torch.cat([patches[:, :, :centre], patches[:, :, centre + 1:]], dim=2)
    return (patches * kernel[:, None]).sum(dim=2)


def mean_field(sens: Any, colour: Any, params: CRFParams, prior: Any | None = None) -> Any:
    """Label marginals Q (N, L, h, w) after ``params.iterations`` mean-field updates.

    ``prior`` (N, L, h, w) are the previous frames' marginals already warped to these frames
    (or None for the first frame).
    """
    import torch

    unary = unary_logits(sens, params)
    kernel = pairwise_kernel(colour, params) if params.w_spatial else None
    q = torch.softmax(unary, dim=1)
    for _ in range(params.iterations):
        logits = unary.clone()
        if kernel is not None:
            logits = logits + params.w_spatial * neighbour_sum(q, kernel, params.radius)
        if prior is not None and params.w_temporal:
            logits = logits + params.w_temporal * prior
        q = torch.softmax(logits, dim=1)
    return q


def reference_update(sens: Any, params: CRFParams, prev: Any | None = None) -> Any:
    """The paper's reference inference, for comparison: σ(unary + w_s·(avgpool(p) − p)
    + w_t·(p_prev − p)) on a single sensitivity map, 5 iterations, no warp."""
    import torch
    import torch.nn.functional as F

    p = sens[:, None].clone()
    for _ in range(params.iterations):
        smooth = F.avg_pool2d(p, 3, 1, 1, count_include_pad=False) - p
        temporal = (prev[:, None] - p) if prev is not None else 0.0
        p = torch.sigmoid((sens[:, None] - 0.5) * 10 + params.w_spatial * smooth
                          + params.w_temporal * temporal)
    return p[:, 0]


def warp(maps: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward-warp (C, h, w) ``maps`` of the previous frame by ``flow`` (h, w, 2) that maps
    each current cell to where it came from."""
    import cv2

    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x, map_y = gx + flow[..., 0], gy + flow[..., 1]
    return np.stack([cv2.remap(m.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE) for m in maps])


def dense_flow(prev_gray: np.ndarray, gray: np.ndarray) -> np.ndarray:
    """Optical flow (OpenCV Farnebäck) from the current frame to the previous one, per pixel."""
    import cv2

    return cv2.calcOpticalFlowFarneback(gray, prev_gray, None, 0.5, 3, 15, 3, 5, 1.2, 0)


def flow_to_grid(flow: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A per-pixel flow resampled onto an (h, w) grid, in grid cells."""
    import cv2

    h, w = shape
    sy, sx = flow.shape[0] / h, flow.shape[1] / w
    small = cv2.resize(flow, (w, h), interpolation=cv2.INTER_AREA)
    small[..., 0] /= sx
    small[..., 1] /= sy
    return small


def grid_flow(prev_gray: np.ndarray, gray: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Optical flow from the current to the previous frame, on the grid."""
    return flow_to_grid(dense_flow(prev_gray, gray), shape)


class DynamicCRF:
    """Streaming CRF over a video: keeps the previous frame's marginals and grey image."""

    def __init__(self, params: CRFParams | None = None, device: str = "cpu",
                 warp_previous: bool = True) -> None:
        self.params = params or CRFParams()
        self.device = device
        self.warp_previous = warp_previous
        self._prev_q: np.ndarray | None = None
        self._prev_gray: np.ndarray | None = None

    def reset(self) -> None:
        self._prev_q = self._prev_gray = None

    def __call__(self, sens: np.ndarray, frames: np.ndarray,
                 flows: list[np.ndarray | None] | None = None) -> np.ndarray:
        """Hard labels (N, h, w) in 0..L−1 for (N, h, w) sensitivity of (N, H, W, 3) frames.

        ``flows`` (current → previous frame, per pixel of ``frames``) saves recomputing them
        when the caller has them already.
        """
        import cv2
        import torch

        n, h, w = sens.shape
        small = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames])
        colour = torch.as_tensor(small, device=self.device).permute(0, 3, 1, 2).float() / 255.0
        s = torch.as_tensor(sens, device=self.device).float()
        labels = np.empty((n, h, w), dtype=np.int64)
        for i in range(n):   # frames depend on each other through the temporal term
            gray = cv2.cvtColor(frames[i], cv2.COLOR_RGB2GRAY) if flows is None else None
            prior = None
            if self._prev_q is not None and self._prev_q.shape[1:] == (h, w):
                prev = self._prev_q
                if self.warp_previous:
                    if flows is not None:
                        flow = flows[i]
                        prev = prev if flow is None else warp(prev, flow_to_grid(flow, (h, w)))
                    elif self._prev_gray is not None and self._prev_gray.shape == gray.shape:
                        prev = warp(prev, grid_flow(self._prev_gray, gray, (h, w)))
                prior = torch.as_tensor(prev[None], device=self.device)
            q = mean_field(s[i:i + 1], colour[i:i + 1], self.params, prior)
            q_np = q[0].cpu().numpy()
            labels[i] = q_np.argmax(axis=0)
            self._prev_q, self._prev_gray = q_np, gray
        return labels
