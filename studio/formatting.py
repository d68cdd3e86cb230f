"""How money, seconds and prompts read to a designer: one wording for the CLI and the window.

Pure functions, no widgets, so every view (status bar, loupe, tables, progress lines) agrees.
"""

from __future__ import annotations

import math

EMPTY = "—"
SHORT_PROMPT_CHARS = 48


def format_usd(usd: float | None) -> str:
    """Dollars with enough digits to tell small amounts apart: local runs cost fractions
    of a cent, and "$0.00" would hide the difference a designer is comparing."""
    if usd is None:
        return EMPTY
    if usd <= 0:
        return "$0.00"
    if usd >= 1:
        return f"${usd:,.2f}"
    if usd >= 0.01:
        return f"${usd:.3f}"
    digits = min(8, 1 - math.floor(math.log10(usd)))
    return f"${usd:.{digits}f}"


def format_seconds(seconds: float) -> str:
    """A latency: hundredths under ten seconds, where the differences being compared live."""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


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
