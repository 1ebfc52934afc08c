"""Accuracy figures and the training report (JSON + PNG figures shown on the Model page)."""

from __future__ import annotations

import io
import platform
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np

FIGURES = {
    "confusion": "confusion.png",
    "curves": "curves.png",
    "mistakes": "mistakes.png",
}


def forced_digit(probs: np.ndarray) -> np.ndarray:
    """The best of the ten digits, ignoring "not a digit": what MNIST, Kaggle and the digit
    accuracy figures need (every one of their images is a digit)."""
    return np.asarray(probs)[..., :10].argmax(axis=-1)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int = 10) -> np.ndarray:
    cm = np.zeros((n, n), np.int64)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return cm


def accuracy_summary(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Accuracy, per-label accuracy, confusion matrix and the most frequent confusions."""
    y_true, y_pred = np.asarray(y_true, int), np.asarray(y_pred, int)
    cm = confusion_matrix(y_true, y_pred)
    support = cm.sum(axis=1)
    per_label = {str(d): round(float(cm[d, d] / support[d]), 4) if support[d] else None for d in range(10)}
    off = [(int(cm[t, p]), t, p) for t in range(10) for p in range(10) if t != p and cm[t, p]]
    worst = [{"true": t, "predicted": p, "count": c} for c, t, p in sorted(off, reverse=True)[:5]]
    return {
        "n": int(len(y_true)),
        "accuracy": round(float((y_true == y_pred).mean()), 4) if len(y_true) else None,
        "per_label": per_label,
        "confusion": cm.tolist(),
        "worst_confusions": worst,
    }


def format_summary(title: str, summary: dict) -> str:
    """A human table: accuracy, per-label accuracy, confusion matrix, worst confusions."""
    lines = [title, f"  samples: {summary['n']}   accuracy: {summary['accuracy']:.2%}", ""]
    lines.append("  label     " + " ".join(f"{d:>6}" for d in range(10)))
    lines.append("  accuracy  " + " ".join(
        f"{v:>6.1%}" if v is not None else f"{'-':>6}" for v in summary["per_label"].values()))
    lines += ["", "  confusion (rows: true, columns: predicted)",
              "        " + "".join(f"{d:>6}" for d in range(10))]
    for d, row in enumerate(summary["confusion"]):
        lines.append(f"  {d:>4}  " + "".join(f"{v:>6}" for v in row))
    if summary["worst_confusions"]:
        lines += ["", "  worst confusions: " + ", ".join(
            f"{w['true']}->{w['predicted']} ({w['count']})" for w in summary["worst_confusions"])]
    return "\n".join(lines)


def format_rejection(title: str, summary: dict) -> str:
    """A human table of how often non-digits are rejected, per kind (and per character)."""
    lines = [title, f"  samples: {summary['n']}   rejected ('not a digit' or 'not sure'): {summary['rejected']:.2%}"]
    if "not_a_digit" in summary:
        lines[-1] += f"  ({summary['not_a_digit']:.2%} 'not a digit', {summary['not_sure']:.2%} 'not sure')"
    lines += ["", "  per kind"] + [f"    {k:<18}{v:>7.1%}" for k, v in summary["per_kind"].items()]
    if "per_char" in summary:
        chars = list(summary["per_char"].items())
        lines += ["", "  per character"]
        lines += ["    " + "  ".join(f"{c} {v:>4.0%}" for c, v in chars[i: i + 9]) for i in range(0, len(chars), 9)]
        lines += ["", "  most often read as a digit: " + ", ".join(
            f"{w['char']} ({w['rejected']:.0%} rejected" + (f", else read as {w['read_as']})" if w["read_as"] is not None else ")")
            for w in summary["read_as_digit"])]
    if "bitmap_only" in summary:
        lines += ["", f"  picture alone (no pen path): rejected {summary['bitmap_only']['rejected']:.2%}"]
    return "\n".join(lines)


def versions() -> dict:
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__}


def layer_summary(model) -> str:
    buf = io.StringIO()
    with redirect_stdout(buf):
        model.summary(print_fn=lambda line, **_: print(line))
    return buf.getvalue()


def build_report(probs: np.ndarray, y_test: np.ndarray, history: dict, training: dict, model) -> dict:
    test = accuracy_summary(y_test, forced_digit(probs))
    return {
        "test_accuracy": test["accuracy"],
        "test": test,
        "history": history,
        "training": training,
        "params": int(model.count_params()),
        "layers": layer_summary(model),
        "versions": versions(),
        "figures": FIGURES,
    }


def write_figures(report: dict, x_test: np.ndarray, y_test: np.ndarray, probs: np.ndarray,
                  out_dir: Path) -> None:
    """Confusion heatmap, learning curves and a grid of mistakes, as PNGs beside the model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(report["test"]["confusion"])
    fig, ax = plt.subplots(figsize=(6, 5), dpi=110)
    shown = np.where(np.eye(10, dtype=bool), 0, cm)  # errors carry the information
    im = ax.imshow(shown, cmap="Reds")
    for t in range(10):
        for p in range(10):
            if cm[t, p]:
                ax.text(p, t, cm[t, p], ha="center", va="center", fontsize=7,
                        color="black" if t != p else "#1f6f3f")
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true",
           title=f"Confusion matrix, MNIST test ({report['test_accuracy']:.2%})")
    fig.colorbar(im, ax=ax, label="errors")
    fig.tight_layout()
    fig.savefig(out_dir / FIGURES["confusion"])
    plt.close(fig)

    hist = report["history"]
    epochs = np.arange(1, len(hist.get("loss", [])) + 1)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5), dpi=110)
    for key, ax in (("accuracy", a1), ("loss", a2)):
        if key in hist:
            ax.plot(epochs, hist[key], label="training (augmented)")
        if f"val_{key}" in hist:
            ax.plot(epochs, hist[f"val_{key}"], label="validation")
        ax.set(xlabel="epoch", title=key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / FIGURES["curves"])
    plt.close(fig)

    pred = forced_digit(probs)
    wrong = np.flatnonzero(pred != y_test)[:60]
    cols = 10
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.3), dpi=100, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong):
        ax.imshow(x_test[i], cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{y_test[i]} → {pred[i]}", fontsize=9, color="#b00020")
    fig.suptitle(f"Test images the model gets wrong ({int((pred != y_test).sum())}), true → predicted")
    fig.tight_layout()
    fig.savefig(out_dir / FIGURES["mistakes"])
    plt.close(fig)
