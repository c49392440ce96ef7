"""Taking an uploaded document: what it is is read from its first bytes, never from its name or the type the
uploader declared, and only a PDF or an image is kept."""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath, PureWindowsPath

import filetype
from sqlalchemy.orm import Session

from matchmaker.db.models import Document
from matchmaker.documents import repository
from matchmaker.documents.store import DocumentStore
from matchmaker.errors import NotFound, PayloadTooLarge, ValidationFailed

# What a licence or a verification report is scanned or printed as.
ACCEPTED_MEDIA_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/webp")
MAX_FILENAME = 255
# The endings a name of each sniffed type may keep.
EXTENSIONS_OF = {"pdf": {"pdf"}, "png": {"png"}, "jpg": {"jpg", "jpeg"}, "webp": {"webp"}, "bin": set()}


def accept(
    *, session: Session, store: DocumentStore, owner_id: int, content: bytes, filename: str | None, limit: int
) -> Document:
    """Keep an uploaded document of `owner_id` and return its row (the caller links it to what it proves)."""
    if len(content) > limit:
        raise PayloadTooLarge(f"the document is larger than {limit} bytes")
    if not content:
        raise ValidationFailed("the document is empty", code="document.empty")
    kind = filetype.guess(content)
    media_type = kind.mime if kind is not None else None
    if media_type not in ACCEPTED_MEDIA_TYPES:
        accepted = "PDF, PNG, JPEG or WebP"
        raise ValidationFailed(
            f"the document must be a {accepted} file; this one is {media_type or 'not one of them'}",
            code="document.unsupported",
            values={"accepted": accepted},
        )
    digest = store.put(content)
    document = Document(
        owner_organisation_id=owner_id,
        sha256=digest,
        media_type=media_type,
        size=len(content),
        filename=safe_filename(filename, extension=kind.extension if kind else "bin"),
    )
    return repository.add(session, document)


def safe_filename(name: str | None, *, extension: str) -> str:
    """The name to offer when the document is downloaded: its last path part, without control characters,
    ending in the extension of what it is (a PDF named page.html downloads as page.html.pdf); at most 255
    characters; "document.pdf" when nothing is left."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip(" .")
    if not base:
        return f"document.{extension}"
    stem, dot, given = base.rpartition(".")
    if not (dot and given.lower() in EXTENSIONS_OF[extension]):
        base = f"{base}.{extension}"
    return base[-MAX_FILENAME:]


def get(*, session: Session, store: DocumentStore, document_id: int) -> Document:
    """A document whose content is kept; the caller has decided that the reader may see it."""
    document = repository.get(session, document_id)
    if document is None or not store.exists(document.sha256):
        raise NotFound(f"document {document_id} not found")
    return document
