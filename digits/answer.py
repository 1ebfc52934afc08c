"""The answer for a drawing, in one place: `Reader.read` takes the canvas picture (and its pen
strokes, when there are any) or an image, and returns the whole `Answer`: the verdict, the
calibrated probabilities the page's chart shows, and the 28x28 input the model saw.

The rule is the chart's: the answer is the top of the eleven calibrated outputs (the digits 0-9
and "not a digit").
1. "not a digit" when that output is the top one;
2. otherwise the top digit, if its shown probability reaches `threshold` (never below 50 %);
3. otherwise "not sure" between the two best digits.
So the page never names a digit that a taller bar, or its own percentage, contradicts.

A visitor's memory (digits.memory: the drawings they confirmed or corrected during the
visit), when a page passes one, changes the calibrated probabilities before the rule; the Answer
then says which remembered digit changed it (`learnt`).

Two paths, one rule. With the canvas' pen strokes (Draw, kiosk, Challenge, `evaluate
--strokes`), the bitmap model's and the trajectory model's probabilities are fused (a weighted sum
of log-probabilities); without them (an uploaded image, `predict`, a Number page part, a CSV row)
the bitmap model reads alone. Each path has its own calibration (fitted by
digits.training.calibrate on held-out UNIPEN *training* writers, stored in model/calibration.json):
a temperature that makes the probabilities honest, a bias on the "not a digit" output (a prior:
how readily the model refuses), the threshold, and for the fused path the trajectory's weight.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from digits.data import NOT_A_DIGIT
from digits.memory import Embedding, Memory, MemoryRules, blend, load_rules
from digits.inference import StrokeNetwork, file_sha256, softmax
from digits.model import MODEL_DIR, MODEL_PATH, Predictor
from digits.preprocess import INK_LEVEL, canvas_to_gray, preprocess_canvas
from digits.strokes import BadStrokes, sequence, strokes_from_fabric

CALIBRATION_PATH = MODEL_DIR / "calibration.json"
STROKES_NAME = "strokes.onnx"  # the trajectory graph, beside the bitmap one
DIGIT, NOT_DIGIT, UNSURE = "digit", "not a digit", "not sure"
MIN_THRESHOLD = 0.5  # a digit is named only when it has more than all the other outputs together
_EPS = 1e-12


# --------------------------------------------------------------------------- temperature


def log_probabilities(probs: np.ndarray) -> np.ndarray:
    """Logits up to a per-row constant: the model ends in a softmax, log p is all we need."""
    return np.log(np.clip(np.asarray(probs, np.float64), _EPS, 1.0))


def apply_temperature(probs: np.ndarray, temperature: float, nondigit_bias: float = 0.0) -> np.ndarray:
    """softmax(logits / T + bias on "not a digit") from the softmax outputs: T > 1 softens."""
    z = log_probabilities(probs) / temperature
    if nondigit_bias and z.shape[-1] > NOT_A_DIGIT:
        z[..., NOT_A_DIGIT] += nondigit_bias
    return softmax(z)


def nll(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels."""
    p = np.asarray(probs)[np.arange(len(labels)), np.asarray(labels, int)]
    return float(-np.log(np.clip(p, _EPS, 1.0)).mean())


