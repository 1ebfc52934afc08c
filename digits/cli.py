"""Command line: `python -m digits {evaluate,predict,...}` and `python train.py`.

Every command prints a clear message on stderr and exits non-zero on bad input; no tracebacks.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .data import DataError
from .model import MODEL_DIR, MODEL_PATH, ModelError

EXIT_BAD_INPUT = 2


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


# --------------------------------------------------------------------------- train.py


def train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="train.py", description="Train the digit CNN and write model/ and its report.")
    p.add_argument("--epochs", type=int, default=20, help="passes over the training data (default 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same model (default 0)")
    p.add_argument("--out", type=Path, default=MODEL_DIR, help="output folder (default model/)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--no-strokes", action="store_true",
                   help="train on MNIST only (default: MNIST + rendered UNIPEN training strokes)")
    p.add_argument("--stroke-copies", type=int, default=6,
                   help="renderings of each training stroke sample per epoch set (default 6)")
    p.add_argument("--limit", type=int, default=None,
                   help="use only this many training images/stroke samples (quick smoke runs)")
    return p


def train_main(argv: list[str] | None = None) -> int:
    args = train_parser().parse_args(argv)
    if args.epochs < 1:
        return _fail("--epochs must be at least 1")
    try:
        from .data import load_mnist
        from .training import UNIPEN_TRAIN, mnist_and_strokes, train

        mnist = load_mnist()
        data = mnist_and_strokes(mnist, None if args.no_strokes else UNIPEN_TRAIN,
                                 copies=args.stroke_copies, seed=args.seed,
                                 limit=args.limit)
        print(f"Training on {len(data.x_train)} images, validating on {len(data.x_val)}, "
              f"testing on {len(data.x_test)}.", flush=True)
        report = train(data, epochs=args.epochs, seed=args.seed, out_dir=args.out, batch_size=args.batch_size)
    except (DataError, OSError) as exc:
        return _fail(str(exc))
    t = report["training"]["seconds"]
    print(f"Test accuracy {report['test_accuracy']:.2%} after {t / 60:.1f} min; wrote {args.out}/")
    return 0


# --------------------------------------------------------------------------- python -m digits


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m digits", description="Draw-a-digit tools.")
    sub = p.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="accuracy on MNIST test or a stroke file")
    src = ev.add_mutually_exclusive_group(required=True)
    src.add_argument("--strokes", type=Path, help="JSON-lines stroke file (.jsonl or .jsonl.gz)")
    src.add_argument("--mnist", action="store_true", help="the MNIST test set")
    ev.add_argument("--variant", choices=("random", "easy"), default="random",
                    help="replay: random size and place (default), or big and centred")
    ev.add_argument("--model", type=Path, default=MODEL_PATH)

    args = p.parse_args(argv)
    try:
        if args.command == "evaluate":
            return _evaluate(args)
    except (DataError, ModelError) as exc:
        return _fail(str(exc))
    return _fail(f"unknown command {args.command}")


def _evaluate(args) -> int:
    from .evaluate import evaluate_mnist, evaluate_strokes
    from .model import Predictor
    from .report import format_summary

    predictor = Predictor.load(args.model)
    if args.mnist:
        title, summary = "MNIST test set", evaluate_mnist(predictor)
    else:
        title = f"{args.strokes} replayed through the canvas ({args.variant} variant)"
        summary = evaluate_strokes(predictor, args.strokes, args.variant)
    if summary["n"] == 0:
        return _fail(f"{args.strokes} holds no samples")
    print(format_summary(title, summary))
    print(json.dumps({"n": summary["n"], "accuracy": summary["accuracy"], "per_label": summary["per_label"]}))
    return 0
