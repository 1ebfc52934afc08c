"""Model page: how good the shipped model is, from the report train.py wrote: real pen drawings
by people it never saw first (accuracy per digit, the confusion matrix, letters and symbols and
what it answered), then MNIST, the learning curve and the layers.

Figures come from model/report.json ("real_drawings": digits.training.fit.real_drawing_figures).
Two things are drawn here, each once per server and model (cached): the few letters and symbols
shown as pictures, and the dev confusion matrix when an older report.json has none.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st

from digits.answer import NOT_DIGIT, UNSURE, Reader
from digits.data import DEV_PATH, NONDIGIT_DEV_PATH, iter_strokes, read_strokes
from digits.inference import file_sha256
from digits.model import MODEL_DIR, REPORT_PATH
from digits.preprocess import preprocess_canvas
from digits.render import draw, replay_layout
from digits.strokes import as_sent, sequence
from webapp.widgets import get_reader, model_path, png_data_url

GALLERY = 12  # letters and symbols shown
GALLERY_SEED = 0


def replayed(reader: Reader, strokes, index: int) -> tuple[np.ndarray, np.ndarray | None]:
    """A dev sample as `make evaluate` draws it (the replay protocol, random size and place):
    the 28x28 input, and its pen path when the model reads one."""
    layout = replay_layout(strokes, index, "random")
    image28 = preprocess_canvas(draw(layout))
    image28 = np.zeros((28, 28), np.float32) if image28 is None else image28
    return image28, sequence(as_sent(layout)) if reader.reads_strokes else None


@st.cache_resource(show_spinner="Reading a few letters and symbols…")
def letters_and_symbols(model_sha: str, n: int = GALLERY, seed: int = GALLERY_SEED) -> list[dict]:
    """n dev letters and symbols picked at random (all different characters), each with the
    28x28 input and what the page would answer. (model_sha: one entry per model file.)"""
    reader = get_reader()
    samples = read_strokes(NONDIGIT_DEV_PATH)
    picked, chars = [], set()
    for i in np.random.default_rng(seed).permutation(len(samples)):
        if samples[i].char not in chars:
            chars.add(samples[i].char)
            picked.append(int(i))
        if len(picked) == n:
            break
    out = []
    for i in picked:
        image28, seq = replayed(reader, samples[i].strokes, i)
        answer = reader.read_image(image28, seq)
        out.append({"char": samples[i].char, "png": png_data_url(image28), "verdict": answer.verdict,
                    "digit": answer.digit, "confidence": answer.confidence})
    return out


@st.cache_resource(show_spinner="Reading the 3 000 dev digits once for this server (about half a minute)…")
def dev_confusion(model_sha: str) -> list[list[int]]:
    """The forced-choice confusion matrix of the dev digits (rows: drawn, columns: the best of
    the ten), as fit.real_drawing_figures stores it; only for a report.json made before it did."""
    reader = get_reader()
    cm = np.zeros((10, 10), np.int64)
    batch: list[tuple[int, np.ndarray, np.ndarray | None]] = []

    def flush() -> None:  # a few hundred at a time: ONNX Runtime's arena stays small
        seqs = np.stack([s for _, _, s in batch]) if reader.reads_strokes else None
        probs = reader.probabilities(np.stack([x for _, x, _ in batch]), seqs)
        np.add.at(cm, ([y for y, _, _ in batch], probs[:, :10].argmax(axis=1)), 1)
        batch.clear()

    for i, sample in enumerate(iter_strokes(DEV_PATH)):
        batch.append((sample.label, *replayed(reader, sample.strokes, i)))
        if len(batch) == 250:
            flush()
    if batch:
        flush()
    return cm.tolist()


def per_digit_chart(per_label: dict) -> tuple[pd.DataFrame, dict]:
    """Accuracy per digit, on an axis from 90 % (every bar is above it: from 0 they would all
    look full), each bar labelled with its value."""
    df = pd.DataFrame({"digit": list(per_label), "accuracy": [float(v) for v in per_label.values()]})
    x = {"field": "digit", "type": "nominal", "sort": None, "axis": {"labelAngle": 0, "title": "digit drawn"}}
    y = {"field": "accuracy", "type": "quantitative", "scale": {"domain": [0.9, 1.0]},
         "axis": {"format": "%", "title": "read right"}}
    spec = {"height": 220, "encoding": {"x": x, "y": y}, "layer": [
        {"mark": {"type": "bar", "clip": True, "color": "#5b6b7a"},
         "encoding": {"tooltip": [{"field": "digit"}, {"field": "accuracy", "format": ".1%"}]}},
        {"mark": {"type": "text", "dy": -8, "fontSize": 11}, "encoding": {"text": {"field": "accuracy", "format": ".1%"}}},
    ]}
    return df, spec


def confusion_chart(cm: list[list[int]]) -> tuple[pd.DataFrame, dict]:
    """Rows: the digit drawn; columns: the digit read (the best of the ten); counts in the cells."""
    df = pd.DataFrame([{"drawn": str(t), "read as": str(p), "drawings": int(c), "right": t == p}
                       for t, row in enumerate(cm) for p, c in enumerate(row)])
    axis = {"labelAngle": 0}
    spec = {"height": 320, "encoding": {
        "x": {"field": "read as", "type": "ordinal", "axis": {**axis, "orient": "top"}},
        "y": {"field": "drawn", "type": "ordinal", "axis": axis}}, "layer": [
        # empty cells stay white; the diagonal (read right) blue, any other read red
        {"mark": "rect", "transform": [{"filter": "datum.drawings > 0"}],
         "encoding": {"color": {"condition": {"test": "datum.right", "value": "#08519c"}, "value": "#f4b6b0"},
                      "tooltip": [{"field": "drawn"}, {"field": "read as"}, {"field": "drawings"}]}},
        {"mark": {"type": "text", "fontSize": 11}, "transform": [{"filter": "datum.drawings > 0"}],
         "encoding": {"text": {"field": "drawings"},
                      "color": {"condition": {"test": "datum.right", "value": "white"}, "value": "#c0392b"}}},
    ]}
    return df, spec


def learning_curve(history: dict) -> tuple[pd.DataFrame, dict]:
    epochs = range(1, len(history["val_accuracy"]) + 1)
    df = pd.DataFrame({"epoch": list(epochs) * 2,
                       "accuracy": list(history["val_accuracy"]) + list(history["accuracy"]),
                       "measured on": ["validation (held out)"] * len(epochs) + ["training (augmented)"] * len(epochs)})
    spec = {"height": 260, "mark": {"type": "line", "point": True}, "encoding": {
        "x": {"field": "epoch", "type": "ordinal", "axis": {"labelAngle": 0}},
        "y": {"field": "accuracy", "type": "quantitative", "scale": {"zero": False},
              "axis": {"format": ".0%", "title": "right of 11 answers"}},
        "color": {"field": "measured on", "type": "nominal", "legend": {"orient": "bottom", "title": None},
                  "scale": {"domain": ["validation (held out)", "training (augmented)"], "range": ["#e4572e", "#9aa5b1"]}},
        "tooltip": [{"field": "epoch"}, {"field": "measured on"}, {"field": "accuracy", "format": ".2%"}]}}
    return df, spec


def _escape(char: str) -> str:
    return char.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def show_gallery(items: list[dict]) -> None:
    said = {NOT_DIGIT: "not a digit", UNSURE: "not sure"}
    cells = "".join(
        "<figure style='margin:0;text-align:center'>"
        f"<img src='{it['png']}' alt='a drawn {_escape(it['char'])}' style='width:64px;height:64px;image-rendering:pixelated'>"
        f"<figcaption style='font-size:0.85rem'><b>{_escape(it['char'])}</b> → "
        + (said[it["verdict"]] if it["verdict"] in said else f"<span style='color:#c0392b'>read as {it['digit']}</span>")
        + "</figcaption></figure>" for it in items)
    # Our own PNGs and numbers, and single characters from the data file, HTML-escaped.
    st.markdown("<div style='display:flex;flex-wrap:wrap;gap:0.75rem 1.25rem'>" + cells + "</div>",
                unsafe_allow_html=True)


st.title(":material/insights: The model")

try:
    report = json.loads(REPORT_PATH.read_text())
except (OSError, ValueError):
    st.warning(f"No training report at `{REPORT_PATH}`. Train a model with `python train.py`.", icon=":material/warning:")
    st.stop()

training = report["training"]
members = training.get("members", 1)
cnn = "one CNN" if members == 1 else f"an ensemble of {members} CNNs"
pen = ", with a second model reading the pen's path" if training.get("strokes_model") else ""
st.caption(f"{cnn[0].upper() + cnn[1:]} ({report['params']:,} parameters{'' if members == 1 else ' each'}){pen}, "
           "trained on MNIST and real pen strokes; digits 0–9 and “not a digit”.")

real = report.get("real_drawings")
reader = get_reader()
if real:
    digits_random, nondigits = real["dev_digits_random"], real["dev_nondigits_random"]
    st.subheader("Real pen drawings by 64 new writers (UNIPEN dev)")
    st.caption(f"{digits_random['n']:,} digits and {nondigits['n']:,} letters and symbols, drawn on the canvas at a "
               "random size and place, read as on the Draw page. Nobody in this set was trained or tuned on.")
    left, middle, right = st.columns(3)
    left.metric("digits read right", f"{digits_random['accuracy']:.2%}",
                help="the best of the ten digits is the one drawn (forced choice among 0–9)")
    middle.metric("digits answered “not sure” or “not a digit”", f"{digits_random['rejected']:.2%}",
                  help=f"accuracy on the digits it does answer: {digits_random['accuracy_answered']:.2%}")
    right.metric("letters and symbols recognised as not a digit", f"{nondigits['rejected']:.1%}",
                 help="answered “not a digit” or “not sure”: never a digit")

    st.markdown("**Read right, per digit drawn**")
    st.vega_lite_chart(*per_digit_chart(digits_random["per_label"]), width="stretch")
    worst = min(digits_random["per_label"], key=lambda d: digits_random["per_label"][d])
    st.caption(f"Forced choice among 0–9, about {digits_random['n'] // 10} drawings per digit; the axis starts at "
               f"90 %. The hardest is {worst} ({digits_random['per_label'][worst]:.1%}).")

    sha = file_sha256(model_path()) if reader is not None else ""
    cm = digits_random.get("confusion")
    if cm is None and reader is not None:
        cm = dev_confusion(sha)
    if cm is not None:
        st.markdown("**What each digit was read as** (dev confusion matrix)")
        st.vega_lite_chart(*confusion_chart(cm), width="stretch")
        st.caption("Rows: the digit drawn; columns: the best of the ten digits (blue: read right, red: read as "
                   "another digit); empty: never.")

    if reader is not None:
        items = letters_and_symbols(sha)
        refused = sum(it["verdict"] != "digit" for it in items)
        st.markdown(f"**Letters and symbols:** {len(items)} picked at random from the {nondigits['n']:,}, "
                    f"as the model saw them; it named no digit for {refused} of them")
        show_gallery(items)
    generated = real["generated_nondigits"]
    st.caption("Drawn big and centred: " + f"{real['dev_digits_easy']['accuracy']:.2%} of the digits read right. "
               "Doodles rejected: " + ", ".join(f"{k.replace('_', ' ')} {v:.0%}" for k, v in generated["per_kind"].items())
               + ". Letters and symbols rejected per kind: "
               + ", ".join(f"{k} {v:.0%}" for k, v in nondigits["per_kind"].items()) + ".")

st.subheader("MNIST test set")
st.metric("MNIST test accuracy", f"{report['test_accuracy']:.2%}",
          help="10 000 scanned digits, forced choice among 0–9: the usual benchmark figure")
for name, caption in (("confusion", "Confusion matrix on the MNIST test set"),
                      ("mistakes", "Test images the model gets wrong")):
    path = MODEL_DIR / report["figures"][name]
    if path.is_file():
        st.image(str(path), caption=caption)

history = report.get("history")
if history and history.get("val_accuracy"):
    st.subheader("Learning curve" + ("" if members == 1 else " (first member)"))
    st.vega_lite_chart(*learning_curve(history), width="stretch")
    data = training.get("data", {})
    st.caption(
        f"Accuracy per epoch of the picture CNN{'' if members == 1 else ' (one member)'} on its own (one view, "
        "the raw eleven outputs). Validation: "
        f"{data.get('mnist_val', 0):,} MNIST training images held out, {data.get('strokes_val', 0):,} renders of "
        f"pen digits by {data.get('strokes_val_writers', 0)} held-out writers, {data.get('nondigits_val', 0):,} "
        f"letters and symbols and {data.get('generated_val', 0):,} doodles (“not a digit”). That is why it ends near "
        f"{history['val_accuracy'][-1]:.1%} while the shipped model reads {report['test_accuracy']:.2%} of MNIST's "
        "test digits: the pen drawings and the eleventh answer are harder than scanned digits, and the test-time "
        "views, the calibration" + (", the other members" if members > 1 else "") + (" and the pen-path model" if pen else "")
        + " are not in this curve. Training accuracy is on augmented images.")
with st.expander("Layers (each member)"):
    st.code(report["layers"], language=None)
