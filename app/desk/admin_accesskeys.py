"""Admin → Access keys (`/admin/accesskeys`): make a key for a program (shown once), see
the live keys, revoke one. Every rule is in `people.accesskeys`, the code the API calls;
this module reads forms and picks templates. Works without JavaScript (plain forms;
the new key is the answer to the POST itself, never in a URL that could be bookmarked
or logged)."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.desk.admin_channels import admin_principal
from app.desk.admin_kit import NO_STORE, admin_context, form_text, page_router
from app.desk.forms import convert
from app.domain.errors import InvalidInput, ServiceError
from app.domain.principal import Principal
from app.domain.resources import AccessKeyCreate, AccessKeyOut
from app.people import accesskeys, agents

EXPIRY_CHOICES = [
    # (form value, label, seconds or None)
    ("never", "Never", None),
    ("30d", "In 30 days", 30 * 86400),
    ("90d", "In 90 days", 90 * 86400),
    ("365d", "In a year", 365 * 86400),
]
LABELS = {"expire": "The expiry", "name": "The name", "detail": "The description"}


async def _all_keys(principal: Principal) -> list[AccessKeyOut]:
    """Every live key (a customer has a handful; pages of 100 until the end)."""
    keys, token = await accesskeys.list_accesskeys(principal)
    while token:
        more, token = await accesskeys.list_accesskeys(principal, page_token=token)
        keys.extend(more)
    return keys


async def _page(
    principal: Principal,
    *,
    created: AccessKeyOut | None = None,
    revoked: str = "",
    error: str = "",
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    keys = await _all_keys(principal)
    context = await admin_context(
        principal,
        "accesskeys",
        keys=keys,
        makers=await agents.names(principal.customer_id, [k.agent_id for k in keys]),
        created=created,
        revoked=revoked,
        error=error,
        typed=typed or {"name": "", "detail": "", "expire": "never"},
        expiry_choices=EXPIRY_CHOICES,
    )
    return Template(
        "admin/accesskeys.html",
        context=context,
        status_code=status_code,
        headers=NO_STORE if created else None,
    )


class AccessKeysController(Controller):
    path = "/"
    dependencies = {"principal": Provide(admin_principal)}
    include_in_schema = False

    @get("/")
    async def accesskeys_page(self, principal: Principal, revoked: str = "") -> Template:
        return await _page(principal, revoked=revoked[:200])

    @post("/")
    async def create_accesskey(self, request: Request, principal: Principal) -> Response:
        form = await request.form()
        typed = {k: form_text(form, k) for k in ("name", "detail", "expire")}
        expire = {value: seconds for value, _, seconds in EXPIRY_CHOICES}
        try:
            if typed["expire"] not in expire:
                raise InvalidInput("invalid_expire", "Choose when the key expires.")
            data = convert(
                {
                    "name": typed["name"],
                    "detail": typed["detail"],
                    "expire": expire[typed["expire"]],
                },
                AccessKeyCreate,
                LABELS,
            )
            created = await accesskeys.create_accesskey(principal, data)
        except (InvalidInput, ServiceError) as exc:
            if exc.status_code in (401, 403, 404):
                raise  # not the form's fault: the error page says so
            return await _page(
                principal, error=exc.message, typed=typed, status_code=exc.status_code
            )
        return await _page(principal, created=created)

    @post("/{key_id:str}/revoke")
    async def revoke_accesskey(self, principal: Principal, key_id: str) -> Response:
        key = await accesskeys.revoke_accesskey(principal, key_id)
        return Redirect(f"/admin/accesskeys?revoked={key.token_prefix}", status_code=303)


ROUTES: list = [page_router("/admin/accesskeys", AccessKeysController)]
