"""SQL for documents."""

from __future__ import annotations

from sqlalchemy.orm import Session

from matchmaker.db.models import Document


def add(session: Session, document: Document) -> Document:
    session.add(document)
    session.flush()
    return document


def get(session: Session, document_id: int) -> Document | None:
    return session.get(Document, document_id)
