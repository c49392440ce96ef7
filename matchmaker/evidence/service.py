"""Verification evidence: submitted by the offer's vendor (or the operator), reviewed by the operator.

Accepted, it verifies the offer's footprint until its `valid_until` (`matchmaker.verification`); it speaks
for the footprint it was submitted with, so a footprint changed since cannot be accepted on it. Rejected,
it says why. Who may read it: the vendor and the operator, everything; anyone who may see the offer, the
evidence that was accepted (the badge's "verified by X until DATE", and the report behind it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from matchmaker.auth import Principal
from matchmaker.db.base import utcnow
from matchmaker.db.models import Document, Offer, VerificationEvidence
from matchmaker.documents import service as document_service
from matchmaker.documents.store import DocumentStore
from matchmaker.errors import Conflict, NotFound, ValidationFailed, field_error
from matchmaker.evidence import repository
from matchmaker.evidence.schemas import EvidenceCreate, EvidenceReview
from matchmaker.verification import end_of_day

QUEUE_LIMIT = 200


def submit(*, session: Session, offer: Offer, data: EvidenceCreate) -> VerificationEvidence:
    """File evidence for the offer's footprint as it stands now (the caller may change the offer)."""
    if offer.pcf_value is None:
        raise ValidationFailed(
            "the offer states no footprint to verify",
            code="evidence.no_footprint",
            values={"offer": offer.id},
        )
    evidence = VerificationEvidence(
        offer_id=offer.id, pcf_value=offer.pcf_value, pcf_unit=offer.pcf_unit, **data.model_dump()
    )
    return repository.add(session, evidence)


def attach_document(
    *,
    session: Session,
    store: DocumentStore,
    evidence: VerificationEvidence,
    content: bytes,
    filename: str | None,
    limit: int,
) -> VerificationEvidence:
    """The report or certificate itself (a PDF or an image), while the evidence awaits review."""
    if evidence.status != "submitted" or evidence.document_id is not None:
        # Once attached, the report the operator reviews is the one it opens: never swapped under it.
        raise Conflict(
            f"evidence {evidence.id} has its report already or was reviewed; submit new evidence instead",
            code="evidence.reviewed",
            values={"status": evidence.status},
        )
    evidence.document = document_service.accept(
        session=session,
        store=store,
        owner_id=evidence.offer.owner_id,
        content=content,
        filename=filename,
        limit=limit,
    )
    session.flush()
    return evidence


def readable(*, session: Session, principal: Principal, offer: Offer) -> Sequence[VerificationEvidence]:
    """The offer's evidence the caller may read (it may see the offer): all of it for the vendor and the
    operator; for anyone else, the accepted evidence that speaks for the footprint as it stands."""
    if _is_party(principal, offer):
        return repository.of_offer(session, offer.id, statuses=None)
    return [e for e in repository.of_offer(session, offer.id, statuses=["accepted"]) if _current(e, offer)]


def get_readable(
    *, session: Session, principal: Principal, offer: Offer, evidence_id: int
) -> VerificationEvidence:
    evidence = repository.get(session, evidence_id)
    if evidence is None or evidence.offer_id != offer.id:
        raise NotFound(f"evidence {evidence_id} not found")
    if not _is_party(principal, offer) and not (evidence.status == "accepted" and _current(evidence, offer)):
        raise NotFound(f"evidence {evidence_id} not found")
    return evidence


def document_of(*, session: Session, store: DocumentStore, evidence: VerificationEvidence) -> Document:
    if evidence.document_id is None:
        raise NotFound(f"evidence {evidence.id} has no document")
    return document_service.get(session=session, store=store, document_id=evidence.document_id)


def queue(*, session: Session) -> Sequence[VerificationEvidence]:
    """What awaits the operator's review, oldest first."""
    return repository.with_status(session, "submitted", limit=QUEUE_LIMIT)


def get(*, session: Session, evidence_id: int) -> VerificationEvidence:
    evidence = repository.get(session, evidence_id)
    if evidence is None:
        raise NotFound(f"evidence {evidence_id} not found")
    return evidence


def review(*, session: Session, evidence: VerificationEvidence, data: EvidenceReview) -> VerificationEvidence:
    """Accept (the offer's footprint is verified until the evidence's end) or reject, with a reason."""
    if evidence.status != "submitted":
        raise Conflict(
            f"evidence {evidence.id} was {evidence.status} already",
            code="evidence.reviewed",
            values={"status": evidence.status},
        )
    now = utcnow()
    if data.decision == "rejected":
        if not data.reason:
            raise ValidationFailed(
                "a rejection needs a reason the vendor can act on",
                errors=[field_error("reason", "required to reject", code="evidence.reason_missing")],
                code="evidence.reason_missing",
            )
    else:
        _check_acceptable(evidence, now=now)
        offer = evidence.offer
        offer.pcf_verified = True
        offer.verification_source = "evidence"
        offer.verified_by = evidence.verifier
        offer.verified_until = end_of_day(evidence.valid_until)
        # The verifier's word on how long the footprint is valid outweighs the default the platform assumed.
        offer.footprint_valid_until = offer.verified_until
        offer.verification_party = evidence.party
        if evidence.standard:  # the standard the footprint was verified to, not the one the vendor typed
            offer.standard = evidence.standard
        if offer.pcf_origin == "calculated":
            # A verifier checked the calculation: the footprint is a verified one now, no longer a draft
            # marked calculated (its provenance still names the calculation it came from).
            offer.pcf_origin = None
    evidence.status = data.decision
    # A reason is the vendor's to act on; an acceptance needs none (anyone who may see the offer reads it).
    evidence.review_reason = (data.reason or None) if data.decision == "rejected" else None
    evidence.reviewed_at = now
    session.flush()
    return evidence


def _check_acceptable(evidence: VerificationEvidence, *, now: datetime) -> None:
    offer = evidence.offer
    if (offer.pcf_value, offer.pcf_unit) != (evidence.pcf_value, evidence.pcf_unit):
        raise Conflict(
            f"the offer's footprint changed since this evidence was submitted (it spoke for "
            f"{evidence.pcf_value} {evidence.pcf_unit}, the offer states {offer.pcf_value} {offer.pcf_unit})",
            code="evidence.footprint_changed",
        )
    if end_of_day(evidence.valid_until) <= now:
        raise ValidationFailed(
            f"the evidence expired after {evidence.valid_until}",
            code="evidence.expired",
            values={"date": str(evidence.valid_until)},
        )


def _current(evidence: VerificationEvidence, offer: Offer) -> bool:
    """Whether the evidence still speaks for the offer: its footprint, as the offer states it now."""
    return (evidence.pcf_value, evidence.pcf_unit) == (offer.pcf_value, offer.pcf_unit)


def _is_party(principal: Principal, offer: Offer) -> bool:
    return principal.is_operator or principal.organisation_id == offer.owner_id
