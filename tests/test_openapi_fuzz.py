"""The OpenAPI document against the running server: Schemathesis generates requests from
`/schema/openapi.json` for every operation — valid ones and broken ones — and checks each
answer: never a 5xx, a status the document lists for the operation, a body that matches the
schema of that status, the documented content type and headers.

The fuzz works in a tenant of its own, with one of each resource made beforehand, so that
path ids name real records most of the time (Schemathesis's dictionaries) and the success
answers are checked too, not only 404s. It signs in with an admin's token; nothing it can
send removes that admin (the only agent id it is given is another agent's).

Deterministic: Schemathesis's deterministic generation, a bounded number of examples per
operation and no example database, so a failure reproduces on the next run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest
from conftest import ServerProcess, cli_env, run_async, wait_for

MAX_EXAMPLES = 4
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
PASSWORD = "fuzz-pass-123"


@pytest.fixture(scope="module")
def server():
    """The session database; private webhook targets allowed, so the tenant's webhook can
    point at a closed local port and leave deliveries to look at."""
    srv = ServerProcess(cli_env(CONVODESK_ALLOW_PRIVATE_WEBHOOKS="1")).wait_ready()
    yield srv
    srv.stop()


def _ok(response: httpx.Response, status: int = 201) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def seed_tenant(
    client: httpx.Client,
) -> tuple[dict[str, str], dict[str, dict[str, list[str]]]]:
    """A customer with an admin (signed in) and its resources: one set for every operation
    but DELETE, and a second set for the DELETE operations, so that deleting does not take
    the first set away from the operations that run after it. Returns the admin's headers
    and, for each set, the ids that exist per path parameter name."""
    from app.channels import accounts
    from app.people import customers

    customer, _ = run_async(
        customers.create_customer(name="Fuzz", username="fuzz-admin", password=PASSWORD)
    )
    token = _ok(
        client.post("/auth/login", json={"username": "fuzz-admin", "password": PASSWORD}), 200
    )["token"]
    admin = {"Authorization": f"Bearer {token}"}

    def post(path: str, body: dict, status: int = 201) -> dict:
        return _ok(client.post(path, headers=admin, json=body), status)

    def resources(label: str) -> dict[str, list[str]]:
        agent = post(
            "/v1.0/agents", {"username": f"fuzz-{label}", "password": PASSWORD, "name": label}
        )
        key = post("/v1.0/accesskeys", {"name": label})
        # a loopback account (made by the service: not an API type) takes every message
        account = run_async(
            accounts.create_account(
                customer.id,
                type="loopback",
                address=f"+1555000{len(label):04d}",
                name=label,
                settings={"reference_type": "message"},
            )
        )
        phone = f"+1555123{len(label):04d}"
        room = post(
            "/v1.0/conversations",
            {"name": label, "participants": [{"type": "tel", "target": phone}]},
        )
        peer = next(p for p in room["participants"] if p["target"] == phone)
        post(f"/v1.0/conversations/{room['id']}/messages", {"text": "hello"})
        talk = post(
            "/v1.0/talks", {"type": "group", "name": label, "participant_ids": [agent["id"]]}
        )
        member = next(p for p in talk["participants"] if p["agent_id"] == agent["id"])
        message = post(f"/v1.0/talks/{talk['id']}/messages", {"text": "hi team"})
        post(f"/v1.0/messages/{message['id']}/reactions", {"emoji": "thumbsup"})
        hours = post(
            "/v1.0/business_hours",
            {
                "name": label,
                "time_zone": "Europe/Berlin",
                "periods": [{"day": 0, "start": "09:00", "end": "17:00"}],
                "holidays": [{"date": "2026-12-25", "yearly": True}],
            },
        )
        policy = post("/v1.0/sla_policies", {"name": label, "first_response_minutes": 15})
        rule = post(
            "/v1.0/automation_rules",
            {
                "name": label,
                "trigger": "message_received",
                "conditions": [{"field": "text", "operator": "contains", "value": "refund"}],
                "actions": [{"type": "add_tags", "value": ["refund"]}],
            },
        )
        macro = post(
            "/v1.0/macros", {"name": label, "actions": [{"type": "set_priority", "value": "high"}]}
        )
        return {
            "agent_id": [agent["id"]],
            "key_id": [key["id"]],
            "account_id": [str(account.id)],
            "conversation_id": [room["id"]],
            "participant_id": [peer["id"], member["id"]],
            "talk_id": [talk["id"]],
            "message_id": [message["id"]],
            "emoji": ["thumbsup"],
            "hours_id": [hours["id"]],
            "policy_id": [policy["id"]],
            "rule_id": [rule["id"]],
            "macro_id": [macro["id"]],
        }

    kept, doomed = resources("kept"), resources("doomed")
    # deleting a whole room or talk gets one of its own, so the doomed room's participant
    # and the doomed talk's message and participant are still there to delete
    whole = {
        "conversation_id": [
            post(
                "/v1.0/conversations", {"participants": [{"type": "tel", "target": "+15559990000"}]}
            )["id"]
        ],
        "talk_id": [post("/v1.0/talks", {"type": "group", "name": "whole"})["id"]],
    }
    # an event after the webhook is set leaves a delivery (to a closed port: it fails)
    _ok(
        client.put(
            "/v1.0/customer", headers=admin, json={"webhook_uri": "http://127.0.0.1:9/hook"}
        ),
        200,
    )
    post(f"/v1.0/talks/{kept['talk_id'][0]}/messages", {"text": "for the webhook"})
    deliveries = wait_for(
        lambda: client.get("/v1.0/webhook_deliveries", headers=admin).json()["result"]
    )
    kept["delivery_id"] = doomed["delivery_id"] = [deliveries[0]["id"]]
    return admin, {"kept": kept, "doomed": doomed, "whole": whole}


# Each of these costs the server an Argon2 hash or verification (a tenth of a second of
# CPU by design), so they skip the coverage phase's hundreds of boundary cases and get the
# fuzzing and stateful phases only; their bodies are checked by the same msgspec rules as
# every other body, which the coverage phase exercises elsewhere.
SLOW_BY_DESIGN = ("POST /auth/login", "POST /v1.0/agents", "PUT /v1.0/agents/{agent_id}")

# Schemathesis also reuses ids it saw in earlier answers. Not for these: a DELETE would take
# the kept records away (it gets the doomed ones), and an update of an agent could demote
# the fuzz's own admin (`GET /v1.0/agents` lists it).
NO_IDS_FROM_ANSWERS = (
    "phases.coverage.extra-data-sources.responses = false",
    "phases.fuzzing.extra-data-sources.responses = false",
)
# The coverage phase also sends each path every method it does not document, expecting
# 405: by default eight methods, most of the phase's requests. One method the API never
# uses on any path checks the same rule at an eighth of the cost.
UNEXPECTED_METHODS = 'phases.coverage.unexpected-methods = ["patch"]'
DELETE_WHOLE = ("DELETE /v1.0/talks/{talk_id}", "DELETE /v1.0/conversations/{conversation_id}")


def schemathesis_config(ids: dict[str, dict[str, list[str]]]) -> str:
    """schemathesis.toml: path ids name the tenant's records four times in five (the rest
    are generated, to try ids that do not exist or cannot be ids at all)."""

    def bindings(kind: str) -> str:
        pairs = ", ".join(
            f'"path.{name}" = {{ dictionary = "{kind}_{name}", probability = 0.8 }}'
            for name in ids[kind]
        )
        return f"parameters = {{ {pairs} }}"

    def entry(match: str, *settings: str) -> str:
        return "\n".join(("[[operations]]", match, *settings)) + "\n\n"

    dictionaries = "".join(
        f"{kind}_{name} = {{ values = {json.dumps(values)} }}\n"
        for kind, found in ids.items()
        for name, values in found.items()
    )
    # Of the entries that match an operation, the first to set an option decides it.
    return (
        f"{bindings('kept')}\n{UNEXPECTED_METHODS}\n\n[dictionaries]\n{dictionaries}\n"
        + entry(f"include-name = {json.dumps(DELETE_WHOLE)}", bindings("whole"))
        + entry('include-method = "DELETE"', bindings("doomed"), *NO_IDS_FROM_ANSWERS)
        + entry('include-name = "PUT /v1.0/agents/{agent_id}"', *NO_IDS_FROM_ANSWERS)
        + entry(f"include-name = {json.dumps(SLOW_BY_DESIGN)}", "phases.coverage.enabled = false")
    )


# About a minute on a quiet two-core machine (mostly the coverage phase's boundary cases);
# the guard leaves room for a busy one.
@pytest.mark.timeout(900)
def test_every_answer_matches_the_document(server, client, tmp_path):
    admin, ids = seed_tenant(client)
    config = tmp_path / "schemathesis.toml"
    config.write_text(schemathesis_config(ids))
    started = time.monotonic()
    run = subprocess.run(
        [
            *(sys.executable, "-m", "schemathesis.cli"),
            *("--config-file", str(config)),
            "run",
            f"{server.url}/schema/openapi.json",
            *("--header", f"Authorization: {admin['Authorization']}"),
            *("--checks", ",".join(CHECKS)),
            *("--max-examples", str(MAX_EXAMPLES)),
            "--generation-deterministic",
            *("--suppress-health-check", "all"),
            "--continue-on-failure",
            *("--workers", "1"),
            *("--request-timeout", "20"),
            "--no-color",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=840,
    )
    took = time.monotonic() - started
    report = run.stdout[-20000:] + run.stderr[-5000:]
    assert run.returncode == 0, f"schemathesis found failures ({took:.0f} s):\n{report}"
    # the run reached every operation, and the server stayed up through it
    assert "Tested: " in run.stdout, report
    assert client.get("/healthz").status_code == 200
