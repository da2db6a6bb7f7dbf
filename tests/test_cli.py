"""The `convodesk` command: settings errors, customers, agents, and the demo."""

from __future__ import annotations

import json
import re
import smtplib
from email.message import EmailMessage

import httpx
from conftest import ServerProcess, cli_env, free_port, run_cli, wait_for
from net_kit import port_open


def test_bad_settings_stop_start_up_with_one_line_naming_them():
    cases = {
        "CONVODESK_SMTP_PORT": "twenty-five",
        "DATABASE_URL": "mysql://root@localhost/db",
        "CONVODESK_PUBLIC_URL": "desk.example.com",
        "CONVODESK_SECRET_KEY": "too-short",
        "CONVODESK_EVENT_BUS": "carrier-pigeon",
        "CONVODESK_REDIS_URL": "http://127.0.0.1:6379",
        "CONVODESK_TOKEN_TTL": "-5",
    }
    for name, value in cases.items():
        done = run_cli("serve", env=cli_env(**{name: value}))
        assert done.returncode == 2, (name, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("convodesk: ") and name in lines[0]


def test_secret_key_is_required_with_an_external_database():
    done = run_cli("serve", env=cli_env(CONVODESK_SECRET_KEY=None))
    assert done.returncode == 2
    assert "CONVODESK_SECRET_KEY" in done.stderr.strip().splitlines()[-1]


def test_customer_and_agent_create_print_json(client):
    done = run_cli(
        "customer",
        "create",
        "--name",
        "Initech",
        "--username",
        "lumbergh",
        "--password",
        "tps-reports",
    )
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert set(created) == {"customer_id", "agent_id"}

    done = run_cli(
        "agent",
        "create",
        "--customer-id",
        created["customer_id"],
        "--username",
        "milton",
        "--password",
        "red-stapler",
        "--permission",
        "manager",
    )
    assert done.returncode == 0, done.stderr
    agent_id = json.loads(done.stdout)["agent_id"]

    token = client.post(
        "/auth/login", json={"username": "lumbergh", "password": "tps-reports"}
    ).json()["token"]
    agents = client.get("/v1.0/agents", params={"token": token}).json()["result"]
    assert {(a["id"], a["username"], a["permission"]) for a in agents} == {
        (created["agent_id"], "lumbergh", "admin"),
        (agent_id, "milton", "manager"),
    }


def test_cli_errors_are_one_line():
    ok = run_cli(
        "customer", "create", "--name", "A", "--username", "dupe", "--password", "pw-12345"
    )
    assert ok.returncode == 0
    for args in (
        ("customer", "create", "--name", "B", "--username", "dupe", "--password", "pw-12345"),
        ("customer", "create", "--name", "B", "--username", "new-one", "--password", "short"),
        ("agent", "create", "--customer-id", "nope", "--username", "x2", "--password", "pw-12345"),
        (
            "agent",
            "create",
            "--customer-id",
            "00000000-0000-0000-0000-000000000000",
            "--username",
            "x2",
            "--password",
            "pw-12345",
        ),
    ):
        done = run_cli(*args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        assert done.stderr.startswith("convodesk: ")
        assert done.stdout == ""


def test_demo_prints_logins_that_work_and_is_reusable():
    def run_demo() -> tuple[str, list[tuple[str, str]]]:
        srv = ServerProcess(cli_env(), command="demo").wait_ready()
        try:
            out = srv.output()
            logins = re.findall(r"Log in as '([^']+)' / '([^']+)'", out)
            assert logins, out
            assert f"http://127.0.0.1:{srv.port}" in out
            for username, password in logins:
                r = httpx.post(
                    srv.url + "/auth/login", json={"username": username, "password": password}
                )
                assert r.status_code == 200, r.text
            token = httpx.post(
                srv.url + "/auth/login",
                json={"username": logins[0][0], "password": logins[0][1]},
            ).json()["token"]
            agents = httpx.get(srv.url + "/v1.0/agents", params={"token": token}).json()
            check_demo_rooms(srv.url, token)
            check_demo_talks(srv.url, token)
            check_demo_email(srv, token, out)
            return out, sorted((a["username"], a["permission"]) for a in agents["result"])
        finally:
            srv.stop()

    out, agents = run_demo()
    assert "Demo data created" in out
    assert agents == [("admin", "admin"), ("agent", "agent")]
    out, again = run_demo()
    assert "already present" in out
    assert again == agents


def test_several_worker_processes_need_a_shared_bus():
    done = run_cli("serve", "--workers", "2", env=cli_env(CONVODESK_REDIS_URL=None))
    assert done.returncode == 2, done.stderr
    assert "CONVODESK_REDIS_URL=redis://" in done.stderr
    assert "CONVODESK_EVENT_BUS=postgres" in done.stderr


def test_serve_with_several_worker_processes(client, tenant):
    srv = ServerProcess(cli_env(), args=("--workers", "2")).wait_ready()
    try:
        # both processes share the database: a token of the session's tenant works here
        for _ in range(20):
            r = httpx.get(srv.url + "/v1.0/customer", headers=tenant.admin)
            assert r.status_code == 200
            assert r.json()["id"] == tenant.customer_id
        # the first process to start answers at once; the second may still be starting
        out = wait_for(
            lambda: srv.output().count("Application startup complete") >= 2 and srv.output()
        )
        assert "2 worker process(es)" in out
        assert out.count("Application startup complete") == 2
    finally:
        srv.stop()
    assert srv.proc.returncode == 0


def check_demo_rooms(url: str, token: str) -> None:
    """Rooms across SMS, email, LINE and web chat; one person on two channels in one room,
    whose replies the sender worker delivers."""
    rooms = httpx.get(url + "/v1.0/conversations", params={"token": token}).json()["result"]
    assert {r["reference_type"] for r in rooms} == {"message", "email", "line", "webchat"}
    assert {r["status"] for r in rooms} == {"active", "closed"}
    order = next(r for r in rooms if r["name"] == "Order Support #5678")
    assert {p["type"] for p in order["participants"]} == {"tel", "email"}

    def history():
        return httpx.get(
            f"{url}/v1.0/conversations/{order['id']}/messages", params={"token": token}
        ).json()["result"]

    assert {(m["direction"], m["reference_type"]) for m in history()} == {
        ("inbound", "message"),
        ("inbound", "email"),
        ("outbound", "message"),
        ("outbound", "email"),
    }
    wait_for(lambda: all(m["status"] == "done" for m in history()))


def check_demo_talks(url: str, token: str) -> None:
    """A group talk with a thread and a reaction, and a direct talk."""
    found = httpx.get(url + "/v1.0/talks", params={"token": token}).json()["result"]
    assert sorted(t["type"] for t in found) == ["direct", "group"]
    team = next(t for t in found if t["type"] == "group")
    assert team["name"] == "Support team" and team["member_count"] == 2
    stream = httpx.get(f"{url}/v1.0/talks/{team['id']}/messages", params={"token": token}).json()[
        "result"
    ]
    assert [m["reply_count"] for m in stream] == [0, 2]
    assert stream[0]["reactions"][0]["emoji"] == "👍"


def check_demo_email(srv: ServerProcess, token: str, out: str) -> None:
    """The demo's email account takes mail at the SMTP port, and it lands in a room."""
    assert f"mail support@demo.convodesk.test at SMTP 127.0.0.1:{srv.smtp_port}" in out
    mail = EmailMessage()
    mail["From"] = "Try Out <tryout@example.com>"
    mail["To"] = "support@demo.convodesk.test"
    mail["Subject"] = "Trying the demo"
    mail.set_content("Does email work end to end?")
    with smtplib.SMTP("127.0.0.1", srv.smtp_port, timeout=10) as smtp:
        smtp.send_message(mail)

    def room():
        rooms = httpx.get(
            srv.url + "/v1.0/conversations", params={"token": token, "q": "tryout@example.com"}
        ).json()["result"]
        return rooms[0] if rooms else None

    found = wait_for(room)
    assert found["reference_type"] == "email"
    history = httpx.get(
        f"{srv.url}/v1.0/conversations/{found['id']}/messages", params={"token": token}
    ).json()["result"]
    assert "Does email work end to end?" in history[0]["text"]


def test_a_taken_smtp_port_stops_serve_with_one_line(server):
    """The session server holds its SMTP port on 127.0.0.1: a second server asking for it
    stops at once, instead of sharing it and taking half of the other's mail."""
    done = run_cli(
        "serve",
        "--port",
        str(free_port()),
        env=cli_env(CONVODESK_SMTP_PORT=str(server.smtp_port)),
        timeout=60,
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stderr.strip().splitlines() == [
        f"convodesk: the SMTP port {server.smtp_port} on 127.0.0.1 is in use;"
        " set CONVODESK_SMTP_PORT (0 turns it off)"
    ]
    assert "Convodesk is listening" not in done.stdout
    # the first server still has its port and takes mail there
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10) as smtp:
        assert smtp.noop()[0] == 250


def test_the_smtp_listener_binds_the_host_serve_listens_on():
    srv = ServerProcess(cli_env(), args=("--host", "127.0.0.2"))
    srv.url = f"http://127.0.0.2:{srv.port}"
    try:
        srv.wait_ready()
        assert f"Inbound email (SMTP) on 127.0.0.2:{srv.smtp_port}" in srv.output()
        with smtplib.SMTP("127.0.0.2", srv.smtp_port, timeout=10) as smtp:
            assert smtp.noop()[0] == 250
        assert not port_open("127.0.0.1", srv.smtp_port)  # not on every address
    finally:
        srv.stop()
