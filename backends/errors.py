"""The errors every backend raises, so callers can react without knowing the backend.

Messages are written for a designer: they say what happened and what to do next. Every
message has its secrets (AWS key ids, session tokens, signatures) redacted when the error is
made, since an error may quote what a server echoed back and errors are shown and stored.
"""

from __future__ import annotations

from typing import Any

from backends.redaction import redact


class BackendError(Exception):
    """Base of every error a backend raises on purpose."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*(redact(arg) if isinstance(arg, str) else arg for arg in args))


class InvalidRequest(BackendError, ValueError):
    """The request cannot be served as asked; the user has to change it."""


class BackendUnavailable(BackendError):
    """The backend cannot run at all right now: missing model, package, credentials or device."""


class GenerationFailed(BackendError):
    """The backend took this request and failed on it (a model error: out of memory, a crash).
    Other requests may well succeed, so a batch fails this item and goes on."""


class TransientError(BackendError):
    """A failure that may succeed if retried unchanged (throttling, timeouts, busy device).

    `maybe_billed` is True when the request had been sent and may have been done, and paid
    for, although no answer came back: a read timeout, a connection reset after sending. A
    retry may pay for the same image twice, so callers retry those only when asked to and
    count the lost attempt as spent. Throttling, a 503 answered before any work and a failed
    connect are not billed and are safe to retry."""

    def __init__(self, *args: Any, maybe_billed: bool = False) -> None:
        super().__init__(*args)
        self.maybe_billed = maybe_billed


class Cancelled(BackendError):
    """The user cancelled the generation."""