def fit_temperature(probs: np.ndarray, labels: np.ndarray, lo: float = 0.05, hi: float = 20.0) -> float:
    """The T that minimises the NLL of softmax(logits / T) (golden-section search on log T).

    The NLL is convex in 1/T, so it has a single minimum and a 1-D search finds it.
    """
    f = lambda log_t: nll(apply_temperature(probs, float(np.exp(log_t))), labels)  # noqa: E731
    a, b = np.log(lo), np.log(hi)
    g = (np.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    while b - a > 1e-5:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    return float(np.exp((a + b) / 2))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    conf = np.asarray(probs).max(axis=1)
    right = np.asarray(probs).argmax(axis=1) == np.asarray(labels)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    err = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            err += sel.mean() * abs(right[sel].mean() - conf[sel].mean())
    return float(err)


# --------------------------------------------------------------------------- the rule


def verdicts(probs: np.ndarray, threshold: float = MIN_THRESHOLD) -> np.ndarray:
    """Calibrated probabilities (N, 11) -> (N,) verdicts: DIGIT, NOT_DIGIT or UNSURE (the rule
    in the module docstring; a 10-output model never says "not a digit")."""
    p = np.asarray(probs, np.float64).reshape(-1, np.shape(probs)[-1])
    top = p.argmax(axis=1)
    out = np.full(len(p), DIGIT, dtype=object)
    out[p[np.arange(len(p)), top] < max(threshold, MIN_THRESHOLD)] = UNSURE
    out[top == NOT_A_DIGIT] = NOT_DIGIT
    return out


def contradictions(probs: np.ndarray, named: np.ndarray, threshold: float = MIN_THRESHOLD) -> np.ndarray:
    """(N,) bool: a digit was named although the chart (these probabilities) shows another bar
    at least as tall, or the named digit's own bar below the threshold. Always False under
    `verdicts`; counted by `evaluate` so that stays true."""
    p = np.asarray(probs, np.float64).reshape(-1, np.shape(probs)[-1])
    digit = p[:, :10].argmax(axis=1)
    mine = p[np.arange(len(p)), digit]
    others = np.where(np.arange(p.shape[1]) == digit[:, None], -1.0, p).max(axis=1)
    return np.asarray(named, bool) & ((mine <= others) | (mine < max(threshold, MIN_THRESHOLD)))


def fuse(bitmap: np.ndarray, strokes: np.ndarray, weight: float) -> np.ndarray:
    """The two models' probabilities -> one distribution: softmax(log p_bitmap + w log p_strokes)."""
    return softmax(log_probabilities(bitmap) + weight * log_probabilities(strokes))


@dataclass(frozen=True)
class Calibration:
    """What calibrate measured for one model file (see the module docstring). `strokes` is the
    fused path's own calibration (its model_sha256: the trajectory graph's), when there is one."""
    temperature: float = 1.0
    nondigit_bias: float = 0.0
    threshold: float = MIN_THRESHOLD
    model_sha256: str = ""
    figures: dict = field(default_factory=dict)  # what `calibrate` measured, for people
    stroke_weight: float = 0.0  # the fused path: the trajectory model's weight
    strokes: "Calibration | None" = None

    def calibrate(self, probs: np.ndarray) -> np.ndarray:
        """Raw (or fused) model probabilities (..., 11) -> the probabilities the chart shows."""
        return apply_temperature(probs, self.temperature, self.nondigit_bias)

    def verdicts(self, probs: np.ndarray) -> np.ndarray:
        """Raw model probabilities (N, 11) -> (N,) verdicts."""
        return verdicts(self.calibrate(np.asarray(probs).reshape(-1, np.shape(probs)[-1])), self.threshold)

    def save(self, path: str | os.PathLike = CALIBRATION_PATH) -> None:
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike = CALIBRATION_PATH) -> "Calibration":
        return cls.from_dict(json.loads(Path(path).read_text()), str(path))

    @classmethod
    def from_dict(cls, d: dict, where: str = "calibration") -> "Calibration":
        if not isinstance(d, dict) or not d.get("temperature", 0) > 0 or "nondigit_bias" not in d:
            raise ValueError(f"{where}: not a calibration file of this version")
        strokes = cls.from_dict(d["strokes"], where) if d.get("strokes") else None
        return cls(float(d["temperature"]), float(d["nondigit_bias"]), max(MIN_THRESHOLD, float(d["threshold"])),
                   d.get("model_sha256", ""), d.get("figures", {}), float(d.get("stroke_weight", 0.0)), strokes)


UNCALIBRATED = Calibration()  # no calibration made for this model: the rule on raw probabilities


def load_for_model(model_path: str | os.PathLike) -> Calibration | None:
    """The calibration.json beside a model, or None if absent, unreadable or made for another model.

    A stale calibration would shift the probabilities the wrong way, so it is ignored rather than used.
    """
    path = Path(model_path).with_name(CALIBRATION_PATH.name)
    try:
        cal = Calibration.load(path)
        if cal.model_sha256 and cal.model_sha256 != file_sha256(model_path):
            return None
        strokes = Path(model_path).with_name(STROKES_NAME)
        if cal.strokes is not None and not (strokes.is_file() and cal.strokes.model_sha256 == file_sha256(strokes)):
            cal = replace(cal, strokes=None)  # no trajectory graph, or another one: the bitmap path alone
        return cal
    except (OSError, ValueError, KeyError, TypeError):
        return None


# --------------------------------------------------------------------------- the answer


