"""The main window: lays out the panels and wires their signals. The work lives elsewhere."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QModelIndex, Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDragLeaveEvent, QDropEvent, QKeySequence, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QInputDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from denoiser_app.core.batch import (
    READ_FORMATS,
    FileResult,
    FileStatus,
    Plan,
    Summary,
    default_output_dir,
    is_image_name,
    is_inside,
    source_folder,
    unread_photo_reason,
)
from denoiser_app.core.imageio import SUPPORTED_SUFFIXES, probe_megapixels
from denoiser_app.core.models import DEFAULT_MODEL, MODEL_SUFFIX, list_models
from denoiser_app.core.progress import Stage, Update
from denoiser_app.gui.about_dialog import AboutDialog
from denoiser_app.gui.controls import InputBar, OptionsPanel
from denoiser_app.gui.drop import DropHighlight, local_paths
from denoiser_app.gui.errors import plain_reason, show_error, show_exception
from denoiser_app.gui.file_list import FileListModel, FileListView, RowStatus, describe_unread
from denoiser_app.gui.finetune_dialog import FineTuneDialog
from denoiser_app.gui.models_dialog import ModelsDialog
from denoiser_app.gui.preview import PreviewWidget
from denoiser_app.gui.preview_worker import LivePreview
from denoiser_app.gui.run_panel import RunPanel
from denoiser_app.gui.settings import Settings
from denoiser_app.gui.summary_dialog import SummaryDialog, open_file, open_folder
from denoiser_app.gui.worker import BatchJob, BatchRunner

T = TypeVar("T")
SIDE_PANEL_WIDTH = 360  # a folded side panel comes back this wide if it had no width of its own
LONG_BATCH_SECONDS = 60.0  # a batch this long gets a notification when it ends
COMPUTE_LABEL_WIDTH = 420  # px of the status bar for the model, the CPU and the precision


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings, model_path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Denoiser")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setAcceptDrops(True)
        self.summary_dialog: SummaryDialog | None = None
        self.training_dialog: FineTuneDialog | None = None
        self._plan: Plan | None = None
        self._output_dir: Path | None = None
        self._megapixels = 0.0
        self._seconds = 0.0
        self._closing = False  # the window is going: late signals of a stopped run change nothing
        self._preview_speed: float | None = None  # megapixels per second of the last preview, with these settings
        self._megapixels_of: dict[Path, float] = {}  # header sizes, read once per photo
        self._folded_width: dict[int, int] = {}  # splitter index -> width before it was folded away

        self.files = FileListModel(self)
        self.runner = BatchRunner(self)
        self.live_preview = LivePreview(self)
        self._build_widgets()
        self._build_menus()
        self._connect()
        self._load_settings(model_path)

    # -- construction -----------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.input_bar = InputBar()
        self.file_view = FileListView(self.files)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.input_bar)
        left_layout.addWidget(self.file_view, 1)

        self.preview = PreviewWidget()
        self.options = OptionsPanel()
        options_scroll = QScrollArea()
        options_scroll.setWidget(self.options)
        options_scroll.setWidgetResizable(True)
        options_scroll.setFrameShape(QFrame.Shape.NoFrame)
        options_scroll.setMinimumWidth(260)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        # The side panels fold away when dragged to the edge (or from the View menu); the preview never does.
        for widget, stretch in ((left, 0), (self.preview, 1), (options_scroll, 0)):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(self.splitter.count() - 1, stretch)
        self.splitter.setCollapsible(1, False)

        self.run_panel = RunPanel()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.run_panel)
        self.setCentralWidget(central)
        self.drop_highlight = DropHighlight(self)

        self.compute_label = QLabel("")  # the model, the CPU (its instruction sets) or GPU, and the precision
        self.compute_label.setMaximumWidth(COMPUTE_LABEL_WIDTH)
        self.throughput_label = QLabel("")
        self.zoom_label = QLabel("")
        self.statusBar().addPermanentWidget(self.compute_label)
        self.statusBar().addPermanentWidget(self.throughput_label)
        self.statusBar().addPermanentWidget(self.zoom_label)

    def _action(self, menu_name: str, text: str, slot: object, *shortcuts: QKeySequence | str) -> QAction:
        menu = self._menus.get(menu_name) or self.menuBar().addMenu(menu_name)
        self._menus[menu_name] = menu
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        self._menus: dict[str, QMenu] = {}
        self.open_folder_action = self._action("&File", "Open &Folder…", self.choose_input_folder, "Ctrl+O")
        self.open_files_action = self._action("&File", "Open &Photos…", self.choose_input_files, "Ctrl+Shift+O")
        self.open_cleaned_action = self._action("&File", "Open &Cleaned Photo", self.open_cleaned_photo, "Ctrl+E")
        self.open_cleaned_action.setEnabled(False)
        self.quit_action = self._action("&File", "&Quit", self.close, "Ctrl+Q")
        self.start_action = self._action("&Run", "&Start", self.start_batch, "Ctrl+Return", "Ctrl+Enter")
        self.cancel_action = self._action("&Run", "&Cancel", self.cancel_batch, "Esc")
        self.cancel_action.setEnabled(False)
        self.retry_action = self._action("&Run", "&Retry Failed Photos", self.retry_failed, "Ctrl+R")
        self.own_strength_action = self._action("&Run", "Give This Photo the Current S&trength", self.set_own_strength, "Ctrl+T")
        self.clear_strength_action = self._action("&Run", "Use the Panel's Strength for This &Photo", self.clear_own_strength)
        self.remove_action = self._action("&Run", "&Remove Photo from List", self.remove_selected, QKeySequence.StandardKey.Delete)
        self.zoom_in_action = self._action("&View", "Zoom &In", self.preview.zoom_in, "Ctrl++", "Ctrl+=")
        self.zoom_out_action = self._action("&View", "Zoom &Out", self.preview.zoom_out, "Ctrl+-")
        self.fit_action = self._action("&View", "&Fit", self.preview.fit, "Ctrl+0")
        self.actual_size_action = self._action("&View", "&100%", lambda: self.preview.set_zoom(1.0), "Ctrl+1")
        self.double_size_action = self._action("&View", "&200%", lambda: self.preview.set_zoom(2.0), "Ctrl+2")
        # Y, as in Lightroom: Before and After side by side rather than split by the divider.
        self.side_by_side_action = self._action("&View", "&Side by Side", self.preview.set_side_by_side, "Y")
        self.side_by_side_action.setCheckable(True)
        self.toggle_files_action = self._action("&View", "Show or Hide the &Photo List", lambda: self.toggle_panel(0), "Ctrl+Shift+L")
        self.toggle_options_action = self._action("&View", "Show or Hide the &Settings", lambda: self.toggle_panel(2), "Ctrl+Shift+S")
        self.train_action = self._action("&Tools", "&Train on My Photos…", self.show_training_dialog)
        self.models_action = self._action("&Tools", "&Manage Models…", self.show_models_dialog)
        self.about_action = self._action("&Help", "&About Denoiser", self.show_about)

    def _connect_presets(self) -> None:
        self.options.preset_chosen.connect(self.apply_preset)
        self.options.save_preset.connect(self.ask_and_save_preset)
        self.options.delete_preset.connect(self.delete_preset)
        self.options.set_presets(self.settings.presets.names())

    def apply_preset(self, name: str) -> None:
        preset = self.settings.presets.get(name)
        self.options.load(preset)
        self.options.select_model(preset.model or DEFAULT_MODEL)
        self.statusBar().showMessage(f"Preset \u201c{name}\u201d applied.", 5000)

    def save_preset(self, name: str) -> None:
        self.options.store(self.settings.presets.get(name))
        self.settings.sync()
        self.options.set_presets(self.settings.presets.names(), name.strip())

    def ask_and_save_preset(self) -> None:
        name, ok = QInputDialog.getText(self, "Save Preset", "Name for these settings (strength, keep grain, model, output):")
        if ok and name.strip():
            try:
                self.save_preset(name)
            except ValueError as error:
                show_error(self, f"That name cannot be used: {error}.")

    def delete_preset(self, name: str) -> None:
        if name:
            self.settings.presets.delete(name)
            self.options.set_presets(self.settings.presets.names())

    def _connect(self) -> None:
        self._connect_presets()
        self.input_bar.add_folder.connect(self.choose_input_folder)
        self.input_bar.add_files.connect(self.choose_input_files)
        self.input_bar.clear.connect(self.clear_inputs)
        self.input_bar.recursive_changed.connect(self._on_recursive_changed)
        self.options.choose_output.connect(self.choose_output_folder)
        self.options.choose_model_file.connect(self.choose_model_file)
        self.options.preview_settings_changed.connect(self._update_preview_settings)
        self.files.listing_failed.connect(lambda message, details: show_error(self, message, details))
        self.file_view.selectionModel().currentChanged.connect(self._on_current_file_changed)
        self.file_view.doubleClicked.connect(self.open_cleaned_photo)

        self.preview.view_changed.connect(self._request_after_side)
        self.preview.split_changed.connect(self._request_after_side)
        self.preview.zoom_changed.connect(lambda zoom: self.zoom_label.setText(f"{zoom * 100:.0f}%"))
        self.live_preview.image_loaded.connect(lambda _path, image: self.preview.set_image(image))
        self.live_preview.load_failed.connect(self._on_preview_load_failed)
        self.live_preview.result_ready.connect(self.preview.set_denoised)
        self.live_preview.overview_ready.connect(self.preview.set_overview)
        self.live_preview.failed.connect(self._on_preview_failed)
        self.live_preview.busy.connect(self.preview.set_busy)
        self.live_preview.outdated.connect(self.preview.clear_denoised)
        self.live_preview.timed.connect(self._on_preview_timed)
        self.files.modelReset.connect(self._show_time_estimate)
        self.live_preview.estimated.connect(lambda _path, sigma: self.options.show_estimate(sigma))

        self.run_panel.start_button.clicked.connect(self.start_batch)
        self.run_panel.cancel_button.clicked.connect(self.cancel_batch)
        self.runner.model_ready.connect(self._on_model_ready)
        self.runner.planned.connect(self._on_planned)
        self.runner.progressed.connect(self._on_progress)
        self.runner.file_done.connect(self._on_file_done)
        self.runner.notice.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.runner.finished.connect(self._on_finished)
        self.runner.sized.connect(self.run_panel.set_work)
        self.runner.errored.connect(self._on_errored)
        self.runner.stopped.connect(self._on_stopped)

    # -- settings ---------------------------------------------------------------------------

    def _load_settings(self, model_path: Path | None) -> None:
        preferences, state = self.settings.preferences, self.settings.state
        self.options.load(preferences)
        self.options.output_dir.setText(state.output_dir)
        self._update_output_placeholder()
        self.input_bar.recursive.setChecked(preferences.recursive)
        extra = [model_path] if model_path is not None else []
        self.options.set_models(list_models(), extra, str(model_path) if model_path else preferences.model)
        if state.advanced_open:
            self.options.advanced.expand(animate=False)
        if not state.geometry.isEmpty():
            self.restoreGeometry(state.geometry)
        else:
            self.resize(1280, 800)
        if not state.window_state.isEmpty():
            self.restoreState(state.window_state)
        self._splitter_restored = not state.main_splitter.isEmpty() and self.splitter.restoreState(state.main_splitter)
        self._update_preview_settings()

    def save_settings(self) -> None:
        self.options.store(self.settings.preferences)
        self.settings.preferences.recursive = self.input_bar.recursive.isChecked()
        state = self.settings.state
        state.geometry = self.saveGeometry()
        state.window_state = self.saveState()
        state.main_splitter = self.splitter.saveState()
        state.advanced_open = self.options.advanced.isExpanded()
        state.output_dir = self.options.output_dir.text().strip()
        if state.output_dir and self.files.sources:
            state.output_dir_for = str(source_folder(self.files.sources[0]))
        self.settings.sync()

    # -- inputs -----------------------------------------------------------------------------------

    def _start_folder(self, remembered: str) -> str:
        return remembered if remembered and Path(remembered).is_dir() else str(Path.home())

    @Slot()
    def choose_input_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a Folder of Photos", self._start_folder(self.settings.state.last_input_dir))
        if folder:
            self.add_inputs([Path(folder)])

    @Slot()
    def choose_input_files(self) -> None:
        patterns = " ".join(f"*{suffix}" for suffix in sorted(SUPPORTED_SUFFIXES))
        files, _ = QFileDialog.getOpenFileNames(
            self, "Add Photos", self._start_folder(self.settings.state.last_input_dir), f"Photos ({patterns})"
        )
        if files:
            self.add_inputs([Path(f) for f in files])

    def add_inputs(self, paths: list[Path]) -> int:
        """Add dropped or chosen folders and photos; returns how many photos were added."""
        try:
            usable = [p for p in paths if p.is_dir() or (p.is_file() and is_image_name(p))]
            unread = [p.resolve() for p in paths if p.is_file() and unread_photo_reason(p)]
        except OSError as error:  # e.g. not allowed to look inside the folder holding them
            show_exception(self, error)
            return 0
        added = 0
        if usable and not self.files.sources:
            self._forget_output_of_another_shoot(source_folder(usable[0].resolve()))
        if usable:
            unread_before = set(self.files.unread)
            added = self._relisting(lambda: self.files.add_sources(usable))
            unread += [p for p in self.files.unread if p not in unread_before]
            first = usable[0]
            self.settings.state.last_input_dir = str(source_folder(first))
            self._update_output_placeholder()
        photos = f"Added {added} photo{'s' if added != 1 else ''}."
        if unread and not added:
            show_error(self, f"{photos} Denoiser reads {READ_FORMATS}; it passed over {describe_unread(unread)}.")
        elif unread:
            self.statusBar().showMessage(f"{photos} Passed over {describe_unread(unread)}.", 15000)
        elif not usable:
            self.statusBar().showMessage(f"Nothing to add: drop folders or photos ({READ_FORMATS}).", 8000)
        else:
            self.statusBar().showMessage(photos, 5000)
        return added

    def _relisting(self, change: Callable[[], T]) -> T:
        """Run a change that relists the files, keeping the selected photo (or selecting the first)."""
        current = self.file_view.currentIndex()
        selected = self.files.entry(current.row()).path if current.isValid() else None
        result = change()
        if not (selected and self.file_view.select_path(selected)) and self.files.rowCount() > 0:
            self.file_view.setCurrentIndex(self.files.index(0, 0))
        return result

    @Slot()
    def clear_inputs(self) -> None:
        self.files.clear()
        self._update_output_placeholder()
        self.live_preview.show_file(None)
        self.preview.set_image(None)
        self.options.show_estimate(None)

    def _on_recursive_changed(self, recursive: bool) -> None:
        self._relisting(lambda: self.files.set_recursive(recursive))

    def _forget_output_of_another_shoot(self, shoot: Path) -> None:
        """A typed output folder chosen for another shoot's photos would mix two shoots: back to the default."""
        typed, meant_for = self.options.output_dir.text().strip(), self.settings.state.output_dir_for
        if typed and meant_for and Path(meant_for) != shoot:
            self.options.output_dir.clear()
            self.statusBar().showMessage(f"The output folder {typed} was for another shoot; these photos go beside theirs.", 15000)

    def _update_output_placeholder(self) -> None:
        sources = self.files.sources
        try:
            text = f"{default_output_dir(sources[0])}  (default)" if sources else "beside the photos, in <folder>-denoised"
        except ValueError:  # a drive root has no folder beside it
            text = "choose a folder for the cleaned photos"
        self.options.output_dir.setPlaceholderText(text)

    @Slot()
    def choose_output_folder(self) -> None:
        start = self.options.output_folder() or self.settings.state.last_output_dir
        folder = QFileDialog.getExistingDirectory(self, "Choose the Output Folder", self._start_folder(str(start or "")))
        if folder:
            self.options.output_dir.setText(folder)
            self.settings.state.last_output_dir = folder

    @Slot()
    def choose_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a Model File", str(Path.home()), "Denoiser models (*.pt)")
        if path:
            self.options.add_model_file(Path(path))
        else:
            self.options.restore_model()

    # -- drag and drop --------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()) and not self.runner.is_running():
            event.acceptProposedAction()
            self.drop_highlight.cover()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.drop_highlight.hide()

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_highlight.hide()
        paths = local_paths(event.mimeData())
        if paths and not self.runner.is_running():
            event.acceptProposedAction()
            self.add_inputs(paths)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._splitter_restored:  # first run: the preview gets half the window or more
            self._splitter_restored = True
            width = self.splitter.width()
            # On a small screen (1024 px) the photo list gives way (its names elide); the settings keep their width.
            options = self.options.sizeHint().width() + 30
            files = min(options, max(200, int(width * 0.2)))
            self.splitter.setSizes([files, max(300, width - files - options), options])

    def toggle_panel(self, index: int) -> None:
        """Fold a side panel away to give the preview its room, or bring it back."""
        sizes = self.splitter.sizes()
        if sizes[index] > 0:
            self._folded_width[index] = sizes[index]
            sizes[1] += sizes[index]
            sizes[index] = 0
        else:
            width = self._folded_width.get(index, SIDE_PANEL_WIDTH)
            sizes[index], sizes[1] = width, max(300, sizes[1] - width)
        self.splitter.setSizes(sizes)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.drop_highlight.isVisible():
            self.drop_highlight.cover()

    # -- preview ---------------------------------------------------------------------------------

    def _on_current_file_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        path = self.files.entry(current.row()).path if current.isValid() else None
        if path is not None and path == self.live_preview.path:
            return  # reselected after the list changed: keep the zoom and the preview
        self.options.show_estimate(None)
        # The last photo must not stay on screen, labelled After, while this one loads.
        self.preview.show_message(f"Loading {path.name}…" if path is not None else "")
        self.live_preview.show_file(path, self._written_output(path))
        self._update_open_cleaned()

    def _written_output(self, path: Path | None) -> Path | None:
        """The file this run wrote for ``path``, if a batch is running and has cleaned it."""
        return self._cleaned_output(path) if self.runner.is_running() else None

    def _cleaned_output(self, path: Path | None) -> Path | None:
        """The file the last run wrote for ``path``, if it cleaned it and the file is still there."""
        if path is None or self._plan is None:
            return None
        row = self.files.row_of(path)
        if row is None or self.files.entry(row).status != RowStatus.DONE:
            return None
        written = next((item.destination for item in self._plan.files if item.source == path), None)
        return written if written is not None and written.is_file() else None

    def _update_open_cleaned(self) -> None:
        written = self._cleaned_output(self._selected_path())
        self.open_cleaned_action.setEnabled(written is not None)
        self.open_cleaned_action.setToolTip(f"Open {written.name} in your photo viewer" if written else "Clean this photo first")

    @Slot()
    def open_cleaned_photo(self) -> None:
        """The written output of the selected photo, in the system's viewer, to check it as it will be used."""
        written = self._cleaned_output(self._selected_path())
        if written is not None:
            open_file(written, self)

    def _on_preview_timed(self, megapixels_per_second: float) -> None:
        self._preview_speed = megapixels_per_second
        self._show_time_estimate()

    def _show_time_estimate(self) -> None:
        if self.runner.is_running():
            return
        files = self.files.files()
        for path in files:
            if path not in self._megapixels_of:
                self._megapixels_of[path] = probe_megapixels(path) or 0.0
        megapixels = sum(self._megapixels_of[path] for path in files)
        self.run_panel.show_estimate(len(files), megapixels, self._preview_speed)

    def _request_after_side(self) -> None:
        # Only the After side is cleaned: the Before side shows the original anyway.
        self.live_preview.set_region(self.preview.after_region())

    def _on_preview_load_failed(self, _path: str, message: str, details: str) -> None:
        self.preview.show_message(message)
        self.preview.setToolTip(details.strip().splitlines()[-1] if details else "")

    def _on_preview_failed(self, message: str, details: str) -> None:
        self.preview.set_busy(f"No preview: {message.splitlines()[0]}")
        self.preview.setToolTip(details.strip().splitlines()[-1] if details else "")

    def _update_preview_settings(self) -> None:
        self.live_preview.set_settings(self.options.denoise_settings())

    # -- running ------------------------------------------------------------------------------------

    def confirm_output_inside_input(self, output: Path, folder: Path) -> bool:
        answer = QMessageBox.question(
            self,
            "Output Inside the Photo Folder?",
            f"The output folder\n{output}\nis inside the folder you are cleaning,\n{folder}.\n\n"
            "Cleaned photos would mix with the originals. Use it anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _snapshot_job(self, only: frozenset[Path] | None = None) -> BatchJob | None:
        """The run as it stands now (or of ``only`` these listed photos), or None, having told the user why."""
        sources = tuple(self.files.sources)
        if self.files.rowCount() == 0:  # folders without photos in them count as nothing to do
            show_error(self, "There are no photos to clean. Add a folder with photos in it, or some photos (File > Open Folder, or drop them on the window).")
            return None
        model = self.options.model_reference()
        if model is None:
            show_error(self, "No denoising model is installed. Choose a model file under Model.")
            return None
        output = self.options.output_folder()
        allow_inside = False
        for source in sources:
            folder = source_folder(source)
            target = (output or default_output_dir(source)).resolve()
            if is_inside(target, folder) and not allow_inside:
                if not self.confirm_output_inside_input(target, folder):
                    return None
                allow_inside = True
        excluded = set(self.files.excluded)
        if only is not None:
            excluded |= {path for path in self.files.files() if path not in only}
        options = self.options.batch_options(
            self.input_bar.recursive.isChecked(), allow_inside, frozenset(excluded), self.files.strengths()
        )
        self._output_dir = output.resolve() if output else default_output_dir(sources[0])
        return BatchJob(sources, options)

    @Slot()
    def retry_failed(self) -> None:
        """Clean again only the photos that failed in the last run (after, say, freeing disk space)."""
        failed = frozenset(self.files.entry(row).path for row in range(self.files.rowCount()) if self.files.entry(row).status == RowStatus.FAILED)
        if failed:
            self._start(only=failed)

    def _selected_path(self) -> Path | None:
        current = self.file_view.currentIndex()
        return self.files.entry(current.row()).path if current.isValid() else None

    @Slot()
    def set_own_strength(self) -> None:
        """The strength in the panel (as the preview shows it) becomes this photo's own, whatever the panel says later."""
        path = self._selected_path()
        if path is not None:
            self.files.set_strength(path, self.options.strength_value())

    @Slot()
    def clear_own_strength(self) -> None:
        path = self._selected_path()
        if path is not None:
            self.files.set_strength(path, None)

    @Slot()
    def remove_selected(self) -> None:
        if self.runner.is_running():
            return
        path = self._selected_path()
        if path is not None:
            self._relisting(lambda: self.files.remove([path]))
            self.statusBar().showMessage(f"Removed {path.name} from the list; the file is untouched.", 5000)

    @Slot()
    def start_batch(self) -> None:
        self._start()

    def _start(self, only: frozenset[Path] | None = None) -> None:
        if self.runner.is_running():
            return
        if self.training_dialog is not None and self.training_dialog.is_running():
            show_error(self, "Denoiser is training a model (Tools > Train on My Photos). Both at once would be very slow: "
                       "start cleaning when the training has finished, or stop it first.")
            return
        try:
            job = self._snapshot_job(only)
        except ValueError as error:  # e.g. a drive root, which has no folder beside it for the output
            show_exception(self, error, f"The cleaned photos cannot go there: {error}.")
            return
        except OSError as error:
            show_exception(self, error)
            return
        if job is None:
            return
        self.save_settings()
        self._plan, self._megapixels, self._seconds = None, 0.0, 0.0
        self.throughput_label.setText("")
        self.files.reset_statuses(RowStatus.QUEUED, only)
        self.run_panel.begin(self.files.rowCount() if only is None else len(only))
        self._set_running(True)
        self.runner.start(job)

    @Slot()
    def cancel_batch(self) -> None:
        if self.runner.is_running():
            self.runner.cancel()
            self.statusBar().showMessage("Stopping after the current tile…")

    def _set_running(self, running: bool) -> None:
        self.run_panel.set_running(running)
        self.live_preview.set_enabled(not running)
        self.start_action.setEnabled(not running)
        self.cancel_action.setEnabled(running)
        for widget in (self.input_bar, self.options):
            widget.setEnabled(not running)
        self.open_folder_action.setEnabled(not running)
        self.open_files_action.setEnabled(not running)
        self.retry_action.setEnabled(not running)
        self.remove_action.setEnabled(not running)

    def _on_model_ready(self, name: str, compute: str) -> None:
        # Kept for the whole run, under the throughput: speed depends on the CPU and the precision.
        # Long CPU names end in "…" rather than being cut mid-word; the tooltip has it all.
        full = f"{name} on {compute}"
        self.compute_label.setText(
            self.compute_label.fontMetrics().elidedText(full, Qt.TextElideMode.ElideRight, COMPUTE_LABEL_WIDTH)
        )
        self.compute_label.setToolTip(full)

    def _on_planned(self, plan: Plan) -> None:
        self._plan = plan
        self.run_panel.set_total(len(plan.files))

    def _on_progress(self, update: Update) -> None:
        if update.stage == Stage.FILES and self._plan is not None:
            index, total = int(update.done), int(update.total)
            if index < total:
                self.files.set_status(self._plan.files[index].source, RowStatus.WORKING)
                self.run_panel.file_started(index, total, self._plan.files[index].source.name)
            else:
                self.run_panel.file_started(total, total, "")
        elif update.stage == Stage.TILE:
            self.run_panel.tiles(update.done, update.total)

    def _on_file_done(self, result: FileResult) -> None:
        reason = plain_reason(result.source, result.reason)
        notes = tuple(plain_reason(result.source, note) for note in result.warnings)
        self.files.set_status_under(result.source, result.status, reason, notes)
        if result.status == FileStatus.DONE and result.source == self.live_preview.path:
            self.live_preview.show_output(result.destination)
            self._update_open_cleaned()
        if result.status == FileStatus.DONE and result.seconds > 0:
            self._megapixels += result.megapixels
            self._seconds += result.seconds
            self.throughput_label.setText(f"{self._megapixels / self._seconds:.2f} MP/s")

    def _on_finished(self, summary: Summary) -> None:
        if self._closing:
            return
        if summary.cancelled or summary.stopped_by:
            for row in range(self.files.rowCount()):
                if self.files.entry(row).status == RowStatus.QUEUED:
                    self.files.set_status(self.files.entry(row).path, RowStatus.NOT_STARTED)
        self.run_panel.finish(summary)
        self._update_open_cleaned()
        self.statusBar().showMessage(
            summary.counts_text() + (" — cancelled" if summary.cancelled else ""),
        )
        self.show_summary(summary)
        self._notify_if_away(summary)
        if self.options.open_when_done.isChecked() and summary.done and not summary.cancelled and self._output_dir:
            open_folder(self._output_dir, self)

    def _notify_if_away(self, summary: Summary) -> None:
        """A long batch that ends while the user is in another window flashes the taskbar or bounces the Dock icon."""
        if summary.seconds >= LONG_BATCH_SECONDS and not self.isActiveWindow():
            QApplication.alert(self)
            self.statusBar().showMessage(f"Finished: {summary.counts_text()}")

    def show_summary(self, summary: Summary) -> SummaryDialog:
        if self.summary_dialog is not None:
            self.summary_dialog.close()
        dialog = SummaryDialog(summary, self._output_dir, self)
        dialog.file_activated.connect(self.file_view.select_path)
        dialog.destroyed.connect(lambda: setattr(self, "summary_dialog", None))
        self.summary_dialog = dialog
        dialog.show()
        return dialog

    def _on_errored(self, message: str, details: str) -> None:
        if self._closing:
            return
        self.run_panel.stopped_by_error()
        show_error(self, message, details)

    def _on_stopped(self) -> None:
        for row in range(self.files.rowCount()):
            entry = self.files.entry(row)
            if entry.status in (RowStatus.QUEUED, RowStatus.WORKING):
                self.files.set_status(entry.path, RowStatus.NONE)
        self._set_running(False)

    # -- training ---------------------------------------------------------------------------------------

    @Slot()
    def show_training_dialog(self) -> FineTuneDialog:
        if self.training_dialog is None:
            self.training_dialog = FineTuneDialog(self.settings, self.options.model_reference(), self)
            self.training_dialog.blocked_by = self._why_training_must_wait
            self.training_dialog.modelCreated.connect(self._on_model_created)
            self.training_dialog.destroyed.connect(lambda: setattr(self, "training_dialog", None))
        self.training_dialog.show()
        self.training_dialog.raise_()
        self.training_dialog.activateWindow()
        return self.training_dialog

    def _on_model_created(self, path: str) -> None:
        self.refresh_models()  # listed, not chosen: the model the user cleans with changes only when they choose it
        self.statusBar().showMessage(f"Your new model \u201c{Path(path).stem}\u201d is in the model list.", 15000)

    @Slot()
    def show_models_dialog(self) -> ModelsDialog:
        dialog = ModelsDialog(self)
        dialog.modelsChanged.connect(self.refresh_models)
        dialog.modelRenamed.connect(self.refresh_models)
        dialog.show()
        return dialog

    @Slot()
    def refresh_models(self, renamed_from: str = "", renamed_to: str = "") -> None:
        """Refill the model list after models were added, renamed or deleted, keeping the choice where it still exists."""
        entries = list_models()
        chosen = self.options.model_reference() or DEFAULT_MODEL
        if renamed_from and chosen == renamed_from:
            chosen = renamed_to
        if not chosen.endswith(MODEL_SUFFIX) and chosen not in {entry.name for entry in entries}:
            chosen = DEFAULT_MODEL
            self.statusBar().showMessage("The model you had chosen is gone; the standard model is chosen instead.", 15000)
        self.options.reload_models(entries, chosen)

    def _why_training_must_wait(self) -> str | None:
        if not self.runner.is_running():
            return None
        return "Denoiser is cleaning photos. Both at once would be very slow: start training when the photos are done."

    # -- help and closing -------------------------------------------------------------------------------

    @Slot()
    def show_about(self) -> AboutDialog:
        dialog = AboutDialog(self.options.model_reference(), self)
        dialog.show()
        return dialog

    def confirm_stop_for_quit(self, what: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, "Stop and Quit?", what, parent=self)
        box.setInformativeText(
            "Quitting stops after the current tile. Photos already cleaned are kept and no half-written file is "
            "left; Start again later to clean the rest."
        )
        stop = box.addButton("Stop and Quit", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep Working", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.exec()
        return box.clickedButton() is stop

    def closeEvent(self, event: QCloseEvent) -> None:
        # A batch is asked about; a training is not: it resumes from its last step.
        if self.runner.is_running() and not self.confirm_stop_for_quit("Denoiser is cleaning photos."):
            event.ignore()
            return
        # From here on the stopped run's queued signals (its summary, its
        # errors) must not open dialogs on a window that is going away: a
        # dialog opened now would keep the application running with no window.
        self._closing = True
        # Cancelling stops within a tile and leaves no partial file, so quitting mid-run is safe.
        self.runner.shutdown()
        if self.training_dialog is not None:
            self.training_dialog.shutdown()  # training stays resumable from its last step
            self.training_dialog.close()
        if self.summary_dialog is not None:
            self.summary_dialog.close()
        self.live_preview.shutdown()
        self.files.shutdown()
        self.save_settings()
        super().closeEvent(event)
