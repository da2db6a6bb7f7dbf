"""The admins' webhook page (`/admin/webhooks`): where events are sent, the signing secret,
a test event, and the delivery log with every attempt.

Every rule lives in the services (`customers`, `webhook_log`), the same code the API
calls; this module reads forms and picks templates. The page works without JavaScript
(plain forms that redirect back, a "Reveal" that reloads the page); htmx reveals and
rotates the secret in place, answers the test button in place, and refreshes the log
every 5 s. Signed-out visitors go to the sign-in page; managers and agents get a 403 page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, Router, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.desk.admin_channels import admin_principal
from app.desk.forms import check_input, convert
from app.desk.pages import DESK_ERRORS
from app.desk.render import is_htmx
from app.domain.enums import (
    CONVERSATION_EVENTS,
    PUBLIC_EVENTS,
    TALK_EVENTS,
    DeliveryStatus,
    EventType,
    WebhookMethod,
)
from app.domain.errors import BadRequest, InvalidInput, ServiceError
from app.domain.principal import Principal
from app.domain.resources import CustomerOut, CustomerUpdate, WebhookSecretOut
from app.domain.timefmt import parse
from app.people import agents, customers
from app.webhooks import log as webhook_log

PAGE_SIZE = 20
ALL_TYPES = [e.value for e in EventType if e in PUBLIC_EVENTS]  # what may be subscribed
LOG_TYPES = [EventType.WEBHOOK_TEST.value, *ALL_TYPES]
STATUSES = [s.value for s in DeliveryStatus]
EVENT_GROUPS = [
    ("Conversations", [t for t in ALL_TYPES if t in CONVERSATION_EVENTS]),
    ("Talks", [t for t in ALL_TYPES if t in TALK_EVENTS]),
    # every other public type (teams, agents ...), so that ticking every box is every type
    ("People and teams", [t for t in ALL_TYPES if t not in CONVERSATION_EVENTS | TALK_EVENTS]),
]
NO_STORE = {"Cache-Control": "no-store"}
"""On anything that carries the signing secret."""


# --- how times read ----------------------------------------------------------------------


def _stamp(value: str) -> str:
    """An API time to the second, for logs an admin compares with their receiver's."""
    return parse(value).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def _until(value: str) -> str:
    """ "in 4 s", "in 5 min", "in 2 h": how far off a planned retry is ("now" when due)."""
    if not value:
        return ""
    seconds = (parse(value) - datetime.now(UTC)).total_seconds()
    if seconds < 1:
        return "now"
    if seconds < 90:
        return f"in {round(seconds)} s"
    if seconds < 5400:
        return f"in {round(seconds / 60)} min"
    return f"in {round(seconds / 3600)} h"


# --- the log's filters ---------------------------------------------------------------------


class LogFilters(msgspec.Struct, kw_only=True):
    status: str = ""
    event_type: str = ""
    page_token: str = ""

    def query(self, **changes: str) -> str:
        """The query string for these filters (with `changes`), blanks left out."""
        values = {**msgspec.structs.asdict(self), **changes}
        return urlencode({k: v for k, v in values.items() if v})


def _filters(status: str, event_type: str, page_token: str) -> LogFilters:
    status, event_type = status.strip(), event_type.strip()
    if status and status not in STATUSES:
        raise BadRequest("invalid_status", f"There is no delivery status {status!r}.")
    if event_type and event_type not in LOG_TYPES:
        raise BadRequest("invalid_event_type", f"There is no event type {event_type!r}.")
    return LogFilters(status=status, event_type=event_type, page_token=page_token.strip())


async def _log_context(principal: Principal, filters: LogFilters) -> dict[str, Any]:
    deliveries, older = await webhook_log.list_deliveries(
        principal,
        status=DeliveryStatus(filters.status) if filters.status else None,
        event_type=filters.event_type or None,
        page_size=PAGE_SIZE,
        page_token=filters.page_token or None,
    )
    return {
        "deliveries": deliveries,
        "older": older,
        "filters": filters,
        "statuses": STATUSES,
        "log_types": LOG_TYPES,
        "stamp": _stamp,
        "until": _until,
    }


# --- the page ------------------------------------------------------------------------------


class SettingsForm(msgspec.Struct, frozen=True, kw_only=True):
    """The webhook settings form's values, as saved or as typed."""

    method: str
    uri: str
    events: frozenset[str]
    """The ticked boxes."""


def _saved_form(customer: CustomerOut) -> SettingsForm:
    """The settings form as saved: [] (every type) shows no box ticked, so that picking a
    few types is a few clicks; the page says what an empty choice means."""
    return SettingsForm(
        method=customer.webhook_method,
        uri=customer.webhook_uri,
        events=frozenset(customer.webhook_events),
    )


