"""A buyer's shortlist of a need on the pages: keep and drop offers (from a match card or an offer's page),
notes, a side-by-side comparison of up to five with a chart drawn on the server, and the export."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from matchmaker.deps import EngineDep, SessionDep
from matchmaker.downloads import attachment
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import MAX_ID, PathId
from matchmaker.shortlists import export
from matchmaker.shortlists import service as shortlist_service
from matchmaker.shortlists.schemas import MAX_NOTE, Shortlist, ShortlistItem
from matchmaker.web.deps import BuyerDep, FormDep
from matchmaker.web.forms import text
from matchmaker.web.pages import safe_next
from matchmaker.web.rendering import language, render

router = APIRouter(route_class=CheckedRoute)
# Side by side, a committee can read five columns; more is a table, which the shortlist page already is.
MAX_COMPARED = 5


@router.post("/needs/{need_id}/shortlist/{offer_id}")
def change_shortlist(
    session: SessionDep, user: BuyerDep, form: FormDep, need_id: PathId, offer_id: PathId
) -> Response:
    """Keep an offer (or change its note), or drop it; then back where the form was."""
    if form.get("action") == "drop":
        shortlist_service.drop(session=session, principal=user.principal, need_id=need_id, offer_id=offer_id)
    else:
        note = (text(form, "note") or "")[:MAX_NOTE]
        shortlist_service.keep(
            session=session, principal=user.principal, need_id=need_id, offer_id=offer_id, note=note
        )
    target = form.get("next")
    return RedirectResponse(
        safe_next(target if isinstance(target, str) else None, f"/ui/needs/{need_id}/shortlist"),
        status_code=303,
    )


@router.get("/needs/{need_id}/shortlist")
def shortlist_page(
    request: Request, session: SessionDep, engine: EngineDep, user: BuyerDep, need_id: PathId
) -> Response:
    need = shortlist_service.get_need(session=session, principal=user.principal, need_id=need_id)
    shortlist = shortlist_service.shortlist(
        session=session, engine=engine, principal=user.principal, need=need
    )
    context = {"need": need, "shortlist": shortlist, "max_compared": MAX_COMPARED}
    return render(request, "buyer/shortlist.html", context)


@router.get("/needs/{need_id}/compare")
def compare_page(
    request: Request, session: SessionDep, engine: EngineDep, user: BuyerDep, need_id: PathId,
    offer: Annotated[list[int] | None, Query(max_length=50)] = None,
) -> Response:  # fmt: skip
    """Up to five shortlisted offers side by side (the first five without a choice)."""
    need = shortlist_service.get_need(session=session, principal=user.principal, need_id=need_id)
    chosen = [i for i in (offer or []) if 1 <= i <= MAX_ID]
    shortlist = shortlist_service.shortlist(
        session=session, engine=engine, principal=user.principal, need=need, offer_ids=chosen
    )
    items = shortlist.items[:MAX_COMPARED]
    context = {
        "need": need,
        "shortlist": shortlist,
        "items": items,
        "chart": FootprintChart.of(shortlist, items),
        "cut": len(shortlist.items) > MAX_COMPARED,
    }
    return render(request, "buyer/compare.html", context)


@router.get("/needs/{need_id}/shortlist/export")
def export_shortlist(
    request: Request, session: SessionDep, engine: EngineDep, user: BuyerDep, need_id: PathId,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "xlsx",
) -> Response:  # fmt: skip
    """The shortlist as a file, its headings in the page's language."""
    lang: export.ExportLanguage = "zh" if language(request) == "zh" else "en"
    return attachment(
        shortlist_service.shortlist_download(
            session=session,
            engine=engine,
            principal=user.principal,
            need_id=need_id,
            fmt=format,
            language=lang,
        )
    )


@dataclass(frozen=True, slots=True)
class Bar:
    item: ShortlistItem
    label: str  # the offer's title, cut to fit beside the bar
    y: int
    width: float  # in the chart's units (0-CHART_WIDTH)
    over: bool


# Room for a bar's label, in Latin letters; a Chinese character takes two.
LABEL_WIDTH = 26


def short_label(text: str, width: int = LABEL_WIDTH) -> str:
    """The text cut to `width` columns (wide characters count two), with an ellipsis when cut."""
    used, kept = 0, list[str]()
    for character in text:
        used += 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1
        if used > width - 1:
            return "".join(kept) + "…"
        kept.append(character)
    return text


CHART_WIDTH = 600
BAR_HEIGHT = 28


@dataclass(frozen=True, slots=True)
class FootprintChart:
    """Horizontal bars of the comparable footprints on one scale, with the ceiling as a line: drawn as SVG
    by the template, readable without JavaScript."""

    bars: list[Bar]
    ceiling_x: float | None
    scale_max: float
    unit: str | None
    height: int

    @classmethod
    def of(cls, shortlist: Shortlist, items: list[ShortlistItem]) -> FootprintChart | None:
        values = [i.footprint.value for i in items if i.footprint.value is not None]
        if not values:
            return None
        top = max([*values, shortlist.ceiling or 0.0])
        top = top if top > 0 else 1.0
        scale = CHART_WIDTH / (top * 1.1)  # room past the longest bar for its label
        bars = [
            Bar(
                item=item,
                label=short_label(item.offer.title),
                y=position * (BAR_HEIGHT + 12),
                width=max(item.footprint.value, 0.0) * scale if item.footprint.value is not None else 0.0,
                over=(
                    shortlist.ceiling is not None
                    and item.footprint.value is not None
                    and item.footprint.value > shortlist.ceiling
                ),
            )
            for position, item in enumerate(items)
        ]
        ceiling_x = shortlist.ceiling * scale if shortlist.ceiling is not None else None
        return cls(bars, ceiling_x, top, shortlist.unit, len(items) * (BAR_HEIGHT + 12) + 24)