@dataclass(frozen=True)
class Answer:
    """Everything a page, `predict` or `evaluate` says about one drawing."""
    verdict: str  # DIGIT, NOT_DIGIT or UNSURE
    probabilities: np.ndarray  # (11,) calibrated: the digits 0-9, then "not a digit" (the chart)
    image28: np.ndarray  # the model's input
    calibrated: bool = True  # False: no calibration.json for this model (raw probabilities)
    path: str = "bitmap"  # "strokes": the pen's path was read too (fused with the picture)
    strokes_refused: bool = False  # the browser sent strokes we could not use: the picture alone
    learnt: int | None = None  # the visitor's memory changed the answer: the remembered digit that did
    embedding: Embedding | None = None  # read with a memory: what to remember if the visitor labels it
    fallback: str = ""  # a canvas drawing read from the picture alone: why its pen's path was not read

    @property
    def named(self) -> bool:
        """A digit is named (the big answer is a digit)."""
        return self.verdict == DIGIT

    @property
    def digit(self) -> int:
        """The best of the ten digits: the answer when named, else the best guess."""
        return int(np.argmax(self.probabilities[:10]))

    @property
    def confidence(self) -> float:
        """The shown probability of the best digit."""
        return float(self.probabilities[self.digit])

    @property
    def guesses(self) -> list[tuple[int, float]]:
        """The two best digits with their shown probabilities."""
        order = np.argsort(self.probabilities[:10])[::-1][:2]
        return [(int(d), float(self.probabilities[d])) for d in order]

    def message(self) -> str:
        """What to say when no digit is named (Markdown; empty when one is)."""
        (first, p1), (second, p2) = self.guesses
        if self.verdict == NOT_DIGIT:
            return (f"**That doesn't look like a digit.** If it is one, it looks most like "
                    f"**{first}** ({p1:.0%}).")
        if self.verdict == UNSURE:
            return f"**Not sure: {first} or {second}?** ({p1:.0%} or {p2:.0%})"
        return ""

    def as_dict(self) -> dict:
        """JSON-ready (predict --json): the probabilities are the ones the page shows."""
        return {"answer": self.verdict, "digit": self.digit,
                "probabilities": [round(float(p), 6) for p in self.probabilities]}


