"""LINE Messaging API.

Inbound: LINE posts `{"destination", "events": [...]}` to the account's hook, signed with
`x-line-signature` = base64(HMAC-SHA256(channel secret, raw body)). A `message` event
becomes an inbound message keyed by its `webhookEventId` (LINE redelivers with the same
id and `deliveryContext.isRedelivery`, so the inbound service stores it once); a `follow`
opens a room for the new friend. Senders are named from LINE's profile API, cached a
while so a busy chat does not ask for every message; pictures, videos, audio and files
are fetched from the content API and kept as medias.

Outbound: a push message, with `X-Line-Retry-Key` = our message id so the sender worker's
retries never deliver twice (LINE answers 409 to a retry it already accepted).

Setup: the webhook URL is registered through the API and LINE's own webhook test is run,
so `POST /v1.0/conversations/setup` both configures the channel and proves it works.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import re
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from app.channels import runtime
from app.channels.base import (
    Field,
    HookOutcome,
    HookRequest,
    OutboundRequest,
    PermanentSendError,
    Rejected,
    SendResult,
    bearer,
    closed_reply_fields,
    csat_fields,
    hmac_matches,
    keep_if_given,
    register,
    rejected,
    send_refused,
    signature_field,
)
from app.conversations import media
from app.domain import storable
from app.domain.enums import ReferenceType
from app.domain.errors import BadRequest, InvalidInput, ProviderUnavailable
from app.domain.inbound import InboundMessage

if TYPE_CHECKING:  # for annotations only: drivers do no database work
    from app.channels.account_store import AccountRow

log = logging.getLogger(__name__)

MAX_PUSH_MESSAGES = 5
"""LINE takes at most five message objects per push."""
MAX_TEXT = 5000
"""Characters in one LINE text message."""
PUSHABLE_IMAGES = ("image/jpeg", "image/png")
"""What an image message may point at; other files go out as links."""
MEDIA_MESSAGES = ("image", "video", "audio", "file")
LOOKUP_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
"""Profile and content calls happen while LINE waits for our answer to its webhook."""
CONTENT_NOT_READY_TRIES = 3
"""A video or audio may still be being prepared (LINE answers 202): ask a few times."""


# --- who is writing: display names, cached ----------------------------------------------


class _ProfileCache:
    """A small in-process cache of display names by (account, user), with expiry, so
    LINE's profile API is asked once an hour per person rather than once per message.
    Bounded: the least recently stored names go first."""

    def __init__(self, size: int = 4096, ttl: float = 3600.0, miss_ttl: float = 60.0):
        self.size, self.ttl, self.miss_ttl = size, ttl, miss_ttl
        self._names: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()

    def get(self, key: tuple[str, str]) -> str | None:
        hit = self._names.get(key)
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def put(self, key: tuple[str, str], name: str) -> None:
        # A failed lookup is remembered briefly too, so a broken profile API is not
        # called for every message of a busy chat.
        ttl = self.ttl if name else self.miss_ttl
        self._names[key] = (name, time.monotonic() + ttl)
        self._names.move_to_end(key)
        while len(self._names) > self.size:
            self._names.popitem(last=False)


_profiles = _ProfileCache()


def _auth(account: AccountRow) -> dict[str, str]:
    return bearer(account, "channel_access_token")


_CHAT_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
"""A group or room id, checked before it goes into an API path."""


def _profile_path(source: dict[str, Any], user_id: str) -> str:
    """Friends are looked up in the profile API; people in a group or multi-person chat
    (who need not be friends) through that chat's member profile API."""
    group, room = str(source.get("groupId") or ""), str(source.get("roomId") or "")
    if source.get("type") == "group" and _CHAT_ID.match(group):
        return f"/v2/bot/group/{group}/member/{user_id}"
    if source.get("type") == "room" and _CHAT_ID.match(room):
        return f"/v2/bot/room/{room}/member/{user_id}"
    return f"/v2/bot/profile/{user_id}"


async def _display_name(account: AccountRow, source: dict[str, Any], user_id: str) -> str:
    """The sender's LINE display name, or "" when LINE will not say: a missing name must
    never cost us the message."""
    key = (str(account.id), user_id)
    cached = _profiles.get(key)
    if cached is not None:
        return cached
    url = runtime.settings().providers.line + _profile_path(source, user_id)
    name = ""
    try:
        response = await runtime.http().get(url, headers=_auth(account), timeout=LOOKUP_TIMEOUT)
        if response.status_code == 200:
            name = storable.name(str(response.json().get("displayName") or ""))
        else:
            log.warning("LINE profile of %s: HTTP %s", user_id, response.status_code)
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        log.warning("LINE profile of %s: %r", user_id, exc)
    _profiles.put(key, name)
    return name


