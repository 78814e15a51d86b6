"""Help > About: the version, and the default model's card."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

from denoiser_app import __version__
from denoiser_app.core.models import DEFAULT_MODEL, resources_dir


def model_card_path(model: str = DEFAULT_MODEL) -> Path:
    return resources_dir() / "models" / f"{model}.md"


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Denoiser")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        title = QLabel(f"<h2>Denoiser {__version__}</h2><p>Removes sensor noise from folders of photos.</p>")
        title.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(title)
        self.card = QTextBrowser()
        self.card.setOpenExternalLinks(True)
        card = model_card_path()
        if card.is_file():
            self.card.setMarkdown(card.read_text(encoding="utf-8"))
        else:
            self.card.setMarkdown(f"*No model card is installed for the default model ({DEFAULT_MODEL}).*")
        layout.addWidget(self.card, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 480)
