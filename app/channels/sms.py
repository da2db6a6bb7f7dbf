"""SMS and MMS over Twilio's Programmable Messaging wire format.

Inbound: Twilio POSTs a form (`MessageSid`, `From`, `Body`, `NumMedia`, `MediaUrl{N}` ...)
to /hooks/sms/{account_id}, signed with `X-Twilio-Signature`; delivery statuses of what we
sent come to /hooks/sms/{account_id}/status. Outbound: one POST to the Messages resource
per message, with that status URL as `StatusCallback`.

Any provider that speaks this wire format (Twilio, or a compatible API at
CONVODESK_TWILIO_API_BASE) works.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
    StatusUpdate,
    closed_reply_fields,
    csat_fields,
    hmac_matches,
    keep_if_given,
    register,
    send_refused,
    signature_field,
)
from app.domain import storable
from app.domain.channels import normalize_address
from app.domain.enums import MessageStatus, ParticipantType, ReferenceType
from app.domain.errors import BadRequest, InvalidInput, NotFound
from app.domain.inbound import InboundMessage

if TYPE_CHECKING:  # for annotations only: drivers do no database work
    from app.channels.account_store import AccountRow

log = logging.getLogger(__name__)

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_MIME = re.compile(r"^[\w.+-]+/[\w.+-]+$")
_FORM = "application/x-www-form-urlencoded"
_DEFAULT_PORT = {"https": 443, "http": 80}
MAX_MEDIA = 10
"""Twilio takes at most 10 MediaUrl per message, and sends at most 10 per MMS."""

EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
"""The answer to an incoming message: no auto-reply (agents answer from the desk)."""

# Twilio's MessageStatus values (Message resource docs) → ours. Anything else (queued,
# accepted, scheduled, sending, receiving, and whatever Twilio adds) changes nothing.
_STATUS = {
    "sent": MessageStatus.DONE,
    "delivered": MessageStatus.DONE,
    "read": MessageStatus.DONE,
    "undelivered": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}

# The delivery errors an agent meets most, as Twilio's error dictionary names them; a
# status callback carries only the code.
_ERRORS = {
    "30001": "Queue overflow",
    "30002": "Account suspended",
    "30003": "Unreachable destination handset",
    "30004": "Message blocked",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered by the carrier",
    "30008": "Unknown error",
    "30034": "Message from an unregistered number",
}


def form_params(request: HookRequest) -> list[tuple[str, str]]:
    """The request's parameters as Twilio signs them: the form body of a POST, nothing for
    any other body (Twilio signs JSON bodies differently), the query of a GET (part of the
    URL it signs, so not parameters of their own)."""
    if request.method != "POST":
        return []
    content_type = request.header("content-type").split(";", 1)[0].strip().lower()
    if content_type != _FORM:
        return []
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return []
    return parse_qsl(text, keep_blank_values=True)


def _url_forms(url: str) -> list[str]:
    """The URL as called, and with the scheme's default port made explicit or dropped:
    Twilio signs either form (its SDK checks both)."""
    forms = [url]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return forms
    default = _DEFAULT_PORT.get(parts.scheme)
    if default is None:
        return forms
    if port is None:
        forms.append(urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}")))
    elif port == default:
        forms.append(urlunsplit(parts._replace(netloc=parts.netloc.rpartition(":")[0])))
    return forms


def _orders(params: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """The orders Twilio's validators put parameters in: by name, a repeated name's values
    in the order received (the documented rule, a stable sort); and by name then value,
    each pair once (twilio-python's RequestValidator). The same list unless a name
    repeats."""
    by_name = sorted(params, key=lambda kv: kv[0])
    by_pair = sorted(set(params))
    return [by_name] if by_pair == by_name else [by_name, by_pair]


def _signed(url: str, params: list[tuple[str, str]]) -> bytes:
    """What Twilio signs: the URL, then name + value of each parameter in order."""
    return (url + "".join(name + value for name, value in params)).encode()


def _media_name(index: int, content_type: str) -> str:
    return f"media-{index}{mimetypes.guess_extension(content_type) or ''}"


def _medias(params: dict[str, str]) -> list[dict[str, str]]:
    """NumMedia / MediaUrl{N} / MediaContentType{N}: the URLs stay Twilio's (they hold the
    file; fetching them needs the account's credentials when media auth is on)."""
    try:
        count = int(params.get("NumMedia") or 0)
    except ValueError:
        count = 0
    medias = []
    for index in range(max(0, min(count, MAX_MEDIA))):
        url = params.get(f"MediaUrl{index}", "").strip()
        if not url.lower().startswith(("https://", "http://")) or len(url) > storable.MAX_URL:
            continue
        kind = params.get(f"MediaContentType{index}", "").split(";", 1)[0].strip().lower()
        if not _MIME.match(kind):
            kind = "application/octet-stream"
        medias.append({"type": kind, "url": url, "name": _media_name(index, kind)})
    return medias


def _error_text(params: dict[str, str], status: str) -> str:
    code = params.get("ErrorCode", "").strip()
    message = params.get("ErrorMessage", "").strip()
    if not code:
        return f"Twilio reports the message {status}" + (f": {message}" if message else "")
    return f"Twilio error {code}: {message or _ERRORS.get(code, f'the message was {status}')}"


def _twilio_error(response: httpx.Response) -> tuple[str, str]:
    """(code, message) of Twilio's error body {"code", "message", "more_info", "status"}."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return str(response.status_code), f"HTTP {response.status_code}"
    code = body.get("code")
    message = str(body.get("message") or f"HTTP {response.status_code}")
    return (str(code) if code is not None else str(response.status_code)), message


class SmsDriver:
    type = "sms"
    label = "SMS / MMS (Twilio)"
    fields = (
        Field(
            name="phone_number",
            label="Phone number",
            kind="tel",
            help="Your Twilio number in E.164, e.g. +15551234567: the From of replies.",
        ),
        Field(name="account_sid", label="Account SID", help="Starts with AC; Twilio console."),
        Field(
            name="messaging_service_sid",
            label="Messaging Service SID",
            required=False,
            help="Optional (MG…): send through a Messaging Service instead of the number.",
        ),
        Field(name="auth_token", label="Auth token", secret=True, kind="password"),
        signature_field("off"),
        *csat_fields(),
        *closed_reply_fields(),
    )
    address_field = "phone_number"
    hooks = {"incoming": "", "status callback": "status"}
    aliases = {"secret": "auth_token"}

    def reference_type(self, account: AccountRow) -> ReferenceType:
        return ReferenceType.MESSAGE

    def carries_media(self, account: AccountRow) -> bool:
        return True  # MMS

    def normalize(self, settings: dict[str, Any]) -> dict[str, Any]:
        settings = dict(settings)
        try:
            settings["phone_number"] = normalize_address(
                ParticipantType.TEL,
                str(settings.get("phone_number") or ""),
                runtime.settings().default_region,
            )
        except InvalidInput:
            raise InvalidInput(
                "invalid_setting",
                "`phone_number` must be your Twilio number, in E.164 like +15551234567.",
            ) from None
        account_sid = str(settings.get("account_sid") or "").strip()
        if not _ACCOUNT_SID.match(account_sid):
            raise InvalidInput(
                "invalid_setting",
                "`account_sid` must be a Twilio Account SID: AC followed by 32 hexadecimal"
                " characters (Twilio console, Account Info).",
            )
        settings["account_sid"] = account_sid
        service = str(settings.get("messaging_service_sid") or "").strip()
        if service and not _SERVICE_SID.match(service):
            raise InvalidInput(
                "invalid_setting",
                "`messaging_service_sid` must be a Messaging Service SID: MG followed by 32"
                " hexadecimal characters.",
            )
        keep_if_given(settings, "messaging_service_sid", service)
        return settings

    # --- inbound ---------------------------------------------------------------------

    def verify(self, account: AccountRow, request: HookRequest) -> bool:
        """base64(HMAC-SHA1(auth token, what Twilio signs)) in `X-Twilio-Signature`, for
        any of the URL's forms and parameter orders Twilio's own validators accept."""
        auth_token = str(account.secrets.get("auth_token") or "")
        given = request.header("x-twilio-signature")
        params = form_params(request)
        valid = False
        for url in _url_forms(request.url):
            for ordered in _orders(params):
                # no early exit: the time taken does not depend on which form matched
                valid |= hmac_matches(auth_token, _signed(url, ordered), given, digest="sha1")
        return valid

    async def parse(self, account: AccountRow, request: HookRequest) -> HookOutcome:
        if request.sub not in ("", "status"):
            raise NotFound("hook_not_found", "Twilio hooks are the account's URL and /status.")
        if request.method == "POST":
            content_type = request.header("content-type").split(";", 1)[0].strip().lower()
            if content_type != _FORM:
                raise BadRequest(
                    "invalid_body",
                    f"Twilio posts {_FORM}; this request is {content_type or 'without a type'}.",
                )
            try:
                request.body.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest("invalid_body", "The form is not UTF-8.") from None
            params = dict(form_params(request))
        else:  # Twilio's "HTTP GET" webhook option: the parameters are the query
            params = dict(request.query)
        message_sid = params.get("MessageSid", "").strip()
        answer = (
            {"status_code": 204}
            if request.sub == "status"
            else {"body": EMPTY_TWIML, "content_type": "text/xml"}
        )
        # A signed request we cannot use is refused into the rejected-inbound log and
        # answered like any other, so that Twilio does not retry it.
        if not message_sid:
            refused = Rejected(reason="the request has no MessageSid", raw=params)
            return HookOutcome(rejected=[refused], **answer)
        if request.sub == "status":
            return self._status(message_sid, params)
        sender = params.get("From", "").strip()
        if not sender:
            refused = Rejected(
                provider_event_id=message_sid, reason="the message has no From", raw=params
            )
            return HookOutcome(rejected=[refused], **answer)
        inbound = InboundMessage(
            peer=sender,
            text=params.get("Body", ""),
            medias=_medias(params),
            provider_message_id=message_sid,
            raw=storable.excerpt(params),
        )
        return HookOutcome(messages=[inbound], **answer)

    def _status(self, message_sid: str, params: dict[str, str]) -> HookOutcome:
        status = (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()
        ours = _STATUS.get(status)
        update = StatusUpdate(
            provider_message_id=message_sid,
            status=ours,
            error=_error_text(params, status) if ours is MessageStatus.FAILED else None,
        )
        return HookOutcome(statuses=[update], status_code=204)

    # --- outbound --------------------------------------------------------------------

    async def send(self, account: AccountRow, request: OutboundRequest) -> SendResult:
        settings = account.settings
        account_sid = settings.get("account_sid", "")
        auth_token = account.secrets.get("auth_token", "")
        if not account_sid or not auth_token:
            raise PermanentSendError("The SMS account has no Account SID or auth token.")
        form = [("To", request.to)]
        if settings.get("messaging_service_sid"):
            form.append(("MessagingServiceSid", settings["messaging_service_sid"]))
        else:
            form.append(("From", settings.get("phone_number", "")))
        if request.text:
            form.append(("Body", request.text))
        media = [
            m["url"]
            for m in request.medias
            if str(m.get("url", "")).lower().startswith(("https://", "http://"))
        ]
        form += [("MediaUrl", url) for url in media[:MAX_MEDIA]]
        if not request.text and not media:
            raise PermanentSendError("Nothing to send: SMS needs text or a media URL.")
        form.append(("StatusCallback", runtime.hook_url(self.type, str(account.id), "status")))
        base = runtime.settings().providers.twilio
        response = await runtime.http().post(
            f"{base}/2010-04-01/Accounts/{account_sid}/Messages.json",
            content=urlencode(form).encode(),
            headers={"Content-Type": _FORM, "Accept": "application/json"},
            auth=(account_sid, auth_token),
        )
        status = response.status_code
        if 200 <= status < 300:  # 201 Created
            try:
                sid = str(response.json().get("sid") or "")
            except (ValueError, AttributeError):
                sid = ""
            if not sid:
                # accepted all the same: sending again would send it twice
                log.warning("Twilio accepted message %s without a sid", request.message_id)
            return SendResult(provider_message_id=sid, delivered=True)
        if 300 <= status < 400:
            raise PermanentSendError(
                f"Twilio's API answered with a redirect (HTTP {status}): check"
                " CONVODESK_TWILIO_API_BASE."
            )
        code, message = _twilio_error(response)
        raise send_refused(response, f"Twilio {code}: {message}")


register(SmsDriver())
