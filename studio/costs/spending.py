"""Per-day totals and the daily budget cap that the queue checks before it accepts work.

The cap is in Settings → Costs (a dollar amount per calendar day, local time). Spending is
what history recorded today, plus the attempts that may have been billed without delivering
an image (a read timeout, a reset after sending: `lost_attempts.py`), plus the estimates of
work already queued, so a burst of submissions cannot slip past the cap before any of it is
recorded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from studio.costs.budget import Budget, BudgetExceeded
from studio.costs.lost_attempts import LostAttempts
from studio.library import Library, Totals

__all__ = ["BudgetExceeded", "SpendingGuard", "start_of_day", "today_totals"]


def start_of_day(now: datetime | None = None) -> datetime:
    """Local midnight of `now` (default: now), timezone-aware."""
    moment = (now or datetime.now()).astimezone()
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def today_totals(library: Library, now: datetime | None = None,
                 lost: LostAttempts | None = None) -> Totals:
    """Today's images, seconds and dollars; the dollars include today's lost attempts."""
    since = start_of_day(now)
    totals = library.totals(since=since)
    lost_usd = (lost or LostAttempts()).usd_since(since)
    return dataclasses.replace(totals, usd=totals.usd + lost_usd) if lost_usd else totals


class SpendingGuard:
    """Refuses an estimate that would take today's spending past the daily budget."""

    def __init__(self, library: Callable[[], Library],
                 budget_usd: Callable[[], float | None],
                 lost: LostAttempts | None = None) -> None:
        self._library = library
        self._budget_usd = budget_usd
        self._lost = lost

    def budget(self) -> Budget | None:
        limit = self._budget_usd()
        return None if limit is None else Budget(limit)

    def spent_today(self) -> float:
        return today_totals(self._library(), lost=self._lost).usd

    def check(self, estimate_usd: float, pending_usd: float = 0.0,
              what: str = "this generation") -> None:
        """Raise BudgetExceeded when spent today + queued work + this estimate > the cap."""
        budget = self.budget()
        if budget is None:
            return
        budget.check(self.spent_today() + pending_usd, estimate_usd, what)
