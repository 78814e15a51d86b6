"""Settings: typed values, two groups, and surviving a restart of the window."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from denoiser_app.gui.main_window import MainWindow
from denoiser_app.gui.run_panel import EtaClock, RunPanel, describe_time_left
from denoiser_app.gui.settings import Settings

WindowFactory = Callable[..., MainWindow]


def test_defaults_and_bad_values_fall_back(settings_path: Path) -> None:
    settings = Settings(settings_path)
    assert settings.preferences.auto_strength is True
    assert settings.preferences.format == "same"
    settings.store.setValue("preferences/format", "gif")
    settings.store.setValue("preferences/jpeg_quality", "lots")
    settings.preferences.overwrite = True
    settings.sync()
    reread = Settings(settings_path)
    assert reread.preferences.format == "same"
    assert reread.preferences.jpeg_quality == 95
    assert reread.preferences.overwrite is True


@pytest.mark.parametrize("written", ["nan", "inf", "-inf"])
def test_a_non_finite_strength_falls_back_and_the_window_opens(make_window: WindowFactory, settings_path: Path, written: str) -> None:
    settings_path.write_text(f"[preferences]\nstrength={written}\nauto_strength=false\n")
    assert Settings(settings_path).preferences.strength == 15.0
    window = make_window()
    assert window.options.strength.value() == 15 and window.options.strength_value() == 15.0


def test_preferences_and_ui_state_are_kept_apart(settings_path: Path) -> None:
    settings = Settings(settings_path)
    settings.preferences.name_suffix = "-clean"
    settings.state.last_input_dir = "/photos"
    settings.state.reset()
    assert settings.preferences.name_suffix == "-clean"
    assert settings.state.last_input_dir == ""
    settings.sync()
    text = settings_path.read_text()
    assert "[preferences]" in text


def test_settings_without_a_path_stay_out_of_the_users_config(fresh_settings: Path) -> None:
    settings = Settings()
    settings.preferences.tile = 512
    settings.sync()
    assert Path(settings.store.fileName()).is_relative_to(fresh_settings)
    assert QSettings().fileName().startswith(str(fresh_settings))


def test_settings_survive_closing_and_reopening(qtbot, make_window: WindowFactory, tiny_model: Path, tmp_path: Path) -> None:
    window = make_window()
    options = window.options
    options.auto_strength.setChecked(False)
    options.strength.setValue(33)
    options.device.setCurrentText("cpu")
    options.format.setCurrentIndex(options.format.findData("jpeg"))
    options.jpeg_quality.setValue(80)
    options.name_suffix.setText("-clean")
    options.policy.setCurrentIndex(1)
    options.open_when_done.setChecked(True)
    options.tile.setValue(256)
    options.passes.setCurrentIndex(options.passes.findData(4))
    options.max_megapixels.setValue(900)
    options.advanced.expand(animate=False)
    window.input_bar.recursive.setChecked(True)
    window.settings.state.last_input_dir = str(tmp_path)
    options.output_dir.setText(str(tmp_path / "clean"))
    window.resize(780, 560)
    window.splitter.setSizes([250, 400, 250])
    sizes = window.splitter.sizes()
    window.close()

    again = make_window(model_path=None, size=None)
    options = again.options
    assert not options.auto_strength.isChecked() and options.strength.value() == 33
    assert options.strength_value() == 33.0
    assert options.device.currentText() == "cpu"
    assert options.format.currentData() == "jpeg" and options.jpeg_quality.isEnabled()
    assert options.jpeg_quality.value() == 80
    assert options.name_suffix.text() == "-clean"
    assert options.policy.currentData() is True
    assert options.open_when_done.isChecked()
    assert options.tile.value() == 256
    assert options.passes_value() == 4 and options.passes.currentText() == "4"
    assert options.max_megapixels.value() == 900 and options.batch_options(recursive=False).max_megapixels == 900.0
    assert options.advanced.isExpanded()
    assert again.input_bar.recursive.isChecked()
    assert options.model_reference() == str(tiny_model)  # the chosen model file is remembered too
    assert again.settings.state.last_input_dir == str(tmp_path)
    assert options.output_folder() == tmp_path / "clean"
    assert (again.width(), again.height()) == (780, 560)
    assert again.splitter.sizes() == sizes
    job_options = options.batch_options(recursive=True)
    assert (job_options.format, job_options.jpeg_quality, job_options.overwrite, job_options.denoise.tile) == ("jpeg", 80, True, 256)


def test_time_left_counts_from_the_rate_so_far() -> None:
    now = [100.0]
    clock = EtaClock(lambda: now[0])
    assert clock.seconds_left(0, 10) is None
    now[0] += 20.0
    assert clock.seconds_left(2, 10) == 80.0
    assert describe_time_left(80.0) == "about 80 s left"
    assert describe_time_left(600.0) == "about 10 min left"
    assert describe_time_left(3.0) == "a few seconds left"


def running_panel(qtbot, now: list[float], work: tuple[float, ...]) -> RunPanel:
    """A run panel on a simulated clock, started on photos of ``work`` megapixels."""
    panel = RunPanel(clock=lambda: now[0])
    qtbot.addWidget(panel)
    panel.begin(len(work))
    panel.set_total(len(work))
    panel.set_work(work)
    return panel


def test_time_left_goes_by_megapixels_so_one_large_photo_outweighs_several_small_ones(qtbot) -> None:
    now = [0.0]
    panel = running_panel(qtbot, now, (24.0, 1.0, 1.0, 1.0))  # 27 MP in all
    panel.file_started(0, 4, "big.jpg")
    now[0] = 60.0
    panel.tiles(5, 10)  # 12 MP in 60 s: 5 s per MP, 15 MP to go
    assert panel.overall.format() == "0 of 4 photos \u2014 about 80 s left"  # 75 s; by photos it was 420 s
    assert panel.overall_fraction == round(12 / 27 * 1000) / 1000
    now[0] = 110.0
    panel.tiles(10, 10)
    panel.file_started(1, 4, "small.jpg")
    assert panel.overall.format().endswith("about 10 s left")  # 3 MP at 4.6 s per MP


def test_time_left_after_a_resume_ignores_the_photos_skipped_at_once(qtbot) -> None:
    now = [0.0]
    panel = running_panel(qtbot, now, (0.0, 6.0, 6.0))  # the first photo's output exists
    panel.file_started(0, 3, "done-before.jpg")
    now[0] = 0.1
    panel.file_started(1, 3, "a.jpg")
    now[0] = 30.0
    panel.tiles(1, 2)  # 3 MP in 30 s: 10 s per MP, 9 MP to go
    assert panel.overall.format().endswith("about 2 min left")  # by photos it said about 20 s


def test_about_shows_the_version_and_the_chosen_models_card(qtbot, make_window: WindowFactory, tiny_model: Path, tmp_path: Path) -> None:
    from denoiser_app import __version__
    from denoiser_app.gui import about_dialog

    window = make_window()
    dialog = window.show_about()
    assert __version__ in dialog.findChild(about_dialog.QLabel).text()
    from denoiser_app.core.modelfile import ModelInfo, read_metadata
    from denoiser_app.core.models import resolve_model

    chosen = resolve_model(window.options.model_reference())
    assert ModelInfo.from_metadata(read_metadata(chosen)).name in dialog.card.toPlainText()
    dialog.close()

    with_card = tmp_path / "mine.pt"
    with_card.write_bytes(tiny_model.read_bytes())
    with_card.with_suffix(".md").write_text("# Model card\n\nTrained on **noisy** photos.\n")
    window.options.select_model(str(with_card))
    dialog = window.show_about()
    assert "Trained on noisy photos." in dialog.card.toPlainText()
    assert dialog.card.document().toMarkdown().lstrip().startswith("# Model card")
    dialog.close()

    without_card = tmp_path / "bare.pt"
    without_card.write_bytes(tiny_model.read_bytes())
    window.options.select_model(str(without_card))
    dialog = window.show_about()
    text = dialog.card.toPlainText()
    assert "Architecture: nm_unet" in text and str(without_card) in text
    dialog.close()


def test_cancelling_other_model_file_restores_the_previous_choice(make_window: WindowFactory, tiny_model: Path, tmp_path: Path, monkeypatch) -> None:
    from denoiser_app.gui import main_window
    from denoiser_app.gui.controls import CHOOSE_MODEL

    other = tmp_path / "other.pt"
    other.write_bytes(tiny_model.read_bytes())
    window = make_window()
    window.options.add_model_file(other)
    monkeypatch.setattr(main_window.QFileDialog, "getOpenFileName", lambda *args: ("", ""))
    choose = window.options.model.findData(CHOOSE_MODEL)
    window.options.model.setCurrentIndex(choose)
    window.options.model.activated.emit(choose)
    assert window.options.model_reference() == str(other)


def test_the_default_models_card_is_the_bundled_one_and_a_missing_model_says_so() -> None:
    from denoiser_app.core.models import DEFAULT_MODEL, resources_dir
    from denoiser_app.gui.model_card import model_card

    assert model_card(None) == (resources_dir() / "models" / f"{DEFAULT_MODEL}.md").read_text(encoding="utf-8")
    assert "No model named 'gone'" in model_card("gone")


def test_the_app_icon_is_bundled_in_every_installer_form() -> None:
    from PIL import Image
    from PySide6.QtCore import QSize

    from denoiser_app.gui.imaging import app_icon, app_icon_path

    icon = app_icon()
    assert not icon.isNull()
    assert icon.pixmap(QSize(64, 64)).width() == 64
    icons = app_icon_path().parent
    with Image.open(icons / "app.ico") as ico:
        assert {(16, 16), (32, 32), (256, 256)} <= ico.info["sizes"]
    with Image.open(icons / "app.icns") as icns:
        assert icns.size == (1024, 1024)


def test_the_committed_icon_is_what_the_icon_script_draws() -> None:
    import importlib.util

    import numpy as np
    from PIL import Image

    from denoiser_app.gui.imaging import app_icon_path

    script = Path(__file__).resolve().parents[2] / "packaging" / "make_icons.py"
    spec = importlib.util.spec_from_file_location("make_icons", script)
    make_icons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_icons)
    drawn = np.asarray(make_icons.draw_icon(), np.int16)
    committed = np.asarray(Image.open(app_icon_path()).convert("RGBA"), np.int16)
    # Resampling may round differently from one Pillow release to the next.
    assert np.abs(drawn - committed).max() <= 2


def test_strength_as_a_share_of_auto_a_fixed_level_and_keep_grain_reach_the_job(make_window: WindowFactory) -> None:
    window = make_window()
    options = window.options
    options.auto_strength.setChecked(True)
    assert options.auto_percent.isVisibleTo(window) and not options.strength.isVisibleTo(window)
    assert options.strength_value() == "auto"
    options.auto_percent.setValue(150)
    options.keep_grain.setValue(25)
    assert options.strength_value() == "150%"
    job = options.batch_options(recursive=False)
    assert (job.denoise.strength, job.denoise.keep_grain) == ("150%", 0.25)
    assert job.denoise == options.denoise_settings(), "the preview shows what the batch runs"
    # Unticking Auto starts the fixed level at what Auto would apply, not at an old manual value.
    options.show_estimate(12.0)
    options.auto_strength.setChecked(False)
    assert options.strength.isVisibleTo(window) and not options.auto_percent.isVisibleTo(window)
    assert options.strength.value() == 18 and options.strength_value() == 18.0
    window.close()
    again = make_window(size=None).options
    assert again.auto_percent.value() == 150 and again.keep_grain.value() == 25


def test_the_output_placeholder_says_where_photos_go_on_first_launch(make_window: WindowFactory) -> None:
    window = make_window()
    assert "-denoised" in window.options.output_dir.placeholderText()


def test_a_typed_output_folder_is_not_carried_over_to_another_shoot(
    make_window: WindowFactory, photo_folder, tmp_path: Path
) -> None:
    first, second = photo_folder(count=1, name="wedding"), photo_folder(count=1, name="birds")
    window = make_window()
    window.add_inputs([first])
    window.options.output_dir.setText(str(tmp_path / "wedding clean"))
    window.close()
    again = make_window(size=None)
    assert again.options.output_dir.text() == str(tmp_path / "wedding clean")
    again.add_inputs([second])
    assert again.options.output_dir.text() == ""  # the default: beside the birds
    assert "birds-denoised" in again.options.output_dir.placeholderText()


def test_the_same_shoot_keeps_its_typed_output_folder(make_window: WindowFactory, photo_folder, tmp_path: Path) -> None:
    shoot = photo_folder(count=1, name="wedding")
    window = make_window()
    window.add_inputs([shoot])
    window.options.output_dir.setText(str(tmp_path / "wedding clean"))
    window.close()
    again = make_window(size=None)
    again.add_inputs([shoot])
    assert again.options.output_dir.text() == str(tmp_path / "wedding clean")


def test_opening_a_folder_without_a_file_manager_says_so(qtbot, monkeypatch, tmp_path: Path) -> None:
    from PySide6.QtGui import QDesktopServices, QGuiApplication
    from PySide6.QtWidgets import QMessageBox, QWidget

    from denoiser_app.gui.summary_dialog import open_folder

    parent = QWidget()
    qtbot.addWidget(parent)
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)
    assert open_folder(tmp_path, parent) is False
    (box,) = [b for b in parent.findChildren(QMessageBox) if b.isVisible()]
    assert "No file manager" in box.text() and QGuiApplication.clipboard().text() == str(tmp_path)
    box.close()


def test_a_long_photo_name_does_not_move_the_progress_bars(qtbot) -> None:
    panel = RunPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.begin(2)
    panel.file_started(0, 2, "a.jpg")
    qtbot.wait(10)
    left = panel.overall.geometry().left()
    panel.file_started(1, 2, "a very long photo name from a card reader, IMG_20261202_104512_HDR_final_final.jpg")
    qtbot.wait(10)
    assert panel.overall.geometry().left() == left and panel.current_label.toolTip().endswith("final.jpg")


def test_bundled_models_have_friendly_names_and_the_baseline_says_it_is_weaker(make_window: WindowFactory) -> None:
    window = make_window(model_path=None)
    combo = window.options.model
    labels = {combo.itemData(i): combo.itemText(i) for i in range(combo.count())}
    assert labels["nmunet-wide"] == "Standard" and labels["nmunet-base"] == "Fast"
    assert "baseline" in labels["seed-cae"] and "weaker" in labels["seed-cae"]
    index = combo.findData("nmunet-wide")
    assert combo.itemData(index, Qt.ItemDataRole.ToolTipRole).startswith("nmunet-wide")


def test_a_preset_saves_the_panel_and_brings_it_back_in_a_later_session(make_window: WindowFactory, tiny_model: Path) -> None:
    window = make_window()
    options = window.options
    options.auto_strength.setChecked(True)
    options.auto_percent.setValue(70)
    options.keep_grain.setValue(15)
    options.format.setCurrentIndex(options.format.findData("tiff"))
    window.save_preset("Weddings")
    options.auto_percent.setValue(150)
    options.keep_grain.setValue(0)
    options.format.setCurrentIndex(options.format.findData("jpeg"))
    window.close()

    again = make_window(size=None)
    options = again.options
    assert options.presets.findData("Weddings") >= 0
    again.apply_preset("Weddings")
    assert (options.auto_percent.value(), options.keep_grain.value(), options.format.currentData()) == (70, 15, "tiff")
    assert options.strength_value() == "70%" and options.model_reference() == str(tiny_model)
    again.delete_preset("Weddings")
    assert options.presets.findData("Weddings") < 0


def test_a_preset_name_cannot_hide_a_path(settings_path: Path) -> None:
    import pytest as _pytest

    settings = Settings(settings_path)
    for name in ("", "  ", "a/b", "a\\b"):
        with _pytest.raises(ValueError):
            settings.presets.get(name)


def test_before_start_the_bar_says_how_long_the_listed_photos_should_take_here(qtbot) -> None:
    panel = RunPanel()
    qtbot.addWidget(panel)
    panel.show_estimate(16, 192.0, None)
    assert panel.overall.format() == "Ready"  # nothing measured yet
    panel.show_estimate(16, 192.0, 0.8)  # 240 s
    assert panel.overall.format() == "Ready \u2014 about 4 min for 16 photos on this computer"
    panel.overall.setValue(panel.overall.maximum() // 2)  # a finished run's fill
    panel.show_estimate(16, 192.0, 0.8)
    assert panel.overall.value() == 0, "Ready is not drawn over the last run's progress"


def test_the_preview_measures_the_speed_the_estimate_before_start_uses(qtbot, make_window: WindowFactory, photo_folder) -> None:
    window = make_window()
    with qtbot.waitSignal(window.live_preview.timed, timeout=30_000) as timed:
        window.add_inputs([photo_folder(count=3)])
    assert timed.args[0] > 0
    qtbot.waitUntil(lambda: "on this computer" in window.run_panel.overall.format(), timeout=5_000)
    assert "for 3 photos" in window.run_panel.overall.format()


def test_the_side_panels_fold_away_for_the_preview_and_come_back(make_window: WindowFactory) -> None:
    window = make_window()
    before = window.splitter.sizes()
    window.toggle_options_action.trigger()
    window.toggle_files_action.trigger()
    folded = window.splitter.sizes()
    assert folded[0] == folded[2] == 0 and folded[1] > before[1]
    window.toggle_files_action.trigger()
    window.toggle_options_action.trigger()
    assert window.splitter.sizes() == before


def test_at_1024_by_640_the_preview_gets_the_most_room_and_names_stay_readable(
    qtbot, make_window: WindowFactory, tmp_path: Path
) -> None:
    from denoiser_app.gui.file_list import FileListModel
    from tests.conftest import noisy_photo, write_png

    window = make_window(size=(1024, 640))
    window.add_inputs([write_png(tmp_path / "shoot" / "Portrait of Anna.png", noisy_photo(40, 40))])
    files, preview, options = window.splitter.sizes()
    assert preview >= max(files, 0.33 * sum((files, preview, options)))
    assert window.file_view.header().sectionSize(FileListModel.NAME) >= 50
