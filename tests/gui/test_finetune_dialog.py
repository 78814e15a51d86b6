"""Tools > Train on My Photos: counting photos, names, tiny real trainings, stopping, resuming, errors, wiring."""
from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import platformdirs
import pytest
import shiboken6
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from denoiser_app.core.engine import load_denoiser
from denoiser_app.core.modelfile import read_metadata
from denoiser_app.core.models import DEFAULT_MODEL, list_models, user_models_dir
from denoiser_app.gui import finetune_dialog
from denoiser_app.gui.finetune_dialog import FROM_SCRATCH, FineTuneDialog
from denoiser_app.gui.main_window import MainWindow
from denoiser_app.gui.settings import Settings, UiState
from denoiser_app.gui.training_setup import MIN_PHOTOS, NOISE_CHOICES, resumable_step, run_dir_for, training_runs_dir
from model import data
from tests.conftest import noisy_photo, write_png

# A real training, made tiny: a few steps of batch 2 on 32 px patches.
TINY = {"batch_size": 2, "patch_size": 32, "total_steps": 4, "warmup_steps": 1, "validate_every": 2, "bf16": False}
ENDLESS = {**TINY, "total_steps": 1_000_000}  # only Stop (or the time budget) ends it
TINY_NETWORK = {"widths": [8, 16], "blocks": 1}

DialogFactory = Callable[..., FineTuneDialog]


@pytest.fixture(autouse=True)
def user_dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SimpleNamespace:
    """The user's models and the training cache live in the test's folder."""
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda *args, **kwargs: str(tmp_path / "user-data"))
    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda *args, **kwargs: str(tmp_path / "user-cache"))
    models = user_models_dir()
    assert models.is_relative_to(tmp_path) and training_runs_dir().is_relative_to(tmp_path)
    return SimpleNamespace(models=models)


@pytest.fixture
def tiny_base(user_dirs: SimpleNamespace, tiny_model: Path) -> Path:
    """The tiny U-Net installed as the user's own model "tiny", to fine-tune from."""
    user_dirs.models.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(tiny_model, user_dirs.models / "tiny.pt"))


@pytest.fixture
def clean_photos(tmp_path: Path) -> Path:
    """12 small photos plus the clutter real folders have; training must use the photos only."""
    folder = tmp_path / "clean shots"
    for index in range(12):
        write_png(folder / f"photo_{index:02d}.png", noisy_photo(48, 56, seed=index))
    for junk in (".DS_Store", "._photo_00.png", "Thumbs.db", "notes.txt", ".photo_03.png.1a2b.partial"):
        (folder / junk).write_bytes(b"not a photo")
    write_png(folder / "picked" / "nested.png", noisy_photo(48, 56))
    return folder


