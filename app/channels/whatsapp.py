"""WhatsApp Cloud API (Meta Graph).

Meta calls our hook two ways. A GET is the subscription handshake (`hub.mode=subscribe`,
`hub.verify_token`, `hub.challenge`): we echo the challenge when the token is the one the
account shows on its setup page. A POST is an event batch signed with the app secret
(`X-Hub-Signature-256`); it holds the customers' messages and the statuses of what we sent.
Meta redelivers anything not answered with a 200 for days, and every message carries its
wamid, so a redelivery is stored once (the inbound service dedupes on it).

Sending is one Graph call per WhatsApp message: text, or media by link (Meta fetches our
public media URL). A reply with text and files becomes several WhatsApp messages; the
first one's wamid is the one statuses are matched against.
"""

from __future__ import annotations

import hmac
import logging
import mimetypes
import secrets
from typing import TYPE_CHECKING, Any

import httpx
import msgspec

from app.channels import runtime
from app.channels.base import (
    Field,
    HookOutcome,
    HookRequest,
    OutboundRequest,
    Rejected,
    SendResult,
    StatusUpdate,
    TransientSendError,
    bearer,
    closed_reply_fields,
    csat_fields,
    hmac_matches,
    register,
    rejected,
    send_refused,
    signature_field,
)
from app.conversations import media
from app.domain import storable
from app.domain.channels import normalize_address
from app.domain.enums import MessageStatus, ParticipantType, ReferenceType
from app.domain.errors import BadRequest, Forbidden, InvalidInput, NotFound, ServiceError
from app.domain.inbound import InboundMessage

if TYPE_CHECKING:  # for annotations only: drivers do no database work
    from app.channels.account_store import AccountRow

log = logging.getLogger(__name__)

# Graph error codes that mean "later" rather than "never" (Meta's error-code reference:
# throttling, pair rate limits, temporary unavailability).
RETRYABLE_CODES = frozenset({2, 4, 80007, 130429, 131048, 131056, 133004})
TEXT_LIMIT = 4096  # characters in a text message body
CAPTION_LIMIT = 1024  # characters in a media caption
STATUS_OF = {
    "sent": MessageStatus.DONE,
    "delivered": MessageStatus.DONE,
    "read": MessageStatus.DONE,
    "failed": MessageStatus.FAILED,
}
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
# What Cloud API takes as each media type by link; anything else goes as a document.
SEND_AS = {
    "image/jpeg": "image",
    "image/png": "image",
    "video/mp4": "video",
    "video/3gpp": "video",
    "audio/aac": "audio",
    "audio/amr": "audio",
    "audio/mpeg": "audio",
    "audio/mp4": "audio",
    "audio/ogg": "audio",
}
CAPTIONED = ("image", "video", "document")


class GraphUnavailable(ServiceError):
    """Graph could not hand over an inbound file just now: answering 503 makes Meta
    redeliver the batch later (what was already stored is not stored twice)."""

    status_code = 503


# --- the webhook's JSON, as Meta documents it (unknown fields are ignored) -------------


class _Profile(msgspec.Struct):
    name: str = ""


class _Contact(msgspec.Struct):
    wa_id: str = ""
    profile: _Profile = msgspec.field(default_factory=_Profile)


class _Metadata(msgspec.Struct):
    phone_number_id: str = ""
    display_phone_number: str = ""


class _Error(msgspec.Struct):
    code: int | None = None
    title: str = ""
    message: str = ""


class _Text(msgspec.Struct):
    body: str = ""


class _Media(msgspec.Struct):
    id: str = ""
    mime_type: str = ""
    caption: str = ""
    filename: str = ""


class _Location(msgspec.Struct):
    latitude: float | None = None
    longitude: float | None = None
    name: str = ""
    address: str = ""


class _Name(msgspec.Struct):
    formatted_name: str = ""


class _Phone(msgspec.Struct):
    phone: str = ""


class _Email(msgspec.Struct):
    email: str = ""


class _Card(msgspec.Struct):
    name: _Name = msgspec.field(default_factory=_Name)
    phones: list[_Phone] = []
    emails: list[_Email] = []


