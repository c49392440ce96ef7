"""How a match is scored: relevance first, then carbon performance, verification and region.

Pure functions over plain numbers, so the API, the evaluation and the tests rank identically.

relevance = dense cosine + LEXICAL x lexical coverage + CATEGORY x category agreement
            (1 when the need's category, named or read from its text, is the offer's; 0 when it is another;
            0.5 when the need's category is unknown, so that uncategorised needs face the same floor)
rank      = relevance + secondary signals, each small enough never to lift an irrelevant offer past a
            relevant one: verified footprint, headroom under the ceiling, the preferred region.
An offer whose relevance is under the floor is not a match at all, however well it passes the filters.
That formula ranks a vendor's search of needs, and chooses the offers the model of relevance judges
(`ranking.JUDGED`): a judged offer's relevance is then the model's probability (`Judged`), its score that
plus the bonuses, which only an answer earns.

What a person reads is `points`: the score on a 0-100 scale (`match_points` for the formula, `judged_points`
for a judged offer), split into the parts that add up to it (the fit of the product, the shared concepts,
each bonus).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Weights:
    """Weights of the ranking, chosen on the development set (see `matchmaker eval`)."""

    lexical: float = 0.35
    category: float = 0.3
    floor: float = 0.5
    verified: float = 0.02
    headroom: float = 0.02
    region: float = 0.03


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True, slots=True)
class Signals:
    """What relevance is computed from, kept for the explanation."""

    dense: float
    lexical: float
    category_agreement: float  # 1 same, 0 different, 0.5 unknown

    @property
    def same_category(self) -> bool:
        return self.category_agreement == 1.0


@dataclass(frozen=True, slots=True)
class Secondary:
    verified: bool
    headroom_ratio: float | None
    region_preferred: bool | None  # None: the need states no preference


def relevance(signals: Signals, weights: Weights = DEFAULT_WEIGHTS) -> float:
    """Topical fit of an offer to a need."""
    return signals.dense + weights.lexical * signals.lexical + weights.category * signals.category_agreement


def bonuses(secondary: Secondary, weights: Weights = DEFAULT_WEIGHTS) -> tuple[float, float, float]:
    """The verified, headroom and region bonuses, each on the scale of relevance."""
    # Clipped: a footprint far below the ceiling earns no more than one 100% below it.
    ratio = secondary.headroom_ratio
    headroom = 0.0 if ratio is None else weights.headroom * min(max(ratio, 0.0), 1.0)
    region = weights.region if secondary.region_preferred else 0.0
    return weights.verified * secondary.verified, headroom, region


def secondary_bonus(secondary: Secondary, weights: Weights = DEFAULT_WEIGHTS) -> float:
    """The small bonus that orders offers of similar relevance by carbon performance and fit."""
    verified, headroom, region = bonuses(secondary, weights)
    return verified + headroom + region


def most_bonus(weights: Weights = DEFAULT_WEIGHTS) -> float:
    """The most `secondary_bonus` can add: every bonus at its full weight (a bound for ranking)."""
    return max(weights.verified, 0.0) + max(weights.headroom, 0.0) + max(weights.region, 0.0)


def category_agreement(query_category: str | None, document_category: str | None) -> float:
    """1 when the categories agree, 0 when they differ, 0.5 when either is unknown (an offer always has one;
    a need searched for may not)."""
    if query_category is None or document_category is None:
        return 0.5
    return 1.0 if query_category == document_category else 0.0


def is_relevant(score: float, weights: Weights = DEFAULT_WEIGHTS) -> bool:
    return score >= weights.floor


# The relevance floor reads as this many points: a match scores at least this much, anything less is none.
POINTS_AT_FLOOR = 50.0


def match_points(score: float, weights: Weights = DEFAULT_WEIGHTS) -> float:
    """Read a score (relevance plus bonuses) on a 0-100 scale: the floor reads 50, the best possible 100.

    The one mapping from scores to what a person reads; change it with the relevance model. It must rise
    with the score, so that a list ordered by score is ordered by the points shown.
    """
    best = 1.0 + weights.lexical + weights.category + weights.verified + weights.headroom + weights.region
    if score < weights.floor:
        points = POINTS_AT_FLOOR * score / weights.floor
    else:
        points = POINTS_AT_FLOOR + (100.0 - POINTS_AT_FLOOR) * (score - weights.floor) / (
            best - weights.floor
        )
    return min(max(points, 0.0), 100.0)


def whole_points(points: float) -> int:
    """Round half up, the same way for the score and each of its parts (rises with its argument)."""
    return math.floor(points + 0.5)


@dataclass(frozen=True, slots=True)
class Points:
    """A match score on the 0-100 scale and its parts, which add up to it exactly."""

    total: int
    fit: int  # meaning and category: how well the product fits
    concepts: int  # what the concepts and terms both texts mention add
    verified: int
    headroom: int
    region: int


def points(*, signals: Signals, secondary: Secondary | None, weights: Weights = DEFAULT_WEIGHTS) -> Points:
    """The score of `relevance(signals)` plus `secondary_bonus(secondary)` in points, and its parts."""
    topical = relevance(signals, weights)
    verified, headroom, region = (0.0, 0.0, 0.0) if secondary is None else bonuses(secondary, weights)
    return _split(
        [
            match_points(signals.dense + weights.category * signals.category_agreement, weights),
            match_points(topical, weights),
            match_points(topical + verified, weights),
            match_points(topical + verified + headroom, weights),
            # exactly as `score_offers` adds it
            match_points(
                topical + (0.0 if secondary is None else secondary_bonus(secondary, weights)), weights
            ),
        ]
    )


@dataclass(frozen=True, slots=True)
class Judged:
    """The model of relevance's verdict on one offer (`relevance.RelevanceJudge`)."""

    probability: float  # that the offer is the product asked for: its relevance
    without_text: float  # the probability from the cosine and category alone (the fit of the product)
    answer: bool  # likely enough to be the product asked for to answer a need (`answer_threshold`)

    @property
    def earns_bonuses(self) -> bool:
        """Only an answer: a neighbour's bonuses could lift it above an answer near the threshold, and the
        list is ordered by the number shown."""
        return self.answer


