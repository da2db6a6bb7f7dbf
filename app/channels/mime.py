"""Email as Convodesk reads and writes it: pure helpers over the standard library's
`email` package (policy.default), no I/O.

Reading: `parse(raw)` gives what a room needs from one mail — who wrote (From), what about
(Subject), the text a person typed (text/plain preferred, HTML turned into text, quoted
history trimmed), the files, and the ids that thread it (Message-ID, In-Reply-To,
References). Writing: `build_reply(...)` makes an agent's reply that threads in the
customer's mail client. Reply addresses: `reply+<token>@<domain>`, where the token names
a room and is signed with the server's secret key, so a reply finds its room even when a
mail client dropped In-Reply-To.
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, parseaddr
from html.parser import HTMLParser

MAX_TEXT = 20000
"""The longest text a message holds (as the API's); a longer mail body is cut there and
kept whole as an attachment."""
MAX_REFERENCES = 20
"""How many ids an outgoing References header holds: the thread's first and its latest
ones (RFC 5322, section 3.6.4, allows trimming the middle)."""

# --- reply addresses ---------------------------------------------------------------

REPLY_PREFIX = "reply+"
_SIGNATURE_HEX = 20  # 80 bits: plenty against guessing, short enough for a local part
_TOKEN = re.compile(rf"^[0-9a-f]{{{32 + _SIGNATURE_HEX}}}$")


def _signature(secret: str, room_hex: str) -> str:
    mac = hmac.new(secret.encode(), b"convodesk-reply:" + room_hex.encode(), hashlib.sha256)
    return mac.hexdigest()[:_SIGNATURE_HEX]


def reply_token(secret: str, room_id: str) -> str:
    """The room's id and its signature, in lower-case hex: some MTAs lower-case the
    local part, and hex survives that (52 characters, within the 64 a local part allows)."""
    room_hex = uuid.UUID(room_id).hex
    return room_hex + _signature(secret, room_hex)


def reply_address(secret: str, room_id: str, domain: str) -> str:
    return f"{REPLY_PREFIX}{reply_token(secret, room_id)}@{domain}"


def room_of_token(secret: str, token: str) -> str | None:
    """The room a token names, or None when it is not one we signed."""
    token = token.strip().lower()
    if not _TOKEN.match(token):
        return None
    room_hex, signature = token[:32], token[32:]
    if not hmac.compare_digest(signature, _signature(secret, room_hex)):
        return None
    return str(uuid.UUID(room_hex))


def room_of_address(secret: str, address: str) -> str | None:
    """The room a `reply+<token>@domain` address names, or None (not such an address, or
    a token we did not sign)."""
    local, at, _domain = address.strip().rpartition("@")
    if not at or not local.lower().startswith(REPLY_PREFIX):
        return None
    return room_of_token(secret, local[len(REPLY_PREFIX) :])


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower()


# --- message ids -------------------------------------------------------------------

_MSG_ID = re.compile(r"<[^<>\s]+>")


def message_ids(value: str | None) -> list[str]:
    """The `<id>`s in a Message-ID, In-Reply-To or References header, in order."""
    return _MSG_ID.findall(str(value or ""))


def as_message_id(value: str) -> str:
    """An id in the `<...>` form headers use (stored ids are kept in that form)."""
    value = value.strip()
    return value if value.startswith("<") else f"<{value}>"


def bounded_references(thread: list[str]) -> list[str]:
    ids = [as_message_id(i) for i in thread if i.strip()]
    if len(ids) <= MAX_REFERENCES:
        return ids
    return [ids[0], *ids[-(MAX_REFERENCES - 1) :]]


# --- HTML to text ------------------------------------------------------------------

_BLOCK = {
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
    "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table",
    "tbody", "thead", "tfoot", "tr", "ul",
}  # fmt: skip
_PARAGRAPH = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol", "pre"}
_SKIP = {"script", "style", "title", "noscript", "template", "head"}


class _TextMaker(HTMLParser):
    """Readable text from HTML: no script or style, a line break per block element,
    links as `label (url)`, blockquotes as `> ` lines (so the quote trimmer sees them)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.current_quote = 0
        self.quote = 0
        self.skip = 0
        self.pre = 0
        self.link: tuple[str, int] | None = None

    def _flush(self, *, line_break: bool = False, blank_after: bool = False) -> None:
        """End the current line; `line_break` (a <br>) ends it even when it is empty."""
        text = "".join(self.current)
        text = text.rstrip() if self.pre else re.sub(r"[ \t\r\n\f\v\u00a0]+", " ", text).strip()
        if text:
            self.lines.append("> " * self.current_quote + text)
        elif line_break:
            self.lines.append(">" * self.current_quote)
        if blank_after and self.lines and self.lines[-1] != "":
            self.lines.append("")
        self.current = []
        self.current_quote = self.quote

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            # `head` may never be closed in sloppy HTML; only its title/style/script hold
            # text, so it needs no counting of its own
            if tag != "head":
                self.skip += 1
            return
        if tag == "br":
            self._flush(line_break=True)
        elif tag in _BLOCK:
            if self.current:
                self._flush()
            if tag == "blockquote":
                self.quote += 1
            if tag == "pre":
                self.pre += 1
            self.current_quote = self.quote
            if tag == "li":
                self.current.append("- ")
            elif tag == "hr":
                self.lines.append("")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self.link = (href, len(self.current))
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self._data(f"[{alt}]")
        elif tag in ("td", "th") and self.current:
            self.current.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "img", "hr"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            if tag != "head":
                self.skip = max(0, self.skip - 1)
            return
        if tag == "a" and self.link is not None:
            href, start = self.link
            self.link = None
            label = "".join(self.current[start:]).strip()
            target = href[7:] if href.lower().startswith("mailto:") else href
            if target and href.lower().startswith(("http:", "https:", "mailto:")):
                if target not in label:
                    self.current.append(f" ({target})" if label else target)
        elif tag in _BLOCK:
            self._flush(blank_after=tag in _PARAGRAPH)
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            self.current_quote = self.quote

    def _data(self, data: str) -> None:
        if not self.current:
            self.current_quote = self.quote
        self.current.append(data)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre and "\n" in data:
            first, *rest = data.split("\n")
            self._data(first)
            for piece in rest:
                self._flush(line_break=True)
                self._data(piece)
            return
        self._data(data)

    def text(self) -> str:
        self._flush()
        out: list[str] = []
        for line in self.lines:
            if line == "" and (not out or out[-1] == ""):
                continue
            out.append(line)
        return "\n".join(out).strip()


def html_to_text(html: str) -> str:
    maker = _TextMaker()
    maker.feed(html)
    maker.close()
    return maker.text()


# --- quoted history ----------------------------------------------------------------

_ORIGINAL = re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.I)
_RULE = re.compile(r"^\s*_{20,}\s*$")  # Outlook's line above "From: ... Sent: ..."
_HEADER_FROM = re.compile(r"^\s*\**From:\**\s", re.I)
_HEADER_SENT = re.compile(r"^\s*\**(Sent|Date):\**\s", re.I)
_ON_WROTE = re.compile(r"^\s*On\s.{4,300}\swrote:\s*$", re.I)


