"""The exactness guarantee of ranking, checked against a brute-force oracle on random offers and criteria.

The oracle judges every offer with `eligibility.judge`, scores the eligible ones with `ranking.score_offers`
on dense similarities computed by brute force (not by the index), and sorts by (-score, id). `judge` itself is
checked against an independent reading of the exchange format (exact rational arithmetic on a unit table
written out here), so the oracle does not merely agree with itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchmaker.matching.eligibility import Criteria, OfferFacts, judge
from matchmaker.matching.glossary import Glossary
from matchmaker.matching.indexer import Catalogue, Document
from matchmaker.matching.ranking import (
    NEAR_MISSES,
    Candidates,
    Query,
    Ranking,
    Scored,
    descending_head,
    rank_offers,
    score_offers,
    top_scored,
)
from matchmaker.matching.scoring import DEFAULT_WEIGHTS, Weights
from matchmaker.matching.text import Analyzer
from matchmaker.vectors.embedder import ModelIdentity, Vectors, normalise

DIM = 16
TOLERANCE = 1e-5
NO_FLOOR = Weights(floor=float("-inf"))
INDEX_KINDS = ["numpy", "faiss"]
PROPERTY_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class FakeEmbedder:
    """Deterministic random unit vectors per text: the same text always gives the same vector."""

    identity = ModelIdentity("fake", "1", DIM)

    @staticmethod
    def vector(text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(DIM)

    def _encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return normalise(np.array([self.vector(text) for text in texts]))

    def encode_documents(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)


FAKE = FakeEmbedder()
ANALYZER = Analyzer(Glossary([]))

# --- an independent reading of the exchange format's unit table: kgCO2e per family base unit ----------
F = Fraction
UNITS: dict[str, tuple[str, Fraction]] = {
    "kgCO2e/kg": ("mass", F(1)),
    "tCO2e/t": ("mass", F(1)),
    "gCO2e/kg": ("mass", F(1, 1000)),
    "kgCO2e/t": ("mass", F(1, 1000)),
    "gCO2e/g": ("mass", F(1)),
    "tCO2e/kg": ("mass", F(1000)),
    "kgCO2e/kWh": ("electric", F(1)),
    "gCO2e/kWh": ("electric", F(1, 1000)),
    "kgCO2e/MWh": ("electric", F(1, 1000)),
    "tCO2e/MWh": ("electric", F(1)),
    "gCO2e/Wh": ("electric", F(1)),
    "kgCO2e/kWp": ("pv", F(1)),
    "kgCO2e/Wp": ("pv", F(1000)),
    "kgCO2e/MWp": ("pv", F(1, 1000)),
    "gCO2e/Wp": ("pv", F(1)),
    "gCO2e/MJ": ("fuel", F(1, 1000)),
    "kgCO2e/GJ": ("fuel", F(1, 1000)),
    "kgCO2e/MJ": ("fuel", F(1)),
    "kgCO2e/m3": ("volume", F(1)),
    "kgCO2e/L": ("volume", F(1000)),
    "tCO2e/m3": ("volume", F(1000)),
    "gCO2e/L": ("volume", F(1)),
    "kgCO2e/unit": ("count", F(1)),
    "gCO2e/unit": ("count", F(1, 1000)),
    "kgCO2e/tkm": ("transport", F(1)),
    "gCO2e/tkm": ("transport", F(1, 1000)),
    "kgCO2e/m2": ("area", F(1)),
}
OFFER_UNITS = [
    "kgCO2e/kg", "tCO2e/t", "gCO2e/kg", "kgCO2e/kWh", "gCO2e/kWh", "kgCO2e/MWh", "gCO2e/MJ", "kgCO2e/GJ",
    "kgCO2e/m3", "kgCO2e/L", "kgCO2e/unit", "kgCO2e/kWp", "kgCO2e/Wp",
]  # fmt: skip
CATEGORIES = ["steel", "hydrogen", "cement_concrete", "solar_pv"]
KINDS = ["product", "technology", "service"]
REGIONS = ["Jiangsu", "Shanghai", "Sichuan", "Germany"]
ALLIANCES = ["CN100", "YRD-LCA"]
WORDS = [
    "steel",
    "rebar",
    "scrap",
    "furnace",
    "hydrogen",
    "electrolyser",
    "cement",
    "clinker",
    "solar",
    "module",
]
SPECIAL_VALUES = [0.0, -0.0, -0.4, -1.5, 1e-05, 0.011, 0.35, 0.62, 0.8, 11.0, 19.0, 350.0, 620.0, 800.0]


def exact(value: float) -> Fraction:
    """The number a person wrote (the float's shortest repr), as an exact rational."""
    return Fraction(repr(value))


def as_float(value: Fraction) -> float:
    return float(Decimal(value.numerator) / Decimal(value.denominator))


def spec_failures(offer: OfferFacts, criteria: Criteria) -> set[str]:
    """The filters an offer fails, read from the exchange format without the service's code."""
    failed = set()
    if criteria.alliance_only and criteria.alliance_only not in offer.supplier_alliances:
        failed.add("alliance_only")
    if criteria.require_verified and not (offer.pcf_verified and offer.pcf_value is not None):
        failed.add("require_verified")
    if criteria.max_pcf is not None and criteria.max_pcf_unit:
        if offer.pcf_value is None or offer.pcf_unit is None:
            failed.add("max_pcf")
        else:
            (family, factor), (ceiling_family, ceiling_factor) = (
                UNITS[offer.pcf_unit],
                UNITS[criteria.max_pcf_unit],
            )
            if (
                family != ceiling_family
                or exact(offer.pcf_value) * factor > exact(criteria.max_pcf) * ceiling_factor
            ):
                failed.add("max_pcf")
    for name, wanted, actual in (
        ("category", criteria.categories, offer.category),
        ("kind", criteria.kinds, offer.kind),
        ("region", criteria.regions, offer.region),
    ):
        if wanted and actual not in wanted:
            failed.add(name)
    return failed


# --- strategies ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    offers: list[OfferFacts]
    texts: dict[int, str]
    criteria: Criteria
    query_text: str
    query_category: str | None
    region_preference: str | None
    limit: int
    at_ceiling: int | None  # an offer whose footprint equals the ceiling exactly, once converted


values = st.one_of(st.sampled_from(SPECIAL_VALUES), st.integers(-200_000, 200_000).map(lambda n: n / 100))
texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)
subsets = st.frozensets


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    count = draw(st.integers(1, 30))
    offers, offer_texts = [], {}
    for identifier in range(1, count + 1):
        stated = draw(st.booleans() | st.just(True))
        offers.append(
            OfferFacts(
                id=identifier,
                category=draw(st.sampled_from(CATEGORIES)),
                kind=draw(st.sampled_from(KINDS)),
                region=draw(st.sampled_from([*REGIONS, None])),
                pcf_value=draw(values) if stated else None,
                pcf_unit=draw(st.sampled_from(OFFER_UNITS)) if stated else None,
                pcf_verified=draw(st.booleans()),
                supplier_alliances=draw(subsets(st.sampled_from(ALLIANCES))),
            )
        )
        offer_texts[identifier] = draw(texts)
    at_ceiling = None
    ceiling = draw(st.sampled_from(["none", "any", "equal", "equal"]))
    max_pcf, max_pcf_unit = None, None
    if ceiling == "any":
        max_pcf, max_pcf_unit = draw(values), draw(st.sampled_from(sorted(UNITS)))
    stated_offers = [offer for offer in offers if offer.pcf_value is not None]
    if ceiling == "equal" and stated_offers:
        offer = draw(st.sampled_from(stated_offers))
        assert offer.pcf_value is not None and offer.pcf_unit is not None
        family, factor = UNITS[offer.pcf_unit]
        max_pcf_unit = draw(st.sampled_from(sorted(u for u, (f, _) in UNITS.items() if f == family)))
        converted = exact(offer.pcf_value) * factor / UNITS[max_pcf_unit][1]
        max_pcf = as_float(converted)
        assert exact(max_pcf) == converted  # few digits: the ceiling is written exactly
        at_ceiling = offer.id
    criteria = Criteria(
        max_pcf=max_pcf,
        max_pcf_unit=max_pcf_unit,
        require_verified=draw(st.booleans()),
        alliance_only=draw(st.sampled_from([None, None, *ALLIANCES])),
        categories=draw(st.just(frozenset()) | subsets(st.sampled_from(CATEGORIES), max_size=3)),
        kinds=draw(st.just(frozenset()) | subsets(st.sampled_from(KINDS), max_size=2)),
        regions=draw(st.just(frozenset()) | subsets(st.sampled_from(REGIONS), max_size=3)),
    )
    return Scenario(
        offers=offers,
        texts=offer_texts,
        criteria=criteria,
        query_text=draw(texts | st.sampled_from(sorted(set(offer_texts.values())))),
        query_category=draw(st.sampled_from([None, *CATEGORIES])),
        region_preference=draw(st.sampled_from([None, "Yangtze River Delta", "China", "Germany"])),
        limit=draw(st.integers(1, 35)),
        at_ceiling=at_ceiling,
    )


