"""`civic feedback ...` commands: themes and opinion groups from CSV files.

    civic feedback themes --input comments.csv --text-column body --output themed.csv [--k 8]
    civic feedback opinion-groups --votes votes.csv --output groups.csv

Wire into the main CLI with ``register(subparsers)``; every handler has the
signature ``handler(args, settings) -> int`` (settings unused).  Problems with
the input (missing file, not a CSV, missing column, bad vote value) are
reported on stderr with what to do next and exit code 2 - never a traceback.
Also runnable on its own: ``python -m moderation.analysis.cli feedback ...``.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from app.progress import Progress

EXIT_USAGE = 2

VOTER_COLUMNS = ("voter-id", "voter_id", "participant", "participant_id", "participant-id")
COMMENT_COLUMNS = ("comment-id", "comment_id", "statement", "statement_id", "statement-id")
VOTE_COLUMNS = ("vote",)


class InputError(Exception):
    """A problem with the user's input; message says what is wrong and what to do."""


def register(subparsers) -> None:
    """Add the ``feedback`` command group to an argparse ``subparsers`` object."""
    fb = subparsers.add_parser("feedback", help="analyse consultation feedback (themes, opinion groups)",
                               description="Analyse consultation feedback locally: themes in comments, opinion groups from votes.")
    sub = fb.add_subparsers(dest="feedback_command", metavar="{themes,opinion-groups}")
    sub.required = True

    th = sub.add_parser("themes", help="cluster comments into themes; writes the rows plus a 'theme' column",
                        description="Group free-text comments into themes (English/Chinese). Writes every input row "
                                    "plus an integer 'theme' column (-1 = empty text). Near-duplicate campaigns are "
                                    "counted once while clustering.")
    th.add_argument("--input", required=True, help="CSV file with a header row")
    th.add_argument("--text-column", required=True, help="name of the column holding the comment text")
    th.add_argument("--output", required=True, help="CSV file to write")
    th.add_argument("--k", type=int, default=None, help="number of themes (default: chosen automatically, 2-60)")
    th.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    th.set_defaults(handler=themes_command)

    og = sub.add_parser("opinion-groups", help="find opinion groups from Polis-style votes; writes participant,group",
                        description="Find opinion groups from agree/disagree/pass votes (Polis votes.csv format: "
                                    "voter-id, comment-id, vote with 1 agree, -1 disagree, 0 pass). Writes "
                                    "'participant,group' for every participant placed in a group.")
    og.add_argument("--votes", required=True, help="votes CSV (columns voter-id, comment-id, vote; optional timestamp)")
    og.add_argument("--output", required=True, help="CSV file to write (participant,group)")
    og.add_argument("--min-votes", type=int, default=7, help="votes needed to be placed in a group (default 7)")
    og.add_argument("--max-groups", type=int, default=5, help="largest number of groups tried (default 5)")
    og.add_argument("--comments", default=None,
                    help="optional Polis comments.csv; statements with moderated = -1 are left out")
    og.add_argument("--no-sparsity-scaling", action="store_true",
                    help="do not apply Polis's sqrt(statements/votes) scaling of the map")
    og.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    og.set_defaults(handler=opinion_groups_command)


# --------------------------------------------------------------------------- helpers


def _error(message: str, hint: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    print(f"hint: {hint}", file=sys.stderr)
    return EXIT_USAGE


def _read_csv(path: str, what: str) -> tuple[list[str], list[dict]]:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} file {path!r} does not exist", "check the path (relative paths are from the current directory)")
    if p.is_dir():
        raise InputError(f"{what} path {path!r} is a directory", "pass a CSV file, not a folder")
    csv.field_size_limit(10**8)
    try:
        with open(p, newline="", encoding="utf-8-sig") as f:
            sample = f.read(4096)
            if "\x00" in sample:
                raise InputError(f"{what} file {path!r} looks binary, not like a CSV",
                                 "export the data as UTF-8 CSV with a header row")
            f.seek(0)
            reader = csv.DictReader(f, strict=True)
            header = reader.fieldnames
            if not header:
                raise InputError(f"{what} file {path!r} is empty", "the first line must be a header row naming the columns")
            rows = []
            for row in reader:
                if None in row:  # more fields than header names
                    raise InputError(f"{what} file {path!r}, line {reader.line_num}: more fields than header columns",
                                     "check the quoting of that line (fields containing commas must be in double quotes)")
                rows.append(row)
    except UnicodeDecodeError as e:
        raise InputError(f"{what} file {path!r} is not valid UTF-8 ({e.reason} at byte {e.start})",
                         "re-save the file as UTF-8 CSV") from None
    except csv.Error as e:
        raise InputError(f"{what} file {path!r} is not a well-formed CSV: {e}",
                         "check the quoting around the reported line, or re-export the file as CSV") from None
    return [h.strip() for h in header], rows


def _find_column(header: list[str], wanted: tuple[str, ...]) -> str | None:
    lower = {h.strip().lower(): h for h in header}
    for w in wanted:
        if w in lower:
            return lower[w]
    return None


