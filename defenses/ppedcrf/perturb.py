"""Bounded background noise: σ₀ × sensitivity × NCP weight, zero on the foreground.

Two noise sources: i.i.d. Gaussian re-drawn every frame (the paper's), and a temporally
coherent field that is carried along with the scene by optical flow and refreshed slowly
(n_t = ρ·warp(n_{t−1}) + √(1−ρ²)·fresh, unit variance kept), which flickers far less.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geoprivacy.defenses.ppedcrf.crf import CRFParams, DynamicCRF, dense_flow, level_centres
from geoprivacy.defenses.ppedcrf.ncp import DEFAULT_LEVEL_WEIGHTS, ncp_weights

WORK_WIDTH = 512   # frames are analysed at this width; noise is applied at full size
FLOW_WIDTH = 256   # optical flow width: 4x cheaper than WORK_WIDTH, finer than the CRF grid


def upsample(grid: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    return cv2.resize(grid.astype(np.float32), (shape[1], shape[0]),
                      interpolation=cv2.INTER_LINEAR)


def cell_shape(shape: tuple[int, int], grain: int) -> tuple[int, int]:
    """(rows, cols) of ``grain``-pixel noise cells covering an (H, W) frame."""
    return -(-shape[0] // max(1, grain)), -(-shape[1] // max(1, grain))


def noise_field(shape: tuple[int, int], grain: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance Gaussian noise (h, w, 3) made of ``grain``-pixel cells.

    Cells at the attacker's working scale survive its resize (a 1080p frame is shrunk ~3× before
    the encoder sees it, which averages pixel-sized noise away).
    """
    import cv2

    h, w = shape
    small = rng.standard_normal((*cell_shape(shape, grain), 3)).astype(np.float32)
    if grain <= 1:
        return small
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


