"""Dependency rules: infrastructure never reaches into domains; domains use moderation only via its facade; no
module of the project takes part in an import cycle.

Every import counts: top-level or inside a function (a deferred import is still a dependency), absolute or
relative (`from . import x`, `from ..x import y` are resolved to the module they name).
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPOSITION_ROOT = {"app/main.py", "app/cli.py", "app/schema.py", "app/demo.py", "app/settings_doc.py",
                    "app/migrations/env.py"}
DOMAINS = ("petitions", "consultations", "moderation")
PACKAGES = ("app", *DOMAINS)


def _source_files(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts and path.parent.name != "migrations":
            continue
        yield path


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    return {module_name(path, root): path for pkg in PACKAGES if (root / pkg).is_dir()
            for path in sorted((root / pkg).rglob("*.py"))
            if not ("migrations" in path.parts and path.parent.name != "migrations")}


def imports_of(path: Path, root: Path = ROOT, known: set[str] | None = None) -> set[str]:
    """Absolute names of the modules `path` imports, anywhere in the file (inside functions too).

    Relative imports are resolved against the file's own package. `from x import y` names `x.y` when that is a
    module of the project (`from moderation import service` is an import of `moderation.service`), else `x`.
    """
    known = set(project_modules(root)) if known is None else known
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module
            if node.level:
                parts = package.split(".")
                if node.level > 1:
                    parts = parts[:-(node.level - 1)]
                module = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                found.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module)
    return found


_KNOWN = set(project_modules())


def modules(package: str):
    for path in _source_files(package):
        yield path.relative_to(ROOT).as_posix(), imports_of(path, ROOT, _KNOWN)


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Project module -> the project modules it imports, top-level and deferred alike."""
    known = project_modules(root)
    return {name: {imp for imp in imports_of(path, root, set(known)) if imp in known and imp != name}
            for name, path in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (iterative DFS; grey = on the current path)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    for start in sorted(graph):
        if colour[start] != WHITE:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        colour[start] = GREY
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                colour[path.pop()] = BLACK
                stack.pop()
            elif colour.get(nxt, BLACK) == GREY:
                return path[path.index(nxt):] + [nxt]
            elif colour.get(nxt) == WHITE:
                colour[nxt] = GREY
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


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


def test_relative_and_deferred_imports_are_seen(tmp_path):
    (tmp_path / "moderation" / "analysis").mkdir(parents=True)
    for name in ("__init__", "service", "analysis/__init__", "analysis/store", "analysis/themes"):
        (tmp_path / "moderation" / f"{name}.py").write_text("")
    (tmp_path / "petitions").mkdir()
    (tmp_path / "petitions" / "__init__.py").write_text("")
    store = tmp_path / "moderation" / "analysis" / "store.py"
    store.write_text("from . import themes\nfrom ..service import screen\n\n\ndef f():\n"
                     "    from .. import service\n    from petitions.models import Petition\n")
    assert imports_of(store, tmp_path) == {"moderation.analysis.themes", "moderation.service", "petitions.models"}


def test_find_cycle_names_the_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components with more than one module (each holds at least one cycle)."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules."""
    return [find_cycle({n: graph[n] & group for n in group}) for group in strongly_connected(graph)]


def test_import_cycles_finds_each_group():
    graph = {"a": {"b"}, "b": {"a", "c"}, "c": set(), "x": {"y"}, "y": {"z"}, "z": {"x"}}
    assert sorted(import_cycles(graph)) == [["a", "b", "a"], ["x", "y", "z", "x"]]
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycles():
    """No module imports itself through others (counting imports inside functions): a cycle hidden by a
    deferred import breaks as soon as someone moves that import to the top of the file."""
    cycles = import_cycles(import_graph())
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)
