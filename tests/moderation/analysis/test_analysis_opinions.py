"""Opinion groups: planted groups, statements, exclusions, trivial inputs, a real Polis conversation."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from moderation.analysis.opinions import opinion_groups, parse_vote

POLIS = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "polis"


def planted_votes(n_per_group=40, n_groups=3, n_statements=30, participation=0.6, seed=0):
    """Groups disagree on statements 0..19 (each group has its own stance), all
    agree on 20..24 (consensus), and statements 25..29 are noise."""
    rng = np.random.default_rng(seed)
    stance = rng.choice([-1, 1], size=(n_groups, n_statements))
    for g in range(n_groups):  # make group g the only one agreeing with statement g
        stance[:, g] = -1
        stance[g, g] = 1
    stance[:, 20:25] = 1
    votes, truth = [], {}
    for g in range(n_groups):
        for j in range(n_per_group):
            pid = f"p{g}-{j}"
            truth[pid] = g
            for c in range(n_statements):
                if rng.random() > participation and c >= n_groups:
                    continue
                if c >= 25:
                    v = int(rng.choice([-1, 0, 1]))
                else:
                    r = rng.random()
                    v = int(stance[g, c]) if r < 0.85 else (0 if r < 0.93 else -int(stance[g, c]))
                votes.append((pid, c, v))
    return votes, truth


def test_planted_groups_are_recovered():
    votes, truth = planted_votes()
    res = opinion_groups(votes)
    assert len(res.groups) == 3
    ids = list(truth)
    assert adjusted_rand_score([truth[p] for p in ids], [res.participant_group[p] for p in ids]) > 0.9
    assert sum(g.size for g in res.groups) == len(truth)
    assert [g.id for g in res.groups] == list(range(3))
    assert set(res.coords) == set(truth)
    assert all(len(xy) == 2 and all(np.isfinite(xy)) for xy in res.coords.values())
    assert res.silhouette is not None and res.silhouette > 0.3


def test_noisy_votes_give_steadier_groups_whatever_the_seed(monkeypatch):
    """Officials re-running an analysis must not see the groups reshuffle because a
    k-means start changed: the grouping kept is the one most starts agree on.

    Which noisy inputs make a single start seed-sensitive varies with the numerical
    libraries' versions, so the check looks through a dozen of them and judges the first
    four where one start does depend on the seed (so it can fail).  The kept grouping is
    not always identical (two groupings can be near-equally common), but it is much
    steadier: with numpy 2.4 / scikit-learn 1.9 the worst agreement rises from
    0.66-0.83 to 0.84-1.0."""
    import moderation.analysis.opinions as opinions

    def agreement(votes, people):
        """The worst agreement (adjusted Rand index) between the groupings of 6 seeds."""
        results = [opinion_groups(votes, seed=s) for s in range(6)]
        parts = [[r.participant_group.get(p, -1) for p in people] for r in results]
        return min(adjusted_rand_score(parts[0], other) for other in parts[1:])

    single, kept = [], []
    for noise in range(12):
        if len(single) == 4:
            break
        votes, truth = planted_votes(100, 3, 10, seed=1)
        rng = np.random.default_rng(noise)
        votes = [(p, c, v if rng.random() > 0.35 else -v) for p, c, v in votes]  # a third of votes flipped
        people = list(truth)
        with monkeypatch.context() as m:
            m.setattr(opinions, "_RUNS", 1)
            one_start = agreement(votes, people)
        if one_start < 0.9:
            single.append(one_start)
            kept.append(agreement(votes, people))
    assert len(single) >= 3, "too few seed-sensitive inputs: the check would prove nothing"
    assert np.mean(kept) >= np.mean(single) + 0.08, (single, kept)
    assert sum(k >= 0.95 for k in kept) >= len(kept) / 2, (single, kept)
    assert min(kept) >= min(single), (single, kept)


def test_representative_consensus_and_divisive_statements():
    votes, truth = planted_votes()
    res = opinion_groups(votes)
    # map our group ids to planted ones
    planted_of = {}
    for g in res.groups:
        planted_of[g.id] = max(set(truth[p] for p in g.members), key=[truth[p] for p in g.members].count)
    for gid, reps in res.representative.items():
        assert reps, f"group {gid} has no representative statements"
        for r in reps:
            assert r.p_value < 0.05 and r.group_share > r.other_share
            assert r.direction in ("agree", "disagree") and r.test in ("z", "fisher")
            assert 0 < r.group_votes and 0 < r.other_votes
            if r.direction == "agree":
                assert r.group_agree_share == r.group_share and r.other_agree_share == r.other_share
            assert 0.0 <= r.group_agree_share <= 1.0 and 0.0 <= r.other_agree_share <= 1.0
        assert [r.p_value for r in reps] == sorted(r.p_value for r in reps)
        # the statement only this planted group agrees with is among its representative ones
        assert any(r.comment_id == planted_of[gid] and r.direction == "agree" for r in reps)
    cons = {c.comment_id for c in res.consensus if c.direction == "agree"}
    assert len(cons & set(range(20, 25))) >= 4
    for c in res.consensus:
        assert c.min_share >= 0.6 and set(c.shares) == {0, 1, 2}
    assert res.divisive and res.divisive[0].spread > 1.0
    assert all(d.comment_id not in range(20, 25) for d in res.divisive[:3])


def test_participants_with_too_few_votes_are_excluded():
    votes, truth = planted_votes()
    votes += [("lurker", 0, 1), ("lurker", 1, -1), ("shy", 5, 0)]
    res = opinion_groups(votes, min_votes=7)
    assert "lurker" not in res.participant_group and "shy" not in res.coords
    assert set(res.excluded) == {"lurker", "shy"}
    assert res.n_participants == len(truth) + 2


def test_latest_vote_wins_and_polis_vote_values():
    assert parse_vote("1") == 1 and parse_vote("-1") == -1 and parse_vote("0") == 0
    assert parse_vote("agree") == 1 and parse_vote(-1.0) == -1 and parse_vote("pass") == 0
    with pytest.raises(ValueError):
        parse_vote("maybe")
    votes, truth = planted_votes()
    flipped = votes + [(p, c, -v) for p, c, v in votes if truth[p] == 0]
    res = opinion_groups(flipped)
    assert len(res.groups) >= 2


@pytest.mark.parametrize("votes", [[], [("a", 1, 1)], [("a", 1, 1), ("b", 1, -1)]])
def test_trivial_inputs_give_clear_results(votes):
    res = opinion_groups(votes)
    assert res.note
    assert len(res.groups) <= 1
    assert res.representative == {g.id: [] for g in res.groups}


def test_one_statement_and_identical_voters():
    one = opinion_groups([(f"p{i}", "s", 1 if i < 5 else -1) for i in range(10)])
    assert len(one.groups) == 2 and one.groups[0].size == one.groups[1].size == 5
    same = opinion_groups([(f"p{i}", c, 1) for i in range(10) for c in range(8)])
    assert len(same.groups) == 1 and same.groups[0].size == 10 and "same" in same.note
    assert {c.comment_id for c in same.consensus} == set(range(8))  # everybody agrees with everything


def test_moderated_statements_can_be_excluded():
    votes, truth = planted_votes()
    res = opinion_groups(votes, exclude_comments=set(range(20)))
    assert res.n_statements == 10
    assert all(r.comment_id >= 20 for reps in res.representative.values() for r in reps)


@pytest.mark.skipif(not (POLIS / "brexit-consensus" / "votes.csv").exists(), reason="Polis data not available")
def test_real_polis_conversation_matches_polis_groups_reasonably():
    conv = POLIS / "brexit-consensus"
    with open(conv / "votes.csv", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["timestamp"]))
    with open(conv / "comments.csv", encoding="utf-8") as f:
        moderated_out = {r["comment-id"] for r in csv.DictReader(f) if r["moderated"] == "-1"}
    with open(conv / "participants-votes.csv", encoding="utf-8") as f:
        polis = {r["participant"]: r["group-id"] for r in csv.DictReader(f) if r["group-id"]}
    res = opinion_groups([(r["voter-id"], r["comment-id"], r["vote"]) for r in rows], exclude_comments=moderated_out)
    both = [p for p in polis if p in res.participant_group]
    assert len(both) >= 0.8 * len(polis)
    ari = adjusted_rand_score([polis[p] for p in both], [res.participant_group[p] for p in both])
    assert ari > 0.4, ari
    assert any(res.representative.values())


def test_excluded_statements_damp_the_sparsity_scaling_as_in_polis():
    """Polis zeroes moderated-out columns: they count as statements and as votes of
    everybody, so sqrt((n + n_x) / (n_votes + n_x)) replaces sqrt(n / n_votes)."""
    votes, _ = planted_votes()
    sparse = [("late", c, 1) for c in range(3, 10)]  # 7 votes of 30 statements
    extra = [(f"p0-{j}", f"x{i}", 1) for j in range(3) for i in range(10)]  # 10 excluded, voted-on statements
    excl = {f"x{i}" for i in range(10)}
    damped = opinion_groups(votes + sparse + extra, exclude_comments=excl)
    plain = opinion_groups(votes + sparse + extra, exclude_comments=excl, scale_with_excluded=False)
    bare = opinion_groups(votes + sparse, exclude_comments=excl)  # no excluded statement got a vote
    assert damped.n_statements == plain.n_statements == bare.n_statements == 30
    r_d, r_p = np.hypot(*damped.coords["late"]), np.hypot(*plain.coords["late"])
    assert r_d == pytest.approx(r_p * np.sqrt((40 / 17) / (30 / 7)), rel=1e-6)
    assert np.allclose(plain.coords["late"], bare.coords["late"])


def test_votes_on_moderated_out_statements_count_towards_placement():
    """Polis counts every vote (moderated-out statements too) to decide who is in the conversation,
    but moderated-out statements never shape the map or the statement lists."""
    votes, truth = planted_votes()
    excl = {"x0", "x1", "x2"}
    votes += [("mixed", c, 1) for c in range(3, 8)] + [("mixed", "x0", 1), ("mixed", "x1", -1)]
    votes += [("five", c, 1) for c in range(3, 8)]
    votes += [("only-moderated", x, 1) for x in excl]
    res = opinion_groups(votes, min_votes=7, exclude_comments=excl)
    assert "mixed" in res.participant_group  # 5 + 2 votes
    assert "five" in res.excluded and "five" not in res.coords
    assert "only-moderated" not in res.coords  # nothing to place them by
    assert res.n_statements == 30
    listed = [r.comment_id for reps in res.representative.values() for r in reps]
    listed += [s.comment_id for s in res.consensus] + [s.comment_id for s in res.divisive]
    assert not set(listed) & excl


def test_small_conversations_are_topped_up_with_the_most_active_participants():
    """Fewer than 15 participants reach the vote threshold: as in Polis, the most active of the
    others are placed too, up to 15; the least active stay out."""
    rng = np.random.default_rng(1)
    votes = [(f"full{i}", c, int(rng.choice([-1, 1]))) for i in range(5) for c in range(30)]
    counts = [6, 6, 6, 5, 5, 5, 4, 4, 4, 4] + [3, 3, 2, 2, 2, 1, 1, 1, 1, 1]
    for i, n in enumerate(counts):
        votes += [(f"low{i}", c, int(rng.choice([-1, 1]))) for c in range(n)]
    res = opinion_groups(votes, min_votes=7)
    placed = set(res.participant_group)
    assert len(placed) == 15
    assert placed == {f"full{i}" for i in range(5)} | {f"low{i}" for i in range(10)}
    assert set(res.excluded) == {f"low{i}" for i in range(10, 20)}
    strict = opinion_groups(votes, min_votes=7, min_participants=0)
    assert set(strict.participant_group) == {f"full{i}" for i in range(5)}


def _three_camps(n_per_camp, seed=0):
    rng = np.random.default_rng(seed)
    stance = np.array([[1] * 4 + [-1] * 8, [-1] * 4 + [1] * 4 + [-1] * 4, [-1] * 8 + [1] * 4])
    votes = []
    for g in range(3):
        for j in range(n_per_camp[g]):
            for c in range(12):
                v = int(stance[g, c]) if rng.random() < 0.9 else 0
                votes.append((f"g{g}-{j}", c, v))
    return votes


def test_small_conversations_get_at_most_two_groups_as_in_polis():
    """Polis allows at most 2 + (number of base clusters) // 12 groups: three clear camps of a
    dozen people in all give 2 groups, the same camps with 3 dozen people give 3."""
    small = opinion_groups(_three_camps([4, 4, 3]))
    assert len(small.participant_group) == 11 and len(small.groups) == 2
    large = opinion_groups(_three_camps([12, 12, 12]))
    assert len(large.groups) == 3


def test_participants_below_the_threshold_still_inform_the_map():
    """As in Polis the map's axes and the fill-in means come from everybody who voted; only the
    participants with enough votes are placed on it."""
    votes, truth = planted_votes()
    rng = np.random.default_rng(3)
    lurkers = [(f"lurker{i}", c, int(rng.choice([-1, 1]))) for i in range(40) for c in rng.choice(30, 3, replace=False)]
    with_lurkers = opinion_groups(votes + lurkers, min_votes=7)
    without = opinion_groups(votes, min_votes=7)
    assert set(with_lurkers.participant_group) == set(without.participant_group) == set(truth)
    assert len(with_lurkers.excluded) == 40
    moved = max(np.hypot(*np.subtract(with_lurkers.coords[p], without.coords[p])) for p in truth)
    assert moved > 1e-3


def test_every_participant_is_in_the_group_whose_centre_is_nearest_on_the_map():
    """Base clusters only choose how many groups there are; the groups themselves are drawn on
    the participants' own points, so nobody on the map sits nearer another group's centre than
    their own (with base clusters alone, people at a base cluster's edge could)."""
    votes, truth = planted_votes(100, 3, 10, seed=1)
    rng = np.random.default_rng(0)
    votes = [(p, c, v if rng.random() > 0.35 else -v) for p, c, v in votes]  # a third of votes flipped
    res = opinion_groups(votes)
    assert len(res.participant_group) > 100  # more people than base clusters
    xy = {p: np.array(res.coords[p]) for p in res.participant_group}
    centres = {g.id: np.mean([xy[p] for p in g.members], axis=0) for g in res.groups}
    for p, g in res.participant_group.items():
        own = np.linalg.norm(xy[p] - centres[g])
        assert all(own <= np.linalg.norm(xy[p] - c) + 1e-6 for h, c in centres.items() if h != g), p
