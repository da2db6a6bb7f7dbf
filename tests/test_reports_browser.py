"""The Reports page in a real browser: a manager sees the charts drawn, a team filter
changes the numbers in place, the conversations CSV downloads with the filter applied, and
a number opens the rooms behind it."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import browser_kit
from playwright.sync_api import expect
from report_kit import generate


def test_a_manager_reads_filters_exports_and_follows_the_report(server, tenant, new_page, db_url):
    h = generate(db_url, tenant, rooms=200, seed=11)
    first, last = (h.end - timedelta(days=31)).date(), (h.end - timedelta(hours=1)).date()
    billing = h.teams["Billing"]
    everyone = [r for r in h.counted() if first <= r.opened.date() <= last]
    in_billing = [r for r in everyone if r.team_id == billing]
    assert 0 < len(in_billing) < len(everyone)

    page = new_page(1360, 900)
    start = f"/reports?from={first}&to={last}"
    browser_kit.sign_in(page, server.url, "acme-manager", tenant.password, start, shows="#report")
    # the charts are drawn: a bar per day and kind, 168 hours, five CSAT rows
    expect(page.locator("#chart-days svg rect.bar")).to_have_count(2 * ((last - first).days + 1))
    expect(
        page.locator("#chart-days svg rect.bar.opened:not([height='0.0'])").first
    ).to_be_visible()
    expect(page.locator("#chart-hours svg rect.cell")).to_have_count(168)
    expect(page.locator("#chart-csat .csat-bars li")).to_have_count(5)
    opened = page.locator("#card-opened .report-card-value")
    expect(opened).to_have_text(str(len(everyone)))

    # a team: the numbers change in place, and the address says so
    page.select_option("#report-team", billing)
    expect(opened).to_have_text(str(len(in_billing)))
    expect(page).to_have_url(re.compile(f"team_id={billing}"))

    # the conversations CSV follows the filter
    with page.expect_download() as download:
        page.click("#export-conversations")
    text = open(download.value.path(), encoding="utf-8").read()  # noqa: SIM115
    rows = list(csv.DictReader(io.StringIO(text)))
    expected = {
        r.id
        for r in h.counted(team_id=billing)
        if first <= r.opened.date() <= last or (r.closed and first <= r.closed.date() <= last)
    }
    assert {row["conversation_id"] for row in rows} == expected
    assert {row["team"] for row in rows} == {"Billing"}

    # a number opens the rooms behind it
    page.click("#card-opened")
    expect(page.locator("#rooms-total")).to_have_text(str(len(in_billing)))
    expect(page.locator("#report-rooms tbody tr")).to_have_count(len(in_billing))
    expect(page.locator("h1")).to_have_text("Conversations opened")
