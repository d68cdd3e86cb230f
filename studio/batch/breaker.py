"""The batch's circuit breaker: a job whose first requests all fail the same way stops.

A batch fails one item and goes on when the model refuses or fails on one request (issue 18:
one bad row must not stop 500). But when the very first requests all fail with the same
error and none has succeeded, the fault is the endpoint's or the settings', not the rows':
an endpoint whose model cannot load, a size the model refuses. Going on would fail every
item one by one (and, on a billed backend, keep sending). So after `limit` such failures in a
row the job stops, resumable, and those items go back to pending so that `--resume` makes
them once the cause is fixed.

Only failures about the request (a refusal, a model error) count, compared with their
numbers blanked out (a request id, a duration or a byte count differs from one to the next).
Temporary failures are retried by the runner and never trip it. Once one unit succeeds, or
one fails differently, the breaker stands down for the rest of the run: from then on
failures are the rows' own.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

FIRST_FAILURES = 5
_VARYING = re.compile(r"\b[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b|\d+(?:\.\d+)?", re.I)


def error_key(message: str) -> str:
    """What two failures must share to be the same error: the message with its request ids
    and numbers blanked."""
    return _VARYING.sub("#", message.strip())


@dataclass
class Breaker:
    """Counts the run's first failures; thread-safe (units finish on several workers)."""

    limit: int = FIRST_FAILURES
    tripped: bool = False
    _armed: bool = True
    _key: str = ""
    _streak: list[list[int]] = field(default_factory=list)  # each failed unit's item idxs
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def succeeded(self) -> None:
        """A unit made its images: what fails from now on is the rows' own business."""
        with self._lock:
            self._armed = False
            self._streak.clear()

    def failed(self, idxs: list[int], reason: str) -> list[int] | None:
        """A unit failed with `reason`. Returns the items of every unit in the streak when this
        failure trips the breaker (the runner puts them back to pending and stops the job), or
        this unit's own items when the breaker has already tripped (the job is stopping: the
        same error will not be charged to them), else None (fail the unit as usual)."""
        key = error_key(reason)
        with self._lock:
            if self.tripped:
                return list(idxs) if key == self._key else None
            if not self._armed:
                return None
            if self._streak and key != self._key:
                self._armed = False
                self._streak.clear()
                return None
            self._key = key
            self._streak.append(list(idxs))
            if len(self._streak) < self.limit:
                return None
            self.tripped = True
            return [idx for unit in self._streak for idx in unit]

    def message(self, reason: str, job_id: int) -> str:
        return (f"The backend failed the first {self.limit} requests with the same error, and "
                f"none succeeded: {reason.rstrip('.')}. The job stopped rather than fail every "
                "item the same way; those items are pending again. Fix the cause, then "
                f"resume: studio batch --resume {job_id}")
