"""Where model files live: the bundled ones and the user's own, and which one is the default."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import platformdirs

from denoiser_app.core.modelfile import ModelFileError, ModelInfo, read_metadata

APP_NAME = "Denoiser"
MODEL_SUFFIX = ".pt"
DEFAULT_MODEL = "nmunet-wide"
DENOISER_ROLE = "denoiser"


def resources_dir() -> Path:
    """The folder of bundled data, for a frozen app, a wheel or a source checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(str(resources.files("denoiser_resources")))


def bundled_models_dir() -> Path:
    return resources_dir() / "models"


def user_models_dir() -> Path:
    """Where fine-tuned models are saved; created on demand."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "models"


# What the window calls the bundled models; the technical name stays in the tooltip and the card.
FRIENDLY_NAMES = {
    "nmunet-wide": "Standard",
    "nmunet-camera": "Camera noise (experimental)",
    "nmunet-base": "Fast",
    "seed-cae": "Seed (baseline, much weaker)",
}


@dataclass(frozen=True)
class ModelEntry:
    name: str
    path: Path
    bundled: bool
    info: ModelInfo

    @property
    def label(self) -> str:
        """A photographer's name for the model: friendly for bundled ones, the user's own name otherwise."""
        return FRIENDLY_NAMES.get(self.name, self.name) if self.bundled else self.name


def list_models() -> list[ModelEntry]:
    """Every readable model, bundled first; user models may not reuse a bundled name."""
    entries: dict[str, ModelEntry] = {}
    for folder, bundled in ((bundled_models_dir(), True), (user_models_dir(), False)):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*{MODEL_SUFFIX}")):
            if path.stem in entries:
                continue
            try:
                info = ModelInfo.from_metadata(read_metadata(path))
            except ModelFileError:
                continue
            if info.extra.get("role", DENOISER_ROLE) != DENOISER_ROLE:
                continue  # a helper network, such as the noise-level estimator
            entries[path.stem] = ModelEntry(path.stem, path, bundled, info)
    return list(entries.values())


# Model files a model may name in its metadata, to be found beside it or bundled: key -> what it is.
COMPANIONS = {"estimator": "the noise estimator", "camera_model": "the camera-noise network"}


def resolve_companion(name: str, model_path: Path, key: str = "estimator") -> Path:
    """A file a model names under ``key`` (see ``COMPANIONS``): beside the model, else bundled (user models share those)."""
    for folder in (Path(model_path).parent, bundled_models_dir()):
        candidate = folder / f"{name}{MODEL_SUFFIX}"
        if candidate.is_file():
            return candidate
    raise ModelFileError(f"{Path(model_path).name} needs {COMPANIONS[key]} {name!r}, which is missing.")


def resolve_model(model: str | Path | None) -> Path:
    """A model file path from a name (bundled or user), a path, or None for the default."""
    if model is None or model == "":
        model = DEFAULT_MODEL
    candidate = Path(model)
    if candidate.suffix == MODEL_SUFFIX and candidate.is_file():
        return candidate
    for entry in list_models():
        if entry.name == str(model):
            return entry.path
    if candidate.suffix == MODEL_SUFFIX:
        raise ModelFileError(f"Model file not found: {candidate}")
    names = ", ".join(e.name for e in list_models()) or "none"
    raise ModelFileError(f"No model named {str(model)!r}. Available: {names}.")
