"""Agents' availability and the changes to agents that routing must hear about.

- An agent sets its own availability (`PUT /v1.0/me/availability`); an admin may set it,
  deactivate or reactivate the agent and change its capacity (`PUT /v1.0/agents/{id}`).
  Going online, being reactivated or getting more room lets the agent's teams' queues
  drain (routing.engine.drain); a deactivated or deleted agent's rooms return to routing
  (routing.engine.release_agent).
- Auto-offline: a desk connection proves its agent is there (`agents.tm_seen`, written
  on connect, on a heartbeat and on disconnect: app/desk/liveness.py). An agent whose
  desks gave no sign of life for `CONVODESK_AUTO_OFFLINE_AFTER` seconds becomes offline
  (the worker below); one that was online comes back online when a desk connection opens
  again (`auto_offline`). The state is in the database, so any process's desk proves life
  and any process's worker may flip the stale ones.

Every change writes `agent_availability_updated` (every agent sees who is online), and
admins' changes `agent_updated` and audit entries (app/people/agents.py).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from app.core.events import transaction
from app.core.ids import found
from app.domain.enums import AgentStatus, Availability
from app.domain.principal import Principal
from app.domain.resources import AgentOut, AgentUpdate
from app.domain.timefmt import now
from app.people import agent_store, agents
from app.people.agent_store import AgentChanges, AgentRow
from app.routing import engine, teams
from app.settings import Settings

log = logging.getLogger(__name__)

_NO_AGENT = ("agent_not_found", "agent")


async def _drain_for(row: AgentRow, trigger: str) -> None:
    customer_id, agent_id = str(row.customer_id), str(row.id)
    teams = await engine.teams_of_agent(customer_id, agent_id)
    if teams:
        await engine.drain(customer_id, teams, trigger=trigger)


async def _set(
    row: AgentRow, availability: Availability, *, auto_offline: bool = False
) -> AgentRow:
    """Set the locked `row`'s availability (an event when it changes); drain its teams'
    queues when it comes online."""
    if (row.availability, row.auto_offline) == (availability.value, auto_offline):
        return row
    after = await agent_store.update(
        row.id, AgentChanges(availability=availability.value, auto_offline=auto_offline), now()
    )
    await agents.record_availability(after)
    if availability is Availability.ONLINE and row.availability != Availability.ONLINE.value:
        await _drain_for(after, "agent_online")
    return after


async def set_own(principal: Principal, availability: Availability) -> AgentOut:
    """The agent's own switch. Choosing clears `auto_offline`: the agent decided."""
    async with transaction():
        row = found(await agent_store.locked(principal.customer_id, principal.agent_id), *_NO_AGENT)
        row = await _set(row, availability)
    return await agents.resource(row)


async def update_agent(principal: Principal, agent_id: str, data: AgentUpdate) -> AgentOut:
    """An admin's `PUT /v1.0/agents/{id}` (app/people/agents.change_agent), then what it
    means for routing."""
    changes = await agents.changes_of(data)
    async with transaction():
        change = await agents.change_agent(principal, agent_id, data, changes)
        if change.deactivated:
            name = agent_store.shown(change.after.name, change.after.username)
            await engine.release_agent(
                principal.customer_id, str(change.after.id), reason=f"{name} was deactivated"
            )
        elif change.may_take_more:
            await _drain_for(change.after, "agent_capacity")
    return await agents.resource(change.after)


async def delete_agent(principal: Principal, agent_id: str) -> AgentOut:
    """Delete the agent (app/people/agents.remove_agent); its open rooms return to routing."""
    async with transaction():
        teams_before = (await agents.get_agent(principal, agent_id)).team_ids
        gone = await agents.remove_agent(principal, agent_id)
        name = agent_store.shown(gone.name, gone.username)
        # its rooms first: the engine locks rooms before teams (app/routing/engine.py)
        await engine.release_agent(
            principal.customer_id, str(gone.id), reason=f"{name} was deleted"
        )
        await teams.agent_left_teams(principal.customer_id, sorted(teams_before))
    return agents.agent_out(gone)


# --- desk liveness and auto-offline ------------------------------------------------------


async def desk_opened(customer_id: str, agent_id: str) -> None:
    """A desk connection of the agent opened: it is there. One that went offline by
    itself comes back online (and its teams' queues drain)."""
    async with transaction():
        row = await agent_store.locked(customer_id, agent_id)
        if row is None:
            return
        await agent_store.mark_seen([agent_id], now())
        if (
            row.auto_offline
            and row.availability == Availability.OFFLINE.value
            and row.status == AgentStatus.ACTIVE.value
        ):
            await _set(row, Availability.ONLINE)


async def desks_alive(agent_ids: list[str]) -> None:
    """A heartbeat (or a disconnect) of these agents' desk connections."""
    await agent_store.mark_seen(agent_ids, now())


async def sweep_stale(after: timedelta) -> int:
    """Agents whose desks gave no sign of life for `after` become offline; how many."""
    total = 0
    while True:
        async with transaction():
            at = now()
            rows = await agent_store.went_stale(at - after, at)
            for row in rows:
                await agents.record_availability(row)
        total += len(rows)
        if len(rows) < 500:
            return total


def heartbeat_seconds(settings: Settings) -> float:
    """How often a desk proves life: several times within the auto-offline time, so one
    late beat never flips anyone, yet at most every 15 s (one UPDATE per process)."""
    return max(0.05, min(15.0, settings.auto_offline_after_seconds / 4))


def sweep_seconds(settings: Settings) -> float:
    return max(0.05, min(30.0, settings.auto_offline_after_seconds / 4))


async def run(settings: Settings) -> None:
    """The auto-offline worker (app/workers/runner.py)."""
    after = timedelta(seconds=settings.auto_offline_after_seconds)
    while True:
        try:
            if flipped := await sweep_stale(after):
                log.info("auto-offline: %d agent(s) without a desk went offline", flipped)
        except Exception:  # noqa: BLE001 - try again next round
            log.exception("auto-offline sweep failed")
        await asyncio.sleep(sweep_seconds(settings))


async def desk_signed_in(principal: Principal) -> None:
    """Signing in to the desk makes the agent what its profile chose
    (`default_availability`): an agent who starts the day online gets rooms at once."""
    async with transaction():
        row = await agent_store.locked(principal.customer_id, principal.agent_id)
        if row is None or row.status != AgentStatus.ACTIVE.value:
            return
        await _set(row, Availability(row.default_availability))
