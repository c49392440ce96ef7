"""A file answered as a download (Content-Disposition: attachment), by the API and the pages alike."""

from __future__ import annotations

from fastapi import Response

from matchmaker.spreadsheets import DownloadFile


def attachment(file: DownloadFile) -> Response:
    return Response(
        content=file.body,
        media_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{file.filename}"'},
    )
