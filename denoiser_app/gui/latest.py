"""Which request is the latest: shared by the UI thread, which moves it on, and a worker, which skips stale work."""
from __future__ import annotations

import threading


class LatestRequest:
    """A request counter. The UI thread starts requests; a worker asks whether one is still wanted.

    When the user moves on (another photo, another folder), :meth:`supersede`
    makes every request in flight stale, so the worker drops it unseen
    instead of spending seconds on it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current = 0

    @property
    def current(self) -> int:
        with self._lock:
            return self._current

    def supersede(self) -> int:
        """Make all earlier requests stale; returns the id of the new one."""
        with self._lock:
            self._current += 1
            return self._current

    def is_current(self, request: int) -> bool:
        return request == self.current
