"""Help > About: the version, and the card of the model chosen in the window."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

from denoiser_app import __version__
from denoiser_app.core.models import resources_dir
from denoiser_app.gui.model_card import model_card
from denoiser_app.gui.summary_dialog import open_folder


class AboutDialog(QDialog):
    def __init__(self, model: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Denoiser")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        title = QLabel(f"<h2>Denoiser {__version__}</h2><p>Removes sensor noise from folders of photos.</p>")
        title.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(title)
        self.card = QTextBrowser()
        self.card.setOpenExternalLinks(True)
        self.card.setMarkdown(model_card(model))
        layout.addWidget(self.card, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        notices = licence_notices()
        if notices is not None:  # the frozen app ships them (packaging/licenses.py)
            self.licences_button = buttons.addButton("Third-Party Licences", QDialogButtonBox.ButtonRole.HelpRole)
            self.licences_button.clicked.connect(lambda: open_folder(notices, self))
        layout.addWidget(buttons)
        self.resize(560, 480)


def licence_notices() -> Path | None:
    """The folder of third-party licence notices bundled with the app, if this is a build that has one."""
    folder = resources_dir().parent / "licenses"
    return folder if (folder / "THIRD-PARTY.md").is_file() else None
