"""The before/after preview and the helpers under it."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PilImage
from PIL import ImageOps
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from denoiser_app.core.progress import Progress
from denoiser_app.gui.imaging import orient, thumbnail
from denoiser_app.gui.main_window import MainWindow
from denoiser_app.gui.preview_worker import LivePreview, Region
from tests.conftest import noisy_photo, write_png

WindowFactory = Callable[..., MainWindow]


def column(image: QImage, x: int) -> list[int]:
    """Pixels down one column, away from the labels at the top and the status text at the bottom."""
    margin = round(60 * image.devicePixelRatio())
    return [image.pixel(x, y) for y in range(margin, image.height() - margin, 7)]


def test_preview_shows_the_denoised_photo_and_the_divider_follows_the_mouse(qtbot, make_window: WindowFactory, tmp_path: Path) -> None:
    photo = write_png(tmp_path / "shoot" / "portrait.png", noisy_photo(240, 320))
    window = make_window()
    window.add_inputs([photo.parent])  # selects the first photo
    preview = window.preview

    qtbot.waitUntil(preview.has_denoised, timeout=30_000)
    assert preview.image_size().width() == 320
    assert window.options.estimate_label.text() != "Estimated noise: select a photo"
    preview.set_zoom(2.0)
    qtbot.waitUntil(lambda: preview._denoised_rect == preview.visible_region(), timeout=30_000)
    assert preview.visible_region().width() < 320

    before = preview.grab().toImage()
    middle_y = preview.height() // 2 + 40  # below the handle
    start = QPoint(round(preview.divider_x()), middle_y)
    target = QPoint(preview.width() // 4, middle_y)
    QTest.mousePress(preview, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(preview, QPoint((start.x() + target.x()) // 2, middle_y))
    QTest.mouseMove(preview, target)
    QTest.mouseRelease(preview, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, target)

    assert preview.split == pytest.approx(0.25, abs=0.01)
    after = preview.grab().toImage()
    ratio = after.devicePixelRatio()
    between = round(preview.width() * 0.375 * ratio)  # was left of the divider (before), now right (after)
    outside = round(preview.width() * 0.1 * ratio)  # left of both positions: unchanged
    assert column(before, between) != column(after, between)
    assert column(before, outside) == column(after, outside)


def test_panning_moves_the_view_and_asks_for_the_new_region(qtbot, make_window: WindowFactory, tmp_path: Path) -> None:
    photo = write_png(tmp_path / "shoot" / "wide.png", noisy_photo(200, 400))
    window = make_window()
    window.add_inputs([photo])
    preview = window.preview
    qtbot.waitUntil(preview.has_image, timeout=30_000)
    preview.set_zoom(2.0)
    region = preview.visible_region()
    grab_at = QPoint(preview.width() - 20, preview.height() - 20)  # far from the divider
    QTest.mousePress(preview, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, grab_at)
    QTest.mouseMove(preview, grab_at - QPoint(60, 0))
    QTest.mouseRelease(preview, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, grab_at - QPoint(60, 0))
    assert preview.visible_region().left() > region.left()
    qtbot.waitUntil(lambda: preview._denoised_rect == preview.visible_region(), timeout=30_000)


def test_a_change_cancels_the_preview_in_flight_and_its_result_is_ignored(qtbot) -> None:
    live = LivePreview()
    shown: list[QRect] = []
    live.result_ready.connect(lambda rect, image: shown.append(rect))
    in_flight = Progress()
    live._progress = in_flight
    live.schedule()  # the view or settings changed
    assert in_flight.is_cancelled
    live._on_computed(live._latest_request - 1, Region(0, 0, 4, 4), QImage(4, 4, QImage.Format.Format_RGB888))
    live._on_computed(live._latest_request, Region(0, 0, 4, 4), QImage(4, 4, QImage.Format.Format_RGB888))
    live.shutdown()
    assert shown == [QRect(0, 0, 4, 4)]


def test_an_unreadable_photo_explains_itself_in_the_preview(qtbot, make_window: WindowFactory, tmp_path: Path) -> None:
    broken = tmp_path / "shoot" / "broken.jpg"
    broken.parent.mkdir()
    broken.write_bytes(b"\xff\xd8\xff garbage")
    window = make_window()
    window.add_inputs([broken])
    qtbot.waitUntil(lambda: bool(window.preview.message), timeout=30_000)
    assert window.preview.message == "This file could not be read: it may be damaged or not an image."


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_matches_pillow(orientation: int) -> None:
    pixels = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    image = PilImage.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.info["exif"] = exif.tobytes()
    expected = np.asarray(ImageOps.exif_transpose(image))
    assert np.array_equal(orient(pixels, orientation), expected)


def test_thumbnails_are_small_and_upright(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "turned.jpg"
    image = PilImage.fromarray((noisy_photo(60, 200) * 255).astype(np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6  # stored sideways: shown rotated a quarter turn clockwise
    image.save(path, exif=exif.tobytes())
    small = thumbnail(path, 40)
    assert small is not None
    assert (small.width(), small.height()) == (12, 40)
    assert thumbnail(tmp_path / "missing.png", 40) is None


def test_the_preview_shows_a_sideways_photo_upright(qtbot, make_window: WindowFactory, tmp_path: Path) -> None:
    path = tmp_path / "shoot" / "sideways.jpg"
    path.parent.mkdir()
    image = PilImage.fromarray((noisy_photo(60, 200) * 255).astype(np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(path, exif=exif.tobytes(), quality=95)
    window = make_window()
    window.add_inputs([path])
    qtbot.waitUntil(window.preview.has_denoised, timeout=30_000)
    size = window.preview.image_size()
    assert (size.width(), size.height()) == (60, 200)
    assert window.preview._denoised_rect == window.preview.visible_region() == QRect(0, 0, 60, 200)
