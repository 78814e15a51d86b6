from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest
import torch

from denoiser_app.core.modelfile import FORMAT_VERSION, METADATA_NAME, ModelFileError, load_model_file, read_metadata
from model.archs import build
from tests.conftest import make_model_file, rewrite_metadata


def test_metadata_round_trips_and_module_runs(tiny_model: Path) -> None:
    module, info = load_model_file(tiny_model)
    assert info.architecture == "nm_unet"
    assert info.takes_noise_map and info.multiple == 4
    assert info.noise_range == (0.0, 55.0)
    assert read_metadata(tiny_model)["format_version"] == FORMAT_VERSION
    out = module(torch.rand(1, 3, 30, 22), torch.full((1, 1, 30, 22), 0.1))
    assert out.shape == (1, 3, 30, 22)


def test_unknown_format_version_is_refused_clearly(tiny_model: Path, tmp_path: Path) -> None:
    future = rewrite_metadata(tiny_model, tmp_path / "future.pt", {"format_version": FORMAT_VERSION + 1})
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


def test_damaged_metadata_is_a_model_file_error(tiny_model: Path, tmp_path: Path) -> None:
    bad_type = rewrite_metadata(tiny_model, tmp_path / "bad-type.pt", {"noise_range": None})
    with pytest.raises(ModelFileError, match="malformed metadata"):
        read_metadata(bad_type)
    flipped = tmp_path / "flipped.pt"
    data = bytearray(tiny_model.read_bytes())
    with zipfile.ZipFile(tiny_model) as archive:
        member = next(i for i in archive.infolist() if i.filename.endswith(METADATA_NAME))
    name_length, extra_length = struct.unpack_from("<HH", data, member.header_offset + 26)
    data[member.header_offset + 30 + name_length + extra_length + 2] ^= 0xFF  # inside the stored metadata
    flipped.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="damaged"):
        read_metadata(flipped)


def test_a_damaged_user_model_does_not_hide_the_others(tiny_model: Path, tmp_path: Path, monkeypatch) -> None:
    from denoiser_app.core import models

    user = tmp_path / "user"
    user.mkdir()
    (user / "broken.pt").write_bytes(b"PK\x03\x04 not really a zip")
    rewrite_metadata(tiny_model, user / "mine.pt", {})
    monkeypatch.setattr(models, "user_models_dir", lambda: user)
    names = [m.name for m in models.list_models()]
    assert "mine" in names and "broken" not in names and "seed-cae" in names
