"""The live bus: how one process tells every process that events were committed.

The bus carries only small notices — `{"id": <event id>, "customer_id": ..., "type": ...,
"at": <unix time announced>}` — never the resource itself: readers load what they need
from the `events` table, which is the source of truth. So a notice that is lost (a crash
between commit and publish, a dropped connection to Redis) delays a reader until its
next catch-up; it never loses data. Desk presence ("also viewing", typing) rides on it too.

Three buses, one interface (`Bus`):
- `MemoryBus`: one process (the embedded default); a notice goes straight to the listener.
- `RedisBus` (`CONVODESK_REDIS_URL`): PUBLISH/SUBSCRIBE on one channel per database, with
  redis-py's asyncio client. Redis is the standard cross-process bus of this field, and
  publishing costs the database nothing.
- `PostgresBus` (`CONVODESK_EVENT_BUS=postgres`, the fallback without Redis): NOTIFY on
  one kept connection, LISTEN on another. Every NOTIFY is a commit that takes the
  cluster-wide notify lock, so it is never issued from writers' transactions: only the
  outbox below sends it, one message for many notices.

Writers never wait for the bus. The service layer calls `announce()` after commit; it
hands the notices to the process's `Outbox`, which publishes whatever gathered while its
previous message was on the way as one message (a JSON list), so a burst of commits costs
a handful of messages. Without an outbox attached — the CLI seeding demo data, say —
announcing does nothing: nobody is listening in that process, and the rows are committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msgspec

if TYPE_CHECKING:
    import asyncpg
    import redis.asyncio as aioredis

    from app.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "convodesk_events"
"""The PostgreSQL NOTIFY channel (per database already), and the stem of Redis's."""

MAX_MESSAGE = 7000
"""Bytes of notices per message: under NOTIFY's 8,000-byte payload limit."""

Notice = dict[str, Any]


class Bus:
    """Publishes messages (bytes) to every process on the bus, this one included, and
    hands this process the messages it hears."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, message: bytes) -> None:
        raise NotImplementedError

    def messages(self) -> AsyncIterator[bytes]:
        """What this process hears, until `close()`. A lost connection is reopened; what
        was published meanwhile is lost (readers catch up from the table)."""
        raise NotImplementedError


class MemoryBus(Bus):
    def __init__(self) -> None:
        self._heard: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def publish(self, message: bytes) -> None:
        self._heard.put_nowait(message)

    async def close(self) -> None:
        self._heard.put_nowait(None)

    async def messages(self) -> AsyncIterator[bytes]:
        while (message := await self._heard.get()) is not None:
            yield message


class RedisBus(Bus):
    def __init__(self, url: str, channel: str) -> None:
        import redis.asyncio as aioredis

        self.channel = channel
        self._redis: aioredis.Redis = aioredis.Redis.from_url(url)
        self._closed = asyncio.Event()

    async def publish(self, message: bytes) -> None:
        await self._redis.publish(self.channel, message)

    async def close(self) -> None:
        self._closed.set()
        await self._redis.aclose()

    async def messages(self) -> AsyncIterator[bytes]:
        import redis.exceptions

        while not self._closed.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        yield message["data"]
            except (OSError, redis.exceptions.RedisError) as exc:
                if self._closed.is_set():
                    return
                log.warning("the Redis bus dropped (%s); subscribing again in 1 s", exc)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()


class PostgresBus(Bus):
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._send: asyncpg.Connection | None = None
        self._turn = asyncio.Lock()  # one statement at a time on the kept connection
        self._closed = asyncio.Event()
        self._listening: asyncpg.Connection | None = None

    async def publish(self, message: bytes) -> None:
        import asyncpg

        async with self._turn:
            for attempt in (1, 2):
                try:
                    if self._send is None or self._send.is_closed():
                        self._send = await asyncpg.connect(self.dsn)
                    await self._send.execute("SELECT pg_notify($1, $2)", CHANNEL, message.decode())
                    return
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    self._send = None
                    if attempt == 2:
                        raise

    async def close(self) -> None:
        self._closed.set()
        for conn in (self._send, self._listening):
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close()
        self._send = self._listening = None

    async def messages(self) -> AsyncIterator[bytes]:
        import asyncpg

        while not self._closed.is_set():
            heard: asyncio.Queue[bytes | None] = asyncio.Queue()
            try:
                conn = self._listening = await asyncpg.connect(self.dsn)
                conn.add_termination_listener(lambda _c, q=heard: q.put_nowait(None))
                await conn.add_listener(
                    CHANNEL, lambda _c, _pid, _ch, payload, q=heard: q.put_nowait(payload.encode())
                )
            except (OSError, asyncpg.PostgresError) as exc:
                if self._closed.is_set():
                    return
                log.warning("could not LISTEN for notices (%s); trying again in 1 s", exc)
                await asyncio.sleep(1)
                continue
            while (message := await heard.get()) is not None:
                yield message
            if not self._closed.is_set():
                log.warning("the LISTEN connection dropped; listening again")


def channel_for(database_url: str | None) -> str:
    """Redis's channel: one per database, so that processes (and test runs) on other
    databases sharing the Redis server never hear each other."""
    if not database_url:
        return f"{CHANNEL}:embedded"
    parts = urlsplit(database_url)
    return f"{CHANNEL}:{parts.hostname or 'local'}:{parts.port or 5432}{parts.path}"


def connect(settings: Settings, *, across_processes: bool = False) -> Bus:
    """The settings' bus. `across_processes`: for a process that is not the web server
    (`convodesk worker`), which must reach the web processes: the memory bus cannot, so
    it falls back to PostgreSQL."""
    kind = settings.event_bus
    if kind == "memory" and across_processes:
        kind = "postgres"
    if kind == "redis":
        assert settings.redis_url is not None  # settings checked it
        return RedisBus(settings.redis_url, channel_for(settings.database_url))
    if kind == "postgres":
        return PostgresBus(settings.require_database_url())
    return MemoryBus()


# --- the process's outbox -------------------------------------------------------------


class Outbox:
    """Publishes the notices announced in this process, coalesced: `put` never waits;
    one task sends what gathered meanwhile as one message (or a few, each under
    MAX_MESSAGE bytes). A failed publish is logged and dropped (readers catch up)."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._waiting: list[Notice] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def put(self, notices: Iterable[Notice]) -> None:
        self._waiting.extend(notices)
        self._wake.set()

    __call__ = put

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="bus-outbox")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        taken, self._waiting = self._waiting, []
        for message in messages_of(taken):
            try:
                await self.bus.publish(message)
            except Exception:  # noqa: BLE001 - see the class docstring
                log.exception("could not publish %d bytes of notices on the live bus", len(message))