# --- running the ranking and the oracle -------------------------------------------------------------


def build(scenario: Scenario, index_kind: str) -> tuple[Catalogue, Query]:
    catalogue = Catalogue(
        kind="offers", embedder=FAKE, analyzer=ANALYZER, directory=None, index_kind=index_kind
    )
    catalogue.put([Document(i, 1, text) for i, text in scenario.texts.items()])
    query = Query(
        analysis=ANALYZER.analyze(scenario.query_text),
        vector=FAKE.encode_queries([scenario.query_text])[0],
        category=scenario.query_category,
        region_preference=scenario.region_preference,
    )
    return catalogue, query


def oracle(
    scenario: Scenario, catalogue: Catalogue, query: Query, weights: Weights, *, eligible: bool
) -> list[Scored]:
    """Every eligible (or every failed) offer scored on brute-force cosines, sorted by (-score, id)."""
    pairs = [(o, v) for o in scenario.offers if (v := judge(o, scenario.criteria)).eligible == eligible]
    query_vector = query.vector.astype(np.float64)
    dense = np.array(
        [
            float(FAKE.encode_documents([scenario.texts[o.id]])[0].astype(np.float64) @ query_vector)
            for o, _ in pairs
        ]
    )
    rows = score_offers(
        query=query, facts=[o for o, _ in pairs], verdicts=[v for _, v in pairs], dense=dense,
        catalogue=catalogue, weights=weights,
    )  # fmt: skip
    return sorted(rows, key=lambda s: (-s.score, s.facts.id))


