"""Channel accounts: the customer's connections to providers (a Twilio number, a LINE
channel, a mailbox, a WhatsApp number, a web chat widget).

The conversation services find accounts here; admins create, edit and delete them through
the API and the setup pages. What an account of each type holds is the driver's `fields`:
settings are shown, secrets are write-only (only their names come back, as `secrets_set`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx

from app.audit import log as audit
from app.channels import (
    Field,
    OutboundRequest,
    PermanentSendError,
    TransientSendError,
    get_driver,
    registered_types,
    runtime,
)
from app.channels import account_store as accounts_store
from app.channels.account_store import AccountRow
from app.core.events import transaction
from app.core.ids import found, parse_id
from app.domain import csat
from app.domain.channels import PARTICIPANT_FOR_REFERENCE, normalize_address
from app.domain.enums import ReferenceType
from app.domain.errors import Conflict, InvalidInput, NotFound
from app.domain.principal import Principal, require_admin
from app.domain.resources import (
    AccountCreate,
    AccountOut,
    AccountTest,
    AccountTestResult,
    AccountUpdate,
    ConversationSetup,
    ConversationSetupResult,
)
from app.domain.timefmt import LIVE, fmt, now, parse

TEST_SEND_TIMEOUT = 20.0
log = logging.getLogger(__name__)


async def get_account(customer_id: str, account_id: str) -> AccountRow:
    account_id = parse_id(account_id, "account_not_found", "channel account")
    return _found(await accounts_store.live_of_customer_by_id(customer_id, account_id))


async def account_for_hook(account_type: str, account_id: str) -> AccountRow:
    """The live account a provider hook names in its URL. The id in the URL is what ties
    the call to a customer; the driver's signature check is what makes it trustworthy."""
    account_id = parse_id(account_id, "account_not_found", "channel account")
    if account_type not in registered_types():  # anything else (even a NUL) matches nothing
        account_type = ""
    return _found(await accounts_store.live_by_type_and_id(account_type, account_id))


def _found(account: AccountRow | None) -> AccountRow:
    """The account a lookup or a write found (a deleted one is not: it may have gone
    between the read and the write)."""
    return found(account, "account_not_found", "channel account")


async def account_by_address(account_type: str, address: str) -> AccountRow | None:
    """The live account of a type with this address (the SMTP listener's recipient)."""
    return await accounts_store.live_by_address(account_type, address)


async def live_accounts(customer_id: str) -> list[AccountRow]:
    return await accounts_store.live_of_customer(customer_id)


def reference_of(account: AccountRow) -> ReferenceType:
    return get_driver(account.type).reference_type(account)


def carries_media(account: AccountRow) -> bool:
    return get_driver(account.type).carries_media(account)


