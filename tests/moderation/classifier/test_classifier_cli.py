from __future__ import annotations

import argparse
import csv
from types import SimpleNamespace

import pytest

from moderation import cli


def _run(argv, data_dir):
    parser = argparse.ArgumentParser(prog="civic")
    sub = parser.add_subparsers(dest="command")
    cli.register(sub)
    args = parser.parse_args(argv)
    return args.handler(args, SimpleNamespace(data_dir=data_dir))


@pytest.fixture()
def labelled_csv(tmp_path):
    path = tmp_path / "labelled.csv"
    rows = [
        ("1", "you are a fucking idiot", "1"),
        ("2", "thank you for organising the park cleanup", "0"),
        ("3", "shut up you stupid bitch", "1"),
        ("4", "the meeting is on tuesday at the library", "0"),
        ("5", "你这个傻逼", "1"),
        ("6", "谢谢大家的支持，我们一起努力", "0"),
        ("7", "", "0"),
    ]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "body", "label"])
        w.writerows(rows)
    return path


def test_score_writes_input_rows_plus_score(tiny_model_dir, labelled_csv, tmp_path, capsys):
    out = tmp_path / "scored.csv"
    rc = _run(["moderation", "score", "--input", str(labelled_csv), "--text-column", "body", "--output", str(out)], tiny_model_dir)
    assert rc == 0
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["id", "body", "label", "score", "route", "category"]
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5", "6", "7"]
    scores = {r["id"]: float(r["score"]) for r in rows}
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    assert scores["1"] > scores["2"] and scores["3"] > scores["4"]
    assert {r["route"] for r in rows} <= {"publish", "review", "hold"}
    assert {r["category"] for r in rows} <= {"", "insult", "threat", "hate", "sexual", "intimidation", "selfharm"}
    printed = capsys.readouterr().out
    assert "scored 7 rows" in printed and "routes: publish" in printed


def test_score_routes_a_threat_to_hold_and_names_its_category(tiny_model_dir, tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text("text\nI know where you live and you will regret this vote\nThe bus timetable changes on Monday\n",
                   encoding="utf-8")
    out = tmp_path / "scored.csv"
    assert _run(["moderation", "score", "--input", str(src), "--text-column", "text", "--output", str(out)], tiny_model_dir) == 0
    with open(out, newline="", encoding="utf-8") as fh:
        threat, bus = list(csv.DictReader(fh))
    assert (threat["route"], threat["category"]) == ("hold", "threat")
    assert (bus["route"], bus["category"]) == ("publish", "")


def test_evaluate_prints_auc_and_threshold_metrics(tiny_model_dir, labelled_csv, capsys):
    rc = _run(["moderation", "evaluate", "--data", str(labelled_csv), "--text-column", "body", "--label-column", "label"], tiny_model_dir)
    out = capsys.readouterr().out
    assert rc == 0
    assert "ROC-AUC: " in out
    auc = float(out.split("ROC-AUC: ")[1].split()[0])
    assert 0.5 < auc <= 1.0
    for level in ("review", "hold"):
        line = next(l for l in out.splitlines() if l.startswith(level))
        assert "precision" in line and "recall" in line and "F1" in line


@pytest.mark.parametrize("command", ["score", "evaluate"])
def test_missing_column_is_a_clear_error(tiny_model_dir, labelled_csv, tmp_path, capsys, command):
    if command == "score":
        argv = ["moderation", "score", "--input", str(labelled_csv), "--text-column", "text", "--output", str(tmp_path / "o.csv")]
    else:
        argv = ["moderation", "evaluate", "--data", str(labelled_csv), "--text-column", "body", "--label-column", "is_abusive"]
    rc = _run(argv, tiny_model_dir)
    err = capsys.readouterr().err
    assert rc == 2
    assert "missing column" in err and ("'text'" in err or "'is_abusive'" in err)
    assert "available: 'id', 'body', 'label'" in err
    assert not (tmp_path / "o.csv").exists()


def test_malformed_inputs_are_clear_errors(tiny_model_dir, tmp_path, capsys):
    bad_label = tmp_path / "bad_label.csv"
    bad_label.write_text("body,label\nhello,maybe\n", encoding="utf-8")
    rc = _run(["moderation", "evaluate", "--data", str(bad_label), "--text-column", "body", "--label-column", "label"], tiny_model_dir)
    assert rc == 2 and "not 0/1" in capsys.readouterr().err

    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    rc = _run(["moderation", "evaluate", "--data", str(binary), "--text-column", "body", "--label-column", "label"], tiny_model_dir)
    assert rc == 2 and "not UTF-8" in capsys.readouterr().err

    rc = _run(["moderation", "score", "--input", str(tmp_path / "nope.csv"), "--text-column", "b", "--output", str(tmp_path / "o.csv")], tiny_model_dir)
    assert rc == 2 and "no such file" in capsys.readouterr().err


def test_commands_without_model_explain_how_to_train(tmp_path, labelled_csv, capsys):
    rc = _run(["moderation", "evaluate", "--data", str(labelled_csv), "--text-column", "body", "--label-column", "label"], tmp_path)
    assert rc == 2 and "civic moderation train" in capsys.readouterr().err


def test_train_command_prints_version_and_metrics(tmp_path, capsys):
    rc = _run(["moderation", "train", "--sample", "300"], tmp_path)
    out = capsys.readouterr().out
    assert rc == 0
    assert out.startswith("version: abuse-")
    assert "held-out test metrics" in out and "ROC-AUC" in out and "cold" in out
