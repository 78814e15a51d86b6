"""Tools > Train on My Photos: fine-tune a model (or train a new one) on the user's own clean photos.

The dialog only gathers choices and shows progress. The rules live in
``training_setup`` and the work in ``training_worker``, on its own thread, so
the dialog stays responsive for the whole (possibly hours-long) training.
"""
from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from denoiser_app.core.models import DEFAULT_MODEL, ModelEntry, list_models
from denoiser_app.core.progress import Stage, Update
from denoiser_app.core.user_models import name_problem
from denoiser_app.gui.errors import show_error
from denoiser_app.gui.run_panel import STEPS, EtaClock, describe_time_left
from denoiser_app.gui.settings import Settings
from denoiser_app.gui.training_chart import NoiseProfilePlot, TrainingChart
from denoiser_app.gui.training_setup import (
    MAX_MINUTES,
    MIN_MINUTES,
    MIN_PHOTOS,
    MY_CAMERA,
    NOISE_CHOICES,
    TrainingChoices,
    can_fine_tune,
    model_path_for,
    needs_camera_photos,
    noise_choice,
    resumable_step,
    run_dir_for,
    suggested_name,
    training_config,
    training_photos,
)
from denoiser_app.gui.training_worker import TrainingJob, TrainingOutcome, TrainingRunner
from model.data import validation_count
from model.noise_profile import MAX_PHOTOS as MAX_PROFILE_PHOTOS, NoiseProfile
from model.train import StopReason, cases_for_mix, mean_score

TITLE = "Train on My Photos"
FROM_SCRATCH = ""  # item data of "Train a new network from scratch"
VALIDATION_LABELS = {"camera": "camera noise", "gauss25": "Gaussian \u03c3 25", "isp": "camera-pipeline noise"}


def _folder_row(edit: QLineEdit, button: QPushButton) -> QHBoxLayout:
    """A folder's path, editable, with its Choose… button beside it."""
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


