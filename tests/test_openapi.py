"""The OpenAPI document tells the truth: every operation describes itself and the errors it
can answer, in the envelope the server really sends; `/schema/` works with no other host.

(The schema fuzz, tests/test_openapi_fuzz.py, checks the server's answers against the
document; this module checks the document itself and the page that shows it.)"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

METHODS = ("get", "put", "post", "delete", "patch")
# Written so that this file does not match itself (the same check over every file is in
# tests/test_docs.py).
OUTSIDE_REFERENCES = re.compile(
    r"CONTRAC[T]|DESIG[N]|PROVIDERS\.md|UI\.md|\u00a7|\bseed\b|\bissue\b", re.I
)
IDEMPOTENT = {
    ("post", "/v1.0/conversations"),
    ("post", "/v1.0/conversations/{conversation_id}/participants"),
    ("post", "/v1.0/conversations/{conversation_id}/messages"),
    ("post", "/v1.0/conversation_accounts"),
    ("post", "/v1.0/teams"),
    ("post", "/v1.0/talks"),
    ("post", "/v1.0/talks/{talk_id}/participants"),
    ("post", "/v1.0/talks/{talk_id}/messages"),
    ("post", "/v1.0/conversations/{conversation_id}/notes"),
    ("post", "/v1.0/canned_responses"),
    ("post", "/v1.0/contacts"),
    ("post", "/v1.0/tags"),
    ("post", "/v1.0/business_hours"),
    ("post", "/v1.0/sla_policies"),
    ("post", "/v1.0/automation_rules"),
    ("post", "/v1.0/macros"),
}


@pytest.fixture(scope="module")
def doc(server):
    import httpx

    r = httpx.get(server.url + "/schema/openapi.json")
    assert r.status_code == 200
    return r.json()


def operations(doc):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def schemas_in(node):
    """Every JSON object in the document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from schemas_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from schemas_in(value)


def test_every_operation_is_described(doc):
    found = list(operations(doc))
    assert len(found) > 50
    for method, path, op in found:
        where = f"{method.upper()} {path}"
        assert len(op.get("description", "")) > 20, where
        assert op.get("summary"), where
        assert op.get("tags"), where
    assert "Every error has the same body" in doc["info"]["description"]


def test_nothing_refers_to_documents_outside_the_project(client):
    text = client.get("/schema/openapi.json").text
    assert not OUTSIDE_REFERENCES.findall(text)


def test_every_error_is_the_envelope_and_every_possible_status_is_listed(doc):
    responses = doc["components"]["responses"]
    for response in responses.values():
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}
        assert response["headers"]["X-Request-Id"] == {"$ref": "#/components/headers/X-Request-Id"}
    for method, path, op in operations(doc):
        where = f"{method.upper()} {path}"
        codes = {int(code) for code in op["responses"]}
        errors = {code for code in codes if code >= 400}
        for code in errors - ({503} if path == "/healthz" else set()):
            assert op["responses"][str(code)]["$ref"].startswith("#/components/responses/"), where
        params = op.get("parameters", [])
        signed_in = op.get("security") != []
        expected = set()
        if signed_in:
            expected |= {401} | ({403} if method != "get" else set())
        if method in ("post", "put", "patch"):
            expected |= {400, 413, 415}
        if "requestBody" in op:
            expected.add(422)
        if any(p["in"] == "query" for p in params):
            expected.add(400)
        if any(p["in"] == "path" for p in params):
            expected.add(404)
        if any(p["in"] in ("query", "path") for p in params):
            expected.add(422)
        assert expected <= errors, (where, sorted(expected - errors))
        idempotent = any(p["name"] == "Idempotency-Key" for p in params)
        assert idempotent == ((method, path) in IDEMPOTENT), where
        if idempotent:
            assert {400, 409, 422} <= errors, where
    # what only the services know, declared on the handlers
    paths = doc["paths"]
    assert "403" in paths["/v1.0/agents"]["get"]["responses"]  # admins only
    assert "403" in paths["/v1.0/talks"]["get"]["responses"]  # scope=all
    assert "409" in paths["/v1.0/agents"]["post"]["responses"]  # username taken
    assert "429" in paths["/auth/login"]["post"]["responses"]
    assert "503" in paths["/v1.0/conversations/setup"]["post"]["responses"]
    assert set(paths["/v1.0/talks"]["post"]["responses"]) >= {"200", "201"}
    health = paths["/healthz"]["get"]["responses"]["503"]["content"]["application/json"]
    assert health["schema"] == {"$ref": "#/components/schemas/Health"}
    # Litestar's own error shape ({"status_code", "detail", "extra"}), never sent, is gone
    shapes = [s.get("required") for s in schemas_in(doc)]
    assert ["detail", "status_code"] not in shapes