async def create_account(
    customer_id: str,
    *,
    type: str,
    address: str,
    name: str = "",
    detail: str = "",
    settings: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> AccountRow:
    """Store an account as given, unchecked: for the demo and tests. Admins go through
    `create` below, which checks every field against the driver."""
    try:
        get_driver(type)
    except LookupError:
        raise InvalidInput("invalid_account_type", f"Unknown channel type {type!r}.") from None
    return await accounts_store.insert(
        customer_id,
        type=type,
        address=address,
        name=name,
        detail=detail,
        settings=settings or {},
        secrets=secrets or {},
        at=now(),
    )


# --- the admin's view ---------------------------------------------------------------


def account_out(account: AccountRow) -> AccountOut:
    driver = get_driver(account.type)
    secret_names = {f.name for f in driver.fields if f.secret}
    return AccountOut(
        id=str(account.id),
        customer_id=str(account.customer_id),
        type=account.type,
        name=account.name,
        detail=account.detail,
        address=account.address,
        settings={k: v for k, v in account.settings.items() if k not in secret_names},
        secrets_set=sorted(k for k, v in account.secrets.items() if v),
        webhook_urls={
            label: runtime.hook_url(account.type, str(account.id), sub)
            for label, sub in driver.hooks.items()
        },
        tm_create=fmt(account.tm_create),
        tm_update=fmt(account.tm_update),
        tm_delete=fmt(account.tm_delete),
    )


def as_listed(account: AccountOut) -> AccountRow:
    """An account as the admin's listing shows it — its settings, no secrets — in the
    shape drivers take: enough for what a page asks a driver (its channel, the web chat
    embed code), which reads only the id and the settings."""
    return AccountRow(
        id=uuid.UUID(account.id),
        customer_id=uuid.UUID(account.customer_id),
        type=account.type,
        name=account.name,
        detail=account.detail,
        address=account.address,
        settings=dict(account.settings),
        secrets={},
        tm_create=parse(account.tm_create),
        tm_update=parse(account.tm_update),
        tm_delete=None if account.tm_delete == LIVE else parse(account.tm_delete),
    )


def account_types() -> list[str]:
    """The types an admin can create (every driver but the loopback stand-in)."""
    return [t for t in registered_types() if t != "loopback"]


def _driver_for(type: str):
    if type not in account_types():
        raise InvalidInput(
            "invalid_account_type",
            f"Unknown channel type {type!r}; one of: {', '.join(account_types())}.",
        )
    return get_driver(type)


def _aliased(driver, secrets: dict[str, str], secret: str | None, token: str | None):
    """VoIPBIN's `secret` and `token` are the type's main secret and access token."""
    secrets = dict(secrets)
    aliases = getattr(driver, "aliases", {})
    for alias, value in (("secret", secret), ("token", token)):
        if value is None:
            continue
        if alias not in aliases:
            raise InvalidInput(
                f"unknown_{alias}",
                f"An account of type {driver.type} has no `{alias}`; use `secrets`.",
            )
        secrets[aliases[alias]] = value
    return secrets


def _checked(
    driver, settings: dict[str, Any], secrets: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The given settings and secrets checked against the driver's fields (completeness
    is checked after an update merges them with what is stored)."""
    fields: dict[str, Field] = {f.name: f for f in driver.fields}
    for key in settings:
        if key not in fields or fields[key].secret:
            hint = " (it is a secret: put it in `secrets`)" if key in fields else ""
            raise InvalidInput(
                "unknown_setting", f"An account of type {driver.type} has no setting `{key}`{hint}."
            )
    for key in secrets:
        if key not in fields or not fields[key].secret:
            raise InvalidInput(
                "unknown_secret", f"An account of type {driver.type} has no secret `{key}`."
            )
    for key, value in settings.items():
        field = fields[key]
        if field.choices and value not in (None, "") and str(value) not in field.choices:
            raise InvalidInput(
                "invalid_setting",
                f"`{key}` must be one of: {', '.join(c for c in field.choices if c)}.",
            )
    return settings, secrets


def _complete(driver, settings: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
    missing = [
        f.name
        for f in driver.fields
        if f.required and not (secrets.get(f.name) if f.secret else settings.get(f.name))
    ]
    if missing:
        raise InvalidInput(
            "missing_setting",
            f"An account of type {driver.type} needs: {', '.join('`' + m + '`' for m in missing)}.",
        )
    settings = csat.normalized(settings)  # every type has the survey's settings
    normalize = getattr(driver, "normalize", None)
    return normalize(settings) if normalize else settings


def _address(driver, settings: dict[str, Any]) -> str:
    return str(settings.get(driver.address_field) or "") if driver.address_field else ""


@asynccontextmanager
async def _address_unique() -> AsyncIterator[None]:
    try:
        yield
    except asyncpg.UniqueViolationError:
        raise Conflict(
            "account_address_taken", "Another channel account already has this address."
        ) from None


async def create(principal: Principal, data: AccountCreate) -> AccountOut:
    require_admin(principal)
    driver = _driver_for(data.type)
    secrets = _aliased(driver, data.secrets, data.secret, data.token)
    settings, secrets = _checked(driver, dict(data.settings), secrets)
    for field in driver.fields:
        if field.default and field.name not in settings and not field.secret:
            settings[field.name] = field.default
    settings = _complete(driver, settings, secrets)
    async with _address_unique(), transaction():
        account = await accounts_store.insert(
            principal.customer_id,
            type=data.type,
            name=data.name or driver.label,
            detail=data.detail,
            address=_address(driver, settings),
            settings=settings,
            secrets=secrets,
            at=now(),
        )
        out = account_out(account)
        await audit.record(
            principal.customer_id, principal, "account.created", "account", account.id, None, out
        )
    return out


async def list_accounts(
    principal: Principal, page_size: int = 100, page_token: str | None = None
) -> tuple[list[AccountOut], str]:
    require_admin(principal)
    rows, token = await accounts_store.page_of_customer(
        principal.customer_id, page_size, page_token
    )
    return [account_out(r) for r in rows], token


async def get(principal: Principal, account_id: str) -> AccountOut:
    require_admin(principal)
    return account_out(await get_account(principal.customer_id, account_id))


async def update(principal: Principal, account_id: str, data: AccountUpdate) -> AccountOut:
    require_admin(principal)
    current = await get_account(principal.customer_id, account_id)
    driver = get_driver(current.type)
    given_secrets = _aliased(driver, data.secrets or {}, data.secret, data.token)
    given_settings, given_secrets = _checked(driver, dict(data.settings or {}), given_secrets)
    settings = {**current.settings, **given_settings}
    settings = {k: v for k, v in settings.items() if v is not None}
    secrets = {**current.secrets, **given_secrets}
    secrets = {k: v for k, v in secrets.items() if v}
    settings = _complete(driver, settings, secrets)
    async with _address_unique(), transaction():
        account = await accounts_store.update_live(
            current.id,
            name=current.name if data.name is None else data.name,
            detail=current.detail if data.detail is None else data.detail,
            address=_address(driver, settings),
            settings=settings,
            secrets=secrets,
            at=now(),
        )
        out = account_out(_found(account))
        # account_out shows which secrets are set, never their values
        await audit.record(
            principal.customer_id,
            principal,
            "account.updated",
            "account",
            current.id,
            account_out(current),
            out,
        )
    return out


async def delete(principal: Principal, account_id: str) -> AccountOut:
    """Soft delete: rooms and messages keep pointing at it; its hooks answer 404 and no
    new message goes out through it."""
    require_admin(principal)
    current = await get_account(principal.customer_id, account_id)
    async with transaction():
        out = account_out(_found(await accounts_store.soft_delete(current.id, now())))
        await audit.record(
            principal.customer_id,
            principal,
            "account.deleted",
            "account",
            current.id,
            account_out(current),
            None,
        )
    return out


async def send_test(principal: Principal, account_id: str, data: AccountTest) -> AccountTestResult:
    """Send one message straight through the provider, outside any conversation: the setup
    page's "send test message", which proves the credentials work."""
    require_admin(principal)
    account = await get_account(principal.customer_id, account_id)
    driver = get_driver(account.type)
    ptype = PARTICIPANT_FOR_REFERENCE[driver.reference_type(account)]
    to = normalize_address(ptype, data.to, runtime.settings().default_region)
    request = OutboundRequest(
        message_id=str(uuid.uuid4()),
        to=to,
        text=data.text,
        medias=[],
        conversation_id="",
        attempt=1,
    )
    try:
        async with asyncio.timeout(TEST_SEND_TIMEOUT):
            result = await driver.send(account, request)
    except (PermanentSendError, TransientSendError) as exc:
        return AccountTestResult(success=False, reason=exc.reason)
    except (TimeoutError, httpx.HTTPError, OSError) as exc:
        return AccountTestResult(success=False, reason=f"{type(exc).__name__}: {exc}".rstrip(": "))
    return AccountTestResult(success=True, provider_message_id=result.provider_message_id)


async def setup_channel(principal: Principal, data: ConversationSetup) -> ConversationSetupResult:
    """`POST /v1.0/conversations/setup`: tell the provider where our hook is (LINE's
    webhook endpoint), and return what the provider's own test of it said."""
    require_admin(principal)
    try:
        wanted = ReferenceType(data.reference_type)
    except ValueError:
        raise InvalidInput(
            "invalid_reference_type", f"Unknown reference_type {data.reference_type!r}."
        ) from None
    if data.account_id:
        candidates = [await get_account(principal.customer_id, data.account_id)]
    else:
        candidates = await live_accounts(principal.customer_id)
    candidates = [a for a in candidates if a.type != "loopback" and reference_of(a) is wanted]
    if not candidates:
        raise NotFound(
            "account_not_found", f"There is no {wanted.value} channel account to set up."
        )
    account = candidates[0]
    driver = get_driver(account.type)
    setup = getattr(driver, "setup", None)
    if setup is None:
        raise InvalidInput(
            "setup_not_supported",
            f"{driver.label} is set up in the provider's console: paste the webhook URL there.",
        )
    result = await setup(account, runtime.hook_url(account.type, str(account.id)))
    return ConversationSetupResult(account=account_out(account), **result)