def _open_output(path: str):
    p = Path(path)
    if p.parent and not p.parent.exists():
        raise InputError(f"output folder {str(p.parent)!r} does not exist", "create the folder first or choose another --output path")
    try:
        return open(p, "w", newline="", encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot write {path!r}: {e.strerror}", "choose a writable --output path")


# --------------------------------------------------------------------------- commands


def themes_command(args, settings=None) -> int:
    """Handler of ``civic feedback themes``."""
    from .themes import find_themes  # deferred: loads numpy/scipy/sklearn (seconds); `civic --help` needn't

    try:
        if args.k is not None and args.k < 1:
            raise InputError("--k must be at least 1", "omit --k to choose the number of themes automatically")
        header, rows = _read_csv(args.input, "input")
        col = args.text_column if args.text_column in header else _find_column(header, (args.text_column.strip().lower(),))
        if col is None:
            raise InputError(f"column {args.text_column!r} not found in {args.input!r}",
                             f"use --text-column with one of: {', '.join(header)}")
        if "theme" in header:
            raise InputError(f"{args.input!r} already has a 'theme' column",
                             "rename or drop that column first, so the result cannot be confused with it")
        texts = [(r.get(col) or "") for r in rows]
        with Progress("Themes", total=None) as prog:
            result = find_themes(texts, k=args.k, seed=args.seed, progress=prog.step)
        with _open_output(args.output) as f:
            w = csv.DictWriter(f, fieldnames=[*header, "theme"], extrasaction="ignore")
            w.writeheader()
            for r, t in zip(rows, result.assignments):
                w.writerow({**{h: r.get(h, "") for h in header}, "theme": t})
    except InputError as e:
        return _error(*e.args)
    summary = ", ".join(f"{t.id}: {t.label} ({t.size})" for t in result.themes[:20])
    print(f"{len(rows)} rows, {result.k} themes{' - ' + result.note if result.note else ''}: {summary}", file=sys.stderr)
    if result.campaigns:
        print(f"{len(result.campaigns)} near-duplicate groups; largest has {result.campaigns[0].size} copies", file=sys.stderr)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def opinion_groups_command(args, settings=None) -> int:
    """Handler of ``civic feedback opinion-groups``."""
    from .opinions import opinion_groups, parse_vote  # deferred: loads numpy/scipy/sklearn; `civic --help` needn't

    try:
        if args.min_votes < 1 or args.max_groups < 2:
            raise InputError("--min-votes must be >= 1 and --max-groups >= 2", "use the defaults (7 and 5) if unsure")
        header, rows = _read_csv(args.votes, "votes")
        cols = {name: _find_column(header, cands) for name, cands in
                (("voter", VOTER_COLUMNS), ("comment", COMMENT_COLUMNS), ("vote", VOTE_COLUMNS))}
        missing = [n for n, c in cols.items() if c is None]
        if missing:
            raise InputError(f"{args.votes!r} lacks the column(s) {', '.join(missing)} (found: {', '.join(header)})",
                             "expected a Polis votes.csv with columns voter-id, comment-id, vote")
        ts_col = _find_column(header, ("timestamp",))
        votes = []
        for line, r in enumerate(rows, start=2):
            try:
                v = parse_vote(r[cols["vote"]])
            except (ValueError, TypeError):
                raise InputError(f"{args.votes!r} line {line}: vote {r[cols['vote']]!r} is not 1, -1 or 0",
                                 "votes must be 1 (agree), -1 (disagree) or 0 (pass)") from None
            pid, cid = (r[cols["voter"]] or "").strip(), (r[cols["comment"]] or "").strip()
            if not pid or not cid:
                raise InputError(f"{args.votes!r} line {line}: empty voter or comment id", "every row needs both ids")
            ts = 0.0
            if ts_col:
                try:
                    ts = float(r[ts_col] or 0)
                except ValueError:
                    ts = 0.0
            votes.append((ts, pid, cid, v))
        votes.sort(key=lambda t: t[0])  # stable: later rows win on equal timestamps
        exclude = set()
        if args.comments:
            ch, crows = _read_csv(args.comments, "comments")
            idc, modc = _find_column(ch, COMMENT_COLUMNS), _find_column(ch, ("moderated",))
            if idc is None or modc is None:
                raise InputError(f"{args.comments!r} needs columns comment-id and moderated",
                                 "pass the Polis comments.csv, or leave out --comments")
            exclude = {(r[idc] or "").strip() for r in crows if (r[modc] or "").strip() == "-1"}
        with Progress("Opinion groups", total=None) as prog:
            prog.step(f"{len(votes)} votes")
            result = opinion_groups(((p, c, v) for _, p, c, v in votes), min_votes=args.min_votes,
                                    max_groups=args.max_groups, seed=args.seed, exclude_comments=exclude,
                                    sparsity_scaling=not getattr(args, "no_sparsity_scaling", False))
        with _open_output(args.output) as f:
            w = csv.writer(f)
            w.writerow(["participant", "group"])
            for pid, g in result.participant_group.items():
                w.writerow([pid, g])
    except InputError as e:
        return _error(*e.args)
    sizes = ", ".join(f"group {g.id}: {g.size}" for g in result.groups)
    print(f"{result.n_participants} participants, {len(result.participant_group)} placed in "
          f"{len(result.groups)} groups ({sizes}){' - ' + result.note if result.note else ''}", file=sys.stderr)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    """Stand-alone entry point (``python -m moderation.analysis.cli feedback ...``)."""
    parser = argparse.ArgumentParser(prog="civic")
    subparsers = parser.add_subparsers(dest="command", metavar="{feedback}")
    subparsers.required = True
    register(subparsers)
    args = parser.parse_args(argv)
    return args.handler(args, None)


if __name__ == "__main__":
    raise SystemExit(main())
