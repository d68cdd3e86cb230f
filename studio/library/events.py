"""What the library announces: images added, an image changed, images removed.

Plain Python, no Qt: the CLI uses the library without a GUI. `studio.library.notifier` turns
these into Qt signals for the window.

Events are published after the transaction commits, on the thread that made the change (a
job worker, the batch runner, the GUI thread), so a listener sees only what is stored and
must hand work over to its own thread itself. A listener that raises is logged and skipped:
the write it reports has already happened and must not look failed.

One `LibraryEvents` serves each database file in the process, so a second `Library` opened
on the same folder (the CLI running in the app's process) is heard by the same listeners.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from studio.library.records import ImageRecord
from studio.listeners import Listeners

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordsAdded:
    """New images, newest last, as `Library.record` returned them."""

    records: tuple[ImageRecord, ...]


@dataclass(frozen=True)
class RecordChanged:
    """An image's row changed (a favourite mark); `record` is the row as stored now."""

    record: ImageRecord


@dataclass(frozen=True)
class RecordsRemoved:
    """Images deleted from the library, rows and files."""

    image_ids: tuple[int, ...]


LibraryEvent = RecordsAdded | RecordChanged | RecordsRemoved
Listener = Callable[[LibraryEvent], object]


class LibraryEvents(Listeners["LibraryEvent"]):
    """Listeners of one library. Subscribing, unsubscribing and publishing are thread-safe."""

    _by_path: weakref.WeakValueDictionary[Path, LibraryEvents] = weakref.WeakValueDictionary()
    _by_path_lock = threading.Lock()

    @classmethod
    def for_database(cls, db_path: Path) -> LibraryEvents:
        """The events of the database at `db_path`, shared by every Library open on it."""
        key = Path(db_path).resolve()
        with cls._by_path_lock:
            events = cls._by_path.get(key)
            if events is None:
                events = cls._by_path[key] = cls()
            return events
