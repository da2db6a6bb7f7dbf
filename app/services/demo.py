"""Demo data: a customer with an admin and an agent, made once and reused after."""

from __future__ import annotations

import msgspec

from app.domain.enums import Permission
from app.services import agents, customers
from app.services.events import transaction

DEMO_CUSTOMER = "Demo Company"
DEMO_PASSWORD = "convodesk"
DEMO_LOGINS = (
    ("admin", "Ada Admin", Permission.ADMIN),
    ("agent", "Sam Agent", Permission.AGENT),
)


class DemoInfo(msgspec.Struct, kw_only=True):
    customer_id: str
    created: bool
    logins: list[tuple[str, str, str]]
    """(username, password, permission) for each demo login."""


async def seed_demo() -> DemoInfo:
    (admin_username, admin_name, _), (agent_username, agent_name, agent_perm) = DEMO_LOGINS
    logins = [(u, DEMO_PASSWORD, p.value) for u, _, p in DEMO_LOGINS]
    existing = await customers.find_by_admin_username(admin_username)
    if existing:
        return DemoInfo(customer_id=existing, created=False, logins=logins)
    customer, _ = await customers.create_customer(
        name=DEMO_CUSTOMER,
        username=admin_username,
        password=DEMO_PASSWORD,
        agent_name=admin_name,
    )
    data = agents.validated_create(
        username=agent_username,
        password=DEMO_PASSWORD,
        name=agent_name,
        permission=agent_perm.value,
    )
    async with transaction():
        await agents.insert_agent(customer.id, data)
    return DemoInfo(customer_id=customer.id, created=True, logins=logins)
