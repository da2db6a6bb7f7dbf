"""The deployment kit (deploy/, the Dockerfile's entrypoint) works as a whole: its
migrate, two web processes, a worker and nginx with its own configuration, started as
real processes from deploy/docker-compose.yml (tests/deploy_kit.py), on a database of
their own and the local Redis.

Through nginx: health, sign-in, the API websocket hearing messages posted on either web
process, bodies larger than nginx's default passed on to the app's own limits. Across the
processes: who views a room (presence, which only the shared bus carries) and a reply
queued by a web process that the worker sends, a file one process took in served by the
other (the files volume). The compose file's healthchecks run against the processes too."""

from __future__ import annotations

import smtplib
import time
from contextlib import ExitStack
from email.message import EmailMessage
from itertools import count

import httpx
import pytest
from conftest import assert_error, wait_for
from deploy_kit import WEB, Topology
from net_kit import holds_connection
from test_sender import ACCOUNT_SID, AUTH_TOKEN, CountingTwilio
from websockets.sync.client import connect
from ws_kit import Ws

PASSWORD = "deploy-pw-123"
_numbers = count(100)


@pytest.fixture(scope="module")
def twilio():
    fake = CountingTwilio()
    yield fake
    fake.server.stop()


@pytest.fixture(scope="module")
def deployed(twilio):
    topology = Topology({"CONVODESK_TWILIO_API_BASE": twilio.url})
    try:
        yield topology.start()
    except BaseException:
        print(topology.logs())
        raise
    finally:
        topology.stop()


