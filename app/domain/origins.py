"""Web origins (scheme, host, port), the unit browsers isolate pages by.

A socket a browser opens carries the session cookie whatever page opened it, so our
websockets compare the page's `Origin` with our own, and the chat widget with the sites an
account allows. Comparing host names alone would let http://desk.example.com (anyone on the
network path can serve it) or desk.example.com:8443 (another service on the host) act as
the desk; the whole origin must match.
"""

from __future__ import annotations

from urllib.parse import urlsplit

Origin = tuple[str, str, int]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_WEBSOCKET_SCHEMES = {"ws": "http", "wss": "https"}


def origin_of(url: str | None) -> Origin | None:
    """(scheme, host, port) of an http(s) URL or origin, with the scheme's default port
    filled in and case folded; None for anything else (`null`, other schemes, garbage)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # a malformed IPv6 host or port
        return None
    scheme = _WEBSOCKET_SCHEMES.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def same_origin(a: str | None, b: str | None) -> bool:
    """Do `a` and `b` name the same origin? Never for something that is not one."""
    first = origin_of(a)
    return first is not None and first == origin_of(b)
