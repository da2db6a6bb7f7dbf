"""HTTP/1 connections that cannot be held open by a slow client.

uvicorn bounds an idle keep-alive connection but not a request that arrives slowly: a
client sending one header byte every few seconds holds its connection, and a file
descriptor, for ever, and a few thousand such clients exhaust the process's file limit —
after which the kernel's backlog fills and `/healthz` stops answering. This protocol is
uvicorn's httptools protocol with three bounds added:

- **the request head** (request line and headers) must arrive within
  `CONVODESK_HEADER_TIMEOUT` seconds of the connection opening or of the request's first
  byte on a keep-alive connection; otherwise `408` and close;
- **the body** must average `CONVODESK_BODY_MIN_RATE` bytes/s after a grace of the same
  timeout; the clock stops while the application is not reading (uvicorn pauses reading
  when it buffers 64 KiB), so a busy server never blames its client;
- **connections per process** are capped (`CONVODESK_MAX_CONNECTIONS`, lowered to what
  `RLIMIT_NOFILE` allows). At the cap a new connection does not get refused, which would
  refuse real clients together with the attacker; instead the connection that has waited
  longest for its request head (a slowloris, or an idle keep-alive connection) is closed
  to make room. Connections with a request in progress and upgraded websockets are never
  chosen: they are doing work. Only when every connection is doing work is the new one
  answered `503`.

uvicorn's `timeout_keep_alive` still closes idle keep-alive connections
(`CONVODESK_KEEPALIVE_TIMEOUT`). One instance of the protocol serves one connection; the
class holds the per-process state (the limits and the connections waiting for a head, in
the order they started waiting).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.settings import Settings

log = logging.getLogger("convodesk.http")

FD_RESERVE = 64
"""File descriptors kept for everything that is not a client connection: listening
sockets, the event loop, log files, the bus listener, static files being sent ..."""
REPORT_EVERY = 10.0
"""Seconds between two warnings about evicted or refused connections (an attack would
otherwise write a line per connection)."""


@dataclass(frozen=True, slots=True)
class Limits:
    header_timeout: float
    body_min_rate: int
    max_connections: int

    @classmethod
    def from_settings(cls, settings: Settings, soft_nofile: int | None = None) -> Limits:
        if soft_nofile is None:
            soft_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        reserve = FD_RESERVE + settings.db_pool_max
        if settings.run_workers:  # the sender and the webhook dispatcher open connections too
            reserve += settings.send_concurrency + settings.webhook_concurrency
        return cls(
            header_timeout=settings.header_timeout_seconds,
            body_min_rate=settings.body_min_rate,
            max_connections=connection_cap(settings.max_connections, soft_nofile, reserve),
        )


def connection_cap(wanted: int, soft_nofile: int, reserve: int) -> int:
    """The most client connections one process may hold: what was asked for, but never so
    many that the process runs out of file descriptors (an `accept` that fails with EMFILE
    drops the connection, whoever it came from). At least 16, so a tiny limit still
    serves."""
    if soft_nofile == resource.RLIM_INFINITY:
        return wanted
    return max(16, min(wanted, soft_nofile - reserve))


def body_deadline(started: float, grace: float, received: int, min_rate: int) -> float:
    """When a body that began at `started` and has `received` bytes so far falls below
    the rate floor: it may take `grace` seconds, then one second per `min_rate` bytes."""
    return started + grace + received / min_rate


def raise_file_limit() -> int:
    """Lift the soft RLIMIT_NOFILE to the hard one (many systems start processes at 1,024
    while allowing far more); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