def assert_same_order(got: list[Scored], want: list[Scored], key: str) -> None:
    """The same scores position by position; the same ids, except where two scores tie within tolerance."""
    assert len(got) == len(want)
    truth = {s.facts.id: getattr(s, key) for s in want}
    for position, (mine, theirs) in enumerate(zip(got, want, strict=True)):
        assert getattr(mine, key) == pytest.approx(getattr(theirs, key), abs=TOLERANCE), position
        if mine.facts.id != theirs.facts.id:
            assert truth.get(mine.facts.id, np.inf) == pytest.approx(getattr(theirs, key), abs=TOLERANCE)


def check_near_misses(ranking: Ranking, scenario: Scenario, failed: list[Scored], weights: Weights) -> None:
    """(e) Near misses failed a filter, are relevant, and are the most relevant of the failed offers."""
    for miss in ranking.near_misses:
        verdict = judge(miss.facts, scenario.criteria)
        assert not verdict.eligible and verdict.failed
        assert miss.verdict.failed == verdict.failed
        assert miss.relevance >= weights.floor
    relevant = [s for s in failed if s.relevance >= weights.floor + TOLERANCE]
    expected = sorted(relevant, key=lambda s: (-s.relevance, s.facts.id))[:NEAR_MISSES]
    assert len(ranking.near_misses) >= len(expected)
    assert len(ranking.near_misses) <= NEAR_MISSES
    assert_same_order(ranking.near_misses[: len(expected)], expected, "relevance")


