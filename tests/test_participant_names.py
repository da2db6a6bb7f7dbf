"""The placeholder names of a room's participants ("me", "Unknown"): one definition, read
the same by the services and the desk's templates. Pure, no server."""

from __future__ import annotations

import pytest

from app.desk.render import environment
from app.domain.participants import ME, UNKNOWN, display_name, has_name, peers
from app.domain.resources import ParticipantOut


def person(target_name: str) -> ParticipantOut:
    return ParticipantOut(
        id="p", type="tel", target="+15550001111", target_name=target_name, name="", detail=""
    )


@pytest.mark.parametrize(
    ("target_name", "shown"), [("Ann", "Ann"), ("", ""), (UNKNOWN, ""), ("unknown", "unknown")]
)
def test_a_placeholder_is_no_name(target_name, shown):
    assert display_name(target_name) == shown
    assert has_name(target_name) is bool(shown)
    template = environment.from_string("[{{ n | display_name }}|{{ n | display_name or 'addr' }}]")
    assert template.render(n=target_name) == f"[{shown}|{shown or 'addr'}]"


def test_peers_leave_out_the_customers_own_address_rows_and_resources_alike():
    people = [person(ME), person("Ann"), person(UNKNOWN)]
    assert [p.target_name for p in peers(people)] == ["Ann", UNKNOWN]
    rows = [{"target_name": ME}, {"target_name": "Ann"}]
    assert peers(rows) == [{"target_name": "Ann"}]
    template = environment.from_string(
        "{% for p in people | peers %}{{ p.target_name }};{% endfor %}"
    )
    assert template.render(people=people) == f"Ann;{UNKNOWN};"
