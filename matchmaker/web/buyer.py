"""Pages for buyers: their needs, each need's matches with refinable filters, and free-text search.

Matching goes through `matching.service`, exactly as the API does, so a page never shows an offer the API
would not return, and the filter refinements are the API's own query parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from matchmaker.alliances import service as alliance_service
from matchmaker.db.models import Need
from matchmaker.deps import AnalyzerDep, EngineDep, SessionDep
from matchmaker.errors import MatchmakerError
from matchmaker.exchange import CATEGORIES, OFFER_KINDS, FootprintUnitText, PrimaryShare, Region
from matchmaker.feedback import service as feedback_service
from matchmaker.matching import service as matching
from matchmaker.matching.engine import Engine
from matchmaker.matching.schemas import OfferMatches, SearchRequest
from matchmaker.needs import service as need_service
from matchmaker.needs.repository import NeedFilters
from matchmaker.needs.schemas import DetectedConstraints, NeedCreate, NeedUpdate
from matchmaker.pagination import PageRequest
from matchmaker.preconditions import require_version
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import TEXT_INPUT, FootprintNumber, PathId
from matchmaker.shortlists import service as shortlist_service
from matchmaker.web.deps import BuyerDep, FormDep
from matchmaker.web.forms import FormErrors, attempt, build, checked, no_errors, refusal, text, values
from matchmaker.web.rendering import Pager, WebUser, render

router = APIRouter(route_class=CheckedRoute)
PER_PAGE = 20
NEED_TEXT_FIELDS = [
    "text", "category", "max_pcf", "max_pcf_unit", "alliance_only", "region_preference", "quantity",
    "quantity_unit", "baseline_pcf", "baseline_pcf_unit", "delivery_from", "delivery_until", "respond_by",
    "min_primary_share", "expired_footprints",
]  # fmt: skip
NEED_CHECKBOXES = ["require_verified", "require_third_party"]


@dataclass(frozen=True, slots=True)
class MatchFilters:
    """The refinements a buyer can try on the match list (query parameters, so a view can be shared)."""

    max_pcf: str | None = None
    max_pcf_unit: str | None = None
    require_verified: bool = False
    require_third_party: bool = False
    min_primary_share: str | None = None
    category: str | None = None
    kind: str | None = None
    region: str | None = None
    certification: str | None = None
    limit: int = 10
    sort: matching.MatchOrder = "score"
    page: int = 1

    @property
    def refinement(self) -> matching.Refinement:
        return matching.Refinement(
            categories=frozenset([self.category] if self.category else []),
            kinds=frozenset([self.kind] if self.kind else []),
            regions=frozenset(filter(None, [_REGION.validate_python(self.region)])),
            certification=self.certification,
            max_pcf=_CEILING.validate_python(self.max_pcf, context={TEXT_INPUT: True}),
            max_pcf_unit=_UNIT.validate_python(self.max_pcf_unit),
            require_verified=self.require_verified or None,
            require_third_party=self.require_third_party or None,
            min_primary_share=_SHARE.validate_python(self.min_primary_share, context={TEXT_INPUT: True}),
        )


# The API's own field types, so a refinement on the page accepts and refuses what the API's query does.
_UNIT = TypeAdapter(FootprintUnitText | None)
_CEILING = TypeAdapter(FootprintNumber | None)
_REGION = TypeAdapter(Region | None)
_SHARE = TypeAdapter(PrimaryShare | None)


def match_filters(
    max_pcf: Annotated[str | None, Query(max_length=40)] = None,
    max_pcf_unit: Annotated[str | None, Query(max_length=40)] = None,
    require_verified: Annotated[str | None, Query(max_length=8)] = None,
    require_third_party: Annotated[str | None, Query(max_length=8)] = None,
    min_primary_share: Annotated[str | None, Query(max_length=40)] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    region: Annotated[str | None, Query(max_length=100)] = None,
    certification: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,  # the API's limit: the page can show every match it may
    sort: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=100)] = 1,
) -> MatchFilters:
    """Empty form fields arrive as empty strings: they mean 'no refinement'."""
    return MatchFilters(
        max_pcf=max_pcf.strip() or None if max_pcf else None,
        max_pcf_unit=max_pcf_unit.strip() or None if max_pcf_unit else None,
        require_verified=require_verified in {"on", "true", "1"},
        require_third_party=require_third_party in {"on", "true", "1"},
        min_primary_share=min_primary_share.strip() or None if min_primary_share else None,
        category=category or None,
        kind=kind or None,
        region=region.strip() or None if region else None,
        certification=certification.strip() or None if certification else None,
        limit=limit,
        sort=sort if sort in MATCH_ORDERS else "score",  # type: ignore[arg-type]  # one of them, checked
        page=page,
    )


MATCH_ORDERS = get_args(matching.MatchOrder)


FiltersDep = Annotated[MatchFilters, Depends(match_filters)]


@router.get("/needs")
def list_needs(
    request: Request,
    session: SessionDep,
    analyzer: AnalyzerDep,
    user: BuyerDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    status: Annotated[str | None, Query(pattern="^(open|closed)?$")] = None,
) -> Response:
    owner = None if user.principal.is_operator else user.principal.organisation_id
    needs, total = need_service.list_visible(
        session=session,
        principal=user.principal,
        filters=NeedFilters(status=status or None, owner_id=owner),
        sort="-updated_at",
        page=PageRequest(page=page, per_page=PER_PAGE),
    )
    # A need without a category is matched in the one its text points to: the list says which.
    read = {need.id: analyzer.category_read(need.text) for need in needs if not need.category}
    context = {"needs": needs, "read": read, "pager": Pager(page, PER_PAGE, total), "status": status or ""}
    return render(request, "buyer/needs.html", context)


def _alliance_codes(session: Session, user: WebUser) -> list[str]:
    """The alliances a buyer may restrict a need to: those it is an active member of."""
    codes = alliance_service.active_codes_by_organisation(
        session=session, organisation_ids=[user.principal.organisation_id]
    )
    return sorted(codes.get(user.principal.organisation_id, []))


def _need_form(
    request: Request, session: Session, user: WebUser, *, need: Need | None, form: dict[str, Any],
    errors: FormErrors | None = None, detected: DetectedConstraints | None = None,
) -> Response:  # fmt: skip
    context = {
        "need": need,
        "form": _prefilled(form, detected) if detected else form,
        "detected": detected.model_dump(exclude_none=True) if detected else None,
        **(errors.shown(request, labels="buyer.need.") if errors else no_errors()),
        "categories": CATEGORIES,
        "alliances": _alliance_codes(session, user),
    }
    return render(request, "buyer/need_form.html", context, status=errors.status if errors else 200)


def _need_values(need: Need) -> dict[str, Any]:
    return {
        "text": need.text,
        "category": need.category,
        "max_pcf": need.max_pcf,
        "max_pcf_unit": need.max_pcf_unit,
        "require_verified": need.require_verified,
        "require_third_party": need.require_third_party,
        "expired_footprints": need.expired_footprints,
        "alliance_only": need.alliance_only.code if need.alliance_only else None,
        "region_preference": need.region_preference,
        "visibility": need.visibility,
        "status": need.status,
        **{
            name: getattr(need, name)
            for name in (
                "quantity",
                "quantity_unit",
                "baseline_pcf",
                "baseline_pcf_unit",
                "min_primary_share",
            )
            if getattr(need, name) is not None
        },
        **{
            name: getattr(need, name).isoformat()
            for name in ("delivery_from", "delivery_until", "respond_by")
            if getattr(need, name) is not None
        },
    }


def _prefilled(form: dict[str, Any], detected: DetectedConstraints) -> dict[str, Any]:
    """The form with the constraints read from its text filled in, for the buyer to check and save."""
    filled = {**form, **detected.model_dump(exclude_none=True)}
    if detected.max_pcf is not None:
        filled["max_pcf"] = f"{detected.max_pcf:g}"
    return filled


def _unconfirmed(
    session: Session, form: FormDep, data: NeedCreate | NeedUpdate
) -> DetectedConstraints | None:
    """What the text states that the posted fields do not, unless the buyer has already been shown it."""
    if checked(form, "reviewed") or data.text is None:
        return None
    detected, _ = need_service.detect(session=session, text=data.text, fields=data.model_dump())
    return detected


def _posted_need(form: FormDep) -> dict[str, Any]:
    posted = values(form, NEED_TEXT_FIELDS)
    posted.update({name: checked(form, name) for name in NEED_CHECKBOXES})
    posted["expired_footprints"] = posted.get("expired_footprints") or "rank_down"
    posted["visibility"] = text(form, "visibility") or "vendors"
    posted["status"] = text(form, "status") or "open"
    return posted


@router.get("/needs/new")
def new_need(request: Request, session: SessionDep, user: BuyerDep) -> Response:
    return _need_form(request, session, user, need=None, form={"visibility": "vendors", "status": "open"})


@router.post("/needs")
def create_need(request: Request, session: SessionDep, user: BuyerDep, form: FormDep) -> Response:
    posted = _posted_need(form)
    try:
        data = build(NeedCreate, posted)
        # A constraint written in the text is shown filled in, never saved before the buyer saves it.
        if detected := _unconfirmed(session, form, data):
            return _need_form(request, session, user, need=None, form=posted, detected=detected)
        need = attempt(
            lambda: need_service.create(session=session, principal=user.principal, data=data), session=session
        )
    except FormErrors as errors:
        return _need_form(request, session, user, need=None, form=posted, errors=errors)
    return RedirectResponse(f"/ui/needs/{need.id}", status_code=303)


@router.get("/needs/{need_id}/edit")
def edit_need(request: Request, session: SessionDep, user: BuyerDep, need_id: PathId) -> Response:
    # Only shows the form: no row lock (saving it takes one).
    need = need_service.get_editable(session=session, principal=user.principal, need_id=need_id, lock=False)
    current = _need_values(need)
    detected, _ = need_service.detect(session=session, text=need.text, fields=current)
    return _need_form(request, session, user, need=need, form=current, detected=detected)


@router.post("/needs/{need_id}")
def update_need(
    request: Request, session: SessionDep, user: BuyerDep, form: FormDep, need_id: PathId
) -> Response:
    need = need_service.get_editable(session=session, principal=user.principal, need_id=need_id)
    posted = _posted_need(form)
    # Every field of the form is sent: an emptied field clears it.
    changes = {
        field: posted.get(field) for field in (*NEED_TEXT_FIELDS, *NEED_CHECKBOXES, "visibility", "status")
    }
    try:
        data = build(NeedUpdate, changes)
        # A form opened on an older version would silently undo the changes made since: refuse it.
        version = text(form, "version")
        attempt(lambda: require_version(version, need))
        if detected := _unconfirmed(session, form, data):
            return _need_form(request, session, user, need=need, form=posted, detected=detected)
        attempt(lambda: need_service.update(session=session, need=need, data=data), session=session)
    except FormErrors as errors:
        return _need_form(request, session, user, need=need, form=posted, errors=errors)
    return RedirectResponse(f"/ui/needs/{need.id}", status_code=303)


def _matches(request: Request, engine: Engine, call: Any) -> tuple[OfferMatches | None, str | None]:
    """Run a matching call in a matching slot; a bad refinement becomes a message (in the page's language),
    not an error page."""
    try:
        with engine.matching_slots:
            return call(), None
    except ValidationError as error:
        return None, refusal(error).shown(request)["summary"]
    except MatchmakerError as error:
        if error.status >= 500 or error.status in (401, 403, 404):
            raise
        return None, refusal(error).shown(request)["summary"]


@router.get("/needs/{need_id}")
def need_matches(
    request: Request, session: SessionDep, engine: EngineDep, user: BuyerDep, need_id: PathId,
    filters: FiltersDep,
) -> Response:  # fmt: skip
    need = need_service.get_visible(session=session, principal=user.principal, need_id=need_id)

    def call() -> OfferMatches:
        return matching.match_need(
            session=session, engine=engine, principal=user.principal, need_id=need.id,
            refinement=filters.refinement, limit=filters.limit, order=filters.sort, page=filters.page,
        )  # fmt: skip

    result, problem = _matches(request, engine, call)
    context = {
        "need": need,
        "result": result,
        "problem": problem,
        "filters": filters,
        "categories": CATEGORIES,
        "kinds": OFFER_KINDS,
        "orders": MATCH_ORDERS,
        "editable": user.principal.is_operator or need.owner_id == user.principal.organisation_id,
        "shortlisted": shortlist_service.shortlisted_ids(session=session, need=need),
        **_verdicts(session, user, need),
        "may_shortlist": shortlist_service.is_its_buyer(user.principal, need),
        # The text states a constraint the need does not apply: say so, and where to confirm it.
        "unapplied": need_service.detect(session=session, text=need.text, fields=_need_values(need))[0],
    }
    return render(request, "buyer/need.html", context)


def _verdicts(session: Session, user: WebUser, need: Need) -> dict[str, Any]:
    """The buyer's word on each match (by offer), and the offers it dismissed (for their undo); the need is
    one whose matches the page already showed the caller."""
    given = feedback_service.given_on(session=session, need=need)
    return {
        "verdicts": {entry.offer_id: entry.verdict for entry in given},
        "dismissed": [entry for entry in given if entry.verdict == "not_relevant"],
    }


@router.get("/search")
def search(
    request: Request, session: SessionDep, engine: EngineDep, user: BuyerDep, filters: FiltersDep,
    q: Annotated[str, Query(max_length=5_000)] = "",
) -> Response:  # fmt: skip
    result, problem = None, None
    if q.strip():

        def call() -> OfferMatches:
            ceiling = filters.refinement
            request_body = SearchRequest(
                text=q.strip(),
                max_pcf=ceiling.max_pcf,
                max_pcf_unit=ceiling.max_pcf_unit,
                require_verified=filters.require_verified,
                require_third_party=filters.require_third_party,
                min_primary_share=ceiling.min_primary_share,
                category=sorted(ceiling.categories),
                kind=sorted(ceiling.kinds),
                region=sorted(ceiling.regions),
                certification=filters.certification,
                limit=filters.limit,
            )
            return matching.search(
                session=session, engine=engine, principal=user.principal, request=request_body
            )

        result, problem = _matches(request, engine, call)
    context = {
        "q": q,
        "result": result,
        "problem": problem,
        "filters": filters,
        "categories": CATEGORIES,
        "kinds": OFFER_KINDS,
    }
    return render(request, "buyer/search.html", context)
