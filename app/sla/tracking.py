"""Keeping a room's SLA clocks current, in the transaction of the change that moves them.

Callers (each holding the room's lock): `on_message` from the message path (a customer
message, an agent's reply: `conversations.messages`), `on_change` from the room's other
changes (close, reopen, snooze, wake, priority, team: `conversations.service`,
`snooze`, `merge`), `recompute` after a merge. The clocks are the pure fold of
`app.domain.sla`; this module reads and writes what it folds.

The message path is the hot one, so it does as little as it can:

- a message that changes no clock (the customer writing again before a reply, an agent
  writing twice) reads and writes nothing: the room's `sla_turn`, set by the message's own
  `UPDATE`, tells;
- a room of a customer without policies costs nothing, and the policy a room follows is
  found without a query (`live_policies`: each customer's, cached per process for a few
  seconds);
- otherwise the room's clocks are read from the room itself (`sla_state`, the copy of
  its `sla_clocks` rows, read with the locked room: no query); what moved — the clock
  rows, the copy and the room's summary — rides on the message's own `UPDATE` of the
  room (`conversations.store.record_message`), and `conversation_sla_updated` follows
  when the summary moved.

Any other change records a fact (`sla_facts`) and folds the room's whole history again:
those are rare, and folding the history is what makes the clocks explainable. When the
policy that applies has changed (another priority or team, an edited policy or calendar,
a new or deleted policy: compared by id and version at each of these moments), a `policy`
fact records it, with its targets and calendar as they are, so the history can be folded
the same way later.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

import msgspec

from app.conversations import activities
from app.conversations.shapes import sla_summary
from app.conversations.store import RoomRow, SlaColumns
from app.core.events import record_event
from app.domain import sla
from app.domain.business_time import Calendar, CalendarError, business_seconds, calendar_from
from app.domain.enums import ConversationStatus, EventType, NotificationType
from app.domain.principal import room_audience
from app.domain.resources import ConversationSlaOut, SlaClockOut
from app.domain.timefmt import fmt
from app.domain.topics import conversation_topic
from app.notifications import service as notifications
from app.sla import store
from app.sla.store import AppliedPolicy, ClockRow, NewClock, RoomSla

POLICY_CACHE_SECONDS = 5.0
"""How long a process trusts what it read of a customer's policies (and their calendars):
a policy made, changed or deleted in another process (or a calendar edited) reaches
this one's rooms at most this late; in this one, at once (`forget`)."""

_policies: dict[str, tuple[float, list[store.LivePolicy]]] = {}


async def live_policies(customer_id: Any) -> list[store.LivePolicy]:
    """The customer's live policies in match order, from a per-process cache: the message
    path of a customer without policies reads nothing, and one with policies finds the
    room's without a query."""
    key = str(customer_id)
    cached = _policies.get(key)
    clock = time.monotonic()
    if cached is not None and clock - cached[0] < POLICY_CACHE_SECONDS:
        return cached[1]
    found = await store.live_policies(key)
    _policies[key] = (clock, found)
    return found


def forget(customer_id: Any) -> None:
    """A policy of the customer was made, changed or deleted (in this process)."""
    _policies.pop(str(customer_id), None)


async def policy_for(room: RoomRow) -> AppliedPolicy | None:
    """The policy the room follows now: the first live one matching its priority and
    team (None: none does)."""
    for candidate in await live_policies(room.customer_id):
        if candidate.priority not in (None, room.priority):
            continue
        if candidate.team_id is not None and candidate.team_id != room.team_id:
            continue
        return candidate.applied
    return None


# --- the policy as the fold sees it ------------------------------------------------------------


def _seconds(minutes: int | None) -> int | None:
    return None if minutes is None else minutes * 60