async def _page(
    request: Request,
    principal: Principal,
    filters: LogFilters,
    *,
    form: SettingsForm | None = None,
    error: str = "",
    secret: WebhookSecretOut | None = None,
    test_error: str = "",
    status_code: int = 200,
) -> Template:
    customer = await customers.get_customer(principal)
    context = {
        "principal": principal,
        "me_name": await agents.display_name(principal),
        "nav_active": "admin",
        "admin_section": "webhooks",
        "customer": customer,
        "form": form if form is not None else _saved_form(customer),
        "error": error,
        "methods": [m.value for m in WebhookMethod],
        "event_groups": EVENT_GROUPS,
        "event_total": len(ALL_TYPES),
        "secret": secret,
        "rotated": bool(request.query_params.get("rotated")),
        "saved": bool(request.query_params.get("saved")),
        "tested": bool(request.query_params.get("tested")),
        "test_error": test_error,
        **await _log_context(principal, filters),
    }
    headers = NO_STORE if secret else None
    return Template(
        "admin/webhooks.html", context=context, status_code=status_code, headers=headers
    )


def _secret_fragment(secret: WebhookSecretOut, *, rotated: bool = False) -> Template:
    return Template(
        "admin/webhooks_secret.html",
        context={"secret": secret, "rotated": rotated, "stamp": _stamp},
        headers=NO_STORE,
    )


def _typed(form: Any) -> SettingsForm:
    return SettingsForm(
        method=str(form.get("webhook_method") or "").strip(),
        uri=str(form.get("webhook_uri") or "").strip(),
        events=frozenset(str(v) for v in form.getall("webhook_events", [])),
    )


def _update(typed: SettingsForm) -> CustomerUpdate:
    # ticking every box means "every type", saved as [] so types added later are sent too
    events = [] if typed.events >= set(ALL_TYPES) else sorted(typed.events)
    return convert(
        {
            "webhook_method": typed.method or None,
            "webhook_uri": typed.uri,
            "webhook_events": events,
        },
        CustomerUpdate,
    )


class WebhooksController(Controller):
    path = "/"
    dependencies = {"principal": Provide(admin_principal)}
    include_in_schema = False

    @get("/")
    async def webhooks(
        self,
        request: Request,
        principal: Principal,
        status: str = "",
        event_type: str = "",
        page_token: str = "",
        reveal: str = "",
        rotated: str = "",
    ) -> Template:
        filters = _filters(status, event_type, page_token)
        secret = None
        if reveal or rotated:
            secret = await customers.get_webhook_secret(principal)
        return await _page(request, principal, filters, secret=secret)

    @post("/")
    async def save_settings(self, request: Request, principal: Principal) -> Response:
        typed = _typed(await request.form())
        try:
            await customers.update_customer(principal, _update(typed))
        except ServiceError as exc:
            return await _page(
                request,
                principal,
                LogFilters(),
                form=typed,
                error=exc.message,
                status_code=exc.status_code,
            )
        return Redirect("/admin/webhooks?saved=1", status_code=303)

    @get("/secret")
    async def reveal_secret(self, request: Request, principal: Principal) -> Response:
        if not is_htmx(request):
            return Redirect("/admin/webhooks?reveal=1#secret", status_code=303)
        return _secret_fragment(await customers.get_webhook_secret(principal))

    @post("/secret")
    async def rotate_secret(self, request: Request, principal: Principal) -> Response:
        secret = await customers.rotate_webhook_secret(principal)
        if is_htmx(request):
            return _secret_fragment(secret, rotated=True)
        return Redirect("/admin/webhooks?rotated=1#secret", status_code=303)

    @post("/test")
    async def send_test_event(self, request: Request, principal: Principal) -> Response:
        error = ""
        try:
            await webhook_log.send_test_event(principal)
        except InvalidInput as exc:
            error = exc.message
        if is_htmx(request):
            return Template(
                "admin/webhooks_test_result.html", context={"tested": not error, "error": error}
            )
        if error:
            return await _page(request, principal, LogFilters(), test_error=error, status_code=422)
        return Redirect("/admin/webhooks?tested=1#log", status_code=303)

    @get("/deliveries")
    async def deliveries(
        self,
        principal: Principal,
        status: str = "",
        event_type: str = "",
        page_token: str = "",
    ) -> Template:
        """The log alone: what the page polls to refresh it."""
        filters = _filters(status, event_type, page_token)
        return Template(
            "admin/webhooks_deliveries.html", context=await _log_context(principal, filters)
        )

    @post("/deliveries/{delivery_id:str}/retry")
    async def retry_delivery(
        self, request: Request, principal: Principal, delivery_id: str
    ) -> Response:
        form = await request.form()
        filters = _filters(
            str(form.get("status") or ""),
            str(form.get("event_type") or ""),
            str(form.get("page_token") or ""),
        )
        await webhook_log.retry_delivery(principal, delivery_id)
        if is_htmx(request):
            return Template(
                "admin/webhooks_deliveries.html", context=await _log_context(principal, filters)
            )
        query = filters.query()
        return Redirect(
            "/admin/webhooks" + (f"?{query}" if query else "") + f"#delivery-{delivery_id}",
            status_code=303,
        )


ROUTES: list = [
    Router(
        path="/admin/webhooks",
        route_handlers=[WebhooksController],
        exception_handlers=DESK_ERRORS,
        before_request=check_input,
    )
]
