"""A bilingual glossary of low-carbon terms: find the concepts a text mentions, in Chinese or English.

The glossary (`models/glossary.tsv`: concept, category, English forms, Chinese forms) bridges the two
languages in two ways: concepts found in a text are a language-independent lexical signal, and their
surface forms in the other language are appended to the text before it is embedded.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick

_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_CJK = re.compile(r"[\u3400-\u9fff]")
MAX_WORDS_IN_FORM = 6


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def english_words(text: str) -> list[str]:
    """Lowercased, singular English words (hyphens and punctuation split words)."""
    return [_singular(word) for word in _WORD.findall(text.lower())]


@dataclass(frozen=True, slots=True)
class Concept:
    id: str
    category: str
    english: tuple[str, ...]
    chinese: tuple[str, ...]


class Glossary:
    """Concept lookup over English word n-grams and Chinese substrings."""

    def __init__(self, concepts: Iterable[Concept]) -> None:
        self.concepts = {concept.id: concept for concept in concepts}
        self._english: dict[tuple[str, ...], str] = {}
        # Chinese forms (lower case) are found by one pass of an Aho-Corasick automaton over the text, every
        # occurrence, overlapping ones included, each with the concepts it names: looking for each of the
        # 3,587 forms in turn took 0.1 ms a text, most of analysing one.
        self._chinese: Any = ahocorasick.Automaton()
        for concept in self.concepts.values():
            for form in concept.english:
                words = tuple(english_words(form))
                if words and len(words) <= MAX_WORDS_IN_FORM:
                    self._english.setdefault(words, concept.id)
            for form in concept.chinese:
                if form:
                    key = form.lower()
                    self._chinese.add_word(key, (*self._chinese.get(key, ()), concept.id))
        if len(self._chinese):
            self._chinese.make_automaton()

    def find(self, text: str) -> frozenset[str]:
        """The ids of the concepts the text mentions."""
        found: set[str] = set()
        words = english_words(text)
        for size in range(1, MAX_WORDS_IN_FORM + 1):
            for start in range(len(words) - size + 1):
                concept = self._english.get(tuple(words[start : start + size]))
                if concept:
                    found.add(concept)
        if len(self._chinese) and _CJK.search(text):
            # Chinese forms may hold Latin letters, written in lower case (h型钢).
            for _, named in self._chinese.iter(text.lower()):
                found.update(named)
        return frozenset(found)

    def bridge(self, text: str, concepts: Iterable[str] | None = None) -> str:
        """The text followed by the concepts' names in the language(s) it does not use."""
        concepts = self.find(text) if concepts is None else concepts
        has_chinese = bool(_CJK.search(text))
        has_english = bool(re.search(r"[A-Za-z]{3,}", _CJK.sub(" ", text)))
        extra: list[str] = []
        for concept_id in sorted(concepts):
            concept = self.concepts[concept_id]
            if has_chinese and concept.english:
                extra.append(concept.english[0])
            if (has_english or not has_chinese) and concept.chinese:
                extra.append(concept.chinese[0])
        return f"{text}\n{'; '.join(extra)}" if extra else text


def read_glossary(path: Path) -> Glossary:
    """Read a glossary TSV (concept, category, en, zh; forms separated by '|')."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return Glossary(
            Concept(
                id=row["concept"].strip(),
                category=row["category"].strip(),
                english=tuple(form.strip() for form in row["en"].split("|") if form.strip()),
                chinese=tuple(form.strip() for form in row["zh"].split("|") if form.strip()),
            )
            for row in rows
            if row.get("concept")
        )


# The glossary lives in the repository's models/ folder (beside the package, for an editable install or
# a checkout; the Docker image points MATCHMAKER_GLOSSARY_PATH at its copy).
DEFAULT_GLOSSARY = Path(__file__).resolve().parents[2] / "models" / "glossary.tsv"


@lru_cache(maxsize=4)
def load_glossary(path: str | None = None) -> Glossary:
    """The glossary at `path`, or the repository's models/glossary.tsv; an empty one if there is none."""
    chosen = Path(path) if path else DEFAULT_GLOSSARY
    if not chosen.is_file():
        if path:
            raise FileNotFoundError(f"no glossary at {chosen}")
        return Glossary([])
    return read_glossary(chosen)
