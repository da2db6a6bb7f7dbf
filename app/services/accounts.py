"""Channel accounts: the customer's connections to providers (a Twilio number, a LINE
channel, a mailbox, a WhatsApp number, a web chat widget).

The conversation services find accounts here; admins create, edit and delete them through
the API and the setup pages. What an account of each type holds is the driver's `fields`:
settings are shown, secrets are write-only (only their names come back, as `secrets_set`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import asyncpg
import httpx

from app.channels import (
    Field,
    OutboundRequest,
    PermanentSendError,
    TransientSendError,
    get_driver,
    registered_types,
    runtime,
)
from app.db import sql
from app.db.tables import ChannelAccount
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
from app.domain.timefmt import fmt, now
from app.services.ids import parse_id
from app.services.pagination import keyset_page

TEST_SEND_TIMEOUT = 20.0
log = logging.getLogger(__name__)


def _loaded(row: dict[str, Any]) -> dict[str, Any]:
    """Piccolo hands JSONB back as text; drivers want dicts."""
    row = dict(row)
    for key in ("settings", "secrets"):
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row


async def get_account(customer_id: str, account_id: str) -> dict[str, Any]:
    return await _live_account(account_id, "customer_id", customer_id)


async def account_for_hook(account_type: str, account_id: str) -> dict[str, Any]:
    """The live account a provider hook names in its URL. The id in the URL is what ties
    the call to a customer; the driver's signature check is what makes it trustworthy."""
    if account_type not in registered_types():  # anything else (even a NUL) matches nothing
        account_type = ""
    return await _live_account(account_id, "type", account_type)


async def _live_account(account_id: str, column: str, value: str) -> dict[str, Any]:
    """The live account with this id whose `column` (customer_id or type) is `value`;
    NotFound otherwise, a malformed id included."""
    account_id = parse_id(account_id, "account_not_found", "channel account")
    row = await sql.fetchrow(
        f"SELECT * FROM channel_accounts WHERE id = $1 AND {column} = $2 AND tm_delete IS NULL",
        account_id,
        value,
    )
    if row is None:
        raise NotFound("account_not_found", "There is no such channel account.")
    return _loaded(row)


async def account_by_address(account_type: str, address: str) -> dict[str, Any] | None:
    """The live account of a type with this address (the SMTP listener's recipient)."""
    row = await sql.fetchrow(
        "SELECT * FROM channel_accounts WHERE type = $1 AND lower(address) = lower($2)"
        " AND tm_delete IS NULL AND address <> ''",
        account_type,
        address,
    )
    return _loaded(row) if row is not None else None


async def live_accounts(customer_id: str) -> list[dict[str, Any]]:
    rows = await sql.fetch(
        "SELECT * FROM channel_accounts WHERE customer_id = $1 AND tm_delete IS NULL"
        " ORDER BY tm_create",
        customer_id,
    )
    return [_loaded(r) for r in rows]


def reference_of(account: dict[str, Any]) -> ReferenceType:
    return get_driver(account["type"]).reference_type(account)


def carries_media(account: dict[str, Any]) -> bool:
    return get_driver(account["type"]).carries_media(account)


