"""A spending cap checked before work starts, so a run never goes over it."""

from __future__ import annotations

from dataclasses import dataclass


class BudgetExceeded(Exception):
    """Starting the next piece of work could take spending past the cap."""


@dataclass(frozen=True)
class Budget:
    limit_usd: float

    def __post_init__(self) -> None:
        if not self.limit_usd >= 0:
            raise ValueError(f"A budget must be zero or more dollars (got {self.limit_usd}).")

    def remaining(self, spent_usd: float) -> float:
        return max(0.0, self.limit_usd - spent_usd)

    def check(self, spent_usd: float, next_estimate_usd: float,
              what: str = "the next image") -> None:
        """Refuse when spent + the estimate of what comes next would pass the cap."""
        if spent_usd + next_estimate_usd > self.limit_usd + 1e-12:
            raise BudgetExceeded(
                f"Stopped before {what}: it is estimated at ${next_estimate_usd:.4f}, and "
                f"${spent_usd:.4f} of the ${self.limit_usd:.2f} budget is already spent. "
                "Raise the budget to continue."
            )
