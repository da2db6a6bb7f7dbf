"""Resource shapes: what the API returns (and webhooks and websocket frames carry as
`data`), and the bodies it accepts. One Struct per resource, written once.

Request bodies forbid unknown fields so a typo (`"pasword"`) is an error, not silently
ignored.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from app.domain.enums import AgentStatus, Permission, WebhookMethod

Name = Annotated[str, msgspec.Meta(max_length=255)]
Detail = Annotated[str, msgspec.Meta(max_length=4000)]
Username = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=255,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$",
        description="letters, digits and . _ @ + - ; case-insensitive and unique",
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]
Url = Annotated[str, msgspec.Meta(max_length=2048)]


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body."""


# --- auth ---------------------------------------------------------------------------


class LoginInput(Input):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class LoginResult(msgspec.Struct, kw_only=True):
    username: str
    token: str


# --- customer -----------------------------------------------------------------------


class CustomerOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    detail: str
    webhook_method: str
    webhook_uri: str
    tm_create: str
    tm_update: str
    tm_delete: str


class CustomerUpdate(Input):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] | None = None
    detail: Detail | None = None
    webhook_method: WebhookMethod | None = None
    webhook_uri: Url | None = None


# --- agents -------------------------------------------------------------------------


class AgentOut(msgspec.Struct, kw_only=True):
    id: str
    customer_id: str
    username: str
    name: str
    detail: str
    permission: str
    status: str
    tm_create: str
    tm_update: str
    tm_delete: str


class AgentCreate(Input):
    username: Username
    password: Password
    name: Name = ""
    detail: Detail = ""
    permission: Permission = Permission.AGENT


class AgentUpdate(Input):
    name: Name | None = None
    detail: Detail | None = None
    permission: Permission | None = None
    status: AgentStatus | None = None
    password: Password | None = None


# --- access keys --------------------------------------------------------------------


class AccessKeyOut(msgspec.Struct, kw_only=True):
    id: str
    customer_id: str
    agent_id: str
    name: str
    detail: str
    token_prefix: str
    """The key's first characters, to tell keys apart; the key itself is never shown again."""
    tm_expire: str
    tm_create: str
    tm_update: str
    tm_delete: str
    token: str | None = None
    """Only in the response that created the key."""


class AccessKeyCreate(Input):
    name: Name = ""
    detail: Detail = ""
    expire: Annotated[int, msgspec.Meta(ge=60, le=10 * 365 * 86400)] | None = None
    """Lifetime in seconds; omitted means the key does not expire."""


class AccessKeyUpdate(Input):
    name: Name | None = None
    detail: Detail | None = None


# --- lists --------------------------------------------------------------------------


class AgentPage(msgspec.Struct, kw_only=True):
    """The list envelope: newest first; `next_page_token` is "" on the last page."""

    result: list[AgentOut]
    next_page_token: str


class AccessKeyPage(msgspec.Struct, kw_only=True):
    result: list[AccessKeyOut]
    next_page_token: str