def _is_quote(line: str) -> bool:
    return line.lstrip().startswith(">")


def _outlook_cut(lines: list[str]) -> int | None:
    """Where an Outlook-style reply header starts: `-----Original Message-----`, a rule of
    underscores before `From:`, or a `From:` line with `Sent:`/`Date:` right under it."""
    for i, line in enumerate(lines):
        if _ORIGINAL.match(line):
            return i
        following = [x for x in lines[i + 1 : i + 5] if x.strip()]
        if _RULE.match(line) and following and _HEADER_FROM.match(following[0]):
            return i
        if _HEADER_FROM.match(line) and any(_HEADER_SENT.match(x) for x in following[:3]):
            return i
    return None


def _attribution(lines: list[str]) -> tuple[int, int] | None:
    """The `On <date>, <person> wrote:` line (Gmail, Apple Mail, Thunderbird; clients wrap
    it over two lines) followed by a `>` quote: (first line, line after it)."""
    for i, line in enumerate(lines):
        if not line.lstrip().lower().startswith("on "):
            continue
        for end in (i + 1, i + 2):
            joined = " ".join(x.strip() for x in lines[i:end])
            if end <= len(lines) and _ON_WROTE.match(joined):
                rest = [x for x in lines[end:] if x.strip()]
                if rest and _is_quote(rest[0]):
                    return i, end
    return None