def test_credentials_are_documented_where_they_apply(doc):
    schemes = doc["components"]["securitySchemes"]
    assert schemes["BearerToken"]["scheme"] == "bearer"
    assert schemes["AccessKey"] == {
        "type": "http",
        "scheme": "AccessKey",
        "description": schemes["AccessKey"]["description"],
    }
    where = {(s.get("in"), s.get("name")) for s in schemes.values() if s["type"] == "apiKey"}
    assert where == {("query", "token"), ("cookie", "token"), ("query", "accesskey")}
    assert {name for req in doc["security"] for name in req} == set(schemes)
    paths = doc["paths"]
    assert paths["/auth/login"]["post"]["security"] == []
    assert paths["/healthz"]["get"]["security"] == []
    assert "security" not in paths["/v1.0/agents"]["get"]  # the document's default: signed in


def test_request_bodies_refuse_unknown_fields_and_say_so(client, tenant, doc):
    assert doc["components"]["schemas"]["AgentCreate"]["additionalProperties"] is False
    r = client.post(
        "/v1.0/agents",
        headers=tenant.admin,
        json={"username": "typo", "password": "long-enough", "pasword": "x"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "pasword"


def test_the_errors_the_server_sends_match_the_documented_envelope(client, tenant, doc):
    error = doc["components"]["schemas"]["Error"]["properties"]["error"]
    field_error = doc["components"]["schemas"]["FieldError"]
    answers = [
        client.get("/v1.0/agents"),  # 401
        client.get("/v1.0/agents", headers=tenant.agent),  # 403
        client.get("/v1.0/agents/nope", headers=tenant.admin),  # 404
        client.get("/v1.0/agents?page_size=0", headers=tenant.admin),  # 400 parameter
        client.post(
            "/v1.0/agents",
            headers=tenant.admin | {"Content-Type": "application/json"},
            content=b"{",
        ),  # 400 broken JSON
        client.post("/v1.0/agents", headers=tenant.admin, content=b"x=1"),  # 415
        client.post("/v1.0/agents", headers=tenant.admin, json={"username": 5}),  # 422
        client.post(
            "/v1.0/agents", headers=tenant.admin, json={"username": "admin", "password": "p"}
        ),  # 422
    ]
    assert [a.status_code for a in answers] == [401, 403, 404, 400, 400, 415, 422, 422]
    for answer in answers:
        body = answer.json()
        assert set(body) == {"error"}
        sent = body["error"]
        assert set(error["required"]) <= set(sent) <= set(error["properties"]), sent
        assert sent["status"] in error["properties"]["status"]["enum"]
        assert sent["request_id"] == answer.headers["x-request-id"]
        for field in sent.get("fields", []):
            assert set(field) == set(field_error["required"]), field


def test_the_reference_page_loads_nothing_from_other_hosts(server, client):
    page = client.get("/schema/")
    assert page.status_code == 200
    links = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page.text)
    assert links, page.text[:500]
    for link in links:
        parts = urlsplit(link)
        assert not parts.scheme or parts.netloc == urlsplit(server.url).netloc, link
        assert client.get(link).status_code == 200, link
    assert "fonts.googleapis.com" not in page.text


def test_the_reference_page_renders_offline_in_a_browser(server, browser):
    """Every request the page makes goes to this server, and Redoc draws the document."""
    context = browser.new_context()
    page = context.new_page()
    elsewhere: list[str] = []

    def only_here(route):
        if urlsplit(route.request.url).netloc != urlsplit(server.url).netloc:
            elsewhere.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", only_here)
    try:
        page.goto(server.url + "/schema/")
        # Redoc lays out the whole document (hundreds of operations) in the page: on this
        # 2-core machine with the suite's other processes busy that has taken over 20 s
        page.get_by_role("heading", name="Convodesk API").first.wait_for(timeout=60000)
        page.get_by_text("Every error has the same body").first.wait_for(timeout=5000)
    finally:
        context.close()
    assert elsewhere == []
