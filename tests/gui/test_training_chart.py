"""The fine-tune dialog's live chart."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage

from denoiser_app.gui.training_chart import LOSS_COLOUR, PSNR_COLOUR, SMOOTHING, TrainingChart


def colour_share(image: QImage, colour: QColor) -> float:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)[..., :3]
    target = np.array([colour.blue(), colour.green(), colour.red()])
    return float((np.abs(pixels.astype(int) - target).sum(axis=-1) < 40).mean())


def test_the_chart_smooths_the_loss_and_draws_both_series(qtbot) -> None:
    chart = TrainingChart()
    qtbot.addWidget(chart)
    chart.resize(500, 180)
    empty = chart.grab().toImage()
    assert colour_share(empty, LOSS_COLOUR) == 0 and colour_share(empty, PSNR_COLOUR) == 0

    for second, loss in enumerate([0.01, 0.02, 0.005, 0.004]):
        chart.add_loss(float(second), loss)
    assert chart.loss[0] == (0.0, 0.01)
    assert chart.loss[1][1] == SMOOTHING * 0.01 + (1 - SMOOTHING) * 0.02
    chart.add_psnr(1.0, 30.5)
    chart.add_psnr(3.0, 31.2)
    drawn = chart.grab().toImage()
    assert colour_share(drawn, LOSS_COLOUR) > 0.002 and colour_share(drawn, PSNR_COLOUR) > 0.002

    chart.clear()
    assert not chart.loss and not chart.psnr
