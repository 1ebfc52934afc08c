"""Feedback page: the drawings visitors labelled, per digit, and how often the model had named
their digit, day by day. Storage, settings and what "confirmed", "corrected" and "unverified"
mean are in digits.features.feedback; the widget under an answer is in widgets."""

import streamlit as st

from digits.features import feedback
from webapp.widgets import PRIVACY, accuracy_chart, drawings_chart

st.title(":material/thumb_up: Feedback")
st.caption(PRIVACY)
if not feedback.enabled():
    st.info("Feedback collection is off on this server (DIGITS_FEEDBACK=0, or Streamlit "
            "Community Cloud without a database URL: its disk does not survive a restart).", icon=":material/lock:")
try:
    counts = feedback.counts()
    days = feedback.accuracy_by_day()
except (OSError, feedback.StoreError) as exc:
    st.warning(f"The feedback database cannot be read right now ({exc}).", icon=":material/warning:")
    st.stop()
confirmed, corrected, unverified = (sum(counts[k]) for k in feedback.KINDS)
if not confirmed + corrected + unverified:
    st.info("No labelled drawings yet: pick the digit you drew under an answer on the Draw page.",
            icon=":material/edit:")
    st.stop()

columns = st.columns(3)
columns[0].metric("model's digit confirmed", confirmed)
columns[1].metric("corrected by the visitor", corrected)
columns[2].metric("unverified (one-tap \"yes\", before)", unverified,
                  help="Stored when a single \"Yes, it's a …\" button confirmed the model's guess: "
                       "careless taps made some wrong, so they are neither trained on nor counted below.")
st.subheader("Labelled drawings per digit (confirmed and corrected)")
st.vega_lite_chart(*drawings_chart([a + b for a, b in zip(counts[feedback.CONFIRMED],
                                                          counts[feedback.CORRECTED])]), width="stretch")
st.subheader("How often the model named the visitor's digit, by day (UTC)")
df, spec = accuracy_chart(days)
st.vega_lite_chart(df, spec, width="stretch")
st.dataframe(df.rename(columns={"n": "drawings", "right": "model right"}),
             hide_index=True, column_config={
                 "accuracy": st.column_config.NumberColumn(format="percent")})
st.caption("For the operator: `python -m digits feedback export --out DIR` writes every row as a "
           "dataset (with its kind); `python train.py --extra-data DB` trains on the confirmed and "
           "corrected ones.")
