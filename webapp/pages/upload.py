"""Upload page: a photo, scan or image file of one digit, read like a drawing.

The file picker; then the image as read, the 28x28 the model saw, the digit and the chart. A
file that cannot be read gets the reader's own message, never a traceback.
"""

import re

import numpy as np
import streamlit as st

from digits.images import EXTENSIONS, FORMAT_NAMES, ImageError, image_to_input, read_gray
from webapp.widgets import get_reader, show_prediction


def plain(text: str) -> str:
    """Markdown-escape a message that may quote file contents or Pillow's wording."""
    return re.sub(r"([\\`*_\[\]<>|~$])", r"\\\1", text)


st.title(":material/upload: Read an image")
uploaded = st.file_uploader("A photo, scan or image of one digit", type=list(EXTENSIONS), key="upload")
if uploaded is None:
    st.info(f"Upload a {FORMAT_NAMES} file showing one digit: dark on light paper, or light on dark.",
            icon=":material/photo_camera:")
    st.stop()
try:
    gray = read_gray(uploaded.getvalue())
    image28 = image_to_input(gray)
except ImageError as exc:
    st.error(f"This file cannot be read: {plain(str(exc))}", icon=":material/block:")
    st.stop()
reader = get_reader()
if reader is None:
    st.stop()  # get_reader already explained what to do

left, right = st.columns([1, 1], gap="large")
with left:
    # What was decoded (upright, grey), not the raw upload: the browser never renders the
    # visitor's bytes, and the picture shows what the reader worked from.
    st.image((gray * 255).astype(np.uint8), caption="the uploaded image, as read", width=280)
with right:
    show_prediction(reader.read_image(image28))
