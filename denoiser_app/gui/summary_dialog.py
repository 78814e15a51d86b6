"""What a finished run did: counts, speed, and every failure with its reason, one click from the file."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from denoiser_app.core.batch import Summary, source_folder
from denoiser_app.gui.errors import plain_reason, show_error


def headline(summary: Summary) -> str:
    if summary.cancelled:
        return "Cancelled. Photos already cleaned are kept; nothing partial was written."
    if summary.stopped_by:
        return f"Stopped: {summary.stopped_by}. Photos already cleaned are kept; free some space and start again to clean the rest."
    if summary.failed:
        return "Finished, but some photos could not be cleaned."
    return "All done."


class SummaryDialog(QDialog):
    file_activated = Signal(Path)  # double-clicked failure: show it in the list

    def __init__(self, summary: Summary, output_dir: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Denoiser \u2014 Summary")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.summary = summary
        self.output_dir = output_dir
        layout = QVBoxLayout(self)
        title = QLabel(headline(summary))
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        title.setWordWrap(True)
        layout.addWidget(title)
        counts = summary.counts_text()
        if summary.seconds > 0:
            counts += f" \u2014 {summary.megapixels / summary.seconds:.2f} megapixels per second"
        self.counts_label = QLabel(counts)
        layout.addWidget(self.counts_label)
        # Every photo that was not cleaned, by name and why: failures first.
        self.failures = QListWidget()
        listed = [("Failed", r) for r in summary.failures] + [("Skipped", r) for r in summary.skips]
        listed += [("Cancelled while cleaning", r) for r in summary.cancelled_files]
        if listed:
            layout.addWidget(QLabel("Not cleaned (double-click a photo to show it in the list):"))
            for label, result in listed:
                reason = plain_reason(result.source, result.reason)
                item = QListWidgetItem(f"{result.source.name} \u2014 {label}" + (f": {reason}" if reason else ""))
                item.setData(Qt.ItemDataRole.UserRole, str(result.source))
                item.setToolTip(f"{result.source}\n{result.reason}")
                self.failures.addItem(item)
            self.failures.setCurrentRow(0)
            layout.addWidget(self.failures)
            self.failures.itemActivated.connect(self._activate)
        else:
            self.failures.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        if listed:
            reveal = QPushButton("Open Its Folder")
            reveal.clicked.connect(self._open_failure_folder)
            buttons.addButton(reveal, QDialogButtonBox.ButtonRole.ActionRole)
        if output_dir is not None and summary.done:
            open_output = QPushButton("Open Output Folder")
            open_output.clicked.connect(lambda: open_folder(output_dir, self))
            buttons.addButton(open_output, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 320 if listed else 140)

    def _selected_path(self) -> Path | None:
        item = self.failures.currentItem()
        return Path(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def _activate(self, item: QListWidgetItem) -> None:
        self.file_activated.emit(Path(item.data(Qt.ItemDataRole.UserRole)))

    def _open_failure_folder(self) -> None:
        path = self._selected_path()
        if path is not None:
            open_folder(source_folder(path), self)


def open_folder(folder: Path, parent: QWidget | None = None) -> bool:
    """Show ``folder`` in the system's file manager; if none answers, say so and put the path on the clipboard."""
    return _open_with_system(folder, "No file manager could open", parent)


def open_file(file: Path, parent: QWidget | None = None) -> bool:
    """Open ``file`` in the app the system gives its type (a photo viewer); if none answers, say so as above."""
    return _open_with_system(file, "No app could open", parent)


def _open_with_system(path: Path, failure: str, parent: QWidget | None) -> bool:
    if QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        return True
    QGuiApplication.clipboard().setText(str(path))
    show_error(parent, f"{failure}\n{path}\n\nIts path is on the clipboard.")
    return False