# --- what was sent: text, or content fetched from LINE -----------------------------------

_FALLBACK_TYPES = {"image": "image/jpeg", "video": "video/mp4", "audio": "audio/mp4"}


async def _download(account: AccountRow, message_id: str) -> tuple[bytes, str] | None:
    """The content of a picture, video, audio or file a user sent, with its type; None
    when LINE has none for it (expired, unsent, too large for us)."""
    url = f"{runtime.settings().providers.line_data}/v2/bot/message/{message_id}/content"
    for attempt in range(CONTENT_NOT_READY_TRIES):
        if attempt:
            await asyncio.sleep(1.0)
        async with runtime.http().stream(
            "GET", url, headers=_auth(account), timeout=LOOKUP_TIMEOUT
        ) as response:
            if response.status_code == 202:  # a video or audio still being prepared
                continue
            if response.status_code != 200:
                log.warning("LINE content %s: HTTP %s", message_id, response.status_code)
                return None
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data.extend(chunk)
                if len(data) > media.MAX_BYTES:
                    log.warning("LINE content %s: larger than we keep", message_id)
                    return None
            kind = response.headers.get("content-type", "").split(";")[0].strip()
            return bytes(data), kind
    log.warning("LINE content %s: still being prepared; kept without it", message_id)
    return None


async def _content(
    account: AccountRow, message: dict[str, Any]
) -> tuple[list[dict[str, Any]], str]:
    """The medias of an image/video/audio/file message, and a note for the text when the
    content could not be had (so the agent still sees that something was sent)."""
    kind = str(message.get("type"))
    provider = message.get("contentProvider") or {}
    if not isinstance(provider, dict):
        raise _Unreadable(f"the {kind}'s contentProvider is not an object")
    if provider.get("type") == "external":
        # Content kept elsewhere (sent by another bot or service): link it, and never
        # send our access token to a host that is not LINE.
        url = _external_url(provider.get("originalContentUrl"), kind, "originalContentUrl")
        preview = provider.get("previewImageUrl")
        if preview is not None:
            _external_url(preview, kind, "previewImageUrl")
        content_type = mimetypes.guess_type(urlsplit(url).path)[0] or _FALLBACK_TYPES.get(kind)
        return [{"type": content_type or "application/octet-stream", "url": url}], ""
    message_id = str(message.get("id") or "")
    if not re.fullmatch(r"[0-9]{1,40}", message_id):  # it goes into the content API path
        return [], f"[{kind}]"
    try:
        got = await _download(account, message_id)
    except httpx.HTTPError as exc:
        log.warning("LINE content %s: %r", message_id, exc)
        got = None
    if got is None:
        return [], f"[{kind}: not available]"
    data, content_type = got
    content_type = content_type or _FALLBACK_TYPES.get(kind, "application/octet-stream")
    name = str(message.get("fileName") or "")
    if not name:
        name = f"{kind}-{message_id}{mimetypes.guess_extension(content_type) or ''}"
    settings = runtime.settings()
    try:
        stored = await asyncio.to_thread(
            media.store, settings.data_dir, settings.public_url, name, content_type, data
        )
    except InvalidInput as exc:  # empty or too large: keep the message, say so
        return [], f"[{kind}: {exc.message}]"
    return [stored], ""


class _Unreadable(ValueError):
    """An event we refuse (into the rejected-inbound log), with the reason why."""


def _external_url(value: Any, kind: str, field: str) -> str:
    """An external content URL we can show agents as a link: https, and no longer than we
    keep. Anything else (`javascript:`, `data:`, plain http) is refused."""
    if not isinstance(value, str) or not value:
        raise _Unreadable(f"the external {kind} has no {field}")
    if len(value) > storable.MAX_URL:
        raise _Unreadable(
            f"the external {kind}'s {field} is {len(value):,} characters"
            f" (at most {storable.MAX_URL:,} are kept)"
        )
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() != "https" or not parts.hostname:
        raise _Unreadable(f"the external {kind}'s {field} is not an https URL")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise _Unreadable(f"the external {kind}'s {field} holds spaces or control characters")
    return value


def _location_text(message: dict[str, Any]) -> str:
    where = message.get("address") or message.get("title")
    if not where and "latitude" in message:
        where = f"{message.get('latitude')}, {message.get('longitude')}"
    return f"[location: {where}]" if where else "[location]"


async def _message_of(
    account: AccountRow, message: dict[str, Any]
) -> tuple[str, list[dict[str, Any]]]:
    kind = message.get("type")
    if kind == "text":
        return str(message.get("text") or ""), []
    if kind in MEDIA_MESSAGES:
        medias, note = await _content(account, message)
        return note, medias
    if kind == "sticker":
        return "[sticker]", []
    if kind == "location":
        return _location_text(message), []
    return f"[{kind or 'message'}]", []


