"""The web chat widget's visitors: who they are (a signed token, no cookie and no row),
what they write, what they may read back, and the email address they may leave.

A visitor is a random id, a participant target on the webchat channel. The widget keeps
its token (HMAC of account id + visitor id under the secret key) in the host page's
localStorage and sends it with every call, so a page reload — or another tab — is the
same visitor. Nothing is stored for a visitor until they write or leave their email; then
they are a participant like any other peer, and everything goes through the one inbound
entry point (`messages.receive`, `messages.greet`).

What a visitor may see is exactly the webchat messages to and from their own participant
(in the rooms where they are one): never internal notes (activities, not messages), never
what other people in the same room wrote or were sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid

import msgspec

from app.channels import accounts, get_driver, runtime
from app.channels.account_store import AccountRow
from app.conversations import message_store as messages_store
from app.conversations import messages
from app.conversations import store as conversations_store
from app.core import events
from app.core.events import last_event_id, pruned_through
from app.csat import service as csat
from app.domain.channels import normalize_address
from app.domain.enums import Direction, ParticipantType, ReferenceType
from app.domain.errors import Forbidden, InvalidInput, Unauthenticated
from app.domain.inbound import InboundMessage
from app.domain.origins import same_origin
from app.domain.participants import visitor_label
from app.domain.resources import MessageOut
from app.domain.timefmt import LIVE

WEBCHAT = ReferenceType.WEBCHAT.value
MAX_TEXT = 5000
HISTORY_LIMIT = 200
MAX_REPLAY = 20_000
"""A websocket resuming further back than this many of the customer's events starts live
instead and tells the widget to reload its history (bounded work for one reconnect)."""
AGENT_NAME = "Support"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_VISITOR_ID = re.compile(r"^wv-[0-9a-f]{32}$")


# --- shapes ---------------------------------------------------------------------------


class VisitorMessage(msgspec.Struct, kw_only=True):
    """A message as the visitor sees it: no addresses, no account, no internal fields."""

    id: str
    client_id: str
    """The widget's own id for a message the visitor wrote (to match its pending bubble);
    "" for replies."""
    author: str
    """"visitor" or "agent"."""
    sender_name: str
    text: str
    medias: list[dict[str, str]]
    status: str
    tm_create: str


class Session(msgspec.Struct, kw_only=True):
    visitor_id: str
    token: str


class History(msgspec.Struct, kw_only=True):
    messages: list[VisitorMessage]
    cursor: str
    """The event id the history is current up to: the websocket's `since`."""
    survey: csat.WidgetSurvey | None = None
    """A satisfaction survey waiting for the visitor's rating (the widget's card)."""


class Rated(msgspec.Struct, kw_only=True):
    rating: int
    comment: str


class Identity(msgspec.Struct, kw_only=True):
    name: str
    email: str


# --- the account and the calling page ---------------------------------------------------


async def open_account(account_id: str, origin: str | None) -> AccountRow:
    """The live web chat account a widget call names, when the calling page may use it:
    a page whose origin the account's `allowed_origins` lists (any page when it is empty).
    A call without an Origin is not a browser's cross-site call and proves nothing either
    way, so it is let through — the token is what protects a visitor's data."""
    account = await accounts.account_for_hook(WEBCHAT, account_id)
    if origin and not origin_allowed(account, origin):
        raise Forbidden("origin_not_allowed", "This website may not use this chat widget.")
    return account


def origin_allowed(account: AccountRow, origin: str) -> bool:
    """Scheme, host and port must all match a listed site (`https://shop.example` is not
    `http://shop.example`, nor `https://shop.example:8443`)."""
    allowed = get_driver(WEBCHAT).allowed_origins(account)  # type: ignore[attr-defined]
    return not allowed or any(same_origin(origin, site) for site in allowed)


def widget_config(account: AccountRow) -> dict[str, str]:
    """Everything the widget script needs to start: where to call, and how to look."""
    return {
        "base": runtime.settings().public_url,
        "account_id": str(account.id),
        **get_driver(WEBCHAT).widget_config(account),  # type: ignore[attr-defined]
    }


# --- visitors and their tokens ---------------------------------------------------------


