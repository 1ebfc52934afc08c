"""The pen's path (digits.strokes): what the canvas sends, read back; the model's input; the
checks on what a browser may send instead."""

import json
from pathlib import Path

import numpy as np
import pytest

from digits.data import read_strokes
from digits.render import replay_layout
from digits.strokes import (FEATURES, MAX_OBJECTS, MAX_POINTS, SEQ_LEN, BadStrokes, as_sent, canvas_sequence,
                            fabric_json, sequence, strokes_from_fabric)


def test_fabric_encoding_reads_back_through_every_point(unipen_dev):
    """What training computes directly (as_sent) is exactly what the canvas' JSON gives back."""
    for i, sample in enumerate(read_strokes(unipen_dev)[:100]):
        layout = replay_layout(sample.strokes, i)
        sent = fabric_json(layout)
        json.dumps(sent)  # plain JSON, as the browser sends it
        back = strokes_from_fabric(sent)
        assert len(back) == len(layout) == len(as_sent(layout))
        for a, b, original in zip(back, as_sent(layout), layout):
            np.testing.assert_array_equal(a, b)
            assert np.abs(a[[0, -1]] - np.rint(original[[0, -1]])).max() == 0, "starts and ends where the pen did"


def test_a_sequence_ignores_size_and_place_but_keeps_direction():
    one = [np.array([[100.0, 50], [100, 250]])]  # a stroke going down
    small = [np.array([[20.0, 10], [20, 50]])]
    up = [np.array([[100.0, 250], [100, 50]])]
    a, b, c = sequence(one), sequence(small), sequence(up)
    assert a.shape == (SEQ_LEN, FEATURES) and a.dtype == np.float32
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert a[0, 1] < 0 < a[-1, 1] and c[0, 1] > 0 > c[-1, 1], "the direction is kept"
    assert a[:, 4].sum() == 1 and a[0, 4] == 1


def test_each_stroke_is_marked_and_gets_points_by_its_length():
    seven = [np.array([[0.0, 0], [100, 0]]), np.array([[100.0, 0], [40, 200]]), np.array([[50.0, 100], [50, 100]])]
    s = sequence(seven)
    assert s[:, 4].sum() == 3, "a pen-down mark at each stroke's first point"
    starts = np.flatnonzero(s[:, 4])
    assert starts[0] == 0 and (starts[1] - starts[0]) < (starts[2] - starts[1]), "the longer stroke gets more points"
    assert sequence([]) is None and canvas_sequence({"objects": []}) is None and canvas_sequence(None) is None


@pytest.mark.parametrize("json_data, message", [
    ("objects", "not a Fabric canvas"),
    ({"objects": {"a": 1}}, "not a Fabric canvas"),
    ({"objects": [{"type": "path", "path": "M 0 0"}]}, "commands"),
    ({"objects": [{"type": "path", "path": [["M", "0", 1]]}]}, "pairs of numbers"),
    ({"objects": [{"type": "path", "path": [["M", 1, 2, 3]]}]}, "pairs of numbers"),
    ({"objects": [{"type": "path", "path": [["M", True, 2]]}]}, "pairs of numbers"),
    ({"objects": [{"type": "path", "path": [["M", 1e300, 2]]}]}, "not finite canvas pixels"),
    ({"objects": [{"type": "path", "path": [[]]}]}, "letter, numbers"),
    ({"objects": [{"type": "path", "path": [["M", 1, 2]]}] * (MAX_OBJECTS + 1)}, "objects"),
    ({"objects": [{"type": "path", "path": [["L", 1, 2]] * (MAX_POINTS + 1)}]}, "points"),
])
def test_what_the_canvas_would_never_send_is_refused(json_data, message):
    with pytest.raises(BadStrokes, match=message):
        strokes_from_fabric(json_data)


def test_other_objects_are_ignored():
    raw = {"objects": [{"type": "rect", "left": 1}, {"type": "path", "path": [["M", 1, 2], ["L", 3, 4]]}]}
    assert [s.tolist() for s in strokes_from_fabric(raw)] == [[[1, 2], [3, 4]]]


# --------------------------------------------------------------------------- the training data's faults


def test_slashed_zeros_are_zeros_and_crossed_circles_have_both_bars(unipen_dev):
    from digits.doodles import crossed_circle, slashed_zero

    zeros = [s for s in read_strokes(unipen_dev) if s.label == 0][:20]
    rng = np.random.default_rng(0)
    for _ in range(20):
        drawing = slashed_zero(rng, zeros)
        assert any(len(drawing) - 1 == len(z.strokes) for z in zeros), "a real zero plus one slash"
        assert len(crossed_circle(rng, None)) == 3, "a circle and two bars: never a single slash (Ø is a zero)"


# --------------------------------------------------------------------------- the real component

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "canvas").glob("*.json"))


def recorded(path: Path) -> tuple[dict, np.ndarray]:
    """json_data and image_data the real canvas sent for a mouse drawing in Chromium (bench.record)."""
    import cv2

    image = cv2.cvtColor(cv2.imread(str(path.with_suffix(".png")), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    return json.loads(path.read_text())["json_data"], image


def test_recorded_fixtures_cover_one_several_a_dot_and_a_long_stroke():
    names = {p.stem: len(recorded(p)[0]["objects"]) for p in FIXTURES}
    assert names == {"dot": 1, "long": 1, "one-stroke": 1, "several-strokes": 2}
    assert len(recorded(FIXTURES[0])[0]["objects"][0]["path"]) > 1


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_the_real_canvas_json_is_read_as_its_strokes(path: Path):
    """Every stroke the real component sent comes back, and its box is the ink's in its picture."""
    from digits.answer import strokes_match
    from digits.preprocess import INK_LEVEL, canvas_to_gray

    json_data, image = recorded(path)
    strokes = strokes_from_fabric(json_data)
    assert len(strokes) == len(json_data["objects"]) > 0
    assert strokes_match(strokes, image)
    ys, xs = np.nonzero(canvas_to_gray(image) > INK_LEVEL)
    pts = np.concatenate(strokes)
    pen = json_data["objects"][0]["strokeWidth"] / 2
    assert abs(pts[:, 0].min() - pen - xs.min()) <= 2 and abs(pts[:, 1].max() + pen - ys.max()) <= 2
    assert canvas_sequence(json_data).shape == (SEQ_LEN, FEATURES)


def test_fabric_json_writes_what_the_component_writes():
    """Our encoder (evaluate, the AppTest canvas values) makes the same kind of object as the
    component: type, version and the command letters M, Q..., L."""
    real, _ = recorded(next(p for p in FIXTURES if p.stem == "one-stroke"))
    ours = fabric_json(strokes_from_fabric(real))
    assert ours["version"] == real["version"]
    for a, b in zip(ours["objects"], real["objects"]):
        assert (a["type"], a["version"]) == (b["type"], b["version"])
        assert [c[0] for c in a["path"]][:1] + [c[0] for c in a["path"]][-1:] == ["M", "L"]
        assert {c[0] for c in b["path"]} == {c[0] for c in a["path"]} == {"M", "Q", "L"}


def test_older_fabric_lowercase_paths_are_read_too():
    real, _ = recorded(FIXTURES[0])
    old = {"version": "5.3.0", "objects": [{**o, "type": "path"} for o in real["objects"]]}
    assert len(strokes_from_fabric(old)) == len(real["objects"])
    other = {"objects": [{"type": "Rect", "path": [["M", 1, 2]]}]}
    assert strokes_from_fabric(other) == []