# --- properties ------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_judge_agrees_with_the_exchange_format(scenario: Scenario) -> None:
    for offer in scenario.offers:
        verdict = judge(offer, scenario.criteria)
        assert set(verdict.failed) == spec_failures(offer, scenario.criteria), offer
        assert verdict.eligible == (not spec_failures(offer, scenario.criteria))
    if scenario.at_ceiling is not None:
        offer = scenario.offers[scenario.at_ceiling - 1]
        assert "max_pcf" not in judge(offer, scenario.criteria).failed  # equal passes


@pytest.mark.parametrize("index_kind", INDEX_KINDS)
@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_ranking_is_exact_without_a_floor(index_kind: str, scenario: Scenario) -> None:
    catalogue, query = build(scenario, index_kind)
    ranking = rank_offers(
        query=query, candidates=scenario.offers, criteria=scenario.criteria, catalogue=catalogue,
        limit=scenario.limit, weights=NO_FLOOR,
    )  # fmt: skip
    eligible = oracle(scenario, catalogue, query, NO_FLOOR, eligible=True)
    # (a) nothing ineligible is a match
    assert all(judge(match.facts, scenario.criteria).eligible for match in ranking.matches)
    # (c) every eligible offer is a match until the limit
    assert len(ranking.matches) == min(scenario.limit, len(eligible))
    assert ranking.eligible == len(eligible)
    assert ranking.relevant == len(eligible)  # with no floor, every eligible offer is relevant
    assert ranking.candidates == len(scenario.offers)
    # (b) exactly the oracle's top k, in the oracle's order
    assert_same_order(ranking.matches, eligible[: scenario.limit], "score")
    for match in ranking.matches:
        assert match.signals.dense == pytest.approx(
            float(FAKE.encode_documents([scenario.texts[match.facts.id]])[0] @ query.vector), abs=TOLERANCE
        )
    # (e)
    check_near_misses(
        ranking, scenario, oracle(scenario, catalogue, query, NO_FLOOR, eligible=False), NO_FLOOR
    )


@pytest.mark.parametrize("index_kind", INDEX_KINDS)
@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_ranking_with_the_floor_keeps_every_relevant_eligible_offer(
    index_kind: str, scenario: Scenario
) -> None:
    weights = DEFAULT_WEIGHTS
    catalogue, query = build(scenario, index_kind)
    ranking = rank_offers(
        query=query, candidates=scenario.offers, criteria=scenario.criteria, catalogue=catalogue,
        limit=scenario.limit, weights=weights,
    )  # fmt: skip
    eligible = oracle(scenario, catalogue, query, weights, eligible=True)
    # (d) matches are relevant and eligible, best first
    assert all(judge(match.facts, scenario.criteria).eligible for match in ranking.matches)
    assert all(match.relevance >= weights.floor for match in ranking.matches)
    keys = [(-match.score, match.facts.id) for match in ranking.matches]
    assert keys == sorted(keys)
    # Clear of the floor (tolerance aside), the relevant eligible offers are exactly the oracle's.
    clearly = [s for s in eligible if s.relevance >= weights.floor + TOLERANCE]
    possibly = [s for s in eligible if s.relevance >= weights.floor - TOLERANCE]
    assert min(scenario.limit, len(clearly)) <= len(ranking.matches) <= min(scenario.limit, len(possibly))
    # The count of relevant offers is the oracle's, and agrees with the matches the limit lets through.
    assert len(clearly) <= ranking.relevant <= len(possibly)
    assert len(ranking.matches) == min(scenario.limit, ranking.relevant)
    returned = {match.facts.id for match in ranking.matches}
    if len(ranking.matches) < scenario.limit:
        assert {s.facts.id for s in clearly} <= returned
    else:
        kth = ranking.matches[-1].score
        assert {s.facts.id for s in clearly if s.score > kth + TOLERANCE} <= returned
    if len(clearly) == len(possibly):
        assert_same_order(ranking.matches, clearly[: scenario.limit], "score")
    # (e)
    check_near_misses(ranking, scenario, oracle(scenario, catalogue, query, weights, eligible=False), weights)


