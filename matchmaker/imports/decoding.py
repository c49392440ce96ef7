"""Decode an uploaded file's bytes to text."""

from __future__ import annotations

from matchmaker.errors import BadRequest, ValidationFailed


def decode_upload(data: bytes) -> str:
    """Decode UTF-8 (a byte-order mark is dropped), or refuse with a clear reason; an empty file too."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadRequest(
            f"the file is not UTF-8 text (byte {error.start} is invalid)",
            code="upload.not_utf8",
            values={"byte": error.start},
        ) from None
    if not text.strip():
        # An import of nothing is almost always the wrong file or a failed upload, not a wish to do nothing.
        raise ValidationFailed("the file is empty: it holds no records", code="upload.empty")
    return text
