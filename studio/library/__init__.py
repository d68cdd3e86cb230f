"""The image history: PNG files plus SQLite rows, behind the `Library` facade.

`Library` writes and reads; `Library.events` announces what changed (plain Python, so the
CLI needs no Qt); `studio.library.notifier` re-emits it as Qt signals for the window.
"""

from studio.library.errors import LibraryError
from studio.library.events import (
    LibraryEvent,
    LibraryEvents,
    RecordChanged,
    RecordsAdded,
    RecordsRemoved,
)
from studio.library.records import ImageRecord, Totals
from studio.library.store import Library

__all__ = [
    "ImageRecord", "Library", "LibraryError", "LibraryEvent", "LibraryEvents", "RecordChanged",
    "RecordsAdded", "RecordsRemoved", "Totals",
]
