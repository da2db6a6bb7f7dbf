"""A live connection whose client stops reading is closed as soon as its backlog is full,
not at the client's next frame (a client that never sends would otherwise silently miss
the batches dropped past the backlog)."""

from __future__ import annotations

import asyncio

from app.api.ws import ApiConnection
from app.core import connection
from app.core.hub import Hub
from app.domain.enums import Permission
from app.domain.principal import Principal


class SocketThatNeverReads:
    """Stands in for Litestar's WebSocket: records how it was closed."""

    def __init__(self) -> None:
        self.closed: list[tuple[int, str]] = []
        self.headers: dict[str, str] = {}

    async def close(self, code: int, reason: str) -> None:
        self.closed.append((code, reason))


def test_a_full_backlog_closes_the_socket_with_1013_once():
    async def go() -> list[tuple[int, str]]:
        principal = Principal(
            customer_id="c", agent_id="a", username="sam", permission=Permission.AGENT, via="token"
        )
        socket = SocketThatNeverReads()
        conn = ApiConnection(socket, principal, Hub())  # type: ignore[arg-type]
        for _ in range(connection.MAX_BACKLOG + 1):
            conn.deliver([])
        assert socket.closed == []  # at the limit: still queued, still open
        conn.deliver([])
        conn.deliver([])
        await conn.closer
        assert conn.outbox.qsize() == connection.MAX_BACKLOG + 1  # nothing more was queued
        return socket.closed

    assert asyncio.run(go()) == [(1013, "client too slow; resume with since")]
