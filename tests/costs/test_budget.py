from __future__ import annotations

import pytest

from studio.costs.budget import Budget, BudgetExceeded


def test_work_that_fits_is_allowed_and_work_that_would_pass_the_cap_is_refused() -> None:
    budget = Budget(1.00)
    budget.check(0.50, 0.50)
    with pytest.raises(BudgetExceeded, match=r"\$0.9000 of the \$1.00 budget"):
        budget.check(0.90, 0.11)
    assert budget.remaining(0.25) == 0.75 and budget.remaining(2.0) == 0.0


def test_a_negative_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="zero or more"):
        Budget(-1)