# --- the driver ------------------------------------------------------------------------


def _error_text(response: httpx.Response) -> str:
    """LINE's error body `{"message", "details": [{"message", "property"}]}` as one line."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:300]
    text = str(body.get("message") or response.reason_phrase)
    details = [
        f"{d.get('property')}: {d.get('message')}" if d.get("property") else str(d.get("message"))
        for d in body.get("details") or []
        if isinstance(d, dict)
    ]
    return f"{text} ({'; '.join(details)})" if details else text


def _sent_id(response: httpx.Response, *header_names: str) -> str:
    """The id LINE gives a push: its first sent message's id when the body has one, else
    the request id header."""
    try:
        sent = response.json().get("sentMessages") or []
        if sent and sent[0].get("id"):
            return str(sent[0]["id"])
    except (ValueError, AttributeError):
        pass
    for name in header_names:
        if response.headers.get(name):
            return response.headers[name]
    return ""


def _push_messages(request: OutboundRequest) -> list[dict[str, Any]]:
    """The text, then the pictures LINE can show as image messages; other files (and
    pictures beyond five messages) as links in the text."""
    images = [m for m in request.medias if m.get("type") in PUSHABLE_IMAGES]
    others = [m for m in request.medias if m.get("type") not in PUSHABLE_IMAGES]

    def texts(links: list[dict[str, Any]]) -> list[str]:
        lines = [request.text.strip()] if request.text.strip() else []
        lines += [f"{m.get('name') or m.get('type')}: {m['url']}" for m in links]
        text = "\n".join(lines)
        return [text[i : i + MAX_TEXT] for i in range(0, len(text), MAX_TEXT)]

    chunks = texts(others)
    if len(chunks) + len(images) > MAX_PUSH_MESSAGES:
        room = max(MAX_PUSH_MESSAGES - len(texts(others + images)), 0)
        images, overflow = images[:room], images[room:]
        chunks = texts(others + overflow)
    if len(chunks) > MAX_PUSH_MESSAGES:
        raise PermanentSendError(
            f"The message is too long for LINE (at most {MAX_PUSH_MESSAGES * MAX_TEXT} characters)."
        )
    messages: list[dict[str, Any]] = [{"type": "text", "text": c} for c in chunks]
    messages += [
        {"type": "image", "originalContentUrl": m["url"], "previewImageUrl": m["url"]}
        for m in images
    ]
    if not messages:
        raise PermanentSendError("There is nothing to send: the message has no text or file.")
    return messages


_USER_ID = re.compile(r"^U[0-9a-f]{32}$")
"""LINE's user ids (its documentation: U followed by 32 hexadecimal digits). Checked
before one goes into a profile API path."""


def _rejected(event: Any, reason: str) -> Rejected:
    return rejected(event, reason, "webhookEventId")


class LineDriver:
    type = "line"
    label = "LINE"
    fields = (
        Field(
            name="channel_id",
            label="Channel ID",
            required=False,
            help="From the LINE Developers console (Messaging API channel, Basic settings).",
        ),
        Field(name="channel_secret", label="Channel secret", secret=True, kind="password"),
        Field(
            name="channel_access_token",
            label="Channel access token",
            secret=True,
            kind="password",
            help="A long-lived token (Messaging API tab).",
        ),
        signature_field("off"),
        *csat_fields(),
        *closed_reply_fields(),
    )
    address_field = "channel_id"
    hooks = {"webhook URL": ""}
    aliases = {"secret": "channel_secret", "token": "channel_access_token"}

    def reference_type(self, account: AccountRow) -> ReferenceType:
        return ReferenceType.LINE

    def carries_media(self, account: AccountRow) -> bool:
        return True

    def normalize(self, settings: dict[str, Any]) -> dict[str, Any]:
        settings = dict(settings)
        channel_id = str(settings.get("channel_id") or "").strip()
        if channel_id and not channel_id.isdigit():
            raise InvalidInput(
                "invalid_setting", "`channel_id` is the LINE channel's number (digits only)."
            )
        keep_if_given(settings, "channel_id", channel_id)
        return settings

    # --- inbound ---

    def verify(self, account: AccountRow, request: HookRequest) -> bool:
        """base64(HMAC-SHA256(channel secret, raw body)) in `x-line-signature`."""
        secret = account.secrets.get("channel_secret", "")
        return hmac_matches(secret, request.body, request.header("x-line-signature"))

    async def parse(self, account: AccountRow, request: HookRequest) -> HookOutcome:
        try:
            body = storable.loads(request.body)
        except storable.MalformedJson:
            raise BadRequest("malformed_body", "The body is not JSON.") from None
        if not isinstance(body, dict) or not isinstance(body.get("events"), list):
            raise BadRequest(
                "malformed_body", 'A LINE webhook body is {"destination", "events": [...]}.'
            )
        outcome = HookOutcome(messages=[], greetings=[], rejected=[])
        # An empty `events` is LINE's "Verify" button: nothing to store, answer 200.
        for event in body["events"]:
            # One event we cannot read must not cost the others: it is refused alone.
            try:
                await self._read_event(account, event, outcome)
            except (_Unreadable, InvalidInput, BadRequest) as exc:
                reason = exc.message if isinstance(exc, InvalidInput | BadRequest) else str(exc)
                outcome.rejected.append(_rejected(event, reason))
            except (ValueError, TypeError, KeyError, AttributeError, httpx.InvalidURL) as exc:
                log.warning("LINE hook %s: unreadable event: %r", account.id, exc)
                outcome.rejected.append(_rejected(event, "the event could not be read"))
        return outcome

    async def _read_event(self, account: AccountRow, event: Any, outcome: HookOutcome):
        if not isinstance(event, dict):
            raise _Unreadable("the event is not a JSON object")
        kind = event.get("type")
        if kind not in ("message", "follow"):
            return  # unfollow, join, postback, read receipts...: nothing for a room
        given = event.get("source")
        source: dict[str, Any] = given if isinstance(given, dict) else {}
        user_id = str(source.get("userId") or "")
        if not user_id:
            log.info(
                "LINE hook %s: %s event from a %s without a user id: skipped",
                account.id,
                kind,
                source.get("type", "source"),
            )
            return
        if not _USER_ID.match(user_id):
            raise _Unreadable("the event's source.userId is not a LINE user id")
        if kind == "message" and not isinstance(event.get("message"), dict):
            raise _Unreadable("the message event has no message object")
        if kind == "message" and not isinstance(event["message"].get("type"), str):
            raise _Unreadable("the message has no type")
        name = await _display_name(account, source, user_id)
        raw = storable.excerpt(event)
        if kind == "follow":
            outcome.greetings.append(InboundMessage(peer=user_id, peer_name=name, raw=raw))
            return
        message = event["message"]
        text, medias = await _message_of(account, message)
        event_id = str(event.get("webhookEventId") or "")
        outcome.messages.append(
            InboundMessage(
                peer=user_id,
                peer_name=name,
                text=text,
                medias=medias,
                # The webhookEventId is what stays the same when LINE redelivers.
                provider_message_id=event_id or f"message:{message.get('id', '')}",
                raw=raw,
            )
        )

    # --- outbound ---

    async def send(self, account: AccountRow, request: OutboundRequest) -> SendResult:
        response = await runtime.http().post(
            f"{runtime.settings().providers.line}/v2/bot/message/push",
            headers={**_auth(account), "X-Line-Retry-Key": request.message_id},
            json={"to": request.to, "messages": _push_messages(request)},
        )
        status = response.status_code
        if status == 200:
            return SendResult(provider_message_id=_sent_id(response, "x-line-request-id"))
        if status == 409 and response.headers.get("x-line-accepted-request-id"):
            # An earlier attempt with this retry key was accepted (its answer was lost).
            return SendResult(provider_message_id=_sent_id(response, "x-line-accepted-request-id"))
        raise send_refused(response, f"LINE {status}: {_error_text(response)}")

    # --- setup ---

    async def setup(self, account: AccountRow, hook_url: str) -> dict[str, Any]:
        """Register `hook_url` as the channel's webhook URL, then have LINE test it."""
        base = runtime.settings().providers.line
        await self._call("PUT", f"{base}/v2/bot/channel/webhook/endpoint", account, hook_url)
        tested = await self._call("POST", f"{base}/v2/bot/channel/webhook/test", account, hook_url)
        return {"endpoint": hook_url, "test": tested}

    async def _call(
        self, method: str, url: str, account: AccountRow, hook_url: str
    ) -> dict[str, Any]:
        try:
            response = await runtime.http().request(
                method, url, headers=_auth(account), json={"endpoint": hook_url}
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                "line_unavailable", f"LINE could not be reached: {type(exc).__name__}."
            ) from None
        if response.status_code >= 500:
            raise ProviderUnavailable(
                "line_unavailable", f"LINE failed ({response.status_code}): try again later."
            )
        if response.status_code != 200:
            raise InvalidInput(
                "line_refused",
                f"LINE refused to set the webhook URL ({response.status_code}):"
                f" {_error_text(response)}",
            )
        try:
            body = response.json()
        except ValueError:
            body = {}
        return body if isinstance(body, dict) else {}


register(LineDriver())
