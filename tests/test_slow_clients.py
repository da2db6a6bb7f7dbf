"""Slow clients cannot hold the server: request heads and bodies have time bounds, idle
keep-alive connections close, and at the connection cap the longest-waiting head makes
room — against a real `convodesk serve` run with a low file limit and short bounds.
Websockets are not cut, and a client dropping one is no error in the log."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.client
import json
import os
import resource
import socket
import struct
import threading
import time

import httpx
import pytest
from conftest import ServerProcess, cli_env, inbound, run_async, wait_for
from net_kit import ask_health
from ws_kit import Ws

from app.http_guard import Limits, body_deadline, connection_cap
from app.settings import Settings

NOFILE = 1024
HEAD_TIMEOUT = 2.0
KEEPALIVE = 1.0
BODY_RATE = 500
VIEWERS = 6
SLACK = 3.0
"""Seconds a bound may be late on the shared CI machine."""


@pytest.fixture(scope="module")
def guarded():
    env = cli_env(
        CONVODESK_HEADER_TIMEOUT=str(HEAD_TIMEOUT),
        CONVODESK_KEEPALIVE_TIMEOUT=str(KEEPALIVE),
        CONVODESK_BODY_MIN_RATE=str(BODY_RATE),
    )
    srv = ServerProcess(env, nofile=NOFILE).wait_ready()
    yield srv
    srv.stop()


@pytest.fixture
def signed_in(guarded) -> dict[str, str]:
    from app.people import customers

    run_async(customers.create_customer(name="Slow", username="slow-admin", password="slow-pw-123"))
    r = httpx.post(
        guarded.url + "/auth/login", json={"username": "slow-admin", "password": "slow-pw-123"}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def open_files_enough(count: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count), hard))


# --- pure parts ---------------------------------------------------------------------


def test_the_cap_leaves_room_for_what_is_not_a_client():
    assert connection_cap(10_000, 1024, 362) == 662
    assert connection_cap(500, 65536, 362) == 500  # what was asked, when files allow
    assert connection_cap(10_000, 100, 362) == 16  # a tiny limit still serves
    assert connection_cap(10_000, resource.RLIM_INFINITY, 362) == 10_000
    settings = Settings.from_env({"CONVODESK_MAX_CONNECTIONS": "5000"})
    limits = Limits.from_settings(settings, soft_nofile=1024)
    # the database pool, the sender's and the dispatcher's connections, and 64 more
    assert limits.max_connections == 1024 - (64 + 10 + 32 + 256)
    no_workers = Settings.from_env({"CONVODESK_NO_WORKERS": "1"})
    assert Limits.from_settings(no_workers, soft_nofile=1024).max_connections == 1024 - 74


def test_a_body_may_take_its_grace_then_one_second_per_rate():
    assert body_deadline(100.0, 10.0, 0, 1024) == 110.0
    assert body_deadline(100.0, 10.0, 2048, 1024) == 112.0


def test_bounds_are_settings_with_clear_errors():
    settings = Settings.from_env({})
    assert settings.header_timeout_seconds == 10.0
    assert settings.body_min_rate == 1024
    assert settings.keepalive_timeout_seconds == 5.0
    assert settings.max_connections == 10_000
    assert settings.smtp_host is None  # the host `serve` listens on
    from app.settings import SettingsError

    with pytest.raises(SettingsError, match="CONVODESK_HEADER_TIMEOUT"):
        Settings.from_env({"CONVODESK_HEADER_TIMEOUT": "soon"})
    with pytest.raises(SettingsError, match="CONVODESK_MAX_CONNECTIONS"):
        Settings.from_env({"CONVODESK_MAX_CONNECTIONS": "3"})


# --- against the server -------------------------------------------------------------


def health_prober(url: str, stop: threading.Event, results: list[str]) -> threading.Thread:
    """A thread asking GET /healthz on a new connection every 0.1 s until stopped."""
    host, port = url.removeprefix("http://").split(":")

    def run() -> None:
        while not stop.is_set():
            results.append(ask_health(int(port), host, timeout=3))
            stop.wait(0.1)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_many_slow_heads_are_closed_and_health_keeps_answering(guarded):
    count = NOFILE + 300  # more than the server may hold at once
    open_files_enough(count + 200)
    before = len(guarded.output())
    lifetimes: list[float] = []

    async def slow_client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", guarded.port)
        born = time.monotonic()
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        with contextlib.suppress(OSError):  # a reset by the server is a close all the same
            while True:
                try:
                    async with asyncio.timeout(0.5):
                        got = await reader.read(1024)
                except TimeoutError:
                    writer.write(b"a")  # a byte now and then; the head never ends
                    continue
                if not got:
                    break
        lifetimes.append(time.monotonic() - born)
        writer.close()

    async def attack() -> None:
        async with asyncio.timeout(HEAD_TIMEOUT + 20):
            await asyncio.gather(*(slow_client() for _ in range(count)))

    stop, probes = threading.Event(), []
    prober = health_prober(guarded.url, stop, probes)
    try:
        run_async(attack())
    finally:
        stop.set()
        prober.join()
    # every slow connection was closed by the server, none later than the head bound
    assert len(lifetimes) == count
    assert max(lifetimes) < HEAD_TIMEOUT + SLACK, max(lifetimes)
    # and the server answered its health check all along
    assert len(probes) >= 5, probes
    assert set(probes) == {"200"}, probes
    # past the cap, the longest-waiting heads were closed to make room
    assert "at the cap of 662 connections" in guarded.output()[before:]


def test_an_idle_keep_alive_connection_is_closed(guarded):
    conn = http.client.HTTPConnection("127.0.0.1", guarded.port, timeout=KEEPALIVE + SLACK)
    conn.request("GET", "/healthz")
    response = conn.getresponse()
    assert response.status == 200
    response.read()
    idle_since = time.monotonic()
    assert conn.sock.recv(1) == b""  # the server hung up
    assert KEEPALIVE * 0.8 <= time.monotonic() - idle_since < KEEPALIVE + SLACK


def test_a_slow_body_is_cut_off_and_a_fast_big_one_is_not(guarded):
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=HEAD_TIMEOUT + SLACK) as s:
        s.sendall(
            b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n{"
        )
        started = time.monotonic()
        s.settimeout(0.25)
        answer = b""
        while not answer and time.monotonic() - started < HEAD_TIMEOUT + SLACK:
            try:
                answer = s.recv(4096)
            except TimeoutError:
                s.sendall(b" " * 5)  # 20 bytes/s, far below the floor
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert HEAD_TIMEOUT * 0.9 <= time.monotonic() - started < HEAD_TIMEOUT + SLACK
    # the handler that was waiting for the body logs the client's leaving, not a 500
    wait_for(lambda: "POST /auth/login 400 " in guarded.output())
    assert "POST /auth/login 500 " not in guarded.output()

    # 300 KB at full speed (more than uvicorn buffers before the app reads) goes through
    big = json.dumps({"username": "x" * 300_000, "password": "y"})
    r = httpx.post(
        guarded.url + "/auth/login", content=big, headers={"Content-Type": "application/json"}
    )
    assert r.status_code not in (408, 500), r.text
    assert r.json()["error"]


def test_a_websocket_outlives_the_head_and_keep_alive_bounds(guarded, signed_in):
    ws = Ws(guarded.url, headers=signed_in)
    try:
        # a slow head opened alongside: the server closing it proves the bound has passed
        with socket.create_connection(("127.0.0.1", guarded.port)) as slow:
            slow.sendall(b"GET / HTTP/1.1\r\n")
            slow.settimeout(HEAD_TIMEOUT + SLACK)
            opened = time.monotonic()
            assert slow.recv(1024).startswith(b"HTTP/1.1 408 ")
            assert time.monotonic() - opened >= HEAD_TIMEOUT * 0.9
        # longer than the keep-alive bound too: an idle HTTP connection closing proves it
        conn = http.client.HTTPConnection("127.0.0.1", guarded.port, timeout=KEEPALIVE + SLACK)
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        assert conn.sock.recv(1) == b""
        customer = httpx.get(guarded.url + "/v1.0/customer", headers=signed_in).json()
        ack = ws.subscribe(f"customer_id:{customer['id']}:conversation")
        assert ack["topics"] == [f"customer_id:{customer['id']}:conversation"]
    finally:
        ws.close()


def _raw_websocket(port: int, path: str, headers: str) -> socket.socket:
    sock = socket.socket()
    # a small receive buffer: a client that stops reading soon holds up the server's sends
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: http://127.0.0.1:{port}\r\n{headers}\r\n"
        ).encode()
    )
    assert sock.recv(4096).startswith(b"HTTP/1.1 101 ")
    return sock


def _masked_text(text: str) -> bytes:
    data, mask = text.encode(), os.urandom(4)
    assert len(data) < 126
    return (
        bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    )


def test_clients_dropping_their_websockets_are_no_error(guarded, signed_in):
    """Sockets reset by their clients while events are being pushed to them (the server
    waiting to send more): each end is an info line, and nothing is logged as an error
    with a traceback."""
    from app.channels import accounts

    before = len(guarded.output())
    token = signed_in["Authorization"].removeprefix("Bearer ")
    customer = httpx.get(guarded.url + "/v1.0/customer", headers=signed_in).json()
    account = run_async(
        accounts.create_account(
            customer["id"], type="loopback", address="+15550001111", settings={}
        )
    )
    room = inbound(account, "+15550001234", "hello").conversation_id
    # one agent per desk: each one leaving is news for "also viewing", so the server is
    # still at work on every socket the moment it hears that the client has gone
    desks = []
    for i in range(VIEWERS):
        username = f"viewer-{i}"
        made = httpx.post(
            guarded.url + "/v1.0/agents",
            headers=signed_in,
            json={"username": username, "password": "slow-pw-123", "permission": "admin"},
        )
        assert made.status_code == 201, made.text
        login = {"username": username, "password": "slow-pw-123"}
        desk_token = httpx.post(guarded.url + "/auth/login", json=login).json()["token"]
        desks.append(
            _raw_websocket(guarded.port, f"/desk/ws?room={room}", f"Cookie: token={desk_token}\r\n")
        )
    apis = []
    for _ in range(5):
        api = _raw_websocket(guarded.port, f"/v1.0/ws?token={token}", "")
        topic = f"customer_id:{customer['id']}:conversation"
        api.sendall(_masked_text(json.dumps({"type": "subscribe", "topics": [topic]})))
        apis.append(api)

    stop = threading.Event()
    arrived = [0]

    def keep_arriving() -> None:  # long messages: 20 KB for every socket, each time
        while not stop.is_set():
            arrived[0] += 1
            inbound(account, "+15550001234", f"{arrived[0]} " + "x" * 20_000)

    load = threading.Thread(target=keep_arriving, daemon=True)
    load.start()
    try:
        for sock in desks + apis:  # frames are arriving: the live stream is flowing
            sock.settimeout(10)
            assert sock.recv(1)
        # The clients read no more: after 12 more messages (240 KB for each socket), the
        # server's sends to them wait for room when they go.
        seen = arrived[0]
        wait_for(lambda: arrived[0] >= seen + 12, timeout=30)
        for sock in desks + apis:  # gone without a close frame: a reset
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()

        def ended() -> bool:
            log = guarded.output()[before:]
            desks_gone = all(f"desk socket of viewer-{i} closed" in log for i in range(VIEWERS))
            return desks_gone and log.count("API socket of slow-admin closed") >= len(apis)

        wait_for(ended, timeout=15)
    finally:
        stop.set()
        load.join()
    log = guarded.output()[before:]
    assert "Traceback" not in log
    assert " ERROR " not in log
