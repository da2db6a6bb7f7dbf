"""The partials the desk pushes live, rendered without a server: with `oob=True` each
carries its own out-of-band attribute (on its outermost element only), on a page load it
carries none, and the element pushed is the element a page load shows. User text is
escaped either way."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import msgspec
import pytest

from app.desk import talk_views
from app.desk.inbox import InboxRow
from app.desk.render import lock, remove, render
from app.desk.timeline import Item
from app.domain import emoji
from app.domain.enums import Permission
from app.domain.principal import Principal
from app.domain.resources import (
    ActivityOut,
    ConversationOut,
    MessageOut,
    TalkMessageOut,
    TalkOut,
)

EVIL = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"
LIVE = "9999-01-01 00:00:00.000000"
WHEN = "2024-05-01 10:00:00.000000"
ME, OTHER = "a1", "a2"

PRINCIPAL = Principal(
    customer_id="c1", agent_id=ME, username="ann", permission=Permission.ADMIN, via="token"
)
DIRECTORY = [{"id": ME, "name": "Ann", "permission": "admin"}, {"id": OTHER, "name": EVIL}]
PEER = {"type": "tel", "target": "+15550001", "target_name": EVIL, "name": "", "detail": ""}
ROOM = msgspec.convert(
    {
        "id": "r1",
        "customer_id": "c1",
        "name": EVIL,
        "detail": "",
        "status": "active",
        "reference_type": "tel",
        "reference_id": "+15550001",
        "account_id": None,
        "owner_type": "agent",
        "owner_id": OTHER,
        "tags": [EVIL],
        "team_id": None,
        "priority": "none",
        "assignment_reason": EVIL,
        "queue_position": None,
        "participants": [{"id": "p1", **PEER}],
        "contact_ids": [],
        "last_message": EVIL,
        "tm_last_message": WHEN,
        "tm_create": WHEN,
        "tm_update": WHEN,
        "tm_delete": LIVE,
    },
    ConversationOut,
)
NOW = datetime.now(UTC)
ROW = InboxRow(room=ROOM, unread=2, owner_name=EVIL, tm_activity=NOW)


def _message(direction: str, status: str) -> MessageOut:
    return msgspec.convert(
        {
            "id": f"m-{direction}",
            "conversation_id": "r1",
            "customer_id": "c1",
            "direction": direction,
            "status": status,
            "reference_type": "tel",
            "reference_id": "+15550001",
            "source_target": "+15550001",
            "source": PEER,
            "destination": PEER,
            "participant_id": "p1",
            "account_id": None,
            "text": EVIL,
            "medias": [{"type": "image/png", "url": "https://x.example/a.png", "name": EVIL}],
            "error": EVIL,
            "provider_message_id": "",
            "tm_create": WHEN,
            "tm_update": WHEN,
            "tm_delete": LIVE,
        },
        MessageOut,
    )


def _activity(kind: str) -> ActivityOut:
    return ActivityOut(
        id=f"act-{kind}",
        conversation_id="r1",
        customer_id="c1",
        kind=kind,
        agent_id=ME,
        text=EVIL,
        tm_create=WHEN,
    )


TALK = msgspec.convert(
    {
        "id": "t1",
        "customer_id": "c1",
        "type": "group",
        "name": EVIL,
        "detail": "",
        "status": "active",
        "creator_id": ME,
        "member_count": 2,
        "participants": [
            {
                "id": f"tp-{a}",
                "talk_id": "t1",
                "agent_id": a,
                "status": "active",
                "tm_joined": WHEN,
                "tm_left": None,
            }
            for a in (ME, OTHER)
        ],
        "tm_last_message": WHEN,
        "tm_create": WHEN,
        "tm_update": WHEN,
        "tm_delete": LIVE,
    },
    TalkOut,
)
TALK_ROW = talk_views.make_row(TALK, {ME: "Ann", OTHER: EVIL}, ME, 4)


def _talk_message(parent_id: str | None) -> TalkMessageOut:
    return msgspec.convert(
        {
            "id": "tm-reply" if parent_id else "tm-root",
            "talk_id": "t1",
            "customer_id": "c1",
            "agent_id": OTHER,
            "type": "normal",
            "text": EVIL,
            "parent_id": parent_id,
            "reply_count": 0 if parent_id else 1,
            "medias": [],
            "reactions": [{"emoji": "👍", "count": 1, "agent_ids": [OTHER]}],
            "tm_create": WHEN,
            "tm_update": WHEN,
            "tm_delete": LIVE,
        },
        TalkMessageOut,
    )


def _talk_message_context(parent_id: str | None, as_root: bool) -> dict:
    return {
        "m": _talk_message(parent_id),
        "names": {OTHER: EVIL},
        "principal": PRINCIPAL,
        "picker": emoji.PICKER,
        "as_root": as_root,
    }


def _item(kind: str, **fields) -> dict:
    return {"item": Item(kind=kind, tm=NOW, **fields)}


ROOM_CONTEXT = {"room": ROOM, "principal": PRINCIPAL, "directory": DIRECTORY, "owner_name": EVIL}
TALK_HEADER = {"row": TALK_ROW, "principal": PRINCIPAL, "directory": DIRECTORY}

# partial, context, how it is pushed: the container a placed partial goes into, or
# "outerHTML"/"true" for one swapped by id
PUSHED = [
    ("inbox_row.html", {"row": ROW, "current_id": "r1", "fresh": True}, "inbox-list"),
    ("unread.html", {"row": ROW}, ""),
    ("timeline_item.html", _item("message", message=_message("inbound", "done")), "timeline"),
    ("timeline_item.html", _item("message", message=_message("outbound", "failed")), "timeline"),
    ("timeline_item.html", _item("note", activity=_activity("note"), author=EVIL), "timeline"),
    ("timeline_item.html", _item("system", activity=_activity("system")), "timeline"),
    ("room_header.html", ROOM_CONTEXT, "outerHTML"),
    ("context.html", ROOM_CONTEXT, "outerHTML"),
    ("room_lost.html", {"who": EVIL}, "outerHTML"),
    ("room_gone.html", {}, "outerHTML"),
    ("viewers.html", {"others": [EVIL, "Bo"]}, "outerHTML"),
    ("talk_dot.html", {"talk_unread": 3}, "outerHTML"),
    ("talk_row.html", {"r": TALK_ROW, "current_id": "t1"}, "talk-list"),
    ("talk_header.html", TALK_HEADER, "outerHTML"),
    ("talk_message.html", _talk_message_context(None, False), "talk-stream"),
    ("talk_message.html", _talk_message_context(None, True), "talk-stream"),
    ("talk_message.html", _talk_message_context("tm-root", False), "thread-replies-tm-root"),
    ("talk_gone.html", {"why": "You are no longer in this talk"}, "outerHTML"),
    ("desk_cursor.html", {"since": 1235}, "outerHTML"),
    ("alert.html", {"error": EVIL}, "true"),
]


NO_USER_TEXT = {
    "unread.html",
    "room_gone.html",
    "talk_dot.html",
    "talk_gone.html",
    "desk_cursor.html",
}


class _Elements(HTMLParser):
    """Each element's depth and attributes, in document order."""

    VOID = {"input", "img", "br", "meta", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.elements: list[tuple[int, str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((self.depth, tag, dict(attrs)))
        if tag not in self.VOID:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag not in self.VOID:
            self.depth -= 1


def _elements(html: str) -> list[tuple[int, str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    assert parser.depth == 0, html
    return parser.elements


def _oob(html: str) -> list[tuple[int, str | None]]:
    return [(d, a["hx-swap-oob"]) for d, _, a in _elements(html) if "hx-swap-oob" in a]


def _escaped(html: str) -> None:
    assert "<script" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("template", "context", "how"),
    PUSHED,
    ids=[f"{i}-{p[0].removesuffix('.html')}" for i, p in enumerate(PUSHED)],
)
def test_a_pushed_partial_says_how_only_when_pushed(template, context, how):
    page = render(f"partials/{template}", **context)
    assert "hx-swap-oob" not in page and "data-place" not in page
    for place in ("swap", "top", "end"):
        pushed = render(f"partials/{template}", **context, oob=True, place=place)
        if how in ("outerHTML", "true"):  # swapped by id: the element itself says so
            assert _oob(pushed) == [(0, how)]
            assert pushed.replace(f' hx-swap-oob="{how}"', "", 1) == page
        else:  # placed by the page's script: the element, whole, inside its holder
            into = f' data-in="{how}"' if how else ""
            assert _oob(pushed) == [(0, "beforeend:#live-updates")]
            assert pushed == (
                f'<div hx-swap-oob="beforeend:#live-updates">'
                f'<div data-place="{place}"{into}>{page}</div></div>'
            )
        if template not in NO_USER_TEXT:
            _escaped(pushed)
    if template not in NO_USER_TEXT:
        _escaped(page)


def test_the_open_rooms_header_and_panel_are_pushed_together():
    pushed = render("partials/room_chrome.html", **ROOM_CONTEXT, oob=True)
    assert _oob(pushed) == [(0, "outerHTML"), (0, "outerHTML")]
    assert [a["id"] for d, _, a in _elements(pushed) if d == 0] == ["room-header", "context"]
    _escaped(pushed)


def test_the_connection_state_is_live_once_pushed():
    page = render("partials/conn.html")
    pushed = render("partials/conn.html", oob=True)
    assert _oob(page) == [] and 'data-state="connecting"' in page
    assert _oob(pushed) == [(0, "outerHTML")] and 'data-state="live"' in pushed


def test_removing_and_locking_name_their_elements_and_hold_none():
    for pushed, place in ((remove("row-r1", 'x"y'), "remove"), (lock("composer"), "lock")):
        elements = _elements(pushed)
        holders = [a for d, _, a in elements if d == 1]
        assert all(a["data-place"] == place for a in holders)
        assert len(elements) == 2 * len(holders)  # a wrapper and an empty holder each
    assert [a["data-id"] for d, _, a in _elements(remove("row-r1", 'x"y')) if d == 1] == [
        "row-r1",
        'x"y',
    ]
    assert render("partials/placement.html", place="remove", ids=["row-r1"]) == ""


def test_a_row_pushed_keeps_its_unread_badge_inside_it():
    """The badge is its own pushed partial too; inside a pushed row it must not carry an
    out-of-band attribute of its own (htmx would swap it separately from a form's
    answer)."""
    pushed = render("partials/inbox_row.html", row=ROW, oob=True, place="top")
    assert _oob(pushed) == [(0, "beforeend:#live-updates")]
    assert 'id="unread-r1"' in pushed
