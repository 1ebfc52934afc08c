"""Model page: how good the shipped model is, from the report train.py wrote (nothing recomputed)."""

import json

import streamlit as st

from digits.model import MODEL_DIR, REPORT_PATH

st.title("📊 The model")

try:
    report = json.loads(REPORT_PATH.read_text())
except (OSError, ValueError):
    st.warning(f"No training report at `{REPORT_PATH}`. Train a model with `python train.py`.")
    st.stop()

st.metric("MNIST test accuracy", f"{report['test_accuracy']:.2%}")
for name, caption in (("confusion", "Confusion matrix on the MNIST test set"),
                      ("curves", "Accuracy and loss per epoch"),
                      ("mistakes", "Test images the model gets wrong")):
    path = MODEL_DIR / report["figures"][name]
    if path.is_file():
        st.image(str(path), caption=caption)
with st.expander("Layers"):
    st.code(report["layers"], language=None)