def messages_of(notices: list[Notice]) -> list[bytes]:
    """Notices as JSON lists of at most MAX_MESSAGE bytes each."""
    out: list[bytes] = []
    batch: list[bytes] = []
    size = 2
    for notice in notices:
        one = msgspec.json.encode(notice)
        if batch and size + len(one) + 1 > MAX_MESSAGE:
            out.append(b"[" + b",".join(batch) + b"]")
            batch, size = [], 2
        batch.append(one)
        size += len(one) + 1
    if batch:
        out.append(b"[" + b",".join(batch) + b"]")
    return out


def notices_in(message: bytes) -> list[Notice]:
    """The notices a message carries (a list, or one notice); none when malformed."""
    try:
        decoded = msgspec.json.decode(message)
    except msgspec.DecodeError:
        log.warning("ignored a malformed bus message")
        return []
    found = decoded if isinstance(decoded, list) else [decoded]
    return [n for n in found if isinstance(n, dict)]


Sink = Callable[[list[Notice]], None]

_sink: Sink | None = None


def attach(sink: Sink | None) -> None:
    """Where this process's announcements go (its `Outbox`); None: nowhere."""
    global _sink
    _sink = sink


async def announce(notices: Iterable[Notice]) -> None:
    """Hand notices of committed events to the outbox, stamped with the time (for the
    bus's lag: commit → heard). Never waits for the bus, never raises: the caller's change
    has committed, and readers catch up from the table."""
    if _sink is None:
        return
    at = time.time()
    stamped = [{**n, "at": at} for n in notices]
    if stamped:
        try:
            _sink(stamped)
        except Exception:  # noqa: BLE001 - see the docstring
            log.exception("could not queue notices for the live bus")


async def listen(bus: Bus, on_notice: Callable[[Notice], None]) -> None:
    """Hand every notice this process hears to `on_notice`, until cancelled."""
    async for message in bus.messages():
        for notice in notices_in(message):
            try:
                on_notice(notice)
            except Exception:  # noqa: BLE001 - one bad notice must not stop the listener
                log.exception("a bus notice could not be handled")


async def tell(settings: Settings, notices: list[Notice]) -> None:
    """Publish notices once, from a process that keeps no bus (a script, a test that
    changes data as a worker would)."""
    bus = connect(settings, across_processes=True)
    try:
        for message in messages_of([{**n, "at": time.time()} for n in notices]):
            await bus.publish(message)
    finally:
        await bus.close()


def heard_after(notice: Notice) -> float | None:
    """Seconds from the notice's announcement to now (None: it carries no time)."""
    at = notice.get("at")
    return time.time() - at if isinstance(at, (int, float)) else None
