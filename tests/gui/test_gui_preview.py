"""The before/after preview and the helpers under it."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PilImage
from PIL import ImageOps
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from denoiser_app.core.engine import DenoiseSettings
from denoiser_app.core.progress import Progress
from denoiser_app.core.tiling import Rect
from denoiser_app.gui.imaging import orient, thumbnail
from denoiser_app.gui.main_window import MainWindow
from denoiser_app.gui.preview import PreviewWidget
from denoiser_app.gui.preview_worker import MAX_PREVIEW_SIDE, LivePreview, PreviewRequest
from tests.conftest import noisy_photo, write_png

WindowFactory = Callable[..., MainWindow]


def column(image: QImage, x: int) -> list[int]:
    """Pixels down one column, away from the labels at the top and the status text at the bottom."""
    margin = round(60 * image.devicePixelRatio())
    return [image.pixel(x, y) for y in range(margin, image.height() - margin, 7)]


def window_recording_requests(qtbot, make_window: WindowFactory, photo: Path) -> tuple[MainWindow, list[PreviewRequest]]:
    """A window showing ``photo`` with its first cleaned view, and the list of every preview request it sent."""
    window = make_window()
    requests: list[PreviewRequest] = []
    window.live_preview._compute_wanted.connect(lambda request, _progress: requests.append(request))
    window.add_inputs([photo])
    qtbot.waitUntil(window.preview.has_denoised, timeout=60_000)
    return window, requests


def test_preview_shows_the_denoised_photo_and_the_divider_follows_the_mouse(qtbot, make_window: WindowFactory, tmp_path: Path) -> None:
    photo = write_png(tmp_path / "shoot" / "portrait.png", noisy_photo(240, 320))
    window = make_window()
    window.add_inputs([photo.parent])  # selects the first photo
    preview = window.preview

    qtbot.waitUntil(preview.has_denoised, timeout=30_000)
    assert preview.image_size().width() == 320
    assert window.options.estimate_label.text() != "Estimated noise: select a photo"
    preview.set_zoom(2.0)
    # Zoomed into what is already cleaned: shown from the result on screen, not cleaned again.
    qtbot.waitUntil(lambda: preview._denoised_rect.contains(preview.after_region()), timeout=30_000)
    assert preview.visible_region().width() < 320
    assert preview.after_region().right() == preview.visible_region().right()
    assert preview.after_region().width() < 0.6 * preview.visible_region().width()

    before = preview.grab().toImage()
    middle_y = preview.height() // 2 + 40  # below the handle
    start = QPoint(round(preview.divider_x()), middle_y)
    target = QPoint(preview.width() // 4, middle_y)
    QTest.mousePress(preview, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(preview, QPoint((start.x() + target.x()) // 2, middle_y))
    QTest.mouseMove(preview, target)
    QTest.mouseRelease(preview, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, target)

    assert preview.split == pytest.approx(0.25, abs=0.01)
    # The newly exposed part of the After side is cleaned in turn.
    qtbot.waitUntil(lambda: preview._denoised_rect.contains(preview.after_region()), timeout=30_000)
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
    qtbot.waitUntil(lambda: preview._denoised_rect.contains(preview.after_region()), timeout=30_000)


def test_a_change_cancels_the_preview_in_flight_and_its_result_is_ignored(qtbot) -> None:
    live = LivePreview()
    shown: list[QRect] = []
    live.result_ready.connect(lambda rect, image: shown.append(rect))
    in_flight = Progress()
    live._progress = in_flight
    live.schedule()  # the view or settings changed
    assert in_flight.is_cancelled
    live._on_computed(live._latest_request - 1, Rect(0, 0, 4, 4), QImage(4, 4, QImage.Format.Format_RGB888))
    live._on_computed(live._latest_request, Rect(0, 0, 4, 4), QImage(4, 4, QImage.Format.Format_RGB888))
    live.shutdown()
    assert shown == [QRect(0, 0, 4, 4)]


def test_an_unreadable_photo_explains_itself_in_the_preview(qtbot, make_window: WindowFactory, tmp_path: Path) -> None:
    broken = tmp_path / "shoot" / "broken.jpg"
    broken.parent.mkdir()
    broken.write_bytes(b"\xff\xd8\xff garbage")
    window = make_window()
    window.add_inputs([broken])
    qtbot.waitUntil(lambda: not window.preview.message.startswith("Loading"), timeout=30_000)
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
    # Upright it is 12 x 40, centred on a clear square so every row's name lines up.
    assert (small.width(), small.height()) == (40, 40)
    opaque_columns = [x for x in range(40) if small.pixelColor(x, 20).alpha() == 255]
    assert opaque_columns == list(range(14, 26))
    assert thumbnail(tmp_path / "missing.png", 40) is None


def test_photos_pillow_cannot_open_get_thumbnails_from_the_core_reader(qtbot, tmp_path: Path) -> None:
    import pillow_heif

    path = tmp_path / "IMG_0001.HEIC"
    picture = (noisy_photo(30, 80) * 255).astype(np.uint8)
    pillow_heif.from_bytes("RGB", (80, 30), picture.tobytes()).save(path, quality=90)
    small = thumbnail(path, 40)
    assert small is not None and (small.width(), small.height()) == (40, 40)
    assert small.pixelColor(20, 20).alpha() == 255 and small.pixelColor(20, 2).alpha() == 0  # 40 x 15, centred


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
    assert window.preview.visible_region() == QRect(0, 0, 60, 200)
    after = window.preview.after_region()  # upright: the After side is the right part of the 60 x 200 photo
    assert window.preview._denoised_rect == after and (after.height(), after.right()) == (200, 59) and after.width() < 60


def first_request(qtbot, live: LivePreview, region: QRect, tmp_path: Path) -> tuple[PreviewRequest, Progress]:
    """What ``live`` sends its worker for ``region`` of a (made-up) loaded photo."""
    sent: list[tuple[PreviewRequest, Progress]] = []
    live._compute_wanted.connect(lambda request, progress: sent.append((request, progress)))
    live._path, live._loaded = tmp_path / "photo.jpg", True
    live.set_settings(DenoiseSettings(device="cpu", strength=10.0))
    live.set_region(region)
    qtbot.waitUntil(lambda: bool(sent))
    return sent[0]


def test_a_large_photo_in_view_is_previewed_in_a_bounded_central_window(qtbot, tmp_path: Path) -> None:
    live = LivePreview()
    request, _ = first_request(qtbot, live, QRect(0, 0, 6000, 4000), tmp_path)  # a whole 24 MP photo at Fit
    live.shutdown()
    assert request.region == Rect(2000 - MAX_PREVIEW_SIDE // 2, 3000 - MAX_PREVIEW_SIDE // 2, MAX_PREVIEW_SIDE, MAX_PREVIEW_SIDE)
    assert Rect(20, 10, 200, 300).central_window(MAX_PREVIEW_SIDE) == Rect(20, 10, 200, 300)


def test_preview_progress_crosses_threads_without_a_qobject_per_request(qtbot, tmp_path: Path) -> None:
    import threading

    from PySide6.QtCore import QObject

    live = LivePreview()
    busy: list[str] = []
    live.busy.connect(busy.append)
    _, progress = first_request(qtbot, live, QRect(0, 0, 100, 100), tmp_path)
    # Its last reference may go on the preview thread, where no UI-thread QObject may be destroyed.
    assert not any(isinstance(value, QObject) for value in vars(progress).values())
    reporter = threading.Thread(target=progress.report, args=("tile", 1, 4))
    reporter.start()
    reporter.join()
    qtbot.waitUntil(lambda: "Updating preview… 1/4" in busy)
    live.shutdown()


def test_the_preview_says_when_only_the_middle_of_the_view_is_cleaned(qtbot) -> None:
    preview = PreviewWidget()
    qtbot.addWidget(preview)
    preview.resize(400, 300)
    preview.set_image(QImage(2400, 1800, QImage.Format.Format_RGB888))
    middle = QRect(432, 132, MAX_PREVIEW_SIDE, MAX_PREVIEW_SIDE)
    preview.set_denoised(middle, QImage(middle.size(), QImage.Format.Format_RGB888))
    assert preview.shows_part_of_view()
    preview.grab()  # paints the hint and the outline of the cleaned part
    preview.set_zoom(1.0)  # the view now lies inside the cleaned part
    assert middle.contains(preview.visible_region()) and not preview.shows_part_of_view()


def test_a_model_retrained_under_the_same_name_is_reloaded(tiny_model: Path, tmp_path: Path) -> None:
    import os

    from denoiser_app.gui.preview_worker import PreviewWorker

    mine = tmp_path / "mine.pt"
    mine.write_bytes(tiny_model.read_bytes())
    worker = PreviewWorker([0])
    first = worker._denoiser_for(str(mine), "cpu")
    assert worker._denoiser_for(str(mine), "cpu") is first  # kept between requests
    mine.write_bytes(tiny_model.read_bytes())  # retrained: same name, new file
    later = mine.stat().st_mtime_ns + 2_000_000_000
    os.utime(mine, ns=(later, later))
    assert worker._denoiser_for(str(mine), "cpu") is not first


def test_changing_the_strength_clears_the_outdated_after_side(qtbot, make_window: WindowFactory, tmp_path: Path) -> None:
    photo = write_png(tmp_path / "shoot" / "small.png", noisy_photo(120, 160))
    window = make_window()
    window.add_inputs([photo])
    qtbot.waitUntil(window.preview.has_denoised, timeout=30_000)
    window.options.auto_strength.setChecked(False)
    assert not window.preview.has_denoised()
    qtbot.waitUntil(window.preview.has_denoised, timeout=30_000)
    window.options.tile.setValue(window.options.tile.value() + 64)  # the same result: kept while redone
    assert window.preview.has_denoised()
    window.options.passes.setCurrentIndex(window.options.passes.findData(1))  # a different result
    assert not window.preview.has_denoised()
    qtbot.waitUntil(window.preview.has_denoised, timeout=30_000)


def test_adding_photos_keeps_the_zoom_of_the_photo_in_view(qtbot, make_window: WindowFactory, tmp_path: Path) -> None:
    first = write_png(tmp_path / "one" / "first.png", noisy_photo(120, 160))
    second = write_png(tmp_path / "two" / "second.png", noisy_photo(120, 160))
    window = make_window()
    window.add_inputs([first])
    qtbot.waitUntil(window.preview.has_image, timeout=30_000)
    window.preview.set_zoom(2.0)
    window.add_inputs([second])
    qtbot.waitUntil(lambda: window.preview.has_denoised() and not window.preview.busy_text, timeout=30_000)
    assert window.live_preview.path == first.resolve()
    assert window.preview.zoom == 2.0


def test_moving_the_divider_right_asks_for_nothing_new_and_left_asks_for_the_newly_shown_part(
    qtbot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window, requests = window_recording_requests(qtbot, make_window, write_png(tmp_path / "shoot" / "wide.png", noisy_photo(200, 400)))
    preview = window.preview
    first = requests[-1].region
    assert first.left == preview.after_region().left() and first.left + first.width == 400  # the right half only
    count = len(requests)
    preview.set_split(0.8)
    qtbot.wait(400)
    assert len(requests) == count  # already on screen: no work
    preview.set_split(0.2)
    qtbot.waitUntil(lambda: len(requests) > count, timeout=5_000)
    assert requests[-1].region.left == preview.after_region().left() < first.left


def test_holding_b_shows_the_whole_view_before_and_releasing_it_shows_after_again(
    qtbot, make_window: WindowFactory, tmp_path: Path
) -> None:
    photo = write_png(tmp_path / "shoot" / "small.png", noisy_photo(120, 160))
    window = make_window()
    window.add_inputs([photo])
    preview = window.preview
    qtbot.waitUntil(preview.has_denoised, timeout=30_000)
    with_divider = preview.grab().toImage()
    # a column of the photo right of the divider (the photo is smaller than the view)
    right = round(preview.map_to_widget(QPointF(120, 0)).x() * with_divider.devicePixelRatio())
    QTest.keyPress(preview, Qt.Key.Key_B)
    assert preview.holding_before
    holding = preview.grab().toImage()
    assert column(holding, right) != column(with_divider, right)  # the After side now shows the original
    QTest.keyRelease(preview, Qt.Key.Key_B)
    assert not preview.holding_before
    assert column(preview.grab().toImage(), right) == column(with_divider, right)


def test_side_by_side_shows_the_same_part_before_and_after_and_cleans_the_whole_view(
    qtbot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window, requests = window_recording_requests(qtbot, make_window, write_png(tmp_path / "shoot" / "wide.png", noisy_photo(200, 400)))
    preview = window.preview
    preview.set_zoom(1.0)

    window.side_by_side_action.trigger()
    assert preview.side_by_side and window.side_by_side_action.isChecked()
    visible = preview.visible_region()
    assert preview.after_region() == visible, "each pane shows the whole view: all of it is cleaned"
    assert visible.width() <= preview.width() / 2 + 2, "a pane is half the widget wide (whole pixels rounded out)"
    qtbot.waitUntil(lambda: preview._denoised_rect.contains(preview.after_region()), timeout=30_000)
    last = requests[-1].region
    assert last.left <= visible.left() and last.right >= visible.right()

    image = preview.grab().toImage()
    ratio = image.devicePixelRatio()
    left_pane_x = round(preview.width() * 0.25 * ratio)
    right_pane_x = round(preview.width() * 0.75 * ratio)
    assert column(image, left_pane_x) != column(image, right_pane_x), "the same place, noisy on the left, clean on the right"
    QTest.keyPress(preview, Qt.Key.Key_B)
    holding = preview.grab().toImage()
    QTest.keyRelease(preview, Qt.Key.Key_B)
    assert column(holding, left_pane_x) == column(holding, right_pane_x), "holding B shows Before in both panes"

    window.side_by_side_action.trigger()
    assert not preview.side_by_side and preview.after_region().width() < preview.visible_region().width()


def test_a_large_photo_at_fit_gets_an_approximate_whole_view_first_then_the_exact_middle(
    qtbot, make_window: WindowFactory, tmp_path: Path
) -> None:
    from denoiser_app.gui.preview import APPROXIMATE_HINT
    from denoiser_app.gui.preview_worker import OVERVIEW_SIDE

    window, requests = window_recording_requests(qtbot, make_window, write_png(tmp_path / "shoot" / "large.png", noisy_photo(1800, 2400)))
    preview = window.preview
    assert preview.has_overview(), "the approximate whole view comes before the exact middle"

    assert requests[-1].overview and requests[-1].region.height == MAX_PREVIEW_SIDE
    assert max(preview._overview.width(), preview._overview.height()) == OVERVIEW_SIDE
    assert preview.shows_part_of_view() and APPROXIMATE_HINT.startswith("After: approximate")

    def row_at_image_y(image: QImage, image_y: int) -> list[int]:
        y = round(preview.map_to_widget(QPointF(0, image_y)).y() * image.devicePixelRatio())
        return [image.pixel(x, y) for x in range(0, image.width(), 5)]

    shown = preview.grab().toImage()
    QTest.keyPress(preview, Qt.Key.Key_B)
    original = preview.grab().toImage()
    QTest.keyRelease(preview, Qt.Key.Key_B)
    half = len(row_at_image_y(shown, 60)) // 2
    above_the_exact_middle = 60  # image rows 0-131 lie outside the exact 1536 px window
    assert row_at_image_y(shown, above_the_exact_middle)[half + 5 :] != row_at_image_y(original, above_the_exact_middle)[half + 5 :]
    assert row_at_image_y(shown, above_the_exact_middle)[: half - 5] == row_at_image_y(original, above_the_exact_middle)[: half - 5]

    count = len(requests)
    preview.set_zoom(1.0)
    preview.pan_to(QPointF(300, 300))  # a corner outside the exact middle, at 100%: it fits in one exact preview
    qtbot.waitUntil(lambda: len(requests) > count, timeout=5_000)
    assert not requests[-1].overview