@lru_cache(maxsize=1024)
def _policy(
    policy_id: str,
    first: int | None,
    next_: int | None,
    resolution: int | None,
    time_zone: str | None,
    periods: str | None,
    holidays: str | None,
) -> sla.Policy:
    calendar = None
    if time_zone is not None:
        try:
            calendar = calendar_from(
                time_zone,
                msgspec.json.decode(periods or "[]"),
                msgspec.json.decode(holidays or "[]"),
            )
        except (CalendarError, msgspec.DecodeError):
            calendar = None  # a stored calendar was checked when saved; never fail a message
    return sla.Policy(
        id=policy_id,
        first_response=first,
        next_response=next_,
        resolution=resolution,
        calendar=calendar,
    )


def policy_of(applied: AppliedPolicy) -> sla.Policy:
    return _policy(
        str(applied.id),
        _seconds(applied.first_response_minutes),
        _seconds(applied.next_response_minutes),
        _seconds(applied.resolution_minutes),
        applied.time_zone,
        applied.periods,
        applied.holidays,
    )


def _policy_detail(applied: AppliedPolicy | None, room: RoomRow) -> dict[str, Any]:
    """A `policy` fact: the targets and calendar as they are now, and the room's state."""
    detail: dict[str, Any] = {
        "closed": room.status == ConversationStatus.CLOSED.value,
        "snoozed": room.tm_snoozed is not None,
        "policy": None,
    }
    if applied is not None:
        detail["policy"] = {
            "id": str(applied.id),
            "version": fmt(applied.version),
            "first_response": _seconds(applied.first_response_minutes),
            "next_response": _seconds(applied.next_response_minutes),
            "resolution": _seconds(applied.resolution_minutes),
            "time_zone": applied.time_zone,
            "periods": applied.periods,
            "holidays": applied.holidays,
        }
    return detail


def _fact(row: store.FactRow) -> sla.Fact:
    if row.kind != sla.POLICY:
        return sla.Fact(row.at, row.kind)
    detail = msgspec.json.decode(row.detail)
    given = detail.get("policy")
    policy = None
    if given is not None:
        policy = _policy(
            given["id"],
            given["first_response"],
            given["next_response"],
            given["resolution"],
            given["time_zone"],
            given["periods"],
            given["holidays"],
        )
    return sla.Fact(
        row.at,
        sla.POLICY,
        policy=policy,
        closed=bool(detail.get("closed")),
        snoozed=bool(detail.get("snoozed")),
    )


async def history(conversation_id: Any) -> list[sla.Fact]:
    """A room's history as the fold reads it: its recorded changes and its counted
    messages, in time order (a change recorded at a message's instant comes first)."""
    messages, facts = await store.history(conversation_id)
    items: list[tuple[datetime, int, int, sla.Fact]] = [
        (f.at, 0, i, _fact(f)) for i, f in enumerate(facts)
    ]
    items += [
        (m.at, 1, i, sla.Fact(m.at, sla.CUSTOMER if m.inbound else sla.AGENT))
        for i, m in enumerate(messages)
    ]
    items.sort(key=lambda item: item[:3])
    return [item[3] for item in items]


# --- rows and clocks ---------------------------------------------------------------------


def clock_of(row: ClockRow | NewClock) -> sla.Clock:
    return sla.Clock(
        kind=row.kind,
        cycle=row.cycle,
        policy_id=str(row.policy_id),
        target=row.target_seconds,
        started_at=row.started_at,
        status=row.status,
        elapsed=row.elapsed_seconds,
        resumed_at=row.resumed_at,
        due_at=row.due_at,
        warn_at=row.warn_at,
        stopped_at=row.stopped_at,
        done_at=row.done_at,
        warned_at=row.warned_at,
    )


def stored_clock(clock: sla.Clock) -> NewClock:
    """A clock as its row and the room's copy store it."""
    return NewClock(
        policy_id=clock.policy_id,
        kind=clock.kind,
        status=clock.status,
        started_at=clock.started_at,
        due_at=clock.due_at,
        stopped_at=clock.stopped_at,
        warned_at=clock.warned_at,
        target_seconds=clock.target,
        elapsed_seconds=clock.elapsed,
        resumed_at=clock.resumed_at,
        warn_at=clock.warn_at,
        done_at=clock.done_at,
        cycle=clock.cycle,
    )


