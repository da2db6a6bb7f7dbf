"""SLA policies (`/v1.0/sla_policies`: any agent reads them, admins change them) and a
room's clocks explained (`GET /v1.0/conversations/{id}/sla`).

A policy names a priority and a team (null: any), the calendar its targets count in
(null: around the clock) and up to three targets in business minutes; at least one.
Every change records `sla_policy_created|updated|deleted` (the resource) and an audit
entry (tenant configuration, like teams). Rooms follow a change from their next message
turn, close, reopen, snooze, wake, or priority or team change (app/sla/tracking.py).
"""

from __future__ import annotations

from typing import Any

import msgspec

from app.audit import log as audit
from app.conversations import service as conversations
from app.core.events import record_event, transaction
from app.core.ids import found, parse_id
from app.domain import sla
from app.domain.enums import EventType
from app.domain.errors import InvalidInput, NotFound
from app.domain.principal import Principal, require_admin
from app.domain.resources import (
    SlaClockAuditOut,
    SlaClockList,
    SlaIntervalOut,
    SlaPolicyCreate,
    SlaPolicyOut,
    SlaPolicyUpdate,
)
from app.domain.timefmt import fmt, now
from app.sla import store, tracking
from app.sla.store import PolicyChanges, PolicyRow

_NOT_FOUND = ("sla_policy_not_found", "SLA policy")
TARGETS = ("first_response_minutes", "next_response_minutes", "resolution_minutes")


def policy_out(row: PolicyRow) -> SlaPolicyOut:
    return SlaPolicyOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        name=row.name,
        priority=row.priority,
        team_id=str(row.team_id) if row.team_id else None,
        business_hours_id=str(row.business_hours_id) if row.business_hours_id else None,
        first_response_minutes=row.first_response_minutes,
        next_response_minutes=row.next_response_minutes,
        resolution_minutes=row.resolution_minutes,
        tm_create=fmt(row.tm_create),
        tm_update=fmt(row.tm_update),
        tm_delete=fmt(row.tm_delete),
    )


def policy_topic(customer_id: str, policy_id: str) -> str:
    return f"customer_id:{customer_id}:sla_policy:{policy_id}"


async def _event(type: EventType, out: SlaPolicyOut) -> None:
    """Every agent may read policies: the events reach all of them (and webhooks)."""
    await record_event(out.customer_id, type, out, [policy_topic(out.customer_id, out.id)])


async def _audit(
    principal: Principal, verb: str, before: SlaPolicyOut | None, after: SlaPolicyOut | None
) -> None:
    target = after or before
    assert target is not None
    await audit.record(
        principal.customer_id,
        principal,
        f"sla_policy.{verb}",
        "sla_policy",
        target.id,
        before,
        after,
    )


async def _check_references(
    principal: Principal, team_id: str | None, business_hours_id: str | None
) -> None:
    """A team and a calendar of the caller's customer; another customer's, a deleted or
    an unknown one is a 404, as a foreign id everywhere."""
    if team_id is not None and not await store.team_exists(principal.customer_id, team_id):
        raise NotFound("team_not_found", "There is no such team.")
    if business_hours_id is not None and not await store.business_hours_exists(
        principal.customer_id, business_hours_id
    ):
        raise NotFound("business_hours_not_found", "There are no such business hours.")


def _check_targets(values: dict[str, Any]) -> None:
    if all(values.get(t) is None for t in TARGETS):
        raise InvalidInput(
            "sla_target_required",
            "An SLA policy needs at least one target: first response, next response or"
            " resolution, in minutes.",
            fields=[{"field": t, "message": "one of these is required"} for t in TARGETS],
        )


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None


# --- the service ---------------------------------------------------------------------------


async def create(principal: Principal, data: SlaPolicyCreate) -> SlaPolicyOut:
    require_admin(principal)
    values: dict[str, Any] = {
        "name": data.name.strip(),
        "priority": data.priority.value if data.priority is not None else None,
        "team_id": _lower(data.team_id),
        "business_hours_id": _lower(data.business_hours_id),
        "first_response_minutes": data.first_response_minutes,
        "next_response_minutes": data.next_response_minutes,
        "resolution_minutes": data.resolution_minutes,
    }
    _check_name(values["name"])
    _check_targets(values)
    await _check_references(principal, values["team_id"], values["business_hours_id"])
    async with transaction():
        out = policy_out(await store.insert(principal.customer_id, **values))
        await _audit(principal, "created", None, out)
        await _event(EventType.SLA_POLICY_CREATED, out)
    tracking.forget(principal.customer_id)
    return out


