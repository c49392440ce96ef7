"""Files answered over HTTP, by the API and the pages alike: a download (Content-Disposition: attachment),
and a stored document."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from fastapi.responses import FileResponse

from matchmaker.db.models import Document
from matchmaker.documents.service import ACCEPTED_MEDIA_TYPES
from matchmaker.documents.store import DocumentStore
from matchmaker.spreadsheets import DownloadFile

# The request body of a document's upload: the file's bytes as they are (its type is read from them).
DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the document's bytes: a PDF, PNG, JPEG or WebP file",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}} for media in ACCEPTED_MEDIA_TYPES
        },
    }
}


def attachment(file: DownloadFile) -> Response:
    return Response(
        content=file.body,
        media_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{file.filename}"'},
    )


def document_response(store: DocumentStore, document: Document) -> FileResponse:
    """A stored document with the type read from its bytes (nosniff: the browser takes ours). An image is
    shown in the browser, where nothing in it may run (a sandbox); a PDF is downloaded, since browsers'
    PDF viewers refuse a sandboxed document and a PDF may carry scripts."""
    inline = document.media_type.startswith("image/")
    headers = {"X-Content-Type-Options": "nosniff"}
    if inline:
        headers["Content-Security-Policy"] = "sandbox"
    return FileResponse(
        store.path_of(document.sha256),
        media_type=document.media_type,
        filename=document.filename,
        content_disposition_type="inline" if inline else "attachment",
        headers=headers,
    )
