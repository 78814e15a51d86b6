"""The errors raised for photos that cannot be read or written."""
from __future__ import annotations

import errno

from pathlib import Path

TRUNCATED = "file is truncated or corrupt"


class ImageFileError(Exception):
    """A photo that could not be read or written.

    ``reason`` is one line meant for the user, e.g. "not an image file".
    """

    verb = "access"

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = Path(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"Cannot {self.verb} {self.path}: {self.reason}"


class ImageReadError(ImageFileError):
    """The file is missing, not an image, damaged or of an unsupported kind."""

    verb = "read"


class ImageWriteError(ImageFileError):
    """The output file could not be written; any previous file is left untouched."""

    verb = "write"


class Unreadable(Exception):
    """Raised inside the readers, which do not know the path; carries the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


DISK_FULL = "the disk is full"


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno == errno.ENOSPC


def describe_write_failure(error: Exception) -> str:
    """One line for the user about why writing failed."""
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, FileNotFoundError):
        return "the folder does not exist"
    if isinstance(error, IsADirectoryError):
        return "a folder with this name is in the way"
    if is_disk_full(error):
        return DISK_FULL
    return str(error).splitlines()[0] if str(error) else type(error).__name__
