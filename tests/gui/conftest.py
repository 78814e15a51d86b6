"""GUI test fixtures: offscreen Qt, settings kept away from the user's, and policing of leftovers.

Every test fails if it leaves a QThread or a QTimer running or a top-level widget open, and says
where the thread or timer was started.
"""
from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before pytest-qt creates the QApplication

import time
import traceback
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import shiboken6
from PySide6.QtCore import QEvent, QSettings, QThread, QTimer
from PySide6.QtWidgets import QApplication

from denoiser_app.core.engine import Denoiser
from denoiser_app.gui.main_window import MainWindow
from denoiser_app.gui.settings import Settings
from tests.conftest import noisy_photo, write_png


@pytest.fixture(autouse=True)
def fresh_settings(tmp_path: Path) -> Iterator[Path]:
    """Any QSettings made without a path lands in the test's folder, never the user's config."""
    config = tmp_path / "config"
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(config))
        QSettings.setPath(QSettings.Format.NativeFormat, scope, str(config))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    yield config


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    return tmp_path / "denoiser.ini"


def _caller() -> str:
    """Where in our code (not Qt's, not this file's) the current call was made."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if frame.filename != __file__ and "site-packages" not in frame.filename:
            return f"{Path(frame.filename).name}:{frame.lineno} ({frame.name})"
    return "unknown"


def _record_starts(monkeypatch: pytest.MonkeyPatch, kind: type) -> weakref.WeakKeyDictionary:
    """Remembers every ``kind`` started during the test, and where it was started."""
    started: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
    original_start = kind.start

    def recording_start(self, *args: object) -> None:
        started[self] = _caller()
        original_start(self, *args)

    monkeypatch.setattr(kind, "start", recording_start)
    return started


@pytest.fixture(autouse=True)
def _dangling_qthreads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    started = _record_starts(monkeypatch, QThread)
    yield
    running = {t: where for t, where in started.items() if shiboken6.isValid(t) and t.isRunning()}
    for thread in running:  # stop them so one failure does not spill into the next test
        thread.quit()
        thread.wait(5000)
    assert not running, f"QThreads left running, started at: {sorted(running.values())}"


@pytest.fixture(autouse=True)
def _dangling_timers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A timer still ticking after the test's windows have closed would fire into a later test."""
    started = _record_starts(monkeypatch, QTimer)
    yield
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    active = {t: where for t, where in started.items() if shiboken6.isValid(t) and t.isActive()}
    for timer in active:
        timer.stop()
    assert not active, f"QTimers left running, started at: {sorted(active.values())}"


@pytest.fixture(autouse=True)
def _dangling_widgets(qapp: QApplication) -> Iterator[None]:
    before = {id(w) for w in qapp.topLevelWidgets()}
    yield
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    left = [
        w
        for w in qapp.topLevelWidgets()
        if id(w) not in before and (w.isVisible() or w.parent() is None) and not w.inherits("QMenu")
    ]
    names = [type(w).__name__ for w in left]
    for widget in left:  # close them so one failure does not spill into the next test
        widget.close()
        widget.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not names, f"widgets left open: {names}"


@pytest.fixture
def make_window(qtbot: object, settings_path: Path, tiny_model: Path) -> Iterator[Callable[..., MainWindow]]:
    """Opens main windows on the test's own settings file with the tiny model; closes what is left."""
    windows: list[MainWindow] = []

    def make(model_path: Path | None = tiny_model, size: tuple[int, int] | None = (1100, 700)) -> MainWindow:
        """``size`` None keeps the size the window restored from its settings."""
        window = MainWindow(Settings(settings_path), model_path=model_path)
        windows.append(window)
        if size is not None:
            window.resize(*size)
        window.show()
        qtbot.waitExposed(window)  # type: ignore[attr-defined]
        return window

    yield make
    for window in windows:
        if shiboken6.isValid(window):
            window.close()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def photo_folder(tmp_path: Path) -> Callable[..., Path]:
    """Writes ``count`` small noisy PNGs into a new folder."""

    def make(count: int = 4, height: int = 48, width: int = 64, name: str = "shoot") -> Path:
        folder = tmp_path / name
        for index in range(count):
            write_png(folder / f"photo_{index:02d}.png", noisy_photo(height, width, seed=index))
        return folder

    return make


@pytest.fixture
def slow_model(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Makes every tile take at least ``seconds``, so a run lasts long enough to cancel or watch."""

    def slow_down(seconds: float) -> None:
        original = Denoiser._run_model

        def slow_run(self: Denoiser, tile: np.ndarray, *args) -> np.ndarray:
            time.sleep(seconds)
            return original(self, tile, *args)

        monkeypatch.setattr(Denoiser, "_run_model", slow_run)

    return slow_down
