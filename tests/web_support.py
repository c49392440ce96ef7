"""Helpers for page tests: sign in through the form as a browser would, post forms with the CSRF token."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.testclient import TestClient

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: TestClient, path: str = "/ui/sign-in") -> str:
    """The CSRF token of a page's forms (loading it also sets the browser's CSRF cookie)."""
    page = client.get(path)
    found = _CSRF.search(page.text)
    assert found, f"no form with a CSRF token on {path} ({page.status_code})"
    return found.group(1)


def sign_in(client: TestClient, key: str) -> httpx.Response:
    """Sign in with an organisation key; the session cookie stays in the client."""
    token = csrf_token(client)
    return client.post(
        "/ui/sign-in", data={"csrf_token": token, "key": key, "next": "/ui"}, follow_redirects=False
    )


def post_form(
    client: TestClient, path: str, data: dict[str, Any], *, page: str, **kwargs: Any
) -> httpx.Response:
    """Post a form as the page at `page` would (its CSRF token included)."""
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data}, **kwargs)
