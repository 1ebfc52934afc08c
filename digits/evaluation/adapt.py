"""Visitors simulated on pen-stroke files: how the visitor's memory (digits.memory)
changes the answers, fitting its rule (`python -m digits fit-memory`) and measuring it
(`python -m digits evaluate --strokes PATH --adapt`, `--nondigits PATH --adapt`).

A simulated visit: one writer's drawings in a seeded random order, each read like the Draw page
(digits.answer.Reader.recall, with the memory so far); the visitor corrects every answer that is
not their digit and confirms a right one with probability CONFIRM (a person who sometimes
presses their digit), and each labelled drawing joins the memory.

Fitting (nothing on the dev files): the UNIPEN-train writers held out from every model
(digits.training.split.validation_writers), each replayed REPLAYS times as separate visits, and
the held-out writers' letters and symbols with that writer's digits remembered. Per path, of the
rules on the grid that turn at most MAX_RIGHT_TO_WRONG of the answers from right to wrong and
refuse at most MAX_REFUSED_DROP fewer letters and symbols, the one with the most right answers
(then the lowest log-loss) is written to model/memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from digits.answer import DIGIT, Reader
from digits.data import UNIPEN_NONDIGIT_TRAIN, UNIPEN_TRAIN_FILES, Sample, read_strokes
from digits.evaluation.evaluate import replay, replay_sequences
from digits.memory import MEMORY_NAME, Embedding, Memory, MemoryRule, MemoryRules
from digits.inference import file_sha256
from digits.model import MODEL_PATH
from digits.training.calibrate import replay_rows
from digits.training.split import nondigit_split, validation_writers

CONFIRM = 0.3  # the chance that a visitor confirms a right answer
SEED = 0
REPLAYS = 3  # visits per held-out writer when fitting (their drawings under other layouts)
SIMILARITIES = (0.75, 0.8, 0.85, 0.9, 0.93, 0.95)
STRENGTHS = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
MAX_RIGHT_TO_WRONG = 0.001  # the product target: at most 0.1 % of the answers turned wrong
MAX_REFUSED_DROP = 0.005  # letters and symbols refused: at most half a point fewer with memory
FIRST = 10  # "after each writer's first 10 drawings"
_EPS = 1e-12


@dataclass
class Drawings:
    """Drawings read once by the models (calibrated probabilities and embeddings), ready to be
    read again with any memory: the simulation never runs a graph per rule."""
    probabilities: np.ndarray  # (N, 11) calibrated, without memory
    embeddings: list[Embedding]
    labels: np.ndarray  # (N,) 0-9, or 10 for letters and symbols
    writers: np.ndarray  # (N,) who drew it (one visit each)
    fused: bool  # read with the pen's path


def read_drawings(reader: Reader, x: np.ndarray, seqs: np.ndarray | None, labels, writers,
                  batch: int = 512) -> Drawings:
    fused = seqs is not None and reader.reads_strokes
    ps, es = [], []
    for i in range(0, len(x), batch):
        p, e = reader.probabilities_and_embeddings(x[i: i + batch], seqs[i: i + batch] if fused else None)
        ps.append(p)
        es += e
    return Drawings(np.concatenate(ps), es, np.asarray(labels), np.asarray(writers), fused)


def stroke_file(reader: Reader, path: str | os.PathLike, fused: bool) -> Drawings:
    """A stroke file under the random replay of `evaluate --strokes` (the same drawings)."""
    x, samples = replay(path, "random")
    seqs = replay_sequences(path, "random") if fused else None
    return read_drawings(reader, x, seqs, [s.label for s in samples], [s.writer for s in samples])


def replayed(reader: Reader, samples: list[Sample], n: int, fused: bool) -> Drawings:
    """Each sample replayed `n` times, the drawings digits.training.calibrate fits on; replay r
    of a writer is visit "writer#r"."""
    rows = list(replay_rows(samples, n))
    seqs = np.stack([q for *_, q in rows]).astype(np.float32) if fused else None
    return read_drawings(reader, np.stack([x for _, _, x, _ in rows]), seqs, [samples[i].label for _, i, _, _ in rows],
                         [f"{samples[i].writer}#{r}" for r, i, _, _ in rows])


def with_rule(reader: Reader, rule: MemoryRule, fused: bool) -> Reader:
    """The same models and calibration, with `rule` for that path (for the fit's grid)."""
    rules = MemoryRules(rule, None) if not fused else MemoryRules(MemoryRule(), rule)
    return Reader(reader.predictor, reader.calibration, reader.strokes, rules)


def simulate(reader: Reader, d: Drawings, seed: int = SEED, confirm: float = CONFIRM) -> dict[str, np.ndarray]:
    """Every writer's visit (see the module docstring). Per drawing: right without and with the
    memory (named the drawn digit), forced choice without and with, its place in the visit,
    whether the memory changed the answer, and the log-loss with the memory."""
    n = len(d.labels)
    out = {k: np.zeros(n, bool) for k in ("right0", "right1", "forced0", "forced1", "changed")}
    out["index"], out["nll"] = np.zeros(n, int), np.zeros(n)
    for wi, writer in enumerate(sorted(set(d.writers.tolist()))):
        rng = np.random.default_rng([seed, wi])
        idx = np.flatnonzero(d.writers == writer)
        memory = Memory()
        for t, i in enumerate(idx[rng.permutation(len(idx))]):
            p0, y = d.probabilities[i], d.labels[i]
            p1, learnt = reader.recall(p0, d.embeddings[i], memory, d.fused)
            v0, v1 = reader.verdicts(np.stack([p0, p1]), d.fused)
            right1 = v1 == DIGIT and np.argmax(p1[:10]) == y
            out["right0"][i], out["right1"][i] = v0 == DIGIT and np.argmax(p0[:10]) == y, right1
            out["forced0"][i], out["forced1"][i] = np.argmax(p0[:10]) == y, np.argmax(p1[:10]) == y
            out["changed"][i], out["index"][i] = learnt is not None, t
            out["nll"][i] = -np.log(max(float(p1[y]), _EPS))
            if not right1 or rng.random() < confirm:  # the visitor corrects, or sometimes confirms
                memory.remember(d.embeddings[i], int(y))
    return out


def refused_with_memory(reader: Reader, others: Drawings, digits: Drawings) -> tuple[float, float, int]:
    """Letters and symbols read with all of their writer's digits remembered: the share refused
    without and with the memory, and how many had a writer with digits."""
    memories: dict[str, Memory] = {}
    for i in range(len(digits.labels)):
        memories.setdefault(str(digits.writers[i]), Memory()).remember(digits.embeddings[i], int(digits.labels[i]))
    before = reader.verdicts(others.probabilities, others.fused) != DIGIT
    after = before.copy()
    for i in range(len(others.labels)):
        memory = memories.get(str(others.writers[i]))
        if memory is not None:
            p, _ = reader.recall(others.probabilities[i], others.embeddings[i], memory, others.fused)
            after[i] = reader.verdicts(p[None], others.fused)[0] != DIGIT
    with_digits = sum(str(w) in memories for w in others.writers)
    return float(before.mean()), float(after.mean()), with_digits


def summary(sim: dict[str, np.ndarray], d: Drawings) -> dict:
    """The figures `evaluate --adapt` prints (shares rounded like evaluate's)."""
    r = lambda v: round(float(v), 4)  # noqa: E731
    later = sim["index"] >= FIRST
    writers = {}
    for w in sorted(set(d.writers.tolist())):
        m = d.writers == w
        writers[w] = {"n": int(m.sum()), "before": r(sim["forced0"][m].mean()), "after": r(sim["forced1"][m].mean())}
    worst = sorted(writers, key=lambda w: (writers[w]["before"], w))[:5]
    r2w = sim["right0"] & ~sim["right1"]
    return {"n": len(d.labels), "accuracy": r(sim["forced0"].mean()), "right": r(sim["right0"].mean()),
            "after_10_without": r(sim["forced0"][later].mean()) if later.any() else None,
            "adapted": {"accuracy": r(sim["forced1"].mean()), "right": r(sim["right1"].mean()),
                        "after_10": r(sim["forced1"][later].mean()) if later.any() else None,
                        "right_to_wrong": int(r2w.sum()), "wrong_to_right": int((sim["right1"] & ~sim["right0"]).sum()),
                        "changed": int(sim["changed"].sum())},
            "worst_writers": [{"writer": w, **writers[w]} for w in worst]}


def evaluate_adapt(reader: Reader, path: str | os.PathLike, seed: int = SEED) -> dict:
    """`evaluate --strokes PATH --adapt`: the summary with the pen's path (when the reader has
    it) and, under "bitmap_only", with the picture alone."""
    out = {}
    for fused in ((True, False) if reader.reads_strokes else (False,)):
        d = stroke_file(reader, path, fused)
        out["strokes" if fused else "bitmap"] = {**summary(simulate(reader, d, seed), d),
                                                 "remembers": reader.remembers(fused)}
    main = out.get("strokes", out["bitmap"])
    return {**main, "path": "strokes" if "strokes" in out else "bitmap",
            **({"bitmap_only": out["bitmap"]} if "strokes" in out else {})}


def evaluate_nondigits_adapt(reader: Reader, path: str | os.PathLike, digits_path: str | os.PathLike) -> dict:
    """`evaluate --nondigits PATH --adapt`: letters and symbols with their writer's digits (from
    `digits_path`) remembered, refused without and with, per path."""
    out = {}
    for fused in ((True, False) if reader.reads_strokes else (False,)):
        before, after, with_digits = refused_with_memory(reader, stroke_file(reader, path, fused),
                                                         stroke_file(reader, digits_path, fused))
        out["strokes" if fused else "bitmap"] = {"rejected": round(before, 4), "adapted": {"rejected": round(after, 4)},
                                                 "with_digits_remembered": with_digits}
    main = out.get("strokes", out["bitmap"])
    n = len(read_strokes(path))
    return {"n": n, **main, **({"bitmap_only": out["bitmap"]} if "strokes" in out else {})}


# --------------------------------------------------------------------------- the fit


def fit_path(reader: Reader, digits: Drawings, others: Drawings, others_digits: Drawings) -> tuple[MemoryRule, dict]:
    """The rule for one path (see the module docstring) and what each candidate measured."""
    embeddings = ("bitmap", "strokes", "both") if digits.fused else ("bitmap",)
    rows = []
    for how in embeddings:
        for s0 in SIMILARITIES:
            for strength in STRENGTHS:
                rule = MemoryRule(how, s0, strength)
                r = with_rule(reader, rule, digits.fused)
                sim = simulate(r, digits)
                before, after, _ = refused_with_memory(r, others, others_digits)
                r2w = float((sim["right0"] & ~sim["right1"]).mean())
                ok = r2w <= MAX_RIGHT_TO_WRONG and before - after <= MAX_REFUSED_DROP
                rows.append((ok, int(sim["right1"].sum()), -float(sim["nll"].mean()), rule,
                             {"right": [round(float(sim[k].mean()), 4) for k in ("right0", "right1")],
                              "right_to_wrong": round(r2w, 4), "nondigits_refused": [round(before, 4), round(after, 4)]}))
    ok, _, _, rule, fig = max(rows, key=lambda row: row[:3])
    return rule, {**fig, "within_limits": ok, "candidates": len(rows)}


def fit_memory(model: Path = MODEL_PATH, out: Path | None = None) -> MemoryRules:
    """Fit both paths' rules on the held-out training writers and write memory.json beside the
    model (or to `out`)."""
    from digits.answer import STROKES_NAME

    reader = Reader.load(model)
    if not reader.predictor.has_features:
        raise ValueError(f"{model} has no 'features' output: re-export it (digits.training.export)")
    train = read_strokes(UNIPEN_TRAIN_FILES)
    held_writers = validation_writers(train)
    held = [s for s in train if s.writer in held_writers]
    _, nd_held = nondigit_split(read_strokes(UNIPEN_NONDIGIT_TRAIN))
    nd_writers = {s.writer for s in nd_held}
    nd_digits = [s for s in train if s.writer in nd_writers]
    rules, figures = {}, {"visits": f"{len(held_writers)} held-out writers x {REPLAYS} replays",
                          "confirm": CONFIRM, "seed": SEED}
    for fused in ((False, True) if reader.reads_strokes else (False,)):
        name = "strokes" if fused else "bitmap"
        rules[name], figures[name] = fit_path(reader, replayed(reader, held, REPLAYS, fused),
                                              replayed(reader, nd_held, 1, fused), replayed(reader, nd_digits, 1, fused))
        print(f"{name}: {rules[name]} {figures[name]}", flush=True)
    strokes = Path(model).with_name(STROKES_NAME)
    result = MemoryRules(rules["bitmap"], rules.get("strokes"), file_sha256(model),
                         file_sha256(strokes) if "strokes" in rules else "", figures)
    target = out or Path(model).with_name(MEMORY_NAME)
    result.save(target)
    print(f"wrote {target}")
    print(json.dumps({k: asdict(v) for k, v in rules.items()}), flush=True)
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, default=MODEL_PATH)
    p.add_argument("--out", type=Path, default=None, help="default: memory.json beside the model")


def run(args: argparse.Namespace) -> int:
    fit_memory(args.model, args.out)
    return 0

