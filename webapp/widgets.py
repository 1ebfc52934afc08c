"""What several pages share: the cached Reader (model + answer rule), how an answer is shown
(digit, probability, chart, 28x28 preview), the explanation expander, the feedback widget, and
the kiosk settings app.py reads. The canvas is webapp/live_canvas.py. Each page itself is whole in webapp/pages/<page>.py.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pandas as pd
import streamlit as st

from digits.features import feedback
from digits.explain import activation_grid, explain, saliency_overlay
from digits.answer import NOT_DIGIT, UNSURE, Answer, Reader
from digits.memory import Memory
from digits.model import MODEL_PATH, ModelError
from digits.text import article, percent, with_article

if TYPE_CHECKING:  # the type only: live_canvas imports this module
    from webapp.live_canvas import Reading

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- the model


@st.cache_resource(show_spinner="Loading the model…")
def _load_reader(path: str) -> Reader:
    reader = Reader.load(path)
    # Everything loaded so far lives as long as the server: keep later collections from walking it.
    gc.freeze()
    return reader


def model_path() -> str:
    """The operator's choice (DIGITS_MODEL, default model/digits.onnx), never a visitor's."""
    return os.environ.get("DIGITS_MODEL", str(MODEL_PATH))


def get_reader() -> Reader | None:
    """The model and its answer rule (digits.answer.Reader), loaded once per server; None (with
    a message on the page) if unusable. Every page reads drawings through it."""
    try:
        return _load_reader(model_path())
    except ModelError as exc:
        st.error(f"**The model could not be loaded.** {exc}", icon=":material/block:")
        return None


# --------------------------------------------------------------------------- the visitor's memory


def visitor_memory() -> Memory:
    """This visitor's confirmed and corrected drawings (digits.memory): in their
    session only, shared by the Draw, kiosk and Number pages."""
    return st.session_state.setdefault("visitor_memory", Memory())


def show_learnt(answer: Answer) -> None:
    """One short line when the visitor's memory changed the answer."""
    if answer.learnt is None:
        return
    like = f"like the {answer.learnt} you showed me"
    said = f"Read as {with_article(answer.digit)}, {like}." if answer.named and answer.digit == answer.learnt \
        else f"Not read as before: it looks {like}."
    st.markdown(f"<p data-testid='learnt' data-digit='{answer.learnt}'>{said}</p>",
                unsafe_allow_html=True)  # only our own digits are interpolated


def forget_button() -> None:
    """"Forget my handwriting", once something is remembered; then what was forgotten, and the
    offer to delete the drawings this visit saved for training (they are not part of the memory)."""
    memory, state = visitor_memory(), st.session_state
    if len(memory):
        st.button("Forget my handwriting", key="forget_memory", on_click=_forget_memory,
                  help=f"This visit remembers {len(memory)} of your drawings, to read the next ones your way. "
                       "Nothing of it is kept after the visit.")
    if state.get("forgot") is not None:
        saved = len(state.get("stored_rows", []))
        said = f"Forgotten: the {state.forgot} drawing{'s' * (state.forgot != 1)} this visit remembered."
        if saved:
            st.info(f"{said} The {saved} you saved to train the next model {'are' if saved != 1 else 'is'} still stored.",
                    icon=":material/history:")
            st.button(f"Delete {'them' if saved != 1 else 'it'} too", key="forget_stored", on_click=_delete_stored)
        else:
            st.info(said, icon=":material/history:")


def _forget_memory() -> None:
    state = st.session_state
    state.forgot = len(visitor_memory())
    visitor_memory().forget()
    state.feedback_done = None  # its "Thank you! Saved as..." spoke of the memory too


def _delete_stored() -> None:
    state = st.session_state
    rows = state.get("stored_rows", [])
    try:
        for row in list(rows):
            feedback.forget(row)
            rows.remove(row)
    except (OSError, feedback.StoreError) as exc:
        state.feedback_error = f"Sorry, your drawings could not be deleted ({exc})."
        return
    state.forgot = None
    st.toast("Deleted: nothing of this visit is stored.", icon=":material/delete:")


# --------------------------------------------------------------------------- the answer


NOT_A_DIGIT_LABEL = "not a digit"


