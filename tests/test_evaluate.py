"""`python -m digits evaluate`: the replay evaluation on real pen strokes, and MNIST."""

import gzip
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO


def evaluate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digits", "evaluate", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=600)


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("variant, target", [("random", 0.985), ("easy", 0.99)])
def test_unipen_dev_meets_the_target(unipen_dev, variant, target):
    run = evaluate("--strokes", str(unipen_dev), "--variant", variant)
    assert run.returncode == 0, run.stderr
    result = last_json(run.stdout)
    assert result["n"] == 3000
    assert result["accuracy"] >= target, run.stdout
    assert set(result["per_label"]) == {str(d) for d in range(10)}
    assert "confusion" in run.stdout and "worst confusions" in run.stdout


@pytest.mark.slow
def test_mnist_figure_matches_the_report():
    run = evaluate("--mnist")
    assert run.returncode == 0, run.stderr
    report = json.loads((REPO / "model" / "report.json").read_text())
    assert last_json(run.stdout)["accuracy"] == pytest.approx(report["test_accuracy"], abs=1e-4)


def test_any_file_in_the_same_format(tmp_path):
    path = tmp_path / "mine.jsonl"  # plain, not gzipped
    one = {"label": 1, "strokes": [[[0, 0], [0, 100]]]}
    seven = {"label": 7, "strokes": [[[0, 0], [60, 0], [25, 100]]]}
    path.write_text("\n".join(json.dumps(r) for r in [one, seven, one]) + "\n")
    run = evaluate("--strokes", str(path))
    assert run.returncode == 0, run.stderr
    result = last_json(run.stdout)
    assert result["n"] == 3 and result["accuracy"] == 1.0


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    (b"", "holds no samples"),
    (b"{broken", "line 1: not a stroke sample"),
])
def test_bad_files_get_a_clear_message(tmp_path, content, message):
    path = tmp_path / "in.jsonl.gz"
    if content is not None:
        path.write_bytes(gzip.compress(content))
    run = evaluate("--strokes", str(path))
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr


@pytest.mark.slow
def test_dev_digits_report_rejection_and_accuracy_on_the_answered():
    run = evaluate("--strokes", "--variant", "random")  # the shipped dev file is the default
    assert run.returncode == 0, run.stderr
    result = last_json(run.stdout)
    assert result["n"] == 3000 and result["rejected"] <= 0.01
    assert result["accuracy_answered"] >= result["accuracy"]
    assert "answered 'not a digit'" in run.stdout


@pytest.mark.slow
def test_dev_nondigits_per_kind_and_character(unipen_nondigit_dev):
    run = evaluate("--nondigits", str(unipen_nondigit_dev))
    assert run.returncode == 0, run.stderr
    result = last_json(run.stdout)
    assert result["n"] == 2250 and set(result) == {"n", "rejected", "per_kind", "contradictions", "path", "bitmap_only"}
    assert set(result["per_kind"]) == {"uppercase", "lowercase", "symbol"}
    assert result["path"] == "strokes" and result["contradictions"] == 0 == result["bitmap_only"]["contradictions"]
    assert result["rejected"] >= 0.90 and result["bitmap_only"]["rejected"] >= 0.85, run.stdout
    assert "per character" in run.stdout and "most often read as a digit" in run.stdout


def test_a_small_nondigit_file_is_read(tmp_path):
    path = tmp_path / "letters.jsonl"
    rows = [{"label": "X", "kind": "uppercase", "strokes": [[[0, 0], [100, 100]], [[100, 0], [0, 100]]]},
            {"label": "#", "kind": "symbol", "strokes": [[[30, 0], [20, 100]], [[70, 0], [60, 100]],
                                                        [[0, 33], [100, 33]], [[0, 66], [100, 66]]]}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    run = evaluate("--nondigits", str(path), "--variant", "easy")
    assert run.returncode == 0, run.stderr
    result = last_json(run.stdout)
    assert result["n"] == 2 and set(result["per_kind"]) == {"uppercase", "symbol"}
    assert 0 <= result["rejected"] <= 1
