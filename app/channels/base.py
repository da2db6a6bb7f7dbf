"""What every channel driver provides, and the registry that finds one by account type.

A driver knows one provider: the fields an account of that type is configured with (by
the names the provider uses), how to verify and parse the provider's webhook into inbound
messages and delivery statuses, and how to send an outbound message. Drivers do no
database work: `channels.hooks` hands what they parse to the one inbound entry point,
`conversations.messages.receive`, and the sender worker records what `send` returns.

Below the types are the pieces several drivers need alike (checking an HMAC-signed hook,
a bearer token, an optional setting, refusing one event, reading a refused send), so each
provider's rule about them is written once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING, Any, Literal, Protocol

import httpx
import msgspec

from app.domain import csat
from app.domain.closed_reply import DEFAULT_TEXT
from app.domain.enums import MessageStatus, ReferenceType
from app.domain.inbound import InboundMessage
from app.domain.retry import retry_after

if TYPE_CHECKING:  # for annotations only: drivers do no database work
    from app.channels.account_store import AccountRow


class Field(msgspec.Struct, frozen=True, kw_only=True):
    """One thing an account of a type is configured with, named as the provider names it
    (Twilio's `account_sid`, LINE's `channel_secret`). Secrets are write-only."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    kind: str = "text"
    """The form input: text, password, email, tel, number, url, select, textarea."""
    choices: tuple[str, ...] = ()
    default: str = ""
    help: str = ""


def signature_field(default: str) -> Field:
    """The `signature` setting every account type has: whether agents' replies sent from
    the account get the agent's signature appended (`below`) or not (`off`). Default
    `below` for email, `off` for chat-like channels (a signature on every SMS or LINE
    message is noise); the loopback's default follows the channel it stands in for
    (app/canned/signatures.py)."""
    return Field(
        name="signature",
        label="Agent signature",
        kind="select",
        # no default: "" (shown as "—") means "as the channel it stands in for"
        choices=("below", "off") if default else ("", "below", "off"),
        default=default,
        required=False,
        help="Append the replying agent's signature (from their profile) below each reply.",
    )


def csat_fields() -> tuple[Field, ...]:
    """The satisfaction survey settings every account type has: whether a room whose
    customer last wrote on this account gets a survey when it closes (`csat`, off by
    default), what it asks (`csat_question`) and how long after the close
    (`csat_delay`, seconds). Checked by `domain.csat.normalized`."""
    return (
        Field(
            name="csat",
            label="Satisfaction survey",
            kind="select",
            choices=("off", "on"),
            default="off",
            required=False,
            help="When a conversation closes, ask the customer to rate it (1-5) on the"
            " channel they last used.",
        ),
        Field(
            name="csat_question",
            label="Survey question",
            kind="textarea",
            default=csat.DEFAULT_QUESTION,
            required=False,
            help="Over SMS, LINE and WhatsApp the customer answers with a number; email"
            " carries a link, web chat shows buttons.",
        ),
        Field(
            name="csat_delay",
            label="Survey delay (seconds)",
            kind="number",
            default="0",
            required=False,
            help="How long after the close the survey goes out (0 to 604800, a week).",
        ),
    )


def closed_reply_fields() -> tuple[Field, Field]:
    """The out-of-hours reply every account type has: when a customer writes while the
    room's business hours are closed, `closed_reply` `on` answers once per closed period
    with `closed_reply_text` (app/business_hours/closed_reply.py). No default is stored:
    absent is off, and an empty text is the default (`domain.closed_reply`)."""
    return (
        Field(
            name="closed_reply",
            label="Reply when closed",
            kind="select",
            choices=("off", "on"),
            required=False,
            help="Answer a customer who writes outside business hours, once per closed"
            " period, with the text below.",
        ),
        Field(
            name="closed_reply_text",
            label="Closed reply",
            kind="textarea",
            required=False,
            help=f"{{{{next_open}}}} becomes when you open next. Empty: “{DEFAULT_TEXT}”",
        ),
    )


class HookRequest(msgspec.Struct, kw_only=True):
    """A provider's call to one of our hooks, as the driver needs it to verify and parse."""

    method: str
    url: str
    """The URL the provider called, as it called it: CONVODESK_PUBLIC_URL + path + query
    (Twilio signs it)."""
    sub: str = ""
    """What follows /hooks/{type}/{account_id}/ (Twilio's `status` callback), else ""."""
    headers: dict[str, str]
    """Header names lower-cased."""
    query: list[tuple[str, str]] = []
    body: bytes = b""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


class StatusUpdate(msgspec.Struct, kw_only=True):
    """A provider's word on an outbound message it took earlier."""

    provider_message_id: str
    status: MessageStatus | None
    """DONE (sent/delivered/read), FAILED, or None when it changes nothing for us
    (queued, sending)."""
    error: str | None = None


class Rejected(msgspec.Struct, kw_only=True):
    """An event in a verified webhook that cannot become a message (malformed, or a value
    we refuse, such as a `javascript:` media URL): kept in the rejected-inbound log, and
    the provider is answered 2xx so that it stops redelivering it."""

    provider_event_id: str = ""
    """The provider's id of the event, when it has one ("" otherwise)."""
    reason: str
    """Short and stable, for people: "the image URL is not https"."""
    raw: Any = None
    """The event as received (JSON-like, or text): its excerpt goes into the log."""


