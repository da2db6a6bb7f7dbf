"""Email: inbound by our SMTP listener (or raw MIME posted by a relay to the hook),
outbound through the account's SMTP relay.

Threading: every mail we send has a Message-ID of ours (stored as
the message's provider id), In-Reply-To/References citing the room's earlier mails, and a
Reply-To of `reply+<token>@<our domain>` naming the room. A customer's reply finds its
room by that address first, then by In-Reply-To/References (`conversations.messages`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import aiosmtplib

from app.channels import mime, runtime
from app.channels.base import (
    Field,
    HookOutcome,
    HookRequest,
    OutboundRequest,
    PermanentSendError,
    Rejected,
    SendResult,
    TransientSendError,
    closed_reply_fields,
    csat_fields,
    register,
    signature_field,
)
from app.conversations import media
from app.domain import storable
from app.domain.channels import normalize_address
from app.domain.enums import ParticipantType, ReferenceType
from app.domain.errors import BadRequest, InvalidInput
from app.domain.inbound import InboundMessage

if TYPE_CHECKING:  # for annotations only: drivers do no database work
    from app.channels.account_store import AccountRow

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 20.0
"""Seconds for each step of a relay conversation (the sender allows 30 for the whole)."""
HOOK_TYPES = ("message/rfc822", "text/plain", "application/octet-stream", "")
# Names a browser would run or render as a page if the media URL served them inline: kept
# as .txt so a mailed attachment can never become a page on our own origin.
_ACTIVE = (".html", ".htm", ".xhtml", ".shtml", ".svg", ".xml", ".js", ".mjs", ".xsl")
_ACTIVE_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "text/xml")


class EmailDriver:
    type = "email"
    label = "Email"
    fields = (
        Field(
            name="address",
            label="Email address",
            kind="email",
            help="The support address customers write to; point its domain's MX (or a"
            " forwarding rule) at this server's SMTP port.",
        ),
        Field(name="from_name", label="From name", required=False, help="e.g. Acme Support"),
        Field(name="smtp_host", label="SMTP relay host", help="Where replies are sent from."),
        Field(name="smtp_port", label="SMTP relay port", kind="number", default="587"),
        Field(
            name="smtp_security",
            label="SMTP security",
            kind="select",
            choices=("starttls", "tls", "none"),
            default="starttls",
        ),
        Field(name="smtp_username", label="SMTP username", required=False),
        Field(
            name="smtp_password",
            label="SMTP password",
            secret=True,
            kind="password",
            required=False,
        ),
        Field(
            name="hook_secret",
            label="Inbound hook secret",
            secret=True,
            kind="password",
            required=False,
            help="For relays that POST raw MIME to the hook URL (HTTP Basic password).",
        ),
        signature_field("below"),
        *csat_fields(),
        *closed_reply_fields(),
    )
    address_field = "address"
    hooks = {"raw MIME hook (optional)": ""}
    aliases = {"secret": "smtp_password"}
    threads = True

    def reference_type(self, account: AccountRow) -> ReferenceType:
        return ReferenceType.EMAIL

    def carries_media(self, account: AccountRow) -> bool:
        return True

    def normalize(self, settings: dict[str, Any]) -> dict[str, Any]:
        settings = dict(settings)
        address = normalize_email(str(settings.get("address") or ""), "address")
        if address.partition("@")[0].startswith(mime.REPLY_PREFIX):
            raise InvalidInput(
                "invalid_setting",
                f"`address` may not start with {mime.REPLY_PREFIX!r}: those addresses are"
                " the reply addresses of rooms.",
            )
        settings["address"] = address
        raw_port = str(settings.get("smtp_port") or "").strip()
        if not raw_port.isdigit() or not 1 <= int(raw_port) <= 65535:
            raise InvalidInput("invalid_setting", "`smtp_port` must be a port, 1 to 65535.")
        settings["smtp_port"] = str(int(raw_port))
        host = str(settings.get("smtp_host") or "").strip()
        if not host or any(c.isspace() for c in host) or "/" in host:
            raise InvalidInput("invalid_setting", "`smtp_host` must be a host name or address.")
        settings["smtp_host"] = host
        if settings.get("from_name"):
            settings["from_name"] = " ".join(str(settings["from_name"]).split())
        return settings

    # --- inbound ----------------------------------------------------------------------

    def verify(self, account: AccountRow, request: HookRequest) -> bool:
        """HTTP Basic auth whose password is the account's hook secret (any user name).
        Without a hook secret the hook is closed: mail then comes only by SMTP."""
        secret = str(account.secrets.get("hook_secret") or "")
        if not secret:
            return False
        scheme, _, value = request.header("authorization").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        _user, colon, password = decoded.partition(":")
        return bool(colon) and hmac.compare_digest(password.encode(), secret.encode())

    async def parse(self, account: AccountRow, request: HookRequest) -> HookOutcome:
        content_type = request.header("content-type").split(";")[0].strip().lower()
        if content_type not in HOOK_TYPES:
            raise BadRequest(
                "unsupported_content_type",
                "Post the raw message as message/rfc822 (or text/plain, application/octet-stream).",
            )
        if not request.body.strip():
            raise BadRequest("empty_body", "The request holds no message.")
        try:
            inbound = await self.read(request.body, own_address=account.address)
        except BadRequest as exc:  # signed, but not a mail we can store: logged, answered
            refused = Rejected(reason=exc.message, raw=request.body[: storable.EXCERPT_BYTES])
            outcome = _json_outcome({"accepted": True, "stored": False, "reason": exc.message}, [])
            outcome.rejected = [refused]
            return outcome
        if inbound is None:
            body = {"accepted": True, "stored": False, "reason": "automatic mail ignored"}
            return _json_outcome(body, [])
        return _json_outcome({"accepted": True, "stored": True}, [inbound])

    async def read(
        self,
        raw: bytes,
        *,
        own_address: str,
        recipients: list[str] | None = None,
        envelope_sender: str = "",
    ) -> InboundMessage | None:
        """One raw mail as an inbound message, its files stored; None for automatic mail
        (bounces, out-of-office replies) and for our own mail coming back (`own_address`,
        the account's: a relay looping it), which are accepted and dropped. `recipients`
        are the envelope's (the SMTP listener's); the hook reads them from the headers.
        BadRequest when no sender can be read. Parsing and writing the files run in a
        thread: a mail with large attachments must not hold up the event loop."""
        settings = runtime.settings()
        return await asyncio.to_thread(
            _inbound,
            raw,
            own_address.lower(),
            recipients,
            envelope_sender,
            settings.require_secret_key(),
            settings.data_dir,
            settings.public_url,
        )

    # --- outbound ---------------------------------------------------------------------

    async def send(self, account: AccountRow, request: OutboundRequest) -> SendResult:
        conf = account.settings
        secrets = account.secrets
        address = str(conf["address"]).lower()
        domain = mime.domain_of(address)
        settings = runtime.settings()
        message_id = f"<{request.message_id}@{domain}>"
        attachments, links = await asyncio.to_thread(
            _outgoing_files, request.medias, settings.public_url, settings.data_dir
        )
        reply_to = ""
        if request.conversation_id:
            reply_to = mime.reply_address(
                settings.require_secret_key(), request.conversation_id, domain
            )
        subject = request.subject or f"Message from {conf.get('from_name') or address}"
        message = mime.build_reply(
            from_address=address,
            from_name=str(conf.get("from_name") or ""),
            to=request.to,
            subject=subject,
            text=request.text,
            message_id=message_id,
            thread=request.thread,
            reply_to=reply_to,
            attachments=attachments,
            links=links,
        )
        security = conf.get("smtp_security") or "starttls"
        try:
            await aiosmtplib.send(
                message,
                hostname=conf["smtp_host"],
                port=int(conf.get("smtp_port") or 587),
                use_tls=security == "tls",
                start_tls=security == "starttls",
                username=conf.get("smtp_username") or None,
                password=secrets.get("smtp_password") or None,
                local_hostname=domain,
                timeout=SMTP_TIMEOUT,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise _refusal(exc.recipients[0]) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise _refusal(exc) from None
        except (aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected) as exc:
            raise TransientSendError(f"SMTP relay: {exc}") from None
        except aiosmtplib.SMTPConnectError as exc:
            raise TransientSendError(f"SMTP relay unreachable: {exc}") from None
        except aiosmtplib.SMTPException as exc:
            # what the relay does not support (STARTTLS, AUTH): the settings need a change
            raise PermanentSendError(f"SMTP relay: {exc}") from None
        except (OSError, TimeoutError) as exc:
            raise TransientSendError(f"SMTP relay unreachable: {exc}") from None
        return SendResult(provider_message_id=message_id)


register(EmailDriver())


def normalize_email(value: str, name: str) -> str:
    try:
        return normalize_address(ParticipantType.EMAIL, value)
    except InvalidInput:
        raise InvalidInput(
            "invalid_setting", f"`{name}` must be an email address, got {value!r}."
        ) from None


def _json_outcome(body: dict[str, Any], messages: list[InboundMessage]) -> HookOutcome:
    return HookOutcome(
        messages=messages, body=json.dumps(body).encode(), content_type="application/json"
    )


def _refusal(exc: aiosmtplib.SMTPResponseException) -> Exception:
    """The relay's own words; 5xx is its final answer, 4xx asks us to try later."""
    reason = f"SMTP relay answered {exc.code} {exc.message}".strip()
    if 500 <= exc.code < 600:
        return PermanentSendError(reason)
    return TransientSendError(reason)


