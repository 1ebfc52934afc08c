"""Wording: a number with its English indefinite article, "a 7" but "an 8"."""

from __future__ import annotations

# Spoken forms that start with a vowel sound, by the number's first group of up to three digits:
# 8 (eight), 11 (eleven), 18 (eighteen), 80-89 (eighty-...), 800-899 (eight hundred ...).
_VOWEL_GROUPS = {8, 11, 18, *range(80, 90), *range(800, 900)}


def article(n: int) -> str:
    """"a" or "an", whichever English puts before the number n (an int >= 0) said aloud."""
    n = int(n)
    if n < 0:
        raise ValueError(f"article needs a non-negative integer, not {n}")
    digits = str(n)
    return "an" if int(digits[: len(digits) % 3 or 3]) in _VOWEL_GROUPS else "a"


def with_article(n: int) -> str:
    """"a 7", "an 8", "an 11", "an 18", "an 80", "a 1", "an 8000", "an 11000", "a 100"...

    English picks the article by sound: a number is read group by group of three digits from
    the left ("eleven thousand", "eight hundred thousand"), so only the leading group matters.
    """
    return f"{article(n)} {int(n)}"


def percent(p: float) -> str:
    """A probability with one decimal, "99.7%"; never "100.0%" unless it is exactly 1 (nor
    "0.0%" unless it is exactly 0): rounding must not make the model sound certain."""
    p = float(p)
    text = f"{p:.1%}"
    if text == "100.0%" and p < 1:
        return "99.9%"
    if text == "0.0%" and p > 0:
        return "<0.1%"
    return text
