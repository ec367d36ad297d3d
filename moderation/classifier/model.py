"""The abuse model, built from scikit-learn parts: one head per language (English, Chinese), routed by
`detect_language`.

Each head is a `Pipeline` of a `FeatureUnion` (hashed character n-grams inside words and hashed word n-grams,
each through a sublinear `TfidfTransformer`, plus the category-rule columns of `rules.py` and, in English, the
word-lexicon columns of `lexicon.py`) and a `LogisticRegression`, with Platt calibration fitted on out-of-fold
scores (training.py). Nothing here is pickled: `to_arrays`/`from_arrays` turn a head into plain arrays and
numbers (artifacts.py stores them with a versioned manifest), so renaming a class never breaks a saved model.

Explanations: a linear model's logit is a sum over columns of weight x value. For one post we recompute the
n-grams the vectorizers saw, word by word, hash them with the same FeatureHasher, and credit each column's
contribution to the word that contains it, so moderators see words, not hashes. Rule columns are credited to the matched phrase and carry their category.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from . import rules
from .lexicon import N_COLUMNS as N_LEXICON, lexicon_hits
from .text import NUMBER_TOKEN, URL_TOKEN, USER_TOKEN, detect_language

EXPLANATION_TERMS = 8
WORD_TOKEN_PATTERN = r"(?u)[^\W\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+"
_DISPLAY = {USER_TOKEN: "@user", URL_TOKEN: "<url>", NUMBER_TOKEN: "<number>"}
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_STRIP = " \t\n.,!?;:\"'()[]{}<>*~`-_/\\|"


@dataclass
class Analysis:
    logit: float
    probability: float
    explanation: tuple[tuple[str, float, str], ...]    # (term, weight, category or "")
    category: str = ""


def _rule_columns(texts):
    return rules.features(list(texts))


def _lexicon_columns(texts):
    return sparse.csr_matrix(lexicon_hits(list(texts))[0])


def make_features(hp: dict) -> FeatureUnion:
    """The (stateless until fitted) featuriser of one head, from its hyperparameters."""
    parts = [
        ("char", make_pipeline(
            HashingVectorizer(analyzer="char_wb", ngram_range=tuple(hp["char_ngrams"]), n_features=1 << hp["char_bits"],
                              alternate_sign=False, norm=None, lowercase=False, dtype=np.float64),
            TfidfTransformer(sublinear_tf=True))),
        ("word", make_pipeline(
            HashingVectorizer(analyzer="word", ngram_range=tuple(hp["word_ngrams"]), n_features=1 << hp["word_bits"],
                              alternate_sign=False, norm=None, lowercase=False, token_pattern=WORD_TOKEN_PATTERN,
                              dtype=np.float64),
            TfidfTransformer(sublinear_tf=True))),
        ("rules", FunctionTransformer(_rule_columns, validate=False, accept_sparse=True)),
    ]
    if hp.get("lexicon"):
        parts.append(("lexicon", FunctionTransformer(_lexicon_columns, validate=False, accept_sparse=True)))
    weights = {"rules": hp.get("rules_weight", 1.0), "lexicon": hp.get("lexicon_weight", 1.0)}
    names = {name for name, _ in parts}
    return FeatureUnion(parts, transformer_weights={k: v for k, v in weights.items() if k in names})


class Head:
    """One language's fitted pipeline with its Platt calibration."""

    def __init__(self, hp: dict, pipeline: Pipeline, platt_a: float = 1.0, platt_b: float = 0.0):
        self.hp = dict(hp)
        self.pipeline = pipeline
        self.platt_a = float(platt_a)
        self.platt_b = float(platt_b)
        self._index()

    def _index(self) -> None:
        union: FeatureUnion = self.pipeline.named_steps["features"]
        clf: LogisticRegression = self.pipeline.named_steps["model"]
        self.coef = np.ascontiguousarray(clf.coef_.ravel())
        self.intercept = float(clf.intercept_[0])
        names = [name for name, _ in union.transformer_list]
        widths = {"char": 1 << self.hp["char_bits"], "word": 1 << self.hp["word_bits"], "rules": rules.N_FEATURES,
                  "lexicon": N_LEXICON}
        self.offsets, start = {}, 0
        for name in names:
            self.offsets[name] = start
            start += widths[name]
        self.weights = dict(union.transformer_weights or {})
        self.idf = {name: union.named_transformers[name].named_steps["tfidftransformer"].idf_
                    for name in ("char", "word")}
        # The scoring path below calls the same scikit-learn parts without the Pipeline/FeatureUnion wrappers
        # (their validation and joblib dispatch cost ~1 ms per call, more than the work itself for one post):
        # each vectorizer's own analyzer, a FeatureHasher of the same width (the hashing HashingVectorizer
        # uses), and the tf-idf arithmetic of TfidfTransformer. tests/moderation/classifier checks that it
        # gives the pipeline's logits.
        self._blocks = []
        for name in ("char", "word"):
            vectorizer = union.named_transformers[name].named_steps["hashingvectorizer"]
            hasher = FeatureHasher(n_features=vectorizer.n_features, input_type="string", alternate_sign=False)
            start = self.offsets[name]
            coef = self.coef[start:start + vectorizer.n_features]
            self._blocks.append((name, vectorizer.build_analyzer(), hasher, self.idf[name], coef))
        start = self.offsets["rules"]
        self._rule_coef = self.coef[start:start + rules.N_FEATURES] * self.weights.get("rules", 1.0)
        self._lexicon_coef = None
        if "lexicon" in self.offsets:
            start = self.offsets["lexicon"]
            self._lexicon_coef = self.coef[start:start + N_LEXICON] * self.weights.get("lexicon", 1.0)

    # -- persistence without pickles ------------------------------------------------------------------
    def to_arrays(self, prefix: str) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {"hp": self.hp, "intercept": self.intercept, "platt_a": self.platt_a, "platt_b": self.platt_b}
        arrays = {f"{prefix}.coef": self.coef, f"{prefix}.idf_char": self.idf["char"], f"{prefix}.idf_word": self.idf["word"]}
        return meta, arrays

    @classmethod
    def from_arrays(cls, meta: dict, arrays: dict[str, np.ndarray], prefix: str) -> "Head":
        hp = meta["hp"]
        features = make_features(hp)
        union_parts = dict(features.transformer_list)
        for name in ("char", "word"):
            tfidf = union_parts[name].named_steps["tfidftransformer"]
            tfidf.idf_ = np.asarray(arrays[f"{prefix}.idf_{name}"], dtype=np.float64)
        coef = np.asarray(arrays[f"{prefix}.coef"], dtype=np.float64)
        model = LogisticRegression()
        model.classes_ = np.array([0, 1])
        model.coef_ = coef.reshape(1, -1)
        model.intercept_ = np.array([float(meta["intercept"])])
        model.n_features_in_ = coef.shape[0]
        for _, part in features.transformer_list:  # stateless parts need no fitting; mark them fitted
            if isinstance(part, FunctionTransformer):
                part.fit([""])
        pipeline = Pipeline([("features", features), ("model", model)])
        return cls(hp, pipeline, meta["platt_a"], meta["platt_b"])

    # -- scoring -------------------------------------------------------------------------------------
    def transform(self, norm_texts: Sequence[str]) -> sparse.csr_matrix:
        return self.pipeline.named_steps["features"].transform(list(norm_texts))

    def pipeline_logits(self, norm_texts: Sequence[str]) -> np.ndarray:
        """Logits through the full scikit-learn Pipeline (the reference the scoring path must match)."""
        if not len(norm_texts):
            return np.empty(0)
        return self.transform(norm_texts) @ self.coef + self.intercept

    def _score(self, texts: list[str]):
        """(logits, {block: tf-idf matrix}, per-text rule hits) for a batch."""
        z = np.full(len(texts), self.intercept)
        matrices = {}
        for name, analyzer, hasher, idf, coef in self._blocks:
            X = hasher.transform(analyzer(t) for t in texts)
            X.data = (np.log(X.data) + 1.0) * idf[X.indices]
            norms = np.sqrt(np.bincount(np.repeat(np.arange(len(texts)), np.diff(X.indptr)),
                                        weights=X.data * X.data, minlength=len(texts)))
            norms[norms == 0] = 1.0
            X.data /= np.repeat(norms, np.diff(X.indptr))
            z += X @ coef
            matrices[name] = X
        found = [rules.hits(t) for t in texts]
        for d, hs in enumerate(found):
            for category in {h.category for h in hs}:
                z[d] += self._rule_coef[rules.CATEGORIES_INDEX[category]]
        if self._lexicon_coef is not None:
            z += lexicon_hits(texts)[0] @ self._lexicon_coef
        return z, matrices, found

    def logits(self, norm_texts: Sequence[str]) -> np.ndarray:
        if not len(norm_texts):
            return np.empty(0)
        return self._score(list(norm_texts))[0]

    def calibrated(self, logits: np.ndarray) -> np.ndarray:
        z = np.clip(self.platt_a * np.asarray(logits, dtype=np.float64) + self.platt_b, -500, 500)
        return 1.0 / (1.0 + np.exp(-z))

    def probabilities(self, norm_texts: Sequence[str]) -> np.ndarray:
        return self.calibrated(self.logits(norm_texts))

    def analyse_many(self, norm_texts: Sequence[str], explain: bool | float = True) -> list[Analysis]:
        """Scores with explanations. `explain` may be a probability: then only posts scoring at least that
        (or matching a category) are explained, which is all a moderator ever sees."""
        texts = list(norm_texts)
        if not texts:
            return []
        z, matrices, found = self._score(texts)
        p = self.calibrated(z)
        floor = 0.0 if explain is True else (2.0 if explain is False else float(explain))
        categories = [rules.top_category(f) for f in found]
        chosen = [d for d in range(len(texts))
                  if explain is not False and (p[d] >= floor or categories[d])]
        explanations = self._explain(chosen, texts, found, matrices) if chosen else {}
        return [Analysis(float(z[d]), float(p[d]), explanations.get(d, ()), categories[d]) for d in range(len(texts))]

    def _unit_weights(self, name: str, units: list[list[str]], unit_doc: np.ndarray, matrix) -> np.ndarray:
        """Per unit (a word's n-grams, or one n-gram) of the chosen posts, the summed contribution of its n-gram
        occurrences: each column's contribution to its post's logit, shared by the occurrences hashed to it.
        One FeatureHasher call for the whole batch (its per-call overhead is larger than the hashing)."""
        hasher, coef = next((h, c) for n, _a, h, _i, c in self._blocks if n == name)
        M = hasher.transform(units)
        if not M.nnz:
            return np.zeros(len(units))
        width = np.int64(hasher.n_features)
        entry_unit = np.repeat(np.arange(len(units)), np.diff(M.indptr))
        keys = unit_doc[entry_unit].astype(np.int64) * width + M.indices
        uniq, inv = np.unique(keys, return_inverse=True)
        counts = np.bincount(inv, weights=M.data)
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr)).astype(np.int64)
        x_keys = rows * width + matrix.indices
        x_vals = matrix.data * coef[matrix.indices]
        order = np.argsort(x_keys)
        x_keys, x_vals = x_keys[order], x_vals[order]
        at = np.minimum(np.searchsorted(x_keys, uniq), max(len(x_keys) - 1, 0))
        contrib = np.where(x_keys[at] == uniq, x_vals[at], 0.0) if len(x_keys) else np.zeros(len(uniq))
        per_entry = M.data * (contrib / counts)[inv]
        return np.bincount(entry_unit, weights=per_entry, minlength=len(units))

    def _explain(self, chosen: list[int], texts: list[str], found: list, matrices: dict) -> dict:
        totals: dict[int, dict[tuple[str, str], float]] = {d: {} for d in chosen}

        def credit(d: int, term: str, weight: float, category: str = "") -> None:
            if weight > 0 and term.strip():
                key = (_DISPLAY.get(term, term), category)
                totals[d][key] = totals[d].get(key, 0.0) + weight

        # Rule columns: each matched category's weight, shared by its matched phrases; a phrase inside a longer
        # match of the same category is not listed again.
        for d in chosen:
            by_category: dict[str, list[str]] = {}
            for h in found[d]:
                terms = by_category.setdefault(h.category, [])
                if not any(h.term in t for t in terms):
                    terms[:] = [t for t in terms if t not in h.term] + [h.term]
            for category, terms in by_category.items():
                w = float(self._rule_coef[rules.CATEGORIES_INDEX[category]])
                for term in terms[:3]:
                    credit(d, term, max(w, 1e-3) / len(terms), category)

        position = {d: k for k, d in enumerate(chosen)}
        analyzers = {n: a for n, a, _h, _i, _c in self._blocks}
        # Word n-grams, readable as they are (one unit per n-gram occurrence).
        units, owner, labels = [], [], []
        for d in chosen:
            for gram in analyzers["word"](texts[d]):
                units.append([gram])
                owner.append(position[d])
                labels.append((d, gram))
        if units:
            sub = matrices["word"][chosen]
            for (d, gram), w in zip(labels, self._unit_weights("word", units, np.asarray(owner), sub).tolist()):
                credit(d, gram, w)
        # Character n-grams, credited to the word that holds them; Chinese runs have no spaces, so there the
        # strongest n-grams themselves are reported.
        units, owner, labels = [], [], []
        for d in chosen:
            for word in texts[d].split():
                grams = analyzers["char"](word)   # char_wb of one word: the same n-grams as inside the post
                if _HAN_RE.search(word):
                    for g in grams:
                        units.append([g])
                        owner.append(position[d])
                        labels.append((d, g.strip() if len(g.strip()) >= 2 else ""))
                else:
                    units.append(grams)
                    owner.append(position[d])
                    labels.append((d, word.strip(_STRIP) or word))
        if units:
            sub = matrices["char"][chosen]
            for (d, term), w in zip(labels, self._unit_weights("char", units, np.asarray(owner), sub).tolist()):
                if term:
                    credit(d, term, w)
        return {d: self._top(totals[d]) for d in chosen}

    @staticmethod
    def _top(totals: dict[tuple[str, str], float]) -> tuple[tuple[str, float, str], ...]:
        top = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)
        # Rule phrases first (moderators read them with their category), then the strongest model terms.
        order = rules.CATEGORIES_INDEX
        ruled = sorted(((t, round(w, 4), c) for (t, c), w in top if c), key=lambda e: (order[e[2]], -e[1]))
        plain = [(t, round(w, 4), c) for (t, c), w in top if not c]
        return tuple((ruled[:4] + plain)[:EXPLANATION_TERMS])


