"""Training on a background thread: runs ``model.train.train`` and saves the result as a user model.

As with the batch worker, the worker never touches a widget. Cancelling sets
the Progress flag, which training checks before every step; it then writes a
checkpoint, so a cancelled training can be saved or resumed later. Model files
are written atomically, so a stopped or failed run never leaves half a model.
"""
from __future__ import annotations

import copy
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from PIL import UnidentifiedImageError
from PySide6.QtCore import QObject, Signal
from torch import nn

from denoiser_app.core.modelfile import ModelFileError
from denoiser_app.core.progress import Progress, Stage, Update
from denoiser_app.gui.errors import describe_error
from denoiser_app.gui.thread_runner import JobWorker, ThreadRunner
from denoiser_app.gui.training_setup import describe_model
from model.export import export
from model.noise_profile import describe_profile, profile_from_folder
from model.train import CHECKPOINT_NAME, VALIDATION_STAGE, StopReason, TrainConfig, train


@dataclass(frozen=True)
class TrainingJob:
    """Everything a training needs, snapshotted on the UI thread before it starts."""

    config: TrainConfig  # ignored when run_dir holds a checkpoint: training resumes with the saved one
    run_dir: Path
    model_path: Path
    name: str
    time_budget: float  # seconds of training in this session
    camera_photos: Path | None = None  # noisy photos to measure the noise profile from, before a new run


@dataclass(frozen=True)
class TrainingOutcome:
    step: int
    stopped_by: StopReason
    scores: dict[str, float]  # validation PSNR per noise case; empty before the first check
    network: nn.Module  # the averaged (EMA) weights, which are the ones worth keeping
    recipe: dict[str, Any]
    saved_to: Path | None = None
    kept_step: int | None = None  # the earlier step whose weights measured best and are the ones kept
    base_scores: dict[str, float] = field(default_factory=dict)  # the starting model on the same photos; empty from scratch

    @property
    def saved_step(self) -> int:
        return self.step if self.kept_step is None else self.kept_step


def describe_training_error(error: BaseException) -> tuple[str, str]:
    """``(message, details)`` for a training that failed, in a photographer's words."""
    message, details = describe_error(error)
    if isinstance(error, MemoryError):
        message = "There is not enough memory to train on these photos. Try a folder with fewer photos."
    elif isinstance(error, ModelFileError):
        message = f"The starting model could not be loaded. Choose another one, or train from scratch.\n\n{error}"
    elif isinstance(error, UnidentifiedImageError):
        message = f"One of the photos could not be read: it may be damaged or not an image.\n\n{error}"
    elif isinstance(error, PermissionError):
        message = f"Denoiser is not allowed to read the photos or to save the model there.\n\n{error}"
    elif isinstance(error, ValueError):  # what training says about unusable photos or settings
        message = f"Training could not use these photos.\n\n{error}"
    elif not isinstance(error, OSError):
        message = "Something went wrong while training."
    return message, details


def measure_camera_noise(folder: Path, progress: Progress) -> dict[str, Any]:
    """The noise profile of the noisy photos in ``folder``, reported as a NOISE_PROFILE update."""
    progress.report(Stage.NOISE_PROFILE, 0, 1, "Measuring your camera's noise…")
    try:
        profile, count = profile_from_folder(folder)
    except (ValueError, FileNotFoundError) as error:
        raise ValueError(f"The noise of your camera's photos in {folder} could not be measured: {error}") from error
    summary = f"Your camera's noise, from {count} photo{'s' if count != 1 else ''}: {describe_profile(profile)}"
    progress.report(Stage.NOISE_PROFILE, 1, 1, summary, data=profile.to_dict())
    return profile.to_dict()


class _TrainingSignals(QObject):
    updated = Signal(object)  # Update
    validated = Signal(int, object)  # step, {noise case: PSNR}


class TrainingProgress(Progress):
    """Relays training steps as signals, at most ``interval`` apart, and every validation as it comes."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__()
        self.signals = _TrainingSignals()
        self.interval = interval
        self._last_sent = float("-inf")

    def on_update(self, update: Update) -> None:
        if update.stage == VALIDATION_STAGE:
            self.signals.validated.emit(int(update.done), dict(update.data))  # type: ignore[call-overload]
            return
        # Tiny networks make thousands of steps a second; the UI only needs a few.
        now = time.monotonic()
        if now - self._last_sent < self.interval and update.done < update.total:
            return
        self._last_sent = now
        self.signals.updated.emit(update)


def save_model(outcome: TrainingOutcome, job: TrainingJob) -> TrainingOutcome:
    """Export the outcome's network as the user model ``job.name``; returns the outcome with ``saved_to``."""
    recipe = outcome.recipe
    export(
        outcome.network,
        job.model_path,
        recipe["arch"],
        recipe["arch_options"],
        name=job.name,
        description=describe_model(recipe),
        recipe=recipe,
        training_data=recipe["train_dirs"],
        steps=outcome.saved_step,
        validation_psnr=outcome.scores,
        base_validation_psnr=outcome.base_scores,
    )
    if outcome.stopped_by == StopReason.FINISHED:  # nothing left to resume
        shutil.rmtree(job.run_dir, ignore_errors=True)
    return replace(outcome, saved_to=job.model_path)


class TrainingWorker(JobWorker):
    """Trains (or saves an already trained network); ``finished`` carries the TrainingOutcome (unsaved if cancelled)."""

    def __init__(self, job: TrainingJob, progress: TrainingProgress, unsaved: TrainingOutcome | None = None) -> None:
        super().__init__()
        self.job = job
        self.progress = progress
        self.unsaved = unsaved

    def describe(self, error: BaseException) -> tuple[str, str]:
        return describe_training_error(error)

    def work(self) -> TrainingOutcome:
        if self.unsaved is not None:
            return save_model(self.unsaved, self.job)
        outcome = self._train()
        return outcome if outcome.stopped_by == StopReason.CANCELLED else save_model(outcome, self.job)

    def _train(self) -> TrainingOutcome:
        config = self.job.config
        starts_anew = not (self.job.run_dir / CHECKPOINT_NAME).exists()  # a resumed run keeps its own profile
        if self.job.camera_photos is not None and starts_anew and not config.noise_profile:
            config = replace(config, noise_profile=measure_camera_noise(self.job.camera_photos, self.progress))
        result = train(config, self.job.run_dir, self.job.time_budget, progress=self.progress, echo=False)
        network, scores, kept_step = result.ema, dict(result.scores), None
        if result.best is not None:  # later steps measured worse on the set-aside photos: keep the best
            network = copy.deepcopy(result.ema)
            network.load_state_dict(result.best.weights)
            scores, kept_step = dict(result.best.scores), result.best.step
        return TrainingOutcome(
            step=result.step,
            stopped_by=result.stopped_by,
            scores=scores,
            network=network,
            recipe=asdict(result.config),
            kept_step=kept_step,
            base_scores=dict(result.base_scores),
        )


class TrainingRunner(ThreadRunner):
    """Starts trainings on their own QThread and relays the worker's signals on the UI thread."""

    progressed = Signal(object)  # Update
    validated = Signal(int, object)

    def start(self, job: TrainingJob, unsaved: TrainingOutcome | None = None) -> None:
        """Train ``job``; or, given the outcome of a cancelled training, only save it."""
        progress = TrainingProgress()
        progress.signals.updated.connect(self.progressed)
        progress.signals.validated.connect(self.validated)
        self._launch(TrainingWorker(job, progress, unsaved), progress, "training")
