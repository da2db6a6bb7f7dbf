"""Who may see an event, and a room: one rule, pure, no server."""

from __future__ import annotations

import pytest

from app.domain.enums import Permission
from app.domain.principal import Principal, may_see_event, may_see_room, room_audience

ME, OTHER = "a-me", "a-other"


def who(permission: Permission) -> Principal:
    return Principal(
        customer_id="c", agent_id=ME, username="me", permission=permission, via="token"
    )


AGENT, MANAGER, ADMIN = who(Permission.AGENT), who(Permission.MANAGER), who(Permission.ADMIN)


def test_room_audience_is_its_owners_or_everyone_once_unassigned():
    assert room_audience(OTHER) == [OTHER]
    assert room_audience(OTHER, ME) == [OTHER, ME]  # handed over: the one before hears it
    assert room_audience(None) == []
    assert room_audience(None, OTHER) == []  # unassigned now: everyone


@pytest.mark.parametrize(
    ("principal", "audience", "sees"),
    [
        (AGENT, [], True),
        (AGENT, [ME], True),
        (AGENT, [OTHER], False),
        (AGENT, [OTHER, ME], True),
        (MANAGER, [OTHER], True),
        (ADMIN, [OTHER], True),
    ],
)
def test_conversation_events_admins_and_managers_see_past_the_audience(principal, audience, sees):
    assert may_see_event(principal, "conversation_updated", audience) is sees


@pytest.mark.parametrize("principal", [AGENT, MANAGER, ADMIN])
def test_talk_events_stay_among_their_participants_admins_included(principal):
    assert may_see_event(principal, "talk_message_created", [ME, OTHER])
    assert not may_see_event(principal, "talk_message_created", [OTHER])
    assert not may_see_event(principal, "talk_message_created", [])


@pytest.mark.parametrize("principal", [AGENT, MANAGER, ADMIN])
@pytest.mark.parametrize("owner", [None, ME, OTHER])
def test_a_room_is_seen_exactly_when_its_events_are(principal, owner):
    sees = may_see_room(principal, owner)
    assert sees is may_see_event(principal, "conversation_updated", room_audience(owner))
    assert sees is (principal.permission is not Permission.AGENT or owner in (None, ME))
