"""What a change of agents means for a desk page.

- The agent's own rail switch (every desk page has `#me-switch`) shows its new
  availability (changed in another tab, by an admin, or by auto-offline).
- On the inbox pages, every agent's mark in the open room's assign menu follows its
  availability (partials/availability.html; the page's script applies it).
- On the admin Agents page (`page=agents`), the changed agent's row is pushed again
  (`agent-<id>`; at the top when the page lacks it, removed when the agent is deleted).
- On the admin Teams page (`page=teams`), each team's member and online counts and its
  avatars (`team-online-<id>`, `team-members-<id>`) are pushed again.
- On Admin → Automation (`page=automation`), a rule's or a shared macro's change pushes
  the rules (`rules-list`) or the macros (`macros`) again, as they are now.

Pushed as the same partials the pages render (`oob=True`). What is the same for every
admin socket of the customer (the row, the counts) is worked out once per event per process
through the hub's shared work; the admin pages' sockets are admins' only.
"""

from __future__ import annotations

from typing import Any, Protocol

from app.core.events import StoredEvent
from app.core.hub import Hub
from app.desk import admin_agents, admin_automation, admin_teams
from app.desk.render import remove, render, render_small
from app.domain.enums import EventType
from app.domain.principal import Principal

AGENT_EVENTS = frozenset({EventType.AGENT_AVAILABILITY_UPDATED, EventType.AGENT_UPDATED})
"""Events after which an agent's row on the Agents page may look different."""
TEAM_COUNT_EVENTS = AGENT_EVENTS | {EventType.TEAM_UPDATED}
"""Events after which a team's member or online count may be different."""
RULE_EVENTS = frozenset(
    {
        EventType.AUTOMATION_RULE_CREATED,
        EventType.AUTOMATION_RULE_UPDATED,
        EventType.AUTOMATION_RULE_DELETED,
    }
)
MACRO_EVENTS = frozenset(
    {EventType.MACRO_CREATED, EventType.MACRO_UPDATED, EventType.MACRO_DELETED}
)
PEOPLE_EVENTS = TEAM_COUNT_EVENTS | RULE_EVENTS | MACRO_EVENTS
"""The events the admin pages kept live follow (and the agent's own switch)."""
ADMIN_PAGES = frozenset({"agents", "teams", "automation"})


class Watcher(Protocol):
    principal: Principal
    page: str
    hub: Hub
    room_id: str | None


def fragments(conn: Watcher, data: dict[str, Any]) -> list[str]:
    """`agent_availability_updated`'s data (AgentOut) → the agent's own rail switch, and on
    the inbox pages the agent's mark in the open room's assign menu."""
    out: list[str] = []
    if conn.page == "inbox" and conn.room_id and data.get("id"):  # a room's menu is shown
        out.append(
            render_small(
                "partials/availability.html",
                agent_id=str(data["id"]),
                availability=str(data.get("availability") or "offline"),
                oob=True,
            )
        )
    if data.get("id") != conn.principal.agent_id:
        return out
    return out + [
        render(
            "partials/me_switch.html",
            principal=conn.principal,
            me_name=data.get("name") or conn.principal.username,
            me_availability=data.get("availability") or "offline",
            oob=True,
        )
    ]


async def admin_fragments(conn: Watcher, event: StoredEvent, data: dict[str, Any]) -> list[str]:
    """An agent or team event → what an admin page (Agents, Teams) shows of it."""
    if conn.page not in ADMIN_PAGES or not conn.principal.is_admin:
        return []
    shared = conn.hub.shared
    if conn.page == "agents" and event.type in AGENT_EVENTS and data.get("id"):
        agent_id = str(data["id"])
        you = agent_id == conn.principal.agent_id
        return [
            await shared.get(
                ("agentrow", event.customer_id, event.id, you),
                lambda: _agent_row(conn.principal, agent_id, you),
            )
        ]
    if conn.page == "teams" and event.type in TEAM_COUNT_EVENTS:
        return [
            await shared.get(
                ("teamcounts", event.customer_id, event.id),
                lambda: _team_counts(conn.principal),
            )
        ]
    if conn.page == "automation" and event.type in RULE_EVENTS | MACRO_EVENTS:
        if event.type in MACRO_EVENTS and data.get("owner_id"):
            return []  # an admin's personal macro: not on this page
        part = "rules" if event.type in RULE_EVENTS else "macros"
        return [
            await shared.get(
                ("automation", part, event.customer_id, event.id),
                lambda: _automation(conn.principal, part),
            )
        ]
    return []


async def _automation(principal: Principal, part: str) -> str:
    """The page's rules or shared macros as they are now."""
    context = await admin_automation.lists_context(principal)
    return render(f"admin/automation_{part}.html", oob=True, **context)


async def _agent_row(principal: Principal, agent_id: str, you: bool) -> str:
    """The agent's row as it is now (the replay of older events ends on the same row)."""
    context = await admin_agents.row_context(principal, agent_id)
    if context is None:
        return remove(f"agent-{agent_id}")
    return render("admin/agent_row.html", principal=principal, you=you, oob=True, **context)


async def _team_counts(principal: Principal) -> str:
    """Every team's counts and avatars, as they are now (a customer has a few teams)."""
    context = await admin_teams.online_context(principal)
    parts: list[str] = []
    for team in context["team_list"]:
        parts.append(render("admin/team_online.html", t=team, oob=True, **context))
        parts.append(render("admin/team_members.html", t=team, oob=True, **context))
    return "\n".join(parts)
