"""The layers stay layers: the import contract (.importlinter) and UI wording kept out of the lower layers."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Names of places in the UI. The client and the services speak of the API, never of these.
UI_PLACES = re.compile(r"\b(History|Sweep|Edit tab|accordion|API key and deadline|Still running)\b")


def test_the_import_contract_holds():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--config", str(ROOT / ".importlinter")], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "4 kept, 0 broken" in done.stdout


def test_the_lower_layers_use_no_ui_wording():
    offenders = []
    for layer in ("api", "app", "media"):
        for path in sorted((ROOT / "components" / layer).rglob("*.py")):
            tree = ast.parse(path.read_text())
            docstrings = _docstrings(tree)
            for node in ast.walk(tree):
                if node in docstrings:
                    continue  # a docstring may say which part of the UI calls this; messages may not
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and UI_PLACES.search(node.value):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value[:60]!r}")
    assert offenders == []


def test_only_the_settings_module_reads_the_environment():
    readers = set()
    for path in sorted((ROOT / "components").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            reads = isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") or \
                isinstance(node, (ast.Import, ast.ImportFrom)) and "dotenv" in ast.dump(node)
            if reads:
                readers.add(path.relative_to(ROOT).as_posix())
    assert readers == {"components/app/settings.py"}


def _docstrings(tree: ast.Module) -> set[ast.AST]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(first.value)
    return found
