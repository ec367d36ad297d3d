"""Write a package's migration from its models.

Each package owns one Alembic branch (app, petitions, consultations, moderation).

- `python scripts/makemigration.py petitions`: before the branch's first release, regenerate its single
  `<package>_initial` revision (the file is deleted and written again).
- `python scripts/makemigration.py petitions --new "paper signatures"`: add a revision on top of the branch's
  head, named `<package>_<message as words joined by underscores>` like the revisions already there.

Once a branch has any revision after its initial one, its initial revision has shipped: databases record it as
applied, and later revisions build on it. Regenerating it then would rewrite (and first delete) a revision that
already ran, so the script refuses and says to use `--new`.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

from app.db import make_engine  # noqa: E402
from app.migrate import BRANCHES, alembic_config  # noqa: E402
from app.schema import import_all_models  # noqa: E402


def tables_of(package: str) -> set[str]:
    import_all_models()
    names = set()
    for mapper in SQLModel._sa_registry.mappers:
        cls = mapper.class_
        if cls.__module__.split(".")[0] == package and getattr(cls, "__table__", None) is not None:
            names.add(cls.__table__.name)
    return names


def built_on_initial(package: str) -> list[str]:
    """The revisions, of any branch, that come after `package`'s initial one: its own branch's later revisions,
    and other branches' revisions that revise or depend on it. If there are any, the initial one has shipped."""
    from alembic.script import ScriptDirectory

    initial, mine = f"{package}_initial", BRANCHES[package].resolve()
    return sorted(r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()
                  if r.revision != initial and (Path(r.path).resolve().parent == mine
                                                or initial in {*_as_tuple(r.down_revision), *_as_tuple(r.dependencies)}))


def _as_tuple(value) -> tuple:
    return (value,) if isinstance(value, str) else tuple(value or ())


def new_revision_id(package: str, message: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")
    return f"{package}_{words}"[:32].rstrip("_")  # alembic_version.version_num is VARCHAR(32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("package", choices=sorted(BRANCHES))
    parser.add_argument("message", nargs="?", default="initial")
    parser.add_argument("--new", action="store_true", help="add a revision instead of regenerating 'initial'")
    args = parser.parse_intermixed_args(argv)  # `petitions --new "message"` as well as `petitions "message" --new`
    directory = BRANCHES[args.package]
    directory.mkdir(parents=True, exist_ok=True)
    rev_id = f"{args.package}_initial"
    if args.new:
        rev_id = new_revision_id(args.package, args.message)
        if args.message == "initial" or rev_id == f"{args.package}_":
            print(f'Say what the new revision does: python scripts/makemigration.py {args.package} --new "what changed"',
                  file=sys.stderr)
            return 2
        if any(re.search(rf"^revision = ['\"]{rev_id}['\"]", p.read_text(), re.M) for p in directory.glob("*.py")):
            print(f"A revision {rev_id} exists already in {directory}: choose another message.", file=sys.stderr)
            return 2
    else:
        shipped = built_on_initial(args.package)
        if shipped:
            print(f"Refusing to regenerate {args.package}'s initial revision: later revisions are built on it "
                  f"({', '.join(shipped)}), so it has shipped and databases have applied it. Rewriting it would not "
                  f"change those databases, and deleting it breaks the revisions built on it.\n"
                  f"Add a revision for your model changes instead:\n"
                  f'    python scripts/makemigration.py {args.package} --new "what changed"', file=sys.stderr)
            return 2
        for old in directory.glob(f"{args.package}_initial*.py"):
            old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/m.db")
        with engine.begin() as conn:
            cfg = alembic_config(conn)
            command.upgrade(cfg, "heads")
            cfg.attributes["only_tables"] = tables_of(args.package)
            existing = [p for p in directory.glob("*.py")]
            kwargs = dict(message=args.message, autogenerate=True, version_path=str(directory))
            if existing:
                # The package's own newest revision: "<package>@head" is ambiguous for "app", because every other
                # branch starts from app's initial revision.
                kwargs["head"] = _branch_head(cfg, directory)
            else:
                kwargs["branch_label"] = args.package
                kwargs["head"] = "app@head" if args.package != "app" else "base"
            kwargs["rev_id"] = rev_id
            if args.new:  # named like the revisions already there: <rev_id>.py
                cfg.set_main_option("file_template", "%%(rev)s")
            command.revision(cfg, **kwargs)
    print(f"Wrote migration {rev_id} for {args.package} in {directory}")
    return 0


def _branch_head(cfg, directory: Path) -> str:
    from alembic.script import ScriptDirectory

    mine = [r for r in ScriptDirectory.from_config(cfg).walk_revisions()
            if Path(r.path).resolve().parent == directory.resolve()]
    parents = {d for r in mine for d in ((r.down_revision,) if isinstance(r.down_revision, str)
                                        else (r.down_revision or ()))}
    heads = [r.revision for r in mine if r.revision not in parents]
    if len(heads) != 1:
        raise SystemExit(f"expected one head in {directory}, found {heads}")
    return heads[0]


if __name__ == "__main__":
    sys.exit(main())