async def create_account(
    customer_id: str,
    *,
    type: str,
    address: str,
    name: str = "",
    detail: str = "",
    settings: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Store an account as given, unchecked: for the demo and tests. Admins go through
    `create` below, which checks every field against the driver."""
    try:
        get_driver(type)
    except LookupError:
        raise InvalidInput("invalid_account_type", f"Unknown channel type {type!r}.") from None
    rows = await ChannelAccount.insert(
        ChannelAccount(
            customer_id=customer_id,
            type=type,
            address=address,
            name=name,
            detail=detail,
            settings=settings or {},
            secrets=secrets or {},
        )
    ).returning(*ChannelAccount.all_columns())
    return _loaded(rows[0])


# --- the admin's view ---------------------------------------------------------------


def account_out(row: dict[str, Any]) -> AccountOut:
    row = _loaded(row)
    driver = get_driver(row["type"])
    secret_names = {f.name for f in driver.fields if f.secret}
    return AccountOut(
        id=str(row["id"]),
        customer_id=str(row["customer_id"]),
        type=row["type"],
        name=row["name"],
        detail=row["detail"],
        address=row["address"],
        settings={k: v for k, v in row["settings"].items() if k not in secret_names},
        secrets_set=sorted(k for k, v in row["secrets"].items() if v),
        webhook_urls={
            label: runtime.hook_url(row["type"], str(row["id"]), sub)
            for label, sub in driver.hooks.items()
        },
        tm_create=fmt(row["tm_create"]),
        tm_update=fmt(row["tm_update"]),
        tm_delete=fmt(row["tm_delete"]),
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
    normalize = getattr(driver, "normalize", None)
    return normalize(settings) if normalize else settings


def _address(driver, settings: dict[str, Any]) -> str:
    return str(settings.get(driver.address_field) or "") if driver.address_field else ""


async def _store(sql_text: str, *args: Any) -> dict[str, Any]:
    try:
        row = await sql.fetchrow(sql_text, *args)
    except asyncpg.UniqueViolationError:
        raise Conflict(
            "account_address_taken", "Another channel account already has this address."
        ) from None
    return row


async def create(principal: Principal, data: AccountCreate) -> AccountOut:
    require_admin(principal)
    driver = _driver_for(data.type)
    secrets = _aliased(driver, data.secrets, data.secret, data.token)
    settings, secrets = _checked(driver, dict(data.settings), secrets)
    for field in driver.fields:
        if field.default and field.name not in settings and not field.secret:
            settings[field.name] = field.default
    settings = _complete(driver, settings, secrets)
    stamp = now()
    row = await _store(
        "INSERT INTO channel_accounts (id, customer_id, type, name, detail, address, settings,"
        " secrets, tm_create, tm_update) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb,"
        " $9, $9) RETURNING *",
        uuid.uuid4(),
        principal.customer_id,
        data.type,
        data.name or driver.label,
        data.detail,
        _address(driver, settings),
        json.dumps(settings),
        json.dumps(secrets),
        stamp,
    )
    return account_out(row)


async def list_accounts(
    principal: Principal, page_size: int = 100, page_token: str | None = None
) -> tuple[list[AccountOut], str]:
    require_admin(principal)
    rows, token = await keyset_page(
        ChannelAccount,
        [
            ChannelAccount.customer_id == principal.customer_id,
            ChannelAccount.tm_delete.is_null(),
        ],
        page_size,
        page_token,
    )
    return [account_out(r) for r in rows], token


async def get(principal: Principal, account_id: str) -> AccountOut:
    require_admin(principal)
    return account_out(await get_account(principal.customer_id, account_id))


async def update(principal: Principal, account_id: str, data: AccountUpdate) -> AccountOut:
    require_admin(principal)
    current = await get_account(principal.customer_id, account_id)
    driver = get_driver(current["type"])
    given_secrets = _aliased(driver, data.secrets or {}, data.secret, data.token)
    given_settings, given_secrets = _checked(driver, dict(data.settings or {}), given_secrets)
    settings = {**current["settings"], **given_settings}
    settings = {k: v for k, v in settings.items() if v is not None}
    secrets = {**current["secrets"], **given_secrets}
    secrets = {k: v for k, v in secrets.items() if v}
    settings = _complete(driver, settings, secrets)
    row = await _store(
        "UPDATE channel_accounts SET name = $2, detail = $3, address = $4,"
        " settings = $5::jsonb, secrets = $6::jsonb, tm_update = $7"
        " WHERE id = $1 AND tm_delete IS NULL RETURNING *",
        current["id"],
        current["name"] if data.name is None else data.name,
        current["detail"] if data.detail is None else data.detail,
        _address(driver, settings),
        json.dumps(settings),
        json.dumps(secrets),
        now(),
    )
    if row is None:
        raise NotFound("account_not_found", "There is no such channel account.")
    return account_out(row)


async def delete(principal: Principal, account_id: str) -> AccountOut:
    """Soft delete: rooms and messages keep pointing at it; its hooks answer 404 and no
    new message goes out through it."""
    require_admin(principal)
    current = await get_account(principal.customer_id, account_id)
    row = await sql.fetchrow(
        "UPDATE channel_accounts SET tm_delete = $2, tm_update = $2"
        " WHERE id = $1 AND tm_delete IS NULL RETURNING *",
        current["id"],
        now(),
    )
    if row is None:
        raise NotFound("account_not_found", "There is no such channel account.")
    return account_out(row)


async def send_test(principal: Principal, account_id: str, data: AccountTest) -> AccountTestResult:
    """Send one message straight through the provider, outside any conversation: the setup
    page's "send test message", which proves the credentials work."""
    require_admin(principal)
    account = await get_account(principal.customer_id, account_id)
    driver = get_driver(account["type"])
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
    candidates = [a for a in candidates if a["type"] != "loopback" and reference_of(a) is wanted]
    if not candidates:
        raise NotFound(
            "account_not_found", f"There is no {wanted.value} channel account to set up."
        )
    account = candidates[0]
    driver = get_driver(account["type"])
    setup = getattr(driver, "setup", None)
    if setup is None:
        raise InvalidInput(
            "setup_not_supported",
            f"{driver.label} is set up in the provider's console: paste the webhook URL there.",
        )
    result = await setup(account, runtime.hook_url(account["type"], str(account["id"])))
    return ConversationSetupResult(account=account_out(account), **result)
