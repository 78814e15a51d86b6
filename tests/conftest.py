"""Shared fixtures: tiny models made in the test session, and small images."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from denoiser_app.core.modelfile import METADATA_NAME
from model.archs import build
from model.export import export


def make_model_file(path: Path, architecture: str, options: dict, seed: int = 0, **metadata: object) -> Path:
    torch.manual_seed(seed)
    network = build(architecture, **options)
    export(network, path, architecture, options, name=path.stem, description="test model", **metadata)
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random-weight noise-map U-Net; fast enough for any test."""
    folder = tmp_path_factory.mktemp("models")
    return make_model_file(folder / "tiny.pt", "nm_unet", {"widths": [8, 16], "blocks": 1})


@pytest.fixture(scope="session")
def tiny_auto_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny noise-map U-Net whose Auto reads local levels with a tiny learned estimator beside it."""
    folder = tmp_path_factory.mktemp("models")
    make_model_file(folder / "tiny-estimator.pt", "noise_estimator", {"width": 8, "fine_layers": 1, "coarse_layers": 1})
    options = {"widths": [8, 16], "blocks": 1}
    return make_model_file(folder / "tiny-auto.pt", "nm_unet", options, estimator="tiny-estimator")


@pytest.fixture(scope="session")
def tiny_seed_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    return make_model_file(folder / "tiny-seed.pt", "seed_cae", {"width": 4})


def noisy_photo(height: int, width: int, seed: int = 0, channels: int = 3) -> np.ndarray:
    """A smooth colourful gradient with Gaussian noise, float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    cols = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    phase = np.arange(channels, dtype=np.float32)[None, None, :]
    clean = 0.5 + 0.3 * np.sin(3 * rows + 5 * cols + phase)
    return np.clip(clean + rng.normal(0, 0.05, clean.shape), 0, 1).astype(np.float32)


def write_png(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    array = (np.clip(pixels, 0, 1) * 255 + 0.5).astype(np.uint8)
    Image.fromarray(array.squeeze()).save(path)
    return path


def rewrite_metadata(source: Path, target: Path, change: dict) -> Path:
    """A copy of the model file ``source`` at ``target`` with ``change`` merged into its metadata."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for item in original.infolist():
            data = original.read(item)
            if item.filename.endswith(f"extra/{METADATA_NAME}"):
                data = json.dumps({**json.loads(data), **change}).encode()
            copy.writestr(item, data)
    return target
