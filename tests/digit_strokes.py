"""One hand-made drawing per digit, in 280x280 canvas coordinates (pen strokes, as a person draws).

Each is a single stroke: the canvas sends one drawing per pen-up, so a test that waits for the
page's reaction to the first send sees the whole digit.

Used to inject drawings into AppTest (through digits.render.draw) and to draw in the browser.
"""

from __future__ import annotations

import numpy as np


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 40) -> list[tuple[float, float]]:
    t = np.linspace(-np.pi / 2, 3 * np.pi / 2 + 0.2, n)  # from the top, a little overlap
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in t]


DIGITS: dict[int, list[list[tuple[float, float]]]] = {
    0: [_ellipse(140, 140, 62, 95)],
    1: [[(140, 40), (140, 240)]],
    2: [[(85, 90), (100, 58), (140, 42), (180, 58), (192, 95), (175, 135), (85, 238), (205, 238)]],
    3: [[(85, 60), (140, 40), (188, 65), (182, 115), (130, 138), (185, 162), (195, 205), (145, 240), (85, 222)]],
    4: [[(165, 240), (165, 40), (75, 170), (210, 170)]],
    5: [[(190, 45), (100, 45), (90, 130), (150, 118), (195, 158), (188, 212), (140, 240), (85, 225)]],
    6: [[(185, 48), (125, 75), (88, 145), (92, 210), (140, 240), (185, 215), (190, 170), (150, 140),
         (105, 155), (90, 185)]],
    7: [[(70, 50), (210, 50), (115, 240)]],
    8: [[(140, 140), (183, 105), (175, 58), (140, 40), (105, 58), (97, 105), (140, 140), (188, 182),
         (178, 228), (140, 242), (102, 228), (92, 182), (140, 140)]],
    9: [[(185, 95), (160, 50), (120, 45), (92, 75), (95, 118), (132, 132), (178, 108), (185, 95),
         (182, 165), (168, 240)]],
}


def strokes_for(digit: int) -> list[np.ndarray]:
    return [np.asarray(s, float) for s in DIGITS[digit]]
