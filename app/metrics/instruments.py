"""The metrics recorded as things happen, in a registry of Convodesk's own.

A registry of our own, not prometheus_client's global one: each application (and each test
that builds one in-process) reads exactly these, and nothing a library registers globally
leaks into `/metrics`. Everything here is an in-memory counter or histogram bucket: a few
hundred nanoseconds on the path that records it. What is cheaper to read when asked (queue
depths, open websockets, the pool) is read at scrape time instead (`app.metrics.scrape`).

Every label has a bounded set of values: a route's template (never its path), a method
from a fixed list, a status class, a channel type. An unbounded label would make a new
series per value and grow the process's memory (and the monitoring's) without end.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Any other method a client sends is counted as `other`."""

HTTP_LATENCY = Histogram(
    "convodesk_http_request_duration_seconds",
    "Time from a request's arrival to its response's start, by route template.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
INBOUND = Counter(
    "convodesk_inbound_messages",
    "Inbound messages stored, by the channel type they came by.",
    ["channel"],
    registry=REGISTRY,
)
WEBHOOK_FAILURES = Counter(
    "convodesk_webhook_delivery_failures",
    "Webhook delivery attempts recorded as failed (no 2xx within the time allowed).",
    registry=REGISTRY,
)
BUS_LAG = Histogram(
    "convodesk_event_bus_lag_seconds",
    "Time from an event's commit to this process hearing its notice on the live bus.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """One HTTP response: `route` is the matched route's template (`unmatched` when no
    route matched), never the request's path."""
    HTTP_LATENCY.labels(
        method if method in METHODS else "other", route, f"{status // 100}xx"
    ).observe(seconds)


def count_inbound(channel: str) -> None:
    """An inbound message was stored (committed) from a channel account of type
    `channel`."""
    INBOUND.labels(channel).inc()


def count_webhook_failures(n: int) -> None:
    if n:
        WEBHOOK_FAILURES.inc(n)


def observe_bus_lag(seconds: float) -> None:
    """The live bus calls this for each notice it hears: how long after the commit that
    published it. A negative figure (clocks of two machines apart) counts as 0."""
    BUS_LAG.observe(max(seconds, 0.0))
