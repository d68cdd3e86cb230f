"""What the status bar says about money: this session, today, the daily budget, and for a
SageMaker endpoint its burn rate and the effective cost per image over the session."""

from __future__ import annotations

from typing import Any

from studio.backend_kinds import burn_rate_text
from studio.costs.session_totals import SessionTotals
from studio.formatting import format_seconds, format_usd
from studio.library import Totals


def totals_text(session: SessionTotals, today: Totals | None,
                budget_usd_per_day: float | None) -> str:
    text = (f"Session: {session.images} images · {format_seconds(session.seconds)} · "
            f"{format_usd(session.usd)}")
    if today is not None:
        text += f"  |  Today: {today.images} images · {format_usd(today.usd)}"
        if budget_usd_per_day is not None:
            left = max(0.0, budget_usd_per_day - today.usd)
            text += f" of {format_usd(budget_usd_per_day)} budget ({format_usd(left)} left)"
    return text


def burn_text(backend: Any, elapsed_s: float, images: int) -> str:
    """The burn-rate sentence for a backend that bills by the hour; '' for the others."""
    return burn_rate_text(backend, elapsed_s, images)


def estimate_button_text(usd: float) -> str:
    """"Generate  ≈ $0.0031"; "Generate  < $0.0001" for a trace ("≈ <" would say it twice)."""
    money = format_usd(usd)
    return f"Generate  {money}" if money.startswith("<") else f"Generate  ≈ {money}"