def judged_points(judged: Judged, secondary: Secondary | None, weights: Weights = DEFAULT_WEIGHTS) -> Points:
    """A judged offer's probability plus its bonuses in points (the best possible reads 100), and its
    parts: the fit (cosine and category), what the shared words and concepts add, each bonus."""
    scale = 100.0 / (1.0 + most_bonus(weights))
    earned = secondary if judged.earns_bonuses else None
    verified, headroom, region = (0.0, 0.0, 0.0) if earned is None else bonuses(earned, weights)
    probability = judged.probability
    return _split(
        [
            scale * judged.without_text,
            scale * probability,
            scale * (probability + verified),
            scale * (probability + verified + headroom),
            scale * (probability + verified + headroom + region),
        ]
    )


def _split(running: list[float]) -> Points:
    """Points from the running totals after each part (fit, concepts, verified, headroom, region).

    Each part is what its signal adds to the points of those before it. The parts are rounded by largest
    remainder, so that they add up to the total shown and a bonus worth 0.8 of a point still shows as one
    when the total has room for it.
    """
    running = [0.0, *(min(max(value, 0.0), 100.0) for value in running)]
    # Sums of floats in another order may differ in the last bit: no part is below zero.
    exact = [max(after - before, 0.0) for before, after in itertools.pairwise(running)]
    total = whole_points(running[-1])
    parts = [math.floor(part) for part in exact]
    by_remainder = sorted(range(len(parts)), key=lambda i: (parts[i] - exact[i], i))
    for i in by_remainder[: max(total - sum(parts), 0)]:
        parts[i] += 1
    parts[0] += total - sum(parts)  # only where the last bits disagreed: the fit, the largest, absorbs it
    fit, concepts, verified_points, headroom_points, region_points = parts
    return Points(
        total=total,
        fit=fit,
        concepts=concepts,
        verified=verified_points,
        headroom=headroom_points,
        region=region_points,
    )
