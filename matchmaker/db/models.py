"""Tables. Every domain object the service persists is declared here, and only here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matchmaker.db.base import Base, UTCDateTime, utcnow


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Organisation(TimestampMixin, Base):
    """A company on the platform: a buyer, a vendor, both, or the platform operator itself."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # buyer | vendor | both | operator
    kind: Mapped[str] = mapped_column(String(16))
    region: Mapped[str | None] = mapped_column(String(100))
    # pending | admitted | rejected | suspended; only admitted suppliers' offers are ever shown to others.
    admission_status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    # Why the operator rejected (or suspended) it, in the operator's words; the applicant reads it.
    admission_reason: Mapped[str | None] = mapped_column(Text)
    # Registration: China's unified social credit code (统一社会信用代码, 18 characters, checksum checked),
    # the business licence as a stored document, and whom to contact.
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    # use_alter: documents point back at their owner, so one of the two keys is added after both tables.
    licence_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL", use_alter=True)
    )
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(254))

    licence: Mapped[Document | None] = relationship(foreign_keys=[licence_document_id])

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organisation", foreign_keys="Membership.organisation_id"
    )


class Document(Base):
    """A file someone uploaded as evidence (a business licence, a verification report), kept under the data
    directory by its SHA-256 (`documents.store`). Who may read it is decided by what refers to it."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # As sniffed from the content, never as the uploader declared it.
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiKey(Base):
    """An API key of an organisation; only a SHA-256 hash of the secret is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    # operator | vendor | buyer
    role: Mapped[str] = mapped_column(String(16))
    # The public, non-secret start of the key, used to find the row without scanning hashes.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation] = relationship()


class PactClient(Base):
    """An OAuth2 client of the PACT host: it belongs to an organisation and sees what that organisation
    may see. Only a SHA-256 hash of the secret is stored. The callback credentials, when set, are what
    this host presents to the client's own host to deliver asynchronous events (PACT has no other way)."""

    __tablename__ = "pact_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(200))
    # Where this client's host takes events (https, or loopback http); registered, never taken from an event.
    callback_url: Mapped[str | None] = mapped_column(String(500))
    callback_client_id: Mapped[str | None] = mapped_column(String(200))
    callback_client_secret: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation] = relationship()


