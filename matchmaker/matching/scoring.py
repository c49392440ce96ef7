"""How a match is scored: relevance first, then carbon performance, verification and region.

Pure functions over plain numbers, so the API, the evaluation and the tests rank identically.

relevance = dense cosine + LEXICAL x lexical coverage + CATEGORY x category agreement
            (1 when the need's category, named or read from its text, is the offer's; 0 when it is another;
            0.5 when the need's category is unknown, so that uncategorised needs face the same floor)
rank      = relevance + secondary signals, each small enough never to lift an irrelevant offer past a
            relevant one: verified footprint, headroom under the ceiling, the preferred region.
An offer whose relevance is under the floor is not a match at all, however well it passes the filters.
"""

from __future__ import annotations

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


def secondary_bonus(secondary: Secondary, weights: Weights = DEFAULT_WEIGHTS) -> float:
    """The small bonus that orders offers of similar relevance by carbon performance and fit."""
    bonus = weights.verified * secondary.verified
    if secondary.headroom_ratio is not None:
        # Clipped: a footprint far below the ceiling earns no more than one 100% below it.
        bonus += weights.headroom * min(max(secondary.headroom_ratio, 0.0), 1.0)
    if secondary.region_preferred:
        bonus += weights.region
    return bonus


def category_agreement(query_category: str | None, document_category: str | None) -> float:
    """1 when the categories agree, 0 when they differ, 0.5 when either is unknown (an offer always has one;
    a need searched for may not)."""
    if query_category is None or document_category is None:
        return 0.5
    return 1.0 if query_category == document_category else 0.0


def is_relevant(score: float, weights: Weights = DEFAULT_WEIGHTS) -> bool:
    return score >= weights.floor
