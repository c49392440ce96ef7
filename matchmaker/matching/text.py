"""Text analysis for matching: glossary concepts, shared Latin-script terms, and the bridged text to embed."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pyroaring import BitMap64

from matchmaker.matching.glossary import Glossary, english_words
from matchmaker.written_constraints import without_quantities

# Words that carry no topic. Units and emission words are left out too: every listing has them.
STOPWORDS = frozenset(
    """
    a an and or the of for to in on at by with from as is are be been was were this that these
    those our we you your it its per than not no up more most less all any each other such into
    over under about also can may must should will shall would need needs needed looking seek
    seeking require required requirement procure procurement purchase purchasing buy supply
    supplier suppliers offer product products service services solution based use using used low
    carbon footprint pcf co2 co2e kg kgco2e gco2e tco2e emission emissions intensity verified third
    party certified standard iso year years annual month day ton tonne tonnes mt kt t g mj gj kwh
    mwh wh kwp mwp wp tkm m2 m3 unit
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
_LATIN_TERM = re.compile(r"[a-z][a-z0-9]*")
# Lexical terms are glossary concepts ("c:<concept id>") and Latin-script words ("w:<word>").
CONCEPT_PREFIX, WORD_PREFIX = "c:", "w:"


@dataclass(frozen=True, slots=True)
class Analysis:
    """What matching reads from one text."""

    concepts: frozenset[str]
    terms: frozenset[str]
    bridged: str

    @property
    def lexical_terms(self) -> frozenset[str]:
        """Concepts (language-independent) and Latin-script terms (codes and names both languages use)."""
        return self.concepts | self.terms


class Analyzer:
    def __init__(self, glossary: Glossary) -> None:
        self.glossary = glossary

    def infer_category(self, analysis: Analysis) -> str | None:
        """The category most of the text's glossary concepts belong to, if a clear majority does."""
        found = (self.glossary.concepts.get(term.removeprefix(CONCEPT_PREFIX)) for term in analysis.concepts)
        votes = Counter(
            concept.category for concept in found if concept is not None and concept.category != "general"
        )
        if not votes:
            return None
        (best, count), total = votes.most_common(1)[0], sum(votes.values())
        return best if count * 2 > total else None

    def category_read(self, text: str) -> str | None:
        """The category a need's or search's text points to (None if its concepts point nowhere clearly)."""
        return self.infer_category(self.analyze_query(text))

    def analyze_query(self, text: str) -> Analysis:
        """Analyse a need or a search: its footprint ceiling is a filter, not a topic, so it is taken out."""
        return self.analyze(without_quantities(text) or text)

    def analyze(self, text: str) -> Analysis:
        concepts = self.glossary.find(text)
        terms = frozenset(
            f"{WORD_PREFIX}{word}"
            for word in english_words(text)
            if _LATIN_TERM.fullmatch(word) and len(word) > 1 and word not in STOPWORDS
        )
        concept_terms = frozenset(f"{CONCEPT_PREFIX}{concept}" for concept in concepts)
        return Analysis(concepts=concept_terms, terms=terms, bridged=self.glossary.bridge(text, concepts))


class TermStatistics:
    """Document frequencies of lexical terms over the indexed rows, for inverse-document-frequency weights,
    and which rows mention each term.

    Each term's rows are a compressed bitmap (Roaring, `pyroaring`, 64-bit ids): at 100,000 offers, about
    12 terms an offer, 4 MB where Python sets of ids took 66 MB, and a term's rows come out sorted in
    microseconds."""

    def __init__(self) -> None:
        self.documents = 0
        # Which rows mention each term; a term's document frequency is the size of its bitmap.
        self.postings: dict[str, BitMap64] = {}

    @property
    def frequency(self) -> Counter[str]:
        """Document frequency of every term (derived from the postings, for inspection)."""
        return Counter({term: len(rows) for term, rows in self.postings.items()})

    def add(self, terms: Iterable[str], identifier: int) -> None:
        self.documents += 1
        for term in set(terms):
            self.postings.setdefault(term, BitMap64()).add(identifier)

    def add_all(self, documents: Iterable[tuple[int, Iterable[str]]]) -> None:
        """`add` for many rows at once, as a saved index loads: each term's bitmap made once, from all its
        rows."""
        rows_of: dict[str, list[int]] = {}
        for identifier, terms in documents:
            self.documents += 1
            for term in terms:
                rows_of.setdefault(term, []).append(identifier)
        for term, rows in rows_of.items():
            self.postings.setdefault(term, BitMap64()).update(rows)

    def remove(self, terms: Iterable[str], identifier: int) -> None:
        self.documents = max(0, self.documents - 1)
        for term in set(terms):
            rows = self.postings.get(term)
            if rows is not None:
                rows.discard(identifier)
                if not rows:
                    del self.postings[term]

    def rows_array(self, term: str) -> npt.NDArray[np.int64]:
        """The rows that mention the term, sorted."""
        rows = self.postings.get(term)
        if rows is None:
            return np.zeros(0, dtype=np.int64)
        return np.frombuffer(rows.to_array(), dtype=np.uint64).astype(np.int64)

    def idf(self, term: str) -> float:
        """Smoothed IDF: rare terms weigh more; a term no document has weighs the most."""
        return math.log(1 + (self.documents + 1) / (len(self.postings.get(term, ())) + 1))

    def weight(self, term: str) -> float:
        """IDF above that of a term half the documents have: words every listing uses ("carbon
        footprint", "CO2e") weigh nothing, so they cannot make two texts look alike."""
        return max(0.0, self.idf(term) - math.log(3))


def lexical_coverage(query: frozenset[str], document: frozenset[str], weights: Mapping[str, float]) -> float:
    """The share of the query's term weight that the document mentions (0 to 1)."""
    total = sum(weights[term] for term in query)
    if total == 0:
        return 0.0
    return sum(weights[term] for term in query & document) / total
