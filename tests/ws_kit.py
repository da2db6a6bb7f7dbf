"""A synchronous client of the API websocket (`/v1.0/ws`) for tests, and a factory that
closes every client a test opened."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from websockets.sync.client import connect


class Ws:
    def __init__(
        self,
        base_url: str,
        headers: dict[str, str] | None = None,
        query: str = "",
        patience: float = 5.0,
    ):
        """`patience`: how long a receive waits (a batch of events gets twice that)."""
        url = base_url.replace("http://", "ws://") + "/v1.0/ws" + query
        self._opened = connect(url, additional_headers=headers or {}, open_timeout=10)
        self.conn = self._opened.__enter__()
        self.patience = patience

    def send(self, message: dict) -> None:
        self.conn.send(json.dumps(message))

    def recv(self, timeout: float | None = None) -> dict:
        return json.loads(self.conn.recv(timeout=self.patience if timeout is None else timeout))

    def subscribe(self, *topics: str, since: str | None = None) -> dict:
        message = {"type": "subscribe", "topics": list(topics)}
        if since is not None:
            message["since"] = since
        self.send(message)
        ack = self.recv()
        assert ack["type"] == "subscribed", ack
        return ack

    def events(self, count: int, timeout: float | None = None) -> list[dict]:
        got: list[dict] = []
        deadline = time.monotonic() + (2 * self.patience if timeout is None else timeout)
        while len(got) < count:
            frame = self.recv(timeout=max(0.05, deadline - time.monotonic()))
            if "data" in frame:
                got.append(frame)
        return got

    def close(self) -> None:
        self._opened.__exit__(None, None, None)


@contextmanager
def sockets(default_url: str, patience: float = 5.0) -> Iterator[Callable[..., Ws]]:
    """`make(headers=None, query="", base=None)` opens a client; all close at the end."""
    opened: list[Ws] = []

    def make(headers=None, query: str = "", base: str | None = None) -> Ws:
        ws = Ws(base or default_url, headers, query, patience)
        opened.append(ws)
        return ws

    try:
        yield make
    finally:
        for ws in opened:
            ws.close()
