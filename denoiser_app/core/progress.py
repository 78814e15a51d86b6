"""The one progress-and-cancel interface shared by the CLI, the GUI worker, training and tests.

Long jobs take a :class:`Progress` and call :meth:`Progress.report` as they go and
:meth:`Progress.check_cancelled` at every point where stopping is safe.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import Enum


class Cancelled(Exception):
    """Raised inside a job when its progress object says the user cancelled."""


class Stage(str, Enum):
    """What an update counts. A ``str``, so it compares and prints as its name."""

    FILES = "files"  # photos of a batch
    TILE = "tile"  # tiles of one photo
    TRAIN = "train"  # training steps
    VALIDATION = "validation"  # a training's check on set-aside photos; ``data`` holds the scores
    NOISE_PROFILE = "noise profile"  # measuring a camera's noise before training; ``data`` holds the profile

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Update:
    """One progress tick: ``done`` of ``total`` units of ``stage``.

    ``data`` carries a stage's typed result where it has one (training's
    validation scores), so no one has to read it back out of ``message``.
    """

    stage: Stage | str
    done: float
    total: float
    message: str = ""
    data: object = None

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total > 0 else 0.0


class Progress:
    """Collects updates and carries a thread-safe cancel flag.

    Subclass and override :meth:`on_update` (the CLI draws a bar, the GUI
    worker emits a signal); the base class only records the last update.
    """

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self.last: Update | None = None

    def report(self, stage: Stage | str, done: float, total: float, message: str = "", data: object = None) -> None:
        update = Update(stage, done, total, message, data)
        self.last = update
        self.on_update(update)

    def on_update(self, update: Update) -> None:
        """Hook for subclasses; called on the job's thread."""

    def cancel(self) -> None:
        """Ask the job to stop at its next safe point. Safe from any thread."""
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise :class:`Cancelled` if :meth:`cancel` was called."""
        if self._cancel.is_set():
            raise Cancelled()
