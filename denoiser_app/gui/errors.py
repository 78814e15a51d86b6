"""Turning exceptions into words for a photographer, with the technical detail kept for "Show Details"."""
from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from denoiser_app.core.batch import OutputFolderError
from denoiser_app.core.imageio import ImageReadError
from denoiser_app.core.modelfile import ModelFileError


def describe_error(error: BaseException) -> tuple[str, str]:
    """``(message, details)``: what happened in plain words, and the traceback."""
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    if isinstance(error, OutputFolderError):
        message = (
            f"The cleaned photos cannot be saved in\n{error.folder}\n\n"
            "Choose another output folder, or check that the disk is connected, writable and has free space."
        )
    elif isinstance(error, ModelFileError):
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
        # Its own words: "No space left on device", "could not get source code"... a guess would mislead.
        cause = str(error.strerror or error) + (f": {error.filename}" if error.filename else "")
        message = f"A file or folder could not be used ({cause})."
    else:
        message = "Something went wrong while cleaning your photos."
    return message, details


def plain_reason(source: Path, reason: str) -> str:
    """A failure reason without the file's full path, for showing next to the file's name."""
    return reason.replace(f" {source}:", " this file:").replace(str(source), source.name)


def show_error(parent: QWidget | None, message: str, details: str = "", title: str = "Denoiser") -> QMessageBox:
    """A non-blocking warning with the technical detail behind "Show Details..."."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def show_exception(parent: QWidget | None, error: BaseException, message: str | None = None) -> QMessageBox:
    """``show_error`` for an exception: plain words (or ``message``), the traceback behind "Show Details..."."""
    described, details = describe_error(error)
    return show_error(parent, message or described, details)


def _window_to_report_in() -> QWidget | None:
    """The active window, else any visible one: a parentless box would be garbage-collected at once."""
    if QApplication.instance() is None:
        return None
    visible = [widget for widget in QApplication.topLevelWidgets() if widget.isVisible() and widget.isWindow()]
    return QApplication.activeWindow() or (visible[0] if visible else None)


ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], None]


def unexpected_error_hook(previous: ExceptHook = sys.__excepthook__) -> ExceptHook:
    """A ``sys.excepthook`` that still reports through ``previous`` and then tells the user, instead of nothing."""

    def hook(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        previous(kind, error, trace)
        parent = _window_to_report_in()
        if not isinstance(error, Exception) or parent is None:
            return  # e.g. KeyboardInterrupt, or before any window exists
        error.__traceback__ = trace
        show_exception(
            parent,
            error,
            "Something unexpected went wrong. Your photos are unchanged; if it happens again, "
            "please report it with the text under \u201cShow Details\u201d.",
        )

    return hook
