"""The admins' setup pages: the customer's channel accounts (`/admin/channels`).

Each channel type's form is generated from its driver's `fields` (labels as the provider
calls them, help text, password inputs for secrets), and every change goes through
`channels.accounts`, the same code the API calls. Secrets are write-only here too: a set
secret shows as "set", never with its value, and a form that comes back with an error
keeps what the admin typed except the secrets.

Pages work without JavaScript (plain forms that redirect back); htmx only makes the test
message answer in place. Signed-out visitors go to the sign-in page (the app-wide
`NotSignedIn` handler); managers and agents get a 403 page.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from litestar import Controller, Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.channels import Field, accounts, get_driver, rejected
from app.desk.forms import FormRefused, check_input, convert
from app.desk.pages import DESK_ERRORS
from app.desk.render import is_htmx
from app.desk.session import desk_principal
from app.domain.errors import InvalidInput, NotFound, ServiceError
from app.domain.principal import Principal, require_admin
from app.domain.resources import (
    AccountCreate,
    AccountOut,
    AccountTest,
    AccountTestResult,
    AccountUpdate,
    RejectedInboundOut,
)
from app.people import agents
from app.routing import teams
from app.settings import Settings

log = logging.getLogger(__name__)

FIELD_PREFIX = "f_"
"""Form inputs for a driver's fields are named `f_<field name>`, so a provider field can
never collide with the account's own `name`, `detail` and `type` inputs."""

CLEAR_PREFIX = "clear_"
"""A checkbox `clear_<secret name>` removes an optional secret that is set."""

WHERE_TO_PASTE = {
    # What the page says after a create, by account type: where the URL goes.
    "sms": "Now paste this into the Twilio console (Phone Numbers › your number ›"
    " Messaging configuration: “A message comes in” and the status callback):",
    "line": "Now paste this into the LINE Developers console (your channel › Messaging API ›"
    " Webhook URL) and turn on “Use webhook”:",
    "whatsapp": "Now paste this into the Meta app dashboard (WhatsApp › Configuration ›"
    " Webhook: Callback URL, with the verify token below):",
    "email": "Mail reaches this account by SMTP (see below); a relay that posts raw MIME"
    " instead posts it here:",
}

TO_HINTS = {
    # an example test-message recipient, by the channel (reference type) an account carries
    "message": "+15551234567",
    "email": "someone@example.com",
    "line": "LINE user id (U…)",
    "whatsapp": "15551234567",
    "webchat": "visitor id",
}


async def admin_principal(request: Request, settings: Settings) -> Principal:
    """The signed-in desk user, who must be an admin of their customer (403 otherwise)."""
    principal = await desk_principal(request, settings)
    require_admin(principal)
    return principal


# --- what the pages show -------------------------------------------------------------


@dataclass
class FormField:
    """One input of an account form: the driver's field and what the input holds."""

    field: Field
    value: str = ""
    is_set: bool = False
    """For a secret: the account already has a value (shown as "set", never the value)."""
    invalid: bool = False
    """The last error named this field."""

    @property
    def input_name(self) -> str:
        return FIELD_PREFIX + self.field.name

    @property
    def input_type(self) -> str:
        if self.field.secret:
            return "password"
        return self.field.kind if self.field.kind in ("email", "tel", "number", "url") else "text"


@dataclass
class AccountView:
    """One account as the channels page lists it."""

    account: AccountOut
    label: str
    loopback: bool
    snippet: str = ""
    """The web chat embed code, when the driver can make one."""
    to_hint: str = ""
    """An example address for the test message form, on the account's channel."""
    test_result: AccountTestResult | None = None
    test_error: str = ""


def _fields(
    driver: Any, values: dict[str, Any] | None = None, secrets_set: list[str] | None = None
) -> list[FormField]:
    values = values or {}
    secrets_set = secrets_set or []
    out = []
    for f in driver.fields:
        if f.secret:
            out.append(FormField(field=f, is_set=f.name in secrets_set))
        else:
            value = values.get(f.name)
            out.append(FormField(field=f, value="" if value is None else str(value)))
    return out


def _snippet(driver: Any, account: AccountOut) -> str:
    """The web chat driver's embed code (`snippet(account) -> str`), if it has one. A
    failing snippet must not take the whole page down: it is logged and left out."""
    make = getattr(driver, "snippet", None)
    if make is None:
        return ""
    try:
        return str(make(accounts.as_listed(account)))
    except Exception:  # noqa: BLE001 - the page still lists the account
        log.exception("webchat snippet failed for account %s", account.id)
        return ""


def _view(account: AccountOut) -> AccountView:
    driver = get_driver(account.type)
    loopback = account.type == "loopback"
    label = driver.label
    if loopback:
        stands_for = account.settings.get("reference_type") or "message"
        label = f"Loopback (demo) · stands in for {stands_for}"
    reference = driver.reference_type(accounts.as_listed(account)).value
    return AccountView(
        account=account,
        label=label,
        loopback=loopback,
        snippet=_snippet(driver, account),
        to_hint=TO_HINTS.get(reference, ""),
    )


