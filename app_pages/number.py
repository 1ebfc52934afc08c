"""Number page: several digits side by side, each read like a drawing on the Draw page."""

import streamlit as st

from digits.number import read_number
from digits.number_ui import number_canvas, show_number
from digits.webapp import canvas_image, get_predictor

st.title("🔢 Write a number")
st.caption("Write a few digits side by side, left to right, with a little space between them. "
           "Undo, redo and clear are in the bar above the canvas.")
canvas = number_canvas("number_canvas")

predictor = get_predictor()
image = canvas_image(canvas)
reading = read_number(image, predictor) if predictor is not None and image is not None else None
if predictor is None:
    pass  # get_predictor already explained what to do
elif reading is None or not reading.digits:
    st.info("Write a number on the black strip: it is read when you lift the pen.", icon="👆")
else:
    show_number(reading)
