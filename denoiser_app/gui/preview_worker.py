"""The live preview: load the selected photo and denoise the part of it in view, off the UI thread.

:class:`LivePreview` lives on the UI thread. Every change of view or settings
cancels the computation in flight (through its Progress) and, after a short
debounce, sends a new immutable :class:`PreviewRequest` to the
:class:`PreviewWorker` on its own thread. Results carry their request id, so a
stale one is dropped.

The preview denoises the upright (EXIF-oriented) crop, with a margin so the
crop's edges look like the same region of the whole cleaned photo. With
"Auto" strength it uses what a batch would: the local levels the model's
learned estimator reads, or else one level read on the whole photo.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRect, QThread, QTimer, Signal, SignalInstance, Slot
from PySide6.QtGui import QImage

from denoiser_app.core.engine import DenoiseSettings, Denoiser, NoiseReading, Strength, auto_share, load_denoiser
from denoiser_app.core.models import resolve_model
from denoiser_app.core.noise_level import estimate_sigma
from denoiser_app.core.progress import Cancelled, Progress, Update
from denoiser_app.core.tiling import Rect
from denoiser_app.gui.errors import describe_error
from denoiser_app.gui.imaging import load_oriented, to_qimage
from denoiser_app.gui.latest import LatestRequest

DEBOUNCE_MS = 150
MARGIN = 16  # pixels of context around the visible region, cropped off again
MAX_PREVIEW_TILE = 512  # small tiles so a cancel lands quickly
# The most of the view, per side in image pixels, that one preview denoises exactly. At Fit a large
# photo is all in view, and denoising all of it on every change would take many seconds and a lot
# of memory.
MAX_PREVIEW_SIDE = 1536
# So a large photo at Fit first gets an approximate After everywhere: a copy reduced to at most this
# side, denoised in one pass. Reducing averages the noise down, so the strength follows what the
# noise estimate reads on the copy; the result is labelled approximate and the exact centre follows.
OVERVIEW_SIDE = 1024
PAUSED_TEXT = "Preview paused while photos are cleaned: this photo is not cleaned yet"
RESULT_TEXT = "After: the photo as this run wrote it"


def region_from_qrect(rect: QRect) -> Rect:
    return Rect(rect.top(), rect.left(), rect.height(), rect.width())


def qrect_from_region(region: Rect) -> QRect:
    return QRect(region.left, region.top, region.width, region.height)


@dataclass(frozen=True)
class PreviewRequest:
    request_id: int
    path: Path
    region: Rect
    settings: DenoiseSettings
    overview: bool = False  # first an approximate whole photo from a reduced copy


class _RequestProgress(Progress):
    """One request's progress, reported through the preview's one long-lived signal.

    Not a QObject per request: its last reference may go on the preview thread, and a
    QObject must be destroyed on the thread it belongs to.
    """

    def __init__(self, request_id: int, report: SignalInstance) -> None:
        super().__init__()
        self._request_id = request_id
        self._report = report

    def on_update(self, update: Update) -> None:
        self._report.emit(self._request_id, update)


class PreviewWorker(QObject):
    """Lives on the preview thread; keeps the current photo and model loaded between requests."""

    loaded = Signal(int, str, QImage)  # load id, path, upright 8-bit image
    output_loaded = Signal(int, QImage)  # load id, a batch's written output of the photo, upright 8-bit
    load_failed = Signal(int, str, str, str)  # load id, path, message, details
    estimated = Signal(str, float)  # path, noise level of the whole photo
    computed = Signal(int, object, QImage)  # request id, Rect, denoised 8-bit crop
    overview_computed = Signal(int, QImage)  # request id, the whole photo denoised from a reduced copy
    timed = Signal(float)  # megapixels per second the last preview was cleaned at, on this computer
    compute_failed = Signal(int, str, str)  # request id, message, details

    def __init__(self, latest_load: LatestRequest) -> None:
        super().__init__()
        self._latest_load = latest_load
        self._path: Path | None = None
        self._pixels: np.ndarray | None = None
        self._reading: NoiseReading | None = None
        self._reading_key: tuple[Path, int, str] | None = None  # the model whose estimator read _reading
        self._denoiser_key: tuple[Path, int, str] | None = None  # model file, its modification time, device
        self._denoiser: Denoiser | None = None

    def _ensure_image(self, path: Path) -> np.ndarray:
        if path != self._path or self._pixels is None:
            self._path, self._pixels, self._reading = None, None, None
            self._pixels = load_oriented(path)
            self._path = path
        return self._pixels

    def _ensure_reading(self, path: Path) -> NoiseReading:
        """The whole photo's noise as the loaded model reads it (by the patch-PCA estimate before any is loaded).

        Crops are cleaned with the whole photo's reading, as the batch cleans the photo.
        """
        pixels = self._ensure_image(path)
        estimator_key = self._denoiser_key if self._denoiser is not None else None
        if self._reading is None or self._reading_key != estimator_key:
            self._reading = (
                self._denoiser.read_noise(pixels) if self._denoiser is not None
                else NoiseReading(estimate_sigma(pixels), local=False)
            )
            self._reading_key = estimator_key
        return self._reading

    def _denoiser_for(self, model: str | None, device: str) -> Denoiser:
        path = resolve_model(model)
        # The file's time too: a model retrained under the same name must not keep its old weights.
        key = (path.resolve(), path.stat().st_mtime_ns, device)
        if self._denoiser is None or self._denoiser_key != key:
            self._denoiser = None
            self._denoiser = load_denoiser(path, device)
            self._denoiser_key = key
        return self._denoiser

    @Slot(int, str)
    def load(self, load_id: int, path: str) -> None:
        if not self._latest_load.is_current(load_id):
            return
        try:
            pixels = self._ensure_image(Path(path))
            self.loaded.emit(load_id, path, to_qimage(pixels))
            self.estimated.emit(path, self._ensure_reading(Path(path)).auto_level)
        except Exception as error:  # shown in the preview pane, never swallowed
            self.load_failed.emit(load_id, path, *describe_error(error))

    @Slot(int, str)
    def load_output(self, load_id: int, path: str) -> None:
        if not self._latest_load.is_current(load_id):
            return
        try:
            self.output_loaded.emit(load_id, to_qimage(load_oriented(Path(path))))
        except Exception as error:
            self.load_failed.emit(load_id, path, *describe_error(error))

    @Slot(object, object)
    def compute(self, request: PreviewRequest, progress: Progress) -> None:
        if progress.is_cancelled:
            return
        try:
            pixels = self._ensure_image(request.path)
            settings = request.settings
            denoiser = self._denoiser_for(settings.model, settings.device)
            denoiser.passes = settings.passes
            strength = settings.strength
            reading = self._ensure_reading(request.path)
            if auto_share(strength) is not None:
                self.estimated.emit(str(request.path), reading.auto_level)
            if request.overview:
                self._compute_overview(request, pixels, denoiser, strength, progress)
            region = request.region
            height, width = pixels.shape[:2]
            crop = region.grown(MARGIN, height, width)
            tile = max(128, min(settings.tile, MAX_PREVIEW_TILE))
            started = time.perf_counter()
            result = denoiser.denoise(
                pixels[crop.slices()], strength, tile, progress=progress, keep_grain=settings.keep_grain,
                reading=reading,
            )
            seconds = time.perf_counter() - started
            if seconds > 0:
                self.timed.emit(crop.height * crop.width / 1e6 / seconds)
            inner = result.pixels[region.relative_to(crop).slices()]
            self.computed.emit(request.request_id, region, to_qimage(inner))
        except Cancelled:
            return  # superseded by a newer request
        except Exception as error:
            self.compute_failed.emit(request.request_id, *describe_error(error))

    def _compute_overview(
        self, request: PreviewRequest, pixels: np.ndarray, denoiser: Denoiser, strength: Strength, progress: Progress
    ) -> None:
        """Denoise a reduced copy of the whole photo, in one pass, and emit it."""
        import cv2

        height, width = pixels.shape[:2]
        factor = max(height, width) / OVERVIEW_SIDE
        if factor <= 1:
            return
        size = (max(1, round(width / factor)), max(1, round(height / factor)))
        reduced = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)
        if not isinstance(strength, str):  # a level for the full photo: scaled as the copy's noise is
            strength = strength * denoiser.estimate(reduced) / max(self._ensure_reading(request.path).auto_level, 1e-3)
        passes, denoiser.passes = denoiser.passes, 1
        try:
            result = denoiser.denoise(reduced, strength, MAX_PREVIEW_TILE, progress=progress,
                                      keep_grain=request.settings.keep_grain)
        finally:
            denoiser.passes = passes
        self.overview_computed.emit(request.request_id, to_qimage(result.pixels))


class LivePreview(QObject):
    """UI-side controller of the preview thread: debounces, cancels, and drops stale results."""

    image_loaded = Signal(str, QImage)
    load_failed = Signal(str, str, str)  # path, message, details
    estimated = Signal(str, float)
    result_ready = Signal(QRect, QImage)  # the region of the upright image and its denoised pixels
    overview_ready = Signal(QImage)  # the whole photo, approximately denoised from a reduced copy
    failed = Signal(str, str)  # message, details
    busy = Signal(str)  # what the preview is doing, "" when idle
    outdated = Signal()  # the result shown was made with other settings; a new one is on its way
    timed = Signal(float)  # megapixels per second of the last preview: this computer's speed with these settings

    _load_wanted = Signal(int, str)
    _output_wanted = Signal(int, str)
    _progressed = Signal(int, object)  # request id, Update; emitted on the preview thread
    _compute_wanted = Signal(object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._latest_load = LatestRequest()
        self._latest_request = 0
        self._path: Path | None = None
        self._loaded = False
        self._output: Path | None = None  # the batch's written output of the photo, shown while paused
        self._shown: Rect | None = None  # what the result on screen covers, for this photo and these settings
        self._has_overview = False  # an approximate whole photo is on screen, for this photo and these settings
        self._region: Rect | None = None
        self._settings: DenoiseSettings | None = None
        self._progress: Progress | None = None
        self.enabled = True

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._send)
        self._progressed.connect(self._on_progress)

        self._thread = QThread(self)
        self._thread.setObjectName("preview")
        self._worker = PreviewWorker(self._latest_load)
        self._worker.moveToThread(self._thread)
        self._load_wanted.connect(self._worker.load)
        self._output_wanted.connect(self._worker.load_output)
        self._worker.output_loaded.connect(self._on_output_loaded)
        self._compute_wanted.connect(self._worker.compute)
        self._worker.loaded.connect(self._on_loaded)
        self._worker.load_failed.connect(self._on_load_failed)
        self._worker.estimated.connect(self._on_estimated)
        self._worker.computed.connect(self._on_computed)
        self._worker.overview_computed.connect(self._on_overview_computed)
        self._worker.timed.connect(self.timed)
        self._worker.compute_failed.connect(self._on_compute_failed)
        self._thread.finished.connect(self._worker.deleteLater)
        self._thread.start()

    @property
    def path(self) -> Path | None:
        return self._path

    def show_file(self, path: Path | None, output: Path | None = None) -> None:
        """Load ``path``; while paused, show ``output`` (its cleaned file from this run) as After, if given."""
        self._cancel_current()
        self._path, self._loaded, self._region, self._output, self._shown = path, False, None, output, None
        self._has_overview = False
        load_id = self._latest_load.supersede()
        if path is not None:
            self.busy.emit("Loading…")
            self._load_wanted.emit(load_id, str(path))
        else:
            self.busy.emit("")

    def set_enabled(self, enabled: bool) -> None:
        """Pause (stopping what is in flight) or resume; a batch run needs the computer to itself."""
        if enabled == self.enabled:
            return
        self.enabled = enabled
        if enabled:
            self.busy.emit("")
            self.schedule()
        else:
            self._timer.stop()
            self._cancel_current()
            self._output, self._shown, self._has_overview = None, None, False
            self.outdated.emit()  # a live result made before the run is not what the run writes
            self.busy.emit(PAUSED_TEXT)

    def show_output(self, output: Path) -> None:
        """While paused: show the batch's written output of the current photo as its After side."""
        self._output = output
        if self._loaded and not self.enabled:
            self._output_wanted.emit(self._latest_load.current, str(output))

    def set_settings(self, settings: DenoiseSettings) -> None:
        if settings != self._settings:
            if self._settings is not None and not settings.gives_the_same_pixels_as(self._settings):
                self._shown, self._has_overview = None, False
                self.outdated.emit()
            self._settings = settings
            self.schedule()

    def set_region(self, rect: QRect) -> None:
        """The part of the photo to clean: the visible After side. Work already on screen is not redone."""
        region = region_from_qrect(rect) if rect.isValid() and not rect.isEmpty() else None
        if region == self._region:
            return
        self._region = region
        if region is not None and self._shown is not None and self._shown.contains(region):
            self._cancel_current()  # e.g. the divider moved right: the result on screen already covers it
            self.busy.emit("")
            return
        self.schedule()

    def schedule(self) -> None:
        """Cancel what is in flight and ask again once things settle."""
        self._cancel_current()
        self._timer.start()

    def _cancel_current(self) -> None:
        if self._progress is not None:
            self._progress.cancel()
            self._progress = None
        self._latest_request += 1  # anything in flight is now stale

    @Slot()
    def _send(self) -> None:
        if not (self.enabled and self._loaded and self._path and self._region and self._settings):
            return
        self._latest_request += 1
        region = self._region.central_window(MAX_PREVIEW_SIDE)
        # Only while the approximate view is not already on screen for these settings.
        overview = region != self._region and not self._has_overview
        request = PreviewRequest(self._latest_request, self._path, region, self._settings, overview)
        progress = _RequestProgress(request.request_id, self._progressed)
        self._progress = progress
        self.busy.emit("Updating preview…")
        self._compute_wanted.emit(request, progress)

    @Slot(int, object)
    def _on_progress(self, request_id: int, update: Update) -> None:
        if request_id == self._latest_request and update.total > 1:
            self.busy.emit(f"Updating preview… {update.done:.0f}/{update.total:.0f}")

    @Slot(int, str, QImage)
    def _on_loaded(self, load_id: int, path: str, image: QImage) -> None:
        if not self._latest_load.is_current(load_id):
            return
        self._loaded = True
        self.image_loaded.emit(path, image)
        if self.enabled:
            self.busy.emit("")
            self.schedule()
        elif self._output is not None:
            self._output_wanted.emit(load_id, str(self._output))
        else:
            self.busy.emit(PAUSED_TEXT)

    @Slot(int, QImage)
    def _on_output_loaded(self, load_id: int, image: QImage) -> None:
        if self._latest_load.is_current(load_id) and not self.enabled:
            self.busy.emit(RESULT_TEXT)
            self.result_ready.emit(QRect(0, 0, image.width(), image.height()), image)

    @Slot(int, str, str, str)
    def _on_load_failed(self, load_id: int, path: str, message: str, details: str) -> None:
        if self._latest_load.is_current(load_id):
            self.busy.emit("")
            self.load_failed.emit(path, message, details)

    @Slot(str, float)
    def _on_estimated(self, path: str, sigma: float) -> None:
        if self._path is not None and Path(path) == self._path:
            self.estimated.emit(path, sigma)

    @Slot(int, QImage)
    def _on_overview_computed(self, request_id: int, image: QImage) -> None:
        if request_id == self._latest_request:
            self._has_overview = True
            self.overview_ready.emit(image)

    @Slot(int, object, QImage)
    def _on_computed(self, request_id: int, region: Rect, image: QImage) -> None:
        if request_id != self._latest_request:
            return  # the view or the settings changed since it was asked for
        self._progress = None
        self._shown = region
        self.busy.emit("")
        self.result_ready.emit(qrect_from_region(region), image)

    @Slot(int, str, str)
    def _on_compute_failed(self, request_id: int, message: str, details: str) -> None:
        if request_id == self._latest_request:
            self._progress = None
            self.busy.emit("")
            self.failed.emit(message, details)

    def shutdown(self) -> None:
        self._timer.stop()
        self._cancel_current()
        self._latest_load.supersede()
        self._thread.quit()
        self._thread.wait()
