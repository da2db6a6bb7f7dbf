"""Send later with real processes: scheduled replies are sent at their time by the
`convodesk worker` processes sharing the send queue, exactly once across two workers, and
exactly once by a worker started after the time (the one that was running stopped before
it). A cancelled one is never sent. The stack (its own database, a fake Twilio, `serve`
without workers, an SMS account) is test_sender's."""

from __future__ import annotations

import time
from datetime import timedelta

from conftest import wait_for
from db_kit import sql
from test_sender import CountingTwilio, Worker, rooms, stack  # noqa: F401 - the fixture

from app.domain.timefmt import fmt, now


def schedule(client, room_ids: list[str], texts: list[str], seconds: float) -> list[dict]:
    due = fmt(now() + timedelta(seconds=seconds))
    made = []
    for i, text in enumerate(texts):
        r = client.post(
            f"/v1.0/conversations/{room_ids[i % len(room_ids)]}/messages",
            json={"text": text, "scheduled_at": due},
        )
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "scheduled"
        made.append(r.json())
    return made


def statuses(db_url: str, texts: list[str]) -> dict[str, str]:
    rows = sql(db_url, "SELECT text, status FROM messages WHERE text = ANY($1::text[])", texts)
    return {r["text"]: r["status"] for r in rows}


def all_done(db_url: str, texts: list[str]):
    found = statuses(db_url, texts)
    return found if len(found) == len(texts) and set(found.values()) == {"done"} else None


def test_two_workers_send_each_scheduled_reply_once_at_its_time(stack):  # noqa: F811
    fake: CountingTwilio = stack["fake"]
    fake.delay = 0.1
    client = stack["client"]
    workers = [Worker(stack["worker_env"]), Worker(stack["worker_env"])]
    try:
        for w in workers:
            w.wait_running(stack["db_port"])
        room_ids = rooms(client, 4)
        texts = [f"scheduled for both {i}" for i in range(24)]
        scheduled_at = time.monotonic()
        made = schedule(client, room_ids, texts, 4)
        dropped = schedule(client, room_ids[:1], ["cancelled before its time"], 4)[0]
        r = client.post(
            f"/v1.0/conversations/{dropped['conversation_id']}/messages/{dropped['id']}/cancel"
        )
        assert r.status_code == 200 and r.json()["status"] == "canceled", r.text
        wait_for(lambda: all_done(stack["db"], texts), timeout=60, interval=0.3)
        counts = fake.bodies()
        assert {t: counts[t] for t in texts} == {t: 1 for t in texts}
        for text in texts:  # none left before its time
            [(arrived, _)] = fake.sends_of(text)
            assert arrived >= scheduled_at + 3.5, text
        # the cancelled one, due with the others, was never sent
        assert counts["cancelled before its time"] == 0
        assert statuses(stack["db"], ["cancelled before its time"]) == {
            "cancelled before its time": "canceled"
        }
        # each went out as an ordinary reply: created when sent, at that time
        got = client.get(
            f"/v1.0/conversations/{made[0]['conversation_id']}/messages/{made[0]['id']}"
        ).json()
        assert got["tm_create"] >= got["scheduled_at"] == made[0]["scheduled_at"]
    finally:
        for w in workers:
            w.stop()
    assert all(w.proc.returncode == 0 for w in workers)


def test_a_reply_due_while_no_worker_runs_is_sent_once_after_the_restart(stack):  # noqa: F811
    fake: CountingTwilio = stack["fake"]
    fake.delay = 0.0
    client = stack["client"]
    first = Worker(stack["worker_env"]).wait_running(stack["db_port"])
    texts = [f"due during the restart {i}" for i in range(5)]
    # far enough ahead that the worker has stopped first, even on a loaded machine
    due = schedule(client, rooms(client, 2), texts, 8)[0]["scheduled_at"]
    first.stop()  # before the time
    assert first.proc.returncode == 0
    assert fmt(now()) < due, "the worker stopped too late for this test"
    while fmt(now()) < due:  # the time comes and goes with no worker running
        time.sleep(0.2)
    time.sleep(0.5)
    assert not any(fake.bodies()[t] for t in texts)
    assert set(statuses(stack["db"], texts).values()) == {"scheduled"}
    second = Worker(stack["worker_env"])
    try:
        wait_for(lambda: all_done(stack["db"], texts), timeout=60, interval=0.3)
        # a second worker joining later finds nothing left to send
        third = Worker(stack["worker_env"]).wait_running(stack["db_port"])
        third.stop()
        counts = fake.bodies()
        assert {t: counts[t] for t in texts} == {t: 1 for t in texts}
    finally:
        second.stop()
