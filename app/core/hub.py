"""One per process: turns bus notices into ordered batches of committed events for the
connections (API and desk websockets) of each customer.

For every customer with at least one connection, a pump reads `events` after its cursor
whenever a notice for that customer arrives — and at least every `poll_interval` seconds,
so a lost notice (a dropped LISTEN connection) delays delivery but never loses an event.
Because it reads no further than the customer's horizon (core.events), reading "id > cursor"
never skips one. Each event is read once per process, however many connections want it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Protocol

from app.core.events import StoredEvent, events_after, last_event_id
from app.domain.principal import Principal

log = logging.getLogger(__name__)


class Connection(Protocol):
    customer_id: str
    kind: str
    """"API", "desk" or "widget": which door the connection came in by."""
    principal: Principal

    def deliver(self, events: list[StoredEvent]) -> None:
        """Take a batch (must not block: queue it)."""


class _Pump:
    def __init__(self) -> None:
        self.connections: set[Connection] = set()
        self.cursor = 0
        self.dirty = asyncio.Event()
        self.lock = asyncio.Lock()
        self.ready = asyncio.Event()
        self.task: asyncio.Task | None = None


class SharedWork:
    """What one event turns into (a room loaded, a row rendered), worked out once per
    process and shared by every connection that asks for the same key: the hub hands the
    same events to all of them. The newest `size` results are kept."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.tasks: OrderedDict[Hashable, asyncio.Task] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], Awaitable[Any]]) -> asyncio.Future:
        task = self.tasks.get(key)
        if task is None or task.cancelled():
            task = asyncio.ensure_future(make())
            self.tasks[key] = task
            while len(self.tasks) > self.size:
                self.tasks.popitem(last=False)
        elif task.done():
            # the common case (every connection after the first): nothing left to cancel,
            # so no shield — a shield per connection and event cost more than the work
            return task
        # Shielded: one connection closing while it waits must not cancel the work that
        # the other connections are waiting for too.
        return asyncio.shield(task)


class Remembered:
    """Like SharedWork, for what is made at once without waiting (an API frame): the
    newest `size` results by key. 1,024 is two of the hub's largest batches; a connection
    that lags further behind works its events out again, which costs time, not
    correctness."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self.values: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        value = self.values.get(key)
        if value is None:
            value = self.values[key] = make()
            if len(self.values) > self.size:
                self.values.popitem(last=False)
        return value


class Hub:
    def __init__(self, poll_interval: float = 1.0) -> None:
        self.poll_interval = poll_interval
        self._pumps: dict[str, _Pump] = {}
        self._watchers: list[Callable[[dict[str, Any]], None]] = []
        self.shared = SharedWork()
        self.remembered = Remembered()

    # -- notices ---------------------------------------------------------------------

    def watch(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Call `callback(notice)` for every notice this process hears (e.g. to wake a
        worker)."""
        self._watchers.append(callback)

    def notify(self, notice: dict[str, Any]) -> None:
        for callback in self._watchers:
            try:
                callback(notice)
            except Exception:  # noqa: BLE001 - one watcher must not break the others
                log.exception("notice watcher failed")
        pump = self._pumps.get(str(notice.get("customer_id")))
        if pump is not None:
            pump.dirty.set()

    # -- connections -----------------------------------------------------------------

    async def register(self, connection: Connection) -> int:
        """Start delivering to `connection`; returns the id after which it will get
        everything (events up to it are the connection's own catch-up).

        The connection joins its customer's pump before anything is awaited, so a pump
        whose last other connection leaves meanwhile is never torn down under it."""
        customer_id = connection.customer_id
        pump = self._pumps.get(customer_id)
        if pump is not None:
            pump.connections.add(connection)
            await pump.ready.wait()
            async with pump.lock:  # not in the middle of handing out a batch
                return pump.cursor
        pump = self._pumps[customer_id] = _Pump()
        pump.connections.add(connection)
        pump.cursor = await last_event_id(customer_id)
        if self._pumps.get(customer_id) is pump:  # still wanted (not unregistered meanwhile)
            pump.task = asyncio.create_task(self._run(customer_id, pump))
        pump.ready.set()
        return pump.cursor

    def connections(self, customer_id: str, kind: str | None = None) -> list[Connection]:
        """The customer's connections in this process (of one `kind`, if given)."""
        pump = self._pumps.get(customer_id)
        found = list(pump.connections) if pump is not None else []
        return [c for c in found if kind is None or c.kind == kind]

    def connection_counts(self) -> dict[str, int]:
        """How many connections of each `kind` this process has open (for `/metrics`)."""
        counts: dict[str, int] = {}
        for pump in self._pumps.values():
            for connection in pump.connections:
                counts[connection.kind] = counts.get(connection.kind, 0) + 1
        return counts

    def unregister(self, connection: Connection) -> None:
        pump = self._pumps.get(connection.customer_id)
        if pump is None:
            return
        pump.connections.discard(connection)
        if not pump.connections:
            if pump.task is not None:
                pump.task.cancel()
            del self._pumps[connection.customer_id]

    async def _run(self, customer_id: str, pump: _Pump) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await pump.dirty.wait()
            pump.dirty.clear()
            try:
                await self._pump_once(customer_id, pump)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep pumping; the next round retries
                log.exception("could not read events for customer %s", customer_id)
                await asyncio.sleep(self.poll_interval)

    async def _pump_once(self, customer_id: str, pump: _Pump) -> None:
        async with pump.lock:
            while True:
                batch = await events_after(customer_id, pump.cursor)
                if not batch:
                    return
                pump.cursor = batch[-1].id
                for connection in list(pump.connections):
                    connection.deliver(batch)
                if len(batch) < 500:
                    return

    async def close(self) -> None:
        for pump in list(self._pumps.values()):
            if pump.task is not None:
                pump.task.cancel()
        self._pumps.clear()
