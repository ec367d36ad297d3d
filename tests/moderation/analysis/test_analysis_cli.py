"""`civic feedback` CLI: writes the theme column / participant,group file, clear errors."""
from __future__ import annotations

import argparse
import csv

import pytest

from moderation.analysis import cli


def run(argv) -> int:
    parser = argparse.ArgumentParser(prog="civic")
    sub = parser.add_subparsers(dest="command")
    cli.register(sub)
    args = parser.parse_args(argv)
    return args.handler(args, None)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_themes_writes_input_rows_plus_theme_column(tmp_path, capsys):
    rows = [("1", "The bus is always late"), ("2", "More buses please, the bus is late"), ("3", "Plant trees in the park"),
            ("4", "The park needs more trees"), ("5", ""), ("6", "公車常常誤點"), ("7", "Bus late again, so late")]
    src = tmp_path / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "body"])
        w.writerows(rows)
    out = tmp_path / "out.csv"
    assert run(["feedback", "themes", "--input", str(src), "--text-column", "body", "--output", str(out), "--k", "2"]) == 0
    with open(out, encoding="utf-8") as f:
        got = list(csv.DictReader(f))
    assert [r["id"] for r in got] == [r[0] for r in rows]
    assert [r["body"] for r in got] == [r[1] for r in rows]
    themes = [int(r["theme"]) for r in got]
    assert themes[4] == -1 and all(t in (0, 1) for i, t in enumerate(themes) if i != 4)
    assert themes[0] == themes[1] == themes[6] and themes[2] == themes[3] != themes[0]
    assert "wrote" in capsys.readouterr().err


def test_opinion_groups_writes_participant_group(tmp_path):
    lines = ["timestamp,datetime,comment-id,voter-id,vote"]
    t = 0
    for p in range(30):
        for c in range(10):
            t += 1
            v = (1 if c < 5 else -1) if p < 15 else (-1 if c < 5 else 1)
            if (p + c) % 7 == 0:
                v = 0
            lines.append(f"{t},x,{c},{p},{v}")
    lines.append(f"{t + 1},x,0,99,1")  # one vote only: not placed
    src = write(tmp_path / "votes.csv", "\n".join(lines) + "\n")
    out = tmp_path / "groups.csv"
    assert run(["feedback", "opinion-groups", "--votes", src, "--output", str(out)]) == 0
    with open(out, encoding="utf-8") as f:
        got = list(csv.DictReader(f))
    assert list(got[0]) == ["participant", "group"]
    groups = {r["participant"]: int(r["group"]) for r in got}
    assert set(groups) == {str(p) for p in range(30)}
    assert len({groups[str(p)] for p in range(15)}) == 1 and len({groups[str(p)] for p in range(15, 30)}) == 1
    assert groups["0"] != groups["29"]


@pytest.mark.parametrize("content, column, fragment", [
    ("id,text\n1,hello\n", "body", "column 'body' not found"),
    ("", "body", "is empty"),
    ('id,text\n1,"unterminated\n', "text", "not a well-formed CSV"),
    ("id,text\n1,hello,extra,fields\n", "text", "more fields than header"),
])
def test_themes_malformed_input_gives_exit_2_and_hint(tmp_path, capsys, content, column, fragment):
    src = write(tmp_path / "bad.csv", content)
    code = run(["feedback", "themes", "--input", src, "--text-column", column, "--output", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err and "hint:" in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_themes_missing_file_and_binary_file(tmp_path, capsys):
    assert run(["feedback", "themes", "--input", str(tmp_path / "nope.csv"), "--text-column", "t", "--output", str(tmp_path / "o.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "bin.csv").write_bytes(b"\x89PNG\x00\x00\xff\xfe")
    assert run(["feedback", "themes", "--input", str(tmp_path / "bin.csv"), "--text-column", "t", "--output", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "hint:" in err


@pytest.mark.parametrize("content, fragment", [
    ("voter,comment\n1,2\n", "lacks the column"),
    ("voter-id,comment-id,vote\n1,2,yes\n", "is not 1, -1 or 0"),
    ("voter-id,comment-id,vote\n,2,1\n", "empty voter or comment id"),
])
def test_opinion_groups_malformed_votes(tmp_path, capsys, content, fragment):
    src = write(tmp_path / "votes.csv", content)
    assert run(["feedback", "opinion-groups", "--votes", src, "--output", str(tmp_path / "g.csv")]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "hint:" in err and "Traceback" not in err


def test_output_folder_missing(tmp_path, capsys):
    src = write(tmp_path / "in.csv", "text\nhello\nworld\n")
    assert run(["feedback", "themes", "--input", src, "--text-column", "text", "--output", str(tmp_path / "no" / "o.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_every_subcommand_sets_a_handler():
    parser = argparse.ArgumentParser(prog="civic")
    sub = parser.add_subparsers(dest="command")
    cli.register(sub)
    for argv in (["feedback", "themes", "--input", "a", "--text-column", "b", "--output", "c"],
                 ["feedback", "opinion-groups", "--votes", "a", "--output", "b"]):
        assert callable(parser.parse_args(argv).handler)
