"""A visitor's memory: the drawings they confirmed or corrected during their visit, read back
when they draw something like them again ("Read as a 1, like the 1 you showed me").

What is kept: for each labelled drawing, its embedding (the pooled features the bitmap graph
outputs beside its probabilities, L2-normalised, and the trajectory graph's when the pen's path
was read) and the label. At most CAPACITY drawings (the oldest go first), in memory only: the
page keeps a `Memory` in the visitor's session state; nothing here touches a disk.

How it reads: a new drawing's cosine similarity to each remembered one becomes a weight
k = (s - similarity) / (1 - similarity), clipped to [0, 1]: 0 for anything less alike than
`similarity`, 1 for the same drawing. Each digit's evidence is the sum of the weights of the
remembered drawings with that label, and `strength` x evidence is added to that digit's
log-probability, within the digits only: the memory says *which* digit, never *whether* it is
one ("not a digit" keeps its probability). So one remembered drawing moves the answer by at
most `strength` in log-odds, and only for drawings very like it; the model's confident answers
and the visitor's other remembered drawings (the confirmed ones too) outweigh a single odd one.
`similarity`, `strength` and which embedding to compare are fitted per path (picture alone, and
picture with the pen's path) by digits.evaluation.adapt on held-out UNIPEN *training* writers,
simulating visitors, and stored in model/memory.json beside the model they were fitted for.

No Streamlit here: the pages own the session state, digits.answer.Reader applies the memory
before the answer rule.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from digits.inference import file_sha256, softmax

CAPACITY = 200  # drawings per visitor: a long visit, a few kB of features each
MEMORY_NAME = "memory.json"  # the fitted rules, beside the model (model/memory.json)
EMBEDDINGS = ("bitmap", "strokes", "both")
_EPS = 1e-12


def normalise(v: np.ndarray | None) -> np.ndarray | None:
    """L2-normalised copy (float32); None stays None."""
    if v is None:
        return None
    v = np.asarray(v, np.float32).ravel()
    return v / max(float(np.linalg.norm(v)), _EPS)


@dataclass(frozen=True)
class Embedding:
    """One drawing as the memory compares it: the bitmap graph's features, and the trajectory
    graph's when the pen's path was read (else None), each L2-normalised."""
    bitmap: np.ndarray
    strokes: np.ndarray | None = None

    @classmethod
    def of(cls, bitmap_features: np.ndarray, stroke_features: np.ndarray | None = None) -> "Embedding":
        return cls(normalise(bitmap_features), normalise(stroke_features))


@dataclass(frozen=True)
class MemoryRule:
    """How remembered drawings change one path's probabilities (see the module docstring)."""
    embedding: str = "bitmap"  # "bitmap", "strokes" or "both" (the mean of the two cosines)
    similarity: float = 0.9  # below this cosine a remembered drawing says nothing
    strength: float = 4.0  # log-odds added per fully alike remembered drawing


@dataclass(frozen=True)
class MemoryRules:
    """model/memory.json: a rule per path, for the exact model files they were fitted on."""
    bitmap: MemoryRule
    strokes: MemoryRule | None = None  # the fused path's rule (None: that path reads without memory)
    model_sha256: str = ""
    strokes_sha256: str = ""
    figures: dict = field(default_factory=dict)  # what the fit measured, for people

    def for_path(self, fused: bool) -> MemoryRule | None:
        return self.strokes if fused else self.bitmap

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        os.replace(tmp, path)

    @classmethod
    def from_dict(cls, d: dict) -> "MemoryRules":
        rule = lambda r: MemoryRule(str(r["embedding"]), float(r["similarity"]), float(r["strength"]))  # noqa: E731
        if d["bitmap"]["embedding"] != "bitmap" or any(
                r and r["embedding"] not in EMBEDDINGS for r in (d["bitmap"], d.get("strokes"))):
            raise ValueError("unknown embedding")
        return cls(rule(d["bitmap"]), rule(d["strokes"]) if d.get("strokes") else None,
                   d.get("model_sha256", ""), d.get("strokes_sha256", ""), d.get("figures", {}))