class Reader:
    """The one way a drawing becomes an answer: the app's pages, `predict` and `evaluate` all
    call it. Models = the served bitmap graph (digits.model.Predictor) and, when there is one
    with a calibration made for it, the trajectory graph; rule = their calibration."""

    def __init__(self, predictor: Predictor, calibration: Calibration | None,
                 strokes: StrokeNetwork | None = None, memory_rules: MemoryRules | None = None) -> None:
        self.predictor = predictor
        self.calibration = calibration or UNCALIBRATED
        self.is_calibrated = calibration is not None
        # The fused path only with its own calibration: never fuse with an unfitted weight.
        self.strokes = strokes if self.calibration.strokes is not None else None
        # A visitor's memory only with rules fitted for these graphs, and a graph with features.
        ok = memory_rules is not None and predictor.has_features and calibration is not None
        self.memory_rules = memory_rules if ok else None

    @classmethod
    def load(cls, path: str | os.PathLike = MODEL_PATH) -> "Reader":
        """The model files and the calibration made for them (raises digits.model.ModelError)."""
        predictor, calibration = Predictor.load(path), load_for_model(path)
        strokes_path = Path(path).with_name(STROKES_NAME)
        strokes = None
        if calibration is not None and calibration.strokes is not None:
            strokes = StrokeNetwork.load(strokes_path)
        return cls(predictor, calibration, strokes, load_rules(path, strokes_path if strokes else None))

    @property
    def reads_strokes(self) -> bool:
        return self.strokes is not None

    def probabilities(self, images28: np.ndarray, sequences: np.ndarray | None = None) -> np.ndarray:
        """(N, 28, 28) inputs (and their (N, 64, 5) stroke sequences, or None) -> (N, 11)
        calibrated probabilities (what charts show)."""
        raw = self.predictor.probabilities(images28)
        if sequences is None or self.strokes is None or len(raw) == 0:
            return self.calibration.calibrate(raw)
        cal = self.calibration.strokes
        return cal.calibrate(fuse(raw, self.strokes.probabilities(sequences), cal.stroke_weight))

    def remembers(self, fused: bool = False) -> bool:
        """A visitor's memory can change this path's answers (its rule is fitted for these graphs)."""
        return self.memory_rules is not None and self.memory_rules.for_path(fused and self.reads_strokes) is not None

    def probabilities_and_embeddings(self, images28: np.ndarray, sequences: np.ndarray | None = None,
                                     ) -> tuple[np.ndarray, list[Embedding]]:
        """Like `probabilities`, with each drawing's embedding from the same runs of the graphs
        (needs a graph with a "features" output: `remembers`)."""
        raw, feats = self.predictor.probabilities_and_features(images28)
        if sequences is None or self.strokes is None:
            return self.calibration.calibrate(raw), [Embedding.of(f) for f in feats]
        st, sfeats = self.strokes.probabilities_and_features(sequences)
        cal = self.calibration.strokes
        return (cal.calibrate(fuse(raw, st, cal.stroke_weight)),
                [Embedding.of(f, g) for f, g in zip(feats, sfeats)])

    def recall(self, probabilities: np.ndarray, embedding: Embedding, memory: Memory | None,
               fused: bool = False) -> tuple[np.ndarray, int | None]:
        """One drawing's calibrated (11,) probabilities read with a visitor's memory: the
        blended probabilities, and the remembered digit that changed the answer (else None)."""
        rule = self.memory_rules.for_path(fused) if self.memory_rules is not None else None
        if rule is None or memory is None or not len(memory):
            return probabilities, None
        evidence = memory.evidence(embedding, rule)
        blended = blend(probabilities, evidence, rule.strength)
        before, after = (self.verdicts(q[None], fused)[0] for q in (probabilities, blended))
        if before == after and np.argmax(probabilities[:10]) == np.argmax(blended[:10]):
            return blended, None
        best = int(np.argmax(blended[:10]))
        return blended, best if after == DIGIT and evidence[best] > 0 else int(np.argmax(evidence))

    def threshold(self, fused: bool) -> float:
        return (self.calibration.strokes if fused and self.strokes is not None else self.calibration).threshold

    def verdicts(self, probabilities: np.ndarray, fused: bool = False) -> np.ndarray:
        """Calibrated probabilities (N, 11) -> (N,) verdicts (`fused`: they came with strokes)."""
        return verdicts(probabilities, self.threshold(fused))

    def read_image(self, image28: np.ndarray, sequence: np.ndarray | None = None,
                   strokes_refused: bool = False, memory: Memory | None = None) -> Answer:
        """A prepared 28x28 input (an uploaded image, a Number page part, a CSV row), with the
        pen's path as a model input when there is one, and the visitor's memory when the page
        keeps one (then the Answer carries the drawing's embedding, to remember it)."""
        fused = sequence is not None and self.strokes is not None
        seqs = sequence[None] if fused else None
        learnt = embedding = None
        if memory is not None and self.memory_rules is not None:
            p, [embedding] = self.probabilities_and_embeddings(np.asarray(image28)[None], seqs)
            p, learnt = self.recall(p[0], embedding, memory, fused)
        else:
            p = self.probabilities(image28, seqs)[0]
        return Answer(str(self.verdicts(p[None], fused)[0]), p, np.asarray(image28, np.float32),
                      self.is_calibrated, "strokes" if fused else "bitmap", strokes_refused, learnt=learnt,
                      embedding=embedding)

    def read(self, canvas: np.ndarray | None, json_data: object = None,
             image28: np.ndarray | None = None, memory: Memory | None = None) -> Answer | None:
        """A canvas picture (H, W, 3|4) and its strokes (the canvas' json_data, if any) -> its
        answer (read with the visitor's memory, if given); None when there is no ink to read.
        Strokes that cannot be used (malformed, absurdly many, none) leave the picture alone, and
        the Answer's `fallback` says why (the pages log it: a canvas page is meant to read both)."""
        if image28 is None:  # (a page that already prepared the picture passes it)
            image28 = preprocess_canvas(canvas) if canvas is not None else None
        if image28 is None:
            return None
        seq, fallback, refused = None, "", False
        if self.strokes is None:
            fallback = "no pen-path graph (model/strokes.onnx, or its calibration, is missing)"
        else:
            try:
                strokes = strokes_from_fabric(json_data)
            except BadStrokes as exc:
                fallback, refused = f"strokes refused: {exc}", True
            else:
                if not strokes:
                    fallback = "the canvas sent no stroke with its picture"
                elif not strokes_match(strokes, canvas):
                    fallback, refused = "the strokes are not the picture's (an older drawing's?)", True
                else:
                    seq = sequence(strokes)
        answer = self.read_image(image28, seq, refused, memory)
        return replace(answer, fallback=fallback) if fallback else answer


def strokes_match(strokes: list[np.ndarray], canvas: np.ndarray) -> bool:
    """The strokes are the picture's (not an older drawing's): the ink's box is the strokes' box
    widened by the pen, within a tolerance for pen widths up to the kiosk's."""
    ys, xs = np.nonzero(canvas_to_gray(canvas) > INK_LEVEL)
    if len(xs) == 0:
        return False
    pts = np.concatenate(strokes)
    ink = np.array([xs.min(), ys.min(), xs.max(), ys.max()], np.float64)
    path = np.array([*pts.min(axis=0), *pts.max(axis=0)])
    tol = 25 + 0.1 * float(max(ink[2] - ink[0], ink[3] - ink[1]))
    return bool((np.abs(ink - path) <= tol).all())