def trim_quoted(text: str) -> str:
    """The new part of a reply, without the history mail clients quote under it.
    Conservative: only recognised reply headers and `>` quotes go, only when something of
    the writer's own remains; inline answers between quotes and forwarded mail stay."""
    lines = [line.rstrip() for line in text.splitlines()]

    def has_text(part: list[str]) -> bool:
        return any(x.strip() and not _is_quote(x) for x in part)

    cut = _outlook_cut(lines)
    if cut is not None and has_text(lines[:cut]):
        lines = lines[:cut]
    found = _attribution(lines)
    if found is not None:
        start, end = found
        stop = end
        while stop < len(lines) and (not lines[stop].strip() or _is_quote(lines[stop])):
            stop += 1
        kept = lines[:start] + lines[stop:]
        if has_text(kept):
            lines = kept
    # a quote block at the very end (a reply written above the history)
    stop = len(lines)
    while stop > 0 and (not lines[stop - 1].strip() or _is_quote(lines[stop - 1])):
        stop -= 1
    if stop < len(lines) and any(_is_quote(x) for x in lines[stop:]) and has_text(lines[:stop]):
        lines = lines[:stop]
    result = "\n".join(lines).strip()
    return result or text.strip()


# --- reading -----------------------------------------------------------------------


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    sender: str
    """The From address (lower-cased), or "" when the mail has none we can read."""
    sender_name: str
    subject: str
    message_id: str
    """The Message-ID in `<...>` form; one made from the content when the mail has none,
    so that a second delivery of it is still recognised."""
    references: list[str]
    """In-Reply-To, then References from the nearest back."""
    recipients: list[str]
    """To, Cc, Delivered-To and X-Original-To addresses (where a reply+ token may be)."""
    text: str
    attachments: list[Attachment] = field(default_factory=list)
    automatic: str = ""
    """Why the mail is an automatic one we keep out of rooms (a bounce, an out-of-office
    reply), or ""."""


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a malformed header reads as absent
        return ""
    return " ".join(str(value or "").split())


def _automatic(msg: Message, sender: str) -> str:
    """Mail no person wrote, which must not open rooms or answer threads: bounces and
    auto-replies (an out-of-office answering our reply would otherwise reopen the room,
    and two auto-responders could write to each other forever). RFC 3834's
    `Auto-Submitted: auto-replied`, the older vendor headers, and delivery reports
    (RFC 3464, sent from MAILER-DAEMON). Other `auto-generated` mail (a customer's
    system writing to support) is kept: a person may need to read it."""
    auto = _header(msg, "Auto-Submitted").lower()
    if auto.startswith("auto-replied"):
        return "auto-reply"
    if _header(msg, "X-Autoreply").lower() == "yes" or _header(msg, "X-Autorespond"):
        return "auto-reply"
    if _header(msg, "Precedence").lower() == "auto_reply":
        return "auto-reply"
    if sender.partition("@")[0].lower() == "mailer-daemon":
        return "bounce"
    if msg.get_content_type() == "multipart/report":
        return "delivery report"
    return ""


