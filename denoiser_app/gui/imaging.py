"""Pixels for the screen: EXIF orientation, float arrays to QImage, thumbnails.

Everything here is safe to call off the UI thread (QImage is not a widget).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PilImage
from PIL import ImageOps, UnidentifiedImageError
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QImage, QPainter

from denoiser_app.core.imageio import ImageReadError, read_image
from denoiser_app.core.models import resources_dir

# Pillow modes it converts to 8-bit RGB faithfully; 16-bit and float modes go through the core reader.
_EIGHT_BIT_MODES = {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"}


def app_icon_path() -> Path:
    return resources_dir() / "icons" / "app.png"


def app_icon() -> QIcon:
    """The application's icon, for the title bar, the task bar and dialogs."""
    return QIcon(str(app_icon_path()))


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels (H x W x C) the way EXIF ``orientation`` (1-8) says they should be shown."""
    if orientation == 2:
        return pixels[:, ::-1]
    if orientation == 3:
        return pixels[::-1, ::-1]
    if orientation == 4:
        return pixels[::-1]
    if orientation == 5:
        return pixels.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(pixels, k=-1)
    if orientation == 7:
        return pixels[::-1, ::-1].transpose(1, 0, 2)
    if orientation == 8:
        return np.rot90(pixels, k=1)
    return pixels


def to_qimage(pixels: np.ndarray) -> QImage:
    """An 8-bit QImage of an H x W x C float image in [0, 1] (C is 1 or 3); owns its memory."""
    eight_bit = np.ascontiguousarray((np.clip(pixels, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))
    height, width, channels = eight_bit.shape
    if channels == 1:
        image = QImage(eight_bit.data, width, height, width, QImage.Format.Format_Grayscale8)
    else:
        image = QImage(eight_bit.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()  # detach from the numpy buffer, which is freed when we return


def load_oriented(path: Path) -> np.ndarray:
    """The image as float32 H x W x C in [0, 1], turned upright. Raises ImageReadError."""
    image = read_image(path)
    return np.ascontiguousarray(orient(image.pixels, image.orientation))


def _pillow_thumbnail(path: Path, size: int) -> QImage | None:
    with PilImage.open(path) as opened:
        if opened.mode not in _EIGHT_BIT_MODES:
            return None
        opened.draft("RGB", (size * 2, size * 2))  # JPEG decodes straight at a reduced scale
        upright = ImageOps.exif_transpose(opened) or opened
        upright.thumbnail((size, size))
        rgb = np.asarray(upright.convert("RGB"), dtype=np.float32) / 255.0
    return to_qimage(rgb)


def thumbnail(path: Path, size: int) -> QImage | None:
    """A small upright preview of ``path``, centred on a clear ``size`` x ``size`` square; None if unreadable."""
    try:
        quick = _pillow_thumbnail(path, size)
        if quick is not None:
            return _centred_on_square(quick, size)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        pass  # not something Pillow reads well; the core reader may still manage
    try:
        image = to_qimage(load_oriented(path))
    except (ImageReadError, OSError, ValueError):
        return None
    scaled = image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return _centred_on_square(scaled, size)


def _centred_on_square(image: QImage, size: int) -> QImage:
    # Every thumbnail the same size, so names line up whatever the photo's shape.
    square = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    square.fill(Qt.GlobalColor.transparent)
    painter = QPainter(square)
    painter.drawImage((size - image.width()) // 2, (size - image.height()) // 2, image)
    painter.end()
    return square