def _inbound(
    raw: bytes,
    own_address: str,
    recipients: list[str] | None,
    envelope_sender: str,
    secret: str,
    data_dir: Path,
    public_url: str,
) -> InboundMessage | None:
    try:
        mail = mime.parse(raw)
    except RecursionError:  # parts nested thousands deep: Python's mail parser gives up
        raise BadRequest("malformed_mail", "The mail nests its parts too deeply to read.") from None
    # An empty envelope sender (`MAIL FROM:<>`) is reserved for bounces and other
    # automatic notices (RFC 5321, section 4.5.5); they are accepted and dropped like those the
    # headers give away, so they can neither open rooms nor start a mail loop.
    by_smtp = recipients is not None
    null_sender = by_smtp and envelope_sender.strip() in ("", "<>")
    if mail.automatic or null_sender:
        why = mail.automatic or "null sender"
        log.info("ignored an automatic mail (%s) from %s", why, mail.sender or "?")
        return None
    sender = mail.sender or envelope_sender.strip().lower()
    if not sender:
        raise BadRequest("no_sender", "The message has no From address.")
    if sender == own_address or (
        sender.startswith(mime.REPLY_PREFIX)
        and mime.domain_of(sender) == mime.domain_of(own_address)
    ):
        log.info("ignored a mail from our own address %s", sender)
        return None
    hint = None
    for address in recipients if recipients is not None else mail.recipients:
        hint = mime.room_of_address(secret, address)
        if hint:
            break
    medias, notes = [], []
    for item in mail.attachments:
        name, content_type = item.filename, item.content_type
        if name.lower().endswith(_ACTIVE) or content_type in _ACTIVE_TYPES:
            name, content_type = name + ".txt", "text/plain"
        try:
            medias.append(media.store(data_dir, public_url, name, content_type, item.data))
        except InvalidInput as exc:
            notes.append(f"[{item.filename} was not kept: {exc.message}]")
    text = mail.text
    if notes:
        text = (text + "\n\n" if text else "") + "\n".join(notes)
    return InboundMessage(
        peer=sender,
        peer_name=mail.sender_name,
        text=text,
        medias=medias,
        provider_message_id=mail.message_id,
        topic=mail.subject,
        raw=storable.excerpt(raw[: storable.EXCERPT_BYTES]),
        references=mail.references,
        conversation_hint=hint,
    )


def _outgoing_files(
    medias: list[dict[str, Any]], public_url: str, data_dir: Path
) -> tuple[list[mime.Attachment], list[tuple[str, str]]]:
    """Our own media files (under PUBLIC_URL/media/) go as attachments; anything else,
    or a file no longer there, as a link in the text."""
    attachments: list[mime.Attachment] = []
    links: list[tuple[str, str]] = []
    prefix = public_url + "/media/"
    for item in medias:
        url = str(item.get("url") or "")
        name = str(item.get("name") or "")
        path = None
        if url.startswith(prefix):
            key, _, filename = url[len(prefix) :].partition("/")
            path = media.path_of(data_dir, key, unquote(filename))
        if path is None:
            links.append((name, url))
            continue
        attachments.append(
            mime.Attachment(
                filename=name or path.name,
                content_type=str(item.get("type") or "application/octet-stream"),
                data=path.read_bytes(),
            )
        )
    return attachments, links
