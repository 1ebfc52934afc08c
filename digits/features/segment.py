"""Split a drawing of several digits, left to right, into one image per digit (numpy + OpenCV).

Each connected blob of ink is a candidate; blobs that overlap horizontally belong to the same
digit (the bar of a 5 or a 7, the two strokes of a 4), because people write the digits of a
number side by side, not on top of each other. What is left and much shorter than the tallest
digit (a dot from a tap of the pen, a 7's bar drawn beside it) is no digit of its own: it joins
the nearest one.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from digits.preprocess import INK_LEVEL

OVERLAP = 0.5  # merge two blobs when they share this much of the narrower one's width
SHORT = 0.4  # a group less tall than this share of the tallest one is part of a neighbour


@dataclass(frozen=True)
class Part:
    """One digit's ink: its bounding box in the drawing and its pixels (other digits' ink removed)."""
    left: int
    top: int
    right: int  # exclusive
    bottom: int  # exclusive
    image: np.ndarray  # (bottom - top, right - left) uint8, ink bright


def split_digits(gray: np.ndarray) -> list[Part]:
    """(H, W) ink-bright image -> its digits from left to right; [] when there is no ink."""
    gray = np.asarray(gray)
    if gray.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {gray.shape}")
    mask = (gray > INK_LEVEL).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    blobs = list(range(1, n))  # label 0 is the background
    if not blobs:
        return []
    groups = _merge_overlapping([[b] for b in blobs], stats)
    tallest = max(_height(g, stats) for g in groups)
    short = [g for g in groups if _height(g, stats) < SHORT * tallest]
    groups = [g for g in groups if _height(g, stats) >= SHORT * tallest]
    for g in short:
        _nearest(groups, g, stats).extend(g)
    groups.sort(key=lambda g: _span(g, stats)[0])
    return [_part(gray, labels, stats, g) for g in groups]


def _span(group: list[int], stats: np.ndarray, axis: str = "x") -> tuple[int, int]:
    start, size = ((cv2.CC_STAT_LEFT, cv2.CC_STAT_WIDTH) if axis == "x"
                   else (cv2.CC_STAT_TOP, cv2.CC_STAT_HEIGHT))
    return (int(min(stats[b, start] for b in group)),
            int(max(stats[b, start] + stats[b, size] for b in group)))


def _height(group: list[int], stats: np.ndarray) -> int:
    top, bottom = _span(group, stats, "y")
    return bottom - top


def _merge_overlapping(groups: list[list[int]], stats: np.ndarray) -> list[list[int]]:
    """Merge until no two groups overlap enough; merging widens a group, so repeat."""
    merged = True
    while merged:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                (a0, a1), (b0, b1) = _span(groups[i], stats), _span(groups[j], stats)
                shared = min(a1, b1) - max(a0, b0)
                if shared > 0 and shared >= OVERLAP * min(a1 - a0, b1 - b0):
                    groups[i] += groups.pop(j)
                    merged = True
                    break
            if merged:
                break
    return groups


def _nearest(groups: list[list[int]], piece: list[int], stats: np.ndarray) -> list[int]:
    """The group horizontally closest to the piece's centre."""
    left, right = _span(piece, stats)
    x = (left + right) / 2
    return min(groups, key=lambda g: max(_span(g, stats)[0] - x, x - _span(g, stats)[1], 0))


def _part(gray: np.ndarray, labels: np.ndarray, stats: np.ndarray, group: list[int]) -> Part:
    left, right = _span(group, stats)
    top, bottom = _span(group, stats, "y")
    box = labels[top:bottom, left:right]
    own = np.isin(box, group)
    # Anti-aliased edge pixels below INK_LEVEL belong to no blob; keep those next to our ink,
    # but never another digit's ink.
    own = cv2.dilate(own.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    own &= (box == 0) | np.isin(box, group)
    return Part(left, top, right, bottom, np.where(own, gray[top:bottom, left:right], 0).astype(np.uint8))
