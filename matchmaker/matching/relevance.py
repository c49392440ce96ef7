"""A model of relevance: the probability that an offer is what a need asks for (grade >= 2), from signals
cheap enough to compute for every candidate at match time.

The model is a logistic regression fitted and cross-validated (grouped by need) on the graded relevance
set by `evaluation/relevance/build/train_relevance.py`, which writes `models/relevance.json`: the feature
names, coefficients, intercept, the probability thresholds chosen on the folds, and the inverse document
frequencies of its tokens (fitted with it, as a TF-IDF vectoriser keeps its idf).

Features of a (need, offer) pair, each in [0, 1] except the cosines:
  dense            the embedding cosine (USE)
  gap              that cosine minus the best cosine any offer the buyer may see has: how far from the top
  same, unknown    category agreement (same category; the need's category unknown)
  lexical          `text.lexical_coverage`, the share of the need's concepts and Latin terms the offer has
  cover            the idf-weighted share of the need's tokens (words, CJK bigrams, concepts) in the offer
  title_cover      the same share in the offer's title alone: the product named, not merely mentioned
  title_reverse    the share of the offer title's tokens the need mentions: its product asked for by name
  concept_reverse  the share of the offer's concepts the need mentions: an offer of something else has
                   concepts the need never names
The first four are cheap for every candidate at once (`cheap_logit`); the others are set intersections,
bounded by the sum of their positive coefficients (`slack`), so a ranking may skip what cannot qualify.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from matchmaker.matching.glossary import english_words
from matchmaker.matching.text import STOPWORDS, Analysis

CHEAP = ("dense", "gap", "same", "unknown")
EXPENSIVE = ("lexical", "cover", "title_cover", "title_reverse", "concept_reverse")
FEATURES = CHEAP + EXPENSIVE
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "relevance.json"


@lru_cache(maxsize=1 << 16)
def tokens(text: str) -> frozenset[str]:
    """Latin-script words (singular, no stopwords) and Chinese character bigrams of a text."""
    found = {
        f"w:{word}"
        for word in english_words(text)
        if len(word) > 1 and word[0].isalpha() and word not in STOPWORDS
    }
    for run in _CJK_RUN.findall(text):
        found.update(f"b:{run[i : i + 2]}" for i in range(max(len(run) - 1, 1)))
    return frozenset(found)


def title_of(analysis: Analysis) -> str:
    """The first line of an offer's text: its title (`indexer.join_offer_text` puts it first)."""
    return analysis.bridged.split("\n", 1)[0]


@dataclass(frozen=True, slots=True)
class Side:
    """What the model reads of one text: its tokens and concepts, and for an offer its title's tokens."""

    tokens: frozenset[str]
    concepts: frozenset[str]
    title: frozenset[str]


def need_side(analysis: Analysis) -> Side:
    return Side(
        tokens=tokens(analysis.bridged) | analysis.concepts, concepts=analysis.concepts, title=frozenset()
    )


def offer_side(analysis: Analysis) -> Side:
    return Side(
        tokens=tokens(analysis.bridged) | analysis.concepts,
        concepts=analysis.concepts,
        title=tokens(title_of(analysis)),
    )