@pytest.fixture
def slow_steps(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Makes every training step take at least ``seconds``, so a run can be watched and stopped."""

    def slow_down(seconds: float) -> None:
        original = data.PatchSampler.sample

        def slow_sample(self: data.PatchSampler, *args: object) -> object:
            time.sleep(seconds)
            return original(self, *args)

        monkeypatch.setattr(data.PatchSampler, "sample", slow_sample)

    return slow_down


@pytest.fixture
def make_dialog(qtbot, settings_path: Path, tiny_base: Path) -> Iterator[DialogFactory]:
    dialogs: list[FineTuneDialog] = []

    def make(overrides: dict | None = None, current_model: str = "tiny") -> FineTuneDialog:
        dialog = FineTuneDialog(Settings(settings_path), current_model, config_overrides=TINY if overrides is None else overrides)
        dialogs.append(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        return dialog

    yield make
    for dialog in dialogs:
        if shiboken6.isValid(dialog):
            dialog.shutdown()
            dialog.close()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def choose(dialog: FineTuneDialog, folder: Path, name: str) -> None:
    dialog.folder_edit.setText(str(folder))
    dialog.name_edit.setText(name)


def user_model_files(user_dirs: SimpleNamespace) -> list[str]:
    """Every file in the user's models folder, temporary ones included."""
    return sorted(p.name for p in user_dirs.models.iterdir())


def until_saved(qtbot, dialog: FineTuneDialog, action: Callable[[], object]) -> Path:
    """Do ``action`` and wait for the model it leads to; fails at once if the training stops without one."""
    created: list[str] = []
    dialog.modelCreated.connect(created.append)
    action()
    qtbot.waitUntil(lambda: bool(created) or not dialog.is_running(), timeout=120_000)
    assert created, f"no model: {dialog.progress.format()} / {dialog.status_label.text()}"
    return Path(created[0])


def start_and_wait_for_step(qtbot, dialog: FineTuneDialog, step: int) -> None:
    dialog.start_button.click()
    assert dialog.is_running()
    qtbot.waitUntil(lambda: dialog.current_step >= step or not dialog.is_running(), timeout=60_000)
    assert dialog.current_step >= step, f"stopped early: {dialog.progress.format()}"


# -- choosing -------------------------------------------------------------------------------------


def test_choosing_a_folder_counts_only_the_photos_training_can_use(make_dialog: DialogFactory, clean_photos: Path, tmp_path: Path, monkeypatch) -> None:
    dialog = make_dialog()
    assert not dialog.start_button.isEnabled()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(clean_photos))

    dialog.folder_button.click()

    assert dialog.folder_edit.text() == str(clean_photos)
    assert dialog.count_label.text() == "Found 12 photos: 10 to learn from, 2 set aside to measure progress."
    assert dialog.name_edit.text() == "clean shots-tuned"
    assert dialog.start_button.isEnabled()

    few = tmp_path / "few"
    for index in range(MIN_PHOTOS - 1):
        write_png(few / f"p{index}.png", noisy_photo(48, 56, seed=index))
    dialog.folder_edit.setText(str(few))
    assert f"Found {MIN_PHOTOS - 1} photos. Training needs at least {MIN_PHOTOS}" in dialog.count_label.text()
    assert not dialog.start_button.isEnabled()

    dialog.folder_edit.setText(str(tmp_path / "missing"))
    assert dialog.count_label.text().startswith("No photos to learn from")
    assert not dialog.start_button.isEnabled()


def test_the_starting_point_defaults_to_the_current_model_and_offers_scratch(make_dialog: DialogFactory) -> None:
    dialog = make_dialog(current_model="tiny")
    items = [dialog.base.itemData(i) for i in range(dialog.base.count())]
    assert dialog.base.currentData() == "tiny"
    assert [e.name for e in list_models()] == items[:-1] and items[-1] == FROM_SCRATCH
    assert make_dialog(current_model="/not/a/listed/model.pt").base.currentData() == DEFAULT_MODEL


BUNDLED = next(entry.name for entry in list_models() if entry.bundled)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "Enter a name"),
        ("my/look", "Use letters"),
        ("..", "Use letters"),
        ("look.pt", "Use letters"),
        ("-look", "Use letters"),
        ("NUL", "reserved by Windows"),
        ("x" * 61, "at most 60"),
        (BUNDLED, "built-in model"),
        (BUNDLED.upper(), "built-in model"),
    ],
)
def test_bad_names_are_refused(make_dialog: DialogFactory, clean_photos: Path, name: str, reason: str) -> None:
    dialog = make_dialog()
    choose(dialog, clean_photos, "fine name")
    assert dialog.start_button.isEnabled() and "Saved with your models" in dialog.name_hint.text()

    dialog.name_edit.setText(name)

    assert reason in dialog.name_hint.text()
    assert not dialog.start_button.isEnabled()
    dialog.start()  # refused even when asked directly
    assert not dialog.is_running()


def test_a_clashing_user_model_name_is_accepted_with_a_warning(make_dialog: DialogFactory, clean_photos: Path) -> None:
    dialog = make_dialog()
    choose(dialog, clean_photos, "tiny")
    assert "already have a model called \u201ctiny\u201d" in dialog.name_hint.text()
    assert dialog.start_button.isEnabled()


