"""The desk's pages over plain HTTP, as a browser without JavaScript uses them."""

from __future__ import annotations

import httpx


def desk_client(server, username: str, password: str) -> httpx.Client:
    """Signed in through the sign-in form, carrying the CSRF token as the pages do."""
    client = httpx.Client(base_url=server.url, timeout=30)
    client.get("/login")
    token = client.cookies["csrftoken"]
    signed_in = client.post(
        "/login", data={"username": username, "password": password, "_csrf_token": token}
    )
    assert signed_in.status_code == 303, signed_in.text
    client.headers["x-csrftoken"] = token
    return client
