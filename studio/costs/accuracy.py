"""When "actual +33%" beside an estimate means something, and when it is noise.

The issue saw "actual +145935%": a CPU run estimated as a guessed CUDA run, both far below a
hundredth of a cent. A percentage is shown only when all of these hold:

- both amounts are at least TRACE_USD ($0.0001): below that the digits are rounding, and
  the money is not worth a sentence;
- the estimate came from a measurement or a price (not a typical-device guess, whose basis
  says "guessed" or "no run measured yet");
- actual and estimate are within a factor of ABSURD_RATIO of each other: further apart, the
  estimate described another situation (a model loading, another device), and a percentage
  would only mislead. The line then says the estimate was far off instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from backends.types import Cost
from studio.formatting import TRACE_USD

ABSURD_RATIO = 10.0
# Within this the estimate "matched": a percentage of ±0% reads as a rounding error.
MATCHED = 0.005
GUESS_MARKERS = ("guessed", "no run measured yet")


@dataclass(frozen=True)
class EstimateError:
    change: float | None  # (actual - estimate) / estimate; None when not meaningful
    reason: str  # why no percentage shows ("" when one does)

    def text(self) -> str:
        """"actual +33%", "actual matched", or the reason, for the line after the estimate."""
        if self.change is None:
            return self.reason
        if abs(self.change) < MATCHED:
            return "actual matched"
        return f"actual {self.change:+.0%}"


def is_guess(estimate: Cost) -> bool:
    basis = estimate.basis.lower()
    return any(marker in basis for marker in GUESS_MARKERS)


def estimate_error(estimate: Cost, actual: Cost) -> EstimateError:
    """How far the actual cost was from the estimate, where that is worth saying."""
    if estimate.usd < TRACE_USD or actual.usd < TRACE_USD:
        return EstimateError(None, "")
    if is_guess(estimate):
        return EstimateError(None, "the estimate was a guess before any measured run")
    ratio = actual.usd / estimate.usd
    if ratio > ABSURD_RATIO or ratio < 1 / ABSURD_RATIO:
        return EstimateError(None, "the estimate was far off")
    return EstimateError(ratio - 1, "")