@pytest.fixture(scope="module")
def admin(deployed) -> dict[str, str]:
    """A customer made with the `convodesk` command, its admin signed in through nginx."""
    done = deployed.run_cli(
        *("customer", "create", "--name", "Deployed", "--username", "dep-admin"),
        *("--password", PASSWORD),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return signed_in(deployed.url, "dep-admin")


def signed_in(base_url: str, username: str) -> dict[str, str]:
    r = httpx.post(
        base_url + "/auth/login", json={"username": username, "password": PASSWORD}, timeout=30
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture(scope="module")
def sms_account(deployed, admin) -> str:
    r = httpx.post(
        deployed.url + "/v1.0/conversation_accounts",
        headers=admin,
        json={
            "type": "sms",
            "settings": {"phone_number": "+14155550100", "account_sid": ACCOUNT_SID},
            "secrets": {"auth_token": AUTH_TOKEN},
        },
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def new_room(base_url: str, headers: dict[str, str]) -> dict:
    peer = {"type": "tel", "target": f"+1415555{next(_numbers):04d}"}
    r = httpx.post(base_url + "/v1.0/conversations", headers=headers, json={"participants": [peer]})
    assert r.status_code == 201, r.text
    return r.json()


def post(base_url: str, headers: dict[str, str], room_id: str, text: str) -> dict:
    r = httpx.post(
        f"{base_url}/v1.0/conversations/{room_id}/messages",
        headers=headers,
        json={"text": text},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return r.json()


def customer_id(deployed, headers: dict[str, str]) -> str:
    return httpx.get(deployed.url + "/v1.0/customer", headers=headers).json()["id"]


def test_health_through_nginx_and_the_compose_healthchecks(deployed):
    r = httpx.get(deployed.url + "/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}
    for name in WEB:
        checked = deployed.healthcheck(name)
        assert checked.returncode == 0, checked.stderr


def test_nginx_passes_large_bodies_on_to_the_apps_own_limits(deployed, admin):
    """A 2 MiB body is over nginx's default limit (1 MiB) and over the API's: the answer
    is the app's error envelope, so nginx let it through to be judged by the route."""
    r = httpx.post(
        deployed.url + "/v1.0/conversations",
        headers={**admin, "Content-Type": "application/json"},
        content=b'{"participants": "' + b"x" * (2 << 20) + b'"}',
        timeout=60,
    )
    assert_error(r, 413)


def test_an_api_socket_through_nginx_hears_messages_posted_on_either_process(
    deployed, admin, sms_account
):
    """Whichever process nginx gave the socket, one of the two messages was posted on the
    other process, bypassing nginx; both arrive."""
    room = new_room(deployed.url, admin)
    ws = Ws(deployed.url, admin, patience=10)
    try:
        ws.subscribe(f"customer_id:{customer_id(deployed, admin)}:conversation:{room['id']}")
        texts = {name: f"posted on {name}" for name in WEB}
        for name, text in texts.items():
            post(deployed.web[name].url, admin, room["id"], text)
        heard: set[str] = set()
        deadline = time.monotonic() + 20
        while heard != set(texts.values()):
            frame = ws.recv(timeout=max(0.05, deadline - time.monotonic()))
            if frame.get("type") == "conversation_message_created":
                heard.add(frame["data"]["text"])
    finally:
        ws.close()


def desk_socket(base_url: str, token: str, room_id: str):
    """The desk's socket on a room, as the room's page opens it (same-origin, cookie)."""
    url = base_url.replace("http://", "ws://") + f"/desk/ws?room={room_id}"
    return connect(
        url,
        origin=base_url,  # type: ignore[arg-type]
        additional_headers={"Cookie": f"token={token}"},
        open_timeout=10,
    )


def hears(socket, text: str, who: str, patience: float = 15) -> None:
    """Read the desk socket's frames until one contains `text`."""
    deadline = time.monotonic() + patience
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"{who} never showed {text!r}"
        try:
            frame = socket.recv(timeout=left)
        except TimeoutError:
            continue
        if text in str(frame):
            return


def test_who_views_a_room_is_known_on_every_process(deployed, admin, sms_account):
    """Presence is not stored: it reaches another process only over the shared bus. Bea
    has the room open on both web processes (directly); Ann opens it through nginx, so
    on one of them, and both of Bea's pages say Ann is viewing too."""
    r = httpx.post(
        deployed.url + "/v1.0/agents",
        headers=admin,
        json={"username": "dep-bea", "password": PASSWORD, "name": "Bea", "permission": "manager"},
    )
    assert r.status_code == 201, r.text
    r = httpx.post(
        deployed.url + "/v1.0/agents",
        headers=admin,
        json={"username": "dep-ann", "password": PASSWORD, "name": "Ann", "permission": "manager"},
    )
    assert r.status_code == 201, r.text
    bea = signed_in(deployed.url, "dep-bea")["Authorization"].removeprefix("Bearer ")
    ann = signed_in(deployed.url, "dep-ann")["Authorization"].removeprefix("Bearer ")
    room = new_room(deployed.url, admin)["id"]
    with ExitStack() as opened:
        beas = {
            name: opened.enter_context(desk_socket(deployed.web[name].url, bea, room))
            for name in WEB
        }
        anns = opened.enter_context(desk_socket(deployed.url, ann, room))
        for name, socket in beas.items():
            hears(socket, "Also viewing: Ann", f"Bea's page on {name}")
        # and Ann, on one of the processes, sees Bea, who is on both
        hears(anns, "Also viewing: Bea", "Ann's page")


def test_the_worker_sends_what_a_web_process_queued(deployed, admin, sms_account, twilio):
    """A reply posted through nginx reaches the provider from the worker process (the web
    processes run no workers), and its `sent` event reaches a socket on a web process."""
    room = new_room(deployed.url, admin)
    ws = Ws(deployed.url, admin, patience=10)
    try:
        ws.subscribe(f"customer_id:{customer_id(deployed, admin)}:conversation:{room['id']}")
        message = post(deployed.url, admin, room["id"], "sent by the worker")
        wait_for(lambda: twilio.bodies()["sent by the worker"] == 1, timeout=30)
        deadline = time.monotonic() + 20
        while True:
            frame = ws.recv(timeout=max(0.05, deadline - time.monotonic()))
            if frame.get("type") == "conversation_message_sent":
                assert frame["data"]["id"] == message["id"]
                break
    finally:
        ws.close()
    assert deployed.worker is not None
    assert holds_connection(deployed.worker.proc.pid, twilio.port)
    for name in WEB:
        assert not holds_connection(deployed.web[name].proc.pid, twilio.port), name


def test_mail_taken_in_by_one_process_has_its_files_served_by_the_other(deployed, admin):
    """The web process that publishes the SMTP port takes a mail with a picture; the
    picture is kept on the files volume, so the other web process serves it too."""
    [published] = deployed.services["web1"]["ports"]
    assert published.endswith(":2525")
    r = httpx.post(
        deployed.url + "/v1.0/conversation_accounts",
        headers=admin,
        json={
            "type": "email",
            "name": "Support mailbox",
            "settings": {
                "address": "support@deployed.example",
                "smtp_host": "127.0.0.1",
                "smtp_port": 9,
                "smtp_security": "none",
            },
        },
    )
    assert r.status_code == 201, r.text
    mail = EmailMessage()
    mail["From"], mail["To"] = "Jane <jane@customer.example>", "support@deployed.example"
    mail["Subject"] = "A picture"
    mail.set_content("Picture attached.")
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16
    mail.add_attachment(picture, maintype="image", subtype="png", filename="fire.png")
    with smtplib.SMTP("127.0.0.1", deployed.web["web1"].smtp_port, timeout=20) as smtp:
        smtp.send_message(mail)

    def media_url() -> str | None:
        rooms = httpx.get(deployed.url + "/v1.0/conversations", headers=admin).json()
        for room in rooms["result"]:
            found = httpx.get(
                f"{deployed.url}/v1.0/conversations/{room['id']}/messages", headers=admin
            ).json()["result"]
            for message in found:
                if message["text"] == "Picture attached.":
                    return message["medias"][0]["url"]
        return None

    url = wait_for(media_url, timeout=20, interval=0.2)
    assert url.startswith(deployed.url + "/media/")
    for base in (deployed.url, deployed.web["web2"].url):
        got = httpx.get(base + url.removeprefix(deployed.url), timeout=10)
        assert got.status_code == 200 and got.content == picture, base
