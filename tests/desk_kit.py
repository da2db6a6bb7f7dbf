"""The desk's pages over plain HTTP, as a browser without JavaScript uses them."""

from __future__ import annotations

import httpx


def desk_client(server, username: str, password: str) -> httpx.Client:
    """Signed in through the sign-in form, carrying the CSRF token as the pages do."""
    client = httpx.Client(base_url=server.url, timeout=30)
    sign_in(client, username, password)
    return client


def sign_in(client, username: str, password: str) -> None:
    """`client` (a server's, or the in-process app's) signed in through the sign-in form,
    carrying the CSRF token as the pages do."""
    client.get("/login")
    token = client.cookies["csrftoken"]
    signed_in = client.post(
        "/login",
        data={"username": username, "password": password, "_csrf_token": token},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    client.headers["x-csrftoken"] = token


def post_form(client, path: str, data: dict | None = None):
    """A form posted as a browser does, its redirect not followed (to read where to)."""
    return client.post(path, data=data or {}, follow_redirects=False)
