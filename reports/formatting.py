"""Numbers and codes as the report's sentences give them."""

from __future__ import annotations

from sendflow.core.vocabulary import NeedCode


def pct(value: float | None, places: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{places}f}%"


def pounds(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 1_000_000:
        return f"£{value / 1_000_000:,.1f}m"
    return f"£{value:,.0f}"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def need_label(code: str) -> str:
    """A primary-need code's name (any case); a code the census does not define is shown as it is."""
    try:
        return NeedCode(code.lower()).label
    except ValueError:
        return code
