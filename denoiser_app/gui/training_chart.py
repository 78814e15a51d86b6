"""Small plots for training, drawn with QPainter: the live chart of a run, and a camera's noise profile.

The chart shows loss and set-aside PSNR against elapsed time.
QtCharts is not part of PySide6-Essentials, and two lines need no library.
The loss of single steps jumps with each batch, so the chart draws its
running mean; the PSNR is measured every few hundred steps and drawn as
dots joined by a line, on its own axis at the right.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from model.noise_profile import NoiseProfile, describe_profile

LOSS_COLOUR = QColor(40, 110, 200)
PSNR_COLOUR = QColor(220, 110, 20)
SMOOTHING = 0.9  # weight of the running mean's past: about the last ten reported steps
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 54, 54, 22, 26


def _span(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if high - low < 1e-12:
        pad = abs(high) * 0.05 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.08
    return low - pad, high + pad


class TrainingChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumHeight(140)
        self.loss: list[tuple[float, float]] = []  # (seconds, smoothed loss)
        self.psnr: list[tuple[float, float]] = []  # (seconds, dB)

    def sizeHint(self) -> QSize:
        return QSize(520, 170)

    def clear(self) -> None:
        self.loss.clear()
        self.psnr.clear()
        self.update()

    def add_loss(self, seconds: float, loss: float) -> None:
        smoothed = loss if not self.loss else SMOOTHING * self.loss[-1][1] + (1 - SMOOTHING) * loss
        self.loss.append((seconds, smoothed))
        self.update()

    def add_psnr(self, seconds: float, psnr: float) -> None:
        self.psnr.append((seconds, psnr))
        self.update()

    # -- drawing ----------------------------------------------------------------------------------

    def _plot_rect(self) -> QRectF:
        return QRectF(MARGIN_LEFT, MARGIN_TOP, max(1, self.width() - MARGIN_LEFT - MARGIN_RIGHT),
                      max(1, self.height() - MARGIN_TOP - MARGIN_BOTTOM))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        plot = self._plot_rect()
        text = self.palette().windowText().color()
        painter.setPen(QPen(text.lighter(160) if text.lightness() < 128 else text.darker(160), 1))
        painter.drawRect(plot)
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        painter.setFont(small)
        if not self.loss and not self.psnr:
            painter.setPen(text)
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "The chart fills in as training runs.")
            return
        end = max(t for t, _ in self.loss + self.psnr) or 1.0
        minutes = end / 60
        painter.setPen(text)
        painter.drawText(QRectF(plot.left(), plot.bottom() + 4, plot.width(), MARGIN_BOTTOM - 4),
                         Qt.AlignmentFlag.AlignHCenter, f"time: 0 to {minutes:.1f} min" if minutes >= 1 else f"time: 0 to {end:.0f} s")
        self._draw_series(painter, plot, self.loss, end, LOSS_COLOUR, "loss", left=True, dots=False)
        self._draw_series(painter, plot, self.psnr, end, PSNR_COLOUR, "PSNR dB", left=False, dots=True)

    def _draw_series(self, painter: QPainter, plot: QRectF, points: list[tuple[float, float]], end: float,
                     colour: QColor, name: str, left: bool, dots: bool) -> None:
        if not points:
            return
        low, high = _span([v for _, v in points])

        def at(seconds: float, value: float) -> QPointF:
            return QPointF(plot.left() + plot.width() * seconds / end,
                           plot.bottom() - plot.height() * (value - low) / (high - low))

        path = QPainterPath(at(*points[0]))
        for point in points[1:]:
            path.lineTo(at(*point))
        painter.setPen(QPen(colour, 2))
        painter.drawPath(path)
        if dots:
            painter.setBrush(colour)
            for point in points:
                painter.drawEllipse(at(*point), 3, 3)
        digits = 2 if name.startswith("PSNR") else 4
        x = 2 if left else plot.right() + 4
        align = Qt.AlignmentFlag.AlignRight if left else Qt.AlignmentFlag.AlignLeft
        for value, y in ((high, plot.top()), (low, plot.bottom() - 14)):
            painter.drawText(QRectF(x, y, MARGIN_LEFT - 6, 14), align, f"{value:.{digits}f}")
        label = QRectF(x, plot.top() + plot.height() / 2 - 7, MARGIN_LEFT - 6, 14)
        painter.drawText(label, align, name)


CHANNEL_COLOURS = (QColor(210, 50, 50), QColor(40, 150, 60), QColor(50, 90, 210))


class NoiseProfilePlot(QWidget):
    """A measured camera noise profile: noise standard deviation against brightness, one line per channel."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(110)
        self.profile: NoiseProfile | None = None

    def sizeHint(self) -> QSize:
        return QSize(520, 130)

    def set_profile(self, profile: NoiseProfile | None) -> None:
        self.profile = profile
        self.setToolTip(describe_profile(profile) if profile is not None else "")
        self.setVisible(profile is not None)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.profile is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        plot = QRectF(MARGIN_LEFT, MARGIN_TOP, max(1, self.width() - MARGIN_LEFT - MARGIN_RIGHT),
                      max(1, self.height() - MARGIN_TOP - MARGIN_BOTTOM))
        text = self.palette().windowText().color()
        painter.setPen(QPen(text, 1))
        painter.drawRect(plot)
        brightness = np.linspace(0.0, 1.0, 41)
        curves = [[self.profile.std(float(b), c) for b in brightness] for c in range(3)]
        top = max(max(curve) for curve in curves) * 1.1 or 1.0
        for colour, curve in zip(CHANNEL_COLOURS, curves):
            path = QPainterPath()
            for index, (b, value) in enumerate(zip(brightness, curve)):
                point = QPointF(plot.left() + plot.width() * b, plot.bottom() - plot.height() * value / top)
                path.moveTo(point) if index == 0 else path.lineTo(point)
            painter.setPen(QPen(colour, 2))
            painter.drawPath(path)
        painter.setPen(text)
        painter.drawText(QRectF(plot.left(), 2, plot.width(), MARGIN_TOP - 4), Qt.AlignmentFlag.AlignHCenter,
                         f"Your camera's noise: channels agree {self.profile.channel_correlation:.2f}, "
                         f"grain {self.profile.spread:.1f} px")
        painter.drawText(QRectF(2, plot.top(), MARGIN_LEFT - 6, 14), Qt.AlignmentFlag.AlignRight, f"{top:.1f}")
        painter.drawText(QRectF(2, plot.bottom() - 14, MARGIN_LEFT - 6, 14), Qt.AlignmentFlag.AlignRight, "0")
        painter.drawText(QRectF(2, plot.top() + plot.height() / 2 - 7, MARGIN_LEFT - 6, 14), Qt.AlignmentFlag.AlignRight, "noise")
        painter.drawText(QRectF(plot.left(), plot.bottom() + 4, plot.width(), MARGIN_BOTTOM - 4),
                         Qt.AlignmentFlag.AlignHCenter, "brightness: black to white (red, green, blue)")
