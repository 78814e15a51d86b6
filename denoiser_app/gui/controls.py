"""The options panels: what to add, where results go, and how strongly to clean.

The panels know nothing about running: they hold values, load and store them
from the typed settings, and turn them into the core's immutable options.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible, QLabeledSlider

from denoiser_app.core.batch import BatchOptions
from denoiser_app.core.engine import (
    AUTO,
    DEFAULT_PASSES,
    MAX_AUTO_PERCENT,
    MAX_STRENGTH,
    MIN_TILE,
    PASS_CHOICES,
    DenoiseSettings,
    Strength,
    available_devices,
)
from denoiser_app.core.models import DEFAULT_MODEL, MODEL_SUFFIX, ModelEntry
from denoiser_app.gui.settings import Preferences

# (label, core format, bit depth)
FORMATS = (
    ("Same as input", "same", None),
    ("PNG", "png", None),
    ("16-bit TIFF", "tiff", 16),
    ("JPEG", "jpeg", None),
)
CHOOSE_MODEL = "\u2026choose"  # item data of the "Other model file…" entry


class InputBar(QWidget):
    """Buttons that add photos, and whether folders include their subfolders."""

    add_folder = Signal()
    add_files = Signal()
    clear = Signal()
    recursive_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder_button = QPushButton("Add Folder…")
        self.files_button = QPushButton("Add Photos…")
        self.clear_button = QPushButton("Clear")
        self.recursive = QCheckBox("Include subfolders")
        self.recursive.setToolTip("Also clean photos in folders inside the folders you add; the output mirrors them.")
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # Two rows, so the photo list can be narrow and leave the preview most of the window.
        layout.addWidget(self.folder_button, 0, 0)
        layout.addWidget(self.files_button, 0, 1)
        layout.addWidget(self.recursive, 1, 0)
        layout.addWidget(self.clear_button, 1, 1)
        self.folder_button.clicked.connect(self.add_folder)
        self.files_button.clicked.connect(self.add_files)
        self.clear_button.clicked.connect(self.clear)
        self.recursive.toggled.connect(self.recursive_changed)


class OptionsPanel(QWidget):
    preview_settings_changed = Signal()
    choose_output = Signal()
    choose_model_file = Signal()
    preset_chosen = Signal(str)
    save_preset = Signal()
    delete_preset = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._last_model: str | None = None  # the model chosen before "Other model file…"
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._build_presets())
        layout.addWidget(self._build_cleaning())
        layout.addWidget(self._build_output())
        self.advanced = QCollapsible("Advanced", expandedIcon="\u25be", collapsedIcon="\u25b8")
        self.advanced.addWidget(self._build_advanced())
        layout.addWidget(self.advanced)
        layout.addStretch(1)
        for text_field in self.findChildren(QLineEdit):  # spin boxes' too: a dropped folder adds photos, wherever it lands
            text_field.setAcceptDrops(False)
        self._update_enabled()

    # -- building --------------------------------------------------------------

    def _build_presets(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.presets = QComboBox()
        self.presets.setToolTip("Saved settings: strength, keep grain, model, output. Choose one to apply it.")
        self.presets.activated.connect(self._on_preset_activated)
        save = QPushButton("Save\u2026")
        save.setToolTip("Save the settings below as a preset")
        save.clicked.connect(self.save_preset)
        self.delete_preset_button = QPushButton("Delete")
        self.delete_preset_button.clicked.connect(lambda: self.delete_preset.emit(self.presets.currentText()))
        row.addWidget(QLabel("Preset:"))
        row.addWidget(self.presets, 1)
        row.addWidget(save)
        row.addWidget(self.delete_preset_button)
        self.set_presets([])
        return row

    def set_presets(self, names: list[str], current: str = "") -> None:
        self.presets.blockSignals(True)
        self.presets.clear()
        self.presets.addItem("Choose a preset\u2026" if names else "No presets yet", "")
        for name in names:
            self.presets.addItem(name, name)
        self.presets.setCurrentIndex(max(0, self.presets.findData(current)))
        self.presets.blockSignals(False)
        self.delete_preset_button.setEnabled(bool(current))

    def _on_preset_activated(self, index: int) -> None:
        name = str(self.presets.itemData(index) or "")
        self.delete_preset_button.setEnabled(bool(name))
        if name:
            self.preset_chosen.emit(name)

    def _build_cleaning(self) -> QGroupBox:
        box = QGroupBox("Noise removal")
        form = QFormLayout(box)
        self.strength = QLabeledSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(0, int(MAX_STRENGTH))
        self.strength.setToolTip(
            "How much noise to remove (its standard deviation in 8-bit levels).\n"
            "Higher values remove more noise, and more fine detail with it."
        )
        self.auto_percent = QLabeledSlider(Qt.Orientation.Horizontal)
        self.auto_percent.setRange(0, int(MAX_AUTO_PERCENT))
        self.auto_percent.setValue(100)
        self.auto_percent.setToolTip(
            "How much of the measured noise to remove, in per cent of Auto's reading:\n"
            "100 removes what Auto measures, less is gentler, more is stronger."
        )
        self.auto_strength = QCheckBox("Auto")
        self.auto_strength.setToolTip("Measure each photo's noise (locally, as it varies) and remove that much.")
        self.estimate_label = QLabel("Estimated noise: select a photo")
        self.estimate_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._estimate: float | None = None
        strength_row = QHBoxLayout()
        strength_row.addWidget(self.strength, 1)
        strength_row.addWidget(self.auto_percent, 1)
        strength_row.addWidget(self.auto_strength)
        self.strength_caption = QLabel("Strength:")
        form.addRow(self.strength_caption, strength_row)
        form.addRow("", self.estimate_label)
        self.keep_grain = QLabeledSlider(Qt.Orientation.Horizontal)
        self.keep_grain.setRange(0, 100)
        self.keep_grain.setToolTip(
            "Blend this share (per cent) of the removed noise back in,\nfor a natural look with fine grain."
        )
        form.addRow("Keep grain (%):", self.keep_grain)
        self.model = QComboBox()
        self.model.setToolTip("The trained network that does the cleaning.")
        form.addRow("Model:", self.model)
        self.device = QComboBox()
        self.device.addItems(available_devices())
        self.device.setToolTip("auto uses the graphics card when one is available.")
        form.addRow("Device:", self.device)
        self.strength.valueChanged.connect(self.preview_settings_changed)
        self.auto_percent.valueChanged.connect(self.preview_settings_changed)
        self.keep_grain.valueChanged.connect(self.preview_settings_changed)
        self.auto_strength.toggled.connect(self._start_manual_at_the_estimate)
        self.auto_strength.toggled.connect(self._update_enabled)
        self.auto_strength.toggled.connect(self.preview_settings_changed)
        self.model.activated.connect(self._on_model_activated)
        self.model.currentIndexChanged.connect(self._remember_model)
        self.model.currentIndexChanged.connect(self.preview_settings_changed)
        self.device.currentIndexChanged.connect(self.preview_settings_changed)
        return box

    def _build_output(self) -> QGroupBox:
        box = QGroupBox("Output")
        form = QFormLayout(box)
        self.output_dir = QLineEdit()
        self.output_dir.setClearButtonEnabled(True)
        self.output_button = QPushButton("Choose…")
        self.output_button.clicked.connect(self.choose_output)
        row = QHBoxLayout()
        row.addWidget(self.output_dir, 1)
        row.addWidget(self.output_button)
        form.addRow("Folder:", row)
        self.format = QComboBox()
        for label, name, _ in FORMATS:
            self.format.addItem(label, name)
        self.jpeg_quality = QSpinBox()
        self.jpeg_quality.setRange(1, 100)
        self.jpeg_quality.setSuffix(" quality")
        format_row = QHBoxLayout()
        format_row.addWidget(self.format, 1)
        format_row.addWidget(self.jpeg_quality)
        form.addRow("Format:", format_row)
        self.name_suffix = QLineEdit()
        self.name_suffix.setPlaceholderText("none (e.g. -clean)")
        self.name_suffix.setToolTip("Added to the end of each output file's name.")
        form.addRow("Name suffix:", self.name_suffix)
        self.policy = QComboBox()
        self.policy.addItem("Skip the photo", False)
        self.policy.addItem("Replace the file", True)
        form.addRow("If the file exists:", self.policy)
        self.open_when_done = QCheckBox("Open the output folder when done")
        form.addRow("", self.open_when_done)
        self.format.currentIndexChanged.connect(self._update_enabled)
        return box

    def _build_advanced(self) -> QWidget:
        content = QWidget()
        form = QFormLayout(content)
        self.tile = QSpinBox()
        self.tile.setRange(MIN_TILE, 4096)
        self.tile.setSingleStep(64)
        self.tile.setSuffix(" px")
        self.tile.setToolTip("Photos are cleaned in squares of this size. Smaller uses less memory; larger is a little faster.")
        form.addRow("Tile size:", self.tile)
        self.passes = QComboBox()
        for passes in PASS_CHOICES:
            note = {1: " (fastest)", DEFAULT_PASSES: " (default)", PASS_CHOICES[-1]: " (cleanest)"}.get(passes, "")
            self.passes.addItem(f"{passes}{note}", passes)
        self.passes.setToolTip(
            "Each tile is cleaned this many times, turned and mirrored, and the results averaged.\n"
            "More passes leave fewer artefacts and take proportionally longer."
        )
        form.addRow("Passes:", self.passes)
        self.max_megapixels = QSpinBox()
        self.max_megapixels.setRange(10, 5000)
        self.max_megapixels.setSingleStep(50)
        self.max_megapixels.setSuffix(" MP")
        self.max_megapixels.setToolTip(
            "Photos larger than this are refused before they are opened, with the reason, and the batch goes on.\n"
            "Raise it for giant panoramas; it guards against damaged or hostile files that claim a huge size."
        )
        form.addRow("Largest photo:", self.max_megapixels)
        self.tile.valueChanged.connect(self.preview_settings_changed)
        self.passes.currentIndexChanged.connect(self.preview_settings_changed)
        return content

    def _update_enabled(self) -> None:
        auto = self.auto_strength.isChecked()
        self.strength.setVisible(not auto)
        self.auto_percent.setVisible(auto)
        self.strength_caption.setText("Strength (% of Auto):" if auto else "Strength (noise level):")
        self.jpeg_quality.setEnabled(self.format.currentData() == "jpeg")

    # -- models ------------------------------------------------------------------

    def set_models(self, entries: list[ModelEntry], extra_files: list[Path], selected: str) -> None:
        """Fill the model list: bundled and the user's own models, plus explicit model files."""
        self.model.blockSignals(True)
        self.model.clear()
        for entry in entries:
            self.model.addItem(entry.label if entry.bundled else f"{entry.label} (yours)", entry.name)
            tooltip = f"{entry.name}: {entry.info.description}" if entry.info.description else entry.name
            self.model.setItemData(self.model.count() - 1, tooltip, Qt.ItemDataRole.ToolTipRole)
        for path in extra_files:
            self._add_model_item(path)
        self.model.addItem("Other model file…", CHOOSE_MODEL)
        self.model.blockSignals(False)
        self.select_model(selected or DEFAULT_MODEL)
        self._remember_model()

    def reload_models(self, entries: list[ModelEntry], selected: str) -> None:
        """Refill the list after a model was added, keeping the model files chosen so far."""
        files = [
            Path(data)
            for index in range(self.model.count())
            if isinstance(data := self.model.itemData(index), str) and data.endswith(MODEL_SUFFIX)
        ]
        self.set_models(entries, files, selected)

    def _add_model_item(self, path: Path) -> int:
        index = self.model.findData(str(path))
        if index < 0:
            index = max(0, self.model.findData(CHOOSE_MODEL))
            self.model.insertItem(index, f"{path.name} (file)", str(path))
            self.model.setItemData(index, str(path), Qt.ItemDataRole.ToolTipRole)
        return index

    def add_model_file(self, path: Path) -> None:
        self.model.setCurrentIndex(self._add_model_item(path))

    def select_model(self, reference: str) -> None:
        index = self.model.findData(reference)
        if index < 0 and reference.endswith(".pt") and Path(reference).is_file():
            index = self._add_model_item(Path(reference))
        if index < 0:
            index = 0 if self.model.itemData(0) != CHOOSE_MODEL else -1
        self.model.setCurrentIndex(index)

    def model_reference(self) -> str | None:
        """The chosen model's name or file path; None when there is no model to choose."""
        data = self.model.currentData()
        return None if data in (None, CHOOSE_MODEL) else str(data)

    def _remember_model(self) -> None:
        if self.model.currentData() != CHOOSE_MODEL:
            self._last_model = self.model_reference()

    def restore_model(self) -> None:
        """Back to the model chosen before "Other model file…" (whose dialog was cancelled)."""
        self.select_model(self._last_model or "")

    def _on_model_activated(self, index: int) -> None:
        if self.model.itemData(index) == CHOOSE_MODEL:
            self.choose_model_file.emit()

    # -- values --------------------------------------------------------------------

    def strength_value(self) -> Strength:
        """``"auto"``, a share of Auto (``"NN%"``) or a fixed level, as the engine takes it."""
        if not self.auto_strength.isChecked():
            return float(self.strength.value())
        percent = self.auto_percent.value()
        return AUTO if percent == 100 else f"{percent}%"

    def keep_grain_value(self) -> float:
        return self.keep_grain.value() / 100.0

    def show_estimate(self, sigma: float | None) -> None:
        """Auto's reading of the selected photo (at 100%), or None when no photo is selected."""
        self._estimate = sigma
        text = "select a photo" if sigma is None else f"{sigma:.1f}"
        self.estimate_label.setText(f"Estimated noise: {text}")

    def _start_manual_at_the_estimate(self, auto: bool) -> None:
        """Unticking Auto starts the fixed level where Auto was, so the picture does not jump."""
        if not auto and self._estimate is not None:
            level = self._estimate * self.auto_percent.value() / 100
            self.strength.setValue(round(min(max(level, 0.0), MAX_STRENGTH)))

    def denoise_settings(self) -> DenoiseSettings:
        """How the panel says to denoise: the preview shows it, the batch runs it."""
        return DenoiseSettings(
            model=self.model_reference(),
            device=self.device.currentText(),
            passes=self.passes_value(),
            strength=self.strength_value(),
            keep_grain=self.keep_grain_value(),
            tile=self.tile.value(),
        )

    def passes_value(self) -> int:
        return int(self.passes.currentData())

    def output_folder(self) -> Path | None:
        text = self.output_dir.text().strip()
        return Path(text).expanduser() if text else None

    def batch_options(
        self,
        recursive: bool,
        allow_inside_input: bool = False,
        exclude: frozenset[Path] = frozenset(),
        strength_for: dict[Path, Strength] | None = None,
    ) -> BatchOptions:
        _, name, bit_depth = FORMATS[self.format.currentIndex()]
        return BatchOptions(
            output_dir=self.output_folder(),
            recursive=recursive,
            format=name,
            jpeg_quality=self.jpeg_quality.value(),
            bit_depth=bit_depth,
            name_suffix=self.name_suffix.text().strip(),
            overwrite=bool(self.policy.currentData()),
            allow_inside_input=allow_inside_input,
            denoise=self.denoise_settings(),
            max_megapixels=float(self.max_megapixels.value()),
            exclude=exclude,
            strength_for=dict(strength_for or {}),
        )

    def load(self, preferences: Preferences) -> None:
        self.strength.setValue(round(preferences.clamped_strength()))
        self.auto_strength.setChecked(preferences.auto_strength)
        self.auto_percent.setValue(round(min(max(preferences.auto_percent, 0.0), MAX_AUTO_PERCENT)))
        self.keep_grain.setValue(round(min(max(preferences.keep_grain, 0.0), 100.0)))
        device = preferences.device
        self.device.setCurrentIndex(max(0, self.device.findText(device)))
        self.format.setCurrentIndex(max(0, self.format.findData(preferences.format)))
        self.jpeg_quality.setValue(min(100, max(1, preferences.jpeg_quality)))
        self.name_suffix.setText(preferences.name_suffix)
        self.policy.setCurrentIndex(1 if preferences.overwrite else 0)
        self.open_when_done.setChecked(preferences.open_when_done)
        self.tile.setValue(preferences.tile)
        self.passes.setCurrentIndex(max(0, self.passes.findData(preferences.passes)))
        self.max_megapixels.setValue(round(preferences.max_megapixels))
        self._update_enabled()

    def store(self, preferences: Preferences) -> None:
        preferences.strength = float(self.strength.value())
        preferences.auto_strength = self.auto_strength.isChecked()
        preferences.auto_percent = float(self.auto_percent.value())
        preferences.keep_grain = float(self.keep_grain.value())
        preferences.model = self.model_reference() or ""
        preferences.device = self.device.currentText()
        preferences.format = str(self.format.currentData())
        preferences.jpeg_quality = self.jpeg_quality.value()
        preferences.name_suffix = self.name_suffix.text()
        preferences.overwrite = bool(self.policy.currentData())
        preferences.open_when_done = self.open_when_done.isChecked()
        preferences.tile = self.tile.value()
        preferences.passes = self.passes_value()
        preferences.max_megapixels = float(self.max_megapixels.value())