def _same_wait(a: sla.Clock | NewClock, b: sla.Clock) -> bool:
    return (a.kind, a.cycle, a.started_at) == (b.kind, b.cycle, b.started_at)


def clock_out(
    conversation_id: Any, clock: sla.Clock, at: datetime, calendar: Calendar | None
) -> SlaClockOut:
    """A clock as the API shows it; `elapsed_seconds` counted up to `at` while it runs
    (in `calendar`, the one it runs under)."""
    elapsed = clock.elapsed
    if clock.resumed_at is not None and clock.done_at is None and at > clock.resumed_at:
        elapsed += business_seconds(calendar, clock.resumed_at, at)
    return SlaClockOut(
        conversation_id=str(conversation_id),
        kind=clock.kind,
        cycle=clock.cycle,
        policy_id=clock.policy_id,
        target=clock.target // 60,
        status=clock.status,
        due=fmt(clock.due_at) if clock.due_at else None,
        warn_at=fmt(clock.warn_at) if clock.warn_at and clock.status == sla.RUNNING else None,
        elapsed_seconds=round(elapsed, 6),
        started=fmt(clock.started_at),
        stopped=fmt(clock.stopped_at) if clock.stopped_at else None,
        done=fmt(clock.done_at) if clock.done_at else None,
        warned=fmt(clock.warned_at) if clock.warned_at else None,
    )


# --- keeping them current -------------------------------------------------------------------


def _changed(room: RoomRow, applied: AppliedPolicy | None) -> bool:
    """Whether the room's clocks were last computed under another policy (or version)."""
    now_key = (applied.id, applied.version) if applied is not None else (None, None)
    return (room.sla_policy_id, room.sla_policy_tm) != now_key


class Moved(msgspec.Struct, kw_only=True):
    """What a message does to the room's clocks: the room's SLA columns and the clocks'
    write, for the message's own `UPDATE` of the room; whether its summary moved (its
    event), and the breaches found on the way (their events once the message's are
    written)."""

    columns: SlaColumns
    moved: bool
    breaches: list[sla.Clock]
    calendar: Calendar | None
    at: datetime


async def on_message(room: RoomRow, *, inbound: bool, at: datetime) -> Moved | None:
    """A counted message (a customer message, or an agent's reply) was stored in `room`
    (locked, as it was before the message): what it does to the clocks, for the caller's
    `UPDATE` of the room to write, and then `announce`. None: no clock moved (the common
    case: the customer writing again, a room without policy)."""
    turn_before = room.sla_turn
    if inbound and turn_before == sla.CUSTOMER:
        return None  # the customer writes again before a reply: no clock moves
    if not inbound and turn_before != sla.CUSTOMER:
        return None  # an agent writes first, or again: no wait ends
    applied = await policy_for(room)
    if applied is None and room.sla_policy_id is None:
        return None
    fact = sla.Fact(at, sla.CUSTOMER if inbound else sla.AGENT)
    rows = store.state_of(room.sla_state)  # the room's lock, held, covers its clocks
    if _changed(room, applied):
        await store.insert_fact(
            room.customer_id, room.id, at, sla.POLICY, _policy_detail(applied, room)
        )
        if turn_before is None and room.sla_policy_id is None:
            # a room's first counted message, under its first policy: its whole history
            # is that policy and this message (nothing else was recorded before)
            tracker = sla.fold([_policy_fact(applied, room, at), fact])
        else:
            tracker = sla.fold(await history(room.id))
    else:
        tracker = sla.Tracker.resume(
            closed=room.status == ConversationStatus.CLOSED.value,
            snoozed=room.tm_snoozed is not None,
            turn=turn_before,
            policy=policy_of(applied) if applied is not None else None,
            clocks=[clock_of(r) for r in rows],
        )
        tracker.apply(fact)
    room_sla, breaches, write, clocks = _clock_changes(
        room, tracker, rows, applied if tracker.policy else None, at
    )
    moved = (room.sla_kind, room.sla_status, room.sla_due_at) != (
        room_sla.kind,
        room_sla.status,
        room_sla.due_at,
    )
    columns = SlaColumns(
        policy_id=room_sla.policy_id,
        policy_tm=room_sla.policy_tm,
        kind=room_sla.kind,
        status=room_sla.status,
        due_at=room_sla.due_at,
        clocks=write,  # written with the message's own UPDATE of the room
        state=store.state_json(clocks),
        next_at=store.next_at(clocks),
    )
    calendar = tracker.policy.calendar if tracker.policy is not None else None
    return Moved(columns=columns, moved=moved, breaches=breaches, calendar=calendar, at=at)


