"""The vendor's search for open needs by free text (`/ui/find-needs`), beside the buyer's offer search.

The form is read into the API's own request model and searched by `matching.needs_search`, as
`POST /needs/search` does, so the page shows exactly the needs the API would return.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from matchmaker.deps import EngineDep, SessionDep
from matchmaker.exchange import CATEGORIES
from matchmaker.matching import needs_search
from matchmaker.matching.schemas import NeedSearchRequest, NeedSearchResults
from matchmaker.routing import CheckedRoute
from matchmaker.web.deps import VendorDep
from matchmaker.web.forms import FormErrors, build
from matchmaker.web.rendering import render

router = APIRouter(route_class=CheckedRoute)
PAGE_SIZE = 20
LIMIT_CAP = 50  # the API's own limit on a needs search


@router.get("/find-needs")
def find_needs(
    request: Request, session: SessionDep, engine: EngineDep, user: VendorDep,
    q: Annotated[str, Query(max_length=5_000)] = "",
    category: Annotated[str, Query(max_length=64)] = "",
    region: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=LIMIT_CAP)] = PAGE_SIZE,
) -> Response:  # fmt: skip
    """Empty form fields arrive as empty strings: they mean 'any'."""
    result: NeedSearchResults | None = None
    problem = None
    if q.strip():
        fields = {
            "text": q,
            "category": [category] if category else [],
            "region": [region.strip()] if region.strip() else [],
            "limit": limit,
        }
        try:
            search = build(NeedSearchRequest, fields)
        except FormErrors as errors:  # a category the page never offers, say: a message, not an error page
            problem = errors.shown(request)["summary"]
        else:
            with engine.matching_slots:
                result = needs_search.search_needs(
                    session=session, engine=engine, principal=user.principal, request=search
                )
    context = {
        "q": q,
        "category": category,
        "region": region,
        "result": result,
        "problem": problem,
        "categories": CATEGORIES,
        "limit_cap": LIMIT_CAP,
    }
    return render(request, "vendor/needs_search.html", context)
