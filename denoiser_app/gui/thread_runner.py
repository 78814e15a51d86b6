"""Owning one worker object on its own QThread at a time, from the UI thread, and the workers' skeleton."""
from __future__ import annotations

from PySide6.QtCore import QObject, QThread, Signal, Slot

from denoiser_app.core.progress import Progress
from denoiser_app.gui.errors import describe_error


class JobWorker(QObject):
    """One job on a background thread: ``finished(result)`` or ``errored(message, details)``, then ``stopped``.

    Subclasses implement :meth:`work` (and may word errors their own way in
    :meth:`describe`). The worker never touches a widget: all it learns goes
    out as signals; ``stopped`` is always the last one.
    """

    finished = Signal(object)
    errored = Signal(str, str)  # message, technical details
    stopped = Signal()

    def work(self) -> object:
        raise NotImplementedError

    def describe(self, error: BaseException) -> tuple[str, str]:
        return describe_error(error)

    @Slot()
    def run(self) -> None:
        try:
            self.finished.emit(self.work())
        except Exception as error:  # every error reaches the user as a dialog
            self.errored.emit(*self.describe(error))
        finally:
            self.stopped.emit()


class ThreadRunner(QObject):
    """Base for the UI-side runners: starts a :class:`JobWorker` on a fresh QThread, cancels it, waits for it.

    ``finished`` and ``errored`` relay the worker's; subclasses relay the rest.
    """

    finished = Signal(object)
    errored = Signal(str, str)
    stopped = Signal()  # the thread has ended; safe to start again

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._last_thread: QThread | None = None
        self._worker: QObject | None = None
        self._progress: Progress | None = None

    def is_running(self) -> bool:
        return self._thread is not None

    def _launch(self, worker: JobWorker, progress: Progress, name: str) -> None:
        if self._thread is not None:
            raise RuntimeError(f"a {name} is already running")
        worker.finished.connect(self.finished)
        worker.errored.connect(self.errored)
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
