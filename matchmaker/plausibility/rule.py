"""Whether a footprint is implausibly low for what the product is: pure, plain data in and out.

Footprints are compared on a log scale as intensities: kgCO2e per kg when the mass per declared unit is known
(or the unit is a mass), otherwise per the footprint's own declared unit; only peers on the same basis count.
The candidate meets the first reference that exists:

1. **own versions**: the same owner's listings of this product (very similar title, mass within 2x: earlier
   years, regional variants). Held more than `own_factor` times below their similarity-weighted median,
   or (as its listings may have come down a step at a time) more than `others_factor` times below other
   owners' most similar products while in the lower half of its sector.
2. **related products**: the `k` most similar products of any owner (TF-IDF cosine over title and
   description, CJK text as character bigrams, a small bonus for the same industry and sector), and the
   owner's other products. Held only when more than `related_factor` times below every one of them and in
   the lower half of its sector: cheaper than its look-alikes but ordinary for its sector is not held.
3. **sector**: held below the sector's 2nd percentile (all peers on the basis when the sector is small).
4. fewer than `min_sector` peers on the basis: not held (a new platform's first offers hold nothing).

Measured on the Carbon Catalogue (`scripts/plausibility_figures.py`, README): the thresholds were tuned on it,
so the figures cross-validated by company are the ones to expect elsewhere.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Item:
    """What the review reads of an offer."""

    id: int
    title: str
    owner: int
    intensity: float  # kgCO2e per `basis`
    basis: str  # "kg", or the footprint's declared unit ("kWh", "unit" ...)
    description: str = ""
    sector: str | None = None  # the catalogue's sector, else our category
    industry: str | None = None
    weight_kg: float | None = None
    _vectors: dict[bool, dict[str, float]] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Params:
    own_min_similarity: float = 0.5
    own_weight_ratio: float = 2.0
    own_similarity_band: float = 0.15  # only the own versions this close to the closest one count
    own_factor: float = 6.0
    k: int = 5
    min_similarity: float = 0.2
    related_factor: float = 8.0
    others_factor: float = 25.0  # own listings found: held still this far below other owners' look-alikes
    sector_gate: float = 0.5  # related products: held only under this quantile of the sector
    sector_quantile: float = 0.02
    min_sector: int = 20
    industry_bonus: float = 0.05
    sector_bonus: float = 0.05


@dataclass(frozen=True)
class Peer:
    id: int
    title: str
    intensity: float
    similarity: float
    owner: int = 0


@dataclass(frozen=True)
class Verdict:
    held: bool
    reference: str  # own | related | sector | none
    reference_value: float | None  # the intensity it was compared with
    threshold: float | None  # held below this intensity
    intensity: float
    basis: str
    peers: tuple[Peer, ...]
    sector_quantiles: dict[str, float]  # p02 ... p90 of the sector on the basis, for the reviewer's drawing
    sector_size: int

    def as_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "reference_value": self.reference_value,
            "threshold": self.threshold,
            "intensity": self.intensity,
            "basis": self.basis,
            "peers": [
                {"id": p.id, "title": p.title, "intensity": p.intensity, "similarity": round(p.similarity, 3)}
                for p in self.peers
            ],
            "sector_quantiles": self.sector_quantiles,
            "sector_size": self.sector_size,
        }


# Words that say nothing of what a product is (the catalogue's "1 unit of product sold").
_STOP = frozenset(
    (
        "a",
        "an",
        "and",
        "the",
        "of",
        "for",
        "in",
        "on",
        "at",
        "to",
        "with",
        "by",
        "from",
        "per",
        "as",
        "or",
        "is",
        "are",
        "be",
        "this",
        "that",
        "it",
        "its",
        "our",
        "we",
        "all",
        "any",
        "each",
        "one",
        "unit",
        "product",
        "products",
        "item",
        "items",
        "sold",
        "produced",
        "made",
        "used",
        "use",
        "using",
        "data",
        "field",
        "not",
        "included",
    )
)
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_]+")
_IS_CJK = re.compile(rf"[{_CJK}]")


def tokens(text: str | None) -> list[str]:
    """Lower-cased words; a run of CJK characters becomes its character bigrams (a lone one stays)."""
    found: list[str] = []
    for run in _TOKEN.findall(unicodedata.normalize("NFKC", text or "").lower()):
        if _IS_CJK.match(run):
            found.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
        elif len(run) > 1 and run not in _STOP:
            found.append(run)
    return found


def weighted_median(values: Sequence[float], weights: Sequence[float]) -> float:
    pairs = sorted(zip(values, weights, strict=True))
    half, running = sum(weights) / 2, 0.0
    for value, weight in pairs:
        running += weight
        if running >= half:
            return value
    return pairs[-1][0]


def quantile(ordered: Sequence[float], q: float) -> float:
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class PeerIndex:
    """Peers indexed once (word weights, vectors, postings), so that reviewing each of many candidates
    against them is cheap."""

    def __init__(self, peers: Iterable[Item]) -> None:
        self.peers = [peer for peer in peers if peer.intensity > 0]
        counts: Counter[str] = Counter()
        for peer in self.peers:
            counts.update(set(tokens(peer.title)) | set(tokens(peer.description)))
        size = len(self.peers)
        self._idf = {word: math.log((size + 1) / (count + 1)) + 1.0 for word, count in counts.items()}
        self._unknown_idf = math.log(size + 1) + 1.0
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for position, peer in enumerate(self.peers):
            for word, weight in self._vector(peer).items():
                self._postings.setdefault(word, []).append((position, weight))
        self._by_owner: dict[int, list[int]] = {}
        for position, peer in enumerate(self.peers):
            self._by_owner.setdefault(peer.owner, []).append(position)

    def _vector(self, item: Item, *, title_only: bool = False) -> dict[str, float]:
        cached = item._vectors.get(title_only)
        if cached is not None:
            return cached
        weights: dict[str, float] = {}
        if not title_only:
            weights.update(dict.fromkeys(tokens(item.description), 0.5))  # the title's words weigh more
        weights.update(dict.fromkeys(tokens(item.title), 1.0))
        vector = {word: weight * self._idf.get(word, self._unknown_idf) for word, weight in weights.items()}
        norm = math.sqrt(sum(value * value for value in vector.values())) or 1.0
        item._vectors[title_only] = {word: value / norm for word, value in vector.items()}
        return item._vectors[title_only]

    def review(
        self, candidate: Item, params: Params = Params(), *, leave_out: frozenset[int] = frozenset()
    ) -> Verdict:
        """The candidate against every peer on its basis but those left out (itself, when it is listed)."""
        return decide(candidate, self.evidence(candidate, params, leave_out=leave_out), params)

    def evidence(
        self, candidate: Item, params: Params, *, leave_out: frozenset[int] = frozenset()
    ) -> Evidence:
        """What the decision weighs: the owner's versions and other products, the nearest products, the
        sector's distribution (log10 intensities, sorted)."""
        usable = [
            peer.id not in leave_out and peer.id != candidate.id and peer.basis == candidate.basis
            for peer in self.peers
        ]
        sector = sorted(
            math.log10(peer.intensity)
            for peer, ok in zip(self.peers, usable, strict=True)
            if ok and candidate.sector and peer.sector == candidate.sector
        )
        if len(sector) < params.min_sector:
            sector = sorted(
                math.log10(peer.intensity) for peer, ok in zip(self.peers, usable, strict=True) if ok
            )
        own, same_owner = self._own(candidate, usable, params)
        return Evidence(own, same_owner, self._near(candidate, usable, params), sector)

    def _own(self, candidate: Item, usable: list[bool], params: Params) -> tuple[list[Peer], list[Peer]]:
        """The owner's versions of this product, and all its products on the basis."""
        title, whole = self._vector(candidate, title_only=True), self._vector(candidate)
        own, same_owner = [], []
        for position in self._by_owner.get(candidate.owner, []):
            if not usable[position]:
                continue
            peer = self.peers[position]
            # The better of title to title and title with description: some owners move the name between them.
            similarity = max(
                _cosine(title, self._vector(peer, title_only=True)), _cosine(whole, self._vector(peer))
            )
            same_owner.append(Peer(peer.id, peer.title, peer.intensity, similarity, peer.owner))
            if similarity >= params.own_min_similarity and _weights_agree(candidate, peer, params):
                own.append(same_owner[-1])
        return own, same_owner

    def _near(self, candidate: Item, usable: list[bool], params: Params) -> list[Peer]:
        scores: dict[int, float] = {}
        for word, weight in self._vector(candidate).items():
            for position, other in self._postings.get(word, ()):
                scores[position] = scores.get(position, 0.0) + weight * other
        ranked = []
        for position, similarity in scores.items():
            if not usable[position]:
                continue
            peer = self.peers[position]
            if candidate.industry and peer.industry == candidate.industry:
                similarity += params.industry_bonus
            if candidate.sector and peer.sector == candidate.sector:
                similarity += params.sector_bonus
            ranked.append((-similarity, position))
        ranked.sort()
        return [
            Peer(peer.id, peer.title, peer.intensity, -score, peer.owner)
            for score, peer in ((score, self.peers[position]) for score, position in ranked[: params.k])
            if -score >= params.min_similarity
        ]


