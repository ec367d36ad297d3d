"""Message catalogs: `python scripts/i18n.py extract [PACKAGE...]` and `python scripts/i18n.py check`.

Each package owns its catalog (`<package>/translations/<locale>/LC_MESSAGES/messages.po`) covering its
Python code, `templates/<package>/` and `templates/emails/<package>/` (the `app` package covers the
remaining templates). `extract` adds new strings and keeps existing translations (English is filled in
as the identity); `check` fails when any zh-Hans string is missing, fuzzy or has mismatched placeholders.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "petitions", "consultations", "moderation")
LOCALES = ("en", "zh_Hans")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "N_": None}
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trimmed": "false"}
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


def sources(package: str) -> list[tuple[Path, str]]:
    files: list[tuple[Path, str]] = [(p, "python") for p in sorted((ROOT / package).rglob("*.py"))
                                     if "migrations" not in p.parts]
    templates = ROOT / "templates"
    domains = [p for p in PACKAGES if p != "app"]
    for path in sorted(templates.rglob("*")):
        if path.suffix not in {".html", ".txt", ".svg", ".xml"}:
            continue
        rel = path.relative_to(templates).parts
        owner = rel[1] if rel[0] == "emails" and len(rel) > 2 else rel[0]
        if (package == "app" and owner not in domains) or owner == package:
            files.append((path, "jinja2"))
    return files


def extract(package: str) -> Catalog:
    template = Catalog(project="civic", charset="utf-8")
    for path, method in sources(package):
        method_fn = "python" if method == "python" else "jinja2.ext:babel_extract"
        options = JINJA_OPTIONS if method == "jinja2" else {}
        for lineno, message, comments, context in extract_from_file(method_fn, str(path), keywords=KEYWORDS,
                                                                    options=options):
            template.add(message, None, [(str(path.relative_to(ROOT)), lineno)], auto_comments=comments, context=context)
    return template


def catalog_path(package: str, locale: str) -> Path:
    return ROOT / package / "translations" / locale / "LC_MESSAGES" / "messages.po"


def update(package: str) -> None:
    for locale in LOCALES:
        template = extract(package)
        path = catalog_path(package, locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
        else:
            catalog = Catalog(locale=locale, project="civic", charset="utf-8")
        catalog.update(template, update_header_comment=False)
        catalog.obsolete.clear()
        if locale == "en":
            for message in catalog:
                if message.id:
                    message.string = message.id if not message.pluralizable else tuple(message.id)
                    message.flags.discard("fuzzy")
        with path.open("wb") as fh:
            write_po(fh, catalog, width=100, omit_header=False, sort_output=True)
        missing = [m.id for m in catalog if m.id and not _translated(m)]
        print(f"{package}/{locale}: {len(catalog)} messages, {len(missing)} untranslated")


def _translated(message) -> bool:
    if "fuzzy" in message.flags:
        return False
    strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
    return bool(strings) and all(s for s in strings)


def _placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text or ""))


def problems() -> list[str]:
    found = []
    for package in PACKAGES:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in extract(package) if m.id}
        for locale in LOCALES:
            path = catalog_path(package, locale)
            if not path.is_file():
                if wanted:
                    found.append(f"{path.relative_to(ROOT)} is missing: run scripts/i18n.py extract {package}")
                continue
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
            have = {}
            for m in catalog:
                if m.id:
                    have[m.id if isinstance(m.id, str) else m.id[0]] = m
            for msgid in sorted(wanted):
                m = have.get(msgid)
                if m is None:
                    found.append(f"{package}/{locale}: not in catalog: {msgid!r}")
                elif not _translated(m):
                    found.append(f"{package}/{locale}: untranslated: {msgid!r}")
                else:
                    ids = [m.id] if isinstance(m.id, str) else list(m.id)
                    strs = [m.string] if isinstance(m.string, str) else list(m.string)
                    if any(_placeholders(s) != _placeholders(ids[0]) and _placeholders(s) != _placeholders(ids[-1]) for s in strs):
                        found.append(f"{package}/{locale}: placeholders differ: {msgid!r}")
    return found


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"extract", "check"}:
        print(__doc__)
        return 2
    if argv[0] == "extract":
        for package in argv[1:] or PACKAGES:
            update(package)
        return 0
    issues = problems()
    for line in issues:
        print(line)
    print(f"{len(issues)} problem(s)")
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