# -- training ---------------------------------------------------------------------------------------


def test_a_short_fine_tune_saves_a_loadable_model_and_announces_it(
    qtbot, make_dialog: DialogFactory, clean_photos: Path, tiny_base: Path, user_dirs: SimpleNamespace
) -> None:
    dialog = make_dialog()
    choose(dialog, clean_photos, "My look (2024)")
    dialog.noise.setCurrentIndex(dialog.noise.findData("gaussian"))

    def start() -> None:
        dialog.start_button.click()
        assert dialog.is_running() and not dialog.folder_edit.isEnabled() and dialog.stop_button.isEnabled()

    path = until_saved(qtbot, dialog, start)

    assert path == user_dirs.models / "My look (2024).pt"
    assert user_model_files(user_dirs) == ["My look (2024).pt", "tiny.pt"]
    metadata = read_metadata(path)
    assert metadata["name"] == "My look (2024)"
    assert metadata["description"] == f"Fine-tuned on 12 photos from {clean_photos}"
    assert metadata["training_data"] == [str(clean_photos)]
    assert metadata["steps"] == 4 and set(metadata["validation_psnr"]) == {"gauss25", "camera", "gauss15", "isp"}
    recipe = metadata["recipe"]
    assert (recipe["init_from"], recipe["arch"], recipe["arch_options"]) == (str(tiny_base), "nm_unet", TINY_NETWORK)
    assert (recipe["noise_mix"], recipe["total_steps"], recipe["train_dirs"]) == ("gaussian", 4, [str(clean_photos)])
    assert recipe["synthetic_share"] == 0.0 and recipe["colour_augment"]  # the user's own photos only
    assert load_denoiser(path, "cpu").denoise(noisy_photo(40, 40), 10.0).pixels.shape == (40, 40, 3)

    assert not dialog.is_running() and dialog.start_button.isEnabled() and dialog.folder_edit.isEnabled()
    assert dialog.progress.format() == "Saved after 4 steps" and dialog.progress.value() == dialog.progress.maximum()
    assert "set-aside photos:" in dialog.status_label.text() and "dB" in dialog.status_label.text()
    assert "Gaussian" in dialog.status_label.toolTip(), "each noise case's score, one hover away"
    before, after = metadata["base_validation_psnr"], metadata["validation_psnr"]
    assert set(before) == set(after), "the starting model was measured on the same cases"
    judged = ("gauss25", "gauss15")  # the run trains on Gaussian noise
    better = sum(after[c] for c in judged) > sum(before[c] for c in judged)
    assert f"before {sum(before[c] for c in judged) / 2:.2f} dB" in dialog.status_label.text()
    assert ("Choose it in the model list" in dialog.status_label.text()) == better
    assert ("not better than the one it started from" in dialog.status_label.text()) == (not better)
    assert dialog.chart.loss and dialog.chart.psnr, "the chart drew the run's loss and set-aside PSNR"
    last = dialog._scores
    assert dialog.chart.psnr[-1][1] == pytest.approx((last["gauss25"] + last["gauss15"]) / 2), "drawn at the noise trained for"
    assert [t for t, _ in dialog.chart.loss] == sorted(t for t, _ in dialog.chart.loss)
    assert not run_dir_for("My look (2024)").exists()  # it finished, so there is nothing to resume
    assert "will be replaced" in dialog.name_hint.text()
    assert dialog.base.findData("My look (2024)") >= 0  # and it can be the next starting point


