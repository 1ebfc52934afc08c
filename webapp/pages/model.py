"""Model page: how good the shipped model is, from the report train.py wrote (nothing recomputed):
real pen drawings by people it never saw first, then MNIST, the learning curves and the layers."""

import json

import streamlit as st

from digits.model import MODEL_DIR, REPORT_PATH

st.title("📊 The model")

try:
    report = json.loads(REPORT_PATH.read_text())
except (OSError, ValueError):
    st.warning(f"No training report at `{REPORT_PATH}`. Train a model with `python train.py`.")
    st.stop()

training = report["training"]
st.caption(f"An ensemble of {training.get('members', 1)} CNNs, {report['params']:,} parameters each, "
           f"trained on MNIST and real pen strokes; digits 0–9 and “not a digit”.")

real = report.get("real_drawings")
if real:
    st.subheader("Real pen drawings by 64 new writers (UNIPEN dev)")
    digits_random, nondigits = real["dev_digits_random"], real["dev_nondigits_random"]
    left, middle, right = st.columns(3)
    left.metric("digits read right", f"{digits_random['accuracy']:.2%}",
                help="3 000 real digits at a random size and place on the canvas (forced choice among 0–9)")
    middle.metric("digits answered “not sure” or “not a digit”", f"{digits_random['rejected']:.2%}",
                  help=f"accuracy on the digits it does answer: {digits_random['accuracy_answered']:.2%}")
    right.metric("letters and symbols recognised as not a digit", f"{nondigits['rejected']:.1%}",
                 help="2 250 real pen-drawn letters and symbols (45 characters)")
    generated = real["generated_nondigits"]
    st.caption("Drawn big and centred: " + f"{real['dev_digits_easy']['accuracy']:.2%} of the digits read right. "
               "Doodles rejected: " + ", ".join(f"{k.replace('_', ' ')} {v:.0%}" for k, v in generated["per_kind"].items())
               + ". Per kind of character: " + ", ".join(f"{k} {v:.0%}" for k, v in nondigits["per_kind"].items()) + ".")

st.subheader("MNIST test set")
st.metric("MNIST test accuracy", f"{report['test_accuracy']:.2%}")
for name, caption in (("confusion", "Confusion matrix on the MNIST test set"),
                      ("curves", "Accuracy and loss per epoch (first member)"),
                      ("mistakes", "Test images the model gets wrong")):
    path = MODEL_DIR / report["figures"][name]
    if path.is_file():
        st.image(str(path), caption=caption)
with st.expander("Layers (each member)"):
    st.code(report["layers"], language=None)
