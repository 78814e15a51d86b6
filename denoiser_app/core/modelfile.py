"""The shipped model format: a TorchScript file with a JSON metadata record inside.

This module is the single place that knows the on-disk layout. ``model.export``
writes files through :func:`save_model_file`; the engine reads them through
:func:`load_model_file`.
"""
from __future__ import annotations

import json
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from denoiser_app.core.atomic import atomic_path
FORMAT_VERSION = 1
METADATA_NAME = "denoiser.json"
REQUIRED_KEYS = ("format_version", "architecture", "multiple", "takes_noise_map", "noise_range")


@contextmanager
def quiet_torchscript() -> Iterator[None]:
    """TorchScript is the shipped format by design; silence its deprecation notices."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit", category=DeprecationWarning)
        yield


class ModelFileError(Exception):
    """A model file that cannot be used, with a message meant for the user."""


@dataclass(frozen=True)
class ModelInfo:
    """What a model file says about itself."""

    architecture: str
    multiple: int
    takes_noise_map: bool
    noise_range: tuple[float, float]
    name: str = ""
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> ModelInfo:
        low, high = metadata["noise_range"]
        known = set(REQUIRED_KEYS) | {"name", "description"}
        return cls(
            architecture=str(metadata["architecture"]),
            multiple=int(metadata["multiple"]),
            takes_noise_map=bool(metadata["takes_noise_map"]),
            noise_range=(float(low), float(high)),
            name=str(metadata.get("name", "")),
            description=str(metadata.get("description", "")),
            extra={k: v for k, v in metadata.items() if k not in known},
        )


def save_model_file(scripted: torch.jit.ScriptModule, path: Path, metadata: dict[str, Any]) -> None:
    """Write ``scripted`` with ``metadata`` embedded; adds the format version."""
    missing = [k for k in REQUIRED_KEYS if k != "format_version" and k not in metadata]
    if missing:
        raise ValueError(f"model metadata lacks {', '.join(missing)}")
    record = {"format_version": FORMAT_VERSION, **metadata}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary, quiet_torchscript():
        torch.jit.save(scripted, str(temporary), _extra_files={METADATA_NAME: json.dumps(record, indent=1)})


def read_metadata(path: Path) -> dict[str, Any]:
    """The metadata record of a model file, without loading the network."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"Model file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path.name} is not a Denoiser model file (it is not a TorchScript archive).")
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(f"extra/{METADATA_NAME}")]
            if not names:
                raise ModelFileError(f"{path.name} is a TorchScript file but carries no Denoiser metadata.")
            metadata = json.loads(archive.read(names[0]))
    except (zipfile.BadZipFile, zlib.error, OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFileError(f"{path.name} is damaged: its metadata cannot be read ({error}).") from None
    _check_metadata(path, metadata)
    return metadata


def _check_metadata(path: Path, metadata: Any) -> None:
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{path.name} has malformed metadata.")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path.name} uses model format version {version!r}; this version of Denoiser "
            f"reads version {FORMAT_VERSION} only. Update Denoiser or re-export the model."
        )
    missing = [k for k in REQUIRED_KEYS if k not in metadata]
    if missing:
        raise ModelFileError(f"{path.name} metadata lacks {', '.join(missing)}.")
    try:
        ModelInfo.from_metadata(metadata)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{path.name} has malformed metadata: {error}.") from None


def load_model_file(path: Path, device: torch.device | str = "cpu") -> tuple[torch.jit.ScriptModule, ModelInfo]:
    """Load a model file; raises :class:`ModelFileError` with a readable reason."""
    metadata = read_metadata(path)
    try:
        with quiet_torchscript():
            module = torch.jit.load(str(path), map_location=device)
    except RuntimeError as error:
        raise ModelFileError(f"{Path(path).name} could not be loaded: {str(error).splitlines()[0]}") from None
    module.eval()
    return module, ModelInfo.from_metadata(metadata)
