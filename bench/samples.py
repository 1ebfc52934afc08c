"""Real pen-drawn digits (UNIPEN dev split) laid out on the canvas by the replay protocol."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from digits.data import Sample, iter_strokes
from digits.render import replay_layout

from .browser import REPO, Strokes

DEV = REPO / "data" / "unipen-dev.jsonl.gz"
VARIANT = "random"  # the replay protocol's random size and place, as in `digits evaluate`


def dev_samples(n: int, path: Path = DEV) -> list[Sample]:
    """The first n samples of the dev file, in file order (the order fixes each layout)."""
    return list(islice(iter_strokes(path), n))


def canvas_strokes(sample: Sample, index: int) -> Strokes:
    """Sample `index` of the file in canvas coordinates: exactly what render_sample draws."""
    return [s.tolist() for s in replay_layout(sample.strokes, index, VARIANT)]
