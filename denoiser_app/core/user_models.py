"""The user's own models: import, rename, delete and export, each checked before anything changes.

Bundled models are read-only: they can be exported but not renamed or
deleted. An imported file is read, loaded and run on a small image before it
is copied in, so a model that would fail on the first photo never reaches
the model list. Every file is written atomically.
"""
from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from denoiser_app.core.atomic import atomic_path
from denoiser_app.core.modelfile import ModelFileError, ModelInfo, read_metadata
from denoiser_app.core.models import (
    COMPANIONS,
    DENOISER_ROLE,
    MODEL_SUFFIX,
    ModelEntry,
    bundled_models_dir,
    list_models,
    resolve_companion,
    user_models_dir,
)

MAX_NAME_LENGTH = 60
# A few pixels more than the largest padding multiple, with odd sides, so a test run meets the padding rule.
TEST_IMAGE_SIZE = (37, 45)
TEST_STRENGTH = 10.0

_NAME_PATTERN = re.compile(r"[^\W_][\w ()-]*")
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


class ModelNameError(ModelFileError):
    """A name that cannot be given to a user model (taken, built in or not a valid file name)."""


def name_problem(name: str, bundled_names: Iterable[str]) -> str | None:
    """Why ``name`` cannot name a user model file, or None when it can."""
    if not name:
        return "Enter a name for the model."
    if len(name) > MAX_NAME_LENGTH:
        return f"Use at most {MAX_NAME_LENGTH} characters."
    if not _NAME_PATTERN.fullmatch(name) or name.endswith(" "):
        return "Use letters, digits, spaces, hyphens, underscores and brackets, starting with a letter or digit."
    if name.lower() in _WINDOWS_RESERVED:
        return f"\u201c{name}\u201d is reserved by Windows; choose another name."
    if name.lower() in {bundled.lower() for bundled in bundled_names}:
        return f"\u201c{name}\u201d is the name of a built-in model; choose another name."
    return None


def bundled_names() -> list[str]:
    return [entry.name for entry in list_models() if entry.bundled]


def _free_name_problem(name: str) -> str | None:
    problem = name_problem(name, bundled_names())
    if problem is None and (user_models_dir() / f"{name}{MODEL_SUFFIX}").exists():
        return f"You already have a model named \u201c{name}\u201d; choose another name."
    return problem


def _entry(name: str) -> ModelEntry:
    entry = next((e for e in list_models() if e.name == name), None)
    if entry is None:
        raise ModelFileError(f"There is no model named \u201c{name}\u201d.")
    return entry


def _user_entry(name: str) -> ModelEntry:
    entry = _entry(name)
    if entry.bundled:
        raise ModelFileError(f"\u201c{entry.label}\u201d is built in; only your own models can be changed.")
    return entry


def check_model_works(path: Path) -> ModelInfo:
    """Read ``path``, load it and denoise a small image with it; ModelFileError says what failed."""
    from denoiser_app.core.engine import Denoiser

    info = ModelInfo.from_metadata(read_metadata(path))
    if info.extra.get("role", DENOISER_ROLE) != DENOISER_ROLE:
        raise ModelFileError(f"{path.name} is a helper network ({info.extra['role']}), not a denoiser.")
    denoiser = Denoiser(path, device="cpu", precision="fp32", passes=1)
    image = np.random.default_rng(0).random((*TEST_IMAGE_SIZE, 3), dtype=np.float32)
    try:
        cleaned = denoiser.denoise(image, TEST_STRENGTH).pixels
    except Exception as error:  # any failure of the network's own code
        # TorchScript errors carry a whole traceback; the last line says what went wrong.
        lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
        raise ModelFileError(f"{path.name} loads but fails on a test image: {lines[-1]}") from error
    if cleaned.shape != image.shape or not np.isfinite(cleaned).all():
        raise ModelFileError(f"{path.name} loads but returns an unusable image on a test run.")
    return info


def _copy(source: Path, destination: Path) -> None:
    with atomic_path(destination) as temporary:
        shutil.copyfile(source, temporary)


def import_model(source: Path, name: str | None = None) -> Path:
    """Check ``source`` and copy it into the user's models as ``name`` (default: its file name)."""
    source = Path(source)
    name = source.stem if name is None else name
    problem = _free_name_problem(name)
    if problem:
        raise ModelNameError(problem)
    if not source.is_file():
        raise ModelFileError(f"{source} is not a file.")
    info = check_model_works(source)
    destination = user_models_dir() / f"{name}{MODEL_SUFFIX}"
    destination.parent.mkdir(parents=True, exist_ok=True)
    for key in COMPANIONS:
        companion = info.extra.get(key)
        if companion and not (bundled_models_dir() / f"{companion}{MODEL_SUFFIX}").is_file():
            # The check above found it beside the source; it must travel with the model.
            _copy(resolve_companion(companion, source, key), user_models_dir() / f"{companion}{MODEL_SUFFIX}")
    _copy(source, destination)
    return destination


def rename_model(name: str, new_name: str) -> Path:
    """Give the user model ``name`` the name ``new_name``; returns its new path."""
    entry = _user_entry(name)
    if new_name == name:
        return entry.path
    # A change of case only renames the file it already is, so it cannot clash with itself.
    same_file = new_name.lower() == name.lower()
    problem = name_problem(new_name, bundled_names()) if same_file else _free_name_problem(new_name)
    if problem:
        raise ModelNameError(problem)
    destination = entry.path.with_name(f"{new_name}{MODEL_SUFFIX}")
    entry.path.rename(destination)
    return destination


def delete_model(name: str) -> None:
    """Remove the user model ``name`` from disk."""
    _user_entry(name).path.unlink()


def export_model(name: str, destination: Path) -> Path:
    """Copy the model ``name`` (bundled or the user's) to ``destination``, a file or a folder."""
    entry = _entry(name)
    destination = Path(destination)
    if destination.is_dir():
        destination = destination / entry.path.name
    if destination.resolve() == entry.path.resolve():
        raise ModelFileError("Choose a place outside Denoiser's own model folder.")
    _copy(entry.path, destination)
    return destination
