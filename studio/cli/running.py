"""What every image-making command shares: the generation loop with the daily cap, and
Ctrl+C turned into a cancel the backend sees between steps."""

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
