"""A stored document handed back over HTTP, to the API and the pages alike."""

from __future__ import annotations

from typing import Any

from fastapi.responses import FileResponse

from matchmaker.db.models import Document
from matchmaker.documents.service import ACCEPTED_MEDIA_TYPES
from matchmaker.documents.store import DocumentStore

# The request body of an upload: the file's bytes as they are (its type is read from them).
DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the document's bytes: a PDF, PNG, JPEG or WebP file",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}} for media in ACCEPTED_MEDIA_TYPES
        },
    }
}


def document_response(store: DocumentStore, document: Document) -> FileResponse:
    """Shown in the browser's own viewer, where nothing in it may run: a PDF's scripts and forms stay inert
    (sandbox), and the browser takes the type we sniffed, not one it guesses (nosniff)."""
    return FileResponse(
        store.path_of(document.sha256),
        media_type=document.media_type,
        filename=document.filename,
        content_disposition_type="inline",
        headers={"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"},
    )
