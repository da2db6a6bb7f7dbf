"""Email text as a room shows it: quoted history trimmed, HTML made readable, replies'
subjects, reply addresses and References. Plain functions over strings."""

from __future__ import annotations

import uuid

import pytest

from app.channels import mime

pytestmark = pytest.mark.pure
SECRET = "reply-secret-" + "s" * 32


@pytest.mark.parametrize(
    ("mail", "kept"),
    [
        (  # Gmail / Apple Mail / Thunderbird attribution, then the quote
            "Thanks, that works!\n\n"
            "On Mon, 3 Jun 2024 at 10:00, Acme Support <support@acme.example> wrote:\n"
            "> Try turning it off and on.\n> Regards",
            "Thanks, that works!",
        ),
        (  # the attribution wrapped over two lines
            "Hi\nOn Mon, 3 Jun 2024 at 10:00, Acme Support\n<support@acme.example> wrote:\n> old",
            "Hi",
        ),
        (  # Outlook's "Original Message"
            "Sounds good.\n\n-----Original Message-----\nFrom: Acme\nSent: Monday\n\nold text",
            "Sounds good.",
        ),
        (  # Outlook's rule and header block
            "See below\n________________________________\nFrom: Acme <a@b.c>\nSent: Monday\nold",
            "See below",
        ),
        ("New text\n\n> quoted at the end\n> more", "New text"),
    ],
)
def test_quoted_history_goes(mail, kept):
    assert mime.trim_quoted(mail) == kept


@pytest.mark.parametrize(
    "mail",
    [
        "> question one\nmy answer one\n> question two\nmy answer two",  # answers inline
        "> only a quote",  # nothing of the writer's own would remain
        "Plain text, no history at all.",
    ],
)
def test_what_is_not_clearly_history_stays(mail):
    assert mime.trim_quoted(mail) == mail


def test_html_becomes_readable_text_without_scripts():
    html = (
        "<p>Hello <b>there</b></p><script>alert(1)</script><style>p{}</style>"
        '<p>Visit <a href="https://x.example">us</a></p><blockquote>old</blockquote>'
    )
    assert mime.html_to_text(html) == "Hello there\n\nVisit us (https://x.example)\n\n> old"


def test_reply_subjects_never_stack_re():
    assert mime.reply_subject("Re: RE: re:Help", threaded=True) == "Re: Help"
    assert mime.reply_subject("Help  me", threaded=False) == "Help me"
    assert mime.reply_subject("", threaded=True) == "Re:"


def test_a_reply_address_names_its_room_only_under_our_secret():
    room = str(uuid.uuid4())
    address = mime.reply_address(SECRET, room, "acme.example")
    assert address.startswith("reply+") and address.endswith("@acme.example")
    assert mime.room_of_address(SECRET, address) == room
    assert mime.room_of_address(SECRET, address.upper()) == room  # MTAs may change case
    assert mime.room_of_address("another-secret-" + "x" * 32, address) is None
    assert mime.room_of_address(SECRET, "support@acme.example") is None
    assert mime.room_of_address(SECRET, "reply+" + "0" * 52 + "@acme.example") is None


def test_references_keep_the_first_and_the_latest_ids():
    ids = [f"{i}@x" for i in range(30)]
    kept = mime.bounded_references(ids)
    assert len(kept) == mime.MAX_REFERENCES == 20
    assert kept[0] == "<0@x>" and kept[1:] == [f"<{i}@x>" for i in range(11, 30)]
    assert mime.message_ids("<a@b> junk <c@d>") == ["<a@b>", "<c@d>"]
    assert mime.message_ids(None) == []
