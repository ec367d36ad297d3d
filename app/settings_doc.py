"""Describe every setting (core and per domain) from the dataclasses' field docstrings.

Used by `scripts/settings_table.py` to write the README table and by the test that keeps it honest.
"""
from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
from pathlib import Path

from app.config import Settings
from app.main import DOMAIN_SETTINGS


def field_docs(cls) -> dict[str, str]:
    """Map field name to the string literal written right after it in the class body."""
    source = textwrap.dedent(inspect.getsource(cls))
    tree = ast.parse(source).body[0]
    assert isinstance(tree, ast.ClassDef)
    body = tree.body
    docs = {}
    for node, following in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant) and isinstance(following.value.value, str):
                docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def describe(sections: dict[str, type]) -> list[dict]:
    """Rows of (variable, type, default, meaning) for the core settings and each domain section."""
    rows = []
    for prefix, cls in sections.items():
        docs = field_docs(cls)
        for f in dataclasses.fields(cls):
            default = f.default
            if isinstance(default, tuple):
                default = ",".join(default)
            elif isinstance(default, Path):
                default = str(default)
            elif isinstance(default, bool):
                default = str(default).lower()
            rows.append({
                "variable": f"{prefix}{f.name.upper()}",
                "type": type(f.default).__name__ if not isinstance(f.default, Path) else "path",
                "default": str(default),
                "meaning": docs.get(f.name, ""),
            })
    return rows


def all_sections() -> dict[str, type]:
    sections: dict[str, type] = {"CIVIC_": Settings}
    for name, cls in DOMAIN_SETTINGS.items():
        sections[f"CIVIC_{name.upper()}_"] = cls
    return sections


def markdown_table() -> str:
    lines = ["| Variable | Type | Default | Meaning |", "|---|---|---|---|"]
    for row in describe(all_sections()):
        default = f"`{row['default']}`" if row["default"] else "(empty)"
        lines.append(f"| `{row['variable']}` | {row['type']} | {default} | {row['meaning']} |")
    return "\n".join(lines)
