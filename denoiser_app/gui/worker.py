"""The batch run on a background thread, driving the core's ``run_batch`` generator.

The worker never touches a widget: everything it learns goes out as a signal,
including every error. Cancelling sets the Progress flag, which the engine
checks between tiles, so a run stops within one tile and leaves no partial file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from denoiser_app.core.batch import BatchOptions, JobStarted, Summary, run_job
from denoiser_app.core.engine import Denoiser
from denoiser_app.core.hardware import describe_compute
from denoiser_app.core.progress import Progress, Update
from denoiser_app.gui.thread_runner import JobWorker, ThreadRunner


@dataclass(frozen=True)
class BatchJob:
    """Everything a run needs, snapshotted on the UI thread before it starts."""

    inputs: tuple[Path, ...]
    options: BatchOptions  # with how to denoise (model, device, passes, strength…) in options.denoise


class _ProgressSignal(QObject):
    updated = Signal(object)


class SignalProgress(Progress):
    """A Progress whose updates become a Qt signal (queued to the UI thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.signal = _ProgressSignal()

    def on_update(self, update: Update) -> None:
        self.signal.updated.emit(update)


class BatchWorker(JobWorker):
    """Runs one job on the batch thread; ``finished`` carries its Summary, also when cancelled."""

    model_ready = Signal(str, str)  # model name, compute (device or CPU with its instruction sets, precision)
    planned = Signal(object)  # Plan
    sized = Signal(object)  # tuple of megapixels per planned file, 0 for those to skip
    file_done = Signal(object)  # FileResult
    notice = Signal(str)

    def __init__(self, job: BatchJob, progress: Progress) -> None:
        super().__init__()
        self.job = job
        self.progress = progress

    def work(self) -> Summary:
        job = self.job

        def load() -> Denoiser:
            return job.options.denoise.load(on_notice=self.notice.emit)

        events = run_job(job.inputs, job.options, load, self.progress)
        started = next(events)
        assert isinstance(started, JobStarted)
        self.model_ready.emit(started.denoiser.name, describe_compute(started.denoiser.device, started.denoiser.dtype))
        self.planned.emit(started.plan)
        self.sized.emit(started.work)
        summary = Summary.for_plan(started.plan)
        for result in events:
            summary.add(result)
            self.file_done.emit(result)
        return summary


class BatchRunner(ThreadRunner):
    """Starts jobs on their own QThread and relays the worker's signals on the UI thread."""

    model_ready = Signal(str, str)
    planned = Signal(object)
    sized = Signal(object)
    progressed = Signal(object)  # Update
    file_done = Signal(object)
    notice = Signal(str)

    def start(self, job: BatchJob) -> None:
        progress = SignalProgress()
        progress.signal.updated.connect(self.progressed)
        worker = BatchWorker(job, progress)
        for source, relay in (
            (worker.model_ready, self.model_ready),
            (worker.planned, self.planned),
            (worker.sized, self.sized),
            (worker.file_done, self.file_done),
            (worker.notice, self.notice),
        ):
            source.connect(relay)
        self._launch(worker, progress, "batch")