@PROPERTY_SETTINGS
@given(scenario=scenarios(), by=st.sampled_from(["score", "relevance"]), floor=st.booleans())
def test_scoring_only_the_offers_that_can_reach_the_top_changes_nothing(
    scenario: Scenario, by: Literal["score", "relevance"], floor: bool
) -> None:
    """Scoring in batches of one, stopping as soon as the bound allows, gives what scoring all gives."""
    catalogue, query = build(scenario, "numpy")
    pairs = [(offer, judge(offer, scenario.criteria)) for offer in scenario.offers]

    def top(first_batch: int) -> list[tuple[int, float, float]]:
        rows = top_scored(
            Candidates.of_pairs(pairs, query), query=query, catalogue=catalogue, weights=DEFAULT_WEIGHTS,
            count=scenario.limit % 7 + 1,
            by=by, floor=floor, first_batch=first_batch,
        )  # fmt: skip
        return [(row.facts.id, row.score, row.relevance) for row in rows]

    assert top(1) == top(10_000)


# --- explicit thresholds ---------------------------------------------------------------------------


def offer_with(value: float | None, unit: str | None, identifier: int = 1) -> OfferFacts:
    return OfferFacts(
        id=identifier, category="steel", kind="product", region="Jiangsu", pcf_value=value, pcf_unit=unit,
        pcf_verified=True, supplier_alliances=frozenset({"CN100"}),
    )  # fmt: skip


AT_THRESHOLD = [
    (800, "kgCO2e/t", 0.8, "kgCO2e/kg"),
    (0.8, "tCO2e/t", 0.8, "kgCO2e/kg"),
    (11, "gCO2e/kWh", 0.011, "kgCO2e/kWh"),
    (19, "kgCO2e/GJ", 19, "gCO2e/MJ"),
    (0.35, "kgCO2e/Wp", 350, "kgCO2e/kWp"),
    (0.21, "tCO2e/m3", 210, "kgCO2e/m3"),
    (0.62, "tCO2e/t", 620, "kgCO2e/t"),
    (5, "kgCO2e/MWh", 5, "gCO2e/kWh"),
    (0, "kgCO2e/kg", 0, "tCO2e/t"),
]
A_HAIR_ABOVE = [
    (800.001, "kgCO2e/t", 0.8, "kgCO2e/kg"),
    (11.0001, "gCO2e/kWh", 0.011, "kgCO2e/kWh"),
    (19.00001, "kgCO2e/GJ", 19, "gCO2e/MJ"),
    (0.35000001, "kgCO2e/Wp", 350, "kgCO2e/kWp"),
    (1e-09, "kgCO2e/kg", 0, "kgCO2e/kg"),
]


@pytest.mark.parametrize(("value", "unit", "ceiling", "ceiling_unit"), AT_THRESHOLD)
def test_a_footprint_equal_to_the_ceiling_passes(
    value: float, unit: str, ceiling: float, ceiling_unit: str
) -> None:
    verdict = judge(offer_with(value, unit), Criteria(max_pcf=ceiling, max_pcf_unit=ceiling_unit))
    assert verdict.eligible, verdict.checks
    assert verdict.footprint is not None and verdict.footprint.headroom == 0
    assert "<=" in verdict.checks[0].detail


@pytest.mark.parametrize(("value", "unit", "ceiling", "ceiling_unit"), A_HAIR_ABOVE)
def test_a_footprint_a_hair_above_the_ceiling_fails(
    value: float, unit: str, ceiling: float, ceiling_unit: str
) -> None:
    verdict = judge(offer_with(value, unit), Criteria(max_pcf=ceiling, max_pcf_unit=ceiling_unit))
    assert verdict.failed == ["max_pcf"]
    assert verdict.footprint is not None and verdict.footprint.headroom < 0
    assert ">" in verdict.checks[0].detail


