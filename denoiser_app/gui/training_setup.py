"""What "Train on My Photos" needs besides widgets: usable photos, model names, run folders, the recipe.

Everything here is plain Python, so the dialog stays a thin layer of widgets
and these rules can be tested without a window.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import platformdirs

from denoiser_app.core.models import APP_NAME, MODEL_SUFFIX, ModelEntry, user_models_dir
from denoiser_app.core.user_models import MAX_NAME_LENGTH
from model import data
from model.archs import ARCHITECTURES
from model.noise import PROFILE_MODEL, parse_mix
from model.train import CHECKPOINT_NAME, RunState, TrainConfig

# With fewer photos, none would be held out to measure how training is going.
MIN_PHOTOS = data.VALIDATION_SHARE
MIN_MINUTES, MAX_MINUTES, DEFAULT_MINUTES = 5, 240, 30
# Far more steps than a CPU manages in the time, so the time budget is what ends a run.
GENEROUS_STEPS_PER_SECOND = 20
SCRATCH_ARCH = "nm_unet"
# A pretrained network needs gentler steps than a new one, or it forgets what it knew.
FINE_TUNE_LEARNING_RATE = 1e-4
WARMUP_STEPS = 100
# The default 0.999 averages over ~1000 steps, more than a short CPU session makes;
# the saved network would still be mostly its starting weights.
EMA_DECAY = 0.995
VALIDATE_EVERY = 100


@dataclass(frozen=True)
class NoiseChoice:
    key: str  # stored in the settings
    label: str
    mix: str  # model.noise.parse_mix syntax


# Mostly the camera's own measured noise, with some of the generic kinds so the model keeps them.
PROFILE_MIX = "profile:0.7,correlated_gaussian:0.15,gaussian:0.15"
MY_CAMERA = "my_camera"

NOISE_CHOICES = (
    NoiseChoice("camera", "Camera-like (recommended)", "isp"),
    NoiseChoice(MY_CAMERA, "My camera's noise, measured from its noisy photos", PROFILE_MIX),
    NoiseChoice("gaussian", "Gaussian", "gaussian"),
    NoiseChoice("mixed", "Mixed", TrainConfig().noise_mix),
)


def noise_choice(key: str) -> NoiseChoice:
    return next((c for c in NOISE_CHOICES if c.key == key), NOISE_CHOICES[0])


def training_photos(folder: Path) -> list[Path]:
    """The photos training would learn from in ``folder`` (not its subfolders); junk is left out."""
    try:
        return data.image_files(folder)
    except OSError:  # no such folder, no permission, or no images at all
        return []


def suggested_name(folder: Path) -> str:
    """A valid model name made from a folder's name."""
    cleaned = re.sub(r"[^\w ()-]+", "-", folder.name).strip(" -_()")[: MAX_NAME_LENGTH - len("-tuned")]
    return f"{cleaned.rstrip()}-tuned" if cleaned else "my-photos"


def training_runs_dir() -> Path:
    """Checkpoints of unfinished trainings; only a cache, as the saved models live elsewhere."""
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "training"


def run_dir_for(name: str) -> Path:
    return training_runs_dir() / name


def model_path_for(name: str) -> Path:
    return user_models_dir() / f"{name}{MODEL_SUFFIX}"


def resumable_step(run_dir: Path) -> int | None:
    """The step an interrupted training reached, or None if there is nothing to resume."""
    if not (run_dir / CHECKPOINT_NAME).is_file():
        return None
    state = RunState.read(run_dir)
    return state.step if state is not None else 0  # a run from before state files: resumable, step unknown


def can_fine_tune(entry: ModelEntry) -> bool:
    """Whether training can rebuild this model's network to continue from its weights."""
    return entry.info.architecture in ARCHITECTURES and isinstance(entry.info.extra.get("arch_options"), dict)


@dataclass(frozen=True)
class TrainingChoices:
    """What the user picked in the dialog."""

    folder: Path
    base: ModelEntry | None  # None trains a new network from scratch
    noise: NoiseChoice
    minutes: int
    name: str
    camera_photos: Path | None = None  # noisy photos whose noise "my_camera" imitates


def needs_camera_photos(choice: NoiseChoice) -> bool:
    return PROFILE_MODEL in parse_mix(choice.mix)


def steps_for(minutes: int) -> int:
    return minutes * 60 * GENEROUS_STEPS_PER_SECOND


def training_config(choices: TrainingChoices, overrides: Mapping[str, Any] | None = None) -> TrainConfig:
    """The recipe for the chosen training; ``overrides`` replace any field (tests make it tiny)."""
    common = dict(
        train_dirs=[str(choices.folder)],
        noise_mix=choices.noise.mix,
        total_steps=steps_for(choices.minutes),
        warmup_steps=WARMUP_STEPS,
        ema_decay=EMA_DECAY,
        validate_every=VALIDATE_EVERY,
        # The point is to learn the user's own photos; synthetic shapes would
        # dilute them and cost half a minute to make before the first step.
        synthetic_share=0.0,
    )
    if choices.base is None:
        config = TrainConfig(arch=SCRATCH_ARCH, **common)
    else:
        config = TrainConfig(
            arch=choices.base.info.architecture,
            arch_options=dict(choices.base.info.extra["arch_options"]),
            init_from=str(choices.base.path),
            learning_rate=FINE_TUNE_LEARNING_RATE,
            **common,
        )
    return replace(config, **dict(overrides or {}))


def describe_model(recipe: Mapping[str, Any]) -> str:
    """The saved model's description, from the recipe it was actually trained with."""
    folders = [Path(folder) for folder in recipe.get("train_dirs", [])]
    count = sum(len(training_photos(folder)) for folder in folders)
    where = ", ".join(str(folder) for folder in folders)
    how = "Fine-tuned" if recipe.get("init_from") else "Trained from scratch"
    return f"{how} on {count} photos from {where}"