class WebSession(Base):
    """A browser signed in to the pages with an API key. The cookie holds a random session id; only its
    SHA-256 hash is stored, so a copy of this table opens no session. Signing out deletes the row."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Refreshed at most every few minutes: a page view need not be a write.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Change(Base):
    """One committed change to an offer or a need, in commit order: the feed its consumers (the vector
    index, the offer table) follow by position (`matchmaker.db.changes`). Written in the transaction that
    makes the change, just before it commits."""

    __tablename__ = "changes"
    # Ids never reused on SQLite either: a position in the feed must name one change for good.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "offers" or "needs"
    row_id: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StoredVector(Base):
    """The vector a writer embedded for an offer or a need (`matching.stored_vectors`: in the transaction
    that changed the row for a request's few rows, right after it for a bulk write), so that no other
    process embeds it again: a replica following the feed reads it here. `digest` names what was embedded
    (the model and the exact text), so a vector made by another model or from an older text is never taken
    for the current one."""

    __tablename__ = "stored_vectors"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # "offers" or "needs"
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(32))
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian, unit length


class Alliance(TimestampMixin, Base):
    """A supplier alliance such as CN100; membership in it is a hard filter for needs."""

    __tablename__ = "alliances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The organisation that administers the alliance and may grant or revoke its memberships.
    admin_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )


class Membership(Base):
    """An organisation's membership of an alliance, granted by the operator or the alliance's admin."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("organisation_id", "alliance_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    alliance_id: Mapped[int] = mapped_column(ForeignKey("alliances.id", ondelete="CASCADE"), index=True)
    # active | revoked
    status: Mapped[str] = mapped_column(String(16), default="active")
    since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship(
        back_populates="memberships", foreign_keys=[organisation_id]
    )
    alliance: Mapped[Alliance] = relationship()


class Offer(TimestampMixin, Base):
    """A product, technology or service listed by a vendor, with its product carbon footprint."""

    __tablename__ = "offers"
    __table_args__ = (
        UniqueConstraint("owner_id", "external_id"),
        Index("ix_offers_status_category", "status", "category"),
        Index("ix_offers_updated_at", "updated_at"),
        # Never reuse a deleted offer's id on SQLite: the vector index keys its entries by id and version.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    # The supplier's own id of the listing (the exchange format's `id`).
    external_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(100), index=True)
    pcf_value: Mapped[float | None] = mapped_column(Float)
    pcf_unit: Mapped[str | None] = mapped_column(String(32))
    # Parsed from pcf_unit: the unit family and the value in kgCO2e per the family's base unit.
    pcf_family: Mapped[str | None] = mapped_column(String(32))
    pcf_canonical: Mapped[float | None] = mapped_column(Float)
    declared_unit: Mapped[str | None] = mapped_column(String(32))
    # Whether the footprint counts as third-party verified: vouched for by the operator (its import, a PACT
    # pull) or by verification evidence the operator accepted; never by the vendor's word alone. It holds
    # while now < verified_until (when set); `offers.verification` says so in one place.
    pcf_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the footprint itself stops being valid, verified or not (PACT's validityPeriodEnd): the end its
    # source states, else three years after it was stated here (`verification.footprint_validity`).
    footprint_valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # operator | evidence (null: not verified); and the verifier an accepted evidence names.
    verification_source: Mapped[str | None] = mapped_column(String(16))
    verified_by: Mapped[str | None] = mapped_column(String(200))
    # first | second | third: who verified it (the vendor itself, a related party, an independent body);
    # stated with the verification (`offers.data_quality`), null when it is not verified.
    verification_party: Mapped[str | None] = mapped_column(String(8))
    standard: Mapped[str | None] = mapped_column(String(100))
    certifications: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The footprint's data quality, as PACT and Catena-X state it (`offers.data_quality`): the share of
    # primary data (percent), data quality ratings 1 (good) to 3 (fair), and whether it is measured
    # (retrospective) or expected (prospective).
    primary_data_share: Mapped[float | None] = mapped_column(Float)
    dqr_technological: Mapped[float | None] = mapped_column(Float)
    dqr_temporal: Mapped[float | None] = mapped_column(Float)
    dqr_geographical: Mapped[float | None] = mapped_column(Float)
    pcf_basis: Mapped[str | None] = mapped_column(String(16))
    # Where the footprint came from, when not stated by hand: "calculated" (the calculator, from a bill of
    # materials: a draft, never verified by being calculated) or "lca" (an LCA tool's result, imported); with
    # what says which calculation, or which data set of which file, by which method.
    pcf_origin: Mapped[str | None] = mapped_column(String(16))
    pcf_provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Extra facts kept from the source (GICS industry, reporting year, product weight ...).
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # draft | published | archived | held (published by its vendor, waiting for the operator's plausibility
    # review: seen by its owner and the operator only, `offers.plausibility`)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    # Why it is held: the footprint, what it was compared with and the peers' values, for the reviewer.
    plausibility_hold: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The footprint the operator found plausible ("0.1 kgCO2e/kg"): not held again while it stays.
    plausible_footprint: Mapped[str | None] = mapped_column(String(80))
    # The operator's reason for sending a held offer back to draft, for its vendor.
    plausibility_reason: Mapped[str | None] = mapped_column(Text)
    # public | alliance (only members of visibility_alliance see it)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    visibility_alliance_id: Mapped[int | None] = mapped_column(
        ForeignKey("alliances.id", ondelete="RESTRICT"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    owner: Mapped[Organisation] = relationship()
    visibility_alliance: Mapped[Alliance | None] = relationship()

    __mapper_args__ = {"version_id_col": version}


class Need(TimestampMixin, Base):
    """A procurement need posted by a buyer, with its hard filters and soft preferences."""

    __tablename__ = "needs"
    __table_args__ = (
        UniqueConstraint("owner_id", "external_id"),
        Index("ix_needs_updated_at", "updated_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    category: Mapped[str | None] = mapped_column(String(64), index=True)
    max_pcf: Mapped[float | None] = mapped_column(Float)
    max_pcf_unit: Mapped[str | None] = mapped_column(String(32))
    max_pcf_family: Mapped[str | None] = mapped_column(String(32))
    max_pcf_canonical: Mapped[float | None] = mapped_column(Float)
    require_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    alliance_only_id: Mapped[int | None] = mapped_column(
        ForeignKey("alliances.id", ondelete="RESTRICT"), index=True
    )
    region_preference: Mapped[str | None] = mapped_column(String(100))
    # A year's quantity (in a declared unit), and the footprint of what the buyer buys today.
    quantity: Mapped[float | None] = mapped_column(Float)
    quantity_unit: Mapped[str | None] = mapped_column(String(32))
    baseline_pcf: Mapped[float | None] = mapped_column(Float)
    baseline_pcf_unit: Mapped[str | None] = mapped_column(String(32))
    delivery_from: Mapped[date | None] = mapped_column(Date)
    delivery_until: Mapped[date | None] = mapped_column(Date)
    # The last day offers are wanted (Shanghai's calendar); the need closes itself after it.
    respond_by: Mapped[date | None] = mapped_column(Date, index=True)
    # open | closed
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    # Data-quality filters: at least this share of primary data (percent); verified by a third party only.
    min_primary_share: Mapped[float | None] = mapped_column(Float)
    require_third_party: Mapped[bool] = mapped_column(Boolean, default=False)
    # What becomes of offers whose verification expired: "rank_down" (kept, below the others) | "exclude".
    expired_footprints: Mapped[str] = mapped_column(String(16), default="rank_down")
    # private (owner only) | vendors (admitted vendors may see it)
    visibility: Mapped[str] = mapped_column(String(16), default="vendors")
    version: Mapped[int] = mapped_column(Integer, default=1)

    owner: Mapped[Organisation] = relationship()
    alliance_only: Mapped[Alliance | None] = relationship()

    __mapper_args__ = {"version_id_col": version}


class ShortlistEntry(TimestampMixin, Base):
    """An offer a buyer keeps on a need's shortlist, with the buyer's note; gone with the need or the
    offer."""

    __tablename__ = "shortlist_entries"
    __table_args__ = (UniqueConstraint("need_id", "offer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")

    offer: Mapped[Offer] = relationship()


class Inquiry(TimestampMixin, Base):
    """A buyer's inquiry about an offer and the thread that follows (`inquiries.workflow` states how it
    moves). Both organisations are kept on the row, so the thread outlives the offer and the need it was
    about: it stays the two parties' record of what was asked and quoted."""

    __tablename__ = "inquiries"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id", ondelete="SET NULL"), index=True)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id", ondelete="SET NULL"), index=True)
    # The offer's title when asked, shown once the offer is gone.
    offer_title: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[float | None] = mapped_column(Float)
    quantity_unit: Mapped[str | None] = mapped_column(String(32))
    delivery_from: Mapped[date | None] = mapped_column(Date)
    delivery_until: Mapped[date | None] = mapped_column(Date)
    # pending | answered | declined | closed
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    # won | lost, once closed
    outcome: Mapped[str | None] = mapped_column(String(8))

    buyer: Mapped[Organisation] = relationship(foreign_keys=[buyer_id])
    vendor: Mapped[Organisation] = relationship(foreign_keys=[vendor_id])
    messages: Mapped[list[InquiryMessage]] = relationship(
        back_populates="inquiry", order_by="InquiryMessage.id", cascade="all, delete-orphan"
    )


class InquiryMessage(Base):
    """One step of an inquiry's thread: the inquiry itself, a message, a question back, a quote, a
    decline or the close; a quote carries its price, lead time and the footprint that applies."""

    __tablename__ = "inquiry_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    # inquiry | message | question | quote | decline | close
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text, default="")
    price: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    price_unit: Mapped[str | None] = mapped_column(String(32))
    lead_time_days: Mapped[int | None] = mapped_column(Integer)
    pcf_value: Mapped[float | None] = mapped_column(Float)
    pcf_unit: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    inquiry: Mapped[Inquiry] = relationship(back_populates="messages")
    author: Mapped[Organisation] = relationship()


class VerificationEvidence(Base):
    """A vendor's evidence that an offer's footprint was verified: who verified it, the report, when, until
    when, and the document. The operator accepts it (the offer is then verified) or rejects it with a
    reason. It speaks for the footprint it was submitted with: accepted, it verifies that value only."""

    __tablename__ = "verification_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), index=True)
    verifier: Mapped[str] = mapped_column(String(200))
    accreditation: Mapped[str | None] = mapped_column(String(200))
    report_number: Mapped[str] = mapped_column(String(100))
    standard: Mapped[str | None] = mapped_column(String(100))
    # first | second | third: who the verifier is to the vendor (`Offer.verification_party`).
    party: Mapped[str] = mapped_column(String(8), default="third")
    verified_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    # The footprint it speaks for, as the offer stated it when the evidence was submitted.
    pcf_value: Mapped[float | None] = mapped_column(Float)
    pcf_unit: Mapped[str | None] = mapped_column(String(32))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    # submitted | accepted | rejected
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    review_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    offer: Mapped[Offer] = relationship()
    document: Mapped[Document | None] = relationship()


class FootprintVersion(Base):
    """An offer's footprint as it stood from one version on: written with every change of its value, unit,
    verification or status (`db.footprint_history`), by whichever writer made it, so that what changed
    can be said later ("0.62 -> 0.48 tCO2e/t")."""

    __tablename__ = "footprint_versions"
    __table_args__ = (UniqueConstraint("offer_id", "version"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    pcf_value: Mapped[float | None] = mapped_column(Float)
    pcf_unit: Mapped[str | None] = mapped_column(String(32))
    pcf_verified: Mapped[bool] = mapped_column(Boolean)
    verified_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verification_source: Mapped[str | None] = mapped_column(String(16))
    verified_by: Mapped[str | None] = mapped_column(String(200))
    pcf_origin: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The organisation whose key or page made the change (None: the platform itself, a CLI import).
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"))

    changed_by: Mapped[Organisation | None] = relationship()


class Alert(Base):
    """One thing an organisation is told once (`alerts.rules`): an offer now fits its open need, an offer
    it shortlisted or asked about changed its footprint or was withdrawn, a new need fits its offer.
    `key` names the event, so the same event found twice (two replicas, a restart) is stored once."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("organisation_id", "key"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    # offer_fits_need | offer_changed | offer_withdrawn | need_fits_offer
    kind: Mapped[str] = mapped_column(String(24))
    key: Mapped[str] = mapped_column(String(120))
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id", ondelete="SET NULL"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id", ondelete="SET NULL"), index=True)
    # What the reader needs without another call: titles, and for a change its old and new values.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Webhook(TimestampMixin, Base):
    """Where an organisation's alerts are also posted, signed with its secret (HMAC-SHA256); each alert
    at once, or a daily digest. Disabled when a post has failed `alerts.delivery.DISABLE_AFTER` tries."""

    __tablename__ = "webhooks"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    # Kept as given: signing needs it, and it is the organisation's own (shown once, like a key).
    secret: Mapped[str] = mapped_column(String(200))
    # each | daily
    delivery: Mapped[str] = mapped_column(String(8), default="each")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    digest_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last alert a digest held: the next one starts after it.
    digest_through: Mapped[int] = mapped_column(Integer, default=0)


class WebhookDelivery(Base):
    """One post of alerts to a webhook: tried, and tried again with backoff until it is answered 2xx or
    the webhook is disabled."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("webhooks.organisation_id", ondelete="CASCADE"), index=True
    )
    alert_ids: Mapped[list[int]] = mapped_column(JSON)
    # pending | delivered | abandoned
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FeedPosition(Base):
    """How far a durable consumer of the feed (alerts) has read it, kept across restarts."""

    __tablename__ = "feed_positions"

    consumer: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class KnownFit(Base):
    """An offer its need's buyer already knows fits (it was among the need's matches when the need was
    posted or changed, or the buyer was alerted to it): not news again (`alerts.rules`)."""

    __tablename__ = "known_fits"

    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), primary_key=True)
    # When the pair was first found to fit: the operator's "time to first match" of a need.
    since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MatchFeedback(TimestampMixin, Base):
    """A buyer's word on one match of its need: relevant, not relevant (the offer leaves the need's list
    until the word is taken back) or contracted; with the offer's place in the list when it was said."""

    __tablename__ = "match_feedback"

    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), primary_key=True)
    # relevant | not_relevant | contracted
    verdict: Mapped[str] = mapped_column(String(16))
    # The offer's rank in the need's matches when it was first judged (null: not among them).
    rank: Mapped[int | None] = mapped_column(Integer)

    offer: Mapped[Offer] = relationship()


