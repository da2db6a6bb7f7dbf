"""What `GET /metrics` answers: who may read it, and the exposition.

The instruments recorded on the hot paths (`instruments`) are joined, at scrape time, by
figures that cost nothing until someone asks: the queues (one SQL statement), this
process's open websockets (the hub's count) and its connection pool (asyncpg's
counters). They come from a Collector made for each scrape with what was just read, so a
process that is never scraped never reads them, and two concurrent scrapes never see each
other's half-read figures."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from app.core.hub import Hub
from app.db.piccolo_conf import DB
from app.domain.errors import NotFound, Unauthenticated
from app.domain.timefmt import now
from app.metrics import store
from app.metrics.instruments import REGISTRY
from app.metrics.store import QueueFigures

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""Prometheus's text format (0.0.4), which every scraper reads."""

SOCKET_KINDS = ("api", "desk", "widget")
"""Always reported, at 0 when none is open, so a dashboard's series never vanish."""


def check_token(expected: str | None, authorization: str | None) -> None:
    """With no token configured there is no endpoint (404: a scanner learns nothing); else
    the request must carry `Authorization: Bearer <token>`, compared in constant time so
    the answer's timing does not tell how much of a guess was right."""
    if expected is None:
        raise NotFound("route_not_found", "Not Found")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise Unauthenticated(
            "invalid_metrics_token",
            "GET /metrics needs Authorization: Bearer with the metrics token.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )


class _ReadNow:
    """The figures read for one scrape, as metric families."""

    def __init__(
        self, queues: QueueFigures, sockets: dict[str, int], pool: tuple[int, int, int]
    ) -> None:
        self.queues = queues
        self.sockets = sockets
        self.pool = pool

    def collect(self) -> Iterable[Metric]:
        q = self.queues
        yield _gauge(
            "convodesk_webhook_queue_depth",
            "Webhook deliveries still to make (pending or being attempted).",
            q.webhook_depth,
        )
        yield _gauge(
            "convodesk_webhook_queue_oldest_age_seconds",
            "Age of the event of the oldest webhook delivery still to make (0 when none).",
            q.webhook_oldest_seconds,
        )
        yield _gauge(
            "convodesk_send_queue_depth", "Outbound messages due or being sent.", q.send_depth
        )
        yield _gauge(
            "convodesk_send_queue_oldest_age_seconds",
            "How long ago the oldest waiting outbound message became due (0 when none).",
            q.send_oldest_seconds,
        )
        sockets = GaugeMetricFamily(
            "convodesk_websockets_open",
            "Websockets open in this process, by kind.",
            labels=["kind"],
        )
        for kind, n in sorted(self.sockets.items()):
            sockets.add_metric([kind], n)
        yield sockets
        size, in_use, most = self.pool
        yield _gauge("convodesk_db_pool_size", "Connections the pool holds now.", size)
        yield _gauge("convodesk_db_pool_in_use", "Pool connections lent out now.", in_use)
        yield _gauge("convodesk_db_pool_max", "Connections the pool may hold at most.", most)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class _Exposition:
    """The registry's instruments, then the figures read now: what `generate_latest`
    writes out (it only asks for `collect`)."""

    def __init__(self, read_now: _ReadNow) -> None:
        self.read_now = read_now

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        yield from self.read_now.collect()


def _pool() -> tuple[int, int, int]:
    """(size, in use, max) of this process's pool; zeros before it opens."""
    pool = DB.pool
    if pool is None:
        return 0, 0, 0
    size = pool.get_size()
    return size, size - pool.get_idle_size(), pool.get_max_size()


def _sockets(hub: Hub) -> dict[str, int]:
    counts = dict.fromkeys(SOCKET_KINDS, 0)
    for kind, n in hub.connection_counts().items():
        counts[kind.lower()] = counts.get(kind.lower(), 0) + n
    return counts


async def exposition(hub: Hub) -> bytes:
    """Every metric, in Prometheus's text format. The pool is read before the queries
    borrow a connection of it, so it shows the process as the scrape found it."""
    pool = _pool()
    sockets = _sockets(hub)
    queues = await store.queue_figures(now())
    return generate_latest(_Exposition(_ReadNow(queues, sockets, pool)))
