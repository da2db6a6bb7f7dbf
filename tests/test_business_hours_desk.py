"""Admin → Business hours over plain HTTP, as a browser without JavaScript uses it: a
calendar with a lunch break and holidays typed as text, refusals in words that keep what
was typed (and name the day), the customer's default and a team's choice, and a calendar
in use that cannot be deleted. Admins only. On the in-process app: no server to wait for."""

from __future__ import annotations

import html
import re

import pytest

FORM = {
    "name": "Office",
    "time_zone": "Europe/Berlin",
    **{f"day_{d}": "9:00-12:00, 13:00–17:00" for d in range(5)},
    "day_5": "",
    "day_6": "",
    "holidays": "2026-05-01 Labour Day\n2026-12-25 yearly Christmas\n",
}


def _sign_in(client, username: str, password: str) -> None:
    client.get("/login")
    token = client.cookies["csrftoken"]
    r = client.post(
        "/login",
        data={"username": username, "password": password, "_csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    client.headers["x-csrftoken"] = token


@pytest.fixture
def desk(client, tenant):
    _sign_in(client, "acme-admin", tenant.password)
    yield client
    client.headers.pop("x-csrftoken", None)


def _post(client, path: str, data: dict | None = None):
    """A form posted as a browser does, its redirect not followed (to read where to)."""
    return client.post(path, data=data or {}, follow_redirects=False)


TEAM = {"name": "Support", "assignment_policy": "manual", "max_open": "5"}


def _form_error(page: str) -> str:
    found = re.search(r'id="form-error">([^<]*)<', page)
    return html.unescape(found.group(1)) if found else ""


def test_an_admin_keeps_business_hours_on_the_desk(desk, tenant):
    r = _post(desk, "/admin/business-hours", data=FORM)
    assert r.status_code == 303, r.text
    hours_id = r.headers["location"].split("saved=")[1].split("#")[0]
    made = desk.get(f"/v1.0/business_hours/{hours_id}", headers=tenant.admin).json()
    assert made["periods"][:2] == [
        {"day": 0, "start": "09:00", "end": "12:00"},
        {"day": 0, "start": "13:00", "end": "17:00"},
    ]
    assert len(made["periods"]) == 10
    assert made["holidays"] == [
        {"date": "2026-05-01", "yearly": False, "name": "Labour Day"},
        {"date": "2026-12-25", "yearly": True, "name": "Christmas"},
    ]
    page = desk.get("/admin/business-hours").text
    assert "Mon–Fri 09:00–12:00, 13:00–17:00" in page
    assert 'id="admin-menu-business-hours"' in page
    # the edit form shows it as typed back
    page = desk.get(f"/admin/business-hours/{hours_id}").text
    assert 'value="09:00-12:00, 13:00-17:00"' in page
    assert "2026-12-25 yearly Christmas" in page

    # refusals keep what was typed and point at the day
    bad = {**FORM, "day_2": "9 to 5"}
    r = _post(desk, f"/admin/business-hours/{hours_id}", data=bad)
    assert r.status_code == 422
    assert _form_error(r.text) == "Wednesday: “9 to 5” is not a period like 09:00-17:00."
    assert 'id="day_2" name="day_2" value="9 to 5"' in r.text
    overlapping = {**FORM, "day_3": "09:00-12:00, 11:00-13:00", "name": "<b>Office</b>"}
    r = _post(desk, f"/admin/business-hours/{hours_id}", data=overlapping)
    assert r.status_code == 422 and "two periods of Thursday overlap" in _form_error(r.text)
    assert '<div class="field invalid">\n      <label for="day_3">' in r.text
    assert "&lt;b&gt;Office&lt;/b&gt;" in r.text and "<b>Office</b>" not in r.text
    r = _post(desk, f"/admin/business-hours/{hours_id}", data={**FORM, "holidays": "2026-02-30"})
    assert r.status_code == 422 and "2026-02-30" in _form_error(r.text)

    # the customer's default, and a team's own
    r = _post(desk, "/admin/business-hours/default", data={"business_hours_id": hours_id})
    assert r.status_code == 303
    assert desk.get("/v1.0/customer", headers=tenant.admin).json()["business_hours_id"] == hours_id
    r = _post(desk, "/admin/teams", data={**TEAM, "business_hours_id": hours_id})
    assert r.status_code == 303, r.text
    team = desk.get("/v1.0/teams", headers=tenant.admin).json()["result"][0]
    assert team["business_hours_id"] == hours_id
    page = desk.get(f"/admin/teams/{team['id']}").text
    assert f'<option value="{hours_id}" selected>Office</option>' in page

    # in use: the page says by whom and offers no delete; a forced one is refused in words
    page = desk.get(f"/admin/business-hours/{hours_id}").text
    assert "the team “Support”" in page and 'id="delete-confirm"' not in page
    r = _post(desk, f"/admin/business-hours/{hours_id}/delete")
    assert r.status_code == 409 and "'Support'" in _form_error(r.text)
    # freed, it goes
    _post(desk, f"/admin/teams/{team['id']}", data={**TEAM, "business_hours_id": ""})
    _post(desk, "/admin/business-hours/default", data={"business_hours_id": ""})
    r = _post(desk, f"/admin/business-hours/{hours_id}/delete")
    assert r.status_code == 303 and "deleted=Office" in r.headers["location"]
    assert desk.get("/v1.0/business_hours", headers=tenant.admin).json()["result"] == []


def test_only_admins_see_business_hours_on_the_desk(client, tenant):
    _sign_in(client, "acme-manager", tenant.password)
    for path in ("/admin/business-hours", "/admin/business-hours/new"):
        r = client.get(path)
        assert r.status_code == 403 and "Only an admin" in r.text
    assert _post(client, "/admin/business-hours", FORM).status_code == 403
    assert client.get("/v1.0/business_hours", headers=tenant.admin).json()["result"] == []
    client.headers.pop("x-csrftoken", None)
