"""Turning exceptions into words for a photographer, with the technical detail kept for "Show Details"."""
from __future__ import annotations

import traceback
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from denoiser_app.core.imageio import ImageReadError
from denoiser_app.core.modelfile import ModelFileError


def describe_error(error: BaseException) -> tuple[str, str]:
    """``(message, details)``: what happened in plain words, and the traceback."""
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    if isinstance(error, ModelFileError):
        message = f"The denoising model could not be loaded. Try choosing another model.\n\n{error}"
    elif isinstance(error, ImageReadError):
        message = "This file could not be read: it may be damaged or not an image."
    elif isinstance(error, MemoryError):
        message = "There is not enough memory to clean this photo. Try a smaller tile size under Advanced."
    elif isinstance(error, RuntimeError) and "cuda" in str(error).lower():
        message = "The graphics card could not be used. Choose \u201ccpu\u201d as the device and try again."
    elif isinstance(error, PermissionError):
        message = "Denoiser is not allowed to write there. Choose another output folder."
    elif isinstance(error, OSError):
        message = "A file or folder could not be used. Check that the disk is connected and has free space."
    else:
        message = "Something went wrong while cleaning your photos."
    return message, details


def plain_reason(source: Path, reason: str) -> str:
    """A failure reason without the file's full path, for showing next to the file's name."""
    return reason.replace(f" {source}:", " this file:").replace(str(source), source.name)


def show_error(parent: QWidget, message: str, details: str = "", title: str = "Denoiser") -> QMessageBox:
    """A non-blocking warning with the technical detail behind "Show Details..."."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