def test_training_from_scratch_builds_a_new_network(qtbot, make_dialog: DialogFactory, clean_photos: Path, user_dirs: SimpleNamespace) -> None:
    dialog = make_dialog({**TINY, "arch_options": TINY_NETWORK})
    choose(dialog, clean_photos, "fresh")
    dialog.base.setCurrentIndex(dialog.base.findData(FROM_SCRATCH))

    path = until_saved(qtbot, dialog, dialog.start_button.click)

    metadata = read_metadata(path)
    assert path == user_dirs.models / "fresh.pt"
    assert metadata["description"].startswith("Trained from scratch on 12 photos")
    assert (metadata["recipe"]["arch"], metadata["recipe"]["init_from"], metadata["recipe"]["noise_mix"]) == ("nm_unet", "", "isp")


def training_under_way(qtbot, make_dialog, clean_photos, slow_steps, monkeypatch, overrides, name: str, save: bool = False):
    """A dialog two (slowed) steps into training a model called ``name``; Stop answers ``save`` to "keep it?"."""
    slow_steps(0.05)
    dialog = make_dialog(overrides)
    monkeypatch.setattr(dialog, "offer_save", lambda outcome: save)
    choose(dialog, clean_photos, name)
    start_and_wait_for_step(qtbot, dialog, 2)
    return dialog


def test_stop_ends_training_promptly_and_saves_nothing_when_declined(
    qtbot, make_dialog: DialogFactory, clean_photos: Path, user_dirs: SimpleNamespace, slow_steps, monkeypatch
) -> None:
    slow_steps(0.05)
    dialog = make_dialog(ENDLESS)
    offered: list[int] = []
    monkeypatch.setattr(dialog, "offer_save", lambda outcome: offered.append(outcome.step) or False)
    choose(dialog, clean_photos, "stopped")

    start_and_wait_for_step(qtbot, dialog, 3)
    # The dialog's clock keeps ticking meanwhile: the UI thread is free.
    qtbot.waitUntil(lambda: dialog.time_label.text().startswith("Elapsed 0:0") and "0:00" not in dialog.time_label.text(), timeout=5_000)
    assert dialog.progress.format().startswith("Step ") and "loss" in dialog.status_label.text()
    qtbot.waitUntil(lambda: "set-aside photos:" in dialog.status_label.text(), timeout=10_000)  # live validation
    clicked = time.monotonic()
    with qtbot.waitSignal(dialog.runner.stopped, timeout=10_000):
        dialog.stop_button.click()

    assert time.monotonic() - clicked < 5
    assert len(offered) == 1 and offered[0] >= 3
    assert user_model_files(user_dirs) == ["tiny.pt"]  # no model, no temporary file
    assert resumable_step(run_dir_for("stopped")) == offered[0]
    assert "can be resumed" in dialog.name_hint.text()
    assert "Nothing was saved" in dialog.status_label.text()
    assert dialog.start_button.isEnabled() and not dialog.stop_button.isEnabled()


def test_stop_then_save_keeps_what_was_learned(
    qtbot, make_dialog: DialogFactory, clean_photos: Path, user_dirs: SimpleNamespace, slow_steps, monkeypatch
) -> None:
    dialog = training_under_way(qtbot, make_dialog, clean_photos, slow_steps, monkeypatch, ENDLESS, "partial", save=True)

    path = until_saved(qtbot, dialog, dialog.stop_button.click)

    metadata = read_metadata(path)
    stopped_at = resumable_step(run_dir_for("partial"))
    assert stopped_at is not None and stopped_at >= 2
    assert 0 < metadata["steps"] <= stopped_at, "the last steps, or the best-measured earlier ones"
    assert metadata["recipe"]["total_steps"] == ENDLESS["total_steps"]
    assert user_model_files(user_dirs) == ["partial.pt", "tiny.pt"]