def format_duration(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def describe_scores(scores: Mapping[str, float]) -> str:
    """Validation PSNR in words, e.g. "quality on set-aside photos: 31.20 dB (camera noise)"; "" before the first check."""
    if not scores:
        return ""
    parts = [f"{value:.2f} dB ({VALIDATION_LABELS.get(case, case)})" for case, value in scores.items()]
    return "quality on set-aside photos: " + ", ".join(parts)


def describe_gain(base: Mapping[str, float], after: Mapping[str, float], judged_on: tuple[str, ...] = ()) -> tuple[str, bool]:
    """Before and after on the set-aside photos, and whether the new model is better; ``("", True)`` without a
    before (trained from scratch). Averaged over the ``judged_on`` cases (the noise trained for), else all both have."""
    shared = [case for case in after if case in base]
    if not shared:
        return "", True
    before_mean = mean_score({case: base[case] for case in shared}, judged_on)
    after_mean = mean_score({case: after[case] for case in shared}, judged_on)
    change = after_mean - before_mean
    text = f"On your set-aside photos: before {before_mean:.2f} dB (the starting model), after {after_mean:.2f} dB ({change:+.2f} dB)."
    if change <= 0:
        return text + " The new model is not better than the one it started from: keep cleaning with that one.", False
    return text, True


class FineTuneDialog(QDialog):
    """Picks photos, a starting model, the noise and the time; trains on a thread; saves a user model.

    ``config_overrides`` replace fields of the training recipe (tests make it tiny).
    """

    modelCreated = Signal(str)  # the saved model file

    def __init__(
        self,
        settings: Settings,
        current_model: str | None = None,
        parent: QWidget | None = None,
        config_overrides: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.config_overrides = dict(config_overrides or {})
        self.setWindowTitle(TITLE)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.runner = TrainingRunner(self)
        # Why training cannot start now, or None; set by the window, which knows about its batches.
        self.blocked_by: Callable[[], str | None] = lambda: None
        self._bases: dict[str, ModelEntry] = {}
        self._bundled_names: list[str] = []
        self._photos: list[Path] = []
        self._suggested_name = ""
        self._job: TrainingJob | None = None
        self._outcome: TrainingOutcome | None = None
        self._error: tuple[str, str] | None = None
        self._saving = False  # only saving the network of a stopped training
        self._closing = False
        self._started = 0.0  # when Start was pressed
        self._training_started: float | None = None  # the first step; the time budget runs from about here
        self._first_step = 0
        self._eta = EtaClock()  # the run panel's rate-so-far estimate, over this session's steps
        self._step, self._total = 0, 0
        self._loss = ""
        self._scores: dict[str, float] = {}
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._build()
        self._connect()
        self._load(current_model)

    # -- construction -------------------------------------------------------------------

    def _build(self) -> None:
        intro = QLabel(
            "Teach a model the look of your own photos. Choose a folder of sharp, clean photos "
            "(low ISO, well exposed): Denoiser adds noise to them and learns to remove it, then saves "
            "a new model you can choose in the main window."
        )
        intro.setWordWrap(True)

        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("a folder of clean, low-ISO photos")
        self.folder_button = QPushButton("Choose…")
        self.count_label = QLabel("")
        self.count_label.setWordWrap(True)

        self.camera_edit = QLineEdit()
        self.camera_edit.setPlaceholderText("optional: noisy photos from the camera and ISO you want to clean")
        self.camera_edit.setToolTip(
            "A few real high-ISO photos (no clean version needed). Denoiser measures their noise and\n"
            "trains on noise like it. Even areas (sky, walls, soft background) make the measurement reliable."
        )
        self.camera_button = QPushButton("Choose…")
        self.camera_label = QLabel("")
        self.camera_label.setWordWrap(True)

        self.base = QComboBox()
        self.base.setToolTip("Fine-tuning an existing model needs far less time than training a new network.")
        self.noise = QComboBox()
        for choice in NOISE_CHOICES:
            self.noise.addItem(choice.label, choice.key)
        self.noise.setToolTip(
            "Camera-like noise is grainy, colourful and varies with brightness, as in real high-ISO photos.\n"
            "My camera's noise is measured from a folder of your own noisy photos (below) and imitated.\n"
            "Gaussian is the simple textbook noise. Mixed trains on both."
        )
        self.minutes = QSpinBox()
        self.minutes.setRange(MIN_MINUTES, MAX_MINUTES)
        self.minutes.setSingleStep(5)
        self.minutes.setSuffix(" min")
        self.minutes.setToolTip("Training stops after this long; longer usually gives a better model.")
        self.name_edit = QLineEdit()
        self.name_edit.setMaxLength(80)  # longer names get a message rather than silently cut
        self.name_hint = QLabel("")
        self.name_hint.setWordWrap(True)

        choices = QGroupBox("What to learn")
        form = QFormLayout(choices)
        form.addRow("Your photos:", _folder_row(self.folder_edit, self.folder_button))
        form.addRow("", self.count_label)
        form.addRow("Start from:", self.base)
        form.addRow("Noise to add:", self.noise)
        form.addRow("Camera's noisy photos:", _folder_row(self.camera_edit, self.camera_button))
        form.addRow("", self.camera_label)
        form.addRow("Training time:", self.minutes)
        form.addRow("Save as:", self.name_edit)
        form.addRow("", self.name_hint)

        self.progress = QProgressBar()
        self.progress.setRange(0, STEPS)
        self.progress.setValue(0)
        self.progress.setFormat("Ready")
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        # Room for the final before-and-after: a wrapped label does not make the dialog grow.
        self.status_label.setMinimumHeight(3 * self.status_label.fontMetrics().lineSpacing() + 4)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.time_label = QLabel("")
        training = QGroupBox("Training")
        training_layout = QVBoxLayout(training)
        training_layout.addWidget(self.progress)
        self.chart = TrainingChart()
        training_layout.addWidget(self.chart)
        self.profile_plot = NoiseProfilePlot()
        self.profile_plot.set_profile(None)
        training_layout.addWidget(self.profile_plot)
        training_layout.addWidget(self.status_label)
        training_layout.addWidget(self.time_label)

        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.ButtonRole.ActionRole)
        self.start_button.setDefault(True)
        self.stop_button = self.buttons.addButton("Stop", QDialogButtonBox.ButtonRole.ActionRole)
        self.stop_button.setEnabled(False)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(choices)
        layout.addWidget(training)
        layout.addWidget(self.buttons)
        self.resize(600, self.sizeHint().height())

    def _connect(self) -> None:
        self.folder_button.clicked.connect(self.choose_folder)
        self.folder_edit.textChanged.connect(self._on_folder_changed)
        self.camera_button.clicked.connect(self.choose_camera_folder)
        self.camera_edit.textChanged.connect(self._on_camera_folder_changed)
        self.noise.currentIndexChanged.connect(lambda _index: self._on_camera_folder_changed(self.camera_edit.text()))
        self.name_edit.textChanged.connect(self._update_state)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.cancel)
        self.buttons.rejected.connect(self.reject)
        self._clock.timeout.connect(self._show_time)
        self.runner.progressed.connect(self._on_progress)
        self.runner.validated.connect(self._on_validated)
        self.runner.finished.connect(self._on_finished)
        self.runner.errored.connect(self._on_errored)
        self.runner.stopped.connect(self._on_stopped)

    def _load(self, current_model: str | None) -> None:
        state = self.settings.state
        self._fill_bases(current_model or DEFAULT_MODEL)
        self.noise.setCurrentIndex(max(0, self.noise.findData(noise_choice(state.training_noise).key)))
        self.minutes.setValue(state.training_minutes)
        self.folder_edit.setText(state.training_folder)
        self._on_folder_changed(self.folder_edit.text())
        self.camera_edit.setText(state.training_camera_folder)
        self._on_camera_folder_changed(self.camera_edit.text())

    def _fill_bases(self, selected: str) -> None:
        entries = list_models()
        self._bundled_names = [entry.name for entry in entries if entry.bundled]
        self._bases = {entry.name: entry for entry in entries if can_fine_tune(entry)}
        self.base.clear()
        for entry in self._bases.values():
            origin = "built in" if entry.bundled else "yours"
            self.base.addItem(f"Fine-tune {entry.name} ({origin})", entry.name)
            self.base.setItemData(self.base.count() - 1, entry.info.description or entry.name, Qt.ItemDataRole.ToolTipRole)
        self.base.addItem("Train a new network from scratch", FROM_SCRATCH)
        index = self.base.findData(selected)
        self.base.setCurrentIndex(index if index >= 0 else max(0, self.base.findData(DEFAULT_MODEL)))

    def store_settings(self) -> None:
        state = self.settings.state
        state.training_folder = self.folder_edit.text().strip()
        state.training_minutes = self.minutes.value()
        state.training_noise = str(self.noise.currentData())
        state.training_camera_folder = self.camera_edit.text().strip()
        self.settings.sync()

    # -- choices -------------------------------------------------------------------------

    def _ask_folder(self, edit: QLineEdit, title: str) -> bool:
        """Let the user pick a folder for ``edit``, starting where it points; whether one was picked."""
        current = Path(edit.text().strip())
        folder = QFileDialog.getExistingDirectory(self, title, str(current) if current.is_dir() else str(Path.home()))
        if folder:
            edit.setText(folder)
        return bool(folder)

    @Slot()
    def choose_folder(self) -> None:
        self._ask_folder(self.folder_edit, "Choose a Folder of Clean Photos")

    def _on_folder_changed(self, text: str) -> None:
        folder = Path(text.strip()) if text.strip() else None
        self._photos = training_photos(folder) if folder else []
        count = len(self._photos)
        if folder is None:
            message = "Choose a folder of your own clean photos."
        elif count == 0:
            message = "No photos to learn from in this folder (JPEG, PNG, TIFF or BMP; subfolders are not searched)."
        elif count < MIN_PHOTOS:
            message = (
                f"Found {count} photo{'s' if count != 1 else ''}. Training needs at least {MIN_PHOTOS}: "
                "some are set aside to measure how well it is learning."
            )
        else:
            held_out = validation_count(count)
            message = f"Found {count} photos: {count - held_out} to learn from, {held_out} set aside to measure progress."
        self.count_label.setText(message)
        if folder is not None and self.name_edit.text().strip() in ("", self._suggested_name):
            self._suggested_name = suggested_name(folder)
            self.name_edit.setText(self._suggested_name)
        self._update_state()

    @Slot()
    def choose_camera_folder(self) -> None:
        if self._ask_folder(self.camera_edit, "Choose a Folder of Your Camera's Noisy Photos"):
            self.noise.setCurrentIndex(self.noise.findData(MY_CAMERA))

    def _on_camera_folder_changed(self, text: str) -> None:
        folder = Path(text.strip()) if text.strip() else None
        self._camera_photos = training_photos(folder) if folder else []
        count = len(self._camera_photos)
        wanted = needs_camera_photos(noise_choice(str(self.noise.currentData())))
        if folder is None:
            message = "Choose a folder of your camera's noisy photos to train on its own noise." if wanted else ""
        elif count == 0:
            message = "No photos in this folder (subfolders are not searched)."
        else:
            used = min(count, MAX_PROFILE_PHOTOS)
            message = f"Its noise is measured from {used} photo{'s' if used != 1 else ''} when training starts."
            if not wanted:
                message += " Choose \u201cMy camera's noise\u201d above to use it."
        self.camera_label.setText(message)
        self.camera_label.setVisible(bool(message))
        self._update_state()

    def model_name(self) -> str:
        return self.name_edit.text().strip()

    def _choices(self) -> TrainingChoices | None:
        """The choices as they stand, or None while they cannot start a training."""
        if len(self._photos) < MIN_PHOTOS or name_problem(self.model_name(), self._bundled_names):
            return None
        noise = noise_choice(str(self.noise.currentData()))
        if needs_camera_photos(noise) and not self._camera_photos:
            return None
        return TrainingChoices(
            folder=Path(self.folder_edit.text().strip()),
            base=self._bases.get(str(self.base.currentData())),
            noise=noise,
            minutes=self.minutes.value(),
            name=self.model_name(),
            camera_photos=Path(self.camera_edit.text().strip()) if needs_camera_photos(noise) else None,
        )

    def _update_state(self) -> None:
        name = self.model_name()
        problem = name_problem(name, self._bundled_names)
        if problem:
            hint = problem
        elif (step := resumable_step(run_dir_for(name))) is not None and model_path_for(name).exists():
            hint = f"\u201c{name}\u201d is saved; Start trains it further, from step {step:,}."
        elif step is not None:
            hint = f"An unfinished training called \u201c{name}\u201d can be resumed: press Start."
        elif model_path_for(name).exists():
            hint = f"You already have a model called \u201c{name}\u201d; it will be replaced."
        else:
            hint = f"Saved with your models as \u201c{name}\u201d."
        self.name_hint.setText(hint)
        running = self.runner.is_running()
        self.start_button.setEnabled(not running and self._choices() is not None)

    def _set_running(self, running: bool) -> None:
        for widget in (self.folder_edit, self.folder_button, self.base, self.noise, self.minutes, self.name_edit,
                       self.camera_edit, self.camera_button):
            widget.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self._update_state()

    # -- questions (separate, so tests can answer them) -------------------------------------

    def ask_resume(self, name: str, step: int) -> str | None:
        """"resume", "restart" or None (do nothing) for an unfinished training called ``name``."""
        box = QMessageBox(QMessageBox.Icon.Question, TITLE, f"The training \u201c{name}\u201d stopped at step {step:,}.", parent=self)
        box.setInformativeText(
            "Resume it with the photos and settings it started with, for the training time chosen now, "
            "or start over with the current choices?"
        )
        resume = box.addButton("Resume", QMessageBox.ButtonRole.AcceptRole)
        restart = box.addButton("Start Over", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(resume)
        box.exec()
        return {resume: "resume", restart: "restart"}.get(box.clickedButton())

    def confirm_replace(self, name: str) -> bool:
        answer = QMessageBox.question(
            self,
            TITLE,
            f"You already have a model called \u201c{name}\u201d. Replace it when this training finishes?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def offer_save(self, outcome: TrainingOutcome) -> bool:
        answer = QMessageBox.question(
            self,
            TITLE,
            f"Training stopped after {outcome.step:,} steps. Save "
            + ("what it has learned so far" if outcome.kept_step is None else
               f"the best it measured so far (step {outcome.kept_step:,}; later steps did worse on your set-aside photos)")
            + f" as \u201c{self._job.name if self._job else ''}\u201d?\n\n"
            "Either way, you can continue later: start again with the same name and choose Resume.",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard,
            QMessageBox.StandardButton.Save,
        )
        return answer == QMessageBox.StandardButton.Save

    def confirm_stop(self) -> bool:
        answer = QMessageBox.question(
            self,
            TITLE,
            "Stop training and close? What it has learned is kept, so you can resume it later with the same name.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    # -- running -------------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self.runner.is_running()

    @property
    def current_step(self) -> int:
        """The last training step reported by the running (or last) training."""
        return self._step

    @Slot()
    def start(self) -> None:
        if self.runner.is_running():
            return
        if reason := self.blocked_by():
            show_error(self, reason)
            return
        choices = self._choices()
        if choices is None:
            return
        run_dir = run_dir_for(choices.name)
        step = resumable_step(run_dir)
        if step is not None:
            answer = self.ask_resume(choices.name, step)
            if answer is None:
                return
            if answer == "restart":
                shutil.rmtree(run_dir, ignore_errors=True)
        elif model_path_for(choices.name).exists() and not self.confirm_replace(choices.name):
            return
        self.store_settings()
        config = training_config(choices, self.config_overrides)
        job = TrainingJob(config, run_dir, model_path_for(choices.name), choices.name, choices.minutes * 60.0,
                          camera_photos=choices.camera_photos)
        self._begin(job)

    def _begin(self, job: TrainingJob, unsaved: TrainingOutcome | None = None) -> None:
        self._job, self._outcome, self._error, self._saving = job, None, None, unsaved is not None
        self._started, self._training_started = time.monotonic(), None
        self._step, self._total, self._loss = 0, 0, ""
        if unsaved is None:
            self._scores = {}
            self.chart.clear()
            self.profile_plot.set_profile(None)
        self.progress.setValue(0)
        self.progress.setFormat("Saving the model…" if unsaved else "Loading your photos…")
        self.status_label.setText("")
        self.runner.start(job, unsaved)
        self._set_running(True)
        self.stop_button.setEnabled(not self._saving)  # saving takes seconds and is not worth interrupting
        self._clock.start()
        self._show_time()

    @Slot()
    def cancel(self) -> None:
        if self.runner.is_running():
            self.runner.cancel()
            self.stop_button.setEnabled(False)
            self.progress.setFormat("Stopping after this step…")

    def _on_progress(self, update: Update) -> None:
        if update.stage == Stage.NOISE_PROFILE:
            self.progress.setFormat("Measuring your camera's noise…" if update.data is None else "Loading your photos…")
            self.status_label.setText(update.message)
            if isinstance(update.data, dict):
                self.profile_plot.set_profile(NoiseProfile.from_dict(update.data))
                # The plot appears below the chart: grow rather than squeeze the two together.
                self.resize(self.width(), max(self.height(), self.sizeHint().height()))
            return
        if update.stage != Stage.TRAIN:
            return
        if self._training_started is None:
            self._training_started, self._first_step = time.monotonic(), int(update.done)
            self._eta.restart()
        self._step, self._total, self._loss = int(update.done), int(update.total), update.message
        if isinstance(update.data, float):
            self.chart.add_loss(time.monotonic() - self._started, update.data)
        self._show_progress()

    def _on_validated(self, _step: int, scores: dict[str, float]) -> None:
        self._scores = dict(scores)
        if scores:
            # The curve the run is judged by: PSNR at the noise it trains for (the tooltip has every case).
            judged_on = cases_for_mix(self._job.config.noise_mix) if self._job is not None else ()
            self.chart.add_psnr(time.monotonic() - self._started, mean_score(scores, judged_on))
        self._show_progress()

    def _fraction(self) -> float:
        """How far along: the time budget usually ends a run long before its (generous) step count."""
        if self._job is None or self._training_started is None:
            return 0.0
        by_time = (time.monotonic() - self._training_started) / self._job.time_budget if self._job.time_budget > 0 else 0.0
        by_steps = self._step / self._total if self._total else 0.0
        return min(1.0, max(by_time, by_steps))

    def _show_progress(self) -> None:
        if self.stop_button.isEnabled():  # not while stopping: "Stopping…" stays
            self.progress.setFormat(f"Step {self._step:,}")
        self.progress.setValue(round(self._fraction() * STEPS))
        parts = [self._loss, describe_scores(self._scores)]  # the bar shows the step
        self.status_label.setText(" \u00b7 ".join(part for part in parts if part))

    def _seconds_left(self) -> float | None:
        if self._job is None or self._training_started is None:
            return None
        left = max(0.0, self._job.time_budget - (time.monotonic() - self._training_started))
        by_steps = self._eta.seconds_left(self._step - self._first_step, self._total - self._first_step)
        return left if by_steps is None else min(left, by_steps)

    def _show_time(self) -> None:
        elapsed = format_duration(time.monotonic() - self._started)
        if self._training_started is None:
            self.time_label.setText(f"Elapsed {elapsed} \u00b7 {'saving' if self._saving else 'preparing'}…")
            return
        self.time_label.setText(f"Elapsed {elapsed} \u00b7 {describe_time_left(self._seconds_left())}")
        self.progress.setValue(round(self._fraction() * STEPS))

    def _on_finished(self, outcome: TrainingOutcome) -> None:
        self._outcome = outcome

    def _on_errored(self, message: str, details: str) -> None:
        self._error = (message, details)

    def _on_stopped(self) -> None:
        self._clock.stop()
        self._set_running(False)
        if self._closing:
            return
        outcome, error, job = self._outcome, self._error, self._job
        self._outcome, self._error = None, None
        if error is not None:
            self.progress.setFormat("Stopped by an error")
            self.time_label.setText("")
            show_error(self, *error, title=TITLE)
        elif outcome is not None and outcome.saved_to is not None and job is not None:
            self._announce(outcome, job)
        elif outcome is not None:  # cancelled
            self.progress.setFormat(f"Stopped after {outcome.step:,} steps")
            if outcome.step > 0 and job is not None and self.offer_save(outcome):
                self._begin(job, unsaved=outcome)
            else:
                self.status_label.setText("Nothing was saved. Start again with the same name to resume.")

    def _announce(self, outcome: TrainingOutcome, job: TrainingJob) -> None:
        self.progress.setValue(STEPS)
        self.progress.setFormat(f"Saved after {outcome.step:,} steps" if outcome.kept_step is None
                                else f"Saved the best, from step {outcome.kept_step:,} of {outcome.step:,}")
        scores = describe_scores(outcome.scores)
        gain, better = describe_gain(outcome.base_scores, outcome.scores, cases_for_mix(outcome.recipe["noise_mix"]))
        # With a before, the before and after say it in one line; each noise case's score goes to the tooltip.
        measured = f" {gain}" if gain else (f" Its {scores}." if scores else "")
        self.status_label.setText(
            f"Saved \u201c{job.name}\u201d with your models.{measured}"
            + (" Choose it in the model list to use it." if better else "")
        )
        self.status_label.setToolTip(scores[0].upper() + scores[1:] if scores and gain else "")
        self.time_label.setText(f"Took {format_duration(time.monotonic() - self._started)}." if outcome.stopped_by != StopReason.CANCELLED else "")
        self._fill_bases(str(self.base.currentData()))
        self._update_state()
        self.modelCreated.emit(str(outcome.saved_to))

    # -- closing ------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop any training without asking and wait for it (within one step); it stays resumable."""
        self._closing = True
        self._clock.stop()
        self.runner.shutdown()
        self.store_settings()

    def reject(self) -> None:
        if self.runner.is_running():
            if not self.confirm_stop():
                return
            self.shutdown()
        else:
            self.store_settings()
        super().reject()
