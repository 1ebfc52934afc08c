"""The pen's path: the canvas' strokes (Fabric JSON) -> the trajectory model's input.

The canvas sends, with the final picture, its objects as Fabric JSON (`json_data`): each
freehand stroke is a path whose commands (M, Q, L, in canvas pixels) pass through the points
the pointer reported, in drawing order. streamlit-drawable-canvas 0.13.0 bundles Fabric 7.4.0,
which names the object's type `"Path"` (Fabric 6+ writes class names); Fabric 5 and older wrote
`"path"`. tests/fixtures/canvas/ holds json_data recorded from the real component
(`python -m bench.record`). The order and direction of the strokes say what a
28x28 picture cannot (a 1's flag goes up then down; a 7's bar goes across first).

`sequence` turns strokes into a fixed-length input: points resampled evenly along the ink,
centred and scaled by the box's longer side (so size and place do not matter), with the step
to the next point and a pen-down mark at the first point of each stroke. Training renders the
UNIPEN strokes through the same replay protocol and Fabric encoding (`fabric_json`), so the
model sees what the canvas sends.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SEQ_LEN = 64  # points per drawing after resampling
FEATURES = 5  # x, y, dx, dy, pen-down mark
MAX_OBJECTS = 200  # the canvas' undo history is not sent: 200 strokes is already no digit
MAX_POINTS = 20_000  # all strokes together; a real digit has a few hundred


class BadStrokes(ValueError):
    """json_data that is not the canvas' strokes (wrong shape, absurd size, not numbers)."""


def strokes_from_fabric(json_data: object) -> list[np.ndarray]:
    """The canvas' json_data -> its strokes, each (K, 2) float64 canvas pixels, in drawing order.

    Anything but freehand paths (none today) is ignored; raises BadStrokes for input the canvas
    would not send, so a page falls back to the picture alone."""
    if json_data is None:
        return []
    if not isinstance(json_data, dict) or not isinstance(json_data.get("objects", []), list):
        raise BadStrokes("not a Fabric canvas (no 'objects' list)")
    objects = json_data.get("objects", [])
    if len(objects) > MAX_OBJECTS:
        raise BadStrokes(f"{len(objects)} objects (at most {MAX_OBJECTS})")
    strokes, total = [], 0
    for obj in objects:
        if not isinstance(obj, dict) or not is_path(obj):
            continue
        commands = obj.get("path")
        if not isinstance(commands, list):
            raise BadStrokes("a path without commands")
        points = []
        for cmd in commands:
            if not isinstance(cmd, list) or not cmd or not isinstance(cmd[0], str):
                raise BadStrokes("a path command that is not [letter, numbers...]")
            nums = cmd[1:]
            if len(nums) % 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in nums):
                raise BadStrokes("a path command whose coordinates are not pairs of numbers")
            points += [nums[i: i + 2] for i in range(0, len(nums), 2)]
        total += len(points)
        if total > MAX_POINTS:
            raise BadStrokes(f"more than {MAX_POINTS} points")
        if points:
            p = np.asarray(points, np.float64)
            if not np.isfinite(p).all() or np.abs(p).max() > 1e6:
                raise BadStrokes("coordinates that are not finite canvas pixels")
            strokes.append(p)
    return strokes


def is_path(obj: dict) -> bool:
    """A freehand stroke, as any Fabric version names it ("Path" in 6+, "path" before)."""
    kind = obj.get("type")
    return isinstance(kind, str) and kind.lower() == "path"


FABRIC_VERSION = "7.4.0"  # what streamlit-drawable-canvas 0.13.0 bundles (tests/fixtures/canvas/)


def fabric_json(strokes: Sequence[np.ndarray]) -> dict:
    """Strokes in canvas pixels -> the json_data the canvas sends for them (the shape recorded
    from the real component: tests/test_strokes.py compares them).

    Fabric's freehand brush (PencilBrush.convertPointsToSVGPath): M at the first point, a Q
    through each point to the midpoint of the next, an L to the last. Coordinates are whole
    pixels, as pointer events report them (Fabric nudges the first and last by 0.018 px)."""
    objects = []
    for stroke in strokes:
        p = np.rint(np.asarray(stroke, np.float64).reshape(-1, 2))
        if len(p) == 0:
            continue
        path = [["M", *map(float, p[0])]]
        for a, b in zip(p[:-1], p[1:]):
            if (a != b).any():
                path.append(["Q", *map(float, a), *map(float, (a + b) / 2)])
        path.append(["L", *map(float, p[-1])])
        objects.append({"type": "Path", "version": FABRIC_VERSION, "path": path})
    return {"version": FABRIC_VERSION, "objects": objects}


def as_sent(strokes: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The points strokes_from_fabric(fabric_json(strokes)) gives back, computed directly (the
    training data makes tens of thousands: whole pixels, each point then the midpoint to the next)."""
    out = []
    for stroke in strokes:
        p = np.rint(np.asarray(stroke, np.float64).reshape(-1, 2))
        if len(p) == 0:
            continue
        a, b = p[:-1], p[1:]
        keep = (a != b).any(axis=1)
        between = np.stack([a[keep], (a[keep] + b[keep]) / 2], axis=1).reshape(-1, 2)
        out.append(np.concatenate([p[:1], between, p[-1:]]))
    return out


def sequence(strokes: Sequence[np.ndarray], n: int = SEQ_LEN) -> np.ndarray | None:
    """Strokes -> (n, FEATURES) float32 model input, or None when there is no ink."""
    strokes = [np.asarray(s, np.float64).reshape(-1, 2) for s in strokes if len(s)]
    if not strokes:
        return None
    allp = np.concatenate(strokes)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    scale = max(float((hi - lo).max()), 1e-6) / 2
    centre = (lo + hi) / 2
    lengths = np.array([np.linalg.norm(np.diff(s, axis=0), axis=1).sum() for s in strokes])
    # Points per stroke in proportion to its length; each stroke keeps at least one (a dot).
    share = lengths + 0.02 * lengths.sum() + 1e-9
    counts = np.maximum(1, np.floor(share / share.sum() * n).astype(int))
    while counts.sum() > n:
        counts[counts.argmax()] -= 1
    while counts.sum() < n:
        counts[np.argmax(share / counts)] += 1
    pts, marks = [], []
    for s, k in zip(strokes, counts):
        pts.append(_resample(s, k))
        m = np.zeros(k)
        m[0] = 1.0
        marks.append(m)
    p = (np.concatenate(pts) - centre) / scale
    step = np.diff(p, axis=0, append=p[-1:])
    return np.column_stack([p, step * 4, np.concatenate(marks)]).astype(np.float32)


def _resample(stroke: np.ndarray, k: int) -> np.ndarray:
    """k points evenly spaced along a polyline (its first and last points included)."""
    if k == 1 or len(stroke) == 1:
        return np.repeat(stroke[:1], k, axis=0) if k > 1 else stroke[:1]
    seg = np.linalg.norm(np.diff(stroke, axis=0), axis=1)
    t = np.concatenate([[0], np.cumsum(seg)])
    if t[-1] == 0:
        return np.repeat(stroke[:1], k, axis=0)
    u = np.linspace(0, t[-1], k)
    return np.column_stack([np.interp(u, t, stroke[:, 0]), np.interp(u, t, stroke[:, 1])])


def canvas_sequence(json_data: object) -> np.ndarray | None:
    """The canvas' json_data -> the model input, None when it holds no strokes (raises BadStrokes)."""
    return sequence(strokes_from_fabric(json_data))