class CoherentNoise:
    """A unit-variance Gaussian field of noise cells that follows the scene between frames.

    The field lives on the cell grid (one value per ``grain``-pixel cell), so carrying it by
    the flow costs 1/grain² of a full-resolution warp; callers upsample it once.
    """

    def __init__(self, rho: float = 0.9, flow_scale: int = 4, grain: int = 1) -> None:
        self.rho, self.flow_scale, self.grain = rho, flow_scale, grain
        self._prev: np.ndarray | None = None
        self._prev_gray: np.ndarray | None = None

    def cells(self, frame: np.ndarray, rng: np.random.Generator,
              flow: np.ndarray | None = None) -> np.ndarray:
        """The next field on the cell grid (rows, cols, 3); ``flow`` (current → previous, any
        resolution) saves computing one."""
        import cv2

        h, w = frame.shape[:2]
        ch, cw = cell_shape((h, w), self.grain)
        fresh = rng.standard_normal((ch, cw, 3)).astype(np.float32)
        small = None
        if flow is None:
            small = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY),
                               (max(8, w // self.flow_scale), max(8, h // self.flow_scale)),
                               interpolation=cv2.INTER_AREA)
        if self._prev is None or self._prev.shape != fresh.shape or \
                (flow is None and (self._prev_gray is None or self._prev_gray.shape != small.shape)):
            noise = fresh
        else:
            if flow is None:
                flow = dense_flow(self._prev_gray, small)
            scale = cw / flow.shape[1]
            flow = cv2.resize(flow, (cw, ch), interpolation=cv2.INTER_AREA) * scale
            gx, gy = np.meshgrid(np.arange(cw, dtype=np.float32), np.arange(ch, dtype=np.float32))
            interp = cv2.INTER_NEAREST if self.grain > 1 else cv2.INTER_LINEAR
            carried = cv2.remap(self._prev, gx + flow[..., 0], gy + flow[..., 1], interp,
                                borderMode=cv2.BORDER_REFLECT)
            noise = self.rho * carried + np.sqrt(1 - self.rho ** 2) * fresh
            # Interpolation shrinks variance a little; renormalise to unit variance.
            noise /= max(1e-6, float(noise.std()))
        self._prev, self._prev_gray = noise, small
        return noise

    def __call__(self, frame: np.ndarray, rng: np.random.Generator,
                 flow: np.ndarray | None = None) -> np.ndarray:
        """The next field at the frame's size (h, w, 3)."""
        import cv2

        cells = self.cells(frame, rng, flow)
        if self.grain <= 1:
            return cells
        h, w = frame.shape[:2]
        return cv2.resize(cells, (w, h), interpolation=cv2.INTER_NEAREST)


@dataclass
class PPEDCRF:
    """The PPEDCRF defense as a streaming frame-batch callable (see defenses.baselines)."""

    sensitivity: Any                       # frames (N,H,W,3) uint8 -> (N,h,w) in [0,1]
    sigma0: float = 8.0
    alpha: float = 1.0
    #: NCP raw weight per sensitivity level, low to high (see ncp.ncp_weights); (0, 0, 1)
    #: spends the whole budget on the most sensitive level.
    level_weights: tuple[float, ...] = DEFAULT_LEVEL_WEIGHTS
    coherent: bool = True
    crf_params: CRFParams = field(default_factory=CRFParams)
    device: str = "cpu"
    warp_previous: bool = True
    sensitivity_every: int = 5             # attacker passes; the map is flow-warped between
    #: Noise cell size in pixels (see noise_field); None: the attacker's scale, i.e. the frame
    #: width over the encoder's input size (about 3 for a 1024-px photo, 5 at 1080p).
    grain: int | None = None
    last_labels: np.ndarray | None = field(default=None, init=False)
    last_sensitivity: np.ndarray | None = field(default=None, init=False)
    last_flows: list[np.ndarray | None] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        weights = tuple(float(w) for w in self.level_weights)
        if weights != DEFAULT_LEVEL_WEIGHTS and (
                len(weights) != self.crf_params.levels or min(weights) < 0 or max(weights) <= 0):
            raise ValueError(f"level weights {weights}: need {self.crf_params.levels} values "
                             "≥ 0, at least one above 0 (one per sensitivity level, low to high)")
        self.level_weights = weights
        self._crf = DynamicCRF(self.crf_params, self.device, self.warp_previous)
        self._noise: CoherentNoise | None = None
        self._count = 0
        self._sens_cache: np.ndarray | None = None
        self._prev_gray: np.ndarray | None = None

    def _encoder_size(self) -> int:
        encoder = getattr(self.sensitivity, "encoder", None)
        return int(getattr(encoder, "image_size", 0) or 384)

    def _work_frames(self, frames: np.ndarray) -> np.ndarray:
        import cv2

        h, w = frames.shape[1:3]
        if w <= WORK_WIDTH:
            return frames
        size = (WORK_WIDTH, max(16, int(round(h * WORK_WIDTH / w))))
        return np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])

    def amplitude(self, frames: np.ndarray) -> np.ndarray:
        """(N, H, W) noise standard deviation per pixel, before the foreground is zeroed."""
        return np.stack([upsample(g, frames.shape[1:3]) for g in self.amplitude_grid(frames)])

    def amplitude_grid(self, frames: np.ndarray) -> np.ndarray:
        """(N, h, w) noise standard deviation per CRF region (the analysis grid)."""
        import cv2

        from geoprivacy.defenses.ppedcrf.crf import flow_to_grid, warp

        small = self._work_frames(frames)
        sens = []
        flows: list[np.ndarray | None] = []     # one flow per frame serves every tracker
        for k in range(len(small)):
            gray = cv2.cvtColor(small[k], cv2.COLOR_RGB2GRAY)
            if gray.shape[1] > FLOW_WIDTH:
                gray = cv2.resize(gray, (FLOW_WIDTH, max(8, round(gray.shape[0] * FLOW_WIDTH
                                                                  / gray.shape[1]))),
                                  interpolation=cv2.INTER_AREA)
            flow = dense_flow(self._prev_gray, gray) if self._prev_gray is not None and \
                self._prev_gray.shape == gray.shape else None
            flows.append(flow)
            if self._sens_cache is None or flow is None or \
                    (self._count + k) % self.sensitivity_every == 0:
                self._sens_cache = self.sensitivity(small[k:k + 1])[0]
            else:   # between attacker passes, carry the map along with the scene
                grid = flow_to_grid(flow, self._sens_cache.shape)
                self._sens_cache = warp(self._sens_cache[None], grid)[0]
            self._prev_gray = gray
            sens.append(self._sens_cache)
        self._count += len(small)
        self.last_flows = flows
        s = np.stack(sens)
        labels = self._crf(s, small, flows)
        self.last_labels, self.last_sensitivity = labels, s
        weights = self.ncp(labels)
        level_s = level_centres(self.crf_params.levels)[labels]
        return (self.sigma0 * level_s * weights).astype(np.float32)

    def ncp(self, labels: np.ndarray) -> np.ndarray:
        """Normalised control penalty weights for CRF label maps, with this defense's α and
        level weights."""
        return ncp_weights(labels, self.alpha, self.crf_params.levels,
                           base=tuple(self.level_weights))

    def __call__(self, frames: np.ndarray, fg: np.ndarray, rng: np.random.Generator
                 ) -> np.ndarray:
        """Protected frames: noise σ₀ × level × NCP on the background, the foreground exact.

        The noise is drawn on the grain's cell grid and multiplied by the amplitude there;
        one nearest-neighbour upsample and one saturating add touch full-resolution pixels.
        """
        import cv2

        grid = self.amplitude_grid(frames)
        h, w = frames.shape[1:3]
        grain = self.grain or max(1, round(w / self._encoder_size()))
        ch, cw = cell_shape((h, w), grain)
        if self.coherent and (self._noise is None or self._noise.grain != grain):
            self._noise = CoherentNoise(grain=grain)
        out = np.empty_like(frames)
        for i, frame in enumerate(frames):
            noise = self._noise.cells(frame, rng, self.last_flows[i]) \
                if self._noise is not None else rng.standard_normal((ch, cw, 3)).astype(np.float32)
            amp = cv2.resize(grid[i], (cw, ch), interpolation=cv2.INTER_AREA
                             if grid[i].shape[1] > cw else cv2.INTER_LINEAR)
            pert = np.rint(amp[..., None] * noise).astype(np.int16)
            pert = cv2.resize(pert, (cw * grain, ch * grain), interpolation=cv2.INTER_NEAREST)
            pert = np.ascontiguousarray(pert[:h, :w])
            pert[fg[i]] = 0        # the foreground is exactly the input
            out[i] = cv2.add(frame, pert, dtype=cv2.CV_8U)   # saturates to 0..255
        return out
