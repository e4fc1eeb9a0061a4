"""Utility verification: against a second detector, or against user labels by frame."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from geoprivacy.defenses.protect.pipeline import Outcome, load_labels, utility_report
from geoprivacy.defenses.utility import Box
from geoprivacy.errors import GeoprivacyError


class BrightBoxes:
    """A 'detector' that finds a car wherever the frame's left half is bright."""

    def boxes(self, frame: np.ndarray) -> list[Box]:
        return [Box("car", 0, 0, 8, 8, 0.9)] if frame[:, :8].mean() > 100 else []


def outcome(protected_bright: list[bool]) -> Outcome:
    frames = [np.full((8, 16, 3), 200, np.uint8) for _ in protected_bright]
    out = [np.full((8, 16, 3), 200 if b else 0, np.uint8) for b in protected_bright]
    return Outcome(frames, out, [], 1.0, len(frames), 1, 1, 0,
                   indices=[0, 10, 20, 30][: len(frames)])


def test_second_detector_reference() -> None:
    report = utility_report(outcome([True, False, True, True]), BrightBoxes())
    assert report["checked"] and report["map_before"] == 1.0
    assert report["kept"] == pytest.approx(0.75)


def test_labels_reference_uses_only_labelled_frames(tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({"10": [["car", 0, 0, 8, 8]], "30": [["car", 0, 0, 8, 8]]}))
    labels = load_labels(str(path))
    report = utility_report(outcome([True, False, True, True]), BrightBoxes(), labels)
    assert report["frames"] == 2 and report["reference"] == "labels"
    assert report["map_after"] == pytest.approx(0.5)   # frame 10 lost its car, frame 30 kept it


def test_bad_labels_are_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    path.write_text('{"0": [["car", 1]]}')
    with pytest.raises(GeoprivacyError, match="cannot read labels"):
        load_labels(str(path))
