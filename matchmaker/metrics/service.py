"""The operator's metrics: matches per need, time to first match, inquiries -> quotes -> won, and the
precision at 5 that buyers' feedback shows. Figures over the most recent `NEEDS_COUNTED` needs (counting
an open need's matches ranks it: about 10 ms each at 5,000 offers)."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from matchmaker.auth import Principal
from matchmaker.errors import Forbidden
from matchmaker.local_time import local_time
from matchmaker.matching import service as matching
from matchmaker.matching.engine import Engine
from matchmaker.metrics import repository
from matchmaker.metrics.schemas import FeedbackMetrics, Funnel, Metrics, NeedMetrics
from matchmaker.spreadsheets import CSV_MEDIA_TYPE, DownloadFile, csv_file

NEEDS_COUNTED = 50
TOP = 5


def compute(*, session: Session, engine: Engine, principal: Principal) -> Metrics:
    if not principal.is_operator:
        raise Forbidden("the metrics are the operator's")
    needs = list(repository.recent_needs(session, limit=NEEDS_COUNTED))
    ids = [need.id for need in needs]
    first = repository.first_fits(session, ids)
    inquiries = repository.inquiry_counts(session, ids)
    rows = []
    for need in needs:
        matches = None
        if need.status == "open":
            with engine.matching_slots:
                matches = matching.match_need(
                    session=session, engine=engine, principal=principal, need_id=need.id,
                    refinement=matching.Refinement(), limit=1,
                ).relevant  # fmt: skip
        counts = inquiries.get(need.id, {})
        rows.append(
            NeedMetrics(
                need_id=need.id,
                buyer=need.owner.name,
                created_at=need.created_at,
                status=need.status,
                matches=matches,
                seconds_to_first_match=(
                    max((first[need.id] - need.created_at).total_seconds(), 0.0) if need.id in first else None
                ),
                inquiries=counts.get("sent", 0),
                quotes=counts.get("quoted", 0),
                won=counts.get("won", 0),
            )  # fmt: skip
        )
    open_counts = [row.matches for row in rows if row.matches is not None]
    waits = [row.seconds_to_first_match for row in rows if row.seconds_to_first_match is not None]
    return Metrics(
        counted_at=datetime.now(UTC),
        needs_counted=len(rows),
        median_matches_per_open_need=statistics.median(open_counts) if open_counts else None,
        open_needs_without_match=sum(1 for count in open_counts if count == 0),
        median_seconds_to_first_match=statistics.median(waits) if waits else None,
        inquiries=Funnel(**repository.inquiry_counts(session)[None]),
        feedback=_feedback(session),
        needs=rows,
    )


def _feedback(session: Session) -> FeedbackMetrics:
    counts = repository.verdict_counts(session, top=TOP)
    given = {verdict: total for verdict, (total, _) in counts.items()}
    in_top = {verdict: top for verdict, (_, top) in counts.items()}
    judged = sum(in_top.values())
    good = in_top.get("relevant", 0) + in_top.get("contracted", 0)
    return FeedbackMetrics(
        given=sum(given.values()),
        relevant=given.get("relevant", 0),
        not_relevant=given.get("not_relevant", 0),
        contracted=given.get("contracted", 0),
        precision_at_5=round(good / judged, 3) if judged else None,
        judged_in_top_5=judged,
    )


def csv_download(metrics: Metrics) -> DownloadFile:
    """One row per need counted, with the totals' date in the last column."""
    header = [
        "need_id", "buyer", "created_at", "status", "matches", "seconds_to_first_match", "inquiries",
        "quotes", "won", "counted_at",
    ]  # fmt: skip
    rows = [
        [row.need_id, row.buyer, local_time(row.created_at), row.status,
         "" if row.matches is None else row.matches,
         "" if row.seconds_to_first_match is None else round(row.seconds_to_first_match, 1),
         row.inquiries, row.quotes, row.won, local_time(metrics.counted_at)]
        for row in metrics.needs
    ]  # fmt: skip
    return DownloadFile(csv_file([header, *rows]), CSV_MEDIA_TYPE, "matchmaker-metrics.csv")
