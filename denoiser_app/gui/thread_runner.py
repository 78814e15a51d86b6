"""Owning one worker object on its own QThread at a time, from the UI thread."""
from __future__ import annotations

from PySide6.QtCore import QObject, QThread, Signal, Slot

from denoiser_app.core.progress import Progress


class ThreadRunner(QObject):
    """Base for the UI-side runners: starts a worker on a fresh QThread, cancels it, waits for it.

    The worker must have a ``run`` slot and a ``stopped`` signal emitted last.
    """

    stopped = Signal()  # the thread has ended; safe to start again

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._last_thread: QThread | None = None
        self._worker: QObject | None = None
        self._progress: Progress | None = None

    def is_running(self) -> bool:
        return self._thread is not None

    def _launch(self, worker: QObject, progress: Progress, name: str) -> None:
        if self._thread is not None:
            raise RuntimeError(f"a {name} is already running")
        self._worker, self._progress = worker, progress
        self._thread = thread = QThread()
        thread.setObjectName(name)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.stopped.connect(thread.quit)
        thread.finished.connect(self._on_thread_finished)
        thread.start()

    def cancel(self) -> None:
        if self._progress is not None:
            self._progress.cancel()

    def shutdown(self) -> None:
        """Cancel and wait for the thread (the workers stop within one tile or step)."""
        if self._thread is not None:
            self.cancel()
            # The worker's own stopped -> quit is queued to this (now blocked)
            # thread, so ask the thread's event loop to stop directly.
            self._thread.quit()
            self._thread.wait()
            self._on_thread_finished()

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is None:
            return
        self._thread.wait()
        # Kept until the next run rather than deleted inside its own finished signal.
        self._last_thread, self._thread, self._worker = self._thread, None, None
        self.stopped.emit()
