"""The visitor's memory (digits.memory), read through digits.answer.Reader with the
shipped model and model/memory.json, on real UNIPEN dev drawings; `evaluate --adapt`; and the
Draw page's line and "Forget my handwriting" button through AppTest."""

from __future__ import annotations

import functools
import gzip
import json
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digits.answer import DIGIT, Answer, Reader
from digits.cli import main
from digits.data import DEV_PATH, Sample, read_strokes
from digits.evaluation.evaluate import replay, replay_sequences
from digits.memory import CAPACITY, Embedding, Memory, MemoryRule, blend, load_rules
from digits.model import MODEL_PATH
from digits.render import draw, replay_layout
from digits.strokes import fabric_json
from tests.test_app import APP, canvas_state, prediction_shown


VARIANT = "easy"  # the replay drawn big and centred, as a visitor draws on the page


def unit(v) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


# --------------------------------------------------------------------------- the memory alone


def test_memory_is_bounded_forgets_and_takes_back():
    m = Memory(capacity=3)
    for label in range(5):
        m.remember(Embedding(unit(np.eye(4)[label % 4] + 0.1)), label)
    assert m.labels == [2, 3, 4], "the oldest go first"
    m.forget_last()
    assert m.labels == [2, 3]
    m.forget()
    assert len(m) == 0 and not m.evidence(Embedding(unit([1, 0, 0, 0])), MemoryRule()).any()
    assert Memory().capacity == CAPACITY == 200
    with pytest.raises(ValueError):
        m.remember(Embedding(unit([1, 0, 0, 0])), 10)  # only digits are remembered


