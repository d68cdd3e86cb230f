"""What every image-making command shares: the generation loop with the daily cap, and
Ctrl+C turned into a cancel the backend sees between steps.

Their exit codes mean the same everywhere (`generate`, `compare`, product scenes, `batch`):
0 everything asked for was made; 1 some of it failed, each failure saying why (a model error
on that request; in a batch, items that failed); 2 fix the command; 3 the backend is
unavailable (credentials, a missing or unreachable endpoint, no model); 4 a temporary failure
(throttling, a timeout): try again (a batch retries those and fails the item instead);
5 the budget would be exceeded; 130 interrupted. An attempt that may have been billed
without delivering an image (a read timeout, a reset after sending) counts in today's
spending either way (`costs/lost_attempts.py`).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from backends.types import CancelToken
from studio.generation.loop import GenerationLoop


def open_loop(settings: Any) -> GenerationLoop:
    """The loop over the settings' library, refusing work past the daily budget."""
    from studio.costs.spending import SpendingGuard
    from studio.library import Library

    library = Library.open(settings.library_path())
    guard = SpendingGuard(lambda: library, lambda: settings.costs.budget_usd_per_day)
    return GenerationLoop(library, guard.check)


@contextmanager
def sigint_cancels(cancel: CancelToken) -> Iterator[None]:
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    except ValueError:  # not the main thread (tests, embedding): nothing to hook
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
