"""The estimate's error shows only where it means something."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.types import Cost
from studio.costs.accuracy import ABSURD_RATIO, estimate_error

PRICED = "2 images × $0.04 (list price)"


def _error(estimate: float, actual: float, basis: str = PRICED) -> str:
    return estimate_error(Cost(estimate, basis, True), Cost(actual, "", False)).text()


def test_a_priced_estimate_reports_its_error() -> None:
    assert _error(0.03, 0.04) == "actual +33%"
    assert _error(0.04, 0.03) == "actual -25%"
    assert _error(0.04, 0.04001) == "actual matched"


def test_the_issue_case_shows_no_percentage() -> None:
    # "0.0 s × 300 W (typical cuda) … no run measured yet", then a real CPU run.
    guess = "Energy for a guessed 0.0 s × 300 W (typical cuda) × $0.170/kWh (no run measured yet)"
    assert _error(1e-8, 1.46e-5, guess) == ""  # both below a hundredth of a cent
    assert _error(0.001, 0.01, guess) == "the estimate was a guess before any measured run"


def test_absurd_ratios_say_far_off_instead() -> None:
    assert _error(0.001, 0.001 * (ABSURD_RATIO + 1)) == "the estimate was far off"
    assert _error(0.01, 0.01 / (ABSURD_RATIO + 1)) == "the estimate was far off"
    assert _error(0.001, 0.001 * ABSURD_RATIO) == f"actual {ABSURD_RATIO - 1:+.0%}"


@given(st.floats(0, 100), st.floats(0, 100))
def test_a_shown_percentage_is_never_beyond_the_absurd_bound(estimate, actual) -> None:
    change = estimate_error(Cost(estimate, PRICED, True), Cost(actual, "", False)).change
    if change is not None:
        assert -1 + 1 / ABSURD_RATIO - 1e-9 <= change <= ABSURD_RATIO - 1 + 1e-9
        assert estimate >= 0.0001 and actual >= 0.0001
        assert change == pytest.approx(actual / estimate - 1)
