"""A page with the app's own canvas (webapp.live_canvas) that writes down what reaches Python:
the canvas component's json_data and image_data, and the live companion's value. Run by
`python -m bench.record` to record fixtures from the real component in real Chromium; never
part of the app."""

import json
import os
from pathlib import Path

import cv2
import streamlit as st

from webapp.live_canvas import live_canvas

OUT = Path(os.environ["DIGITS_RECORD_DIR"])

with live_canvas("canvas", live=False) as reading:
    name = st.query_params.get("name", "drawing")
    raw = (st.session_state.get("canvas-live") or {}).get("value")
    canvas = reading.canvas
    if canvas is not None and canvas.json_data and canvas.json_data.get("objects"):
        # Each run overwrites: the last one holds the whole drawing (the canvas' own value
        # may come in the run after the companion's final picture).
        (OUT / f"{name}.json").write_text(json.dumps(
            {"json_data": canvas.json_data, "companion": raw, "source": reading.source}, indent=1))
        if canvas.image_data is not None:
            cv2.imwrite(str(OUT / f"{name}.png"), cv2.cvtColor(canvas.image_data, cv2.COLOR_RGBA2BGRA))
    st.markdown(f"<div data-testid='recorded'>{len((canvas.json_data or {}).get('objects', [])) if canvas else 0}</div>",
                unsafe_allow_html=True)
