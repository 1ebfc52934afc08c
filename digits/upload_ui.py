"""The Upload page: a photo, scan or image file of one digit, read like a drawing."""

from __future__ import annotations

import re

import numpy as np
import streamlit as st

from .images import EXTENSIONS, FORMAT_NAMES, ImageError, image_to_input, read_gray
from .webapp import get_predictor, show_prediction


def upload_panel(key: str = "upload") -> None:
    """File picker; then the image as read, the 28x28 the model saw, the digit and the chart.

    A file that cannot be read gets the reader's own message, never a traceback.
    """
    uploaded = st.file_uploader("A photo, scan or image of one digit", type=list(EXTENSIONS), key=key)
    if uploaded is None:
        st.info(f"Upload a {FORMAT_NAMES} file showing one digit: dark on light paper, or light on dark.",
                icon="📷")
        return
    try:
        gray = read_gray(uploaded.getvalue())
        image28 = image_to_input(gray)
    except ImageError as exc:
        st.error(f"This file cannot be read: {_plain(str(exc))}", icon="🚫")
        return
    predictor = get_predictor()
    if predictor is None:
        return  # get_predictor already explained what to do
    left, right = st.columns([1, 1], gap="large")
    with left:
        # What was decoded (upright, grey), not the raw upload: the browser never renders the
        # visitor's bytes, and the picture shows what the reader worked from.
        st.image((gray * 255).astype(np.uint8), caption="the uploaded image, as read", width=280)
    with right:
        show_prediction(predictor.predict(image28), image28)


def _plain(text: str) -> str:
    """Markdown-escape a message that may quote file contents or Pillow's wording."""
    return re.sub(r"([\\`*_\[\]<>|~$])", r"\\\1", text)