class HookOutcome(msgspec.Struct, kw_only=True):
    """What a driver read from one webhook call, and what to answer the provider."""

    messages: list[InboundMessage] = []
    statuses: list[StatusUpdate] = []
    greetings: list[InboundMessage] = []
    """People to open (or find) a room for without a message: LINE's `follow` event."""
    rejected: list[Rejected] = []
    """Events of the call that the driver could not read."""
    status_code: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


class OutboundRequest(msgspec.Struct, kw_only=True):
    """One message for a driver to send."""

    message_id: str
    to: str
    """The peer's address on this channel (E.164, email address, LINE user id, ...)."""
    text: str
    medias: list[dict[str, Any]]
    conversation_id: str
    attempt: int
    subject: str = ""
    """For drivers with `threads = True`: the room's name (an email's Subject)."""
    thread: list[str] = []
    """For drivers with `threads = True` (email): the provider ids of the room's earlier
    messages on this account, oldest first — an email's In-Reply-To and References."""


class SendResult(msgspec.Struct, kw_only=True):
    provider_message_id: str
    delivered: bool = True
    """True when the provider has taken the message for good (the message becomes `done`);
    False when a later status callback from the provider decides."""


class TransientSendError(Exception):
    """Worth retrying: a timeout, a 429 or a 5xx."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PermanentSendError(Exception):
    """The provider refused the message for good; `reason` is shown to the agent."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def send_refused(
    response: httpx.Response, reason: str, *, temporary: bool = False
) -> TransientSendError | PermanentSendError:
    """What a provider's refusal of a send means, for the driver to raise: a 429 or 5xx
    (or `temporary`, when the provider's own error code says "later") is retried, no
    sooner than its `Retry-After` asks; anything else is final."""
    if temporary or response.status_code == 429 or response.status_code >= 500:
        return TransientSendError(reason, retry_after(response.headers.get("retry-after")))
    return PermanentSendError(reason)


def rejected(event: Any, reason: str, id_field: str) -> Rejected:
    """An event refused alone, under the provider's id of it (`event[id_field]`) when the
    event is an object that has a string there."""
    event_id = event.get(id_field) if isinstance(event, dict) else None
    return Rejected(
        provider_event_id=event_id if isinstance(event_id, str) else "", reason=reason, raw=event
    )


def hmac_matches(
    secret: str,
    message: bytes,
    given: str,
    *,
    digest: Literal["sha1", "sha256"] = "sha256",
    encoding: Literal["base64", "hex"] = "base64",
) -> bool:
    """Whether `given` is the HMAC of `message` keyed with `secret`, written as the
    provider writes it (base64, or lower-case hex); False without a secret or a
    signature. The comparison takes the same time wherever the two differ."""
    if not secret or not given:
        return False
    mac = hmac.new(secret.encode(), message, getattr(hashlib, digest)).digest()
    expected = base64.b64encode(mac) if encoding == "base64" else mac.hex().encode()
    return hmac.compare_digest(expected, given.strip().encode("utf-8", "replace"))


def bearer(account: AccountRow, secret: str) -> dict[str, str]:
    """The Authorization header of a provider API called with the account's token."""
    return {"Authorization": f"Bearer {account.secrets.get(secret, '')}"}


def keep_if_given(settings: dict[str, Any], name: str, value: str) -> None:
    """An optional setting: stored when given, gone (not kept empty) when blank."""
    if value:
        settings[name] = value
    else:
        settings.pop(name, None)


class Driver(Protocol):
    type: str
    """The account type it serves (`sms`, `line`, `loopback`, ...)."""
    label: str
    """What the setup pages call it ("SMS / MMS (Twilio)")."""

    @property
    def fields(self) -> tuple[Field, ...]:
        """The settings and secrets an account of this type holds (read-only here, so a
        driver's tuple of exactly its fields fits)."""
        ...

    address_field: str
    """The setting that is the account's own address (its phone number, mailbox...), or
    "" when the provider gives it none."""
    hooks: dict[str, str]
    """The hook URLs to paste into the provider's console, by label, as what follows
    /hooks/{type}/{account_id}: {"incoming": ""} for the hook itself; Twilio adds
    {"status callback": "status"}."""
    # Optional: `aliases` {"secret": field, "token": field} (VoIPBIN's names for the main
    # secret and token); `normalize(settings) -> settings` (raise InvalidInput);
    # `async setup(account, hook_url) -> dict` (register our hook with the provider);
    # `threads = True` to be given `OutboundRequest.thread`.

    def reference_type(self, account: AccountRow) -> ReferenceType:
        """The channel this account carries messages on."""
        ...

    def carries_media(self, account: AccountRow) -> bool: ...

    async def send(self, account: AccountRow, request: OutboundRequest) -> SendResult: ...

    def verify(self, account: AccountRow, request: HookRequest) -> bool:
        """Whether the request really comes from the provider (its signature checks out)."""
        ...

    async def parse(self, account: AccountRow, request: HookRequest) -> HookOutcome:
        """The messages and statuses in a verified request. May call the provider (LINE's
        profile and content APIs). BadRequest when the body is not the provider's format."""
        ...


_DRIVERS: dict[str, Driver] = {}


def register(driver: Driver) -> Driver:
    _DRIVERS[driver.type] = driver
    return driver


def get_driver(account_type: str) -> Driver:
    try:
        return _DRIVERS[account_type]
    except KeyError:
        raise LookupError(f"no channel driver for account type {account_type!r}") from None


def registered_types() -> list[str]:
    return sorted(_DRIVERS)
