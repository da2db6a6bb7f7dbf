"""Bad input of every kind gets a clear 4xx in the error envelope — never a 500."""

from __future__ import annotations

import json

import httpx
from conftest import assert_error

JSON = {"content-type": "application/json"}


def test_each_bad_input_class_has_its_own_clear_error(client, tenant):
    h = tenant.admin | JSON
    cases = [
        (b'{"username": "a", ', 400, "malformed_json"),
        (b"\xff\xfe not utf8", 400, "malformed_json"),
        (b'{"username": 5, "password": "long-enough"}', 422, "invalid_body"),
        (b'{"username": "x1", "password": "long-enough", "admin": true}', 422, "invalid_body"),
        (b'{"username": "x1"}', 422, "invalid_body"),
        (b"[1, 2, 3]", 422, "invalid_body"),
        (b'"just a string"', 422, "invalid_body"),
        (b"", 400, "missing_body"),
    ]
    for body, status, reason in cases:
        error = assert_error(client.post("/v1.0/agents", headers=h, content=body), status, reason)
        if reason == "invalid_body":
            assert error["fields"], error


def test_field_errors_name_the_field(client, tenant):
    h = tenant.admin
    e = assert_error(
        client.post("/v1.0/agents", headers=h, json={"username": "ok1", "pasword": "x"}), 422
    )
    assert {f["field"] for f in e["fields"]} == {"pasword"}
    e = assert_error(client.post("/v1.0/agents", headers=h, json={"username": "ok1"}), 422)
    assert {f["field"] for f in e["fields"]} == {"password"}
    e = assert_error(
        client.post("/v1.0/agents", headers=h, json={"username": 7, "password": "long-enough"}),
        422,
    )
    assert {f["field"] for f in e["fields"]} == {"username"}


def test_oversized_bodies_are_413_however_they_arrive(client, tenant, server):
    # `server`: a chunked body is a matter of the wire, which only a server process has
    big = json.dumps({"username": "a" * (1 << 20), "password": "long-enough"}).encode()
    h = tenant.admin | JSON
    assert_error(client.post("/v1.0/agents", headers=h, content=big), 413, "body_too_large")

    def chunks():
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    assert_error(client.post("/v1.0/agents", headers=h, content=chunks()), 413, "body_too_large")
    # and the server is fine afterwards
    assert client.get("/v1.0/agents", headers=tenant.admin).status_code == 200


def test_wrong_content_type_is_415(client, tenant):
    r = client.post("/v1.0/agents", headers=tenant.admin, data={"username": "x"})
    assert_error(r, 415, "unsupported_media_type")
    r = client.post(
        "/auth/login",
        headers={"content-type": "text/plain"},
        content=b'{"username":"a","password":"b"}',
    )
    assert_error(r, 415, "unsupported_media_type")


def test_unknown_routes_methods_and_parameters(client, tenant):
    assert_error(client.get("/v1.0/nothing-here", headers=tenant.admin), 404, "route_not_found")
    assert_error(client.patch("/v1.0/agents", headers=tenant.admin), 405, "method_not_allowed")
    for params in ({"page_size": "lots"}, {"page_size": 0}, {"page_size": 101}):
        assert_error(
            client.get("/v1.0/agents", headers=tenant.admin, params=params),
            400,
            "invalid_parameter",
        )
    assert_error(
        client.get("/v1.0/agents", headers=tenant.admin, params={"page_token": "yesterday"}),
        400,
        "invalid_page_token",
    )


def test_request_id_is_in_the_header_the_body_and_the_log(client, tenant, server):
    r = client.get("/v1.0/agents/00000000-0000-0000-0000-000000000000", headers=tenant.admin)
    error = assert_error(r, 404, "agent_not_found")
    assert error["status"] == "NOT_FOUND"
    ok = client.get("/healthz")
    assert len(ok.headers["x-request-id"]) == 32
    assert ok.headers["x-request-id"] != r.headers["x-request-id"]
    import time

    for _ in range(50):
        if error["request_id"] in server.output():
            break
        time.sleep(0.1)
    assert "404" in server.output().split(error["request_id"])[0].splitlines()[-1]


def test_text_fields_are_stored_as_given_and_returned_as_json(client, tenant):
    nasty = '<script>alert("x")</script> \u202e emoji 🎉 quote " backslash \\'
    r = client.post(
        "/v1.0/agents",
        headers=tenant.admin,
        json={"username": "nasty", "password": "long-enough", "name": nasty, "detail": nasty},
    )
    assert r.status_code == 201
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["name"] == nasty


def test_openapi_schema_and_browsable_page(client):
    schema = client.get("/schema/openapi.json")
    assert schema.status_code == 200
    doc = schema.json()
    assert doc["info"]["title"] == "Convodesk API"
    for path in (
        "/auth/login",
        "/v1.0/agents",
        "/v1.0/agents/{agent_id}",
        "/v1.0/accesskeys",
        "/v1.0/customer",
        "/healthz",
    ):
        assert path in doc["paths"], path
    assert "BearerToken" in doc["components"]["securitySchemes"]
    page = client.get("/schema/")
    assert page.status_code == 200
    assert "/static/vendor/redoc/redoc.standalone.js" in page.text
    assert client.get("/static/vendor/redoc/redoc.standalone.js").status_code == 200


def test_healthz_reports_the_database(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_goes_away():
    from conftest import ServerProcess, admin_sql, cli_env, migrated_database

    url = migrated_database("convodesk_gone")
    env = cli_env(DATABASE_URL=url)
    srv = ServerProcess(env).wait_ready()
    try:
        name = url.rsplit("/", 1)[1]
        admin_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        r = httpx.get(srv.url + "/healthz", timeout=10)
        assert r.status_code == 503
        assert r.json() == {"status": "unavailable", "database": "unreachable"}
    finally:
        srv.stop()


def test_an_unreachable_database_stops_start_up_with_one_clear_line():
    from conftest import cli_env, run_cli

    done = run_cli(
        "serve", env=cli_env(DATABASE_URL="postgresql://postgres@127.0.0.1:1/nothing"), timeout=60
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("convodesk: cannot reach the database")
    assert "127.0.0.1:1" in last
