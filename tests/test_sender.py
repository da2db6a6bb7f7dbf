"""The outbound queue's guarantees, with real processes: a `convodesk serve` without
workers and standalone `convodesk worker` processes sharing one PostgreSQL database,
sending SMS through a local server that answers as Twilio's Messages API does.

- Two workers share the queue: every message reaches the provider exactly once, and all
  become done.
- A worker killed (SIGKILL) mid-send loses nothing: the rows it had claimed are leased,
  and once the lease (CONVODESK_SEND_LEASE, 20 s here) runs out another worker sends
  them; what was not yet claimed is sent at once, exactly once.

Their own database: the session server's sender must not take these messages.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import uuid
from collections import Counter
from itertools import count
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from conftest import ServerProcess, cli_env, migrated_database, run_async, run_cli, wait_for
from db_kit import sql
from net_kit import holds_connection as talks_to
from providers import ProviderServer, Recorded, Reply

ACCOUNT_SID = "AC" + "5e4d3c2b1a098765" * 2
AUTH_TOKEN = "sender-test-auth-token-0123456789"
LEASE = 20  # seconds (CONVODESK_SEND_LEASE for the workers)


class CountingTwilio:
    """Twilio's Messages resource: 201 with a fresh SM sid for every POST, after `delay`
    seconds; remembers what it answered, by Body, in arrival order."""

    def __init__(self) -> None:
        self.server = ProviderServer()
        self.url = self.server.url
        self.port = int(self.url.rsplit(":", 1)[1])
        self.delay = 0.0
        self.lock = threading.Lock()
        self.received: list[tuple[float, str, str]] = []
        """(arrival time, Body, sid answered)"""
        self.server.route(
            "POST", r"/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages\.json", self._create
        )

    def _create(self, recorded: Recorded, match) -> Reply:
        form = dict(recorded.form())
        sid = "SM" + uuid.uuid4().hex
        with self.lock:
            self.received.append((time.monotonic(), form.get("Body", ""), sid))
        return Reply(
            status=201,
            delay=self.delay,
            body={
                "sid": sid,
                "account_sid": match.group(1),
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body"),
                "status": "queued",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "num_media": "0",
                "num_segments": "1",
                "error_code": None,
                "error_message": None,
                "uri": f"/2010-04-01/Accounts/{match.group(1)}/Messages/{sid}.json",
            },
        )

    def bodies(self) -> Counter:
        with self.lock:
            return Counter(body for _, body, _ in self.received)

    def sends_of(self, body: str) -> list[tuple[float, str]]:
        with self.lock:
            return [(t, sid) for t, b, sid in self.received if b == body]


class Worker(ServerProcess):
    """`convodesk worker` in a child process."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env, command="worker")

    def wait_running(self, db_port: int, timeout: float = 60) -> Worker:
        """Until it holds its database connections (its sender claims on the next poll)."""

        def connected():
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.output()}")
            return "workers are running" in self.output() and talks_to(self.proc.pid, db_port)

        wait_for(connected, timeout=timeout, interval=0.2)
        time.sleep(0.5)  # one poll
        return self

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()


def outbound(db_url: str) -> list[asyncpg.Record]:
    return sql(
        db_url,
        "SELECT m.text, m.status, m.provider_message_id, m.error, o.status AS queue_status,"
        " o.attempts FROM messages m JOIN outbound_messages o ON o.message_id = m.id"
        " WHERE m.direction = 'outbound'",
    )


@pytest.fixture(scope="module")
def stack():
    """One database, the fake Twilio, `serve` without workers, and an SMS account."""
    db_url = migrated_database("convodesk_sender")
    fake = CountingTwilio()
    made = run_cli(
        "customer",
        "create",
        "--name",
        "Q",
        "--username",
        "q-admin",
        "--password",
        "q-pw-123",
        env=cli_env(DATABASE_URL=db_url),
    )
    assert made.returncode == 0, made.stderr
    web = ServerProcess(
        cli_env(DATABASE_URL=db_url, CONVODESK_NO_WORKERS="1", CONVODESK_TWILIO_API_BASE=fake.url)
    ).wait_ready()
    try:
        token = httpx.post(
            f"{web.url}/auth/login", json={"username": "q-admin", "password": "q-pw-123"}
        ).json()["token"]
        client = httpx.Client(
            base_url=web.url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )
        r = client.post(
            "/v1.0/conversation_accounts",
            json={
                "type": "sms",
                "settings": {"phone_number": "+14155550100", "account_sid": ACCOUNT_SID},
                "secrets": {"auth_token": AUTH_TOKEN},
            },
        )
        assert r.status_code == 201, r.text
        worker_env = cli_env(
            DATABASE_URL=db_url,
            CONVODESK_TWILIO_API_BASE=fake.url,
            CONVODESK_PUBLIC_URL=web.url,
            # a short lease, so a dead worker's claims come back within the test; fewer
            # sends at once than messages, so a dead worker leaves some never claimed
            CONVODESK_SEND_LEASE=str(LEASE),
            CONVODESK_SEND_CONCURRENCY="8",
        )
        yield {
            "db": db_url,
            "db_port": urlsplit(db_url).port or 5432,
            "fake": fake,
            "client": client,
            "worker_env": worker_env,
        }
        client.close()
    finally:
        web.stop()
        fake.server.stop()


