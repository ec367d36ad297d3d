"""Learning from decisions with a real (tiny) model: screening stores what the model said, decisions become
labels, and a retrain makes a new current version while the old one stays loadable."""
from __future__ import annotations

import shutil

import pytest

from app.db import unit_of_work
from moderation import ContentRef, Decision, Route, screen_content
from moderation.classifier import load_version, train_to_dir
from moderation.classifier.artifacts import current_version
from moderation.facade import ClassifierHolder
from moderation.learning import cmd_retrain, decision_examples, label_counts
from moderation.service import DecisionInput, decide_case

SAMPLE = 300


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A small model trained once for this module (a few seconds)."""
    root = tmp_path_factory.mktemp("tiny-model")
    version = train_to_dir(root, sample=SAMPLE)
    return root, version


@pytest.fixture
def classifier(settings, tiny_model):
    root, _version = tiny_model
    shutil.copytree(root / "models", settings.data_dir / "models")
    return ClassifierHolder(settings.data_dir)


def uow(app):
    s = app.state
    return unit_of_work(s.engine, s.unit_context)


def test_real_model_screening_stores_score_version_and_explanation_for_any_input(app, tiny_model):
    _root, version = tiny_model
    texts = ["", "x" * 1_000_000, "\x00\xff\xfe binary", "<script>alert('x')</script>", "<b>you stupid idiot</b>",
             "你这个白痴，滚出去", "Mixed 中文 and English текст 😀", "Bonjour tout le monde"]
    with uow(app) as session:
        results = [screen_content(session, ContentRef(kind="comment", item_id=i, text=t)) for i, t in enumerate(texts)]
    for s in results:
        assert s.model_version == version and s.score is not None and 0.0 <= s.score <= 1.0
        assert s.route in set(Route) and s.language in {"en", "zh", "other"}
    abusive = results[4]
    assert abusive.explanation and all(isinstance(w, float) for _t, w, _c in abusive.explanation)
    assert abusive.category == "insult" and results[5].category == "insult"
    assert results[5].language == "zh"


def test_retrain_with_decisions_changes_the_version_and_keeps_the_old_one(app, client, settings, helpers, capsys,
                                                                          tiny_model):
    _root, old_version = tiny_model
    mod = helpers.add_user(app, "mod@example.org", role="moderator")
    abusive = ["you are a worthless idiot, get lost", "shut up you moron", "滚蛋，你这个蠢货"]
    fine = ["please add more benches in the park", "the bus timetable should change at night", "我支持在公园里多种树"]
    with uow(app) as session:
        for i, text in enumerate(abusive + fine):
            screen_content(session, ContentRef(kind="comment", item_id=i, text=text, strict=True))  # all queued
    with uow(app) as session:
        from sqlmodel import select

        from moderation.models import ModerationCase, ModerationItem

        cases = session.exec(select(ModerationCase, ModerationItem)
                             .join(ModerationItem, ModerationItem.id == ModerationCase.item_pk)).all()
        for case, item in cases:
            decision = Decision.HIDE if item.text in abusive else Decision.APPROVE
            decide_case(session, case_id=case.id, moderator_id=mod.id,
                        data=DecisionInput(decision=decision, reason_code="abuse"))
    with uow(app) as session:
        examples = decision_examples(session)
        counts = label_counts(session)
    assert sorted(examples) == sorted([(t, 1) for t in abusive] + [(t, 0) for t in fine])  # approvals are labels too
    assert counts.total == 6 and counts.positive == 3 and counts.by_language.get("zh") == 2

    from app.cli import build_parser

    args = build_parser().parse_args(["moderation", "retrain", "--sample", str(SAMPLE)])
    assert args.handler is cmd_retrain
    assert args.handler(args, settings) == 0
    out = capsys.readouterr().out
    assert f"Old version:       {old_version}" in out and "Candidate version:" in out and "ROC-AUC" in out
    new_version = current_version(settings.data_dir)
    assert "Promoted" in out and new_version != old_version
    assert load_version(settings.data_dir, old_version).available  # the old one stays loadable
    holder = app.state.unit_context.classifier
    assert holder.version == new_version  # the running app picks up the new CURRENT without a restart
    with uow(app) as session:
        s = screen_content(session, ContentRef(kind="comment", item_id=99, text="a new comment"))
    assert s.model_version == new_version
    helpers.sign_in(client, app, "mod2@example.org", role="moderator")
    page = client.get("/moderation/quality").text
    assert old_version in page and new_version in page and "Current" in page
