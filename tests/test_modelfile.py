from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import torch

from denoiser_app.core.modelfile import FORMAT_VERSION, METADATA_NAME, ModelFileError, load_model_file, read_metadata
from model.archs import build
from tests.conftest import make_model_file


def _rewrite_metadata(source: Path, target: Path, change: dict) -> Path:
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for item in original.infolist():
            data = original.read(item)
            if item.filename.endswith(f"extra/{METADATA_NAME}"):
                data = json.dumps({**json.loads(data), **change}).encode()
            copy.writestr(item, data)
    return target


def test_metadata_round_trips_and_module_runs(tiny_model: Path) -> None:
    module, info = load_model_file(tiny_model)
    assert info.architecture == "nm_unet"
    assert info.takes_noise_map and info.multiple == 4
    assert info.noise_range == (0.0, 55.0)
    assert read_metadata(tiny_model)["format_version"] == FORMAT_VERSION
    out = module(torch.rand(1, 3, 30, 22), torch.full((1, 1, 30, 22), 0.1))
    assert out.shape == (1, 3, 30, 22)


def test_unknown_format_version_is_refused_clearly(tiny_model: Path, tmp_path: Path) -> None:
    future = _rewrite_metadata(tiny_model, tmp_path / "future.pt", {"format_version": FORMAT_VERSION + 1})
    with pytest.raises(ModelFileError, match="format version 2.*reads version 1"):
        load_model_file(future)


def test_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "holiday.pt"
    junk.write_bytes(b"\xff\xd8\xff\xe0 definitely a jpeg")
    with pytest.raises(ModelFileError, match="not a Denoiser model file"):
        load_model_file(junk)


def test_plain_torchscript_without_metadata_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.pt"
    torch.jit.save(torch.jit.script(build("seed_cae", width=2)), str(path))
    with pytest.raises(ModelFileError, match="no Denoiser metadata"):
        load_model_file(path)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        load_model_file(tmp_path / "nope.pt")


def test_export_is_atomic_and_leaves_no_partial(tmp_path: Path) -> None:
    make_model_file(tmp_path / "m.pt", "seed_cae", {"width": 2})
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]