def probability_chart(probabilities: np.ndarray, height: int = 220) -> tuple[pd.DataFrame, dict]:
    """Bar chart of the probabilities: the ten digits in order, the best one highlighted, and
    "not a digit" as a separate bar in its own colour at the end. The data and its Vega-Lite
    spec, for st.vega_lite_chart.

    Written as a plain spec, not with Altair: Altair builds and validates its objects on every
    rerun, ~20 ms of CPU (and GIL) per answer, about a third of the server's work for a drawing
    (measured with bench/); the chart in the browser is the same.
    """
    p = np.asarray(probabilities, float)
    labels = [str(d) for d in range(10)] + [NOT_A_DIGIT_LABEL] * (len(p) > 10)
    best = int(np.argmax(p))
    df = pd.DataFrame({"label": labels, "probability": p[: len(labels)],
                       "kind": ["best" if i == best else ("other" if i == 10 else "digit")
                                for i in range(len(labels))]})
    spec = {
        "height": height,
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "label", "type": "nominal", "sort": None,
                  "axis": {"labelAngle": 0, "title": None,
                           # two short lines fit under a bar as narrow as a digit's
                           "labelExpr": f"datum.label == '{NOT_A_DIGIT_LABEL}' ? ['not a', 'digit'] : datum.label"}},
            "y": {"field": "probability", "type": "quantitative", "scale": {"domain": [0, 1]},
                  "axis": {"format": "%", "title": None}},
            "color": {"field": "kind", "type": "nominal", "legend": None,
                      "scale": {"domain": ["best", "digit", "other"], "range": ["#e4572e", "#9aa5b1", "#5b6b7a"]}},
            "tooltip": [{"field": "label", "type": "nominal", "title": "answer"},
                        {"field": "probability", "type": "quantitative", "format": ".1%"}],
        },
    }
    return df, spec


def drawings_chart(counts) -> tuple[pd.DataFrame, dict]:
    """Confirmed drawings per digit (Feedback page): bars, digits in order, labels upright."""
    df = pd.DataFrame({"digit": [str(d) for d in range(len(counts))], "drawings": [int(c) for c in counts]})
    spec = {
        "height": 220,
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "digit", "type": "nominal", "sort": None, "axis": {"labelAngle": 0, "title": None}},
            "y": {"field": "drawings", "type": "quantitative", "axis": {"title": "drawings", "tickMinStep": 1}},
            "tooltip": [{"field": "digit", "type": "nominal"}, {"field": "drawings", "type": "quantitative"}],
        },
    }
    return df, spec


def accuracy_chart(days: list[dict]) -> tuple[pd.DataFrame, dict]:
    """How often the model was right, per day (Feedback page): a point per day, joined by a line,
    on a 0–100 % axis, so one day is a visible point and a good day does not look like a bad one."""
    df = pd.DataFrame(days, columns=["day", "n", "right", "accuracy"])
    spec = {
        "height": 220,
        "mark": {"type": "line", "point": {"size": 80, "filled": True}},
        "encoding": {
            "x": {"field": "day", "type": "ordinal", "sort": None,
                  "axis": {"labelAngle": 0, "labelOverlap": "greedy", "title": None}},
            "y": {"field": "accuracy", "type": "quantitative", "scale": {"domain": [0, 1]},
                  "axis": {"format": "%", "title": "model right"}},
            "tooltip": [{"field": "day", "type": "ordinal"}, {"field": "n", "type": "quantitative", "title": "drawings"},
                        {"field": "accuracy", "type": "quantitative", "format": ".1%"}],
        },
    }
    return df, spec


def enlarge(image28: np.ndarray, size: int = 140) -> np.ndarray:
    """The 28x28 input scaled up with hard pixel edges, so people see what the model sees."""
    return cv2.resize((np.clip(image28, 0, 1) * 255).astype(np.uint8), (size, size),
                      interpolation=cv2.INTER_NEAREST)


def png_data_url(image28: np.ndarray) -> str:
    """The 28x28 input as an inline PNG (a few hundred bytes)."""
    ok, png = cv2.imencode(".png", (np.clip(image28, 0, 1) * 255).astype(np.uint8))
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode() if ok else ""


