"""Baseline for the pen-up -> answer benchmark: the Draw page's layout and canvas, no model.

The canvas comes from the same function the app uses (webapp.widgets.digit_canvas, the same
st_canvas arguments); the answer is only the ink pixel count, in the same marker element, so
the benchmark measures both apps the same way and the difference is what the model and its
display cost.
"""

import sys

import streamlit as st

from webapp.widgets import digit_canvas

# The baseline is only meaningful without TensorFlow (its objects slow every garbage collection).
assert "tensorflow" not in sys.modules, "webapp.widgets now imports TensorFlow: the baseline is not bare"

st.set_page_config(page_title="Bare canvas", layout="wide")
st.title("Bare canvas")

left, right = st.columns([1, 1], gap="large")
with left:
    st.caption("The app's canvas, without the model.")
    canvas = digit_canvas("canvas")

with right:
    image = canvas.image_data
    ink = 0 if image is None else int((image[..., :3].max(axis=2) > 16).sum())  # RGB: alpha is 255
    if ink == 0:
        st.info("Draw on the black square.")
    else:
        st.markdown(f"<div data-testid='prediction'>{ink}</div>", unsafe_allow_html=True)