async def _all_accounts(principal: Principal) -> list[AccountOut]:
    result, token = await accounts.list_accounts(principal, 100)
    while token:
        more, token = await accounts.list_accounts(principal, 100, token)
        result.extend(more)
    return result


def _smtp(settings: Settings) -> dict[str, Any]:
    """Where mail for an email account must be delivered: this server's SMTP listener."""
    host = urlsplit(settings.public_url).hostname or "this server"
    return {"host": host, "port": settings.smtp_port}


async def _page_context(principal: Principal, settings: Settings, **extra: Any) -> dict[str, Any]:
    return {
        "principal": principal,
        "me_name": await agents.display_name(principal),
        "nav_active": "admin",
        "smtp": _smtp(settings),
        **extra,
    }


async def _channels_page(
    principal: Principal,
    settings: Settings,
    *,
    created: str = "",
    saved: str = "",
    deleted: bool = False,
    tested: tuple[str, AccountTestResult | None, str] | None = None,
    status_code: int = 200,
) -> Template:
    views = [_view(a) for a in await _all_accounts(principal)]
    if tested:
        for view in views:
            if view.account.id == tested[0]:
                view.test_result, view.test_error = tested[1], tested[2]
    by_id = {v.account.id: v for v in views}
    context = await _page_context(
        principal,
        settings,
        views=views,
        created=by_id.get(created),
        saved=by_id.get(saved),
        deleted=deleted,
        where_to_paste=WHERE_TO_PASTE,
    )
    return Template("admin/channels.html", context=context, status_code=status_code)


REJECTED_SHOWN = 20
"""Rejected inbound events listed on a channel's page (the API pages through all)."""


async def _form_page(
    principal: Principal,
    settings: Settings,
    *,
    driver: Any,
    fields: list[FormField],
    name: str = "",
    detail: str = "",
    account: AccountOut | None = None,
    error: str = "",
    invalid: str = "",
    status_code: int = 200,
) -> Template:
    # the service's messages name fields in backticks, a refused form value its input
    named = set(re.findall(r"`([^`]+)`", error)) | {invalid.rsplit(".", 1)[-1]}
    for ff in fields:
        ff.invalid = ff.field.name in named
    refused: list[RejectedInboundOut] = []
    if account is not None:  # what the provider sent that could not be stored
        refused, _ = await rejected.list_rejected(principal, account.id, REJECTED_SHOWN)
    context = await _page_context(
        principal,
        settings,
        driver=driver,
        fields=fields,
        name=name,
        detail=detail,
        account=account,
        error=error,
        rejected=refused,
    )
    return Template("admin/account_form.html", context=context, status_code=status_code)


# --- reading the forms ---------------------------------------------------------------


def _typed(form: FormMultiDict, driver: Any) -> dict[str, str]:
    """What the admin typed into the non-secret inputs, stripped."""
    return {
        f.name: str(form.get(FIELD_PREFIX + f.name) or "").strip()
        for f in driver.fields
        if not f.secret
    }


def _secrets(form: FormMultiDict, driver: Any, *, editing: bool) -> dict[str, str]:
    """The secrets the form sets: a blank input keeps (edit) or omits (create) it; the
    clear box removes an optional one ("" tells the service to remove it)."""
    secrets: dict[str, str] = {}
    for f in driver.fields:
        if not f.secret:
            continue
        value = str(form.get(FIELD_PREFIX + f.name) or "")
        if value.strip():
            secrets[f.name] = value.strip()
        elif editing and form.get(CLEAR_PREFIX + f.name):
            secrets[f.name] = ""
    return secrets


def _labels(driver: Any) -> dict[str, str]:
    """The account form's inputs as the page labels them, for refusals."""
    labels = {"name": "Name", "detail": "Description"}
    for f in driver.fields:
        labels[f"settings.{f.name}"] = labels[f"secrets.{f.name}"] = f.label
    return labels


def _creatable_driver(type: str) -> Any:
    if type not in accounts.account_types():
        raise NotFound("account_type_not_found", f"There is no channel type {type!r} to add.")
    return get_driver(type)


