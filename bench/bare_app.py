"""Baseline for the pen-up -> answer benchmark: the Draw page's layout and canvas, no model.

The canvas is a plain st_canvas call with the arguments webapp/live_canvas.py gives it (pen,
colours, size, freedraw, image data) but without the live companion: a copy on purpose, since
the baseline is what a bare canvas app costs. The answer is only the ink pixel count, in the
same marker element, so the benchmark measures both apps the same way and the difference is
what the model, the companion and the display cost.
"""

import sys

import streamlit as st

from streamlit_drawable_canvas import st_canvas

from digits.render import CANVAS, STROKE_WIDTH

# The baseline is only meaningful without TensorFlow (its objects slow every garbage collection).
assert "tensorflow" not in sys.modules, "something imports TensorFlow: the baseline is not bare"

st.set_page_config(page_title="Bare canvas", layout="wide")
st.title("Bare canvas")

left, right = st.columns([1, 1], gap="large")
with left:
    st.caption("The app's canvas, without the model.")
    canvas = st_canvas(stroke_width=STROKE_WIDTH, stroke_color="#FFFFFF", background_color="#000000",
                       width=CANVAS, height=CANVAS, drawing_mode="freedraw", return_image_data=True, key="canvas")

with right:
    image = canvas.image_data
    ink = 0 if image is None else int((image[..., :3].max(axis=2) > 16).sum())  # RGB: alpha is 255
    if ink == 0:
        st.info("Draw on the black square.")
    else:
        st.markdown(f"<div data-testid='prediction'>{ink}</div>", unsafe_allow_html=True)
