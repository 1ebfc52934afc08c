"""The layout is the architecture: digits/ is the core and never imports Streamlit; the
Streamlit side lives in webapp/ (widgets.py and one file per page in webapp/pages/). Inside the
core, what the server runs (digits/*.py and digits/features/) never imports training or
evaluation, and no module imports itself back through another."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

CORE = sorted((REPO / "digits").rglob("*.py"))
# What the web server runs: input -> 28x28 -> model -> answer, and the pages' features.
SERVING = sorted([*(REPO / "digits").glob("*.py"), *(REPO / "digits" / "features").glob("*.py")])
OFFLINE = ("digits.training", "digits.evaluation")  # train.py, evaluate, calibrate: not the server


def module_name(path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
UI_PACKAGES = ("streamlit", "streamlit_drawable_canvas")


def imported_modules(path) -> list[tuple[int, str]]:
    """Every module an `import` or `from ... import` names, anywhere in the file (also inside
    functions: a lazy import is still an import)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("path", CORE, ids=module_name)
def test_core_module_never_imports_streamlit(path):
    bad = [f"{path.name}:{line} imports {name}" for line, name in imported_modules(path)
           if name.split(".")[0] in UI_PACKAGES or name.split(".")[0] == "webapp"]
    assert not bad, "the core (digits/) must not import the Streamlit side: " + "; ".join(bad)


def test_importing_the_whole_core_leaves_streamlit_out():
    names = [module_name(p) for p in CORE if p.stem != "__main__"]
    code = ("import importlib, sys\n"
            f"for name in {names!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'streamlit_drawable_canvas')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("path", [p for p in SERVING if p.stem != "cli"], ids=module_name)
def test_serving_never_imports_training_or_evaluation(path):
    """The server must not load TensorFlow, tf2onnx or the training data code. (The CLI is the
    one exception: it imports them inside the commands that train and evaluate.)"""
    bad = [f"{name} (line {line})" for line, name in imported_modules(path) if name.startswith(OFFLINE)]
    assert not bad, f"{module_name(path)} imports " + ", ".join(bad)


def test_no_import_circles():
    """Every import between core modules, lazy ones included; a circle would mean two modules
    that cannot be understood (or loaded) one without the other."""
    known = {module_name(p) for p in CORE}
    graph = {module_name(p): {n for _, n in imported_modules(p) if n in known and n != module_name(p)}
             for p in CORE}
    for mod in graph:  # drop package __init__ edges: importing digits.x.y runs digits/x/__init__
        graph[mod] = {n for n in graph[mod] if not any(k.startswith(n + ".") for k in known)}

    def reach(start):
        seen, todo = set(), [start]
        while todo:
            for n in graph[todo.pop()]:
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return seen

    circles = sorted(m for m in graph if m in reach(m))
    assert not circles, "modules in an import circle: " + ", ".join(circles)


def test_every_page_is_one_file_in_webapp_pages():
    """app.py's st.Page("webapp/pages/<page>.py") calls are the page list: each names a file
    there, and each file there is named."""
    named = set(re.findall(r'st\.Page\(\s*"webapp/pages/(\w+)\.py"', (REPO / "app.py").read_text()))
    files = {p.stem for p in (REPO / "webapp" / "pages").glob("*.py") if p.stem != "__init__"}
    assert named and {"draw", "kiosk"} <= named, f"app.py names no pages (or lost Draw or the kiosk): {named}"
    assert files == named, f"pages without a file: {sorted(named - files)}; files app.py does not name: {sorted(files - named)}"
    assert not (REPO / "app_pages").exists() and not (REPO / "pages").exists(), \
        "a pages/ folder next to app.py would turn on Streamlit's automatic multipage menu"


def test_only_make_run_dev_turns_the_file_watcher_on():
    """Production (make run, Community Cloud) has no file watcher (config.toml); run-dev reloads on save."""
    assert 'fileWatcherType = "none"' in (REPO / ".streamlit" / "config.toml").read_text()
    recipes = {}
    target = None
    for line in (REPO / "Makefile").read_text().splitlines():
        if line and not line[0].isspace() and ":" in line and not line.startswith("#"):
            target = line.split(":")[0]
        elif line.startswith("\t") and target:
            recipes.setdefault(target, []).append(line)
    assert "--server.fileWatcherType auto" in " ".join(recipes["run-dev"])
    assert "fileWatcherType" not in " ".join(recipes["run"])