def _decoded_text(part: Message) -> str:
    try:
        return part.get_content()  # type: ignore[attr-defined]
    except (LookupError, UnicodeError, AssertionError, KeyError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""


def _filename(part: Message, index: int) -> str:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - an unreadable name: make one up below
        name = None
    if name:
        return " ".join(str(name).split())
    ctype = part.get_content_type()
    if ctype == "message/rfc822":
        return f"message-{index}.eml"
    ext = mimetypes.guess_extension(ctype) or ".bin"
    return f"attachment-{index}{ext}"


def _leaf_bytes(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        return inner.as_bytes() if isinstance(inner, Message) else b""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _attachments(msg: Message, body: Message | None) -> list[Attachment]:
    """Every file in the mail but the body: attachments and inline images. Other text
    parts without a file name are the body's alternatives (the HTML of a text mail)."""
    found: list[Attachment] = []

    def visit(part: Message) -> None:
        ctype = part.get_content_type()
        if part.is_multipart() and ctype != "message/rfc822":
            for sub in part.get_payload():
                if isinstance(sub, Message):
                    visit(sub)
            return
        if part is body:
            return
        has_name = bool(part.get_param("filename", header="content-disposition")) or bool(
            part.get_param("name")
        )
        attached = part.get_content_disposition() == "attachment"
        if part.get_content_maintype() == "text" and not (has_name or attached):
            return
        data = _leaf_bytes(part)
        if data:
            found.append(Attachment(_filename(part, len(found) + 1), ctype, data))

    visit(msg)
    return found


def _ids(msg: Message) -> tuple[str, list[str]]:
    ids = message_ids(_header(msg, "Message-ID"))
    message_id = ids[0] if ids else ""
    refs: list[str] = []
    for ref in (
        message_ids(_header(msg, "In-Reply-To")) + message_ids(_header(msg, "References"))[::-1]
    ):
        if ref not in refs and ref != message_id:
            refs.append(ref)
    return message_id, refs[:50]


def _addresses(msg: Message, *names: str) -> list[str]:
    values: list[str] = []
    for name in names:
        try:
            values.extend(str(v) for v in msg.get_all(name) or [])
        except Exception:  # noqa: BLE001 - a malformed header is skipped
            continue
    return [addr.lower() for _, addr in getaddresses(values) if "@" in addr]


def parse(raw: bytes) -> ParsedMail:
    """What a room needs from one mail. Never raises on odd mail: what cannot be read is
    left empty (the caller refuses a mail without a sender)."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    name, sender = parseaddr(_header(msg, "From"))
    sender = sender.strip().lower() if "@" in sender else ""
    message_id, references = _ids(msg)
    try:
        body = msg.get_body(preferencelist=("plain", "html"))  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a broken structure: no body, files still read
        body = None
    text = ""
    if body is not None:
        content = _decoded_text(body)
        text = html_to_text(content) if body.get_content_subtype() == "html" else content
        text = trim_quoted(text.replace("\r\n", "\n"))
    attachments = _attachments(msg, body)
    if len(text) > MAX_TEXT:
        whole = text.encode()
        text = text[: MAX_TEXT - 80].rstrip() + "\n\n[The message was cut here; it is kept"
        text += " whole in message.txt.]"
        attachments.insert(0, Attachment("message.txt", "text/plain", whole))
    if not message_id:
        digest = hashlib.sha256(
            "\n".join([sender, _header(msg, "Date"), _header(msg, "Subject"), text]).encode()
        ).hexdigest()[:32]
        message_id = f"<{digest}@no-message-id.invalid>"
    return ParsedMail(
        sender=sender,
        sender_name=" ".join(name.split())[:255],
        subject=_header(msg, "Subject"),
        message_id=message_id,
        references=references,
        recipients=_addresses(msg, "To", "Cc", "Delivered-To", "X-Original-To"),
        text=text,
        attachments=attachments,
        automatic=_automatic(msg, sender),
    )


# --- writing -----------------------------------------------------------------------


def reply_subject(subject: str, threaded: bool) -> str:
    """`Re: <subject>` for a reply, never `Re: Re:`."""
    subject = " ".join(subject.split())
    if not threaded:
        return subject
    while re.match(r"^re\s*:\s*", subject, re.I):
        subject = re.sub(r"^re\s*:\s*", "", subject, count=1, flags=re.I)
    return f"Re: {subject}" if subject else "Re:"


def build_reply(
    *,
    from_address: str,
    from_name: str,
    to: str,
    subject: str,
    text: str,
    message_id: str,
    thread: list[str],
    reply_to: str = "",
    attachments: list[Attachment] = (),  # type: ignore[assignment]
    links: list[tuple[str, str]] = (),  # type: ignore[assignment]
    date: datetime | None = None,
) -> EmailMessage:
    """An agent's message as a mail that threads: In-Reply-To the latest mail of the
    room, References its thread, Reply-To the room's reply address."""
    msg = EmailMessage(policy=policy.default)
    msg["From"] = Address(display_name=" ".join(from_name.split()), addr_spec=from_address)
    msg["To"] = to
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = reply_subject(subject, bool(thread))
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = message_id
    references = bounded_references(thread)
    if references:
        msg["In-Reply-To"] = references[-1]
        msg["References"] = " ".join(references)
    body = text
    if links:
        listed = "\n".join(f"{name}: {url}" if name else url for name, url in links)
        body = f"{body}\n\n{listed}" if body.strip() else listed
    msg.set_content(body or "")
    for item in attachments:
        maintype, _, subtype = item.content_type.partition("/")
        if not subtype or maintype in ("message", "multipart"):
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(item.data, maintype=maintype, subtype=subtype, filename=item.filename)
    return msg
