"""The drawing canvas with live reading: streamlit-drawable-canvas plus a small companion.

streamlit-drawable-canvas stays the drawing surface (its strokes, its undo/redo history). It
only tells Python about a drawing 200 ms after pen-up (a debounce), and nothing while the pen
moves. The companion (`live_canvas.js`, a Components-v2 component: inline strings, no iframe,
no build step) sits under it in the same page, finds the canvas' own bitmaps, and sends:

- while the pen moves (``live=True``): nothing, when the browser reads the drawing itself with the
  live model (model/live.json, distilled from the served graph by digits/training/live.py, run by
  live_model.js); it is handed to the page once (``data.live_model``, until the page confirms it)
  and used only while its teacher's sha256 is the served graph's (``data.live_sha``). Otherwise
  (no live model, another graph, a JavaScript error) the server's live route: a PNG snapshot at
  most every 200 ms, one in flight: the next goes only once Python has echoed back
  (``data.ack``) the sequence number it processed;
- at pen-up, at once: the final snapshot, and the canvas' own value (its strokes) in the same
  rerun, by clicking the canvas' hidden "Update the app with this drawing" button.

It also hides the canvas' hover toolbar, whose invisible hit area lost strokes that began in
the top edge, and shows Undo / Redo / Clear buttons (kiosk: one big Clear) that click the
toolbar's own, plus keys: Escape or Delete clear, Ctrl/Cmd+Z undo, Ctrl/Cmd+Shift+Z or Ctrl+Y redo.

The JS reads the canvas' DOM, so it is pinned to the canvas version (``SUPPORTED_CANVAS``):
with another version the canvas works as before (answer 200 ms after pen-up, its own toolbar)
and a warning goes to the server log; tests/browser/test_live_canvas.py fails if the selectors
find nothing.

Whatever the browser sends is untrusted: `parse_value` checks the shape, the sequence number,
the image format and its dimensions before anything is decoded.

Use::

    with live_canvas("canvas", live=True) as reading:
        image28 = preprocess_canvas(reading.image)   # None while the canvas is empty
        if reading.error: ...                        # the friendly "could not be read" message
        elif reading.final: ...                      # the full answer
        else: ...                                    # a live guess: keep it tiny
        reading.announce = "7"                       # read to screen readers (final answers)
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import streamlit as st

from digits.inference import file_sha256
from digits.model import ModelError
from digits.preprocess import preprocess_canvas
from digits.render import CANVAS, STROKE_WIDTH

from .widgets import _load_reader, answer_key, model_path

log = logging.getLogger(__name__)

SUPPORTED_CANVAS = "0.13.0"  # the JS reads this version's DOM (class names, toolbar aria-labels)
PNG_PREFIX = "data:image/png;base64,"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_SEQ = 2**53  # JavaScript's exact integers
MIN_LIVE_GAP_S = 0.04  # live values closer together than this are not read (the JS sends <= 1/200 ms)
SID_MAX = 32
LIVE_SCALE = 2  # live snapshots may come at 1/LIVE_SCALE of the canvas' size (only the guess needs them)
LIVE_MODEL_NAME = "live.json"  # beside the served graph (digits/training/live.py writes it)
LIVE_MODEL_FORMAT = "digits-live/1"
ROUTES = ("auto", "browser", "server")  # who reads while the pen moves: see live_canvas' `route`

# One inline module: the live model's code (also run alone by tests/test_live_model.py), then the companion.
_JS = Path(__file__).with_name("live_model.js").read_text() + Path(__file__).with_name("live_canvas.js").read_text()
_CSS = """
.lc { display: flex; flex-direction: column; gap: 0.35rem; margin-top: 0.5rem; max-width: 100%;
      font-family: var(--st-font, sans-serif); color: var(--st-text-color, #31333f); }
.lc-buttons { display: flex; gap: 0.5rem; flex-wrap: wrap; }
.lc-btn { min-height: 44px; min-width: 44px; padding: 0 1rem; font: inherit; font-size: 1rem;
          border-radius: var(--st-button-radius, 0.5rem); cursor: pointer;
          border: 1px solid var(--st-border-color, #c7c9d1);
          background: var(--st-secondary-background-color, #f0f2f6); color: inherit; touch-action: manipulation; }
.lc-btn:hover:not(:disabled) { border-color: var(--st-primary-color, #ff4b4b); }
.lc-btn:focus-visible { outline: 2px solid var(--st-primary-color, #ff4b4b); outline-offset: 2px; }
.lc-btn:disabled { opacity: 0.45; cursor: not-allowed; }
.lc-hint { margin: 0; font-size: 0.8rem; opacity: 0.7; }
.lc[data-controls="clear"] .lc-btn[data-act="undo"], .lc[data-controls="clear"] .lc-btn[data-act="redo"],
.lc[data-controls="clear"] .lc-hint { display: none; }
.lc[data-controls="clear"] .lc-btn[data-act="reset"] { flex: 1; min-height: 64px; font-size: 1.5rem; font-weight: 600; }
.lc-announce { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
               white-space: nowrap; margin: -1px; padding: 0; border: 0; }
"""
_HTML = """
<div class="lc" data-live-status="searching">
  <div class="lc-buttons" role="toolbar" aria-label="Canvas controls">
    <button type="button" class="lc-btn" data-act="undo" aria-label="Undo" title="Undo the last stroke (Ctrl+Z)">↶ Undo</button>
    <button type="button" class="lc-btn" data-act="redo" aria-label="Redo" title="Redo (Ctrl+Shift+Z)">↷ Redo</button>
    <button type="button" class="lc-btn" data-act="reset" aria-label="Clear the canvas" title="Clear the canvas (Esc)">✕ Clear</button>
  </div>
  <p class="lc-hint">Keys: Esc clears, Ctrl+Z undoes.</p>
  <div class="lc-announce" aria-live="polite" role="status"></div>
</div>
"""


@functools.lru_cache(maxsize=1)
def canvas_version() -> str:
    """The installed streamlit-drawable-canvas. Looked up once per server: it cannot change while
    the server runs, and importlib.metadata scans site-packages (~9 % of a live run's CPU)."""
    import importlib.metadata

    try:
        return importlib.metadata.version("streamlit-drawable-canvas")
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def companion_supported() -> bool:
    """The companion only runs on the canvas version its selectors were written for."""
    version = canvas_version()
    if version != SUPPORTED_CANVAS:
        if not getattr(companion_supported, "warned", False):
            companion_supported.warned = True
            log.warning("streamlit-drawable-canvas %s is installed; the live-reading companion is made for %s "
                        "and stays off (answers come 200 ms after pen-up, from the canvas itself)",
                        version, SUPPORTED_CANVAS)
        return False
    return True


@st.cache_resource(show_spinner=False)
def _companion():
    return st.components.v2.component("digits_live_canvas", html=_HTML, css=_CSS, js=_JS)


# --------------------------------------------------------------------------- untrusted input


class BadValue(ValueError):
    """The browser sent something the server will not read."""


@dataclass(frozen=True)
class Value:
    """A checked companion value."""
    sid: str
    seq: int
    final: bool
    image: np.ndarray  # (h, w, 3|4) uint8, ready for preprocess_canvas


def max_data_url_chars(width: int, height: int) -> int:
    """Generous: an uncompressed RGBA PNG of the canvas, in base64, plus headers."""
    return (width * height * 4 + height + 1024) * 4 // 3 + len(PNG_PREFIX) + 4


def live_size(width: int, height: int) -> tuple[int, int]:
    """The smaller picture live_canvas.js sends while the pen moves (Math.ceil(w / 2) there)."""
    return -(-width // LIVE_SCALE), -(-height // LIVE_SCALE)


def parse_value(raw: Any, width: int, height: int) -> Value:
    """Check and decode a companion value; BadValue says what was wrong (for the log only).

    A final value must be the canvas' exact picture (width x height); a live value may also be
    the half-size one (live_size): it is only read for the guess while the pen moves, and a
    quarter of the pixels is a quarter of the decoding and preprocessing."""
    if not isinstance(raw, dict):
        raise BadValue(f"not an object: {type(raw).__name__}")
    sid, seq, final, png = raw.get("sid"), raw.get("seq"), raw.get("final"), raw.get("png")
    if not isinstance(sid, str) or not 0 < len(sid) <= SID_MAX or not sid.isalnum():
        raise BadValue("bad sid")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq < MAX_SEQ:
        raise BadValue(f"bad seq {seq!r}"[:80])
    if not isinstance(final, bool):
        raise BadValue("bad final")
    if not isinstance(png, str) or not png.startswith(PNG_PREFIX):
        raise BadValue("not a PNG data URL")
    if len(png) > max_data_url_chars(width, height):
        raise BadValue(f"too large: {len(png)} characters")
    try:
        data = base64.b64decode(png[len(PNG_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise BadValue("bad base64") from None
    # The header first: the dimensions must be the canvas' before anything is decoded.
    if len(data) < 33 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise BadValue("not a PNG")
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    depth, colour = data[24], data[25]
    if (w, h) != (width, height) and (final or (w, h) != live_size(width, height)):
        raise BadValue(f"{w}x{h} image for a {width}x{height} canvas")
    if depth != 8 or colour not in (0, 2, 4, 6):
        raise BadValue(f"unsupported PNG (bit depth {depth}, colour type {colour})")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.dtype != np.uint8 or image.shape[:2] != (h, w):
        raise BadValue("undecodable PNG")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    elif image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    else:
        raise BadValue("unsupported channels")
    return Value(sid, seq, final, image)


# --------------------------------------------------------------------------- reading


@dataclass
class Reading:
    """What to show for this run."""
    image: np.ndarray | None = None  # the canvas picture (RGB/RGBA uint8), None when empty
    final: bool = True  # False: a snapshot while the pen is down (show only the digit)
    source: str = "none"  # "live", "final" (companion), "canvas" (the canvas' own value), "none"
    error: bool = False  # the browser sent something unreadable: show widgets.UNREADABLE
    json_data: dict | None = None  # the canvas' strokes (for feedback)
    announce: str = ""  # set by the page: read to screen readers after this run
    seq: int = 0
    canvas: Any = None  # the canvas' own CanvasResult (json_data, image_data)
    changed: bool = False  # something new arrived in this run
    key: str = ""  # the canvas' key: the answer goes in the container answer_key(key)
    _ack: dict = field(default_factory=dict, repr=False)


def _canvas_signature(canvas) -> tuple:
    url = getattr(canvas, "_image_data_url", None)
    return (len(url), hash(url)) if isinstance(url, str) else (0, 0)


def _same_drawing(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """Same drawing for the model: equal 28x28 inputs (both empty counts as the same)."""
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and float(np.abs(a - b).max()) < 0.02


def read(memory: dict, raw: Any, canvas, width: int, height: int, now: float,
         server_live: bool = True) -> Reading:
    """Decide what this run shows, from the companion's value (raw), the canvas' own value and
    what this session saw before (memory, updated in place). Pure apart from `memory`.

    - A new companion value (sequence number above the last one read) wins: a live snapshot or
      the final one.
    - Otherwise, when the canvas' own value changed: if it is the drawing of the last final
      snapshot (its strokes, arriving late), nothing new is shown (no flicker, no second
      answer); else (undo, redo, clear, or no companion) the canvas' picture is read.
    - Otherwise what was shown last is shown again.

    With ``server_live=False`` (the browser's live route only) live values are acknowledged, not read.
    """
    json_data = getattr(canvas, "json_data", None)
    shown: Reading | None = memory.get("shown")
    result: Reading | None = None
    stale = (isinstance(raw, dict) and raw.get("sid") == memory.get("sid") and type(raw.get("seq")) is int
             and raw["seq"] <= memory.get("seq", 0))  # seen already: not decoded again
    if raw is not None and not stale:
        try:
            value = parse_value(raw, width, height)
        except BadValue as exc:
            log.info("companion value refused: %s", exc)
            result = Reading(error=True, changed=True)
        else:
            if value.sid != memory.get("sid"):  # a new page or a remounted companion
                memory["sid"], memory["seq"] = value.sid, 0
            if value.seq <= memory.get("seq", 0):
                pass  # a replay or an old value: nothing new
            elif not value.final and (not server_live or now - memory.get("live_t", 0.0) < MIN_LIVE_GAP_S):
                memory["seq"] = value.seq  # too fast: acknowledged, not read
            else:
                memory["seq"] = value.seq
                if not value.final:
                    memory["live_t"] = now
                result = Reading(image=value.image, final=value.final, seq=value.seq, changed=True,
                                 source="final" if value.final else "live")
                if value.final:
                    memory["final28"] = preprocess_canvas(value.image)
    signature = _canvas_signature(canvas)
    if signature != memory.get("canvas_sig"):
        memory["canvas_sig"] = signature
        if result is None:  # the canvas' own value is new, the companion's is not
            try:
                image = canvas.image_data
            except Exception:  # a damaged payload must not take the page down
                result = Reading(error=True, changed=True)
            else:
                image28 = preprocess_canvas(image) if image is not None else None
                if not _same_drawing(image28, memory.get("final28")):
                    memory["final28"] = image28
                    result = Reading(image=image, final=True, source="canvas", changed=True)
    if result is None:
        result = Reading(**{**(shown.__dict__ if shown else {}), "changed": False, "announce": ""})
    result.json_data = json_data
    result.canvas = canvas
    result._ack = {"sid": memory.get("sid", ""), "seq": memory.get("seq", 0)}
    memory["shown"] = Reading(image=result.image, final=result.final, source=result.source, seq=result.seq)
    return result


class live_canvas:  # noqa: N801 (used as a function: `with live_canvas(...) as reading`)
    """The canvas, then (on exit, after the page showed its answer) the companion's buttons
    under it. The companion is rendered last so that its echo of the sequence number reaches
    the browser only once the answer has been sent.

    `route` says who reads while the pen moves: "auto" (the browser's live model when it can,
    else the server), "browser" (the server reads no live value: tests, and a process that must
    spare its CPU) or "server" (the browser model off). `?live_route=` in the URL overrides it
    for one device (a slow phone, the browser tests)."""

    def __init__(self, key: str, width: int = CANVAS, height: int | None = None, *, live: bool = True,
                 controls: str = "full", stroke_width: float | None = None, route: str = "auto"):
        self.key, self.width, self.height = key, width, height or width
        self.live, self.controls = live, controls
        self.stroke_width = stroke_width if stroke_width is not None else max(1, round(STROKE_WIDTH * width / CANVAS))
        asked = st.query_params.get("live_route", "")
        self.route = asked if asked in ROUTES else route

    def __enter__(self) -> Reading:
        from streamlit_drawable_canvas import st_canvas  # registers itself: needs Streamlit running

        self.supported = companion_supported()
        canvas = st_canvas(stroke_width=self.stroke_width, stroke_color="#FFFFFF", background_color="#000000",
                           width=self.width, height=self.height, drawing_mode="freedraw",
                           return_image_data=True, key=self.key)
        self.slot = st.container()
        memory = st.session_state.setdefault(_memory_key(self.key), {})
        raw = None
        if self.supported:
            raw = (st.session_state.get(self.companion_key) or {}).get("value")
        self.reading = read(memory, raw, canvas, self.width, self.height, time.monotonic(),
                            server_live=self.route != "browser")
        self.reading.key = self.key
        return self.reading

    @property
    def companion_key(self) -> str:
        return f"{self.key}-live"

    def __exit__(self, *exc) -> None:
        if exc[0] is not None or not self.supported:
            return
        data = {"canvas_key": self.key, "live": bool(self.live), "controls": self.controls,
                "width": self.width, "ack": self.reading._ack, "announce": self.reading.announce,
                "server_live": self.route != "browser", "answer_key": answer_key(self.key)}
        if self.live and self.route != "server":
            data.update(browser_model_data(st.session_state.get(self.companion_key) or {}))
        with self.slot:
            _companion()(
                key=self.companion_key,
                data=data,
                default={"value": None, "model": None},
                on_value_change=_noop,
                on_model_change=_noop,
                width="content",
                height="content",
            )


# --------------------------------------------------------------------------- the browser's live model


@functools.lru_cache(maxsize=4)
def _served(path: str, mtime_ns: int, size: int) -> tuple[str, dict | None]:
    """(the served graph's sha256, the live model beside it as the page gets it, or None).
    Once per server and model file: the sha256 of a 1.3 MB file is ~3 ms."""
    sha = file_sha256(path)
    live = Path(path).with_name(LIVE_MODEL_NAME)
    try:
        doc = json.loads(live.read_text())
        if doc.get("format") != LIVE_MODEL_FORMAT:
            raise ValueError(f"format {doc.get('format')!r}")
    except FileNotFoundError:
        return sha, None
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("%s is not usable (%s): the server reads while the pen moves", live, exc)
        return sha, None
    if doc.get("teacher_sha256") != sha:  # the page would refuse it too: not sent at all
        log.warning("%s was distilled from another graph than %s (rebuild it: python -m digits export-live); "
                    "the server reads while the pen moves", live, path)
        return sha, None
    keep = ("format", "dtype", "classes", "layers", "weights", "teacher_sha256")
    return sha, {k: doc[k] for k in keep if k in doc}


def browser_model_data(state: dict) -> dict:
    """What the companion needs to read in the browser: the served graph's sha256 on every run
    (a few bytes), and the live model with the served calibration until this session's page
    confirmed it holds it (``state["model"]``: ``{"sha", "ok"}``), or asks for it again
    (``{"need": n}``: a page that lost it). About 90 kB, once per page, never per drawing."""
    path = model_path()
    try:
        info = os.stat(path)
    except OSError:
        return {}
    sha, doc = _served(path, info.st_mtime_ns, info.st_size)
    out: dict = {"live_sha": sha}
    if doc is None:
        return out
    try:
        reader = _load_reader(path)  # (get_reader would say a second time that the model is unusable)
    except ModelError:
        return out
    held = st.session_state.get("_live_model_held")
    said = state.get("model")
    if isinstance(said, dict):  # untrusted: only compared with our own strings
        if said.get("sha") == sha:
            held = sha
        elif "need" in said and said.get("need") != st.session_state.get("_live_model_need"):
            st.session_state["_live_model_need"] = said.get("need") if isinstance(said.get("need"), (int, str)) else None
            held = None
        st.session_state["_live_model_held"] = held
    if held != sha:
        cal = reader.calibration
        out["live_model"] = {**doc, "calibration": {"temperature": cal.temperature,
                                                     "nondigit_bias": cal.nondigit_bias, "threshold": cal.threshold}}
    return out


def _noop() -> None:
    pass


def _memory_key(key: str) -> str:
    return f"_live_{key}"


def forget(key: str) -> None:
    """Drop what this session remembers of a canvas that will not come back (a finished
    challenge round, a kiosk canvas replaced by a blank one): its last pictures, up to a few MB,
    would otherwise stay for the session's whole life. Streamlit drops the widgets' own state."""
    st.session_state.pop(_memory_key(key), None)