class _Button(msgspec.Struct):
    text: str = ""
    payload: str = ""


class _Reply(msgspec.Struct):
    id: str = ""
    title: str = ""
    description: str = ""


class _Interactive(msgspec.Struct):
    type: str = ""
    button_reply: _Reply | None = None
    list_reply: _Reply | None = None


class _Reaction(msgspec.Struct):
    message_id: str = ""
    emoji: str = ""


class _Message(msgspec.Struct):
    id: str
    type: str
    from_: str = msgspec.field(name="from", default="")
    text: _Text | None = None
    image: _Media | None = None
    document: _Media | None = None
    audio: _Media | None = None
    video: _Media | None = None
    sticker: _Media | None = None
    location: _Location | None = None
    contacts: list[_Card] = []
    interactive: _Interactive | None = None
    button: _Button | None = None
    reaction: _Reaction | None = None
    errors: list[_Error] = []


class _Status(msgspec.Struct):
    id: str
    status: str
    errors: list[_Error] = []


# The envelope (`object`, `entry[].changes[]`, `value`) is walked by hand and each message,
# status and contact is read on its own: one malformed message must not cost the others.


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _rejected(raw: Any, reason: str) -> Rejected:
    return rejected(raw, reason, "id")


def _error_text(errors: list[_Error]) -> str:
    if not errors:
        return "WhatsApp: the message could not be delivered"
    first = errors[0]
    return f"WhatsApp {first.code}: {first.title or first.message}"


# --- reading an inbound message -------------------------------------------------------


def _readable(message: _Message) -> str:
    """The text an agent reads for a message that is not plain text or a file."""
    if message.type == "location" and message.location is not None:
        loc = message.location
        where = ", ".join(p for p in (loc.name, loc.address) if p)
        point = f"{loc.latitude},{loc.longitude}"
        link = f"https://maps.google.com/?q={point}"
        return f"Location: {where} ({link})" if where else f"Location: {link}"
    if message.type == "contacts":
        cards = []
        for card in message.contacts:
            reach = [p.phone for p in card.phones if p.phone]
            reach += [e.email for e in card.emails if e.email]
            name = card.name.formatted_name or "(no name)"
            cards.append(f"{name}: {', '.join(reach)}" if reach else name)
        return "Shared contact: " + "; ".join(cards) if cards else "Shared a contact"
    if message.type == "interactive" and message.interactive is not None:
        reply = message.interactive.button_reply or message.interactive.list_reply
        if reply is not None:
            extra = f" ({reply.description})" if reply.description else ""
            return f"{reply.title or reply.id}{extra}"
        return f"[interactive reply: {message.interactive.type}]"
    if message.type == "button" and message.button is not None:
        return message.button.text or message.button.payload
    if message.type == "reaction" and message.reaction is not None:
        if message.reaction.emoji:
            return f"Reacted {message.reaction.emoji} to a message"
        return "Removed a reaction"
    detail = f": {message.errors[0].title}" if message.errors and message.errors[0].title else ""
    return f"[WhatsApp {message.type} message, not shown here{detail}]"


def _filename(kind: str, ref: _Media, mime_type: str) -> str:
    if ref.filename:
        return ref.filename
    ext = mimetypes.guess_extension(mime_type) or ""
    if mime_type == "audio/ogg":
        ext = ".ogg"  # guess_extension gives .oga; WhatsApp voice notes are Ogg Opus
    return f"{kind}-{ref.id}{ext}"


def _bare_mime(mime_type: str) -> str:
    """`audio/ogg; codecs=opus` → `audio/ogg` (what media.store accepts as a type)."""
    return mime_type.split(";")[0].strip().lower()


