"""Where webhooks may go: the SSRF guard.

A customer's `webhook_uri` is a URL our server will call, so a customer could point it at
our own network (the metadata service at 169.254.169.254, the database, an admin port on
localhost). Unless `CONVODESK_ALLOW_PRIVATE_WEBHOOKS=1`, a URL whose host resolves to any
private, loopback, link-local or otherwise non-public address is refused: when it is saved
(a clear 422), and again on every delivery, where the request then goes to the address
that was checked, so a DNS answer that changes in between ("DNS rebinding") cannot steer
it inside.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from app.domain.errors import InvalidInput


class RefusedTarget(Exception):
    """The host cannot be resolved, or resolves to an address we must not call."""


def check_syntax(uri: str) -> str:
    """The URI, trimmed, if it is an http(s) URL with a host (or empty: webhooks off)."""
    uri = uri.strip()
    if uri == "":
        return uri
    not_a_url = InvalidInput(
        "invalid_webhook_uri", "webhook_uri must be an http:// or https:// URL, or empty."
    )
    try:
        parts = urlsplit(uri)  # raises on a malformed IPv6 host (`http://[::1`)
    except ValueError:
        raise not_a_url from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise not_a_url
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise InvalidInput("invalid_webhook_uri", "webhook_uri has an invalid port.") from None
    return uri


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def resolve(host: str, port: int) -> list[str]:
    """The host's addresses (an IP literal is its own); RefusedTarget if it has none."""
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedTarget(f"{host} could not be resolved ({exc})") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise RefusedTarget(f"{host} could not be resolved")
    return addresses


async def public_address(host: str, port: int) -> str:
    """An address of `host` to connect to, all of whose addresses are public."""
    addresses = await resolve(host, port)
    private = [a for a in addresses if not is_public(a)]
    if private:
        what = host if private[0] == host else f"{host} resolves to {private[0]}, which"
        raise RefusedTarget(f"{what} is a private, loopback or link-local address")
    return addresses[0]


async def check_uri(uri: str, *, allow_private: bool) -> str:
    """A webhook_uri fit to save: http(s), and (unless private targets are allowed) a host
    that resolves to public addresses only. InvalidInput (422) otherwise."""
    uri = check_syntax(uri)
    if uri == "" or allow_private:
        return uri
    parts = urlsplit(uri)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        await public_address(parts.hostname or "", port)
    except RefusedTarget as exc:
        raise InvalidInput(
            "webhook_uri_not_allowed",
            f"webhook_uri is refused: {exc}. Webhooks go to public addresses only"
            " (a server started with CONVODESK_ALLOW_PRIVATE_WEBHOOKS=1, for development,"
            " also sends to private ones).",
        ) from None
    return uri
