"""The inbound SMTP listener: customers' mail arrives here (the support domain's MX, or a
forwarding rule, points at CONVODESK_SMTP_HOST:CONVODESK_SMTP_PORT; port 0 turns it off).

aiosmtpd's SMTP protocol is served on the app's own event loop (`loop.create_server`), not
through aiosmtpd's Controller, which runs a thread with a loop of its own and could not
use the app's database pool.

`serve` binds the port once, before any worker starts (`claim`), without SO_REUSEPORT:
with it, a second Convodesk started by the same user would share the port silently and
the kernel would hand each server half of the mail, each refusing the other's addresses.
A port in use therefore stops start-up with one line. The bound socket travels to the
worker processes with the server's configuration, and every worker accepts on it
(`adopt`).

The dialogue: RCPT accepts an email account's address or a room's signed reply address
and refuses anything else (`550 5.1.1`), so we are never an open relay and a mail for
nobody is refused before its body is sent. DATA stores the mail once per account it
reached (`250 OK`); a database hiccup answers `451`, and the sending server tries again
later — the Message-ID makes a second delivery store nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import weakref
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from aiosmtpd.smtp import SMTP, Envelope, Session

from app.channels import Rejected, get_driver, hooks, mail_threads, rejected
from app.channels.account_store import AccountRow
from app.domain import storable
from app.domain.errors import ServiceError
from app.settings import Settings

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 25 * 1024 * 1024
"""What most providers accept; the SIZE we announce, and the most DATA we read."""
MAX_RECIPIENTS = 100
"""RCPTs per mail (each is a database look-up); RFC 5321 (section 4.5.3.1.8) asks for at
least 100."""
GRACE_SECONDS = 10.0
"""How long shutdown waits for mails being stored before it drops the connections."""


class MailHandler:
    """aiosmtpd's handler: its `handle_*` hooks answer the SMTP commands."""

    def __init__(self) -> None:
        self.busy = 0
        self.idle = asyncio.Event()
        self.idle.set()

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        try:
            found = await mail_threads.recipient(address)
        except Exception:  # noqa: BLE001 - the database is away: the sender retries
            log.exception("SMTP: could not look up recipient %s", address)
            return "451 4.3.0 Temporary failure, try again later"
        if found is None:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        targets: list[Any] = getattr(envelope, "convodesk_targets", [])
        targets.append(found)
        envelope.convodesk_targets = targets  # type: ignore[attr-defined]
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.busy += 1
        self.idle.clear()
        try:
            return await self._store(envelope)
        finally:
            self.busy -= 1
            if not self.busy:
                self.idle.set()

    async def _store(self, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        # One message per account the mail reached (two customers' addresses in one mail
        # are two rooms); the reply address names the room, when one was used.
        by_account: dict[str, tuple[AccountRow, list[str]]] = {}
        for target, address in zip(
            getattr(envelope, "convodesk_targets", []), envelope.rcpt_tos, strict=False
        ):
            key = str(target.account.id)
            by_account.setdefault(key, (target.account, []))[1].append(address)
        driver = get_driver("email")
        refusal = ""
        for account, addresses in by_account.values():
            try:
                try:
                    inbound = await driver.read(  # type: ignore[attr-defined]
                        raw,
                        own_address=account.address,
                        recipients=addresses,
                        envelope_sender=envelope.mail_from or "",
                    )
                except ServiceError as exc:
                    # a mail we can never store (no sender address): logged for the
                    # account's admins, and refused for good below
                    refusal = exc.message
                    refused = Rejected(reason=exc.message, raw=raw[: storable.EXCERPT_BYTES])
                    await rejected.record(account, refused)
                    continue
                if inbound is None:  # automatic mail, or this account's own: not stored
                    continue
                if not await hooks.store_inbound(account, inbound):
                    refusal = "the message could not be stored"
            except Exception:  # noqa: BLE001 - the database is away: the sender retries
                log.exception("SMTP: could not store a mail for %s", addresses)
                return "451 4.3.0 Temporary failure, try again later"
        if refusal and len(by_account) == 1:
            log.warning("SMTP: refused a mail: %s", refusal)
            return f"550 5.6.0 {storable.text(refusal)[:200]}"
        return "250 OK"


class PortInUse(Exception):
    """The SMTP port cannot be bound; the message says which and what to do."""


_adopted: socket.socket | None = None
"""The listening socket `serve` bound for this process, if any."""


def claim(host: str, port: int) -> socket.socket:
    """Bind and listen on host:port (SO_REUSEADDR only, so a port in TIME_WAIT is taken
    again but a port another server listens on is refused)."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise PortInUse(f"cannot listen for SMTP on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"the SMTP port {port} on {host} is in use; set CONVODESK_SMTP_PORT"
                " (0 turns it off)"
            ) from None
        raise PortInUse(f"cannot listen for SMTP on {host}:{port}: {exc.strerror}") from None
    sock.setblocking(False)
    return sock


def adopt(sock: socket.socket | None) -> None:
    """Serve mail on this already-listening socket (handed over by `serve`)."""
    global _adopted
    _adopted = sock


def _hostname(settings: Settings) -> str:
    """The name we greet with: the public URL's host (aiosmtpd would otherwise look up the
    FQDN for every connection)."""
    return urlsplit(settings.public_url).hostname or socket.gethostname()


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[None]:
    """Listen for mail while the app runs (nothing when CONVODESK_SMTP_PORT is 0)."""
    if not settings.smtp_port:
        yield
        return
    # aiosmtpd logs every SMTP command at INFO; our own lines say what matters
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    loop = asyncio.get_running_loop()
    handler = MailHandler()
    hostname = _hostname(settings)
    sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def factory() -> SMTP:
        protocol = SMTP(
            handler,
            data_size_limit=MAX_MESSAGE_BYTES,
            enable_SMTPUTF8=True,
            hostname=hostname,
            ident="Convodesk",
            timeout=300,
            loop=loop,
        )
        sessions.add(protocol)
        return protocol

    if _adopted is not None:
        server = await loop.create_server(factory, sock=_adopted)
    else:  # an app served without `convodesk serve`: bind here, as strictly
        server = await loop.create_server(
            factory, sock=claim(settings.smtp_host or "127.0.0.1", settings.smtp_port)
        )
    where = server.sockets[0].getsockname()
    log.info("SMTP listener on %s:%s", where[0], where[1])
    try:
        yield
    finally:
        server.close()
        # let mails being stored finish (their senders get their 250), then hang up
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(GRACE_SECONDS):
                await handler.idle.wait()
        for protocol in list(sessions):
            if protocol.transport is not None:
                protocol.transport.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await server.wait_closed()
