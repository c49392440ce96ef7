"""Simplified Chinese and English for the pages: one catalogue per area (locales/*.json), merged.

Each entry is `"key": {"en": "...", "zh": "..."}`; placeholders use `{name}`, and `{name|one|other}` is the
word for that number in English ("1 offer", "2 offers"; Chinese needs none). The language is the user's
choice (a cookie) or else the first of the browser's Accept-Language that we speak.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Literal

from markupsafe import Markup, escape

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DEFAULT_LANGUAGE: Language = "en"


@lru_cache
def catalogue() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for entry in sorted(
        resources.files("matchmaker.web").joinpath("locales").iterdir(), key=lambda e: e.name
    ):
        if entry.name.endswith(".json"):
            for key, texts in json.loads(entry.read_text(encoding="utf-8")).items():
                if key in merged:
                    raise ValueError(f"message {key!r} is defined twice (again in {entry.name})")
                merged[key] = texts
    return merged


def as_language(value: str | None) -> Language | None:
    """'zh', 'zh-CN', 'zh-Hans' → 'zh'; 'en-GB' → 'en'; anything else → None."""
    primary = (value or "").strip().split("-")[0].split("_")[0].lower()
    return "zh" if primary == "zh" else "en" if primary == "en" else None


def choose_language(cookie: str | None, accept_language: str | None) -> Language:
    chosen = as_language(cookie)
    if chosen:
        return chosen
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag))
    for _, _, tag in sorted(ranked):
        language = as_language(tag)
        if language:
            return language
    return DEFAULT_LANGUAGE


class Translator:
    """`t("key", name=value)` in the chosen language; English when a text is missing, the key when unknown."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self._catalogue = catalogue()

    def __call__(self, key: str, **values: object) -> str:
        text = self._text(key)
        if not values:
            return text
        return _PLURAL.sub(lambda found: _plural(found, values), text).format(**values)

    def markup(self, key: str, **values: object) -> Markup:
        """For a page, where a value is marked up itself (a word quoted in its own language): the text and
        every value escaped, except values that are Markup already."""
        text = _PLURAL.sub(lambda found: _plural(found, values), self._text(key))
        return escape(text).format(**values)

    def _text(self, key: str) -> str:
        texts = self._catalogue.get(key)
        if texts is None:
            return key
        return texts.get(self.language) or texts.get("en") or key


_PLURAL = re.compile(r"\{(\w+)\|([^|{}]*)\|([^|{}]*)\}")


def _plural(found: re.Match[str], values: dict[str, object]) -> str:
    """`{count|offer|offers}`: the first form for exactly one, the second for any other number."""
    name, one, other = found.groups()
    return one if values.get(name) in (1, "1") else other