async def _save_account(
    principal: Principal,
    settings: Settings,
    form: FormMultiDict,
    driver: Any,
    account: AccountOut | None,
) -> Response:
    """Create (`account` None) or update an account from its form: on success back to the
    list; refused, the form again, keeping what was typed (never the secrets) and saying
    what is wrong beside it."""
    typed = _typed(form, driver)
    name = str(form.get("name") or "").strip()
    detail = str(form.get("detail") or "").strip()
    editing = account is not None
    try:
        values: dict[str, Any] = {"name": name, "detail": detail}
        if account is None:
            values = {"type": driver.type, **values}
            values["settings"] = {k: v for k, v in typed.items() if v}
        else:  # a blank setting is removed (null), as the API's PUT does
            values["settings"] = {k: (v or None) for k, v in typed.items()}
        values["secrets"] = _secrets(form, driver, editing=editing)
        data = convert(values, AccountUpdate if editing else AccountCreate, _labels(driver))
        if account is None:
            where = f"created={(await accounts.create(principal, data)).id}"
        else:
            where = f"saved={(await accounts.update(principal, account.id, data)).id}"
    except ServiceError as exc:
        return await _form_page(
            principal,
            settings,
            driver=driver,
            fields=_fields(driver, typed, account.secrets_set if account else None),
            name=name,
            detail=detail,
            account=account,
            error=exc.message,
            invalid=exc.field if isinstance(exc, FormRefused) else "",
            status_code=exc.status_code,
        )
    return Redirect(f"/admin/channels?{where}", status_code=303)


class AdminController(Controller):
    path = "/"
    dependencies = {"principal": Provide(admin_principal)}
    include_in_schema = False

    @get("/")
    async def admin_home(self) -> Redirect:
        return Redirect("/admin/channels", status_code=303)

    @get("/channels")
    async def channels(
        self,
        principal: Principal,
        settings: Settings,
        created: str = "",
        saved: str = "",
        deleted: str = "",
    ) -> Template:
        return await _channels_page(
            principal, settings, created=created, saved=saved, deleted=bool(deleted)
        )

    @get("/channels/new")
    async def new_account(
        self, principal: Principal, settings: Settings, type: str = ""
    ) -> Template:
        if not type:
            types = [(t, get_driver(t).label) for t in accounts.account_types()]
            context = await _page_context(principal, settings, types=types)
            return Template("admin/choose_type.html", context=context)
        driver = _creatable_driver(type)
        defaults = {f.name: f.default for f in driver.fields if f.default}
        return await _form_page(
            principal, settings, driver=driver, fields=_fields(driver, defaults)
        )

    @post("/channels")
    async def create_account(
        self, request: Request, principal: Principal, settings: Settings
    ) -> Response:
        form = await request.form()
        driver = _creatable_driver(str(form.get("type") or ""))
        return await _save_account(principal, settings, form, driver, None)

    @get("/channels/{account_id:str}/edit")
    async def edit_account(
        self, principal: Principal, settings: Settings, account_id: str
    ) -> Template:
        account = await accounts.get(principal, account_id)
        driver = get_driver(account.type)
        return await _form_page(
            principal,
            settings,
            driver=driver,
            fields=_fields(driver, account.settings, account.secrets_set),
            name=account.name,
            detail=account.detail,
            account=account,
        )

    @post("/channels/{account_id:str}/edit")
    async def update_account(
        self, request: Request, principal: Principal, settings: Settings, account_id: str
    ) -> Response:
        account = await accounts.get(principal, account_id)
        form = await request.form()
        return await _save_account(principal, settings, form, get_driver(account.type), account)

    @post("/channels/{account_id:str}/delete")
    async def delete_account(self, principal: Principal, account_id: str) -> Redirect:
        await teams.delete_account(principal, account_id)
        return Redirect("/admin/channels?deleted=true", status_code=303)

    @post("/channels/{account_id:str}/test")
    async def send_test(
        self, request: Request, principal: Principal, settings: Settings, account_id: str
    ) -> Template:
        form = await request.form()
        result: AccountTestResult | None = None
        error = ""
        try:
            given = {"to": str(form.get("to") or "").strip()}
            text = str(form.get("text") or "").strip()
            if text:  # else the API's default test text
                given["text"] = text
            data = convert(given, AccountTest, {"to": "To", "text": "The test message"})
            result = await accounts.send_test(principal, account_id, data)
        except InvalidInput as exc:  # a bad address: shown beside the form
            error = exc.message
        if is_htmx(request):
            return Template(
                "admin/test_result.html",
                context={"account_id": account_id, "result": result, "error": error},
            )
        return await _channels_page(
            principal, settings, tested=(account_id, result, error), status_code=200
        )


def _input_labels() -> dict[str, str]:
    """Every channel type's inputs (`f_<field>`) as their forms label them."""
    labels: dict[str, str] = {}
    for type in accounts.account_types():
        for f in get_driver(type).fields:
            labels.setdefault(FIELD_PREFIX + f.name, f.label)
    return labels


async def check_admin_input(request: Request) -> None:
    await check_input(request, _input_labels())


ROUTES: list = [
    Router(
        path="/admin",
        route_handlers=[AdminController],
        # like the desk: a refused action is a page (or an htmx alert), not a JSON envelope
        exception_handlers=DESK_ERRORS,
        before_request=check_admin_input,
    )
]
