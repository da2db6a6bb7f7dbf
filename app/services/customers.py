"""Customers (tenants): creation with their first admin, and their settings."""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import urlsplit

from app.db.tables import Agent, Customer
from app.domain.enums import Permission
from app.domain.errors import InvalidInput, NotFound
from app.domain.principal import Principal, require_admin
from app.domain.resources import CustomerOut, CustomerUpdate
from app.domain.timefmt import fmt, now
from app.services import agents
from app.services.events import transaction


def new_webhook_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def customer_out(row: dict[str, Any]) -> CustomerOut:
    return CustomerOut(
        id=str(row["id"]),
        name=row["name"],
        detail=row["detail"],
        webhook_method=row["webhook_method"],
        webhook_uri=row["webhook_uri"],
        tm_create=fmt(row["tm_create"]),
        tm_update=fmt(row["tm_update"]),
        tm_delete=fmt(row["tm_delete"]),
    )


async def create_customer(
    *, name: str, username: str, password: str, agent_name: str = ""
) -> tuple[CustomerOut, str]:
    """A new customer and its first admin agent; returns the customer and the agent's id."""
    name = name.strip()
    if not name:
        raise InvalidInput("invalid_name", "A customer needs a name.")
    admin = agents.validated_create(
        username=username,
        password=password,
        name=agent_name or "Administrator",
        permission=Permission.ADMIN.value,
    )
    async with transaction():
        row = (
            await Customer.insert(
                Customer(name=name, webhook_secret=new_webhook_secret())
            ).returning(*Customer.all_columns())
        )[0]
        agent = await agents.insert_agent(str(row["id"]), admin)
    return customer_out(row), agent.id


async def _live(customer_id: str) -> dict[str, Any]:
    row = (
        await Customer.select()
        .where(Customer.id == customer_id, Customer.tm_delete.is_null())
        .first()
    )
    if row is None:
        raise NotFound("customer_not_found", "There is no such customer.")
    return row


async def get_customer(principal: Principal) -> CustomerOut:
    return customer_out(await _live(principal.customer_id))


def _check_webhook_uri(uri: str) -> str:
    uri = uri.strip()
    if uri == "":
        return uri
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            "invalid_webhook_uri", "webhook_uri must be an http:// or https:// URL, or empty."
        )
    return uri


async def update_customer(principal: Principal, data: CustomerUpdate) -> CustomerOut:
    require_admin(principal)
    changes: dict[Any, Any] = {}
    if data.name is not None:
        if not data.name.strip():
            raise InvalidInput("invalid_name", "name cannot be empty.")
        changes[Customer.name] = data.name.strip()
    if data.detail is not None:
        changes[Customer.detail] = data.detail
    if data.webhook_method is not None:
        changes[Customer.webhook_method] = data.webhook_method.value
    if data.webhook_uri is not None:
        changes[Customer.webhook_uri] = _check_webhook_uri(data.webhook_uri)
    async with transaction():
        await _live(principal.customer_id)
        if changes:
            changes[Customer.tm_update] = now()
            await Customer.update(changes).where(Customer.id == principal.customer_id)
        return customer_out(await _live(principal.customer_id))


async def find_by_admin_username(username: str) -> str | None:
    """The customer whose live agent has this username (used by the demo to reuse data)."""
    row = (
        await Agent.select(Agent.customer_id)
        .where(Agent.username == username.lower(), Agent.tm_delete.is_null())
        .first()
    )
    return str(row["customer_id"]) if row else None