class AbuseModel:
    """The fitted model: one head per language, routed by `detect_language`."""

    def __init__(self, heads: dict[str, Head], default: str = "en"):
        if default not in heads:
            raise ValueError(f"default head {default!r} missing")
        self.heads = dict(heads)
        self.default = default

    @property
    def n_features(self) -> int:
        return sum(int(h.coef.shape[0]) for h in self.heads.values())

    def route(self, norm_text: str) -> str:
        if "zh" in self.heads and _HAN_RE.search(norm_text) and detect_language(norm_text) == "zh":
            return "zh"
        return self.default

    def group(self, norm_texts: Sequence[str]) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {}
        for i, t in enumerate(norm_texts):
            groups.setdefault(self.route(t), []).append(i)
        return groups

    def _per_head(self, norm_texts: Sequence[str], method: str) -> np.ndarray:
        out = np.zeros(len(norm_texts))
        for key, idx in self.group(norm_texts).items():
            out[idx] = getattr(self.heads[key], method)([norm_texts[i] for i in idx])
        return out

    def logits(self, norm_texts: Sequence[str]) -> np.ndarray:
        return self._per_head(norm_texts, "logits")

    def probabilities(self, norm_texts: Sequence[str]) -> np.ndarray:
        return self._per_head(norm_texts, "probabilities")

    def analyse(self, norm_text: str, explain: bool | float = True) -> Analysis:
        return self.heads[self.route(norm_text)].analyse_many([norm_text], explain=explain)[0]

    def analyse_many(self, norm_texts: Sequence[str], explain: bool | float = True) -> list[Analysis]:
        out: list[Analysis | None] = [None] * len(norm_texts)
        for key, idx in self.group(norm_texts).items():
            for i, a in zip(idx, self.heads[key].analyse_many([norm_texts[i] for i in idx], explain=explain)):
                out[i] = a
        return out  # type: ignore[return-value]
