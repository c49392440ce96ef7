"""The PACT host's rules, without HTTP: OAuth clients, access tokens, and which footprints a client sees.

A client acts for its organisation and sees exactly the offers that organisation may see through the API
(alliance-only offers only to members), restricted to published offers that state a footprint PACT can
express. Footprints are built from offers and their footprint histories (`mapping.footprints_of_offer`:
the current one and those it replaced), through the app's `FootprintCache` when one is given: once per
state of an offer rather than on every request.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from matchmaker.auth import Principal, Role, hash_secret, secret_matches
from matchmaker.db.base import utcnow
from matchmaker.db.models import Offer, Organisation, PactClient
from matchmaker.db.query import ID_CHUNK
from matchmaker.pact import repository
from matchmaker.pact.cache import FootprintCache, footprint_key, state_key
from matchmaker.pact.filters import FootprintQuery
from matchmaker.pact.lineage import PcfVersion
from matchmaker.pact.mapping import OfferFootprints
from matchmaker.pact.tokens import AccessTokens, TokenExpired, TokenInvalid
from matchmaker.parties import service as party_service
from matchmaker.visibility import EVERYONE, Viewer


class PactProblem(Exception):
    """An error a PACT endpoint answers with `{"code", "message"}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class NewClient:
    client: PactClient
    secret: str  # shown once, never stored


def create_client(
    *, session: Session, organisation: Organisation, label: str | None = None,
    callback_url: str | None = None, callback_client_id: str | None = None,
    callback_client_secret: str | None = None,
) -> NewClient:  # fmt: skip
    """Issue OAuth client credentials for an organisation."""
    secret = secrets.token_urlsafe(32)
    client = PactClient(
        organisation_id=organisation.id,
        client_id=f"mmpact-{secrets.token_hex(8)}",
        secret_hash=hash_secret(secret),
        label=label,
        callback_url=callback_url,
        callback_client_id=callback_client_id,
        callback_client_secret=callback_client_secret,
    )
    repository.add_client(session, client)
    return NewClient(client=client, secret=secret)


def _usable(client: PactClient | None) -> bool:
    return (
        client is not None
        and client.revoked_at is None
        and client.organisation.admission_status != "suspended"
    )


def authenticate_client(*, session: Session, client_id: str, secret: str) -> PactClient | None:
    """The client these credentials belong to, if they are right and it may still act."""
    client = repository.get_client_by_client_id(session, client_id)
    if client is None or not secret_matches(secret, client.secret_hash) or not _usable(client):
        return None
    return client


def client_for_token(*, session: Session, tokens: AccessTokens, authorization: str | None) -> PactClient:
    """The client behind a bearer token; 401 with the spec's codes otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise PactProblem(401, "BadRequest", "a bearer access token is required (POST /auth/token)")
    try:
        row_id = tokens.read(token.strip())
    except TokenExpired:
        raise PactProblem(401, "TokenExpired", "the access token has expired; request a new one") from None
    except TokenInvalid:
        raise PactProblem(401, "BadRequest", "invalid access token") from None
    client = repository.get_client(session, row_id)
    if client is None or not _usable(client):
        raise PactProblem(401, "BadRequest", "the access token's client is no longer allowed")
    return client


def principal_of(client: PactClient) -> Principal:
    role: Role = "operator" if client.organisation.kind == "operator" else "buyer"
    return Principal(organisation_id=client.organisation_id, role=role, key_id=0)


def _published_footprints(
    session: Session, *, viewer: Viewer, issuer: str,
    cache: FootprintCache | None,
) -> Iterator[tuple[int, OfferFootprints]]:  # fmt: skip
    """(offer id, its footprints) of the published offers the viewer may see, oldest first.

    The offers' states (ids, versions, owner names) are read first; only those the cache lacks are loaded,
    with their footprint histories (one query for each chunk of them), and mapped, a chunk at a time as the
    caller reads on. An offer that changed in between is served as it is now, and one no longer visible is
    left out: its loading re-applies the visibility rules."""
    cache = cache if cache is not None else FootprintCache()
    keys = [
        state_key(state, issuer=issuer) for state in repository.published_offer_states(session, viewer=viewer)
    ]
    cached = cache.lookup(keys)
    missing = [key[1] for key in keys if key not in cached]
    next_missing, requested = 0, set[int]()
    loaded: dict[int, Offer] = {}
    histories: dict[int, list[PcfVersion]] = {}
    for key in keys:
        offer_id = key[1]
        footprints: OfferFootprints | None
        if key in cached:
            footprints = cached[key]
        else:
            if offer_id not in requested:
                # Misses come in order, so this one starts the next chunk of them.
                chunk = missing[next_missing : next_missing + ID_CHUNK]
                next_missing += len(chunk)
                requested = set(chunk)
                loaded = repository.published_offers_by_id(session, chunk, viewer=viewer)
                # Read after the offers, so each history holds every version up to its offer's.
                histories = repository.footprint_histories(session, loaded)
            offer = loaded.get(offer_id)
            footprints = (
                cache.map_and_keep(offer, issuer=issuer, history=histories.get(offer_id, []))
                if offer is not None
                else None
            )
        if footprints is not None:
            yield offer_id, footprints


def _viewer(session: Session, client: PactClient) -> Viewer:
    """The client as the visibility rules see it: its organisation, in the role `principal_of` gives it."""
    return party_service.viewer_for(
        session=session, organisation_id=client.organisation_id, role=principal_of(client).role
    )


def visible_footprints(
    *, session: Session, client: PactClient, issuer: str, cache: FootprintCache | None = None
) -> list[dict[str, Any]]:
    """The footprints of the offers this client's organisation may see, each offer's current one first and
    then those it replaced (`Deprecated`: PACT's ListFootprints SHOULD include them); shared when cached,
    read only."""
    found = _published_footprints(session, viewer=_viewer(session, client), issuer=issuer, cache=cache)
    return [footprint for _, footprints in found for footprint in footprints.all()]


def announcements(
    *, session: Session, offer_ids: Iterable[int], issuer: str, cache: FootprintCache | None = None
) -> list[tuple[PactClient, list[str]]]:
    """For each usable client with a callback URL, the ids of these offers' current footprints it may list
    through ListFootprints (none: left out), in the listing's order. A footprint an offer replaced is not
    announced again: the new one names it in `precedingPfIds`."""
    offers = repository.published_offers_by_id(session, offer_ids, viewer=EVERYONE)
    cache = cache if cache is not None else FootprintCache()
    keys = {offer_id: footprint_key(offer, issuer=issuer) for offer_id, offer in offers.items()}
    cached = cache.lookup(keys.values())
    histories = repository.footprint_histories(
        session, [offer_id for offer_id, key in keys.items() if key not in cached]
    )
    ids: dict[int, str] = {}
    for offer_id, offer in offers.items():
        key = keys[offer_id]
        footprints = (
            cached[key]
            if key in cached
            else cache.map_and_keep(offer, issuer=issuer, history=histories.get(offer_id, []))
        )
        if footprints.current is not None:
            ids[offer_id] = str(footprints.current["id"])
    if not ids:
        return []
    found: list[tuple[PactClient, list[str]]] = []
    # What a client may list depends on its organisation only: asked once per organisation, not per client.
    visible_to: dict[int, set[int]] = {}
    for client in repository.clients_with_callbacks(session):
        if not _usable(client):
            continue
        if client.organisation_id not in visible_to:
            visible_to[client.organisation_id] = set(
                repository.published_offer_ids(session, ids, viewer=_viewer(session, client))
            )
        visible = visible_to[client.organisation_id]
        if visible:
            found.append((client, [ids[offer_id] for offer_id in sorted(visible)]))
    return found


def list_footprints(
    *, session: Session, client: PactClient, query: FootprintQuery, issuer: str,
    cache: FootprintCache | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The visible footprints the query selects, in a stable order."""
    visible = visible_footprints(session=session, client=client, issuer=issuer, cache=cache)
    return [fp for fp in visible if query.matches(fp)]


def get_footprint(
    *, session: Session, client: PactClient, footprint_id: str, issuer: str,
    cache: FootprintCache | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One footprint, current or replaced (`Deprecated`, as PACT's GetFootprint SHOULD return it): 404 when
    no published offer has it, 403 when this client may not see the offer (as PACT v3 requires:
    `AccessDenied`; the rest of the API answers 404 for what a caller may not see)."""
    wanted = footprint_id.lower()
    # Footprints are built from offers, so finding one builds them until it turns up (once, not per view).
    found = _published_footprints(session, viewer=EVERYONE, issuer=issuer, cache=cache)
    for offer_id, footprints in found:
        for footprint in footprints.all():
            if str(footprint["id"]).lower() == wanted:
                if not repository.is_visible(session, offer_id, viewer=_viewer(session, client)):
                    raise PactProblem(
                        403, "AccessDenied", "this footprint is not shared with your organisation"
                    )
                return footprint
    raise PactProblem(404, "NotFound", f"no footprint {footprint_id}")


def list_clients(*, session: Session, organisation: Organisation) -> Sequence[PactClient]:
    return repository.clients_of(session, organisation.id)


def revoke_client(*, session: Session, organisation: Organisation, client_row_id: int) -> bool:
    """Revoke one of the organisation's clients (again is harmless); False if it has no such client."""
    client = repository.get_client(session, client_row_id)
    if client is None or client.organisation_id != organisation.id:
        return False
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        session.flush()
    return True
