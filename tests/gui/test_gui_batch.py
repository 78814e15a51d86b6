"""The main window end to end: adding photos, running, cancelling, failures, responsiveness."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from denoiser_app.core.batch import Summary
from denoiser_app.core.imageio import read_image
from denoiser_app.gui.file_list import FileEntry, FileListModel
from denoiser_app.gui.main_window import MainWindow
from tests.conftest import noisy_photo, write_png

WindowFactory = Callable[..., MainWindow]


def statuses(window: MainWindow) -> dict[str, str]:
    return {window.files.entry(row).path.name: window.files.entry(row).status for row in range(window.files.rowCount())}


def run_to_end(qtbot, window: MainWindow, timeout: int = 60_000) -> Summary:
    with qtbot.waitSignal(window.runner.finished, timeout=timeout) as finished:
        with qtbot.waitSignal(window.runner.stopped, timeout=timeout):
            window.start_batch()
    return finished.args[0]


def writes_of_one_photo_fail(monkeypatch, name: str, error: OSError) -> set[str]:
    """Writing the output called ``name`` raises ``error`` while the returned set holds it (clear it to let it pass)."""
    from denoiser_app.core import batch as batch_module

    real_write = batch_module.write_image
    failing = {name}

    def write(path, image, *args, **kwargs):
        if path.name in failing:
            raise error
        return real_write(path, image, *args, **kwargs)

    monkeypatch.setattr(batch_module, "write_image", write)
    return failing


def slow_batch_window(make_window, photo_folder, slow_model, seconds_per_tile: float, **photos: int) -> tuple[MainWindow, Path]:
    """A window listing a folder of photos, with a model slowed so a batch can be caught mid-run."""
    slow_model(seconds_per_tile)
    folder = photo_folder(**photos)
    window = make_window()
    window.options.tile.setValue(128)  # several tiles per photo, so a cancel lands inside one
    window.add_inputs([folder])
    return window, folder


def drop(window: MainWindow, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = window.rect().center()
    enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    assert window.drop_highlight.isVisible()
    dropped = QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, dropped)


def test_dropping_a_folder_lists_its_photos_but_not_junk(make_window: WindowFactory, photo_folder, tmp_path: Path) -> None:
    folder = photo_folder(count=3)
    for junk in (".DS_Store", "Thumbs.db", "._photo_00.png", "notes.txt", "desktop.ini"):
        (folder / junk).write_bytes(b"junk")
    write_png(folder / "sub" / "nested.png", noisy_photo(20, 20))
    window = make_window()

    drop(window, [folder])

    assert not window.drop_highlight.isVisible()
    assert sorted(statuses(window)) == ["photo_00.png", "photo_01.png", "photo_02.png"]
    assert window.files.sources == [folder.resolve()]
    window.input_bar.recursive.setChecked(True)
    assert "nested.png" in statuses(window)


def test_start_writes_every_output_and_reports_progress(qtbot, make_window: WindowFactory, photo_folder) -> None:
    folder = photo_folder(count=4)
    window = make_window()
    window.add_inputs([folder])

    summary = run_to_end(qtbot, window)

    outputs = sorted(p.name for p in (folder.parent / "shoot-denoised").iterdir())
    assert outputs == ["photo_00.png", "photo_01.png", "photo_02.png", "photo_03.png"]
    assert read_image(folder.parent / "shoot-denoised" / "photo_00.png").pixels.shape == (48, 64, 3)
    assert (summary.done, summary.skipped, summary.failed, summary.cancelled) == (4, 0, 0, False)
    assert window.run_panel.overall_fraction == 1.0
    assert set(statuses(window).values()) == {"done"}
    assert window.summary_dialog is not None
    assert window.summary_dialog.counts_label.text().startswith("4 done, 0 skipped, 0 failed")
    assert window.throughput_label.text().endswith("MP/s")

    second = run_to_end(qtbot, window)  # everything exists now: the default policy skips
    assert (second.done, second.skipped) == (0, 4)
    assert set(statuses(window).values()) == {"skipped"}


def test_the_status_bar_names_the_model_the_processor_and_the_precision(qtbot, make_window: WindowFactory, photo_folder) -> None:
    window = make_window()
    window.add_inputs([photo_folder(count=1)])
    run_to_end(qtbot, window)
    text = window.compute_label.toolTip()
    assert text.startswith("tiny on ") and ("float32" in text or "bfloat16" in text)
    shown = window.compute_label.text()
    assert shown == text or (shown.endswith("…") and text.startswith(shown[:-1])), "a long line ends in an ellipsis"
    assert window.compute_label.fontMetrics().horizontalAdvance(shown) <= window.compute_label.maximumWidth()
    window.summary_dialog.close()


def test_the_chosen_passes_reach_the_batch_engine(qtbot, make_window: WindowFactory, photo_folder, monkeypatch) -> None:
    from denoiser_app.core.engine import DenoiseSettings

    loaded_with = []
    real_load = DenoiseSettings.load

    def recording_load(self, *args, **kwargs):
        denoiser = real_load(self, *args, **kwargs)
        loaded_with.append(denoiser.passes)
        return denoiser

    monkeypatch.setattr(DenoiseSettings, "load", recording_load)
    window = make_window()
    window.add_inputs([photo_folder(count=1)])
    window.options.passes.setCurrentIndex(window.options.passes.findData(8))
    assert run_to_end(qtbot, window).done == 1
    assert loaded_with == [8]


def test_cancel_stops_mid_batch_and_leaves_no_partial_files(qtbot, make_window: WindowFactory, photo_folder, slow_model) -> None:
    window, folder = slow_batch_window(make_window, photo_folder, slow_model, 0.03, count=12, height=200, width=260)
    cancelled_at: list[float] = []

    def cancel_after_first(result) -> None:
        if result.status == "done" and not cancelled_at:
            cancelled_at.append(time.monotonic())
            window.cancel_batch()

    window.runner.file_done.connect(cancel_after_first)
    summary = run_to_end(qtbot, window)

    assert summary.cancelled
    assert 1 <= summary.done < 12
    assert time.monotonic() - cancelled_at[0] < 5
    output = folder.parent / "shoot-denoised"
    written = sorted(p.name for p in output.iterdir())
    done = sorted(name for name, status in statuses(window).items() if status == "done")
    assert written == done  # no temporary or half-written file next to them
    for name in written:
        assert read_image(output / name).pixels.shape == (200, 260, 3)
    assert "cancelled" in statuses(window).values()
    assert "queued" not in statuses(window).values() and "working" not in statuses(window).values()
    assert window.run_panel.start_button.isEnabled()
    # The counts add up to the list: done, the photo cancelled while cleaning, the rest not started.
    listed = list(statuses(window).values())
    assert listed.count("done") + listed.count("cancelled") + listed.count("not started") == 12
    counts = window.summary_dialog.counts_label.text()
    assert f"{listed.count('not started')} not started (of 12)" in counts and "1 cancelled" in counts
    window.summary_dialog.close()


def test_a_corrupt_file_fails_with_its_reason_while_the_others_finish(qtbot, make_window: WindowFactory, photo_folder) -> None:
    folder = photo_folder(count=3)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a picture")
    window = make_window()
    window.add_inputs([folder])

    summary = run_to_end(qtbot, window)

    assert (summary.done, summary.failed) == (3, 1)
    row = window.files.row_of(folder.resolve() / "broken.png")
    entry = window.files.entry(row)
    assert entry.status == "failed" and entry.reason
    shown = window.files.data(window.files.index(row, window.files.STATUS))
    assert shown.startswith("Failed:") and entry.reason in shown and str(folder) not in shown
    assert not (folder.parent / "shoot-denoised" / "broken.png").exists()

    dialog = window.summary_dialog
    assert dialog is not None and dialog.failures.count() == 1
    assert "broken.png" in dialog.failures.item(0).text()
    window.file_view.setCurrentIndex(window.files.index(0, 0))
    dialog.failures.itemActivated.emit(dialog.failures.item(0))  # double-click reveals the file
    assert window.file_view.currentIndex().row() == row


def test_the_window_stays_responsive_during_a_batch(qtbot, make_window: WindowFactory, photo_folder, slow_model) -> None:
    window, folder = slow_batch_window(make_window, photo_folder, slow_model, 0.05, count=6, height=180, width=180)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    started = time.monotonic()
    try:
        run_to_end(qtbot, window)
    finally:
        timer.stop()
    duration = time.monotonic() - started
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert duration > 0.5, "the batch was too quick to tell anything"
    assert len(ticks) > duration / 0.02 * 0.3
    assert max(gaps) < 1.0


def test_a_model_that_cannot_load_shows_a_plain_error(qtbot, make_window: WindowFactory, photo_folder, tmp_path: Path) -> None:
    bad_model = tmp_path / "broken.pt"
    bad_model.write_text("not a model")
    window = make_window(model_path=bad_model)
    window.add_inputs([photo_folder(count=1)])

    with qtbot.waitSignal(window.runner.errored, timeout=30_000):
        with qtbot.waitSignal(window.runner.stopped, timeout=30_000):
            window.start_batch()

    boxes = [w for w in window.findChildren(QMessageBox) if w.isVisible()]
    assert len(boxes) == 1
    assert boxes[0].text().startswith("The denoising model could not be loaded")
    assert "Traceback" in boxes[0].detailedText()
    assert window.run_panel.start_button.isEnabled()


def test_output_inside_the_input_folder_needs_confirmation(qtbot, make_window: WindowFactory, photo_folder, monkeypatch) -> None:
    folder = photo_folder(count=1)
    window = make_window()
    window.add_inputs([folder])
    window.options.output_dir.setText(str(folder / "clean"))
    asked: list[Path] = []
    monkeypatch.setattr(window, "confirm_output_inside_input", lambda output, source: asked.append(output) or False)

    window.start_batch()
    assert asked == [folder / "clean"] and not window.runner.is_running()

    monkeypatch.setattr(window, "confirm_output_inside_input", lambda output, source: True)
    summary = run_to_end(qtbot, window)
    assert summary.done == 1 and (folder / "clean" / "photo_00.png").exists()


@pytest.mark.parametrize("argv", [["--help"]])
def test_entry_point_help_needs_no_display(argv: list[str], capsys) -> None:
    from denoiser_app.__main__ import main

    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 0
    assert "denoiser" in capsys.readouterr().out


def test_drag_of_non_files_is_refused(make_window: WindowFactory) -> None:
    window = make_window()
    mime = QMimeData()
    mime.setText("hello")
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter.setAccepted(False)
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()
    assert not window.drop_highlight.isVisible()


def test_menus_offer_the_documented_shortcuts(make_window: WindowFactory) -> None:
    window = make_window()
    expected = {
        window.open_folder_action: "Ctrl+O",
        window.quit_action: "Ctrl+Q",
        window.start_action: "Ctrl+Return",
        window.cancel_action: "Esc",
        window.zoom_in_action: "Ctrl++",
        window.zoom_out_action: "Ctrl+-",
        window.fit_action: "Ctrl+0",
        window.actual_size_action: "Ctrl+1",
    }
    for action, shortcut in expected.items():
        assert action.shortcut().toString() == shortcut, action.text()
    menus = [action.text() for action in window.menuBar().actions()]
    assert menus == ["&File", "&Run", "&View", "&Tools", "&Help"]


def test_closing_the_window_mid_batch_asks_then_stops_promptly_and_opens_nothing(
    qtbot, make_window: WindowFactory, photo_folder, slow_model, monkeypatch
) -> None:
    import faulthandler

    window, folder = slow_batch_window(make_window, photo_folder, slow_model, 0.03, count=12, height=200, width=260)
    asked: list[str] = []
    monkeypatch.setattr(window, "confirm_stop_for_quit", lambda what: asked.append(what) or True)
    summaries_shown: list[object] = []
    monkeypatch.setattr(window, "show_summary", summaries_shown.append)
    with qtbot.waitSignal(window.runner.file_done, timeout=60_000):
        window.start_batch()
    # A deadlock here would hang the suite; fail loudly instead.
    faulthandler.dump_traceback_later(30, exit=True)
    try:
        started = time.monotonic()
        assert window.close()
        assert time.monotonic() - started < 5
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert asked == ["Denoiser is cleaning photos."]
    assert not window.runner.is_running()
    # The stopped run's late signals arrive now: they must not open a summary
    # (or anything else) that would keep the application alive with no window.
    qtbot.wait(300)
    assert summaries_shown == []
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    output = folder.parent / "shoot-denoised"
    assert not [p for p in output.iterdir() if p.name.endswith(".partial")]


def test_keep_working_when_asked_on_close_leaves_the_batch_running(
    qtbot, make_window: WindowFactory, photo_folder, slow_model, monkeypatch
) -> None:
    window, _ = slow_batch_window(make_window, photo_folder, slow_model, 0.03, count=4, height=200, width=260)
    monkeypatch.setattr(window, "confirm_stop_for_quit", lambda what: False)
    with qtbot.waitSignal(window.runner.file_done, timeout=60_000):
        window.start_batch()
    assert not window.close()
    assert window.isVisible() and window.runner.is_running()
    with qtbot.waitSignal(window.runner.stopped, timeout=60_000):
        pass
    summary_dialog = window.summary_dialog
    assert summary_dialog is not None and summary_dialog.isVisible()
    summary_dialog.close()


def test_closing_an_idle_window_asks_nothing(make_window: WindowFactory, monkeypatch) -> None:
    window = make_window()
    monkeypatch.setattr(window, "confirm_stop_for_quit", lambda what: pytest.fail("nothing to stop"))
    assert window.close()


def visible_message_boxes(window: MainWindow) -> list[QMessageBox]:
    return [box for box in window.findChildren(QMessageBox) if box.isVisible()]


def test_start_with_a_drive_root_explains_instead_of_doing_nothing(make_window: WindowFactory, photo_folder, monkeypatch) -> None:
    from denoiser_app.core.batch import default_output_dir
    from denoiser_app.gui import main_window

    monkeypatch.setattr(main_window, "default_output_dir", lambda source: default_output_dir(Path("/")))  # as for C:\
    window = make_window()
    assert window.add_inputs([photo_folder(count=1)]) == 1
    assert "choose a folder" in window.options.output_dir.placeholderText()

    window.start_batch()

    boxes = visible_message_boxes(window)
    assert len(boxes) == 1 and boxes[0].text().startswith("The cleaned photos cannot go there")
    assert "Traceback" in boxes[0].detailedText()
    assert not window.runner.is_running()


def test_an_unreadable_folder_is_reported_and_the_readable_ones_listed(make_window: WindowFactory, photo_folder, tmp_path: Path, monkeypatch) -> None:
    from denoiser_app.gui import file_list

    readable, locked = photo_folder(count=2, name="readable"), photo_folder(count=2, name="locked")
    listing = file_list.list_images

    def refusing(source: Path, recursive: bool) -> file_list.FolderScan:
        if source == locked.resolve():
            raise PermissionError(13, "Permission denied", str(source))
        return listing(source, recursive)

    monkeypatch.setattr(file_list, "list_images", refusing)
    window = make_window()
    assert window.add_inputs([readable, locked]) == 2
    assert window.files.sources == [readable.resolve()]
    boxes = visible_message_boxes(window)
    assert len(boxes) == 1 and str(locked.resolve()) in boxes[0].text()
    assert "PermissionError" in boxes[0].detailedText()


def test_start_with_no_listed_photos_says_so(make_window: WindowFactory, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    window = make_window()
    window.add_inputs([empty])
    window.start_batch()
    boxes = visible_message_boxes(window)
    assert len(boxes) == 1 and boxes[0].text().startswith("There are no photos to clean")
    assert not window.runner.is_running()


def test_unexpected_exceptions_reach_the_user_with_the_traceback(qtbot, make_window: WindowFactory) -> None:
    from denoiser_app.gui.errors import unexpected_error_hook

    window = make_window()
    reported: list[BaseException] = []
    hook = unexpected_error_hook(lambda kind, error, trace: reported.append(error))
    try:
        raise KeyError("oops")
    except KeyError as error:
        hook(KeyError, error, error.__traceback__)
    boxes = visible_message_boxes(window)
    assert len(reported) == 1
    assert len(boxes) == 1 and boxes[0].text().startswith("Something unexpected went wrong")
    assert "KeyError: 'oops'" in boxes[0].detailedText() and "Traceback" in boxes[0].detailedText()


def listed(tmp_path: Path, count: int) -> FileListModel:
    """A file list of ``count`` made-up photos, without touching the disk or making thumbnails."""
    files = FileListModel()
    paths = [tmp_path / f"photo_{index:05d}.png" for index in range(count)]
    files.beginResetModel()
    files._entries = [FileEntry(path, 1) for path in paths]
    files._rows = {path: row for row, path in enumerate(paths)}
    files.endResetModel()
    return files


def test_marking_a_finished_file_does_not_scan_every_row(qtbot, tmp_path: Path) -> None:
    files = listed(tmp_path, 10_000)
    started = time.monotonic()
    for row in range(50):
        files.set_status_under(files.entry(row).path, "done")
    elapsed = time.monotonic() - started
    files.shutdown()
    assert elapsed < 1.0  # a scan per file took ~0.1 s each at this size
    assert files.count_status("done") == 50


def test_a_folders_status_reaches_every_file_in_it(qtbot, tmp_path: Path) -> None:
    files = listed(tmp_path, 3)
    files.set_status_under(tmp_path, "failed", "the folder could not be read")
    files.shutdown()
    assert files.count_status("failed") == 3


def test_the_live_preview_pauses_while_a_batch_runs(qtbot, make_window: WindowFactory, photo_folder, slow_model) -> None:
    slow_model(0.02)
    window = make_window()
    window.add_inputs([photo_folder(count=2)])
    paused: list[bool] = []
    window.runner.file_done.connect(lambda _result: paused.append(not window.live_preview.enabled))
    run_to_end(qtbot, window)
    assert paused and all(paused)
    assert window.live_preview.enabled


def test_cleaning_and_training_refuse_to_run_at_the_same_time(make_window: WindowFactory, photo_folder, monkeypatch) -> None:
    window = make_window()
    window.add_inputs([photo_folder(count=1)])
    dialog = window.show_training_dialog()
    with monkeypatch.context() as patch:
        patch.setattr(dialog, "is_running", lambda: True)
        window.start_batch()
    assert not window.runner.is_running()
    assert visible_message_boxes(window)[0].text().startswith("Denoiser is training a model")

    with monkeypatch.context() as patch:
        patch.setattr(window.runner, "is_running", lambda: True)
        dialog.start()
    boxes = [box for box in dialog.findChildren(QMessageBox) if box.isVisible()]
    assert len(boxes) == 1 and boxes[0].text().startswith("Denoiser is cleaning photos")
    assert not dialog.runner.is_running()


def test_an_unusable_output_folder_fails_once_before_any_photo(qtbot, make_window: WindowFactory, photo_folder, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should go")
    window = make_window()
    window.add_inputs([photo_folder(count=3)])
    window.options.output_dir.setText(str(blocker / "clean"))
    results: list[object] = []
    window.runner.file_done.connect(results.append)

    with qtbot.waitSignal(window.runner.errored, timeout=30_000) as errored:
        with qtbot.waitSignal(window.runner.stopped, timeout=30_000):
            window.start_batch()

    assert errored.args[0].startswith(f"The cleaned photos cannot be saved in\n{blocker / 'clean'}")
    assert results == []
    assert len(visible_message_boxes(window)) == 1


def test_a_note_on_a_finished_photo_shows_in_its_status(make_window: WindowFactory, photo_folder) -> None:
    from denoiser_app.core.batch import FileResult

    folder = photo_folder(count=1).resolve()
    window = make_window()
    window.add_inputs([folder])
    source = folder / "photo_00.png"
    note = f"XMP metadata left out of {source}: more than a JPEG can hold"
    window.files.reset_statuses("queued")
    window._on_file_done(FileResult(source, folder / "out.jpg", "done", warnings=(note,)))

    status = window.files.index(0, window.files.STATUS)
    assert window.files.data(status) == "Done (with a note)"
    tooltip = window.files.data(status, Qt.ItemDataRole.ToolTipRole)
    assert tooltip == "Done: XMP metadata left out of this file: more than a JPEG can hold"


def test_clear_drops_the_thumbnails(qtbot, make_window: WindowFactory, photo_folder) -> None:
    folder = photo_folder(count=2).resolve()
    window = make_window()
    window.add_inputs([folder])
    qtbot.waitUntil(lambda: window.files.has_thumbnail(folder / "photo_01.png"), timeout=30_000)
    window.clear_inputs()
    assert not window.files.has_thumbnail(folder / "photo_01.png")


def test_no_text_field_of_the_options_takes_a_dropped_folder(make_window: WindowFactory) -> None:
    from PySide6.QtWidgets import QLineEdit

    window = make_window()
    fields = window.options.findChildren(QLineEdit)
    assert window.options.tile.lineEdit() in fields
    assert not [field for field in fields if field.acceptDrops()]


def test_the_app_sends_unexpected_errors_to_the_dialog(qtbot, settings_path: Path, monkeypatch) -> None:
    import sys

    from denoiser_app.__main__ import main

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored afterwards

    def close_instead_of_running(app: QApplication) -> int:
        for window in app.topLevelWidgets():
            if isinstance(window, MainWindow):
                window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", close_instead_of_running)
    assert main(["--settings", str(settings_path)]) == 0
    assert sys.excepthook.__qualname__.startswith("unexpected_error_hook")


def test_signal_emits_do_not_leak_references_to_true() -> None:
    # PySide6 6.12.0 lost one reference to True per emit, crashing long batches.
    import sys

    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        ticked = Signal(object)

    emitter = Emitter()
    before = sys.getrefcount(True)
    for i in range(1000):
        emitter.ticked.emit(i)
    assert sys.getrefcount(True) >= before - 10


def test_camera_raw_files_are_listed_and_photos_not_read_are_named_not_silently_ignored(
    make_window: WindowFactory, photo_folder, tmp_path: Path
) -> None:
    mixed = photo_folder(count=2, name="raw plus jpeg")
    for name in ("IMG_1.CR2", "IMG_2.CR2", "IMG_3.NEF", "IMG_4.PSD"):
        (mixed / name).write_bytes(b"II*\0")
    window = make_window()
    assert window.add_inputs([mixed]) == 5  # the raw files are photos like any other
    message = window.statusBar().currentMessage()
    assert message.startswith("Added 5 photos. Passed over 1 file in formats it does not read (.PSD)")
    assert not visible_message_boxes(window)

    only_unread = tmp_path / "unread only"
    only_unread.mkdir()
    (only_unread / "IMG_4.JXL").write_bytes(b"\0")
    assert window.add_inputs([only_unread / "IMG_4.JXL"]) == 0
    (box,) = visible_message_boxes(window)
    assert "1 file in formats it does not read (.JXL)" in box.text()


def test_during_a_batch_the_preview_shows_a_cleaned_photos_output_and_says_when_one_is_not_cleaned(
    qtbot, make_window: WindowFactory, photo_folder, slow_model
) -> None:
    from denoiser_app.gui.preview_worker import PAUSED_TEXT

    window, folder = slow_batch_window(make_window, photo_folder, slow_model, 0.05, count=6, height=200, width=260)
    first, last = window.files.entry(0).path, window.files.entry(5).path
    with qtbot.waitSignal(window.runner.file_done, timeout=60_000):
        window.start_batch()
    assert window.runner.is_running()
    # A photo not cleaned yet: the original, never labelled After, with the note kept after the load.
    window.file_view.select_path(last)
    qtbot.waitUntil(lambda: window.preview.has_image(), timeout=10_000)
    qtbot.wait(100)
    assert not window.preview.has_denoised() and window.preview.busy_text == PAUSED_TEXT
    # A photo this run has cleaned: its written output on the After side.
    window.file_view.select_path(first)
    qtbot.waitUntil(lambda: window.preview.has_denoised(), timeout=10_000)
    written = read_image(folder.parent / "shoot-denoised" / first.name).pixels
    shown = window.preview._denoised.toImage().convertToFormat(QImage.Format.Format_RGB888)
    assert (shown.width(), shown.height()) == (260, 200)
    pixel = shown.pixelColor(100, 80)
    assert abs(pixel.red() - round(float(written[80, 100, 0]) * 255)) <= 1
    window.cancel_batch()
    with qtbot.waitSignal(window.runner.stopped, timeout=60_000):
        pass
    window.summary_dialog.close()


def test_a_new_photo_never_shows_the_previous_one_while_it_loads(qtbot, make_window: WindowFactory, photo_folder) -> None:
    window = make_window()
    window.add_inputs([photo_folder(count=2)])
    qtbot.waitUntil(lambda: window.preview.has_image(), timeout=10_000)
    window.file_view.select_path(window.files.entry(1).path)
    assert not window.preview.has_image() and window.preview.message.startswith("Loading photo_01.png")
    qtbot.waitUntil(lambda: window.preview.has_image(), timeout=10_000)


def test_a_photo_the_system_opens_with_the_app_is_added(qtbot, make_window: WindowFactory, photo_folder) -> None:
    from PySide6.QtGui import QFileOpenEvent

    from denoiser_app.gui.drop import FileOpenHandler

    folder = photo_folder(count=2)
    window = make_window()
    handler = FileOpenHandler(window.add_inputs, window)
    QApplication.instance().installEventFilter(handler)
    try:
        QApplication.sendEvent(QApplication.instance(), QFileOpenEvent(str(folder / "photo_01.png")))
    finally:
        QApplication.instance().removeEventFilter(handler)
    assert [window.files.entry(row).path.name for row in range(window.files.rowCount())] == ["photo_01.png"]


def test_a_removed_photo_is_left_out_of_the_batch_and_untouched(qtbot, make_window: WindowFactory, photo_folder) -> None:
    folder = photo_folder(count=3)
    window = make_window()
    window.add_inputs([folder])
    window.file_view.select_path(window.files.entry(1).path)
    window.remove_action.trigger()
    assert [window.files.entry(r).path.name for r in range(window.files.rowCount())] == ["photo_00.png", "photo_02.png"]
    summary = run_to_end(qtbot, window)
    assert (summary.done, summary.total) == (2, 2)
    assert sorted(p.name for p in (folder.parent / "shoot-denoised").iterdir()) == ["photo_00.png", "photo_02.png"]
    assert (folder / "photo_01.png").exists()
    window.summary_dialog.close()


def test_retry_runs_only_the_photos_that_failed(qtbot, make_window: WindowFactory, photo_folder, monkeypatch) -> None:
    folder = photo_folder(count=3)
    window = make_window()
    window.add_inputs([folder])
    failing = writes_of_one_photo_fail(monkeypatch, "photo_01.png", PermissionError(13, "Permission denied"))
    first = run_to_end(qtbot, window)
    assert (first.done, first.failed) == (2, 1)
    window.summary_dialog.close()
    failing.clear()  # the photographer unlocked the file in the way
    with qtbot.waitSignal(window.runner.finished, timeout=60_000) as finished:
        with qtbot.waitSignal(window.runner.stopped, timeout=60_000):
            window.retry_action.trigger()
    retry = finished.args[0]
    assert (retry.total, retry.done, retry.failed) == (1, 1, 0)
    assert statuses(window) == {"photo_00.png": "done", "photo_01.png": "done", "photo_02.png": "done"}
    window.summary_dialog.close()


def test_a_long_batch_that_ends_while_the_user_is_elsewhere_asks_for_attention(make_window: WindowFactory, monkeypatch) -> None:
    window = make_window()
    alerted: list[object] = []
    monkeypatch.setattr(QApplication, "alert", lambda widget, msec=0: alerted.append(widget))
    monkeypatch.setattr(window, "isActiveWindow", lambda: False)
    window._notify_if_away(Summary(total=3, done=3, seconds=30.0))
    assert alerted == []  # short: no fuss
    window._notify_if_away(Summary(total=3, done=3, seconds=600.0))
    assert alerted == [window] and "Finished: 3 done" in window.statusBar().currentMessage()


def test_a_photos_own_strength_reaches_the_engine_and_the_others_keep_the_panels(
    qtbot, make_window: WindowFactory, photo_folder, monkeypatch
) -> None:
    from denoiser_app.core.engine import Denoiser

    folder = photo_folder(count=3)
    window = make_window()
    window.add_inputs([folder])
    window.options.auto_strength.setChecked(False)
    window.options.strength.setValue(30)
    window.file_view.select_path(window.files.entry(2).path)
    window.own_strength_action.trigger()  # the night shot gets 30
    assert window.files.entry(2).status_text() == "Own strength 30"
    window.options.auto_strength.setChecked(True)
    window.options.auto_percent.setValue(70)  # the rest: 70% of Auto
    used: dict[str, object] = {}
    original = Denoiser.denoise

    def recording(self, image, strength="auto", *args, **kwargs):
        used[f"{image.shape[1]}x{len(used)}"] = strength
        return original(self, image, strength, *args, **kwargs)

    monkeypatch.setattr(Denoiser, "denoise", recording)
    run_to_end(qtbot, window)
    assert list(used.values()) == ["70%", "70%", 30.0]
    window.summary_dialog.close()


def test_after_the_batch_a_cleaned_photo_opens_as_written_and_an_uncleaned_one_cannot(
    qtbot, monkeypatch, make_window: WindowFactory, photo_folder
) -> None:
    from PySide6.QtGui import QDesktopServices

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    folder = photo_folder(count=2)
    window = make_window()
    window.add_inputs([folder])
    assert window.file_view.select_path(folder / "photo_00.png")
    assert not window.open_cleaned_action.isEnabled(), "nothing written yet"

    run_to_end(qtbot, window)
    written = folder.parent / "shoot-denoised" / "photo_01.png"
    window.file_view.select_path(folder / "photo_01.png")
    assert window.open_cleaned_action.isEnabled()
    window.open_cleaned_action.trigger()
    window.file_view.doubleClicked.emit(window.file_view.currentIndex())
    assert opened == [str(written), str(written)]

    written.unlink()  # moved away by the user since
    window.file_view.select_path(folder / "photo_00.png")
    window.file_view.select_path(folder / "photo_01.png")
    assert not window.open_cleaned_action.isEnabled()
    window.open_cleaned_action.trigger()
    assert len(opened) == 2


def test_a_full_disk_stops_the_batch_marks_the_rest_not_started_and_start_finishes_them(
    qtbot, make_window: WindowFactory, photo_folder, monkeypatch
) -> None:
    folder = photo_folder(count=3)
    window = make_window()
    window.add_inputs([folder])
    failing = writes_of_one_photo_fail(monkeypatch, "photo_01.png", OSError(28, "No space left on device"))
    first = run_to_end(qtbot, window)
    assert (first.done, first.failed, first.not_started, first.stopped_by) == (1, 1, 1, "the disk is full")
    assert statuses(window) == {"photo_00.png": "done", "photo_01.png": "failed", "photo_02.png": "not started"}
    assert window.summary_dialog.findChild(QLabel).text().startswith("Stopped: the disk is full")
    assert "stopped: the disk is full" in window.statusBar().currentMessage()
    window.summary_dialog.close()
    failing.clear()  # the photographer freed some space
    again = run_to_end(qtbot, window)
    assert (again.done, again.skipped) == (2, 1)
    window.summary_dialog.close()