def test_only_alike_drawings_count_and_features_of_another_model_reset():
    m = Memory()
    m.remember(Embedding(unit([1, 0, 0]), unit([0, 1])), 1)
    m.remember(Embedding(unit([0, 1, 0])), 7)  # no pen path: alike to nothing on the strokes embedding
    rule = MemoryRule("bitmap", 0.9, 4.0)
    assert m.evidence(Embedding(unit([1, 0, 0])), rule).tolist() == [0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert not m.evidence(Embedding(unit([1, 1, 0])), rule).any(), "cosine 0.71 < 0.9: says nothing"
    both = m.evidence(Embedding(unit([0, 1, 0]), unit([0, 1])), MemoryRule("strokes", 0.9, 4.0))
    assert both[1] == 1 and both[7] == 0
    m.remember(Embedding(unit([1, 0, 0, 0, 0])), 3)  # another graph's features: cannot be compared
    assert m.labels == [3]


def test_blend_moves_digits_only_and_one_drawing_by_at_most_its_strength():
    p = np.array([0.001] * 10 + [0.0])
    p[7], p[1] = 0.95, 0.03
    p[10] = 1 - p[:10].sum() + p[10]
    ev = np.zeros(10)
    ev[1] = 1.0
    q = blend(p, ev, 2.0)
    assert q[10] == pytest.approx(p[10]) and q.sum() == pytest.approx(1)
    # log-odds of 1 against 7 move by exactly strength x evidence: 2 is not enough against 0.95 vs 0.03
    assert np.log(q[1] / q[7]) - np.log(p[1] / p[7]) == pytest.approx(2.0)
    assert q.argmax() == 7
    assert blend(p, np.zeros(10), 2.0) is p


# --------------------------------------------------------------------------- with the real model


@functools.lru_cache(maxsize=1)
def misread_pair() -> tuple[Sample, int, Sample, int, int]:
    """Two drawings of one UNIPEN dev writer's digit, both misread by the shipped model (the
    Draw page's answer, big and centred): after the visitor corrects the first, the second is read
    right. A 1 read as 7 if the model makes that mistake, else the first such pair in the file.
    Returns (first, its index, second, its index, what the second is read as without memory)."""
    reader = Reader.load()
    x, samples = replay(DEV_PATH, VARIANT)
    probs, embeddings = reader.probabilities_and_embeddings(x, replay_sequences(DEV_PATH, VARIANT))
    verdicts = reader.verdicts(probs, True)
    y = np.array([s.label for s in samples])
    wrong = np.flatnonzero((verdicts != DIGIT) | (probs[:, :10].argmax(1) != y))
    pairs = []
    for i in wrong:
        memory = Memory()
        memory.remember(embeddings[i], int(y[i]))
        for j in wrong:
            if j != i and samples[j].writer == samples[i].writer and y[j] == y[i] and verdicts[j] == DIGIT:
                p, learnt = reader.recall(probs[j], embeddings[j], memory, True)
                if learnt == y[i] and reader.verdicts(p[None], True)[0] == DIGIT and p[:10].argmax() == y[i]:
                    seven = y[i] == 1 and probs[i, :10].argmax() == 7
                    # the clearest case: a browser's drawing differs a little from the replay's
                    clear = min(-margin(probs[i], y[i]), margin(p, y[j]), p[y[j]] - reader.threshold(True))
                    pairs.append((not seven, -clear, margin(probs[j], y[j]), int(i), int(j)))
    assert pairs, "no dev writer's misread digit is read right after one correction"
    *_, i, j = min(pairs)
    return samples[i], i, samples[j], j, int(probs[j, :10].argmax())


def margin(p: np.ndarray, label: int) -> float:
    """How far `label`'s shown probability is above the tallest other bar (< 0: another wins)."""
    return float(p[label] - np.delete(p, label).max())


def read_on_canvas(reader: Reader, sample: Sample, index: int, memory: Memory | None) -> Answer:
    layout = replay_layout(sample.strokes, index, VARIANT)
    return reader.read(draw(layout), fabric_json(layout), None, memory)


def test_one_correction_and_the_next_drawing_like_it_is_read_that_way(reader):
    first, i, second, j, misread = misread_pair()
    memory = Memory()
    before = read_on_canvas(reader, second, j, memory)  # an empty memory changes nothing
    assert before.digit == misread != second.label and before.learnt is None
    np.testing.assert_allclose(before.probabilities, read_on_canvas(reader, second, j, None).probabilities)
    memory.remember(read_on_canvas(reader, first, i, memory).embedding, first.label)  # "No, it's a 6"
    after = read_on_canvas(reader, second, j, memory)
    assert after.named and after.digit == second.label and after.learnt == second.label
    assert after.path == "strokes" and after.probabilities.sum() == pytest.approx(1)
    assert after.fallback == "" and isinstance(after.embedding, type(before.embedding))  # each in its own field


def test_memory_rules_are_fitted_for_the_shipped_graphs(reader, tmp_path):
    assert reader.remembers(True) and reader.remembers(False), "run `python -m digits fit-memory`"
    figures = reader.memory_rules.figures
    for path in ("bitmap", "strokes"):  # fitted on held-out training writers within the limits
        assert figures[path]["within_limits"] and figures[path]["right_to_wrong"] <= 0.001
    copy = tmp_path / "digits.onnx"
    copy.write_bytes(MODEL_PATH.read_bytes() + b"\0")  # another model file: the rules are not for it
    (tmp_path / "memory.json").write_text(MODEL_PATH.with_name("memory.json").read_text())
    assert load_rules(copy, None) is None


def test_evaluate_adapt_on_two_writers(tmp_path, capsys):
    first, _, _, _, _ = misread_pair()
    writers = {first.writer, "ibm/12"}
    path = tmp_path / "two-writers.jsonl.gz"
    with gzip.open(path, "wt") as f:
        for s in read_strokes(DEV_PATH):
            if s.writer in writers:
                f.write(json.dumps({"id": s.id, "label": s.label, "strokes": s.strokes, "writer": s.writer}) + "\n")
    assert main(["evaluate", "--strokes", str(path), "--adapt"]) == 0
    out = capsys.readouterr().out.splitlines()
    last = json.loads(out[-1])
    assert set(last) == {"n", "accuracy", "adapted"} and set(last["adapted"]) == {"accuracy", "after_10", "right_to_wrong"}
    assert last["adapted"]["accuracy"] > last["accuracy"] and last["adapted"]["right_to_wrong"] == 0
    assert any(line.strip().startswith("worst 5 writers") and "ibm/12" in line for line in out)


# --------------------------------------------------------------------------- the Draw page


def test_draw_page_says_why_and_forgets(monkeypatch):
    monkeypatch.setenv("DIGITS_FEEDBACK", "0")  # the memory learns whether or not feedback is stored
    first, i, second, j, misread = misread_pair()
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()

    def show(sample: Sample, index: int) -> None:
        layout = replay_layout(sample.strokes, index, VARIANT)
        at.session_state["canvas"] = canvas_state(draw(layout), layout)
        at.run()
        assert not at.exception

    show(first, i)
    assert prediction_shown(at) != str(first.label)
    at.pills[0].set_value(first.label).run()  # "Which digit did you draw?"
    assert any("remember your" in s.value for s in at.success)
    show(second, j)
    assert prediction_shown(at) == str(second.label)
    [line] = [m.value for m in at.markdown if "data-testid='learnt'" in m.value]
    assert f"like the {first.label} you showed me" in line
    [forget] = [b for b in at.button if b.label == "Forget my handwriting"]
    forget.click().run()
    assert prediction_shown(at) == str(misread), "forgotten: the model's own answer again"
    assert not [m for m in at.markdown if "data-testid='learnt'" in m.value]
    assert not [b for b in at.button if b.label == "Forget my handwriting"]


def test_kiosk_learns_and_forgets_at_its_idle_reset(monkeypatch):
    from tests.test_kiosk import kiosk_app
    from webapp.widgets import DEFAULT_IDLE_S

    monkeypatch.setenv("DIGITS_FEEDBACK", "0")
    first, i, second, j, _ = misread_pair()
    at = kiosk_app(kiosk="1")
    layout = replay_layout(first.strokes, i, VARIANT)
    at.session_state["kiosk_canvas_0"] = canvas_state(draw(layout), layout)
    at.run()
    at.pills[0].set_value(first.label).run()
    layout = replay_layout(second.strokes, j, VARIANT)
    at.session_state["kiosk_canvas_0"] = canvas_state(draw(layout), layout)
    at.run()
    assert prediction_shown(at) == str(second.label)
    assert any("data-testid='learnt'" in m.value for m in at.markdown)
    at.session_state["kiosk_activity"] = time.time() - DEFAULT_IDLE_S - 1  # the visitor left
    at.run()
    assert not at.exception and at.session_state["kiosk_generation"] == 1
    assert len(at.session_state["visitor_memory"]) == 0, "the next visitor starts afresh"
