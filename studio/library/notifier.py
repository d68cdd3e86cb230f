"""The library's events as Qt signals, for widgets: one notifier that outlives library switches.

`Library.events` calls its listeners on whatever thread made the change (a job worker, the
batch runner). The notifier hops every event onto its own thread (the GUI thread) through a
queued signal before re-emitting it, so receivers always run there, in the order the changes
were announced, and an event of a library it has since let go of is dropped on arrival.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject, Signal

from studio.library.events import LibraryEvent, RecordChanged, RecordsAdded, RecordsRemoved
from studio.library.store import Library


class LibraryNotifier(QObject):
    """Re-emits the current library's events; `attach` moves it to another library."""

    added = Signal(list)  # list[ImageRecord], freshly recorded
    changed = Signal(object)  # ImageRecord, as stored now (a favourite mark)
    removed = Signal(list)  # list[int], image ids deleted
    switched = Signal(object)  # Library: the one now shown; reload everything from it
    failed = Signal(str)  # a library could not be opened: what to tell the designer

    _arrived = Signal(int, object)  # attachment number, LibraryEvent: the hop to our thread

    def __init__(self, library: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._library = library
        self._attachment = 0
        self._arrived.connect(self._deliver)
        self._unsubscribe = self._subscribe(library)

    @property
    def library(self) -> Library:
        return self._library

    def attach(self, library: Library) -> None:
        """Follow `library` from now on (Settings chose another folder) and say so with
        `switched`; nothing the previous one announces is emitted any more."""
        self.detach()
        self._library = library
        self._unsubscribe = self._subscribe(library)
        self.switched.emit(library)

    def detach(self) -> None:
        """Stop listening (the library is closing); `attach` starts again."""
        self._unsubscribe()
        self._unsubscribe = _nothing
        self._attachment += 1

    def _subscribe(self, library: Library) -> Callable[[], None]:
        attachment = self._attachment = self._attachment + 1
        notifier = weakref.ref(self)

        def listener(event: LibraryEvent) -> None:
            alive = notifier()
            if alive is None or not shiboken6.isValid(alive):
                unsubscribe()  # the window is gone; the library lives on (the CLI, a test)
                return
            # Queued when a worker thread emits, direct on the notifier's own thread.
            alive._arrived.emit(attachment, event)

        unsubscribe = library.events.subscribe(listener)
        return unsubscribe

    def _deliver(self, attachment: int, event: LibraryEvent) -> None:
        if attachment != self._attachment:
            return  # from a library this notifier no longer follows
        if isinstance(event, RecordsAdded):
            self.added.emit(list(event.records))
        elif isinstance(event, RecordChanged):
            self.changed.emit(event.record)
        elif isinstance(event, RecordsRemoved):
            self.removed.emit(list(event.image_ids))


def _nothing() -> None:
    pass


def notifier_for(source: Library | LibraryNotifier, parent: QObject) -> LibraryNotifier:
    """The shared notifier a widget was given, or a private one over a bare Library (tests,
    benchmarks and tools that build a single widget)."""
    if isinstance(source, LibraryNotifier):
        return source
    return LibraryNotifier(source, parent)
