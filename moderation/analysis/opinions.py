"""Opinion groups from agree/disagree/pass votes, in the spirit of Polis.

Method (close to Polis's published math, ``polismath.math.conversation``, so
results can be compared with it):

1. Keep each participant's latest vote per statement.  Participants "in the
   conversation" are placed: those with at least ``min(min_votes, n)`` votes,
   where, as in Polis, votes on statements left out with ``exclude_comments``
   (moderated out) count too and ``n`` counts the statements that received a
   vote, left-out ones included.  If fewer than ``min_participants`` (15)
   qualify, the participants with the most votes are added until there are
   that many (Polis's greedy top-up).  The others are reported as excluded.
   (Unlike Polis, somebody whose only votes are on left-out statements is
   never placed: there is nothing to place them by.)
2. Participant x statement matrix (+1 agree, -1 disagree, 0 pass, missing =
   the statement's mean vote), PCA to 2-D.  As in Polis the PCA is fitted on
   every participant with a vote (the excluded ones too: they inform the
   statement means and axes but are not placed); the placed participants are
   projected.  Each projection is scaled by
   ``sqrt(n_statements / n_votes_of_participant)`` so people who voted on few
   statements are not all pulled to the centre; statements left out with
   ``exclude_comments`` that received votes count in both terms, because
   Polis zeroes such columns instead of dropping them.  These 2-D points are
   the map.
3. Up to 100 fine "base clusters" (k-means on the map), then the base
   clusters are grouped with k-means weighted by their sizes for
   k = 2..min(max_groups, 2 + n_base_clusters // 12) (Polis's cap, so small
   conversations get few groups); the k with the best silhouette of the
   base-cluster centres wins (as in Polis).  Polis warm-starts these k-means
   from its previous update and smooths k over updates; a one-shot run has no
   history, so it takes the best of several k-means++ starts instead, and does
   the whole of step 3 from 11 independent starts, keeping the grouping that
   agrees best with the others (so re-running does not reshuffle the groups).
   The base clusters only choose k: with it, the groups are settled by k-means
   on the participants' own points (started from the base-cluster grouping and
   from fresh starts, the tightest kept), so everybody is in the group whose
   centre is nearest to them.  (red-dwarf, the open reimplementation of
   Polis's math, clusters the people directly too.)
4. Statements are explained from raw vote counts only:
   * representative: a group agrees (or disagrees) more than everybody else,
     one-sided two-proportion z-test, or Fisher's exact test when counts are
     small; only p < 0.05, ranked by z;
   * consensus: every group agrees (or disagrees) at >= ``consensus_threshold``;
   * divisive: largest spread of the groups' net agreement.

Votes use the Polis export convention (votes.csv): +1 agree, -1 disagree,
0 pass; any positive/negative number or the strings "agree"/"disagree"/"pass"
are accepted too.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import fisher_exact, norm
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.utils.extmath import randomized_svd

from ._text import with_thread_limit

__all__ = [
    "OpinionGroup", "RepresentativeStatement", "ConsensusStatement", "DivisiveStatement",
    "OpinionResult", "opinion_groups", "parse_vote",
]

_BASE_CLUSTERS = 100
#: independently started groupings per analysis (see _group)
_RUNS = 11
_SIL_SAMPLE = 4000
#: fresh k-means++ starts when settling the groups on the participants (see _settle)
_SETTLE_STARTS = 5
#: exponent of Polis's sparsity scaling (n_statements / n_votes) ** _SCALE; 0 disables it
_SCALE = 0.5


def _kmeans(X, k, seed, weights=None, n_init=10):
    """k-means++ starts (``n_init`` of them); the best fit is kept."""
    km = KMeans(k, n_init=n_init, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return km.fit(X, sample_weight=weights)


@dataclass
class OpinionGroup:
    """An opinion group: ``id`` (0 = largest), ``size`` and member participant ids."""

    id: int
    size: int
    members: list = field(repr=False)


@dataclass
class RepresentativeStatement:
    """A statement a group agrees (or disagrees) with distinctly more than the rest.

    ``group_share`` / ``other_share`` are the share of the group's / everyone
    else's votes on this statement that are ``direction`` ("agree" or
    "disagree"; passes count in the denominator); ``group_votes`` /
    ``other_votes`` are those denominators; ``p_value`` is one-sided
    (``test`` = "z" for the two-proportion z-test or "fisher").
    ``group_agree_share`` / ``other_agree_share`` always give the agree shares,
    whatever the direction.
    """

    comment_id: Hashable
    direction: str
    group_share: float
    other_share: float
    group_votes: int
    other_votes: int
    p_value: float
    z: float
    test: str
    group_agree_share: float = 0.0
    other_agree_share: float = 0.0


@dataclass
class ConsensusStatement:
    """A statement every group agrees (or disagrees) with.

    ``shares[group_id] = (share of that group's votes in ``direction``, votes)``;
    ``min_share`` is the smallest of those shares (used for ranking).
    """

    comment_id: Hashable
    direction: str
    min_share: float
    shares: dict[int, tuple[float, int]]


@dataclass
class DivisiveStatement:
    """A statement the groups disagree on.

    ``net[group_id] = ((agrees - disagrees) / votes, votes)`` per group;
    ``spread`` = max - min of the net agreement (0..2), used for ranking.
    """

    comment_id: Hashable
    spread: float
    net: dict[int, tuple[float, int]]


@dataclass
class OpinionResult:
    """Result of :func:`opinion_groups`.

    Attributes:
        groups: opinion groups, largest first (``groups[i].id == i``).
        participant_group: participant id -> group id, for placed participants.
        coords: participant id -> (x, y) on the 2-D opinion map (placed ones).
        representative: group id -> significant representative statements, best first.
        consensus: statements all groups agree/disagree on, strongest first.
        divisive: statements that split the groups most, strongest first.
        n_participants: participants with at least one vote.
        excluded: participants with votes but fewer than the minimum (not placed).
        n_statements: statements with at least one vote.
        silhouette: silhouette of the chosen grouping on the map (None if < 2 groups).
        explained_variance: share of vote variance captured by the 2-D map.
        note: plain-language remark for trivial inputs, else "".
        note_code: stable code of ``note``: "no_votes", "few_votes",
            "few_participants", "unanimous" or "".
    """

    groups: list[OpinionGroup]
    participant_group: dict
    coords: dict
    representative: dict[int, list[RepresentativeStatement]]
    consensus: list[ConsensusStatement]
    divisive: list[DivisiveStatement]
    n_participants: int
    excluded: list = field(repr=False)
    n_statements: int
    silhouette: float | None = None
    explained_variance: float | None = None
    note: str = ""
    note_code: str = ""

    def __post_init__(self) -> None:
        if self.note and not self.note_code:
            self.note_code = next((c for p, c in _NOTE_CODES if self.note.startswith(p)), "")


_NOTE_CODES = (("no votes", "no_votes"), ("no participant", "few_votes"),
               ("fewer than 4", "few_participants"), ("everybody voted", "unanimous"))
_FAST_VOTES = {1: 1, -1: -1, 0: 0, "1": 1, "-1": -1, "0": 0}
_WORDS = {"agree": 1, "disagree": -1, "pass": 0, "skip": 0, "a": 1, "d": -1, "p": 0}


def parse_vote(value) -> int:
    """Map a vote value to +1 / -1 / 0 (Polis export convention: 1 agree, -1 disagree, 0 pass)."""
    if isinstance(value, str):
        v = value.strip().lower()
        if v in _WORDS:
            return _WORDS[v]
        value = float(v)  # raises ValueError for junk
    value = float(value)
    if math.isnan(value):
        raise ValueError("vote is NaN")
    return 1 if value > 0 else -1 if value < 0 else 0


def _one_sided_p(k1, n1, k2, n2):
    """z and one-sided p (group proportion > others) for arrays of counts."""
    p1 = k1 / np.maximum(n1, 1)
    p2 = k2 / np.maximum(n2, 1)
    pooled = (k1 + k2) / np.maximum(n1 + n2, 1)
    se = np.sqrt(pooled * (1 - pooled) * (1 / np.maximum(n1, 1) + 1 / np.maximum(n2, 1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (p1 - p2) / se, 0.0)
    return z, norm.sf(z)


@with_thread_limit
def opinion_groups(
    votes: Iterable[tuple[Hashable, Hashable, object]],
    *,
    min_votes: int = 7,
    max_groups: int = 5,
    seed: int = 0,
    consensus_threshold: float = 0.6,
    alpha: float = 0.05,
    max_statements: int = 10,
    exclude_comments: Iterable[Hashable] = (),
    sparsity_scaling: bool = True,
    scale_with_excluded: bool = True,
    min_participants: int = 15,
) -> OpinionResult:
    """Find opinion groups among participants from their votes.

    Args:
        votes: ``(participant_id, comment_id, vote)`` triples; ids are any
            hashable values; vote +1 agree, -1 disagree, 0 pass (see
            :func:`parse_vote`).  Later votes override earlier ones.
        min_votes: participants need ``min(min_votes, n)`` votes to be placed; as in
            Polis, votes on ``exclude_comments`` count and ``n`` includes the voted-on ones.
        max_groups: largest number of groups tried (2..max_groups).
        seed: random seed (deterministic for a given seed).
        consensus_threshold: share every group must reach to call a statement consensus.
        alpha: significance level for representative statements.
        max_statements: cap on representative (per group), consensus and divisive lists.
        exclude_comments: statement ids to ignore entirely (e.g. moderated out),
            as Polis leaves moderated-out statements out of its math.
        sparsity_scaling: apply Polis's ``sqrt(n_statements / n_votes)``
            scaling of the map coordinates (default, as Polis); False keeps the
            plain PCA projection.
        scale_with_excluded: count voted-on ``exclude_comments`` in that
            scaling as Polis does (it zeroes moderated-out columns instead of
            dropping them, so each counts as a statement *and* as a vote of
            every participant): the factor becomes
            ``sqrt((n_statements + n_excluded) / (n_votes + n_excluded))``.
            False uses only the kept statements.
        min_participants: if fewer participants reach ``min_votes``, the ones
            with the most votes (ties: the earliest) are placed too, up to this
            many (Polis's greedy top-up, 15); 0 disables it.

    Returns:
        An :class:`OpinionResult`.  With no placed participant there are no
        groups; with fewer than 4 placed participants, or when everybody voted
        identically, all placed participants form one group.
    """
    pids: dict = {}
    cids: dict = {}
    rows: list[int] = []
    cols: list[int] = []
    vals: list[int] = []
    excluded_c = set(exclude_comments)
    excluded_seen: set = set()  # excluded statements that did get votes (Polis keeps them as zero columns)
    excluded_votes: set = set()  # (participant, excluded statement) pairs: they count towards placement
    pset, cset, fast = pids.setdefault, cids.setdefault, _FAST_VOTES.get
    for pid, cid, v in votes:
        if excluded_c and cid in excluded_c:
            excluded_seen.add(cid)
            excluded_votes.add((pid, cid))
            continue
        x = fast(v) if isinstance(v, (int, str)) else None
        if x is None:
            x = parse_vote(v)
        rows.append(pset(pid, len(pids)))
        cols.append(cset(cid, len(cids)))
        vals.append(x)
    pid_list = list(pids)
    cid_list = list(cids)
    n_p, n_c = len(pid_list), len(cid_list)

    def trivial(note: str, members_idx=None, coords=None) -> OpinionResult:
        groups, pg = [], {}
        if members_idx is not None and len(members_idx):
            members = [pid_list[i] for i in members_idx]
            groups = [OpinionGroup(0, len(members), members)]
            pg = {m: 0 for m in members}
        placed = set(members_idx) if members_idx is not None else set()
        return OpinionResult(
            groups=groups, participant_group=pg, coords=coords or {}, representative={g.id: [] for g in groups},
            consensus=[], divisive=[], n_participants=n_p,
            excluded=[pid_list[i] for i in range(n_p) if i not in placed], n_statements=n_c, note=note,
        )

    if n_p == 0:
        return trivial("no votes")
    M = np.full((n_p, n_c), np.nan, dtype=np.float64)
    if vals:
        # keep the latest vote per (participant, statement): first occurrence in reversed order
        lin = (np.asarray(rows, dtype=np.int64) * n_c + np.asarray(cols, dtype=np.int64))[::-1]
        uniq, first = np.unique(lin, return_index=True)
        M.flat[uniq] = np.asarray(vals, dtype=np.float64)[::-1][first]
    observed = ~np.isnan(M)
    n_votes = observed.sum(axis=1)
    placed, need = _in_conversation(n_votes, excluded_votes, pids, n_c + len(excluded_seen),
                                    min_votes, min_participants)
    if len(placed) == 0:
        return trivial(f"no participant has at least {need} votes")

    A = M[placed]
    obs = observed[placed]
    # Polis fits the PCA on the whole vote matrix (everybody who voted), missing votes = column means
    col_mean = np.nansum(M, axis=0) / np.maximum(observed.sum(0), 1)
    Xc = np.where(observed, M - col_mean, 0.0)
    n_dims = min(2, n_c, len(placed))
    total = float((Xc**2).sum())
    if len(placed) >= 2 and total > 1e-12:
        if min(Xc.shape) > 300:
            U, S, _ = randomized_svd(Xc, n_dims, random_state=seed)
        else:
            U, S, _ = np.linalg.svd(Xc, full_matrices=False)
        proj = U[placed, :n_dims] * S[:n_dims]
        explained = float((S[:n_dims] ** 2).sum() / total)
        # Polis: scale by sqrt(n_statements / n_votes) so sparse voters are not pulled to the centre
        # Polis zeroes moderated-out columns rather than dropping them: each still counts as a
        # statement and as a (0) vote of everybody, which damps the scaling of sparse voters.
        if sparsity_scaling and _SCALE:
            n_x = len(excluded_seen) if scale_with_excluded else 0
            proj = proj * (((n_c + n_x) / np.maximum(obs.sum(1) + n_x, 1)) ** _SCALE)[:, None]
    else:
        proj = np.zeros((len(placed), n_dims))
        explained = None
    if proj.shape[1] < 2:
        proj = np.hstack([proj, np.zeros((len(placed), 2 - proj.shape[1]))])
    coords = {pid_list[i]: (float(proj[j, 0]), float(proj[j, 1])) for j, i in enumerate(placed)}

    n_distinct = len(np.unique(proj.round(9), axis=0))
    if len(placed) < 4 or n_distinct < 2:
        why = "fewer than 4 participants to compare" if len(placed) < 4 else "everybody voted the same way"
        res = trivial(f"{why}: one group", placed, coords)
        res.explained_variance = explained
        return _explain(res, A, obs, np.zeros(len(placed), dtype=np.int64), cid_list,
                        consensus_threshold, alpha, max_statements)

    labels, sil = _group(proj, n_distinct, max_groups, seed)
    # renumber by size
    sizes = np.bincount(labels)
    order = np.argsort(-sizes, kind="stable")
    remap = np.empty_like(order)
    remap[order] = np.arange(len(order))
    labels = remap[labels]
    groups = []
    pg = {}
    for g in range(len(order)):
        members = [pid_list[placed[j]] for j in np.nonzero(labels == g)[0]]
        groups.append(OpinionGroup(g, len(members), members))
        for m in members:
            pg[m] = g
    placed_set = set(placed.tolist())
    res = OpinionResult(
        groups=groups, participant_group=pg, coords=coords, representative={},
        consensus=[], divisive=[], n_participants=n_p,
        excluded=[pid_list[i] for i in range(n_p) if i not in placed_set],
        n_statements=n_c, silhouette=sil, explained_variance=explained,
    )
    return _explain(res, A, obs, labels, cid_list, consensus_threshold, alpha, max_statements)


def _in_conversation(n_votes: np.ndarray, excluded_votes: set, pids: dict, n_statements: int,
                     min_votes: int, min_participants: int) -> tuple[np.ndarray, int]:
    """Indices of the participants to place (Polis's "in-conv"), and the vote threshold.

    ``n_votes``: each participant's votes on kept statements; votes on excluded
    statements (``excluded_votes`` pairs) count too, as Polis counts the raw
    matrix.  Threshold ``min(min_votes, n_statements)``; then the greedy top-up
    to ``min_participants`` by vote count, earliest participant first on ties.
    """
    counts = n_votes.astype(np.int64)  # a copy
    for pid, _ in excluded_votes:
        i = pids.get(pid)
        if i is not None:
            counts[i] += 1
    need = max(min(min_votes, n_statements), 1)
    inconv = counts >= need
    short = min(min_participants, len(counts)) - int(inconv.sum())
    if short > 0:
        rest = np.nonzero(~inconv)[0]
        top = rest[np.argsort(-counts[rest], kind="stable")[:short]]
        inconv[top] = True
    return np.nonzero(inconv)[0], need


def _group(proj: np.ndarray, n_distinct: int, max_groups: int, seed: int) -> tuple[np.ndarray, float | None]:
    """Group the map; of ``_RUNS`` independently started groupings keep the most typical one.

    On weakly structured maps a single k-means run can land on any of several
    partitions (and number of groups) depending on its random start, so the
    groups officials see would change with the seed.  The grouping that agrees
    best (summed adjusted Rand index) with all the others is the medoid of the
    runs: the answer most starts lead to.
    """
    seeds = np.random.SeedSequence(seed).generate_state(_RUNS)
    runs = [_group_once(proj, n_distinct, max_groups, int(s)) for s in seeds]
    if len(runs) == 1:
        return runs[0]
    agree = np.zeros(len(runs))
    for i in range(len(runs)):
        for j in range(i + 1, len(runs)):
            a = adjusted_rand_score(runs[i][0], runs[j][0])
            agree[i] += a
            agree[j] += a
    return runs[int(np.argmax(agree))]


def _group_once(proj: np.ndarray, n_distinct: int, max_groups: int, seed: int) -> tuple[np.ndarray, float | None]:
    """One grouping of the map (``n_distinct``: its number of distinct points) from one random start."""
    n = proj.shape[0]
    n_base = min(_BASE_CLUSTERS, n_distinct)
    if n_base < n:
        base = _kmeans(proj, n_base, seed, n_init=2)
        centres, base_labels = base.cluster_centers_, base.labels_
        weights = np.bincount(base_labels, minlength=n_base).astype(float)
        keep = weights > 0
        idx_map = np.cumsum(keep) - 1
        centres, weights, base_labels = centres[keep], weights[keep], idx_map[base_labels]
    else:
        centres, weights, base_labels = proj, np.ones(n), np.arange(n)
    rng = np.random.default_rng(seed)
    sample = rng.choice(n, _SIL_SAMPLE, replace=False) if n > _SIL_SAMPLE else np.arange(n)
    best = (None, -2.0)
    # Polis's max-k-fn: at most 2 + (number of base clusters) // 12 groups
    k_hi = min(max(2, max_groups), 2 + len(centres) // 12, len(centres) - 1) if len(centres) > 2 else 2
    for k in range(2, k_hi + 1):
        km = _kmeans(centres, k, seed, weights)
        labels = km.labels_[base_labels]
        if len(np.unique(labels[sample])) < 2:
            continue
        # silhouette on the base-cluster centres, as Polis does
        if len(np.unique(km.labels_)) < 2 or len(centres) <= k:
            continue
        s = float(silhouette_score(centres, km.labels_))
        if s > best[1] + 1e-9:
            best = (labels, s)
    if best[0] is None:  # could not split (e.g. two distinct points only)
        km = _kmeans(proj, 2, seed)
        return km.labels_.astype(np.int64), None
    return _settle(proj, best[0], seed), best[1]


def _settle(proj: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """The grouping of the participants themselves with as many groups as ``labels``.

    The base clusters only choose how many groups there are: a group drawn
    around base-cluster centres can keep a participant whose own point is
    nearer another group's centre, and on a weakly structured map it can stop
    at a worse k-means optimum than one on the people would.  So the groups
    are settled with k-means on the participants' points, started from the
    base-cluster grouping and from fresh k-means++ starts; the tightest
    grouping (least within-group spread) wins.
    """
    k = int(labels.max()) + 1
    centres = np.array([proj[labels == g].mean(axis=0) for g in range(k)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fits = [KMeans(k, init=centres, n_init=1).fit(proj), _kmeans(proj, k, seed, n_init=_SETTLE_STARTS)]
    best = min(fits, key=lambda km: km.inertia_)
    if len(np.unique(best.labels_)) < k:  # a group emptied out: keep the base-cluster grouping
        return labels.astype(np.int64)
    return best.labels_.astype(np.int64)


def _explain(res: OpinionResult, A: np.ndarray, obs: np.ndarray, labels: np.ndarray, cid_list,
             threshold: float, alpha: float, cap: int) -> OpinionResult:
    k = len(res.groups)
    if k == 0:
        return res
    agree = (A == 1) & obs
    disagree = (A == -1) & obs
    G = np.eye(k, dtype=np.float64)[labels]  # n x k one-hot
    ag = G.T @ agree.astype(np.float64)  # k x c
    dg = G.T @ disagree.astype(np.float64)
    ng = G.T @ obs.astype(np.float64)
    at, dt, nt = ag.sum(0), dg.sum(0), ng.sum(0)

    # representative statements (only meaningful with >= 2 groups)
    res.representative = {g: [] for g in range(k)}
    if k >= 2:
        for g in range(k):
            cands = []
            for direction, cnt, tot in (("agree", ag, at), ("disagree", dg, dt)):
                k1, n1 = cnt[g], ng[g]
                k2, n2 = tot - cnt[g], nt - ng[g]
                z, p = _one_sided_p(k1, n1, k2, n2)
                test = np.array(["z"] * len(z), dtype=object)
                # Fisher's exact test where the normal approximation is poor
                exp_min = np.minimum.reduce([
                    n1 * (k1 + k2) / np.maximum(n1 + n2, 1), n2 * (k1 + k2) / np.maximum(n1 + n2, 1),
                    n1 * (n1 + n2 - k1 - k2) / np.maximum(n1 + n2, 1), n2 * (n1 + n2 - k1 - k2) / np.maximum(n1 + n2, 1),
                ])
                small = np.nonzero((exp_min < 5) & (n1 > 0) & (n2 > 0) & (k1 / np.maximum(n1, 1) > k2 / np.maximum(n2, 1)))[0]
                for c in small:
                    p[c] = fisher_exact([[k1[c], n1[c] - k1[c]], [k2[c], n2[c] - k2[c]]], alternative="greater")[1]
                    test[c] = "fisher"
                share_g = k1 / np.maximum(n1, 1)
                ok = np.nonzero((n1 >= 1) & (n2 >= 1) & (p < alpha) & (share_g > k2 / np.maximum(n2, 1)) & (k1 >= 2))[0]
                for c in ok:
                    cands.append(RepresentativeStatement(
                        comment_id=cid_list[c], direction=direction,
                        group_share=float(share_g[c]), other_share=float(k2[c] / max(n2[c], 1)),
                        group_votes=int(n1[c]), other_votes=int(n2[c]),
                        p_value=float(p[c]), z=float(z[c]), test=str(test[c]),
                        group_agree_share=float(ag[g, c] / max(ng[g, c], 1)),
                        other_agree_share=float((at[c] - ag[g, c]) / max(nt[c] - ng[g, c], 1)),
                    ))
            # one entry per statement: keep the stronger direction
            best: dict = {}
            for r in cands:
                if r.comment_id not in best or r.p_value < best[r.comment_id].p_value:
                    best[r.comment_id] = r
            ranked = sorted(best.values(), key=lambda r: (r.p_value, -r.z, -(r.group_share - r.other_share)))
            res.representative[g] = ranked[:cap]

    # consensus: every group reaches the threshold (needs >= 2 votes per group)
    enough = (ng >= 2).all(axis=0)
    cons = []
    for direction, cnt in (("agree", ag), ("disagree", dg)):
        share = cnt / np.maximum(ng, 1)
        mins = share.min(axis=0)
        for c in np.nonzero(enough & (mins >= threshold))[0]:
            cons.append(ConsensusStatement(
                comment_id=cid_list[c], direction=direction, min_share=float(mins[c]),
                shares={g: (float(share[g, c]), int(ng[g, c])) for g in range(k)},
            ))
    cons.sort(key=lambda s: -s.min_share)
    res.consensus = cons[:cap]

    if k >= 2:
        net = (ag - dg) / np.maximum(ng, 1)
        votes_ok = ng >= 3
        div = []
        for j in range(len(cid_list)):
            gs = np.nonzero(votes_ok[:, j])[0]
            if len(gs) < 2:
                continue
            spread = float(net[gs, j].max() - net[gs, j].min())
            if spread <= 0:
                continue
            div.append(DivisiveStatement(cid_list[j], spread, {int(g): (float(net[g, j]), int(ng[g, j])) for g in gs}))
        div.sort(key=lambda s: -s.spread)
        res.divisive = div[:cap]
    return res