def _policy_fact(applied: AppliedPolicy | None, room: RoomRow, at: datetime) -> sla.Fact:
    return sla.Fact(
        at,
        sla.POLICY,
        policy=policy_of(applied) if applied is not None else None,
        closed=room.status == ConversationStatus.CLOSED.value,
        snoozed=room.tm_snoozed is not None,
    )


async def announce(room: RoomRow, moved: Moved | None) -> None:
    """After the message's own events: the breaches it found, and the room's event when
    its summary moved (`room`: as the message's `UPDATE` left it)."""
    if moved is None:
        return
    for clock in moved.breaches:
        await alert(room, clock, breached=True, at=moved.at, calendar=moved.calendar)
    if moved.moved:
        await summary_event(room)


async def summary_event(room: RoomRow) -> None:
    """`conversation_sla_updated`: the room's `sla` moved without another change of the
    room (whose own event would carry it): the summary alone, so the message path does
    not read and send the whole room for it."""
    await record_event(
        str(room.customer_id),
        EventType.CONVERSATION_SLA_UPDATED,
        ConversationSlaOut(conversation_id=str(room.id), sla=sla_summary(room)),
        [conversation_topic(str(room.customer_id), str(room.id))],
        room_audience(room.owner_id),
    )


async def on_change(
    room: RoomRow,
    changes: list[str],
    at: datetime,
    *,
    history_moved: bool = False,
) -> RoomRow:
    """The room (locked; as the change left it) was closed, reopened, snoozed or woken
    (`changes`: those facts, in order), or its priority or team changed (`changes`
    empty: the policy that applies is looked up again), or messages moved in or out of
    it (`history_moved`: a merge). Returns the room as it now is, its SLA columns
    written: the caller's own room event carries them."""
    had = room.sla_policy_id is not None
    applied = await policy_for(room)
    if not had and applied is None:
        if history_moved:  # whose turn it is follows the messages that moved in or out
            return await store.set_turn(room.id)
        return room
    if had:
        for kind in changes:
            await store.insert_fact(room.customer_id, room.id, at, kind, {})
    if _changed(room, applied):
        await store.insert_fact(
            room.customer_id, room.id, at, sla.POLICY, _policy_detail(applied, room)
        )
    elif not (had and (changes or history_moved)):
        return room
    room = await recompute(room, at)
    if history_moved:  # and when that turn began (automation's time triggers count from it)
        room = await store.set_turn(room.id)
    return room