def _cosine(one: dict[str, float], other: dict[str, float]) -> float:
    return sum(value * other.get(word, 0.0) for word, value in one.items())


def _weights_agree(candidate: Item, peer: Item, params: Params) -> bool:
    if not (candidate.weight_kg and peer.weight_kg):
        return True
    return (
        max(candidate.weight_kg, peer.weight_kg) / min(candidate.weight_kg, peer.weight_kg)
        <= params.own_weight_ratio
    )


@dataclass(frozen=True)
class Evidence:
    own: list[Peer]
    same_owner: list[Peer]
    near: list[Peer]
    sector: list[float]


def decide(candidate: Item, evidence: Evidence, params: Params) -> Verdict:
    """The thresholds applied to what was gathered (cheap: tuning calls it for many thresholds)."""
    own, same_owner, near, sector = evidence.own, evidence.same_owner, evidence.near, evidence.sector
    level = math.log10(candidate.intensity)
    quantiles = (
        {f"p{round(q * 100):02d}": 10 ** quantile(sector, q) for q in (0.02, 0.1, 0.25, 0.5, 0.75, 0.9)}
        if sector
        else {}
    )

    def verdict(
        held: bool, reference: str, value: float | None, threshold: float | None, peers: list[Peer]
    ) -> Verdict:
        return Verdict(
            held,
            reference,
            value,
            threshold,
            candidate.intensity,
            candidate.basis,
            tuple(peers),
            quantiles,
            len(sector),
        )

    if own:
        closest = max(peer.similarity for peer in own)
        own = [peer for peer in own if peer.similarity >= closest - params.own_similarity_band]
        reference = 10 ** weighted_median([math.log10(p.intensity) for p in own], [p.similarity for p in own])
        threshold = reference / params.own_factor
        if candidate.intensity < threshold:
            return verdict(True, "own", reference, threshold, own)
        # Its own listings may have come down step by step: far below other owners' look-alikes is held too.
        others = [peer for peer in near if peer.owner != candidate.owner]
        if others and sector and level < quantile(sector, params.sector_gate):
            elsewhere = 10 ** weighted_median(
                [math.log10(p.intensity) for p in others], [p.similarity for p in others]
            )
            if candidate.intensity < elsewhere / params.others_factor:
                return verdict(True, "others", elsewhere, elsewhere / params.others_factor, others)
        return verdict(False, "own", reference, threshold, own)
    references = [
        10 ** weighted_median([math.log10(p.intensity) for p in peers], weights)
        for peers, weights in ((near, [p.similarity for p in near]), (same_owner, [1.0] * len(same_owner)))
        if peers
    ]
    if references:
        thresholds = [reference / params.related_factor for reference in references]
        lower_half = bool(sector) and level < quantile(sector, params.sector_gate)
        held = lower_half and all(candidate.intensity < threshold for threshold in thresholds)
        strictest = min(range(len(thresholds)), key=thresholds.__getitem__)
        return verdict(
            held, "related", references[strictest], thresholds[strictest], near + same_owner[: params.k]
        )
    if len(sector) >= params.min_sector:  # a few values have no 2nd percentile worth the name
        threshold = 10 ** quantile(sector, params.sector_quantile)
        return verdict(candidate.intensity < threshold, "sector", threshold, threshold, [])
    return verdict(False, "none", None, None, [])
