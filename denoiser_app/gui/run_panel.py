"""Start and Cancel, the overall bar (count and time left) and the per-photo bar (tiles)."""
from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QPushButton, QWidget

from denoiser_app.core.batch import Summary

STEPS = 1000  # progress bar resolution
CURRENT_NAME_WIDTH = 150  # pixels for the name of the photo being cleaned


def describe_time_left(seconds: float | None) -> str:
    if seconds is None:
        return "estimating time left…"
    if seconds < 10:
        return "a few seconds left"
    if seconds < 90:
        return f"about {round(seconds / 10) * 10:.0f} s left"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60):.0f} min left"
    return f"about {seconds / 3600:.1f} h left"


class EtaClock:
    """Time left from the rate so far; counts fractions of a photo so it moves during long ones."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()

    def restart(self) -> None:
        self._started = self._clock()

    def seconds_left(self, done: float, total: float) -> float | None:
        elapsed = self._clock() - self._started
        if done <= 0 or elapsed < 0.5:
            return None
        return elapsed / done * max(0.0, total - done)


class RunPanel(QWidget):
    def __init__(self, parent: QWidget | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.overall = QProgressBar()
        self.overall.setRange(0, STEPS)
        self.overall.setValue(0)
        self.overall.setFormat("Ready")
        self.image = QProgressBar()
        self.image.setRange(0, STEPS)
        self.image.setValue(0)
        self.image.setFormat("")
        self.current_label = QLabel("")
        # A fixed width, the name elided: otherwise every new name would move both bars sideways.
        self.current_label.setFixedWidth(CURRENT_NAME_WIDTH)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("All photos:"), 0, 0)
        layout.addWidget(self.overall, 0, 1)
        layout.addWidget(self.start_button, 0, 2)
        layout.addWidget(self.current_label, 1, 0)
        layout.addWidget(self.image, 1, 1)
        layout.addWidget(self.cancel_button, 1, 2)
        layout.setColumnStretch(1, 1)
        self._eta = EtaClock(clock)
        self._total = 0
        self._index = 0
        self._work: tuple[float, ...] = ()  # megapixels per photo, once the worker has read the headers

    @property
    def overall_fraction(self) -> float:
        return self.overall.value() / STEPS

    def show_estimate(self, photos: int, megapixels: float, megapixels_per_second: float | None) -> None:
        """Before Start: how long the listed photos should take here, from the preview's measured speed."""
        self.overall.setValue(0)  # not the last run's fill under a "Ready"
        if photos == 0 or not megapixels_per_second:
            self.overall.setFormat("Ready")
            return
        seconds = megapixels / megapixels_per_second
        left = describe_time_left(seconds).removesuffix(" left")
        self.overall.setFormat(f"Ready \u2014 {left} for {photos} photo{'s' if photos != 1 else ''} on this computer")

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def begin(self, total: int) -> None:
        self._total, self._index, self._work = total, 0, ()
        self.overall.setValue(0)
        self.overall.setFormat("Loading the model…")
        self.image.setValue(0)
        self.image.setFormat("")
        self.current_label.setText("")
        self._eta.restart()

    def set_total(self, total: int) -> None:
        self._total = total
        self._eta.restart()
        self._show_overall(0.0)

    def set_work(self, megapixels: tuple[float, ...]) -> None:
        """Megapixels of each photo (0 for one to skip): the bar and the time left then go by pixels."""
        self._work = tuple(megapixels)
        self._eta.restart()
        self._show_overall(0.0)

    def file_started(self, index: int, total: int, name: str) -> None:
        self._total, self._index = total, index
        metrics = self.current_label.fontMetrics()
        self.current_label.setText(metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, CURRENT_NAME_WIDTH))
        self.current_label.setToolTip(name)
        self.image.setValue(0)
        self.image.setFormat("")
        self._show_overall(0.0)

    def tiles(self, done: float, total: float) -> None:
        fraction = done / total if total else 0.0
        self.image.setValue(round(fraction * STEPS))
        self.image.setFormat(f"tile {done:.0f} of {total:.0f}")
        self._show_overall(fraction)

    def _show_overall(self, current_fraction: float) -> None:
        if len(self._work) == self._total and sum(self._work) > 0:
            # By pixels: a 24 MP photo counts for many small ones, a skipped one for nothing.
            current = self._work[self._index] if self._index < self._total else 0.0
            done, total = sum(self._work[: self._index]) + current_fraction * current, sum(self._work)
        else:
            done, total = min(self._index + current_fraction, self._total), float(self._total)
        self.overall.setValue(round(done / total * STEPS) if total else 0)
        left = describe_time_left(self._eta.seconds_left(done, total))
        self.overall.setFormat(f"{self._index} of {self._total} photos \u2014 {left}")

    def finish(self, summary: Summary) -> None:
        self.current_label.setText("")
        if summary.cancelled:
            self.overall.setFormat(f"Cancelled \u2014 {summary.done} done")
            self.image.setValue(0)
            self.image.setFormat("")
            return
        self.overall.setValue(STEPS)
        self.overall.setFormat(f"{self._total} of {self._total} photos \u2014 finished")
        self.image.setValue(STEPS if self._total else 0)
        self.image.setFormat("")

    def stopped_by_error(self) -> None:
        self.current_label.setText("")
        self.overall.setFormat("Stopped by an error")
