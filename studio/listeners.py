"""A thread-safe list of plain-Python listeners: the library's events and the generation
loop's runs both announce through one, with no Qt, so the CLI uses them too."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
Event = TypeVar("Event")


class Listeners(Generic[Event]):
    """Subscribing, unsubscribing and publishing are safe from any thread; listeners run on
    the publishing thread, and one that raises is logged and skipped, never passed up: what
    it was told about has already happened."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Event], object]] = []

    def subscribe(self, listener: Callable[[Event], object]) -> Callable[[], None]:
        """Call `listener(event)` for every event from now on; returns the unsubscribe."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    @property
    def listener_count(self) -> int:
        with self._lock:
            return len(self._listeners)

    def publish(self, event: Event) -> None:
        # A copy, so a listener may unsubscribe (or subscribe) while being called.
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a listener's bug must not undo the event
                log.exception("a listener failed on %s", type(event).__name__)