class _Report:
    """Counts evictions and refusals; says so at most every REPORT_EVERY seconds."""

    def __init__(self) -> None:
        self.evicted = 0
        self.refused = 0
        self.said = 0.0

    def note(self, *, evicted: int = 0, refused: int = 0, cap: int) -> None:
        self.evicted += evicted
        self.refused += refused
        now = time.monotonic()
        if now - self.said >= REPORT_EVERY:
            log.warning(
                "at the cap of %d connections: closed %d waiting for a request head, refused"
                " %d (a slow-client attack, or raise CONVODESK_MAX_CONNECTIONS / the file"
                " limit)",
                cap,
                self.evicted,
                self.refused,
            )
            self.evicted = self.refused = 0
            self.said = now


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    limits: ClassVar[Limits | None] = None
    """Read from the settings by the first connection of the process."""
    waiting: ClassVar[OrderedDict[GuardedHttpToolsProtocol, None]] = OrderedDict()
    """Connections waiting for a request head, longest-waiting first."""
    report: ClassVar[_Report] = _Report()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if GuardedHttpToolsProtocol.limits is None:
            GuardedHttpToolsProtocol.limits = Limits.from_settings(Settings.from_env())
        self.bounds = GuardedHttpToolsProtocol.limits
        self.head_timer: asyncio.TimerHandle | None = None
        self.head_started = False
        self.body_timer: asyncio.TimerHandle | None = None
        self.body_started = 0.0
        self.body_received = 0

    # -- waiting for a head ------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()
        if len(self.connections) > self.bounds.max_connections:
            self._make_room()

    def _await_head(self) -> None:
        self.waiting[self] = None
        self.head_started = False
        self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.bounds.header_timeout, self._head_late)

    def _head_done(self) -> None:
        self.waiting.pop(self, None)
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # a keep-alive connection's next request: its head gets the same bound
        self.head_started = True
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._head_done()
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.scope is self.scope and self._has_body():
            self.body_started = self.loop.time()
            self.body_received = 0
            self._arm_body_timer(self.body_started + self.bounds.header_timeout)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:
            self.waiting[self] = None  # idle keep-alive: the first to go at the cap
            self.head_started = False

    def _head_late(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # a pipelined head behind a response still being made: time it from then
            self._arm_head_timer()
            return
        if self.head_started:  # a request began and never finished its head: say why
            self._reply_and_close(408, b"Request Timeout")
        else:  # nothing was asked: just hang up, as nginx does
            self.transport.close()
        self.waiting.pop(self, None)

    # -- the body ----------------------------------------------------------------------

    def _has_body(self) -> bool:
        for name, value in self.headers:
            if name == b"content-length":
                return value.strip() not in (b"0", b"")
            if name == b"transfer-encoding":
                return True
        return False

    def _arm_body_timer(self, when: float) -> None:
        if self.body_timer is not None:
            self.body_timer.cancel()
        self.body_timer = self.loop.call_at(when, self._check_body)

    def _stop_body_timer(self) -> None:
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = None

    def on_body(self, body: bytes) -> None:
        self.body_received += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._stop_body_timer()
        super().on_message_complete()

    def _check_body(self) -> None:
        self.body_timer = None
        cycle = self.cycle
        if cycle is None or not cycle.more_body or self.transport.is_closing():
            return
        now = self.loop.time()
        grace = self.bounds.header_timeout
        if self.flow.read_paused:
            # The application has not read what it has: the client is not the slow one.
            # Measure again from now.
            self.body_started, self.body_received = now, 0
            self._arm_body_timer(now + grace)
            return
        due = body_deadline(self.body_started, grace, self.body_received, self.bounds.body_min_rate)
        if now < due:
            self._arm_body_timer(due)
            return
        log.info(
            "closed a connection from %s: its request body came slower than %d bytes/s",
            self.client[0] if self.client else "?",
            self.bounds.body_min_rate,
        )
        if cycle.response_started:
            self.transport.close()
        else:
            # the application waiting for the body hears that the client is gone
            cycle.disconnected = True
            cycle.message_event.set()
            self._reply_and_close(408, b"Request Timeout")

    # -- the cap -----------------------------------------------------------------------

    def _make_room(self) -> None:
        cap = self.bounds.max_connections
        for victim in self.waiting:
            if victim is not self:
                self.waiting.pop(victim)
                victim._head_done()
                self.connections.discard(victim)  # its fd is gone once the loop turns
                victim.transport.close()
                self.report.note(evicted=1, cap=cap)
                return
        self._head_done()
        self.connections.discard(self)
        self._reply_and_close(503, b"Service Unavailable")
        self.report.note(refused=1, cap=cap)

    def _reply_and_close(self, status: int, text: bytes) -> None:
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (status, text, len(text), text)
        )
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_done()
        self._stop_body_timer()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        # an upgraded connection is long-lived on purpose: no head or body bounds apply
        self._head_done()
        self._stop_body_timer()
        super().handle_websocket_upgrade()
