"""Read a number drawn on a wide canvas, and measure how well that works on real pen strokes.

Reading: digits.features.segment splits the drawing into digits, each is prepared exactly like a single
drawing (digits.preprocess.center_digit) and read by the same model.

Measuring (`python -m digits evaluate-numbers`): numbers of 2-6 UNIPEN dev digits, laid out the
way people write (similar heights, gaps of 10-45 % of the height, a wavering baseline), drawn
with the app's pen on the wide canvas. The layout of number k of length L comes from
numpy.random.default_rng([L, k]), so every run and every model sees the same numbers.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digits.data import Sample, read_strokes
from digits.answer import Answer, Reader
from digits.memory import Memory
from digits.model import MODEL_PATH
from digits.preprocess import canvas_to_gray, center_digit
from digits.render import MARGIN, STROKE_WIDTH, draw, place_strokes
from digits.features.segment import Part, split_digits

NUMBER_CANVAS = (280, 700)  # (height, width) of the Number page's canvas
LENGTHS = (2, 3, 4, 5, 6)
PER_LENGTH = 500
HEIGHT = (100, 200)  # digit height range in px before fitting the number into the canvas
GAP = (0.10, 0.45)  # space between digits, as a share of the digit height
TARGET_4 = 0.95  # whole-number accuracy target for 4-digit numbers
UNREAD = "?"  # a place in the number whose part names no digit


@dataclass(frozen=True)
class DigitReading:
    part: Part
    image28: np.ndarray  # what the model read
    answer: Answer  # the Draw page's answer for this digit


@dataclass(frozen=True)
class NumberReading:
    digits: list[DigitReading]

    @property
    def text(self) -> str:
        """The best digit of every part (forced choice: what evaluate-numbers scores)."""
        return "".join(str(d.answer.digit) for d in self.digits)

    @property
    def shown(self) -> str:
        """What the page may say: the named digits, and "?" where a part names none (not sure,
        or not a digit), so the number never states a digit its own part refuses."""
        return "".join(str(d.answer.digit) if d.answer.named else UNREAD for d in self.digits)

    @property
    def complete(self) -> bool:
        return all(d.answer.named for d in self.digits)


def read_number(rgba_or_gray: np.ndarray, reader: Reader, memory: Memory | None = None) -> NumberReading:
    """A canvas image (H, W, 4) or an ink-bright (H, W) image -> its digits, left to right
    (each read with the visitor's memory, if given)."""
    img = np.asarray(rgba_or_gray)
    gray = canvas_to_gray(img) if img.ndim == 3 else img
    readings = []
    for part in split_digits(gray):
        image28 = center_digit(part.image)
        if image28 is not None:  # a part always has ink; this only guards the type
            readings.append(DigitReading(part, image28, reader.read_image(image28, memory=memory)))
    return NumberReading(readings)


# --------------------------------------------------------------------------- evaluation


def layout_number(samples: list[Sample], rng: np.random.Generator,
                  canvas: tuple[int, int] = NUMBER_CANVAS, pen: float = STROKE_WIDTH) -> list[np.ndarray]:
    """Canvas coordinates of the samples' strokes written side by side as one number."""
    ch, cw = canvas
    height = rng.uniform(*HEIGHT)
    boxes, sizes = [], []
    for s in samples:
        pts = np.concatenate([np.asarray(st, np.float64) for st in s.strokes])
        w0, h0 = pts.max(axis=0) - pts.min(axis=0)
        # Same height for every digit (a "1" stays thin), but a very flat sample is capped.
        scale = min(height * rng.uniform(0.9, 1.1) / max(h0, 1e-9), 1.2 * height / max(w0, 1e-9))
        boxes.append((w0 * scale, h0 * scale))
        sizes.append(max(w0, h0) * scale)
    # Gaps are between the ink, so the pen's width comes on top of the gap between centre lines.
    gaps = height * rng.uniform(*GAP, size=len(samples) - 1)
    pens = pen * len(samples)  # half a pen on each side of each digit
    total = sum(w for w, _ in boxes) + gaps.sum()
    fit = min(1.0, (cw - 2 * MARGIN - pens) / total, (ch - 2 * MARGIN - pen) / max(h for _, h in boxes))
    x = rng.uniform(MARGIN, max(MARGIN, cw - MARGIN - total * fit - pens)) + pen / 2
    middle = rng.uniform(MARGIN + height * fit / 2, ch - MARGIN - height * fit / 2)
    strokes = []
    for i, (s, (w, h), size) in enumerate(zip(samples, boxes, sizes)):
        top = np.clip(middle - h * fit / 2 + rng.normal(0, 0.05 * height * fit),
                      MARGIN + pen / 2, ch - MARGIN - pen / 2 - h * fit)
        strokes += place_strokes(s.strokes, size * fit, x, top)
        x += w * fit + pen + (gaps[i] * fit if i < len(gaps) else 0)
    return strokes


def number_samples(samples: list[Sample], length: int, k: int) -> tuple[np.ndarray, str]:
    """Number k of the given length: its canvas image and its digits as a string."""
    rng = np.random.default_rng([length, k])
    chosen = [samples[i] for i in rng.integers(len(samples), size=length)]
    image = draw(layout_number(chosen, rng), NUMBER_CANVAS, STROKE_WIDTH)
    return image, "".join(str(s.label) for s in chosen)


def evaluate_numbers(reader: Reader, path: str | os.PathLike, lengths: tuple[int, ...] = LENGTHS,
                     per_length: int = PER_LENGTH) -> dict:
    """Per length: whole numbers read right, numbers split into the right count, digits read right."""
    samples = read_strokes(path)
    out = {}
    for length in lengths:
        whole = split_ok = digits_ok = 0
        for k in range(per_length):
            image, truth = number_samples(samples, length, k)
            text = read_number(image, reader).text
            whole += text == truth
            if len(text) == length:
                split_ok += 1
                digits_ok += sum(a == b for a, b in zip(text, truth))
        out[str(length)] = {
            "n": per_length,
            "number_accuracy": round(whole / per_length, 4),
            "split_accuracy": round(split_ok / per_length, 4),
            # Digits of numbers split into the wrong count count as wrong: no guessing an alignment.
            "digit_accuracy": round(digits_ok / (length * per_length), 4),
        }
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    from digits.data import DEV_PATH

    p.add_argument("--strokes", type=Path, default=DEV_PATH,
                   help="stroke file to build numbers from (default data/unipen-dev.jsonl.gz)")
    p.add_argument("--per-length", type=_positive, default=PER_LENGTH,
                   help=f"numbers per length (default {PER_LENGTH})")
    p.add_argument("--model", type=Path, default=MODEL_PATH)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def run(args: argparse.Namespace) -> int:
    result = evaluate_numbers(Reader.load(args.model), args.strokes, per_length=args.per_length)
    print(f"Numbers of {args.strokes} digits drawn on a {NUMBER_CANVAS[1]}x{NUMBER_CANVAS[0]} canvas, "
          f"{args.per_length} per length:")
    print(f"  {'digits':>6}{'whole number':>14}{'split right':>13}{'digit':>9}")
    for length, r in result.items():
        print(f"  {length:>6}{r['number_accuracy']:>14.2%}{r['split_accuracy']:>13.2%}{r['digit_accuracy']:>9.2%}")
    four = result.get("4", {}).get("number_accuracy")
    if four is not None:
        print(f"4-digit numbers: {four:.2%} read right (target {TARGET_4:.0%}: "
              f"{'met' if four >= TARGET_4 else 'MISSED'})")
    print(json.dumps(result))
    return 0