def load_rules(model_path: str | os.PathLike, strokes_path: str | os.PathLike | None) -> MemoryRules | None:
    """The memory.json beside a model, or None if absent, unreadable or fitted for other model
    files (a rule fitted on another embedding would compare the wrong features)."""
    path = Path(model_path).with_name(MEMORY_NAME)
    try:
        rules = MemoryRules.from_dict(json.loads(path.read_text()))
        if rules.model_sha256 != file_sha256(model_path):
            return None
        if rules.strokes is not None and not (strokes_path and Path(strokes_path).is_file()
                                              and rules.strokes_sha256 == file_sha256(strokes_path)):
            rules = MemoryRules(rules.bitmap, None, rules.model_sha256, "", rules.figures)
        return rules
    except (OSError, ValueError, KeyError, TypeError):
        return None


def blend(probabilities: np.ndarray, evidence: np.ndarray, strength: float) -> np.ndarray:
    """Calibrated (11,) probabilities and the memory's (10,) evidence per digit -> (11,):
    log p(digit) + strength * evidence, renormalised within the digits; "not a digit" keeps its
    probability (the memory says which digit, not whether it is one)."""
    p = np.asarray(probabilities, np.float64)
    if not np.any(evidence):
        return p
    digits = softmax(np.log(np.clip(p[:10], _EPS, 1.0)) + strength * np.asarray(evidence, np.float64))
    return np.concatenate([digits * (1.0 - p[10:].sum()), p[10:]])


class Memory:
    """One visitor's remembered drawings (at most `capacity`, the oldest dropped first)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.forget()

    def __len__(self) -> int:
        return len(self._labels)

    @property
    def labels(self) -> list[int]:
        return self._labels.tolist()

    def remember(self, embedding: Embedding, label: int) -> None:
        """Keep a confirmed or corrected drawing. Features of another size (the model changed
        during the visit) start the memory afresh: they cannot be compared."""
        if not 0 <= int(label) <= 9:
            raise ValueError(f"label must be a digit 0-9, got {label}")
        b, s = embedding.bitmap, embedding.strokes
        if len(self) and (self._bitmap.shape[1] != len(b)
                          or (s is not None and self._strokes.shape[1] not in (0, len(s)))):
            self.forget()
        if not len(self):
            self._bitmap = np.zeros((0, len(b)), np.float32)
        if s is not None and self._strokes.shape[1] == 0:  # earlier drawings had no pen path: alike to none
            self._strokes = np.zeros((len(self), len(s)), np.float32)
        row = s if s is not None else np.zeros(self._strokes.shape[1], np.float32)
        self._bitmap = np.concatenate([self._bitmap, b[None]])[-self.capacity:]
        self._strokes = np.concatenate([self._strokes, row[None]])[-self.capacity:]
        self._labels = np.append(self._labels, int(label))[-self.capacity:]

    def forget_last(self) -> None:
        """Take back the latest drawing (the visitor's Undo)."""
        self._bitmap, self._strokes, self._labels = self._bitmap[:-1], self._strokes[:-1], self._labels[:-1]

    def forget(self) -> None:
        """Forget everything (the "Forget my handwriting" button, the kiosk's next visitor)."""
        self._bitmap = np.zeros((0, 0), np.float32)
        self._strokes = np.zeros((0, 0), np.float32)
        self._labels = np.zeros(0, np.int64)

    def similarities(self, embedding: Embedding, how: str) -> np.ndarray:
        """(n,) cosine similarity of a drawing to each remembered one."""
        if not len(self) or self._bitmap.shape[1] != len(embedding.bitmap):
            return np.zeros(0)  # nothing remembered, or another model's features
        sb = self._bitmap @ embedding.bitmap if how != "strokes" else None
        ss = None
        if how != "bitmap":
            usable = embedding.strokes is not None and self._strokes.shape[1] == len(embedding.strokes)
            ss = self._strokes @ embedding.strokes if usable else np.zeros(len(self))
        return sb if ss is None else ss if sb is None else (sb + ss) / 2

    def evidence(self, embedding: Embedding, rule: MemoryRule) -> np.ndarray:
        """(10,) per digit: the summed weights of the remembered drawings alike enough."""
        out = np.zeros(10)
        s = self.similarities(embedding, rule.embedding)
        if len(s):
            np.add.at(out, self._labels, np.clip((s - rule.similarity) / (1.0 - rule.similarity), 0.0, 1.0))
        return out