BIG = {NOT_DIGIT: "✗", UNSURE: "?"}  # what is shown large when no digit is named
LIVE_PENDING = "…"  # a live guess that names no digit: neutral (a half-drawn stroke is no mistake)


def big_answer(answer: Answer, live: bool = False) -> str:
    if answer.named:
        return str(answer.digit)
    return LIVE_PENDING if live else BIG[answer.verdict]


def show_answer_block(answer: Answer, live: bool = False) -> None:
    """The answer large: the digit and its shown probability, "✗" or "?", and (unless live)
    the 28x28 preview. While the pen is down (live) only this, dimmed: the run stays tiny, and
    a guess that names no digit yet shows a neutral "…" (never a "wrong" cross mid-stroke)."""
    share = percent(answer.confidence) if answer.named else ""
    dim = ";opacity:0.75" if live else ""
    # One element for the answer and the 28x28 preview, then the chart: each extra element or
    # column block drawn with the answer delays it in the browser (pen-up -> answer,
    # docs/performance.md). The preview is the 28x28 PNG itself (~300 bytes), scaled up by the browser.
    live_attr = "data-live='1' " if live else ""
    extra = ("<br><span style='font-size:0.9rem'>reading as you draw…</span>" if live else "")
    preview = "" if live else (
        f"<figure style='margin:0;text-align:center'><img src='{png_data_url(answer.image28)}' alt='the 28×28 input' "
        "style='width:112px;height:112px;max-width:none;object-fit:fill;image-rendering:pixelated;border:1px solid #888'>"
        "<figcaption style='font-size:0.8rem;opacity:0.7'>what the model sees (28×28)</figcaption></figure>")
    st.markdown(
        "<div style='display:flex;align-items:center;gap:1.25rem;flex-wrap:wrap'>"
        f"<span data-testid='prediction' {live_attr}data-verdict='{answer.verdict}' data-digit='{answer.digit}' data-path='{answer.path}' "
        f"style='font-size:6rem;font-weight:700;line-height:1{dim}'>{big_answer(answer, live)}</span>"
        f"<span data-testid='probability' style='font-size:1.75rem;flex:1{dim}'>{share}{extra}</span>"
        f"{preview}</div>",
        unsafe_allow_html=True,  # only our own digit, number and PNG are interpolated
    )


def show_prediction(answer: Answer) -> bool:
    """The whole answer: large (the digit and its probability; "✗" and "That doesn't look like
    a digit"; or "?" and "Not sure: 4 or 9?"), then the chart of the same probabilities and the
    model's-eye preview. True when it named a digit."""
    show_answer_block(answer)
    show_learnt(answer)
    if not answer.named:
        st.markdown(answer.message())
    if answer.strokes_refused:
        st.caption("The pen strokes the browser sent could not be used: this answer is read from the picture alone.")
    st.vega_lite_chart(*probability_chart(answer.probabilities, height=180), width="stretch")
    return answer.named


UNREADABLE = "That drawing could not be read. Clear the canvas and draw again."


def answer_key(canvas_key: str) -> str:
    """The container show_answer draws in: the browser shows its live guess there too."""
    return f"{canvas_key}-answer"


def log_fallback(answer: Answer | None, page: str) -> None:
    """A canvas drawing read from the picture alone is a fault (the canvas sends its strokes
    with every picture): say so in the server log, once per session and reason, so it is never
    silent again (tests/browser/test_server_log.py fails on it)."""
    if answer is None or not answer.fallback:
        return
    logged = st.session_state.setdefault("_fallbacks_logged", set())
    if answer.fallback not in logged:
        logged.add(answer.fallback)
        log.warning("%s page: the pen's path was not read, the picture alone was: %s", page, answer.fallback)


def show_unreadable() -> None:
    st.warning(UNREADABLE, icon=":material/warning:")


def show_answer(reading: Reading, image28: np.ndarray | None, empty_hint: str, icon: str,
                page: str = "Draw") -> Answer | None:
    """What the Draw page and the kiosk show for a reading: nothing if the model is missing
    (get_reader said why), the "could not be read" note, a hint on an empty canvas, the live
    guess while the pen is down (only the answer, dimmed: the run stays tiny), or the full
    answer, read to screen readers. Returns the full answer."""
    reader = get_reader()
    if reader is None:
        return None
    # A keyed box: while the pen moves, the browser shows its own live guess in its place.
    with st.container(key=answer_key(reading.key)) if reading.key else st.container():
        return _show_answer(reader, reading, image28, empty_hint, icon, page)


