"""The layout is the architecture: digits/ is the core and never imports Streamlit; the
Streamlit side lives in webapp/ (widgets.py and one file per page in webapp/pages/)."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from tests.conftest import REPO

CORE = sorted((REPO / "digits").glob("*.py"))
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


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_module_never_imports_streamlit(path):
    bad = [f"{path.name}:{line} imports {name}" for line, name in imported_modules(path)
           if name.split(".")[0] in UI_PACKAGES or name.split(".")[0] == "webapp"]
    assert not bad, "the core (digits/) must not import the Streamlit side: " + "; ".join(bad)


def test_importing_the_whole_core_leaves_streamlit_out():
    names = ["digits"] + [f"digits.{p.stem}" for p in CORE if p.stem not in ("__init__", "__main__")]
    code = ("import importlib, sys\n"
            f"for name in {names!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'streamlit_drawable_canvas')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_every_page_is_one_file_in_webapp_pages():
    pages = {p.stem for p in (REPO / "webapp" / "pages").glob("*.py")}
    assert pages == {"draw", "upload", "number", "challenge", "model", "feedback", "kiosk"}
    app = (REPO / "app.py").read_text()
    for page in pages:
        assert f'"webapp/pages/{page}.py"' in app, page
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