class FactorLibrary(Base):
    """One version of the emission-factor library, as shipped with the package (`factors.library`): loaded
    once, never changed (a correction is a new version), its file's SHA-256 kept to tell."""

    __tablename__ = "factor_libraries"

    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    factor_count: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EmissionFactor(Base):
    """A published, citable factor of one library version: its value and unit, where and when it applies,
    and where it was published (document and table) under which terms."""

    __tablename__ = "emission_factors"
    __table_args__ = (UniqueConstraint("library_version", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library_version: Mapped[str] = mapped_column(
        ForeignKey("factor_libraries.version", ondelete="CASCADE"), index=True
    )
    # A stable name across versions ("electricity.CN.2022"), so a calculation can say which factor it used.
    key: Mapped[str] = mapped_column(String(120))
    # gwp | fuel_combustion | fuel_ncv | electricity | transport
    kind: Mapped[str] = mapped_column(String(24), index=True)
    name: Mapped[str] = mapped_column(String(200))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    region: Mapped[str | None] = mapped_column(String(100))
    year: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    source_table: Mapped[str] = mapped_column(String(200))
    licence: Mapped[str] = mapped_column(Text)


class FootprintCalculation(Base):
    """One calculation of an offer's footprint from a bill of materials (`pcf.calculator`): the bill, the
    library version it was counted with and what came out. Kept when a newer one replaces it, so that what a
    footprint was calculated with can always be read back."""

    __tablename__ = "footprint_calculations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), index=True)
    library_version: Mapped[str] = mapped_column(ForeignKey("factor_libraries.version"), index=True)
    bom: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    total: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40))
    # Why it was made: "bom" (a vendor's bill) or "recalculation" (a newer library version).
    reason: Mapped[str] = mapped_column(String(16), default="bom")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"))

    offer: Mapped[Offer] = relationship()