def test_an_interrupted_training_resumes_where_it_stopped_with_its_own_settings(
    qtbot, make_dialog: DialogFactory, clean_photos: Path, user_dirs: SimpleNamespace, slow_steps, monkeypatch
) -> None:
    dialog = training_under_way(qtbot, make_dialog, clean_photos, slow_steps, monkeypatch, {**TINY, "total_steps": 12}, "again")
    with qtbot.waitSignal(dialog.runner.stopped, timeout=10_000):
        dialog.stop_button.click()
    stopped_at = resumable_step(run_dir_for("again"))
    assert stopped_at is not None and 2 <= stopped_at < 12

    asked: list[tuple[str, int]] = []
    monkeypatch.setattr(dialog, "ask_resume", lambda name, step: asked.append((name, step)) or "resume")
    dialog.noise.setCurrentIndex(dialog.noise.findData("gaussian"))  # ignored: the run keeps its recipe
    steps: list[float] = []
    dialog.runner.progressed.connect(lambda update: steps.append(update.done))
    path = until_saved(qtbot, dialog, dialog.start_button.click)

    assert asked == [("again", stopped_at)]
    assert steps and min(steps) > stopped_at  # it carried on rather than starting again
    metadata = read_metadata(path)
    assert metadata["steps"] == 12 and metadata["recipe"]["noise_mix"] == "isp"
    assert metadata["recipe"]["total_steps"] == 12


def test_starting_over_discards_the_interrupted_run(
    qtbot, make_dialog: DialogFactory, clean_photos: Path, user_dirs: SimpleNamespace, slow_steps, monkeypatch
) -> None:
    dialog = training_under_way(qtbot, make_dialog, clean_photos, slow_steps, monkeypatch, ENDLESS, "over")
    with qtbot.waitSignal(dialog.runner.stopped, timeout=10_000):
        dialog.stop_button.click()

    monkeypatch.setattr(dialog, "ask_resume", lambda name, step: "restart")
    dialog.config_overrides = TINY
    path = until_saved(qtbot, dialog, dialog.start_button.click)

    assert read_metadata(path)["recipe"]["total_steps"] == TINY["total_steps"]


def test_a_failed_training_explains_itself_and_leaves_no_model(
    qtbot, make_dialog: DialogFactory, clean_photos: Path, user_dirs: SimpleNamespace, monkeypatch
) -> None:
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(finetune_dialog, "show_error", lambda parent, message, details="", title="": shown.append((message, details)))
    dialog = make_dialog({**TINY, "patch_size": 64})  # larger than every photo
    choose(dialog, clean_photos, "broken")

    dialog.start_button.click()
    qtbot.waitUntil(lambda: bool(shown) and not dialog.is_running(), timeout=60_000)

    message, details = shown[0]
    assert message.startswith("Training could not use these photos.") and "64 px" in message
    assert "Traceback" in details
    assert dialog.progress.format() == "Stopped by an error"
    assert user_model_files(user_dirs) == ["tiny.pt"]
    assert dialog.start_button.isEnabled()


# -- settings, main window, closing ---------------------------------------------------------------------


def test_the_last_choices_are_remembered(qtbot, make_dialog: DialogFactory, clean_photos: Path, settings_path: Path) -> None:
    assert UiState.training_noise.choices == tuple(choice.key for choice in NOISE_CHOICES)
    dialog = make_dialog()
    dialog.folder_edit.setText(str(clean_photos))
    dialog.minutes.setValue(45)
    dialog.noise.setCurrentIndex(dialog.noise.findData("mixed"))
    dialog.close()

    state = Settings(settings_path).state
    assert (state.training_folder, state.training_minutes, state.training_noise) == (str(clean_photos), 45, "mixed")
    again = make_dialog()
    assert (again.folder_edit.text(), again.minutes.value(), again.noise.currentData()) == (str(clean_photos), 45, "mixed")
    assert again.count_label.text().startswith("Found 12 photos")
    again.close()

    out_of_range = Settings(settings_path)
    out_of_range.state.training_minutes = 10_000
    out_of_range.sync()
    assert make_dialog().minutes.value() == 240


