"""``--train-sens``: distil the gradient-based sensitivity into a small conv net, per video.

The attacker sensitivity (``sensitivity.AttackerSensitivity``) needs a forward and a backward
pass of the retrieval encoder per frame. ``DistilledSensitivity`` asks it for the first
``train_frames`` frames of the input, fits a small fully-convolutional student (four stride-2
convolutions, ~20 k parameters, output at 1/16 resolution like the teacher's regions) to those
maps, and from then on answers with one cheap forward pass of the student. The student only
has to reproduce *this* video's sensitivity, which is why a tiny network fitted in a few
seconds is enough.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def student_net(width: int = 16) -> Any:
    """Image (N,3,H,W) in [0,1] → sensitivity logits at 1/16 resolution (N,1,H/16,W/16)."""
    import torch.nn as nn

    layers: list[Any] = []
    chans = [3, width, width * 2, width * 2, width * 2]
    for cin, cout in zip(chans[:-1], chans[1:]):
        layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.BatchNorm2d(cout),
                   nn.ReLU(inplace=True)]
    layers += [nn.Conv2d(chans[-1], chans[-1], 3, padding=1), nn.ReLU(inplace=True),
               nn.Conv2d(chans[-1], 1, 1)]
    return nn.Sequential(*layers)


@dataclass
class DistilledSensitivity:
    """A sensitivity callable (frames (N,H,W,3) uint8 → (N,h,w) in [0,1]) that learns the
    teacher on the first frames it sees and replaces it afterwards."""

    teacher: Any
    train_frames: int = 16
    steps: int = 150
    lr: float = 3e-3
    device: str = "cpu"
    seed: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._frames: list[np.ndarray] = []
        self._maps: list[np.ndarray] = []
        self._net: Any = None

    @property
    def trained(self) -> bool:
        return self._net is not None

    def _tensor(self, frames: np.ndarray) -> Any:
        import torch

        x = torch.as_tensor(np.ascontiguousarray(frames), device=self.device)
        return x.permute(0, 3, 1, 2).float() / 255.0

    def fit(self) -> float:
        """Train the student on the collected (frame, teacher map) pairs; returns the final
        mean absolute error on them."""
        import torch
        import torch.nn.functional as F

        torch.manual_seed(self.seed)
        start = time.perf_counter()
        net = student_net().to(self.device)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        x = self._tensor(np.stack(self._frames))
        y = torch.as_tensor(np.stack(self._maps), device=self.device)[:, None].float()
        net.train()
        for _ in range(self.steps):
            pred = F.interpolate(net(x), size=y.shape[-2:], mode="bilinear", align_corners=False)
            loss = F.binary_cross_entropy_with_logits(pred, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            pred = torch.sigmoid(F.interpolate(net(x), size=y.shape[-2:], mode="bilinear",
                                               align_corners=False))
            mae = float((pred - y).abs().mean())
        self._net = net
        self.stats.update(train_seconds=round(time.perf_counter() - start, 3),
                          train_frames=len(self._frames), train_mae=round(mae, 4))
        self._frames, self._maps = [], []
        return mae

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        from geoprivacy.defenses.ppedcrf.sensitivity import normalise

        if self._net is None:
            maps = self.teacher(frames)
            self._frames.extend(frames)
            self._maps.extend(maps)
            if len(self._frames) >= self.train_frames:
                self.fit()
            return maps
        h, w = frames.shape[1:3]
        region = int(getattr(self.teacher, "region", 16))
        size = (-(-h // region), -(-w // region))
        with torch.no_grad():
            logits = self._net(self._tensor(frames))
            out = torch.sigmoid(F.interpolate(logits, size=size, mode="bilinear",
                                              align_corners=False))[:, 0]
        return normalise(out.cpu().numpy())
