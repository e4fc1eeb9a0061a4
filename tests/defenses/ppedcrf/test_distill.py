"""--train-sens: the distilled student answers for the teacher after the first frames."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from geoprivacy.defenses.ppedcrf.distill import DistilledSensitivity  # noqa: E402


class BrightTeacher:
    """A stand-in sensitivity: the mean red level per 16×16 region (learnable from pixels),
    counting how often it is asked."""

    region = 16

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        self.calls += 1
        n, h, w = frames.shape[:3]
        red = frames[..., 0].astype(np.float32) / 255.0
        return red.reshape(n, h // 16, 16, w // 16, 16).mean(axis=(2, 4))


def scene(shift: int) -> np.ndarray:
    """A panning view of a fixed random scene with bright and dark blocks."""
    rng = np.random.default_rng(7)
    world = np.kron(rng.random((8, 16)), np.ones((16, 16)))
    red = (255 * world[:, shift:shift + 96]).astype(np.uint8)
    noise = rng.integers(0, 40, (128, 96, 3)).astype(np.uint8)
    frame = noise.copy()
    frame[..., 0] = np.maximum(red, noise[..., 0])
    return frame


@pytest.mark.slow
def test_student_replaces_teacher_and_matches_it() -> None:
    teacher = BrightTeacher()
    sens = DistilledSensitivity(teacher, train_frames=4, steps=200, seed=0)
    for shift in range(4):
        out = sens(scene(8 * shift)[None])
        assert np.allclose(out, teacher(scene(8 * shift)[None]))   # teacher answers while learning
    assert sens.trained and sens.stats["train_frames"] == 4
    asked = teacher.calls
    new = scene(40)[None]                   # a view it has not seen
    student = sens(new)
    assert teacher.calls == asked, "after training the teacher is not asked any more"
    assert student.shape == (1, 8, 6)
    ref = teacher(new)
    corr = np.corrcoef(student.ravel(), ref.ravel())[0, 1]
    assert corr > 0.8, corr
