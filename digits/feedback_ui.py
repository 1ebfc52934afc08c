"""Streamlit side of feedback: the "was it right?" widget and the Feedback page.

Storage and settings are in digits.feedback (no Streamlit there, so the CLI and training can
use it); this module only draws and reacts to clicks.
"""

from __future__ import annotations

import hashlib
import sqlite3

import numpy as np
import pandas as pd
import streamlit as st

from . import feedback
from .model import Prediction
from .webapp import model_path

PRIVACY = ("Only the 28×28 drawing, your strokes, the model's guess and the right digit are kept, "
           "with the date and the model version: no IP address, no name, no cookie, nothing about you.")


def feedback_widget(prediction: Prediction, image28: np.ndarray, strokes: dict | None, sure: bool = True) -> None:
    """Under a prediction: "Yes" or the right digit, stored once per drawing. When the model
    was not sure there is nothing to say yes to: only "which digit is it?"."""
    if not feedback.enabled():
        return
    drawing = hashlib.sha1(np.asarray(image28, np.float32).tobytes()).hexdigest()[:16]
    state = st.session_state
    with st.container(key="feedback", border=True):
        done = state.get("feedback_done")
        if done and done[0] == drawing:
            st.success(f"Thank you! Saved as a **{done[1]}**.", icon="🙏")
            return
        if state.get("feedback_error"):
            st.warning(state.pop("feedback_error"), icon="⚠️")
        args = (drawing, prediction.digit, image28, strokes)
        if sure:
            st.button(f"✓ Yes, it's a {prediction.digit}", key=f"feedback_yes_{drawing}",
                      on_click=_save, args=(*args, prediction.digit))
        st.pills("No, it's a…" if sure else "If it is a digit, which one?", options=list(range(10)),
                 key=f"feedback_pick_{drawing}", on_change=_save_pick, args=args)
        st.caption(f"Your answer helps train the next model. {PRIVACY}")


def _save_pick(drawing: str, predicted: int, image28: np.ndarray, strokes: dict | None) -> None:
    label = st.session_state.get(f"feedback_pick_{drawing}")
    if label is not None:
        _save(drawing, predicted, image28, strokes, label)


def _save(drawing: str, predicted: int, image28: np.ndarray, strokes: dict | None, label: int) -> None:
    try:
        feedback.record(image28, predicted, label, feedback.model_version(model_path()), strokes)
    except (OSError, sqlite3.Error) as exc:  # a full disk or a stuck lock must not break the page
        st.session_state.feedback_error = f"Sorry, your answer could not be saved ({exc})."
        return
    st.session_state.feedback_done = (drawing, int(label))


def feedback_page() -> None:
    """Counts per digit and the model's accuracy on confirmed drawings, day by day."""
    st.title("🗳️ Feedback")
    st.caption(PRIVACY)
    if not feedback.enabled():
        st.info("Feedback collection is off on this server (DIGITS_FEEDBACK=0, or Streamlit "
                "Community Cloud, whose disk does not survive a restart).", icon="🔒")
    path = feedback.db_path()
    counts = feedback.counts_per_digit(path) if path.is_file() else [0] * 10
    if not sum(counts):
        st.info("No confirmed drawings yet: say \"yes\" or pick the right digit under a "
                "prediction on the Draw page.", icon="✏️")
        return

    st.metric("confirmed drawings", sum(counts))
    st.subheader("Drawings per digit")
    st.bar_chart(pd.DataFrame({"digit": [str(d) for d in range(10)], "drawings": counts}),
                 x="digit", y="drawings")
    st.subheader("How often the model was right, by day (UTC)")
    days = pd.DataFrame(feedback.accuracy_by_day(path))
    st.line_chart(days, x="day", y="accuracy", y_label="accuracy")
    st.dataframe(days.rename(columns={"n": "drawings", "right": "model right"}),
                 hide_index=True, column_config={
                     "accuracy": st.column_config.NumberColumn(format="percent")})
    st.caption("For the operator: `python -m digits feedback export --out DIR` writes them as a "
               "dataset; `python train.py --extra-data DB` trains on them too.")