def test_the_tools_menu_opens_the_dialog_and_lists_the_new_model_without_choosing_it(
    make_window: Callable[..., MainWindow], tiny_model: Path, tiny_base: Path, user_dirs: SimpleNamespace
) -> None:
    window = make_window()
    assert window.train_action in window._menus["&Tools"].actions()
    window.train_action.trigger()
    dialog = window.training_dialog
    assert dialog is not None and dialog.isVisible() and dialog.parent() is window
    window.train_action.trigger()
    assert window.training_dialog is dialog  # one at a time

    new_model = Path(shutil.copy(tiny_model, user_dirs.models / "fresh.pt"))
    dialog.modelCreated.emit(str(new_model))  # as a finished training does

    assert window.options.model.findData("fresh") >= 0
    # Not made the model the user cleans with (and so the default of later sessions) behind their back.
    assert window.options.model_reference() == str(tiny_model)
    assert "fresh" in window.statusBar().currentMessage()


def test_closing_while_training_asks_first_and_always_stops_the_thread(
    qtbot, make_window: Callable[..., MainWindow], clean_photos: Path, slow_steps, monkeypatch
) -> None:
    slow_steps(0.05)
    window = make_window()
    dialog = window.show_training_dialog()
    dialog.config_overrides = ENDLESS
    dialog.base.setCurrentIndex(dialog.base.findData("tiny"))
    choose(dialog, clean_photos, "closing")
    start_and_wait_for_step(qtbot, dialog, 2)

    monkeypatch.setattr(dialog, "confirm_stop", lambda: False)
    dialog.close()
    assert dialog.isVisible() and dialog.is_running()

    window.close()  # quitting stops the training without asking; the thread must not outlive it
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not shiboken6.isValid(dialog)
    assert (resumable_step(run_dir_for("closing")) or 0) >= 2


def test_my_cameras_noise_is_measured_from_its_photos_shown_and_trained_on(
    qtbot, make_dialog: DialogFactory, clean_photos: Path, tiny_base: Path, tmp_path: Path
) -> None:
    from model.noise_profile import NoiseProfile, profile_noise
    from tests.test_noise_profile import TRUE, patchwork

    camera = tmp_path / "ISO 6400 shots"
    for seed in range(2):
        noisy, _ = profile_noise(patchwork(seed, textured=False), TRUE, np.random.default_rng(seed))
        write_png(camera / f"shot{seed}.png", noisy)
    dialog = make_dialog()
    choose(dialog, clean_photos, "My camera")
    dialog.noise.setCurrentIndex(dialog.noise.findData("my_camera"))
    assert not dialog.start_button.isEnabled() and "noisy photos" in dialog.camera_label.text()
    dialog.camera_edit.setText(str(camera))
    assert dialog.start_button.isEnabled() and "2 photos" in dialog.camera_label.text()

    path = until_saved(qtbot, dialog, dialog.start_button.click)

    recipe = read_metadata(path)["recipe"]
    measured = NoiseProfile.from_dict(recipe["noise_profile"])
    assert recipe["noise_mix"].startswith("profile:")
    assert measured.std(0.5, 1) == pytest.approx(TRUE.std(0.5, 1), rel=0.3)
    assert dialog.profile_plot.isVisible() and dialog.profile_plot.profile == measured
    assert dialog.settings.state.training_camera_folder == str(camera)


def test_before_and_after_say_plainly_when_the_new_model_is_not_better() -> None:
    from denoiser_app.gui.finetune_dialog import describe_gain

    text, better = describe_gain({"gauss25": 30.0, "camera": 32.0}, {"gauss25": 30.5, "camera": 32.3})
    assert better and "before 31.00 dB" in text and "after 31.40 dB (+0.40 dB)" in text
    text, better = describe_gain({"gauss25": 30.0}, {"gauss25": 29.9})
    assert not better and "(-0.10 dB)" in text and "not better" in text
    assert describe_gain({}, {"gauss25": 30.0}) == ("", True)
    text, better = describe_gain({"isp": 30.0, "camera": 33.0}, {"isp": 30.6, "camera": 31.0}, ("isp",))
    assert better and "(+0.60 dB)" in text, "judged at the noise trained for, not at every case checked"
