"""Tools > Manage Models: the models there are, each with its card; import, export, rename and delete.

The dialog changes files only through :mod:`denoiser_app.core.user_models`
and announces every change with ``modelsChanged`` so the window can refill
its model list at once. Questions to the user (a file, a name, a yes) go
through small methods that tests replace.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from denoiser_app.core.modelfile import ModelFileError
from denoiser_app.core.models import MODEL_SUFFIX, ModelEntry, list_models
from denoiser_app.core.user_models import ModelNameError, delete_model, export_model, import_model, rename_model
from denoiser_app.gui.errors import show_error
from denoiser_app.gui.model_card import model_card

MODEL_FILTER = f"Denoiser models (*{MODEL_SUFFIX})"


class ModelsDialog(QDialog):
    """Lists every model; the user's own can be renamed and deleted, any can be exported."""

    modelsChanged = Signal()  # a model was added or deleted
    modelRenamed = Signal(str, str)  # old name, new name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(760, 460)
        self.list = QListWidget()
        self.list.currentItemChanged.connect(self._show_selected)
        self.card = QTextBrowser()
        self.import_button = QPushButton("&Import…")
        self.export_button = QPushButton("&Export…")
        self.rename_button = QPushButton("&Rename…")
        self.delete_button = QPushButton("&Delete…")
        self.import_button.setToolTip("Add a model file someone shared with you; it is checked on a test image first.")
        self.import_button.clicked.connect(self.import_file)
        self.export_button.clicked.connect(self.export_selected)
        self.rename_button.clicked.connect(self.rename_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        buttons = QVBoxLayout()
        for button in (self.import_button, self.export_button, self.rename_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        body = QHBoxLayout()
        body.addWidget(self.list, 2)
        body.addWidget(self.card, 3)
        body.addLayout(buttons)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(close)
        self.refresh()

    # -- the list ---------------------------------------------------------------------------------

    def refresh(self, select: str = "") -> None:
        current = select or self.selected_name()
        self.list.clear()
        for entry in list_models():
            item = QListWidgetItem(entry.label if entry.bundled else f"{entry.label} (yours)")
            item.setData(Qt.ItemDataRole.UserRole, entry)
            item.setToolTip("Built in: can be exported, not changed" if entry.bundled else str(entry.path))
            self.list.addItem(item)
            if entry.name == current:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self._show_selected()

    def selected_entry(self) -> ModelEntry | None:
        item = self.list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def selected_name(self) -> str:
        entry = self.selected_entry()
        return entry.name if entry else ""

    @Slot()
    def _show_selected(self) -> None:
        entry = self.selected_entry()
        self.card.setMarkdown(model_card(str(entry.path)) if entry else "")
        own = entry is not None and not entry.bundled
        self.rename_button.setEnabled(own)
        self.delete_button.setEnabled(own)
        self.export_button.setEnabled(entry is not None)

    # -- questions (replaced in tests) ------------------------------------------------------------

    def ask_import_path(self) -> Path | None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a Model", "", MODEL_FILTER)
        return Path(path) if path else None

    def ask_export_path(self, entry: ModelEntry) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the Model", entry.path.name, MODEL_FILTER)
        return Path(path) if path else None

    def ask_name(self, title: str, current: str) -> str | None:
        name, accepted = QInputDialog.getText(self, title, "Name:", text=current)
        return name.strip() if accepted else None

    def confirm_delete(self, entry: ModelEntry) -> bool:
        answer = QMessageBox.question(
            self,
            "Delete the Model?",
            f"Delete \u201c{entry.label}\u201d? Its file is removed from disk; export it first to keep a copy.",
        )
        return answer == QMessageBox.StandardButton.Yes

    # -- actions ----------------------------------------------------------------------------------

    @Slot()
    def import_file(self) -> None:
        source = self.ask_import_path()
        if source is None:
            return
        name: str | None = source.stem
        while name is not None:
            try:
                path = import_model(source, name)
            except ModelNameError as error:
                name = self.ask_name(f"{error} Import as:", name)
                continue
            except (ModelFileError, OSError) as error:
                return show_error(self, f"This file cannot be used as a model.\n\n{error}")
            self.refresh(path.stem)
            self.modelsChanged.emit()
            return

    @Slot()
    def export_selected(self) -> None:
        entry = self.selected_entry()
        destination = self.ask_export_path(entry) if entry else None
        if entry is None or destination is None:
            return
        try:
            export_model(entry.name, destination)
        except (ModelFileError, OSError) as error:
            show_error(self, f"The model could not be exported: {error}")

    @Slot()
    def rename_selected(self) -> None:
        entry = self.selected_entry()
        name = self.ask_name("Rename the Model", entry.name) if entry else None
        if entry is None or not name:
            return
        try:
            path = rename_model(entry.name, name)
        except (ModelFileError, OSError) as error:
            return show_error(self, str(error))
        self.refresh(path.stem)
        self.modelRenamed.emit(entry.name, path.stem)

    @Slot()
    def delete_selected(self) -> None:
        entry = self.selected_entry()
        if entry is None or entry.bundled or not self.confirm_delete(entry):
            return
        try:
            delete_model(entry.name)
        except (ModelFileError, OSError) as error:
            return show_error(self, str(error))
        self.refresh()
        self.modelsChanged.emit()
