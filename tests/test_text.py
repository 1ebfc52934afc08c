"""Numbers said with the right article: "a 7", "an 8", "an 11"."""

import pytest

from digits.text import article, with_article


@pytest.mark.parametrize("n, expected", [
    (0, "a 0"), (1, "a 1"), (2, "a 2"), (7, "a 7"), (9, "a 9"),
    (8, "an 8"), (11, "an 11"), (18, "an 18"),
    (10, "a 10"), (12, "a 12"), (17, "a 17"), (19, "a 19"), (28, "a 28"), (81, "an 81"),
    (80, "an 80"), (89, "an 89"), (90, "a 90"), (100, "a 100"), (108, "a 108"), (111, "a 111"),
    (118, "a 118"), (180, "a 180"), (800, "an 800"), (899, "an 899"), (900, "a 900"),
    (1000, "a 1000"), (1100, "a 1100"), (1800, "a 1800"), (8000, "an 8000"), (8999, "an 8999"),
    (11000, "an 11000"), (11999, "an 11999"), (18000, "an 18000"), (12000, "a 12000"),
    (80000, "an 80000"), (89999, "an 89999"), (110000, "a 110000"), (800000, "an 800000"),
    (2026, "a 2026"), (8_000_000, "an 8000000"), (11_000_000, "an 11000000"), (1_000_000, "a 1000000"),
])
def test_article_follows_the_spoken_number(n, expected):
    assert with_article(n) == expected
    assert article(n) == expected.split()[0]


def test_every_digit():
    assert [article(d) for d in range(10)] == ["a"] * 8 + ["an", "a"]


def test_numpy_integers_and_negative_numbers():
    import numpy as np

    assert with_article(np.int64(8)) == "an 8"
    with pytest.raises(ValueError):
        with_article(-1)


@pytest.mark.parametrize("p, shown", [
    (1.0, "100.0%"), (0.99999, "99.9%"), (0.9996, "99.9%"), (0.9974, "99.7%"), (0.5, "50.0%"),
    (0.0004, "<0.1%"), (0.0, "0.0%"), (0.012, "1.2%"),
])
def test_percent_never_rounds_up_to_certainty(p, shown):
    from digits.text import percent

    assert percent(p) == shown
