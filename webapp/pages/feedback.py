"""Feedback page: what visitors confirmed, per digit, and how often the model was right, day by
day. Storage and settings are in digits.features.feedback; the widget under an answer is in widgets."""

import streamlit as st

from digits.features import feedback
from webapp.widgets import PRIVACY, accuracy_chart, drawings_chart

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
    st.stop()

st.metric("confirmed drawings", sum(counts))
st.subheader("Drawings per digit")
st.vega_lite_chart(*drawings_chart(counts), width="stretch")
st.subheader("How often the model was right, by day (UTC)")
df, spec = accuracy_chart(feedback.accuracy_by_day(path))
st.vega_lite_chart(df, spec, width="stretch")
st.dataframe(df.rename(columns={"n": "drawings", "right": "model right"}),
             hide_index=True, column_config={
                 "accuracy": st.column_config.NumberColumn(format="percent")})
st.caption("For the operator: `python -m digits feedback export --out DIR` writes them as a "
           "dataset; `python train.py --extra-data DB` trains on them too.")
