"""`civic consultations ...` commands."""
from __future__ import annotations

import sys
from pathlib import Path


def cmd_import_polis(args, settings) -> int:
    # deferred: `civic --help` imports this module to list the command; it stays free of SQLAlchemy and alembic
    from app.db import make_engine, unit_of_work
    from app.errors import ValidationFailed
    from app.migrate import upgrade
    from app.progress import Progress

    from . import polis  # deferred: imports this domain's tables (app.cli has loaded every other package)

    directory = Path(args.directory)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    try:
        with Progress(f"Importing {directory.name}") as progress, unit_of_work(engine) as session:
            result = polis.import_polis(session, directory=directory, title=args.title,
                                        department_code=args.department, state=args.state, progress=progress)
    except ValidationFailed as exc:
        for message in exc.errors.values():
            print(f"error: {message}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"Imported consultation {result.consultation_id}: {result.comments} comments, {result.votes} votes "
          f"({result.vote_events} vote events) from {result.participants} participants.")
    return 0


def register(subparsers) -> None:
    """Add the `consultations` command group."""
    group = subparsers.add_parser("consultations", help="consultations commands")
    sub = group.add_subparsers(dest="consultations_command", metavar="COMMAND")
    imp = sub.add_parser("import-polis", help="load a Polis open-data export (comments.csv, votes.csv) into a new "
                                              "consultation")
    imp.add_argument("directory", help="directory holding comments.csv and votes.csv (and optionally summary.csv)")
    imp.add_argument("--title", default=None, help="consultation title (default: the export's topic)")
    imp.add_argument("--department", default=None, help="department code, e.g. transport")
    imp.add_argument("--state", default="closed", choices=["open", "closed"],
                     help="state of the new consultation (default: closed, as the conversation has ended)")
    imp.set_defaults(handler=cmd_import_polis)
