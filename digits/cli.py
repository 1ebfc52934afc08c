"""Command line: `python -m digits {evaluate,predict,...}` and `python train.py`.

Every command prints a clear message on stderr and exits non-zero on bad input; no tracebacks.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from digits.data import DataError
from digits.model import MODEL_DIR, MODEL_PATH, ModelError

EXIT_BAD_INPUT = 2
DEV_DIGITS = MODEL_DIR.parent / "data" / "unipen-dev.jsonl.gz"
DEV_NONDIGITS = MODEL_DIR.parent / "data" / "unipen-nondigit-dev.jsonl.gz"


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


# --------------------------------------------------------------------------- train.py


def train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="train.py", description=(
        "Train the digit CNN(s) on pictures and the trajectory model on pen paths, export them to "
        "ONNX (what the app serves), and write their report and calibration to model/."))
    p.add_argument("--members", type=int, default=1, help="bitmap CNNs in the ensemble (default 1, as shipped)")
    p.add_argument("--epochs", type=int, default=12, help="passes over the training data (default 12, as shipped)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the first member, the others take the next ones; the same seeds give "
                        "the same models (default 0)")
    p.add_argument("--out", type=Path, default=MODEL_DIR, help="output folder (default model/)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--no-strokes", action="store_true",
                   help="train on MNIST only (default: MNIST + rendered UNIPEN training strokes)")
    p.add_argument("--stroke-copies", type=int, default=8,
                   help="renderings of each training digit stroke sample (default 8)")
    p.add_argument("--limit", type=int, default=None,
                   help="use only this many training images/stroke samples (quick smoke runs)")
    p.add_argument("--kaggle-csv", type=Path, metavar="CSV", default=None,
                   help="train on a Kaggle Digit Recognizer train.csv instead of MNIST (a stratified "
                        "80/20 split; the 20 %% is the validation and report test set)")
    p.add_argument("--extra-data", metavar="DB", default=None,
                   help="also train on visitors' labelled drawings (confirmed and corrected; not the "
                        "unverified one-tap 'yes' rows) in this feedback database: a SQLite file or a "
                        "postgresql:// URL")
    p.add_argument("--strokes-only", action="store_true",
                   help="train the pen-path model only, keep the picture member(s) already in "
                        "OUT/members, then export, report and calibrate both (a new pen-path model "
                        "without the picture model's hour)")
    p.add_argument("--finish-only", action="store_true",
                   help="train nothing: export, report and calibrate the members already in "
                        "OUT/members (e.g. members trained one per machine)")
    return p


def train_main(argv: list[str] | None = None) -> int:
    args = train_parser().parse_args(argv)
    if args.epochs < 1:
        return _fail("--epochs must be at least 1")
    if args.members < 1:
        return _fail("--members must be at least 1")
    try:
        from digits.data import load_mnist
        from digits.data import UNIPEN_TRAIN_FILES
        from digits.training.fit import finish, mnist_and_strokes, train

        if args.kaggle_csv is not None:
            from digits.training.kaggle import kaggle_train_data

            data = kaggle_train_data(args.kaggle_csv, seed=args.seed, limit=args.limit)
        else:
            data = mnist_and_strokes(load_mnist(), None if args.no_strokes else UNIPEN_TRAIN_FILES,
                                     copies=args.stroke_copies, seed=args.seed, limit=args.limit)
        if args.extra_data is not None:
            _add_feedback(data, args.extra_data)
        print(f"Training on {len(data.x_train)} images, validating on {len(data.x_val)}, "
              f"testing on {len(data.x_test)}.", flush=True)
        # Calibration needs the held-out writers of the full default split.
        calibrate = args.kaggle_csv is None and args.limit is None and not args.no_strokes
        if args.finish_only:
            report = finish(data, args.out, calibrate)
        else:
            if args.strokes_only:
                data.description["picture_members"] = "kept from an earlier run (train.py --strokes-only)"
            report = train(data, members=0 if args.strokes_only else args.members, epochs=args.epochs, seed=args.seed,
                           out_dir=args.out, batch_size=args.batch_size, calibrate=calibrate)
    except (DataError, ModelError, OSError) as exc:
        return _fail(str(exc))
    t = report["training"]["seconds"] + report["training"]["finish_seconds"]
    print(f"Test accuracy {report['test_accuracy']:.2%}; {report['training']['members']} members "
          f"trained and exported in {t / 60:.1f} min; wrote {args.out}/")
    return 0


def _add_feedback(data, db: str) -> None:
    """Visitors' labelled drawings join the training split (never validation or test): the
    confirmed and the corrected ones; the unverified (a one-tap "yes" of old) are left out."""
    import numpy as np

    from digits.features import feedback

    where = feedback.parse_location(str(db))
    extra = feedback.load_labelled(where, feedback.TRAINABLE)
    kinds = {k: int((extra.kind == k).sum()) for k in feedback.TRAINABLE}
    skipped = sum(feedback.counts(where)[feedback.UNVERIFIED])
    data.x_train = np.concatenate([data.x_train, extra.x])
    data.y_train = np.concatenate([data.y_train, extra.y])
    data.description["feedback"] = {"db": feedback.shown(where), "drawings": len(extra.y), **kinds,
                                    "unverified_left_out": skipped}
    print(f"Added {len(extra.y)} labelled feedback drawings from {feedback.shown(where)} ({kinds[feedback.CONFIRMED]} "
          f"confirmed, {kinds[feedback.CORRECTED]} corrected; {skipped} unverified left out).", flush=True)


# --------------------------------------------------------------------------- python -m digits


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m digits", description="Draw-a-digit tools.")
    sub = p.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="accuracy on MNIST test or a stroke file; rejection of non-digits")
    src = ev.add_mutually_exclusive_group(required=True)
    src.add_argument("--strokes", type=Path, nargs="?", const=DEV_DIGITS, metavar="PATH",
                     help="digits in a JSON-lines stroke file (.jsonl or .jsonl.gz; default "
                          "data/unipen-dev.jsonl.gz)")
    src.add_argument("--nondigits", type=Path, nargs="?", const=DEV_NONDIGITS, metavar="PATH",
                     help="letters and symbols in a stroke file: the share answered 'not a digit' or "
                          "'not sure' (default data/unipen-nondigit-dev.jsonl.gz)")
    src.add_argument("--generated", action="store_true",
                     help="generated doodles (smileys, shapes, scribbles, crossed-out and overlaid digits, "
                          "two digits), made with the UNIPEN dev digits: the share rejected per kind")
    src.add_argument("--mnist", action="store_true", help="the MNIST test set")
    ev.add_argument("--variant", choices=("random", "easy"), default="random",
                    help="replay: random size and place (default), or big and centred")
    ev.add_argument("--model", type=Path, default=MODEL_PATH)
    ev.add_argument("--adapt", action="store_true",
                    help="with --strokes: each writer's drawings in a seeded random order, read with the "
                         "visitor's memory of the ones they corrected (every wrong answer) or confirmed "
                         "(30 %% of the right ones); with --nondigits: letters and symbols read with their "
                         "writer's digits (from --digits) remembered")
    ev.add_argument("--digits", type=Path, default=DEV_DIGITS, metavar="PATH",
                    help="--nondigits --adapt: the writers' digits to remember (default data/unipen-dev.jsonl.gz)")

    pr = sub.add_parser("predict", help="read the digit in image files (PNG, JPEG, BMP, TIFF, WebP, GIF)")
    pr.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    pr.add_argument("--json", action="store_true", help="one JSON object per line per file")
    pr.add_argument("--model", type=Path, default=MODEL_PATH)

    pc = sub.add_parser("predict-csv", help="Kaggle Digit Recognizer: test.csv -> submission.csv")
    pc.add_argument("csv", type=Path, metavar="CSV", help="header pixel0..pixel783 (a label column is ignored)")
    pc.add_argument("--out", type=Path, default=Path("submission.csv"), help="default submission.csv")
    pc.add_argument("--model", type=Path, default=MODEL_PATH)

    fb = sub.add_parser("feedback", help="visitors' confirmed drawings")
    fb_sub = fb.add_subparsers(dest="action", required=True)
    fe = fb_sub.add_parser("export", help="write them as a dataset: feedback.npz and png/<digit>/")
    fe.add_argument("--out", type=Path, required=True, help="output folder")
    fe.add_argument("--db", default=None,
                    help="feedback database, a SQLite file or a postgresql:// URL "
                         "(default: $DIGITS_FEEDBACK_DB or ~/.local/share/digits/)")

    from digits.training import calibrate
    from digits.features import number

    calibrate.add_arguments(sub.add_parser(
        "calibrate", help='fit the "not sure" rule, print its figures, write model/calibration.json'))
    from digits.evaluation import adapt

    adapt.add_arguments(sub.add_parser(
        "fit-memory", help="fit how a visitor's memory changes the answers, write model/memory.json"))
    from digits.training import live

    live.add_arguments(sub.add_parser(
        "export-live", help="distil the served graph into model/live.json, the model the browser runs while the pen moves"))
    number.add_arguments(sub.add_parser(
        "evaluate-numbers", help="accuracy reading numbers of 2-6 UNIPEN dev digits on the wide canvas"))

    args = p.parse_args(argv)
    try:
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "predict":
            return _predict(args)
        if args.command == "predict-csv":
            return _predict_csv(args)
        if args.command == "calibrate":
            return calibrate.run(args)
        if args.command == "fit-memory":
            return adapt.run(args)
        if args.command == "export-live":
            return _export_live(args)
        if args.command == "evaluate-numbers":
            return number.run(args)
        if args.command == "feedback":
            return _feedback_export(args)
    except (DataError, ModelError) as exc:
        return _fail(str(exc))
    return _fail(f"unknown command {args.command}")


def _export_live(args) -> int:
    """`python -m digits export-live`: rebuild live.json for an already trained model, from the
    training images train.py uses (each UNIPEN sample rendered --copies times)."""
    import json
    import time

    import numpy as np

    from digits.data import load_mnist
    from digits.training.fit import mnist_and_strokes
    from digits.training.live import CHECK_IMAGES, LIVE_NAME, build_live

    start = time.time()
    data = mnist_and_strokes(load_mnist(), copies=args.copies, seed=args.seed)
    print(f"{len(data.x_train)} training images ready in {time.time() - start:.0f} s", flush=True)
    check = data.x_val[np.random.default_rng(args.seed).permutation(len(data.x_val))[:CHECK_IMAGES]]
    figures = build_live(data.x_train, args.model_dir, check, args.images, args.epochs, args.seed)
    print(json.dumps(figures, indent=2))
    print(f"wrote {_shown(Path(args.model_dir) / LIVE_NAME)}")
    return 0


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def _evaluate(args) -> int:
    from digits.answer import Reader
    from digits.evaluation.evaluate import evaluate_generated, evaluate_mnist, evaluate_nondigits, evaluate_strokes
    from digits.evaluation.report import format_rejection, format_summary

    reader = Reader.load(args.model)
    if not reader.is_calibrated and not args.mnist:
        return _fail(f"no calibration.json made for {args.model}: run `python -m digits calibrate`")
    if args.adapt:
        return _evaluate_adapt(args, reader)
    if args.mnist:
        summary = evaluate_mnist(reader)
        print(format_summary("MNIST test set (forced choice among 0-9)", summary))
        keys = ("n", "accuracy", "per_label")
    elif args.strokes is not None:
        summary = evaluate_strokes(reader, args.strokes, args.variant)
        if summary["n"] == 0:
            return _fail(f"{args.strokes} holds no samples")
        title = f"{_shown(args.strokes)} replayed through the canvas ({args.variant} variant)"
        print(format_summary(title, summary))
        print(f"  answered 'not a digit' {summary['not_a_digit']:.2%}, 'not sure' {summary['not_sure']:.2%} "
              f"(rejected {summary['rejected']:.2%}); accuracy on the answered ones {summary['accuracy_answered']:.2%}; "
              f"named wrong {summary['wrong']:.2%}; contradictions {summary['contradictions']}")
        if "bitmap_only" in summary:
            b = summary["bitmap_only"]
            print(f"  picture alone: accuracy {b['accuracy']:.2%}, rejected {b['rejected']:.2%}, named wrong "
                  f"{b['wrong']:.2%}; pen path alone: accuracy {summary['trajectory_only_accuracy']:.2%}")
        keys = ("n", "accuracy", "per_label", "rejected", "accuracy_answered", "wrong", "contradictions",
                "path", "bitmap_only", "trajectory_only_accuracy")
    elif args.nondigits is not None:
        summary = evaluate_nondigits(reader, args.nondigits, args.variant)
        if summary["n"] == 0:
            return _fail(f"{args.nondigits} holds no samples")
        print(format_rejection(f"{_shown(args.nondigits)} replayed through the canvas ({args.variant} variant)", summary))
        keys = ("n", "rejected", "per_kind", "contradictions", "path", "bitmap_only")
    else:
        from digits.data import read_strokes

        summary = evaluate_generated(reader, read_strokes(DEV_DIGITS))
        print(format_rejection("Generated non-digits (seed 0, with UNIPEN dev digits)", summary))
        keys = ("n", "rejected", "per_kind", "contradictions", "path", "bitmap_only")
    print(json.dumps({k: summary[k] for k in keys if k in summary}))
    return 0


def _evaluate_adapt(args, reader) -> int:
    """`evaluate --strokes/--nondigits PATH --adapt` (digits.evaluation.adapt)."""
    from digits.evaluation.adapt import CONFIRM, FIRST, evaluate_adapt, evaluate_nondigits_adapt

    if not reader.remembers(False):
        return _fail(f"no memory.json fitted for {args.model}: run `python -m digits fit-memory`")
    if args.strokes is not None:
        s = evaluate_adapt(reader, args.strokes)
        print(f"{_shown(args.strokes)}: {s['n']} drawings, each writer's in a random order; the visitor corrects "
              f"every wrong answer and confirms {CONFIRM:.0%} of the right ones")
        for name, r in [("", s)] + ([("picture alone: ", s["bitmap_only"])] if "bitmap_only" in s else []):
            a = r["adapted"]
            print(f"  {name}accuracy {r['accuracy']:.2%} -> {a['accuracy']:.2%} with the memory "
                  f"(named right {r['right']:.2%} -> {a['right']:.2%}); after each writer's first {FIRST}: "
                  f"{r['after_10_without']:.2%} -> {a['after_10']:.2%}; right -> wrong {a['right_to_wrong']} "
                  f"({a['right_to_wrong'] / r['n']:.2%}), wrong -> right {a['wrong_to_right']}")
        print("  worst 5 writers (accuracy without -> with the memory): " + ", ".join(
            f"{w['writer']} ({w['n']}) {w['before']:.1%} -> {w['after']:.1%}" for w in s["worst_writers"]))
        a = s["adapted"]
        print(json.dumps({"n": s["n"], "accuracy": s["accuracy"], "adapted": {
            "accuracy": a["accuracy"], "after_10": a["after_10"], "right_to_wrong": a["right_to_wrong"]}}))
        return 0
    if args.nondigits is None:
        return _fail("--adapt goes with --strokes or --nondigits")
    s = evaluate_nondigits_adapt(reader, args.nondigits, args.digits)
    print(f"{_shown(args.nondigits)}: {s['n']} letters and symbols, {s['with_digits_remembered']} by writers "
          f"with digits in {_shown(args.digits)}, read with all those digits remembered")
    for name, r in [("", s)] + ([("picture alone: ", s["bitmap_only"])] if "bitmap_only" in s else []):
        print(f"  {name}refused {r['rejected']:.2%} without the memory, {r['adapted']['rejected']:.2%} with it")
    print(json.dumps({"n": s["n"], "rejected": s["rejected"], "adapted": s["adapted"]}))
    return 0


def _feedback_export(args) -> int:
    from digits.features import feedback

    db = feedback.parse_location(args.db) if args.db else feedback.location()
    try:
        npz, counts = feedback.export(args.out, db)
    except OSError as exc:  # an output folder we cannot write
        return _fail(str(exc))
    print(f"Exported {sum(counts)} labelled drawings from {feedback.shown(db)} to {npz} and {args.out / 'png'}/<digit>/")
    print("per digit: " + ", ".join(f"{d}: {n}" for d, n in enumerate(counts)))
    return 0


def _predict(args) -> int:
    return predict_images(args.images, model=args.model, as_json=args.json)


def predict_images(paths: list[Path], reader=None, model: Path = MODEL_PATH, as_json: bool = False) -> int:
    """Print each file's answer (a digit, "not a digit" or "not sure") and the 11 probabilities
    the app's chart would show. A file that cannot be read is reported on stderr (and as
    {"file", "error"} with --json) and the others still run; then the exit code is 2. The model
    is loaded (unless given) at the first readable file."""
    from digits.answer import NOT_DIGIT, UNSURE, Reader
    from digits.images import read_digit

    failed = 0
    for path in paths:
        try:
            image = read_digit(path)
        except DataError as exc:
            failed += 1
            _fail(f"{path}: {exc}")
            if as_json:
                print(json.dumps({"file": str(path), "error": str(exc)}), flush=True)
            continue
        reader = reader or Reader.load(model)
        answer = reader.read_image(image)
        if as_json:
            # probabilities: the digits 0-9, then "not a digit", calibrated (the page's chart);
            # digit: the best digit, always.
            print(json.dumps({"file": str(path), **answer.as_dict()}), flush=True)
            continue
        p = answer.probabilities
        if answer.verdict == NOT_DIGIT:
            said = f"not a digit ({p[10]:.1%}; best digit {answer.digit})"
        elif answer.verdict == UNSURE:
            (a, _), (b, _) = answer.guesses
            said = f"not sure: {a} or {b}?"
        else:
            said = f"{answer.digit} ({answer.confidence:.1%})"
        print(f"{path}: {said}  " + " ".join(f"{d}:{q:.3f}" for d, q in enumerate(p[:10]))
              + f" not-a-digit:{p[10]:.3f}", flush=True)
    if failed:
        return _fail(f"{failed} of {len(paths)} files could not be read")
    return 0


def _predict_csv(args) -> int:
    from digits.training.kaggle import predict_csv

    try:
        count = predict_csv(args.csv, args.out, model=args.model)
    except OSError as exc:  # an output folder we cannot write to
        return _fail(f"{args.out}: cannot write ({exc.strerror or exc})")
    print(f"Wrote {count} predictions to {args.out}")
    return 0
