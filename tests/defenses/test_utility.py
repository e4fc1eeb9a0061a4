"""mAP@0.5 against values computed by hand."""

from __future__ import annotations

import math

from geoprivacy.defenses.utility import Box, average_precision, iou, mean_average_precision


def test_iou_by_hand() -> None:
    a = Box("car", 0, 0, 10, 10)
    b = Box("car", 5, 0, 15, 10)   # overlap 50, union 150
    assert math.isclose(iou(a, b), 50 / 150)
    assert iou(a, Box("car", 20, 20, 30, 30)) == 0.0


def test_ap_by_hand() -> None:
    # Two images, three true cars. Predictions by score: TP, FP, TP; one car missed.
    truths = [[Box("car", 0, 0, 10, 10), Box("car", 20, 20, 30, 30)],
              [Box("car", 0, 0, 10, 10)]]
    preds = [[Box("car", 0, 0, 10, 10, 0.9), Box("car", 50, 50, 60, 60, 0.8)],
             [Box("car", 1, 0, 11, 10, 0.7)]]
    # precision/recall points: (1, 1/3), (1/2, 1/3), (2/3, 2/3); interpolated AP
    # = 1/3 * 1 + 1/3 * 2/3 = 5/9
    assert math.isclose(average_precision(preds, truths, "car"), 5 / 9)


def test_duplicate_detection_counts_once_and_map_averages_classes() -> None:
    truths = [[Box("car", 0, 0, 10, 10), Box("person", 0, 0, 4, 8)]]
    preds = [[Box("car", 0, 0, 10, 10, 0.9), Box("car", 0, 0, 10, 10, 0.8),
              Box("person", 0, 0, 4, 8, 0.5)]]
    result = mean_average_precision(preds, truths)
    assert result["per_class"] == {"car": 1.0, "person": 1.0}
    assert result["map"] == 1.0
    assert average_precision([[]], truths, "car") == 0.0
    assert average_precision(preds, truths, "bus") is None
