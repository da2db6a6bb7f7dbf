"""What both webhook test modules need: a server environment that may call the local
receiver, the receiver itself, and a Standard Webhooks signature check written from the
specification (not from our code)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from conftest import cli_env
from providers import ProviderServer, Recorded, Reply


def allowing(db_url: str) -> dict[str, str]:
    """A server's environment: private targets allowed (the receiver is on 127.0.0.1), and
    a short lease, so a killed dispatcher's delivery is taken back within seconds."""
    return cli_env(
        DATABASE_URL=db_url, CONVODESK_ALLOW_PRIVATE_WEBHOOKS="1", CONVODESK_WEBHOOK_LEASE="6"
    )


def endpoint() -> ProviderServer:
    """The customer's endpoint: answers 200 (PUT: 204) unless a test says otherwise."""
    srv = ProviderServer()
    srv.route("POST", "/hook.*", lambda r, m: Reply(status=200, body=b"ok"))
    srv.route("PUT", "/hook.*", lambda r, m: Reply(status=204))
    return srv


def expected_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """Standard Webhooks, from the specification: HMAC-SHA256 over "{id}.{timestamp}.{body}"
    keyed with the base64-decoded part of "whsec_<base64>", base64, prefixed "v1,"."""
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[len("whsec_") :])
    content = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def verifies(request: Recorded, secret: str) -> bool:
    """What a receiver does: any of the space-separated signatures matches."""
    wanted = expected_signature(
        secret, request.headers["webhook-id"], request.headers["webhook-timestamp"], request.body
    )
    return any(
        hmac.compare_digest(given, wanted) for given in request.headers["webhook-signature"].split()
    )