@pytest.mark.parametrize(("value", "unit"), [(-0.4, "tCO2e/t"), (-1500, "gCO2e/kg"), (-0.0, "kgCO2e/kg")])
def test_a_negative_footprint_passes(value: float, unit: str) -> None:
    assert judge(offer_with(value, unit), Criteria(max_pcf=0, max_pcf_unit="kgCO2e/kg")).eligible
    assert judge(offer_with(value, unit), Criteria(max_pcf=0.5, max_pcf_unit="tCO2e/t")).eligible


def test_a_missing_footprint_fails_the_ceiling_and_verification() -> None:
    verdict = judge(
        offer_with(None, None), Criteria(max_pcf=1000, max_pcf_unit="kgCO2e/kg", require_verified=True)
    )
    assert sorted(verdict.failed) == ["max_pcf", "require_verified"]
    assert any(check.detail == "no footprint stated" for check in verdict.checks)


@pytest.mark.parametrize(
    ("unit", "ceiling_unit"),
    [("kgCO2e/kg", "gCO2e/MJ"), ("kgCO2e/unit", "kgCO2e/kWh"), ("kgCO2e/Wp", "kgCO2e/kWh")],
)
def test_a_footprint_in_another_family_fails_and_says_why(unit: str, ceiling_unit: str) -> None:
    verdict = judge(offer_with(0.001, unit), Criteria(max_pcf=1000, max_pcf_unit=ceiling_unit))
    assert verdict.failed == ["max_pcf"]
    assert verdict.footprint is None
    detail = verdict.checks[0].detail
    assert unit in detail and ceiling_unit in detail and "does not convert" in detail


@pytest.mark.parametrize("index_kind", INDEX_KINDS)
def test_offers_at_the_ceiling_are_ranked_and_those_above_are_near_misses(index_kind: str) -> None:
    offers = [
        offer_with(800, "kgCO2e/t", 1),  # = 0.8 kgCO2e/kg
        offer_with(0.8, "tCO2e/t", 2),  # = 0.8 kgCO2e/kg
        offer_with(800.001, "kgCO2e/t", 3),  # a hair above
        offer_with(-0.4, "tCO2e/t", 4),  # negative
        offer_with(None, None, 5),  # none stated
        offer_with(0.5, "gCO2e/MJ", 6),  # another family
    ]
    texts = {offer.id: "steel rebar" for offer in offers}
    scenario = Scenario(
        offers=offers, texts=texts, criteria=Criteria(max_pcf=0.8, max_pcf_unit="kgCO2e/kg"),
        query_text="steel rebar", query_category="steel", region_preference=None, limit=10, at_ceiling=1,
    )  # fmt: skip
    catalogue, query = build(scenario, index_kind)
    ranking = rank_offers(
        query=query, candidates=offers, criteria=scenario.criteria, catalogue=catalogue, limit=10
    )
    # Same text, so the same relevance: the negative footprint's headroom ranks it first, then by id.
    assert [match.facts.id for match in ranking.matches] == [4, 1, 2]
    assert [miss.facts.id for miss in ranking.near_misses] == [3, 5, 6]
    assert all(miss.verdict.failed == ["max_pcf"] for miss in ranking.near_misses)


def test_a_head_sorted_by_bound_is_the_head_of_the_whole_sort_and_the_rest_is_below_it() -> None:
    rng = np.random.default_rng(7)
    for _ in range(500):
        order = np.sort(rng.choice(300, int(rng.integers(0, 80)), replace=False)).astype(np.int64)
        upper = rng.integers(0, 6, 300).astype(np.float64)  # many ties
        head, rest = descending_head(order, upper, head=int(rng.integers(1, 30)))
        whole = order[np.argsort(-upper[order], kind="stable")]
        assert sorted([*head.tolist(), *rest.tolist()]) == order.tolist()
        assert upper[head].tolist() == upper[whole][: len(head)].tolist()
        assert len(rest) == 0 or upper[rest].max() <= upper[head].min()
