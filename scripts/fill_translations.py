"""Fill msgstr entries of a catalog from a JSON file of {msgid: translation} (plural: a list).

`python scripts/fill_translations.py app zh_Hans translations.json` — used when a translator hands back
a JSON sheet. Existing translations are overwritten only for the ids in the sheet.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent


def main(package: str, locale: str, sheet: str) -> int:
    path = ROOT / package / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    data = json.loads(Path(sheet).read_text(encoding="utf-8"))
    filled = 0
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in data:
            value = data[key]
            message.string = tuple(value) if isinstance(value, list) else value
            message.flags.discard("fuzzy")
            filled += 1
    with path.open("wb") as fh:
        write_po(fh, catalog, width=100, sort_output=True)
    print(f"filled {filled} of {len(data)} entries in {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
