"""The answer for one drawing: a digit, "that's not a digit", or "not sure: 4 or 9?".

The network has eleven outputs: the digits 0-9 and "not a digit" (letters, symbols, doodles).
Temperature scaling makes its probabilities honest on held-out training writers; then two
rules, in this order:
1. "not a digit" when the calibrated probability of the 11th output reaches `nondigit_threshold`;
2. "not sure" between the two best digits when the confidence among the ten digits
   (renormalised; max probability, margin or negative entropy) is below `threshold`;
otherwise the best digit. The temperature, the score and both thresholds are measured by
`python -m digits calibrate` (digits/training/calibrate.py, run by train.py) and stored in
model/calibration.json.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from digits.data import NOT_A_DIGIT
from digits.inference import file_sha256, softmax
from digits.model import MODEL_DIR

CALIBRATION_PATH = MODEL_DIR / "calibration.json"
# Higher = more confident, for every kind. The first three are among the ten digits alone
# (renormalised); "digit_prob" is the best digit's share of all eleven outputs, so it also falls
# when "not a digit" takes probability.
SCORES = ("max_prob", "margin", "neg_entropy", "digit_prob")
DIGIT, NOT_DIGIT, UNSURE = "digit", "not a digit", "not sure"
NEVER = 2.0  # a nondigit_threshold no probability reaches
_EPS = 1e-12


# --------------------------------------------------------------------------- temperature


def log_probabilities(probs: np.ndarray) -> np.ndarray:
    """Logits up to a per-row constant: the model ends in a softmax, log p is all we need."""
    return np.log(np.clip(np.asarray(probs, np.float64), _EPS, 1.0))


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / T) from the softmax outputs: T > 1 softens, T < 1 sharpens."""
    return softmax(log_probabilities(probs) / temperature)


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


# --------------------------------------------------------------------------- threshold


def digit_probabilities(probs: np.ndarray) -> np.ndarray:
    """The ten digits' probabilities renormalised to sum to 1 (the 11th output left out)."""
    p = np.asarray(probs, np.float64)[..., :10]
    return p / np.clip(p.sum(axis=-1, keepdims=True), _EPS, None)


def confidence(probs: np.ndarray, kind: str) -> np.ndarray:
    """One confidence score per row; every kind grows with confidence."""
    if kind == "digit_prob":
        return np.asarray(probs, np.float64)[..., :10].max(axis=-1)
    p = digit_probabilities(probs)
    if kind == "max_prob":
        return p.max(axis=-1)
    if kind == "margin":  # best minus second best
        top2 = np.sort(p, axis=-1)[..., -2:]
        return top2[..., 1] - top2[..., 0]
    if kind == "neg_entropy":
        return (p * np.log(np.clip(p, _EPS, 1.0))).sum(axis=-1)
    raise ValueError(f"kind must be one of {SCORES}, got {kind!r}")


def choose_threshold(scores: np.ndarray, reject_rate: float) -> float:
    """The threshold that rejects (score < threshold) at most `reject_rate` of these scores.

    It is the k-th smallest score with k = floor(rate * n): the k scores below it are rejected
    (fewer when scores tie), never more.
    """
    s = np.sort(np.asarray(scores, np.float64))
    if len(s) == 0:
        raise ValueError("no scores to choose a threshold from")
    k = int(np.floor(reject_rate * len(s) + 1e-9))
    return float(s[min(k, len(s) - 1)]) if k > 0 else float(np.nextafter(s[0], -np.inf))


def rejection_rate(scores: np.ndarray, threshold: float) -> float:
    return float((np.asarray(scores) < threshold).mean()) if len(scores) else 0.0


# --------------------------------------------------------------------------- the stored decision


@dataclass(frozen=True)
class Decision:
    probabilities: np.ndarray  # (11,) calibrated
    verdict: str  # DIGIT, NOT_DIGIT or UNSURE
    guesses: list[tuple[int, float]]  # the two best digits (digit, calibrated probability)

    @property
    def accepted(self) -> bool:
        return self.verdict == DIGIT

    @property
    def digit(self) -> int:
        return self.guesses[0][0]


@dataclass(frozen=True)
class Calibration:
    temperature: float
    score: str  # one of SCORES
    threshold: float  # "not sure" below this confidence among the digits
    nondigit_threshold: float = NEVER  # "not a digit" from this calibrated probability up
    model_sha256: str = ""
    figures: dict = field(default_factory=dict)  # what `calibrate` measured, for people

    def calibrate(self, probs: np.ndarray) -> np.ndarray:
        return apply_temperature(probs, self.temperature)

    def verdicts(self, probs: np.ndarray) -> np.ndarray:
        """Raw model probabilities (N, 11) -> (N,) verdicts: DIGIT, NOT_DIGIT or UNSURE."""
        return self._verdicts(self.calibrate(np.asarray(probs).reshape(-1, np.shape(probs)[-1])))

    def _verdicts(self, p: np.ndarray) -> np.ndarray:
        """The rules on calibrated probabilities (N, 11)."""
        out = np.full(len(p), DIGIT, dtype=object)
        out[confidence(p, self.score) < self.threshold] = UNSURE
        if p.shape[1] > NOT_A_DIGIT:
            out[p[:, NOT_A_DIGIT] >= self.nondigit_threshold] = NOT_DIGIT
        return out

    def accepts(self, probs: np.ndarray) -> np.ndarray:
        """Raw model probabilities (N, 11) -> (N,) bool: confident enough to name a digit."""
        return self.verdicts(probs) == DIGIT

    def decide(self, probs: np.ndarray) -> Decision:
        """Raw model probabilities (11,) -> the calibrated answer for one drawing."""
        p = self.calibrate(np.asarray(probs).reshape(1, -1))[0]
        order = np.argsort(p[:10])[::-1][:2]
        return Decision(p, str(self._verdicts(p[None])[0]), [(int(d), float(p[d])) for d in order])

    def save(self, path: str | os.PathLike = CALIBRATION_PATH) -> None:
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike = CALIBRATION_PATH) -> "Calibration":
        d = json.loads(Path(path).read_text())
        if d.get("score") not in SCORES or not d.get("temperature", 0) > 0:
            raise ValueError(f"{path}: not a calibration file")
        return cls(float(d["temperature"]), d["score"], float(d["threshold"]),
                   float(d.get("nondigit_threshold", NEVER)), d.get("model_sha256", ""),
                   d.get("figures", {}))


def load_for_model(model_path: str | os.PathLike) -> Calibration | None:
    """The calibration.json beside a model, or None if absent, unreadable or made for another model.

    A stale calibration would reject with the wrong threshold, so it is ignored rather than used.
    """
    path = Path(model_path).with_name(CALIBRATION_PATH.name)
    try:
        cal = Calibration.load(path)
        if cal.model_sha256 and cal.model_sha256 != file_sha256(model_path):
            return None
        return cal
    except (OSError, ValueError, KeyError):
        return None
