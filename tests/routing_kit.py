"""Routing as tests set it up: a customer with agents and teams, made through the services
(agents) and plain SQL (teams, availability: the teams API is another package's), and
rooms arriving through the one inbound entry point. For async tests that call the
services in this process."""

from __future__ import annotations

import uuid
from typing import Any

from app.channels import accounts
from app.channels.account_store import AccountRow
from app.conversations import messages
from app.conversations import service as conversations
from app.core.events import transaction
from app.db import sql
from app.domain.enums import Permission
from app.domain.inbound import InboundMessage
from app.domain.principal import Principal
from app.domain.resources import AgentCreate, ConversationOut
from app.people import agents, customers
from app.routing import engine

PASSWORD = "routing-pass-1"


class Shop:
    """A customer, its admin, its agents by name, its teams and an SMS account."""

    def __init__(self) -> None:
        self.customer_id = ""
        self.admin: Principal
        self.agents: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.account: AccountRow
        self._peer = 0

    @classmethod
    async def open(cls, label: str = "shop", address: str = "+15550001000") -> Shop:
        shop = cls()
        customer, admin_id = await customers.create_customer(
            name=f"{label} Inc", username=f"{label}-admin", password=PASSWORD
        )
        shop.customer_id = customer.id
        shop.admin = principal(customer.id, admin_id, f"{label}-admin", Permission.ADMIN)
        shop.label = label
        shop.account = await accounts.create_account(
            customer.id, type="loopback", address=address, settings={"reference_type": "message"}
        )
        return shop

    async def agent(
        self,
        name: str,
        availability: str = "online",
        max_open: int | None = None,
        permission: Permission = Permission.AGENT,
    ) -> str:
        made = await agents.create_agent(
            self.admin,
            AgentCreate(
                username=f"{self.label}-{name.lower()}",
                password=PASSWORD,
                name=name,
                permission=permission,
            ),
        )
        await sql.execute(
            "UPDATE agents SET availability = $2, max_open = $3 WHERE id = $1",
            made.id,
            availability,
            max_open,
        )
        self.agents[name] = made.id
        self.names[made.id] = name
        return made.id

    def as_agent(self, name: str) -> Principal:
        return principal(
            self.customer_id, self.agents[name], f"{self.label}-{name.lower()}", Permission.AGENT
        )

    async def team(
        self,
        name: str,
        members: list[str],
        *,
        policy: str = "round_robin",
        max_open: int = 5,
        reassign_after: int = 0,
        account: AccountRow | None = None,
    ) -> str:
        team_id = str(uuid.uuid4())
        await sql.execute(
            "INSERT INTO teams (id, customer_id, name, assignment_policy, max_open,"
            " reassign_after) VALUES ($1, $2, $3, $4, $5, $6)",
            team_id,
            self.customer_id,
            name,
            policy,
            max_open,
            reassign_after,
        )
        for member in members:
            await sql.execute(
                "INSERT INTO team_members (customer_id, team_id, agent_id) VALUES ($1, $2, $3)",
                self.customer_id,
                team_id,
                self.agents[member],
            )
        if account is not None:
            await sql.execute(
                "INSERT INTO team_accounts (customer_id, team_id, account_id) VALUES ($1, $2, $3)",
                self.customer_id,
                team_id,
                account.id,
            )
        return team_id

    async def arrive(self, text: str = "hello", peer: str | None = None) -> str:
        """A message from a new person on the shop's account: its room's id."""
        if peer is None:
            self._peer += 1
            peer = f"+1555900{self._peer:04d}"
        received = await messages.receive(self.account, InboundMessage(peer=peer, text=text))
        return received.conversation_id

    async def room(self, room_id: str) -> ConversationOut:
        return await conversations.get_conversation(self.admin, room_id)

    async def owner(self, room_id: str) -> str | None:
        """The name of the room's owner, or None."""
        owner = (await self.room(room_id)).owner_id
        return self.names[owner] if owner else None

    async def set_availability(self, name: str, availability: str) -> None:
        """What the availability service does: the agent's availability, then its teams'
        queues served when it comes online."""
        agent_id = self.agents[name]
        async with transaction():
            await sql.execute(
                "UPDATE agents SET availability = $2 WHERE id = $1", agent_id, availability
            )
            if availability == "online":
                await engine.drain(
                    self.customer_id,
                    await engine.teams_of_agent(self.customer_id, agent_id),
                    trigger="online",
                )


def principal(customer_id: str, agent_id: str, username: str, permission: Permission) -> Principal:
    return Principal(
        customer_id=customer_id,
        agent_id=agent_id,
        username=username,
        permission=permission,
        via="token",
    )


async def events_of(customer_id: str, event_type: str) -> list[dict[str, Any]]:
    import msgspec

    rows = await sql.fetch(
        "SELECT payload::text AS payload, audience FROM events WHERE customer_id = $1"
        " AND type = $2 ORDER BY id",
        customer_id,
        event_type,
    )
    return [
        {**msgspec.json.decode(r["payload"]), "_audience": [str(a) for a in r["audience"]]}
        for r in rows
    ]


async def lines_of(room_id: str) -> list[str]:
    """The room's system lines, oldest first."""
    rows = await sql.fetch(
        "SELECT text FROM conversation_activities WHERE conversation_id = $1 AND kind = 'system'"
        " ORDER BY tm_create",
        room_id,
    )
    return [r["text"] for r in rows]


async def audit_of(room_id: str) -> list[dict[str, Any]]:
    import json

    rows = await sql.fetch(
        "SELECT actor_type, action, before::text AS before, after::text AS after FROM audit_log"
        " WHERE target_type = 'conversation' AND target_id = $1 ORDER BY id",
        room_id,
    )
    return [
        {
            "actor_type": r["actor_type"],
            "action": r["action"],
            "before": json.loads(r["before"]),
            "after": json.loads(r["after"]),
        }
        for r in rows
    ]