class WhatsAppDriver:
    type = "whatsapp"
    label = "WhatsApp (Cloud API)"
    fields = (
        Field(
            name="phone_number_id",
            label="Phone number ID",
            help="WhatsApp > API Setup in the Meta app dashboard (not the phone number).",
        ),
        Field(
            name="display_phone_number",
            label="Phone number",
            kind="tel",
            required=False,
            help="The number customers write to, for your reference.",
        ),
        Field(
            name="verify_token",
            label="Verify token",
            required=False,
            help="Paste into Meta's webhook setup with the callback URL (made up if left empty).",
        ),
        Field(
            name="access_token",
            label="Access token",
            secret=True,
            kind="password",
            help="A system user's permanent token with whatsapp_business_messaging.",
        ),
        Field(
            name="app_secret",
            label="App secret",
            secret=True,
            kind="password",
            help="App settings > Basic: signs the webhooks Meta sends.",
        ),
        signature_field("off"),
        *csat_fields(),
        *closed_reply_fields(),
    )
    address_field = "phone_number_id"
    hooks = {"callback URL": ""}
    aliases = {"secret": "app_secret", "token": "access_token"}

    def reference_type(self, account: AccountRow) -> ReferenceType:
        return ReferenceType.WHATSAPP

    def carries_media(self, account: AccountRow) -> bool:
        return True

    def normalize(self, settings: dict[str, Any]) -> dict[str, Any]:
        settings = dict(settings)
        number_id = str(settings.get("phone_number_id") or "").strip()
        if not number_id.isdigit():
            raise InvalidInput(
                "invalid_setting",
                "`phone_number_id` is the numeric Phone number ID from WhatsApp > API Setup.",
            )
        settings["phone_number_id"] = number_id
        # Meta asks for the token when the hook is registered, so there must be one to show.
        settings["verify_token"] = str(settings.get("verify_token") or "").strip() or (
            secrets.token_urlsafe(24)
        )
        display = str(settings.get("display_phone_number") or "").strip()
        if display:
            try:
                settings["display_phone_number"] = normalize_address(
                    ParticipantType.WHATSAPP, display, runtime.settings().default_region
                )
            except InvalidInput:
                raise InvalidInput(
                    "invalid_setting", f"`display_phone_number` {display!r} is not a phone number."
                ) from None
        return settings

    # --- hooks ----------------------------------------------------------------------

    def verify(self, account: AccountRow, request: HookRequest) -> bool:
        if request.method == "GET":
            return True  # the handshake is unsigned; parse checks its verify token
        # "sha256=" + hex(HMAC-SHA256(app secret, raw body))
        given = request.header("x-hub-signature-256").strip()
        if not given.startswith("sha256="):
            return False
        secret = account.secrets.get("app_secret", "")
        return hmac_matches(secret, request.body, given[7:].lower(), encoding="hex")

    async def parse(self, account: AccountRow, request: HookRequest) -> HookOutcome:
        if request.sub:
            raise NotFound("route_not_found", "WhatsApp calls the account's hook itself.")
        if request.method == "GET":
            return self._handshake(account, request)
        try:
            body = storable.loads(request.body)
        except storable.MalformedJson:
            raise BadRequest("invalid_body", "Not a WhatsApp webhook body: not JSON.") from None
        kind = body.get("object") if isinstance(body, dict) else None
        if kind != "whatsapp_business_account":
            raise BadRequest("invalid_body", f"Not a WhatsApp Business Account webhook ({kind!r}).")
        # The envelope must be Meta's; what is inside a change is read item by item.
        entries = body.get("entry", [])
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("changes", []), list) for e in entries
        ):
            raise BadRequest("invalid_body", 'A WhatsApp webhook is {"entry": [{"changes": []}]}.')
        outcome = HookOutcome(messages=[], statuses=[], rejected=[])
        for entry in entries:
            for change in entry.get("changes", []):
                # only messages: not template, quality or account updates
                if isinstance(change, dict) and change.get("field") == "messages":
                    await self._read_change(account, change, outcome)
        return outcome

    async def _read_change(
        self, account: AccountRow, change: dict[str, Any], outcome: HookOutcome
    ) -> None:
        value = change.get("value")
        try:
            if not isinstance(value, dict):
                raise ValueError("no value object")
            metadata = msgspec.convert(value.get("metadata") or {}, _Metadata)
        except (ValueError, msgspec.ValidationError) as exc:
            outcome.rejected.append(_rejected(change, f"unreadable change: {exc}"))
            return
        own_id = str(account.settings.get("phone_number_id", ""))
        if metadata.phone_number_id != own_id:
            # One Meta app can serve several numbers; this hook is for one of them.
            log.warning(
                "whatsapp account %s: ignored a change for phone number id %r",
                account.id,
                metadata.phone_number_id[:40],
            )
            return
        names = {}
        for raw in _list(value.get("contacts")):
            try:
                contact = msgspec.convert(raw, _Contact)
            except msgspec.ValidationError:
                continue  # a name we cannot read costs only the name
            names[contact.wa_id] = contact.profile.name
        for raw in _list(value.get("messages")):
            try:
                message = msgspec.convert(raw, _Message)
                outcome.messages.append(await self._inbound(account, message, names, raw))
            except msgspec.ValidationError as exc:
                outcome.rejected.append(_rejected(raw, f"unreadable message: {exc}"))
            except ServiceError as exc:
                if exc.status_code >= 500:  # Graph away: Meta's redelivery will find it
                    raise
                outcome.rejected.append(_rejected(raw, exc.message))
        for raw in _list(value.get("statuses")):
            try:
                status = msgspec.convert(raw, _Status)
            except msgspec.ValidationError as exc:
                outcome.rejected.append(_rejected(raw, f"unreadable status: {exc}"))
                continue
            outcome.statuses.append(
                StatusUpdate(
                    provider_message_id=status.id,
                    status=STATUS_OF.get(status.status),
                    error=_error_text(status.errors) if status.status == "failed" else None,
                )
            )

    def _handshake(self, account: AccountRow, request: HookRequest) -> HookOutcome:
        query = dict(request.query)
        expected = str(account.settings.get("verify_token") or "")
        given = query.get("hub.verify_token", "")
        if (
            query.get("hub.mode") != "subscribe"
            or not expected
            or not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
        ):
            raise Forbidden(
                "invalid_verify_token",
                "hub.verify_token does not match this account's verify token.",
            )
        return HookOutcome(body=query.get("hub.challenge", "").encode(), content_type="text/plain")

    async def _inbound(
        self, account: AccountRow, message: _Message, names: dict[str, str], raw: Any
    ) -> InboundMessage:
        text, medias = "", []
        if message.type == "text" and message.text is not None:
            text = message.text.body
        elif message.type in MEDIA_TYPES and getattr(message, message.type) is not None:
            ref: _Media = getattr(message, message.type)
            text = ref.caption
            stored, problem = await self._fetch_media(account, message.type, ref)
            if stored is not None:
                medias.append(stored)
            else:
                note = f"[{message.type} could not be fetched from WhatsApp: {problem}]"
                text = f"{text}\n{note}" if text else note
        else:
            text = _readable(message)
        return InboundMessage(
            peer=message.from_,
            peer_name=names.get(message.from_, ""),
            text=text,
            medias=medias,
            provider_message_id=message.id,
            raw=storable.excerpt(raw),
        )

    async def _fetch_media(
        self, account: AccountRow, kind: str, ref: _Media
    ) -> tuple[dict[str, Any] | None, str]:
        """Download an inbound file (URL lookup, then the file, both with the token) and
        store it. Returns (media, "") or (None, why) when it can never be had; raises
        GraphUnavailable when it may be had later."""
        if not ref.id.isdigit():  # it goes into a Graph path
            return None, f"unusable media id {ref.id[:40]!r}"
        settings = runtime.settings()
        providers = settings.providers
        auth = bearer(account, "access_token")
        client = runtime.http()
        try:
            lookup = await client.get(
                f"{providers.whatsapp}/{providers.whatsapp_version}/{ref.id}", headers=auth
            )
            if lookup.status_code != 200:
                return self._media_refused(lookup)
            info = lookup.json()
            size = int(info.get("file_size") or 0)
            if size > media.MAX_BYTES:
                return None, f"the file is {size} bytes; at most {media.MAX_BYTES} are kept"
            chunks, total = [], 0
            async with client.stream("GET", str(info["url"]), headers=auth) as download:
                if download.status_code != 200:
                    await download.aread()
                    return self._media_refused(download)
                async for chunk in download.aiter_bytes():
                    total += len(chunk)
                    if total > media.MAX_BYTES:
                        return None, f"the file is over {media.MAX_BYTES} bytes"
                    chunks.append(chunk)
        except (httpx.HTTPError, OSError) as exc:
            raise GraphUnavailable(
                "provider_unavailable", f"WhatsApp media could not be fetched: {exc!r}"
            ) from None
        except (ValueError, KeyError, TypeError, AttributeError):
            return None, "Graph answered without a media URL"
        mime_type = _bare_mime(info.get("mime_type") or ref.mime_type)
        try:
            stored = media.store(
                settings.data_dir,
                settings.public_url,
                _filename(kind, ref, mime_type),
                mime_type,
                b"".join(chunks),
            )
        except InvalidInput as exc:
            return None, exc.message
        return stored, ""

    @staticmethod
    def _media_refused(response: httpx.Response) -> tuple[None, str]:
        if response.status_code == 429 or response.status_code >= 500:
            raise GraphUnavailable(
                "provider_unavailable",
                f"WhatsApp media could not be fetched now (HTTP {response.status_code}).",
            )
        code, message = _graph_error(response)
        return None, f"WhatsApp {code}: {message}"

    # --- sending --------------------------------------------------------------------

    async def send(self, account: AccountRow, request: OutboundRequest) -> SendResult:
        providers = runtime.settings().providers
        number_id = account.settings.get("phone_number_id", "")
        url = f"{providers.whatsapp}/{providers.whatsapp_version}/{number_id}/messages"
        auth = bearer(account, "access_token")
        first = ""
        for body in _bodies(request):
            wamid = await _post(url, auth, body)
            first = first or wamid
        return SendResult(provider_message_id=first, delivered=True)