def _show_answer(reader, reading: Reading, image28: np.ndarray | None, empty_hint: str, icon: str,
                 page: str) -> Answer | None:
    if reading.error:
        show_unreadable()
    elif image28 is None:
        st.info(empty_hint, icon=icon)
    elif not reading.final:
        show_answer_block(reader.read_image(image28), live=True)
    else:  # the final picture comes with the canvas' strokes: the pen's path is read too
        answer = reader.read(reading.image, reading.json_data, image28, visitor_memory())
        log_fallback(answer, page)
        show_prediction(answer)
        reading.announce = (f"The model reads {with_article(answer.digit)}." if answer.named
                            else "The model does not name a digit.")
        return answer
    return None


def show_explanation(image28: np.ndarray) -> None:
    """An expander with what the network sees. An expander's body runs even when closed, so the
    work waits behind a toggle: nothing is computed until a visitor asks."""
    with st.expander("What the network sees"):
        if not st.toggle("Show the input, the first layer and the saliency map", key="explain"):
            return
        ex = explain(_load_reader(model_path()).predictor, image28)
        left, right = st.columns(2)
        left.image(enlarge(image28), caption="the 28×28 input", width=140)
        right.image(saliency_overlay(image28, ex.saliency), width=140,
                    caption=f"the ink that made it {with_article(ex.digit)} (occlusion: where covering it changes the answer)")
        st.image(activation_grid(ex.activations), width="stretch",
                 caption=f"the first convolution layer's {ex.activations.shape[-1]} activation maps "
                         "(bright: the filter fires there)")


# --------------------------------------------------------------------------- feedback

PRIVACY = ("Only the 28×28 drawing, your strokes, the model's guess and the right digit are kept, "
           "with the date and the model version: no IP address, no name, no cookie, nothing about you.")


def feedback_widget(answer: Answer, strokes: dict | None) -> None:
    """Under an answer: "Which digit did you draw?" with ten equal buttons, none preselected, so
    a careless tap cannot confirm a misreading with one prominent "Yes"; one label per drawing,
    with Undo. The label always goes to the visitor's memory (this visit only); with feedback
    on it is also stored at once. Whether it confirms or corrects the model (the page named
    answer.digit, or none) is decided by digits.features.feedback.label_kind."""
    storing = feedback.enabled()
    if not storing and answer.embedding is None:
        return  # nothing to store and nothing to remember
    image28, sure = answer.image28, answer.named
    drawing = hashlib.sha1(np.asarray(image28, np.float32).tobytes()).hexdigest()[:16]
    state = st.session_state
    with st.container(key="feedback", border=True):
        done = state.get("feedback_done")  # (drawing, label, row id or None, remembered)
        if done and done[0] == drawing:
            st.success(f"Thank you! Saved as {article(done[1])} **{done[1]}**." if done[2] is not None
                       else f"Thank you! I'll remember your **{done[1]}** during this visit.",
                       icon=":material/volunteer_activism:")
            st.button("Undo", key=f"feedback_undo_{drawing}", on_click=_undo_feedback, args=done[2:])
            return
        if state.get("feedback_error"):
            st.warning(state.pop("feedback_error"), icon=":material/warning:")
        key = f"feedback_pick_{drawing}_{state.get('feedback_round', 0)}"  # a fresh widget after Undo
        st.pills("Which digit did you draw?", options=list(range(10)), key=key, on_change=_save_feedback,
                 args=(key, drawing, answer.digit, answer.digit if sure else None, image28, strokes,
                       answer.embedding, storing))
        # The privacy note in full once a visit: under every answer it was a wall of repetition.
        if storing and state.setdefault("privacy_for", drawing) == drawing:  # the visit's first answer
            st.caption(f"Your answer helps train the next model. {PRIVACY}")
        else:
            st.caption("Your answer helps train the next model." if storing else
                       "Your answer teaches the app your handwriting for this visit only; nothing is stored.")


