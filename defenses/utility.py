"""Detection utility: mAP@0.5 of detections on protected frames against reference boxes.

The reference is either labels a user gives or a second detector's output on the original
frames (never the detector that made the mask, so the defense is not graded by its own eyes).
Hand-written VOC-style AP (all-point interpolation): the libraries that have it (pycocotools,
torchmetrics) need COCO-format plumbing that is larger than the formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels with a class label and a score."""

    label: str
    x1: float
    y1: float
    x2: float
    y2: float
    score: float = 1.0


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = ix * iy
    union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter
    return inter / union if union > 0 else 0.0


def average_precision(predictions: list[list[Box]], truths: list[list[Box]], label: str,
                      threshold: float = 0.5) -> float | None:
    """AP for one class over images; None when the class has no ground truth."""
    gts = [[t for t in img if t.label == label] for img in truths]
    total = sum(len(g) for g in gts)
    if total == 0:
        return None
    scored = sorted(((p, i) for i, img in enumerate(predictions) for p in img if p.label == label),
                    key=lambda pi: -pi[0].score)
    used = [np.zeros(len(g), dtype=bool) for g in gts]
    tp = np.zeros(len(scored))
    for k, (pred, i) in enumerate(scored):
        best, best_j = 0.0, -1
        for j, gt in enumerate(gts[i]):
            overlap = iou(pred, gt)
            if overlap > best:
                best, best_j = overlap, j
        if best >= threshold and not used[i][best_j]:
            used[i][best_j] = True
            tp[k] = 1
    if not scored:
        return 0.0
    ctp = np.cumsum(tp)
    recall = ctp / total
    precision = ctp / np.arange(1, len(scored) + 1)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    steps = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def mean_average_precision(predictions: list[list[Box]], truths: list[list[Box]],
                           threshold: float = 0.5) -> dict[str, float | dict[str, float]]:
    """mAP over the classes present in ``truths``, with the per-class APs."""
    labels = sorted({t.label for img in truths for t in img})
    per_class = {}
    for label in labels:
        ap = average_precision(predictions, truths, label, threshold)
        if ap is not None:
            per_class[label] = ap
    m = float(np.mean(list(per_class.values()))) if per_class else float("nan")
    return {"map": m, "per_class": per_class}