def _bodies(request: OutboundRequest) -> list[dict[str, Any]]:
    """The WhatsApp messages one reply becomes: the text as the first file's caption when
    that file takes one, else as text messages first; then one message per file."""
    base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": request.to}
    files = []
    for item in request.medias:
        mime_type = _bare_mime(str(item.get("type") or ""))
        kind = SEND_AS.get(mime_type, "document")
        part: dict[str, Any] = {"link": item["url"]}
        if kind == "document":
            part["filename"] = item.get("name") or item["url"].rsplit("/", 1)[-1]
        files.append((kind, part))
    text = request.text if request.text.strip() else ""
    if text and files and files[0][0] in CAPTIONED and len(text) <= CAPTION_LIMIT:
        files[0][1]["caption"] = text
        text = ""
    bodies = [
        {**base, "type": "text", "text": {"body": chunk, "preview_url": False}}
        for chunk in _chunks(text)
    ]
    bodies += [{**base, "type": kind, kind: part} for kind, part in files]
    return bodies


def _chunks(text: str) -> list[str]:
    return [text[i : i + TEXT_LIMIT] for i in range(0, len(text), TEXT_LIMIT)] if text else []


def _graph_error(response: httpx.Response) -> tuple[Any, str]:
    """(code, message) of a Graph error answer; the HTTP status when it is not JSON."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    code = error.get("code", f"HTTP {response.status_code}")
    return code, str(error.get("message") or response.reason_phrase or "error")


async def _post(url: str, auth: dict[str, str], body: dict[str, Any]) -> str:
    response = await runtime.http().post(url, headers=auth, json=body)
    if response.status_code == 200:
        try:
            return str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise TransientSendError("WhatsApp answered 200 without a message id") from None
    code, message = _graph_error(response)
    # `code` is whatever the body said: only an int can be one of the codes (and be hashed)
    temporary = isinstance(code, int) and code in RETRYABLE_CODES
    raise send_refused(response, f"WhatsApp {code}: {message}", temporary=temporary)


register(WhatsAppDriver())
