"""The glossary finds the concepts a text mentions: the Chinese forms by one automaton pass, exactly what
looking for every form in turn finds."""

from __future__ import annotations

import json
import random
from pathlib import Path

from matchmaker.matching.glossary import Concept, Glossary, load_glossary

REPO = Path(__file__).resolve().parents[1]


def every_form_in_turn(glossary: Glossary, text: str) -> set[str]:
    """The concepts whose Chinese forms occur in the text, each form looked for on its own."""
    lowered = text.lower()
    return {
        concept.id
        for concept in glossary.concepts.values()
        if any(form and form.lower() in lowered for form in concept.chinese)
    }


def english_only(glossary: Glossary, text: str) -> frozenset[str]:
    """What the text's English words name (the same lookup, with the Chinese characters taken out)."""
    return glossary.find("".join(" " if "\u3400" <= char <= "\u9fff" else char for char in text))


def texts() -> list[str]:
    found = []
    for name in ("offers.jsonl", "needs.jsonl"):
        for line in (REPO / "evaluation" / "relevance" / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            found.append(row.get("text") or f"{row['title']}\n{row.get('description', '')}")
    return found


def test_the_automaton_finds_what_every_form_in_turn_finds() -> None:
    glossary = load_glossary()
    rng = random.Random(3)
    forms = [form for concept in glossary.concepts.values() for form in concept.chinese if form]
    # The relevance set's texts, and runs of forms that overlap and nest (one form inside another),
    # with Latin letters in both cases and noise between them.
    mixed = [
        "".join(rng.choice([*rng.sample(forms, 3), "钢", "H", "的"]) for _ in range(12)) for _ in range(300)
    ]
    for text in texts() + mixed:
        expected = every_form_in_turn(glossary, text) | english_only(glossary, text)
        assert glossary.find(text) == expected, text


def test_a_form_two_concepts_share_names_both_and_an_empty_glossary_finds_nothing() -> None:
    glossary = Glossary(
        [
            Concept(id="rebar", category="steel", english=("rebar",), chinese=("螺纹钢",)),
            Concept(id="long_steel", category="steel", english=(), chinese=("螺纹钢", "长材")),
        ]
    )
    assert glossary.find("HRB400E螺纹钢") == {"rebar", "long_steel"}
    assert glossary.find("长材与rebar") == {"rebar", "long_steel"}
    assert Glossary([]).find("螺纹钢 rebar") == frozenset()