_numbers = count(1000)


def rooms(client: httpx.Client, n: int) -> list[str]:
    """`n` new rooms, each with a new phone number as its peer."""
    ids = []
    for _ in range(n):
        peer = {"type": "tel", "target": f"+1415555{next(_numbers):04d}"}
        r = client.post("/v1.0/conversations", json={"participants": [peer]})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def post_messages(client: httpx.Client, room_ids: list[str], texts: list[str]) -> None:
    async def go():
        async with httpx.AsyncClient(
            base_url=str(client.base_url), headers=dict(client.headers), timeout=30
        ) as c:
            sem = asyncio.Semaphore(8)

            async def one(i: int, text: str):
                async with sem:
                    r = await c.post(
                        f"/v1.0/conversations/{room_ids[i % len(room_ids)]}/messages",
                        json={"text": text},
                    )
                    assert r.status_code == 201, r.text

            await asyncio.gather(*(one(i, t) for i, t in enumerate(texts)))

    run_async(go())


def settled(db_url: str, texts: list[str]):
    """The outbound messages with these texts, once none is progressing any more."""
    rows = [r for r in outbound(db_url) if r["text"] in texts]
    done = len(rows) == len(texts) and all(r["status"] != "progressing" for r in rows)
    return rows if done else None


def test_two_workers_share_the_queue_and_send_every_message_exactly_once(stack):
    fake: CountingTwilio = stack["fake"]
    fake.delay = 0.2  # the provider takes a moment: both workers have claims in flight
    workers = [Worker(stack["worker_env"]), Worker(stack["worker_env"])]
    try:
        for w in workers:
            w.wait_running(stack["db_port"])
        texts = [f"shared queue message {i}" for i in range(60)]
        post_messages(stack["client"], rooms(stack["client"], 6), texts)
        rows = wait_for(lambda: settled(stack["db"], texts), timeout=60, interval=0.3)
        assert {r["status"] for r in rows} == {"done"}, [r["error"] for r in rows]
        assert {r["queue_status"] for r in rows} == {"done"}
        counts = fake.bodies()
        assert set(counts) == set(texts)
        assert set(counts.values()) == {1}, {b: n for b, n in counts.items() if n != 1}
        for r in rows:  # each message holds the sid the provider answered for it
            [(_, sid)] = fake.sends_of(r["text"])
            assert r["provider_message_id"] == sid
        # both workers took part (each holds its kept-alive connection to the provider)
        assert all(talks_to(w.proc.pid, fake.port) for w in workers), [w.output() for w in workers]
    finally:
        for w in workers:
            w.stop()
    assert all(w.proc.returncode == 0 for w in workers)


def test_a_killed_worker_loses_nothing_its_claims_are_sent_after_the_lease(stack):
    fake: CountingTwilio = stack["fake"]
    fake.delay = 5.0  # the provider is slow: the first worker dies with sends in flight
    before = set(fake.bodies())
    texts = [f"crash test message {i}" for i in range(20)]
    first = Worker(stack["worker_env"]).wait_running(stack["db_port"])
    second = None
    try:
        post_messages(stack["client"], rooms(stack["client"], 4), texts)
        wait_for(lambda: set(fake.bodies()) - before, timeout=20)
        time.sleep(0.5)  # the rest of its batch reaches the provider
        first.kill()
        in_flight = set(fake.bodies()) - before
        assert 0 < len(in_flight) < len(texts)
        fake.delay = 0.0
        killed_at = time.monotonic()
        second = Worker(stack["worker_env"])
        # the unclaimed ones go at once; the claimed ones once the lease runs out
        rows = wait_for(lambda: settled(stack["db"], texts), timeout=90, interval=0.5)
        assert {r["status"] for r in rows} == {"done"}, [r["error"] for r in rows]
        counts = fake.bodies()
        claimed_twice = {r["text"] for r in rows if r["attempts"] == 2}
        assert in_flight <= claimed_twice  # the dead worker's claims, taken over
        for row in rows:
            text, sends = row["text"], fake.sends_of(row["text"])
            if text in in_flight:
                # the provider had it from the dead worker, and gets it again after the
                # lease: at least once is all a crash mid-request allows
                assert counts[text] == 2
                assert sends[1][0] - sends[0][0] >= LEASE - 5, "resent before the lease ran out"
            elif text in claimed_twice:  # claimed by the dead worker, never reached Twilio
                assert counts[text] == 1
                assert sends[0][0] - killed_at >= LEASE - 8, "taken over before the lease ran out"
            else:  # never claimed by the dead worker: sent at once, once
                assert counts[text] == 1
                assert sends[0][0] - killed_at < LEASE - 8, "an unclaimed message waited"
            assert row["provider_message_id"] == sends[-1][1]
    finally:
        if second is not None:
            second.stop()
        first.stop()
