"""How money, seconds and prompts read to a designer: one wording for the CLI and the window.

Pure functions, no widgets, so every view (status bar, loupe, tables, progress lines) agrees.
"""

from __future__ import annotations

import math

EMPTY = "—"
SHORT_PROMPT_CHARS = 48
# Below this an amount reads "< $0.0001": its digits would be noise, not a price.
TRACE_USD = 0.0001
# From here on cents are enough.
SMALL_USD = 0.10


def format_usd(usd: float | None) -> str:
    """Dollars with the digits that mean something: "< $0.0001" for a trace, two significant
    digits under ten cents (local runs cost fractions of a cent, and "$0.00" would hide the
    difference a designer is comparing), cents from ten cents up. One wording for the
    Generate button, the gallery badges, the loupe, the status bar and the CLI."""
    if usd is None or math.isnan(usd):
        return EMPTY
    if usd <= 0:
        return "$0.00"
    if math.isinf(usd):
        return "$∞"
    if usd < TRACE_USD:
        return f"< ${TRACE_USD:.4f}"
    if usd >= SMALL_USD:
        return f"${usd:,.2f}"
    # Two significant digits, but never fewer than cents ("$0.04", not "$0.040").
    digits = max(2, 1 - math.floor(math.log10(usd)))
    text = f"{usd:.{digits}f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    return f"${whole}.{fraction}"


def format_usd_compact(usd: float | None) -> str:
    """format_usd for a badge: "<$0.0001" without the space."""
    return format_usd(usd).replace("< $", "<$")


def format_seconds(seconds: float) -> str:
    """A latency: hundredths under ten seconds, where the differences being compared live."""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def per_image_seconds(run_total_s: float, images_in_run: int) -> float:
    """One image's own share of its run: the run's seconds split evenly over its images
    (backends time a run, not each image inside one batched call)."""
    return max(0.0, run_total_s) / max(1, images_in_run)


def format_share_seconds(run_total_s: float, images_in_run: int) -> str:
    """"1.20 s each · 4.80 s run" for a run of several images; the run's seconds for one."""
    if images_in_run <= 1:
        return format_seconds(max(0.0, run_total_s))
    each = per_image_seconds(run_total_s, images_in_run)
    return f"{format_seconds(each)} each · {format_seconds(run_total_s)} run"


def format_duration(seconds: float) -> str:
    """A stretch of wall time (an ETA, a batch run): whole seconds, minutes or hours."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def format_per_dollar(images_per_usd: float | None) -> str:
    return EMPTY if images_per_usd is None else f"{images_per_usd:,.0f}"


def short_prompt(prompt: str, limit: int = SHORT_PROMPT_CHARS) -> str:
    """A prompt on one line, cut at `limit` characters with an ellipsis."""
    text = " ".join(prompt.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
