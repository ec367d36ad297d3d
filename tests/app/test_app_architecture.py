"""Dependency rules: infrastructure never reaches into domains; domains use moderation only via its facade."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPOSITION_ROOT = {"app/main.py", "app/cli.py", "app/schema.py", "app/demo.py", "app/settings_doc.py",
                    "app/migrations/env.py"}
DOMAINS = ("petitions", "consultations", "moderation")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts and path.parent.name != "migrations":
            continue
        yield path.relative_to(ROOT).as_posix(), imports_of(path)


def test_app_imports_domains_only_in_the_composition_root():
    bad = [(name, imp) for name, imps in modules("app") if name not in COMPOSITION_ROOT
           for imp in imps if imp.split(".")[0] in DOMAINS]
    assert not bad, bad


def test_domains_do_not_import_the_composition_root():
    bad = [(name, imp) for pkg in DOMAINS for name, imps in modules(pkg) for imp in imps
           if imp in {"app.main", "app.cli", "app.demo", "app.schema"}]
    assert not bad, bad


def test_moderation_imports_neither_petitions_nor_consultations():
    bad = [(name, imp) for name, imps in modules("moderation") for imp in imps
           if imp.split(".")[0] in {"petitions", "consultations"}]
    assert not bad, bad


def test_petitions_and_consultations_use_only_the_moderation_facade():
    bad = [(name, imp) for pkg in ("petitions", "consultations") for name, imps in modules(pkg) for imp in imps
           if imp.startswith("moderation.")]
    assert not bad, bad


def test_petitions_and_consultations_are_independent():
    bad = [(name, imp) for a, b in (("petitions", "consultations"), ("consultations", "petitions"))
           for name, imps in modules(a) for imp in imps if imp.split(".")[0] == b]
    assert not bad, bad


def test_only_the_sanitizer_imports_nh3_and_only_security_imports_itsdangerous():
    for pkg in ("app", *DOMAINS):
        for name, imps in modules(pkg):
            if "nh3" in imps:
                assert name == "app/sanitize.py", name
            if any(i.split(".")[0] == "itsdangerous" for i in imps):
                assert name == "app/security.py", name


def test_nothing_imports_bleach():
    for pkg in ("app", *DOMAINS):
        for name, imps in modules(pkg):
            assert "bleach" not in imps, name
