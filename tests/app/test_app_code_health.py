"""Code health: the linter finds nothing and no code in the shipped packages is left unused.

Both tools run from the test environment (`pip install -e '.[test]'` brings ruff and vulture).
"""
from __future__ import annotations

import keyword
import subprocess
import sys
from pathlib import Path

import jinja2
from jinja2 import nodes

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
WHITELIST = "tests/vulture_whitelist.py"
LINTED = ("app", "petitions", "consultations", "moderation", "scripts", "bench", "tests")
PACKAGES = ("app", "petitions", "consultations", "moderation")
# Scripts and benchmarks call into the packages: what they use is used. Their own leftovers are not reported.
CALLERS = ("scripts", "bench")
# Vulture scores every unused function, class, method, property, attribute and variable at 60 %: Python is too
# dynamic for it to be sure. It gives 90 % only to unused imports and 100 % to unused arguments and unreachable
# code, so any higher setting would miss exactly the dead functions and fields this test is for. False alarms at
# 60 % (names called by a framework, a library or the tests only) go in the whitelist, each with its reason.
MIN_CONFIDENCE = 60


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_no_unused_imports_or_variables_or_undefined_names():
    # The rule set is [tool.ruff.lint] in pyproject.toml (pyflakes and syntax errors).
    result = _run("ruff", "check", "--no-cache", "--output-format", "concise", *LINTED)
    assert result.returncode == 0, (
        "ruff check found problems (many are fixed by `python -m ruff check --fix <path>`):\n"
        + result.stdout + result.stderr)


def template_names() -> set[str]:
    """Every name, attribute and identifier-like string the Jinja templates use.

    Templates read view-object fields and call helpers that Python code never mentions; to vulture these look
    unused. Taking every identifier-like string too (`map(attribute="x")`, `row["x"]`) may hide a dead name
    that happens to be spelled like a template string, never report a live one.
    """
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    names: set[str] = set()
    for path in sorted(TEMPLATES.rglob("*")):
        if not path.is_file() or path.suffix not in (".html", ".txt"):
            continue
        tree = env.parse(path.read_text(encoding="utf-8"), name=str(path.relative_to(ROOT)))
        for node in tree.find_all((nodes.Getattr, nodes.Name, nodes.Const)):
            if isinstance(node, nodes.Getattr):
                names.add(node.attr)
            elif isinstance(node, nodes.Name):
                names.add(node.name)
            elif isinstance(node.value, str) and node.value.isidentifier():
                names.add(node.value)
    return {name for name in names if not keyword.iskeyword(name)}


def test_vulture_finds_no_unused_code(tmp_path):
    used_by_templates = tmp_path / "template_names.py"
    used_by_templates.write_text("_ = None\n" + "".join(f"_.{name}\n" for name in sorted(template_names())))
    result = _run("vulture", *PACKAGES, *CALLERS, WHITELIST, str(used_by_templates),
                  "--min-confidence", str(MIN_CONFIDENCE))
    # 3 means "found unused code"; anything on stderr (a file it could not parse) is a failure too
    assert result.returncode in (0, 3) and not result.stderr, f"vulture could not run:\n{result.stdout}{result.stderr}"
    findings = [line for line in result.stdout.splitlines() if line.startswith(tuple(p + "/" for p in PACKAGES))]
    assert not findings, (
        "Unused code (delete it; if a framework, a template or only the tests use it, add the name to "
        f"{WHITELIST} with the reason):\n" + "\n".join(findings))
