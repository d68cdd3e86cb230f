"""The one wording of money and seconds: pure functions, checked at their edges."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studio.formatting import (
    format_share_seconds,
    format_usd,
    format_usd_compact,
    per_image_seconds,
)


@pytest.mark.parametrize(("usd", "text"), [
    (None, "—"), (0, "$0.00"), (-1, "$0.00"), (1e-8, "< $0.0001"), (0.0000999, "< $0.0001"),
    (0.0001, "$0.0001"), (0.000123, "$0.00012"), (0.0031, "$0.0031"), (0.0099, "$0.0099"),
    (0.018, "$0.018"), (0.04, "$0.04"), (0.0999, "$0.10"), (0.1, "$0.10"), (0.12345, "$0.12"),
    (1.5, "$1.50"), (1234.5, "$1,234.50"),
])
def test_money_has_the_digits_that_mean_something(usd: float | None, text: str) -> None:
    assert format_usd(usd) == text


def test_a_badge_drops_the_space_of_a_trace() -> None:
    assert format_usd_compact(3e-9) == "<$0.0001"
    assert format_usd_compact(0.25) == "$0.25"


@given(st.floats(min_value=0.0001, max_value=1e6, allow_nan=False))
def test_every_amount_reads_within_its_shown_precision(usd: float) -> None:
    text = format_usd(usd)
    assert text.startswith("$") and "e" not in text
    shown = float(text[1:].replace(",", ""))
    decimals = len(text.partition(".")[2])
    # Never more than half a unit of the last digit shown away, and never more than
    # two significant digits below ten cents (no "$0.00000001").
    assert abs(shown - usd) <= 0.5 * 10 ** -decimals + 1e-12
    if usd < 0.1:
        significant = text[1:].replace(".", "").lstrip("0")
        assert len(significant.rstrip("0")) <= 2


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_no_float_makes_it_fail(usd: float) -> None:
    assert format_usd(usd)


def test_each_image_has_its_own_share_of_the_run() -> None:
    assert per_image_seconds(4.8, 4) == pytest.approx(1.2)
    assert per_image_seconds(3.0, 0) == 3.0 and per_image_seconds(-1, 2) == 0
    assert format_share_seconds(4.8, 4) == "1.20 s each · 4.80 s run"
    assert format_share_seconds(2.5, 1) == "2.50 s"
    assert not math.isnan(per_image_seconds(0, 3))