def _check_name(name: str) -> None:
    if not name:
        raise InvalidInput(
            "invalid_name",
            "An SLA policy needs a name.",
            fields=[{"field": "name", "message": "must not be blank"}],
        )


async def get(principal: Principal, policy_id: str) -> SlaPolicyOut:
    policy_id = parse_id(policy_id, *_NOT_FOUND)
    return policy_out(found(await store.live(principal.customer_id, policy_id), *_NOT_FOUND))


async def list_page(
    principal: Principal, *, page_size: int = 100, page_token: str | None = None
) -> tuple[list[SlaPolicyOut], str]:
    """Newest first, as every API list."""
    rows, token = await store.page(principal.customer_id, page_size, page_token)
    return [policy_out(r) for r in rows], token


async def in_match_order(principal: Principal) -> list[SlaPolicyOut]:
    """Every policy in the order rooms are matched to them (the admin page)."""
    return [policy_out(r) for r in await store.all_live(principal.customer_id)]


async def calendars(principal: Principal) -> dict[str, str]:
    """The customer's business hours by id, with their names (what a policy may count in)."""
    return await store.calendars(principal.customer_id)


async def update(principal: Principal, policy_id: str, data: SlaPolicyUpdate) -> SlaPolicyOut:
    require_admin(principal)
    policy_id = parse_id(policy_id, *_NOT_FOUND)
    given: dict[str, Any] = {}
    for field in SlaPolicyUpdate.__struct_fields__:
        value = getattr(data, field)
        if value is msgspec.UNSET:
            continue
        if field == "priority" and value is not None:
            value = value.value
        elif field in ("team_id", "business_hours_id"):
            value = _lower(value)
        elif field == "name":
            value = value.strip()
            _check_name(value)
        given[field] = value
    async with transaction():
        row = found(await store.locked(principal.customer_id, policy_id), *_NOT_FOUND)
        before = policy_out(row)
        _check_targets({t: given.get(t, getattr(row, t)) for t in TARGETS})
        current = msgspec.to_builtins(before)
        if all(current[f] == v for f, v in given.items()):
            return before  # nothing changes: no event, no entry, the update time stays
        await _check_references(
            principal,
            given.get("team_id") if "team_id" in given else None,
            given.get("business_hours_id") if "business_hours_id" in given else None,
        )
        after = policy_out(await store.update(row.id, PolicyChanges(**given), now()))
        await _audit(principal, "updated", before, after)
        await _event(EventType.SLA_POLICY_UPDATED, after)
    tracking.forget(principal.customer_id)
    return after


async def delete(principal: Principal, policy_id: str) -> SlaPolicyOut:
    require_admin(principal)
    policy_id = parse_id(policy_id, *_NOT_FOUND)
    async with transaction():
        row = found(await store.locked(principal.customer_id, policy_id), *_NOT_FOUND)
        before = policy_out(row)
        out = policy_out(await store.soft_delete(row.id, now()))
        await _audit(principal, "deleted", before, None)
        await _event(EventType.SLA_POLICY_DELETED, out)
    tracking.forget(principal.customer_id)
    return out


# --- a room's clocks, explained ------------------------------------------------------------


async def room_clocks(principal: Principal, conversation_id: str) -> SlaClockList:
    """Every clock the room has had, recomputed from its stored history (messages and
    recorded changes) with the intervals that counted and why the others did not."""
    room = await conversations.get_room(principal, conversation_id)
    tracker = sla.fold(await tracking.history(room.id), explain=True)
    at = now()
    stored = {r.kind: r for r in await store.clocks(room.id)}
    result = []
    for clock in tracker.history(at):
        kept = stored.get(clock.kind)
        if kept is not None and (kept.cycle, kept.started_at) == (clock.cycle, clock.started_at):
            clock.warned_at = kept.warned_at
            clock = tracking.as_recorded(tracking.clock_of(kept), clock)
        calendar = clock.segments[-1].calendar if clock.segments else None
        shown = tracking.clock_out(room.id, clock, at, calendar)
        result.append(
            SlaClockAuditOut(
                **msgspec.structs.asdict(shown),
                intervals=[
                    SlaIntervalOut(
                        start=fmt(i.start), end=fmt(i.end), counted=i.counted, reason=i.reason
                    )
                    for i in sla.intervals(clock, at)
                ],
            )
        )
    return SlaClockList(result=result)
