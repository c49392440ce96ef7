"""Run the development set end to end (import, index, match, score) with the service's own code paths."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import true
from sqlalchemy.orm import Session

from matchmaker.auth import Principal
from matchmaker.db.models import Need
from matchmaker.imports import service as imports
from matchmaker.imports.readers import read_jsonl
from matchmaker.matching import repository
from matchmaker.matching.eligibility import Criteria
from matchmaker.matching.engine import Engine
from matchmaker.matching.service import need_criteria, rank_for_need

EVAL_OPERATOR = Principal(organisation_id=0, role="operator", key_id=0)


@dataclass(frozen=True, slots=True)
class EvaluationRun:
    filtered: dict[str, list[str]]
    unfiltered: dict[str, list[str]]


def open_needs(session: Session) -> list[Need]:
    """Every open need, by id."""
    return repository.open_needs(session, visible=true())


def ranked_external_ids(
    *, session: Session, engine: Engine, need: Need, limit: int, filtered: bool = True
) -> list[str]:
    """The offers for a need, as the API ranks them, by their ids from the import."""
    criteria = need_criteria(need) if filtered else Criteria()
    shown = rank_for_need(
        session=session, engine=engine, need=need, criteria=criteria, limit=limit, apply_floor=filtered
    )
    return [shown.offers[scored.facts.id].external_id for scored in shown.ranking.matches]


def import_dataset(session: Session, data_dir: Path) -> None:
    """Import a development set's offers and needs as the operator would."""
    for name, importer in (("offers.jsonl", imports.import_offers), ("needs.jsonl", imports.import_needs)):
        text = (data_dir / name).read_text(encoding="utf-8")
        report = importer(session=session, principal=EVAL_OPERATOR, records=read_jsonl(text))
        if report.failed:
            raise ValueError(f"{name}: {report.failed} lines failed, e.g. {report.errors[0].message}")


def run(
    *, session: Session, engine: Engine, limit: int = 10, progress: Callable[[int], None] | None = None
) -> EvaluationRun:
    """Rank every open need twice: under its hard filters (what a buyer sees) and without them."""
    filtered: dict[str, list[str]] = {}
    unfiltered: dict[str, list[str]] = {}
    for need in open_needs(session):
        filtered[need.external_id] = ranked_external_ids(
            session=session, engine=engine, need=need, limit=limit
        )
        unfiltered[need.external_id] = ranked_external_ids(
            session=session, engine=engine, need=need, limit=limit, filtered=False
        )
        if progress:
            progress(1)
    return EvaluationRun(filtered=filtered, unfiltered=unfiltered)


def load_scorer(data_dir: Path) -> ModuleType:
    """The development set's own scorer (score.py), so the figures are exactly its figures."""
    path = data_dir / "score.py"
    spec = importlib.util.spec_from_file_location("matchmaker_dev_scorer", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise FileNotFoundError(f"no score.py in {data_dir}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def score(data_dir: Path, evaluation: EvaluationRun, *, k: int = 10) -> dict[str, dict[str, Any]]:
    """Score both rankings with score.py: filtered with qrels.tsv, unfiltered with qrels_unfiltered.tsv."""
    scorer = load_scorer(data_dir)
    offers, needs, filtered_qrels, unfiltered_qrels = scorer.load_data(str(data_dir))
    return {
        "filtered": scorer.summarize(
            scorer.evaluate(evaluation.filtered, offers, needs, filtered_qrels, k=k)
        ),
        "unfiltered": scorer.summarize(
            scorer.evaluate(evaluation.unfiltered, offers, needs, unfiltered_qrels, k=k)
        ),
    }


def write_jsonl(path: Path, rankings: dict[str, list[str]]) -> None:
    lines = [
        json.dumps({"need_id": need, "ranked_offer_ids": ids}, ensure_ascii=False)
        for need, ids in rankings.items()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
