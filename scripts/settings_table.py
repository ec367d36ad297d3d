"""Rewrite the configuration table in README.md from the settings dataclasses (between the markers)."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.settings_doc import markdown_table  # noqa: E402

START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    readme.write_text(f"{head}{START}\n{markdown_table()}\n{END}{tail}")
    print("README.md configuration table updated.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