@dataclass(frozen=True)
class RelevanceModel:
    """A fitted logistic model of relevance and the thresholds that decide a match."""

    features: tuple[str, ...]
    coefficients: tuple[float, ...]
    intercept: float
    threshold: float  # an offer at or above this probability is a match, when its list has an answer
    answer_threshold: float  # a list has an answer only when some eligible offer reaches this
    idf: Mapping[str, float]
    unseen_idf: float
    embedder: str = "use"  # the embedding model whose cosines it was fitted on (`Settings.model`)

    def weight(self, token: str) -> float:
        return self.idf.get(token, self.unseen_idf)

    def coefficient(self, name: str) -> float:
        return self.coefficients[self.features.index(name)] if name in self.features else 0.0

    @property
    def slack(self) -> float:
        """The most the expensive features can add to the logit (each is at most 1)."""
        return sum(max(self.coefficient(name), 0.0) for name in EXPENSIVE)

    def cheap_logit(
        self, *, dense: npt.NDArray[np.float64], best: float, agreement: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """The intercept and the cheap features' part of the logit, for many candidates at once.

        A query without a category (agreement 0.5: a search or need the glossary could not place) says
        nothing against any offer's. A model that never saw one (every need it was fitted on names a
        category, so `unknown` weighs 0) judges it as if the categories agreed, on its cosine and text:
        counting half an agreement, as the hybrid formula does, left a Chinese need for green hydrogen
        without its English offer."""
        unknown = agreement == 0.5
        agreeing = (agreement == 1.0) | (unknown if self.coefficient("unknown") == 0.0 else False)
        logit: npt.NDArray[np.float64] = (
            self.intercept
            + self.coefficient("dense") * dense
            + self.coefficient("gap") * (dense - best)
            + self.coefficient("same") * agreeing
            + self.coefficient("unknown") * unknown
        )
        return logit

    def need_total(self, need: Side) -> float:
        return sum(self.weight(token) for token in need.tokens)

    def expensive(
        self, *, need: Side, offer: Side, lexical: float, need_total: float | None = None
    ) -> tuple[float, ...]:
        """The set-intersection features of one pair, in `EXPENSIVE` order (`need_total`: the need's
        `need_total`, when the caller judges many offers for one need)."""
        weight = self.weight
        if need_total is None:
            need_total = self.need_total(need)
        title_total = sum(weight(token) for token in offer.title)
        concept_total = sum(weight(concept) for concept in offer.concepts)
        return (
            lexical,
            _share(sum(weight(t) for t in need.tokens & offer.tokens), need_total),
            _share(sum(weight(t) for t in need.tokens & offer.title), need_total),
            _share(sum(weight(t) for t in offer.title & need.tokens), title_total),
            _share(sum(weight(c) for c in offer.concepts & need.concepts), concept_total),
        )

    def expensive_logit(self, values: Sequence[float]) -> float:
        return sum(self.coefficient(name) * value for name, value in zip(EXPENSIVE, values, strict=True))


def _share(part: float, total: float) -> float:
    return part / total if total > 0 else 0.0


def probability(logit: float) -> float:
    """The logistic function, safe from overflow."""
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit))
    small = math.exp(logit)
    return small / (1.0 + small)


def probabilities(logits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    result: npt.NDArray[np.float64] = 0.5 * (1.0 + np.tanh(0.5 * logits))
    return result


def read_model(path: Path) -> RelevanceModel:
    """Read a model file written by the training script."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return RelevanceModel(
        features=tuple(data["features"]),
        coefficients=tuple(float(value) for value in data["coefficients"]),
        intercept=float(data["intercept"]),
        threshold=float(data["threshold"]),
        answer_threshold=float(data["answer_threshold"]),
        idf={token: float(value) for token, value in data["idf"].items()},
        unseen_idf=float(data["unseen_idf"]),
        embedder=str(data.get("embedder", "use")),
    )


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> RelevanceModel:
    """The model at `path`, or the repository's models/relevance.json."""
    return read_model(Path(path) if path else DEFAULT_MODEL)


@dataclass(frozen=True)
class RelevanceJudge:
    """What judging a query's candidates takes beyond the ranking's own signals: the model, the query's
    side, and a way to read the sides of the offers judged (`Engine.offer_sides`)."""

    model: RelevanceModel
    query: Side
    offer_sides: Callable[[Sequence[int]], Mapping[int, Side]]

    def logits(
        self, *, ids: Sequence[int], dense: npt.NDArray[np.float64], best: float,
        agreement: npt.NDArray[np.float64], lexical: Sequence[float],
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:  # fmt: skip
        """The logit of each candidate without its text features, and with them."""
        cheap = self.model.cheap_logit(dense=dense, best=best, agreement=agreement)
        sides = self.offer_sides(ids)
        empty = Side(frozenset(), frozenset(), frozenset())
        need_total = self.model.need_total(self.query)
        text = np.asarray(
            [
                self.model.expensive_logit(
                    self.model.expensive(
                        need=self.query, offer=sides.get(i, empty), lexical=share, need_total=need_total
                    )
                )
                for i, share in zip(ids, lexical, strict=True)
            ],
            dtype=np.float64,
        )
        return cheap, cheap + text
