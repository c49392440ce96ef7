"""The model of relevance (models/relevance.json, written by train_relevance.py), as the package reads it."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from matchmaker.matching import engine as engine_module
from matchmaker.matching.engine import build_engine
from matchmaker.matching.glossary import load_glossary
from matchmaker.matching.relevance import (
    CHEAP,
    DEFAULT_MODEL,
    EXPENSIVE,
    FEATURES,
    RelevanceModel,
    load_model,
    need_side,
    offer_side,
    probability,
    tokens,
)
from matchmaker.matching.text import Analyzer


@pytest.fixture(scope="module")
def model() -> RelevanceModel:
    return load_model()


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(load_glossary())


def relevance(model: RelevanceModel, analyzer: Analyzer, need: str, offer: str, *, dense: float) -> float:
    need_analysis, offer_analysis = analyzer.analyze_query(need), analyzer.analyze(offer)
    cheap = model.cheap_logit(dense=np.array([dense]), best=dense, agreement=np.array([1.0]))[0]
    values = model.expensive(need=need_side(need_analysis), offer=offer_side(offer_analysis), lexical=0.0)
    return probability(float(cheap) + model.expensive_logit(values))


def test_the_model_file_is_the_one_the_package_computes(model: RelevanceModel) -> None:
    assert model.features == FEATURES == CHEAP + EXPENSIVE
    assert 0.0 < model.threshold <= model.answer_threshold < 1.0
    assert model.idf and model.unseen_idf >= max(model.idf.values())


def test_the_slack_bounds_what_the_expensive_features_add(model: RelevanceModel) -> None:
    rng = random.Random(12)
    for _ in range(1000):
        values = [rng.random() for _ in EXPENSIVE]
        assert model.expensive_logit(values) <= model.slack + 1e-12


def test_the_product_named_outranks_its_neighbour_at_the_same_cosine(
    model: RelevanceModel, analyzer: Analyzer
) -> None:
    need = "冲压车间年需冷轧钢卷DC04约3万吨，厚度0.8-1.5 mm，碳足迹不高于2.0 tCO2e/t。"
    product = "冷轧钢卷 DC04\n汽车冲压用冷轧钢卷，厚度0.7-2.0 mm，第三方核查碳足迹1.9 tCO2e/t。"
    neighbour = "石墨电极 UHP 600\n电弧炉用超高功率石墨电极，碳足迹4.2 tCO2e/t。"
    assert relevance(model, analyzer, need, product, dense=0.5) > relevance(
        model, analyzer, need, neighbour, dense=0.5
    )


def test_features_stay_in_range_on_long_mixed_full_width_text(
    model: RelevanceModel, analyzer: Analyzer
) -> None:
    text = ("需求：低碳热轧卷 hot-rolled coil Ｑ２３５Ｂ，碳足迹≤１．８ tCO₂e/t；" * 120)[:5000]
    need, offer = need_side(analyzer.analyze_query(text)), offer_side(analyzer.analyze(text))
    values = model.expensive(need=need, offer=offer, lexical=1.0)
    assert all(0.0 <= value <= 1.0 + 1e-9 for value in values)
    assert values[1] == pytest.approx(1.0)  # a text covers itself
    assert "b:热轧" in tokens(text)


def test_an_installation_without_the_model_file_ranks_by_the_formula(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A wheel installed without the repository's models/ (the Docker image names the file instead).
    monkeypatch.setattr(engine_module, "DEFAULT_MODEL", tmp_path / "relevance.json")
    assert build_engine(model="use", data_dir=None).relevance is None
    named = build_engine(model="use", data_dir=None, relevance_model_path=str(DEFAULT_MODEL))
    assert named.relevance is not None and named.relevance.threshold == load_model().threshold
    with pytest.raises(FileNotFoundError):
        build_engine(model="use", data_dir=None, relevance_model_path=str(tmp_path / "absent.json"))