async def recompute(room: RoomRow, at: datetime) -> RoomRow:
    """Fold the room's whole history again and store the clocks it makes, and the room's
    SLA columns; the room as it now is."""
    tracker = sla.fold(await history(room.id))
    rows = store.state_of(room.sla_state)  # the room's lock, held, covers its clocks
    applied = None
    if tracker.policy is not None:
        applied = await store.policy_by_id(tracker.policy.id)
    room_sla, breaches, write, clocks = _clock_changes(room, tracker, rows, applied, at)
    if write is not None:
        items, args = write(1)
        await store.run_with(items, args)
    before = (
        str(room.sla_policy_id) if room.sla_policy_id else None,
        room.sla_policy_tm,
        room.sla_kind,
        room.sla_status,
        room.sla_due_at,
        room.sla_turn,
    )
    after = (
        room_sla.policy_id,
        room_sla.policy_tm,
        room_sla.kind,
        room_sla.status,
        room_sla.due_at,
        room_sla.turn,
    )
    if before != after or write is not None:
        room = await store.set_room(room.id, room_sla, clocks)
    calendar = tracker.policy.calendar if tracker.policy is not None else None
    for clock in breaches:
        await alert(room, clock, breached=True, at=at, calendar=calendar)
    return room


def _clock_changes(
    room: RoomRow,
    tracker: sla.Tracker,
    rows: list[NewClock],
    applied: AppliedPolicy | None,
    at: datetime,
) -> tuple[RoomSla, list[sla.Clock], Callable[[int], tuple[str, list[Any]]] | None, list[NewClock]]:
    """What the tracker's clocks change against the stored ones (the room's copy): the
    room's SLA columns they make, the breaches new since (their events are the caller's,
    once the room is written), the write of the clocks that changed (a kind no longer
    there loses its row; None: nothing to write) and the clocks as they now are (the
    room's copy)."""
    before = {r.kind: r for r in rows}
    clocks = tracker.at(at)
    for clock in clocks:
        old = before.get(clock.kind)
        if old is not None and _same_wait(old, clock):
            clock.warned_at = old.warned_at
    now = [stored_clock(c) for c in clocks]
    changed = [c for c in now if before.get(c.kind) != c]
    gone = [k for k in before if k not in {c.kind for c in clocks}]
    write = None
    if changed or gone:
        write = store.clocks_write(room.customer_id, room.id, changed, gone, at)
    breaches = [
        c
        for c in clocks
        if c.status == sla.BREACHED
        and (
            c.kind not in before
            or not _same_wait(before[c.kind], c)
            or before[c.kind].status != sla.BREACHED
        )
    ]
    summary = sla.summary(clocks, room.status == ConversationStatus.CLOSED.value)
    room_sla = RoomSla(
        policy_id=str(applied.id) if applied is not None else None,
        policy_tm=applied.version if applied is not None else None,
        kind=summary.kind if summary else None,
        status=summary.status if summary else None,
        due_at=summary.due_at if summary else None,
        turn=tracker.turn,
    )
    return room_sla, breaches, write, now


# --- warnings and breaches --------------------------------------------------------------------

_WHAT = {
    sla.FIRST_RESPONSE: "first response",
    sla.NEXT_RESPONSE: "next response",
    sla.RESOLUTION: "resolution",
}


def _minutes(seconds: int) -> str:
    minutes = seconds // 60
    if minutes % 60 == 0 and minutes >= 60:
        hours = minutes // 60
        return f"{hours} business hour{'s' if hours != 1 else ''}"
    return f"{minutes} business minute{'s' if minutes != 1 else ''}"