def _save_feedback(key: str, drawing: str, predicted: int, named: int | None, image28: np.ndarray,
                   strokes: dict | None, embedding=None, storing: bool = True) -> None:
    label = st.session_state.get(key)
    if label is None:
        return
    remembered = embedding is not None
    if remembered:  # whether or not it is stored: the next drawing like it is read this way
        visitor_memory().remember(embedding, int(label))
    if not storing:
        st.session_state.feedback_done = (drawing, int(label), None, remembered)
        return
    try:
        row = feedback.record(image28, predicted, label, named, feedback.model_version(model_path()), strokes)
    except (OSError, feedback.StoreError) as exc:  # a full disk, a stuck lock or a lost server must not break the page
        st.session_state.feedback_error = f"Sorry, your answer could not be saved ({exc})."
        return
    st.session_state.feedback_done = (drawing, int(label), row, remembered)
    st.session_state.setdefault("stored_rows", []).append(row)  # this visit's, for "Delete them too"
    st.session_state.forgot = None


def _undo_feedback(row: int | None, remembered: bool) -> None:
    if remembered:
        visitor_memory().forget_last()
    try:
        if row is not None:
            feedback.forget(row)
            if row in st.session_state.get("stored_rows", []):
                st.session_state.stored_rows.remove(row)
    except (OSError, feedback.StoreError) as exc:
        st.session_state.feedback_error = f"Sorry, your answer could not be taken back ({exc})."
    st.session_state.feedback_done = None
    st.session_state.feedback_round = st.session_state.get("feedback_round", 0) + 1


# --------------------------------------------------------------------------- kiosk settings
# Pure functions (no Streamlit calls): app.py picks the kiosk page with kiosk_mode, the kiosk
# page (webapp/pages/kiosk.py) sizes its canvas and idle watch with the rest.
# Turned on by the operator with DIGITS_KIOSK=1 (every session), or per device with the URL
# `?kiosk=1` (Streamlit's config.toml has no room for app settings, hence environment variables).

DEFAULT_IDLE_S = 60.0
MIN_IDLE_S = 3.0  # shorter would wipe a drawing while the visitor still reads the answer
# Canvas bitmaps; shown never wider than the screen (live_canvas.js scales them down by CSS), so
# a phone's canvas takes its whole width: 420 covers phones up to 436 px wide at full size.
PHONE_CANVAS = 420
LARGE_CANVAS = 560  # tablets (portrait 600-1024 px wide) and kiosk screens


def kiosk_mode(query_params: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> bool:
    """On when the operator set DIGITS_KIOSK=1, or the URL asks with ?kiosk=1."""
    return _truthy(environ.get("DIGITS_KIOSK")) or _truthy(query_params.get("kiosk"))


def idle_seconds(query_params: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> float:
    """Seconds without a new stroke before the canvas clears: ?idle=, else DIGITS_KIOSK_IDLE,
    else 60; never below MIN_IDLE_S; an unreadable value falls back to the next source."""
    for raw in (query_params.get("idle"), environ.get("DIGITS_KIOSK_IDLE")):
        try:
            return max(MIN_IDLE_S, float(raw))
        except (TypeError, ValueError):
            continue
    return DEFAULT_IDLE_S


def live_reading(query_params: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the kiosk's guess follows the pen: on unless ?live=0 (one device) or, without it
    in the URL, DIGITS_KIOSK_LIVE=0 (every kiosk), e.g. for more people per server process
    (docs/performance.md). The operator's setting: the page has no switch a visitor could
    leave off for the next one."""
    for raw in (query_params.get("live"), environ.get("DIGITS_KIOSK_LIVE")):
        value = (raw or "").strip().lower()
        if _truthy(value) or value in _FALSY:
            return _truthy(value)
    return True


def canvas_size(user_agent: str) -> int:
    """Phones (the "Mobi" token mobile browsers send; iPads send it too, or a desktop UA) get a
    canvas bitmap the width of a large phone (shown at the screen's width), tablets and screens
    a big one. Streamlit cannot see the viewport, only the request."""
    ua = user_agent or ""
    return PHONE_CANVAS if "Mobi" in ua and "iPad" not in ua else LARGE_CANVAS


def is_idle(last_activity: float, now: float, idle_s: float) -> bool:
    return now - last_activity >= idle_s


_FALSY = ("0", "false", "no", "off")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")
