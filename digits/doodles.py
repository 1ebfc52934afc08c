"""A deterministic set of drawings that are not digits, to measure the "not a digit" answer.

Kinds: capital and small letters, random scribbles, circles with a cross, smileys, other shapes
(stars, triangles, #, arrows, spirals, hearts), UNIPEN digits crossed out, two UNIPEN digits side
by side, and pairs of MNIST digits overlaid. The same generators, with other seeds and MNIST's
training images, make the generated part of the training set's "not a digit" class
(digits.training.fit). Stroke kinds are drawn in a unit box with hand-like jitter, then go through the
replay protocol (digits.render.replay_layout: random size and place, default pen) and
digits.preprocess exactly like the real digits they are compared with.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from digits.data import Mnist, Sample
from digits.preprocess import preprocess_canvas
from digits.render import CANVAS, draw, replay_layout
from digits.strokes import as_sent, sequence

Strokes = list[np.ndarray]

# Letters that do not look like a digit (no O, I, l, Z, S, B, G, q, g, b): polylines in a unit
# box, y down. Curved parts are sampled arcs.


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 16) -> np.ndarray:
    t = np.radians(np.linspace(a0, a1, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _line(*pts: tuple[float, float]) -> np.ndarray:
    return np.asarray(pts, np.float64)


LETTERS: dict[str, Strokes] = {
    "A": [_line((0, 1), (0.5, 0), (1, 1)), _line((0.22, 0.6), (0.78, 0.6))],
    "E": [_line((1, 0), (0, 0), (0, 1), (1, 1)), _line((0, 0.5), (0.7, 0.5))],
    "F": [_line((1, 0), (0, 0), (0, 1)), _line((0, 0.48), (0.7, 0.48))],
    "H": [_line((0, 0), (0, 1)), _line((1, 0), (1, 1)), _line((0, 0.5), (1, 0.5))],
    "K": [_line((0, 0), (0, 1)), _line((0.9, 0), (0.05, 0.55), (1, 1))],
    "M": [_line((0, 1), (0.05, 0), (0.5, 0.65), (0.95, 0), (1, 1))],
    "N": [_line((0, 1), (0, 0), (1, 1), (1, 0))],
    "R": [np.concatenate([_line((0, 1), (0, 0), (0.45, 0)), _arc(0.45, 0.25, 0.4, 0.25, -90, 90),
                          _line((0.45, 0.5), (0, 0.5))]), _line((0.35, 0.5), (1, 1))],
    "W": [_line((0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0))],
    "X": [_line((0, 0), (1, 1)), _line((1, 0), (0, 1))],
    "Y": [_line((0, 0), (0.5, 0.5), (1, 0)), _line((0.5, 0.5), (0.5, 1))],
    "e": [np.concatenate([_line((0.05, 0.55), (0.95, 0.55)), _arc(0.5, 0.55, 0.45, 0.45, 0, -300, 24)])],
    "m": [np.concatenate([_line((0, 1), (0, 0.3)), _arc(0.25, 0.45, 0.25, 0.2, 180, 360, 8),
                          _line((0.5, 0.45), (0.5, 1)), _arc(0.75, 0.45, 0.25, 0.2, 180, 360, 8),
                          _line((1, 0.45), (1, 1))])],
    "h": [_line((0, 0), (0, 1)), np.concatenate([_arc(0.45, 0.6, 0.45, 0.25, 180, 360, 10),
                                                   _line((0.9, 0.6), (0.9, 1))])],
}


def _jitter(strokes: Strokes, rng: np.random.Generator, wobble: float = 0.03) -> Strokes:
    """A random affine (slant, rotation, aspect) and per-point wobble: no two drawn alike."""
    angle = np.radians(rng.uniform(-12, 12))
    shear = rng.uniform(-0.25, 0.25)
    sx, sy = rng.uniform(0.7, 1.2), rng.uniform(0.8, 1.2)
    c, s = np.cos(angle), np.sin(angle)
    m = np.array([[c, -s], [s, c]]) @ np.array([[sx, shear], [0, sy]])
    out = []
    for stroke in strokes:
        p = _densify(np.asarray(stroke, np.float64))
        p = (p - 0.5) @ m.T + 0.5
        if len(p) > 1:  # smoothed noise: a hand wavers slowly, it does not shake
            noise = rng.normal(0, wobble * 1.7, (len(p) + 4, 2))
            p += np.stack([np.convolve(noise[:, j], np.ones(5) / 5, "valid") for j in (0, 1)], axis=1)
        out.append(p)
    return out


def _densify(p: np.ndarray, step: float = 0.05) -> np.ndarray:
    """Points every `step` along a polyline, so wobble bends lines instead of moving corners."""
    if len(p) < 2:
        return p
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    t = np.concatenate([[0], np.cumsum(seg)])
    n = max(2, int(t[-1] / step) + 1)
    u = np.linspace(0, t[-1], n)
    return np.stack([np.interp(u, t, p[:, 0]), np.interp(u, t, p[:, 1])], axis=1)


def letter(rng: np.random.Generator, _: object) -> Strokes:
    names = sorted(LETTERS)
    return _jitter(LETTERS[names[rng.integers(len(names))]], rng)


def scribble(rng: np.random.Generator, _: object) -> Strokes:
    """Back-and-forth zigzags and loops: 8-16 random points, smoothed (Chaikin corner cutting)."""
    p = rng.uniform(0, 1, (rng.integers(8, 17), 2))
    for _ in range(3):
        q, r = 0.75 * p[:-1] + 0.25 * p[1:], 0.25 * p[:-1] + 0.75 * p[1:]
        p = np.stack([q, r], axis=1).reshape(-1, 2)
    return [p]


def crossed_circle(rng: np.random.Generator, _: object) -> Strokes:
    start = rng.uniform(0, 360)  # hands close a circle anywhere, with some overshoot
    circle = _arc(0.5, 0.5, 0.5, rng.uniform(0.4, 0.6), start, start + 360 + rng.uniform(0, 40), 40)
    # Always both bars: a circle with a single slash is how many people write a zero (Ø), and
    # teaching it as "not a digit" made the model refuse or misread slashed zeros.
    cross = [_line((0, 0), (1, 1)), _line((1, 0), (0, 1))]
    return _jitter([circle, *cross], rng, 0.02)


def smiley(rng: np.random.Generator, _: object) -> Strokes:
    face = _arc(0.5, 0.5, 0.5, 0.5, -90, 275, 32)
    eyes = [_line((0.33, 0.35)), _line((0.67, 0.35))] if rng.random() < 0.5 else [
        _arc(0.33, 0.35, 0.05, 0.07, 0, 360, 8), _arc(0.67, 0.35, 0.05, 0.07, 0, 360, 8)]
    mouth = _arc(0.5, 0.55, 0.25, rng.uniform(0.1, 0.2), 20, 160, 12)
    return _jitter([face, *eyes, mouth], rng, 0.015)


def _star() -> Strokes:
    t = np.radians(-90 + 144 * np.arange(6))
    return [np.stack([0.5 + 0.5 * np.cos(t), 0.5 + 0.5 * np.sin(t)], axis=1)]


SHAPES: dict[str, Callable[[], Strokes]] = {
    "star": _star,
    "triangle": lambda: [_line((0.5, 0), (1, 1), (0, 1), (0.5, 0))],
    "square": lambda: [_line((0, 0), (1, 0), (1, 1), (0, 1), (0, 0))],
    "hash": lambda: [_line((0.35, 0), (0.25, 1)), _line((0.75, 0), (0.65, 1)),
                     _line((0, 0.33), (1, 0.33)), _line((0, 0.67), (1, 0.67))],
    "arrow": lambda: [_line((0, 0.5), (1, 0.5)), _line((0.7, 0.2), (1, 0.5), (0.7, 0.8))],
    "spiral": lambda: [np.stack([0.5 + r * np.cos(a), 0.5 + r * np.sin(a)], axis=1)
                       for a in [np.linspace(0, 5 * np.pi, 60)] for r in [a / (10 * np.pi)]],
    "heart": lambda: [np.stack([16 * np.sin(t) ** 3,
                                -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))],
                               axis=1) / 32 + 0.5 for t in [np.linspace(0, 2 * np.pi, 40)]],
}


def shape(rng: np.random.Generator, _: object) -> Strokes:
    names = sorted(SHAPES)
    return _jitter(SHAPES[names[rng.integers(len(names))]](), rng, 0.02)


def crossed_digit(rng: np.random.Generator, digits: list[Sample]) -> Strokes:
    """A real digit (UNIPEN train) crossed out: an X or a zigzag over it."""
    strokes = [np.asarray(s, np.float64) for s in digits[rng.integers(len(digits))].strokes]
    pts = np.concatenate(strokes)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.maximum(hi - lo, (hi - lo).max() * 0.4)  # a "1" is crossed wider than itself
    mid = (lo + hi) / 2
    lo, hi = mid - span * 0.6, mid + span * 0.6
    # No single bar across: a 7 or a 4 with a bar is still a digit.
    if rng.random() < 0.5:
        marks = [_line((0, 0), (1, 1)), _line((1, 0), (0, 1))]
    else:
        marks = [np.stack([np.linspace(0, 1, 7), np.tile([0.2, 0.8], 4)[:7]], axis=1)]
    return strokes + [lo + m * (hi - lo) for m in _jitter(marks, rng, 0.02)]


def slashed_zero(rng: np.random.Generator, zeros: list[Sample]) -> Strokes:
    """A real zero (UNIPEN train) with one slash through it, as many people write 0 (a digit)."""
    strokes = [np.asarray(s, np.float64) for s in zeros[rng.integers(len(zeros))].strokes]
    pts = np.concatenate(strokes)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    over = rng.uniform(0.0, 0.25)  # the slash starts and ends a little outside the ring
    a, b = (0.15 - over, 1.0 + over), (0.85 + over, 0.0 - over)
    if rng.random() < 0.3:  # some draw it the other way round
        a, b = b, a
    mark = _jitter([_line(a, b)], rng, 0.015)[0]
    return strokes + [lo + mark * (hi - lo)]


def two_digits(rng: np.random.Generator, digits: list[Sample]) -> Strokes:
    """Two real digits side by side, as people write "12" on a canvas meant for one digit."""
    a, b = (digits[k] for k in rng.integers(len(digits), size=2))
    left = [np.asarray(s, np.float64) for s in a.strokes]
    right = [np.asarray(s, np.float64) for s in b.strokes]
    lo_a, hi_a = np.concatenate(left).min(axis=0), np.concatenate(left).max(axis=0)
    lo_b, hi_b = np.concatenate(right).min(axis=0), np.concatenate(right).max(axis=0)
    h_a, h_b = max(hi_a[1] - lo_a[1], 1e-9), max(hi_b[1] - lo_b[1], 1e-9)
    right = [(p - lo_b) * (h_a / h_b) for p in right]  # same height, then a gap of a third of it
    gap = h_a * rng.uniform(0.15, 0.45)
    return [p - lo_a for p in left] + [p + (hi_a[0] - lo_a[0] + gap, rng.uniform(-0.1, 0.1) * h_a)
                                        for p in right]


STROKE_KINDS: dict[str, Callable[[np.random.Generator, list[Sample]], Strokes]] = {
    "letters": letter,
    "scribbles": scribble,
    "crossed_circles": crossed_circle,
    "smileys": smiley,
    "shapes": shape,
    "crossed_digits": crossed_digit,
    "two_digits": two_digits,
}
KINDS = (*STROKE_KINDS, "overlaid_digits")
_INDEX_BASE = 1_000_000  # replay layouts far from any stroke file's own indices


def overlaid_digits(rng: np.random.Generator, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Two MNIST digits of different labels, one over the other, as a canvas image."""
    while True:
        i, j = rng.integers(len(labels), size=2)
        if labels[i] != labels[j]:
            break
    size = int(rng.uniform(140, 240))
    a, b = (cv2.resize(images[k], (size, size), interpolation=cv2.INTER_LINEAR) for k in (i, j))
    dx, dy = rng.integers(-size // 6, size // 6 + 1, size=2)
    field = np.zeros((CANVAS, CANVAS), np.uint8)
    x0, y0 = (CANVAS - size) // 2, (CANVAS - size) // 2
    field[y0: y0 + size, x0: x0 + size] = a
    region = field[y0 + dy: y0 + dy + size, x0 + dx: x0 + dx + size]
    np.maximum(region, b[: region.shape[0], : region.shape[1]], out=region)
    return np.dstack([field, field, field, np.full_like(field, 255)])


def drawings(kind: str, n: int, seed: int, digits: list[Sample] | None = None,
             mnist: Mnist | None = None) -> list[tuple[np.ndarray, list[np.ndarray] | None]]:
    """`n` drawings of one kind: (canvas image (280, 280, 4), its strokes in canvas pixels, or
    None for overlaid MNIST digits, which have none); the same seed gives the same drawings."""
    k = KINDS.index(kind)
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, k, i])
        if kind == "overlaid_digits":  # measured on MNIST test digits, never trained on
            out.append((overlaid_digits(rng, mnist.x_test, mnist.y_test), None))
        else:
            layout = replay_layout(STROKE_KINDS[kind](rng, digits), _INDEX_BASE * (seed + 1) + 1000 * k + i)
            out.append((draw(layout), layout))
    return out


def canvases(kind: str, n: int, seed: int, digits: list[Sample] | None = None,
             mnist: Mnist | None = None) -> list[np.ndarray]:
    """`n` canvas images (280, 280, 4) of one kind; the same seed gives the same images."""
    return [image for image, _ in drawings(kind, n, seed, digits, mnist)]


def nondigit_inputs(n_per_kind: int, seed: int, digits: list[Sample], mnist: Mnist
                    ) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """kind -> ((n, 28, 28) model inputs through the app's preprocessing, (n, 64, 5) stroke
    sequences as the canvas would send them, or None for a kind without strokes)."""
    out = {}
    for kind in KINDS:
        made = drawings(kind, n_per_kind, seed, digits, mnist)
        x = np.stack([preprocess_canvas(image) for image, _ in made])
        seqs = None if made[0][1] is None else np.stack([sequence(as_sent(layout)) for _, layout in made])
        out[kind] = (x, seqs)
    return out