async def alert(
    room: RoomRow, clock: sla.Clock, *, breached: bool, at: datetime, calendar: Calendar | None
) -> None:
    """A clock's warning (80% of its target counted) or breach: its event, a system line
    in the room's timeline, and a notification for the room's assignee (or, while nobody
    has it, for the members of its team)."""
    out = clock_out(room.id, clock, at, calendar)
    await record_event(
        str(room.customer_id),
        EventType.CONVERSATION_SLA_BREACHED if breached else EventType.CONVERSATION_SLA_WARNING,
        out,
        [conversation_topic(str(room.customer_id), str(room.id))],
        room_audience(room.owner_id),
    )
    what = _WHAT[clock.kind]
    if breached:
        line = f"SLA breached: no {what} within {_minutes(clock.target)}"
    else:
        assert clock.due_at is not None
        line = f"SLA warning: {what} due by {clock.due_at.strftime('%Y-%m-%d %H:%M')} UTC"
    await activities.record(room, activities.SYSTEM, line)
    if room.owner_id is not None:
        targets = [str(room.owner_id)]
    elif room.team_id is not None:
        targets = await store.team_members(room.team_id)
    else:
        targets = []
    await notifications.about_room(
        str(room.customer_id),
        str(room.id),
        targets,
        NotificationType.SLA_BREACHED if breached else NotificationType.SLA_WARNING,
        notifications.room_label(line, room.name),
    )


def summary_of(room: RoomRow, clocks: list[sla.Clock]) -> RoomSla:
    """The room's summary from its clocks (the worker, after a warning or a breach)."""
    closed = room.status == ConversationStatus.CLOSED.value
    summary = sla.summary(clocks, closed)
    return RoomSla(
        policy_id=str(room.sla_policy_id) if room.sla_policy_id else None,
        policy_tm=room.sla_policy_tm,
        kind=summary.kind if summary else None,
        status=summary.status if summary else None,
        due_at=summary.due_at if summary else None,
        turn=room.sla_turn,
    )


# --- checking: the stored clocks against the history folded from scratch ----------------------

_COMPARED = (
    "kind",
    "cycle",
    "policy_id",
    "target",
    "started_at",
    "status",
    "elapsed",
    "resumed_at",
    "due_at",
    "warn_at",
    "stopped_at",
    "done_at",
)


async def recheck(room: RoomRow, at: datetime) -> list[str]:
    """Where the room's stored clocks (and its row's summary and turn) differ from its
    history folded from scratch, as of `at`; empty when they agree, as they must."""
    rows = await store.clocks(room.id)
    tracker = sla.fold(await history(room.id))
    stored = {r.kind: sla.standing(clock_of(r), at) for r in rows}
    fresh = {c.kind: c for c in tracker.at(at)}
    found = []
    for kind in sla.KINDS:
        a, b = stored.get(kind), fresh.get(kind)
        if (a is None) != (b is None):
            found.append(f"{kind}: stored {a is not None}, recomputed {b is not None}")
        elif a is not None and b is not None:
            b = as_recorded(a, b)
            for name in _COMPARED:
                if getattr(a, name) != getattr(b, name):
                    found.append(f"{kind}.{name}: {getattr(a, name)!r} != {getattr(b, name)!r}")
    summary = sla.summary([clock_of(r) for r in rows], room.status == "closed")
    shown = (summary.kind, summary.due_at) if summary else (None, None)
    if (room.sla_kind, room.sla_due_at) != shown:
        found.append(f"summary: {(room.sla_kind, room.sla_due_at)} != {shown}")
    if room.sla_turn != tracker.turn:
        found.append(f"turn: {room.sla_turn} != {tracker.turn}")
    copy = {c.kind: c for c in store.state_of(room.sla_state)}
    if copy != {r.kind: stored_clock(clock_of(r)) for r in rows}:
        found.append(f"the room's copy of its clocks differs from their rows: {copy}")
    if room.sla_next_at != store.next_at(rows):
        found.append(f"the worker's time: {room.sla_next_at} != {store.next_at(rows)}")
    return found


def as_recorded(stored: sla.Clock, fresh: sla.Clock) -> sla.Clock:
    """`fresh` as the stored clock records it: a breach the worker recorded at the due
    time the history gives stands, even before the clock of whoever asks reaches it (a
    worker whose clock is ahead, as in tests)."""
    if stored.status == sla.BREACHED and fresh.status == sla.RUNNING and fresh.due_at:
        if stored.stopped_at == fresh.due_at:
            return sla.standing(fresh, fresh.due_at)
    return fresh
