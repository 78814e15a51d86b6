"""The before/after preview: one view split by a draggable divider, or two panes side by side.

Split: left of the divider is the original, right of it the denoised region
(where it has been computed). Side by side: the same part of the photo twice,
Before in the left pane and After in the right, panned and zoomed together.
Zoom is in image pixels per *device* pixel, so 100% shows every pixel of the
photo on a high-DPI screen too.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from denoiser_app.gui.preview_worker import MAX_PREVIEW_SIDE

MIN_ZOOM, MAX_ZOOM = 0.02, 16.0
ZOOM_STEP = 1.25
GRAB_DISTANCE = 6  # logical pixels either side of the divider that pick it up
BEFORE_KEYS = (Qt.Key.Key_B, Qt.Key.Key_Backslash)
HOLDING_BEFORE_TEXT = "Before (release B to see After)"
PART_OF_VIEW_HINT = "After: the middle of the view only \u2014 zoom in to preview other areas"
APPROXIMATE_HINT = "After: approximate outside the dashed box (a reduced copy) \u2014 zoom in for the exact result"


class _ScaledCache:
    """A pixmap scaled down once for the current zoom; redrawing a large photo smoothly every frame is slow."""

    def __init__(self) -> None:
        self.key: tuple[int, int, float] | None = None
        self.pixmap = QPixmap()

    def get(self, source: QPixmap, size: QSize, ratio: float) -> QPixmap:
        key = (source.cacheKey(), size.width() * 100000 + size.height(), ratio)
        if key != self.key:
            self.pixmap = source.scaled(
                size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
            self.pixmap.setDevicePixelRatio(ratio)
            self.key = key
        return self.pixmap


class PreviewWidget(QWidget):
    view_changed = Signal()  # zoom, pan, size or image changed: the visible region may differ
    zoom_changed = Signal(float)
    split_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 150)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._original: QPixmap | None = None
        self._denoised: QPixmap | None = None
        self._denoised_rect = QRect()
        self._overview: QPixmap | None = None  # the whole photo denoised approximately, from a reduced copy
        self._overview_cache = _ScaledCache()
        self._original_cache = _ScaledCache()
        self._denoised_cache = _ScaledCache()
        self._zoom = 1.0
        self._fit = True
        self._center = QPointF()
        self._split = 0.5
        self._drag: str | None = None  # "split" or "pan"
        self._last_pos = QPointF()
        self.message = ""  # shown when there is no image (e.g. why it could not be read)
        self.busy_text = ""
        self.holding_before = False  # B or \ held down: the whole view shows the original
        self.side_by_side = False

    # -- contents -----------------------------------------------------------

    def set_image(self, image: QImage | None) -> None:
        self._original = QPixmap.fromImage(image) if image is not None and not image.isNull() else None
        self._denoised, self._denoised_rect, self._overview = None, QRect(), None
        self.message = ""
        if self._original is not None:
            self._center = QPointF(self._original.width() / 2, self._original.height() / 2)
        self.fit()

    def set_denoised(self, rect: QRect, image: QImage) -> None:
        """Show ``image`` as the cleaned version of ``rect`` (upright image pixels)."""
        if self._original is None:
            return
        self._denoised = QPixmap.fromImage(image)
        self._denoised_rect = QRect(rect)
        self.update()

    def set_overview(self, image: QImage) -> None:
        """Show ``image`` (the whole photo, reduced) as an approximate After wherever the exact one is missing."""
        if self._original is not None:
            self._overview = QPixmap.fromImage(image)
            self.update()

    def has_overview(self) -> bool:
        return self._overview is not None

    def clear_denoised(self) -> None:
        self._denoised, self._denoised_rect, self._overview = None, QRect(), None
        self.update()

    def show_message(self, text: str) -> None:
        self._original, self._denoised = None, None
        self.message = text
        self.update()
        self.view_changed.emit()

    def set_busy(self, text: str) -> None:
        self.busy_text = text
        self.update()

    def has_image(self) -> bool:
        return self._original is not None

    def has_denoised(self) -> bool:
        return self._denoised is not None

    def shows_part_of_view(self) -> bool:
        """Whether the view is larger than one preview cleans (a large photo zoomed out)."""
        visible = self.visible_region()
        return self._denoised is not None and max(visible.width(), visible.height()) > MAX_PREVIEW_SIDE

    def image_size(self) -> QSize:
        return self._original.size() if self._original is not None else QSize()

    # -- geometry -------------------------------------------------------------

    @property
    def zoom(self) -> float:
        """Image pixels per device pixel: 1.0 is 100%."""
        return self._zoom

    def _scale(self) -> float:
        """Logical widget pixels per image pixel."""
        return self._zoom / self.devicePixelRatioF()

    def _pane_width(self) -> float:
        """The width one view of the photo has: the whole widget, or half of it side by side."""
        return self.width() / 2 if self.side_by_side else float(self.width())

    def _widget_center(self) -> QPointF:
        """The centre of the (left) pane, where the view's centre is drawn."""
        return QPointF(self._pane_width() / 2, self.height() / 2)

    def _in_first_pane(self, position: QPointF) -> QPointF:
        """A widget position as the matching position in the left pane (side by side both panes show one view)."""
        if self.side_by_side and position.x() >= self._pane_width():
            return QPointF(position.x() - self._pane_width(), position.y())
        return QPointF(position)

    def map_to_widget(self, point: QPointF) -> QPointF:
        return (point - self._center) * self._scale() + self._widget_center()

    def map_to_image(self, point: QPointF) -> QPointF:
        return (point - self._widget_center()) / self._scale() + self._center

    def _image_to_widget_rect(self, rect: QRectF) -> QRectF:
        return QRectF(self.map_to_widget(rect.topLeft()), self.map_to_widget(rect.bottomRight()))

    def visible_region(self) -> QRect:
        """The part of the image on screen, in whole image pixels (empty without an image)."""
        if self._original is None:
            return QRect()
        top_left = self.map_to_image(QPointF(0, 0))
        bottom_right = self.map_to_image(QPointF(self._pane_width(), self.height()))
        left, top = max(0, int(top_left.x())), max(0, int(top_left.y()))
        right = min(self._original.width(), int(bottom_right.x()) + 1)
        bottom = min(self._original.height(), int(bottom_right.y()) + 1)
        return QRect(left, top, max(0, right - left), max(0, bottom - top))

    def after_region(self) -> QRect:
        """The visible part right of the divider (side by side: the whole view), in image pixels: the only part worth cleaning."""
        visible = self.visible_region()
        if visible.isEmpty() or self.side_by_side:
            return visible
        divider = int(self.map_to_image(QPointF(self.divider_x(), 0)).x())
        left = min(max(visible.left(), divider), visible.right() + 1)
        return QRect(left, visible.top(), visible.right() + 1 - left, visible.height())

    # -- zoom and pan -----------------------------------------------------------

    def fit(self) -> None:
        """Show the whole photo, never enlarged past 100%."""
        self._fit = True
        if self._original is not None:
            ratio = self.devicePixelRatioF()
            fit = min(self._pane_width() * ratio / self._original.width(), self.height() * ratio / self._original.height())
            self._center = QPointF(self._original.width() / 2, self._original.height() / 2)
            self._set_zoom(min(1.0, fit))
        self._view_changed()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``zoom`` keeping the image point under ``anchor`` (default: the centre) still."""
        self._fit = False
        anchor = anchor if anchor is not None else self._widget_center()
        fixed = self.map_to_image(anchor)
        self._set_zoom(zoom)
        self._center = fixed - (anchor - self._widget_center()) / self._scale()
        self._clamp_center()
        self._view_changed()

    def zoom_in(self) -> None:
        self.set_zoom(self._zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self._zoom / ZOOM_STEP)

    def _set_zoom(self, zoom: float) -> None:
        self._zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        self.zoom_changed.emit(self._zoom)

    def pan_to(self, image_point: QPointF) -> None:
        self._fit = False
        self._center = QPointF(image_point)
        self._clamp_center()
        self._view_changed()

    def _clamp_center(self) -> None:
        if self._original is not None:
            self._center = QPointF(
                min(max(self._center.x(), 0.0), float(self._original.width())),
                min(max(self._center.y(), 0.0), float(self._original.height())),
            )

    def _view_changed(self) -> None:
        self.update()
        self.view_changed.emit()

    # -- split ------------------------------------------------------------------

    @property
    def split(self) -> float:
        """Where the divider is, as a fraction of the widget's width."""
        return self._split

    def set_split(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, fraction))
        if fraction != self._split:
            self._split = fraction
            self.update()
            self.split_changed.emit(fraction)

    def divider_x(self) -> float:
        return self._split * self.width()

    def set_side_by_side(self, on: bool) -> None:
        """Two panes (Before | After) instead of the split view; the view keeps its centre, and refits when fitted."""
        if on == self.side_by_side:
            return
        self.side_by_side = on
        if self._fit:
            self.fit()
        else:
            self._view_changed()

    # -- events ----------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fit:
            self.fit()
        else:
            self._view_changed()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps and self._original is not None:
            self.set_zoom(self._zoom * ZOOM_STEP**steps, self._in_first_pane(event.position()))
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        position = event.position()
        if not self.side_by_side and abs(position.x() - self.divider_x()) <= GRAB_DISTANCE:
            self._drag = "split"
        elif self._original is not None:
            self._drag = "pan"
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        self._last_pos = position
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        position = event.position()
        if self._drag == "split":
            self.set_split(position.x() / max(1, self.width()))
        elif self._drag == "pan":
            self.pan_to(self._center - (position - self._last_pos) / self._scale())
        else:
            near = not self.side_by_side and abs(position.x() - self.divider_x()) <= GRAB_DISTANCE
            self.setCursor(Qt.CursorShape.SplitHCursor if near else Qt.CursorShape.OpenHandCursor)
        self._last_pos = position

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None
        self.unsetCursor()
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self._hold_before(event, True):
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if not self._hold_before(event, False):
            super().keyReleaseEvent(event)

    def _hold_before(self, event: QKeyEvent, held: bool) -> bool:
        """B or \\ down shows the whole view before, up shows after again; whether the key was one of them."""
        if event.key() not in BEFORE_KEYS or event.isAutoRepeat():
            return False
        self.holding_before = held
        self.update()
        return True

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self._fit:
            self.set_zoom(1.0, self._in_first_pane(event.position()))
        else:
            self.fit()

    # -- painting ----------------------------------------------------------------

    def _draw_after(self, painter: QPainter) -> None:
        """The approximate whole photo where there is one, the exact cleaned region over it."""
        if self._overview is not None:
            self._draw(painter, self._overview, QRectF(self._original.rect()), self._overview_cache)
        if self._denoised is not None:
            self._draw(painter, self._denoised, QRectF(self._denoised_rect), self._denoised_cache)
        if self._denoised is not None and self.shows_part_of_view():  # where the exact part ends
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 1, Qt.PenStyle.DashLine))
            painter.drawRect(self._image_to_widget_rect(QRectF(self._denoised_rect)))

    def _draw(self, painter: QPainter, pixmap: QPixmap, image_rect: QRectF, cache: _ScaledCache) -> None:
        target = self._image_to_widget_rect(image_rect)
        ratio = self.devicePixelRatioF()
        if self._zoom < 1.0:
            size = QSize(max(1, round(target.width() * ratio)), max(1, round(target.height() * ratio)))
            painter.drawPixmap(target.topLeft(), cache.get(pixmap, size, ratio))
        else:
            # At 100% and above, show the photo's pixels as they are, unsmoothed.
            painter.drawPixmap(target, pixmap, QRectF(pixmap.rect()))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        if self._original is None:
            painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Window))
            painter.setPen(palette.color(QPalette.ColorRole.WindowText))
            text = self.message or "Drop a folder of photos here, or select a photo to compare before and after"
            painter.drawText(self.rect().adjusted(20, 20, -20, -20), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
            return
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Dark))  # a neutral surround
        if self.side_by_side:
            return self._paint_side_by_side(painter)
        self._draw(painter, self._original, QRectF(self._original.rect()), self._original_cache)
        if self.holding_before:  # the whole view as it was, as long as the key is held
            self._paint_label(painter, HOLDING_BEFORE_TEXT, QPointF(8, 8), Qt.AlignmentFlag.AlignLeft)
            return
        divider = self.divider_x()
        if self._denoised is not None or self._overview is not None:
            painter.save()
            painter.setClipRect(QRectF(divider, 0, self.width() - divider, self.height()))
            self._draw_after(painter)
            painter.restore()
        self._paint_divider(painter, divider)
        self._paint_labels(painter, divider)

    def _paint_side_by_side(self, painter: QPainter) -> None:
        pane = self._pane_width()
        painter.save()
        painter.setClipRect(QRectF(0, 0, pane, self.height()))
        self._draw(painter, self._original, QRectF(self._original.rect()), self._original_cache)
        painter.restore()
        painter.save()
        painter.setClipRect(QRectF(pane, 0, self.width() - pane, self.height()))
        painter.translate(pane, 0)
        # The original under the cleaned part keeps the pane whole where cleaning has not reached yet.
        self._draw(painter, self._original, QRectF(self._original.rect()), self._original_cache)
        if not self.holding_before:
            self._draw_after(painter)
        painter.restore()
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Light), 2))
        painter.drawLine(QPointF(pane, 0), QPointF(pane, self.height()))
        if self.holding_before:
            self._paint_label(painter, HOLDING_BEFORE_TEXT, QPointF(pane + 8, 8), Qt.AlignmentFlag.AlignLeft)
        else:
            self._paint_labels(painter, pane)

    def _paint_divider(self, painter: QPainter, x: float) -> None:
        palette = self.palette()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Light), 3))
        painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 1))
        painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        handle = QRectF(x - 9, self.height() / 2 - 18, 18, 36)
        painter.setBrush(palette.color(QPalette.ColorRole.Button))
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 1.5))
        painter.drawRoundedRect(handle, 6, 6)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.ButtonText), 1.5))
        for offset in (-3.0, 3.0):
            painter.drawLine(QPointF(x + offset, handle.top() + 10), QPointF(x + offset, handle.bottom() - 10))

    def _paint_labels(self, painter: QPainter, divider: float) -> None:
        # Never "After" over the original: a photographer would think the denoise did nothing.
        if self._denoised is not None:
            after = "After"
        elif self._overview is not None:
            after = "After (approximate)"
        elif self.busy_text and not self.busy_text.startswith("Preview paused"):
            after = "After (working…)"
        else:
            after = "Not cleaned yet"
        labels = [("Before", QPointF(divider - 8, 8), Qt.AlignmentFlag.AlignRight), (after, QPointF(divider + 8, 8), Qt.AlignmentFlag.AlignLeft)]
        if self.busy_text:
            labels.append((self.busy_text, QPointF(self.width() - 8, self.height() - 30), Qt.AlignmentFlag.AlignRight))
        elif self.shows_part_of_view():
            labels.append((APPROXIMATE_HINT if self._overview is not None else PART_OF_VIEW_HINT, QPointF(self.width() - 8, self.height() - 30), Qt.AlignmentFlag.AlignRight))
        for text, anchor, side in labels:
            self._paint_label(painter, text, anchor, side)

    def _paint_label(self, painter: QPainter, text: str, anchor: QPointF, side: Qt.AlignmentFlag) -> None:
        metrics = painter.fontMetrics()
        palette = self.palette()
        width = metrics.horizontalAdvance(text) + 12
        left = anchor.x() - width if side == Qt.AlignmentFlag.AlignRight else anchor.x()
        box = QRectF(left, anchor.y(), width, metrics.height() + 6)
        if box.left() < 0 or box.right() > self.width():
            return  # no room beside the divider at the edge
        background = palette.color(QPalette.ColorRole.ToolTipBase)
        background.setAlpha(210)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(background)
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(palette.color(QPalette.ColorRole.ToolTipText))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
