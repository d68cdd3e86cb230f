"""The errors every backend raises, so callers can react without knowing the backend.

Messages are written for a designer: they say what happened and what to do next.
"""

from __future__ import annotations


class BackendError(Exception):
    """Base of every error a backend raises on purpose."""


class InvalidRequest(BackendError, ValueError):
    """The request cannot be served as asked; the user has to change it."""


class BackendUnavailable(BackendError):
    """The backend cannot run at all right now: missing model, package, credentials or device."""


class TransientError(BackendError):
    """A failure that may succeed if retried unchanged (throttling, timeouts, busy device)."""


class Cancelled(BackendError):
    """The user cancelled the generation."""
