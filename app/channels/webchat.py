"""The web chat widget: a chat box on the customer's own website.

Unlike the other channels there is no provider in between: the visitor's browser talks
to Convodesk directly (`/widget/{account_id}/...`, see app/widget/doors.py), so inbound
messages arrive through the widget's own door rather than a hook, and "sending" a reply
is nothing more than storing it — the visitor's widget receives it from the event stream
over its websocket (app/widget/ws.py). That is why `send` makes no network call
and reports the message delivered at once.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from app.channels import runtime
from app.channels.base import (
    Field,
    HookOutcome,
    HookRequest,
    OutboundRequest,
    SendResult,
    closed_reply_fields,
    csat_fields,
    register,
    signature_field,
)
from app.domain.enums import ReferenceType
from app.domain.errors import InvalidInput

if TYPE_CHECKING:  # for annotations only: drivers do no database work
    from app.channels.account_store import AccountRow

DEFAULT_COLOR = "#2563eb"
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def parse_origins(raw: Any) -> list[str]:
    """The origins in an `allowed_origins` setting (one per line; commas and spaces also
    separate), in the form browsers send in `Origin`: scheme://host[:port], lower-cased."""
    return [o.rstrip("/").lower() for o in re.split(r"[\s,]+", str(raw or "")) if o.strip()]


def _check_origin(origin: str) -> None:
    parts = urlsplit(origin)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username
    ):
        raise InvalidInput(
            "invalid_setting",
            f"`allowed_origins`: {origin!r} is not an origin like https://www.example.com"
            " (scheme and host, no path).",
        )


class WebchatDriver:
    type = "webchat"
    label = "Web chat widget"
    fields = (
        Field(name="title", label="Title", required=False, default="Chat with us"),
        Field(
            name="greeting",
            label="Greeting",
            required=False,
            default="Hi! How can we help?",
            kind="textarea",
        ),
        Field(name="color", label="Accent colour", required=False, default=DEFAULT_COLOR),
        Field(
            name="allowed_origins",
            label="Allowed websites",
            required=False,
            kind="textarea",
            help="Origins that may embed the widget, one per line (https://www.example.com);"
            " empty allows any.",
        ),
        signature_field("off"),
        *csat_fields(),
        *closed_reply_fields(),
    )
    address_field = ""
    hooks: dict[str, str] = {}

    def reference_type(self, account: AccountRow) -> ReferenceType:
        return ReferenceType.WEBCHAT

    def carries_media(self, account: AccountRow) -> bool:
        return True

    def normalize(self, settings: dict[str, Any]) -> dict[str, Any]:
        """The colour goes into the widget's CSS and the origins into CORS answers, so both
        are checked here rather than trusted where they are used."""
        settings = dict(settings)
        color = str(settings.get("color") or "").strip()
        if color and not _COLOR.match(color):
            raise InvalidInput(
                "invalid_setting", "`color` must be a hex colour like #2563eb or #25e."
            )
        if color:
            settings["color"] = color
        origins = parse_origins(settings.get("allowed_origins"))
        for origin in origins:
            _check_origin(origin)
        if "allowed_origins" in settings:
            settings["allowed_origins"] = "\n".join(dict.fromkeys(origins))
        return settings

    def snippet(self, account: AccountRow) -> str:
        """The embed code for the customer's website: the admin pages show it."""
        base = runtime.settings().public_url
        return f'<script src="{base}/widget/{account.id}/widget.js" async></script>'

    def widget_config(self, account: AccountRow) -> dict[str, str]:
        """What the widget script shows: the account's title, greeting and colour, with
        the defaults for what is unset (and for a colour stored without the check)."""
        defaults = {f.name: f.default for f in self.fields}
        settings = account.settings
        color = str(settings.get("color") or "")
        return {
            "title": str(settings.get("title") or defaults["title"])[:200],
            "greeting": str(settings.get("greeting") or defaults["greeting"])[:2000],
            "color": color if _COLOR.match(color) else DEFAULT_COLOR,
        }

    def allowed_origins(self, account: AccountRow) -> list[str]:
        """Websites allowed to embed the widget; empty: any website may."""
        return parse_origins(account.settings.get("allowed_origins"))

    async def send(self, account: AccountRow, request: OutboundRequest) -> SendResult:
        # Nothing to call: storing the message was the delivery. The visitor's widget
        # receives it from the event stream (and from history after a reload).
        return SendResult(provider_message_id=f"webchat-{request.message_id}", delivered=True)

    def verify(self, account: AccountRow, request: HookRequest) -> bool:
        return False  # the widget has its own door (/widget/...), never a provider hook

    async def parse(self, account: AccountRow, request: HookRequest) -> HookOutcome:
        return HookOutcome()


register(WebchatDriver())