def _signature(account_id: str, visitor_id: str) -> str:
    key = runtime.settings().require_secret_key().encode()
    mac = hmac.new(key, f"convodesk-webchat|{account_id}|{visitor_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def token_for(account_id: str, visitor_id: str) -> str:
    return f"{visitor_id}.{_signature(account_id, visitor_id)}"


def visitor_of(account: AccountRow, token: str | None) -> str:
    """The visitor a token names, if it was issued for this account; else 401."""
    visitor_id, _, signature = (token or "").partition(".")
    expected = _signature(str(account.id), visitor_id) if _VISITOR_ID.match(visitor_id) else ""
    if not expected or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise Unauthenticated(
            "invalid_visitor_token", "This chat session is not valid here; start a new one."
        )
    return visitor_id


def start_session(account: AccountRow, token: str | None) -> Session:
    """The visitor a valid token names (a reload, another tab), or a new one. A token that
    does not check out is refused (401), so the widget knows to drop it and start over."""
    if token:
        visitor_id = visitor_of(account, token)
    else:
        visitor_id = f"wv-{secrets.token_hex(16)}"
    return Session(visitor_id=visitor_id, token=token_for(str(account.id), visitor_id))


# --- what the visitor writes and reads -----------------------------------------------


def _check_text(text: str) -> str:
    if not text.strip():
        raise InvalidInput("empty_message", "Write something before sending.")
    if len(text) > MAX_TEXT:
        raise InvalidInput("message_too_long", f"A message may be up to {MAX_TEXT} characters.")
    return text


async def _known_name(customer_id: uuid.UUID, visitor_id: str) -> str:
    """The name the visitor left earlier (kept on their participant), if any."""
    return await conversations_store.latest_name_of_address(
        customer_id, ParticipantType.WEBCHAT.value, visitor_id
    )


async def post_message(
    account: AccountRow, visitor_id: str, text: str, client_id: str, page: str | None = None
) -> VisitorMessage:
    """Store what the visitor wrote through the one inbound entry point. The widget's
    `client_id` makes a resend after a network failure the same message (stored once)."""
    text = _check_text(text)
    if not _CLIENT_ID.match(client_id):
        raise InvalidInput("invalid_client_id", "client_id: 1-64 letters, digits, _ or -.")
    received = await messages.receive(
        account,
        InboundMessage(
            peer=visitor_id,
            peer_name=await _known_name(account.customer_id, visitor_id),
            # until they leave a name: "Visitor from <the page's host>", not their token
            peer_label=visitor_label(page),
            text=text,
            provider_message_id=f"{visitor_id}:{client_id}",
        ),
        default_region=runtime.settings().default_region,
    )
    shown = visitor_message(received.message, visitor_id)
    assert shown is not None  # an inbound webchat message from this visitor is theirs
    return shown


async def identify(
    account: AccountRow, visitor_id: str, name: str, email: str, page: str | None = None
) -> Identity:
    """The visitor's name and email address join their room (opened now if they have not
    written yet; or, when an open room already has that address, the visitor joins it), so
    an agent can continue by email."""
    name = " ".join(name.split())[:100]
    try:
        email = normalize_address(ParticipantType.EMAIL, email)
    except InvalidInput:
        raise InvalidInput("invalid_email", "That does not look like an email address.") from None
    await messages.greet(
        account,
        InboundMessage(
            peer=visitor_id,
            peer_name=name,
            peer_label=visitor_label(page),
            identities=[{"type": ParticipantType.EMAIL.value, "target": email, "name": name}],
        ),
        default_region=runtime.settings().default_region,
    )
    return Identity(name=name, email=email)


async def visitor_rooms(customer_id: str, visitor_id: str) -> set[str]:
    """The rooms the visitor is (or was) a participant of."""
    return await conversations_store.rooms_of_address(
        customer_id, ParticipantType.WEBCHAT.value, visitor_id
    )


async def history(account: AccountRow, visitor_id: str) -> History:
    """The visitor's latest messages, oldest first, and the event id they are current up
    to (read first: whatever commits after it comes over the websocket)."""
    customer_id = str(account.customer_id)
    cursor = await last_event_id(customer_id)
    rooms = await visitor_rooms(customer_id, visitor_id)
    rows = []
    if rooms:
        rows = await messages_store.latest_with_address(
            list(rooms), WEBCHAT, visitor_id, HISTORY_LIMIT
        )
    shown = [visitor_message(messages.message_out(r), visitor_id) for r in reversed(rows)]
    return History(
        messages=[m for m in shown if m is not None],
        cursor=str(cursor),
        survey=await csat.widget_survey(account, visitor_id) if rooms else None,
    )


async def rate(
    account: AccountRow, visitor_id: str, survey_id: str, rating: int, comment: str
) -> Rated:
    """The visitor's answer to the survey card (`csat.answer_widget`: theirs only, once)."""
    out = await csat.answer_widget(account, visitor_id, survey_id, rating, comment)
    return Rated(rating=out.rating, comment=out.comment)


def visitor_message(message: MessageOut, visitor_id: str) -> VisitorMessage | None:
    """The visitor's view of a message, or None when it is not one of theirs: the webchat
    messages to or from their own participant, nothing else of the room."""
    if (
        message.reference_type != WEBCHAT
        or message.reference_id != visitor_id
        or message.tm_delete != LIVE
    ):
        return None
    mine = message.direction == Direction.INBOUND.value
    client_id = ""
    if mine and message.provider_message_id.startswith(visitor_id + ":"):
        client_id = message.provider_message_id[len(visitor_id) + 1 :]
    return VisitorMessage(
        id=message.id,
        client_id=client_id,
        author="visitor" if mine else "agent",
        sender_name="" if mine else AGENT_NAME,
        text=message.text,
        medias=[{"type": m.type, "url": m.url, "name": m.name} for m in message.medias],
        status=message.status,
        tm_create=message.tm_create,
    )


async def resume_point(customer_id: str, since: int | None) -> tuple[int | None, bool]:
    """Where a widget websocket starts: (since, False) to replay what it missed; or
    (None, True) — start live, and the widget reloads its history — when `since` is
    further back than MAX_REPLAY of the customer's events, from before events that
    retention pruned, or ahead of the stream (an id from another database)."""
    if since is None:
        return None, False
    last = await last_event_id(customer_id)
    if since > last or since < await pruned_through(customer_id):
        return None, True
    if await events.count_after(customer_id, since, MAX_REPLAY + 1) > MAX_REPLAY:
        return None, True
    return since, False
