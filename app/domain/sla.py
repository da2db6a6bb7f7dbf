"""SLA clocks as a pure function of a room's history.

A room's history, for its clocks, is a list of timestamped facts: the customer wrote, an
agent replied, the room was closed or reopened, snoozed or woken, and which policy (its
targets and calendar) applies from when. `Tracker` folds those facts, in time order, into
the room's clocks; the same fold serves three callers:

- the message path keeps the stored clocks current: it rebuilds a tracker from the stored
  rows (`Tracker.resume`) and applies the one new message (`apply`);
- a room change (closed, snoozed, another policy…) and the "recompute from scratch" check
  fold the whole history from the start;
- `GET /v1.0/conversations/{id}/sla` folds it with `explain=True`, which also keeps each
  clock's intervals: what counted, and why the rest did not.

The rules (docs/ARCHITECTURE.md, "SLA clocks"):

- `first_response` starts at the customer's first message when no agent wrote before it,
  and is met by the first agent reply; `next_response` starts at a customer message that
  follows an agent reply, and is met by the next agent reply (one clock per such wait:
  its `cycle`); `resolution` starts at the customer's first message and is met when the
  room closes; a reopen resumes it.
- A clock counts business time only (the policy's calendar; None = around the clock). It
  pauses while the room is closed or snoozed, and the resolution clock also while the
  room waits on the customer (the last message is an agent's reply). A closed room's
  response clocks stay paused: they never run on after a resolve.
- A clock is breached when the business seconds it counted reach its target before the
  reply (or the close); the breach time is its due time. It stays breached: a late reply
  ends the wait (`done_at`) but not the breach.
- A clock's warning time is when 80% of its target has been counted (`WARN_SHARE`).
- When the policy that applies changes, running clocks keep what they counted (in the
  calendar they ran under) and follow the new targets and calendar from then on; a kind
  the new policy has no target for loses its pending clock, and a kind that gains a
  target while its wait is open starts a clock at that moment.

Only the clocks a fact concerns are touched (a second customer message in a row touches
none), so applying a message to the stored state and folding the history from scratch do
the same arithmetic in the same order: their results are equal, not just close.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime

from app.domain.business_time import (
    Calendar,
    add_business_seconds,
    business_seconds,
    open_intervals,
)

FIRST_RESPONSE = "first_response"
NEXT_RESPONSE = "next_response"
RESOLUTION = "resolution"
KINDS = (FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION)
RESPONSE_KINDS = (FIRST_RESPONSE, NEXT_RESPONSE)

RUNNING = "running"
PAUSED = "paused"
MET = "met"
BREACHED = "breached"
WARNING = "warning"
"""Not a clock's status: the room summary's word for a running clock past its warning."""

# the facts
CUSTOMER = "customer"
AGENT = "agent"
CLOSED = "closed"
REOPENED = "reopened"
SNOOZED = "snoozed"
WOKE = "woke"
POLICY = "policy"
FACT_KINDS = (CUSTOMER, AGENT, CLOSED, REOPENED, SNOOZED, WOKE, POLICY)

# why a stretch of time did not count
OUTSIDE_BUSINESS_HOURS = "outside_business_hours"
WAITING_ON_CUSTOMER = "waiting_on_customer"

WARN_SHARE = 0.8
"""The warning comes when this share of the target has been counted."""


@dataclass(frozen=True)
class Policy:
    """What a room's clocks follow: targets in business seconds (None: no clock of that
    kind) and the calendar they count in (None: around the clock)."""

    id: str
    first_response: int | None = None
    next_response: int | None = None
    resolution: int | None = None
    calendar: Calendar | None = None

    def target(self, kind: str) -> int | None:
        value: int | None = getattr(self, kind)
        return value


@dataclass(frozen=True)
class Fact:
    at: datetime
    kind: str
    policy: Policy | None = None
    """For a `policy` fact: the policy that applies from `at` on (None: none does)."""
    closed: bool = False
    snoozed: bool = False
    """For a `policy` fact: the room's state then (facts before a room's first policy
    are not recorded, so the state comes with it)."""


@dataclass
class Segment:
    start: datetime
    end: datetime | None
    reason: str | None
    """Why the clock did not count (None: it counted, within business hours)."""
    calendar: Calendar | None


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime
    counted: bool
    reason: str | None


@dataclass
class Clock:
    kind: str
    cycle: int
    policy_id: str
    target: int
    """Seconds of business time."""
    started_at: datetime
    status: str = RUNNING
    elapsed: float = 0.0
    """Business seconds counted up to `resumed_at` (while it counts) or to the pause."""
    resumed_at: datetime | None = None
    """Since when it counts; None while paused or ended."""
    due_at: datetime | None = None
    """While running: when it breaches (None if the calendar never opens again); once
    breached: when it did. None while paused."""
    warn_at: datetime | None = None
    stopped_at: datetime | None = None
    """Met: the reply or close; breached: the breach."""
    done_at: datetime | None = None
    """When the wait ended (a reply, the close), in time or late; None while pending."""
    warned_at: datetime | None = None
    """When the warning was given (the worker's; carried, never computed here)."""
    segments: list[Segment] = field(default_factory=list)
    """With `explain`: its history, paused stretches with their reasons."""

    @property
    def pending(self) -> bool:
        return self.done_at is None


class Tracker:
    """One room's clocks, moved on fact by fact."""

    def __init__(
        self,
        *,
        closed: bool = False,
        snoozed: bool = False,
        turn: str | None = None,
        policy: Policy | None = None,
        clocks: list[Clock] | None = None,
        explain: bool = False,
    ) -> None:
        self.closed = closed
        self.snoozed = snoozed
        self.turn = turn
        """`customer` after a customer message, `agent` after an agent reply."""
        self.policy = policy
        self.clocks: dict[str, Clock] = {c.kind: c for c in clocks or []}
        self.past: list[Clock] = []
        """With `explain`: the earlier next-response clocks, replaced by later ones."""
        self.explain = explain
        self.waiting: str | None = None
        """The response kind whose wait is open (first or next), with or without a clock."""
        self.customer_seen = turn == CUSTOMER or RESOLUTION in self.clocks

    @classmethod
    def resume(
        cls,
        *,
        closed: bool,
        snoozed: bool,
        turn: str | None,
        policy: Policy | None,
        clocks: list[Clock],
    ) -> Tracker:
        """The tracker a room's stored state describes, to apply its next message to
        (the other facts are applied by folding the history again: `fold`)."""
        tracker = cls(closed=closed, snoozed=snoozed, turn=turn, policy=policy, clocks=clocks)
        for kind in RESPONSE_KINDS:
            if kind in tracker.clocks and tracker.clocks[kind].pending:
                tracker.waiting = kind
        return tracker

    # --- facts ----------------------------------------------------------------------------

    def apply(self, fact: Fact) -> None:
        t = fact.at
        if fact.kind == CUSTOMER:
            self._customer(t)
        elif fact.kind == AGENT:
            self._agent(t)
        elif fact.kind == CLOSED:
            self._closed(t)
        elif fact.kind == REOPENED:
            self._reopened(t)
        elif fact.kind == SNOOZED:
            self._snoozed(t, True)
        elif fact.kind == WOKE:
            self._snoozed(t, False)
        elif fact.kind == POLICY:
            self._policy(t, fact)
        else:
            raise ValueError(f"unknown fact {fact.kind!r}")

    def _customer(self, t: datetime) -> None:
        before = self.turn
        if before == CUSTOMER:
            return  # still waiting for the same reply: nothing moves
        self.turn = CUSTOMER
        self.customer_seen = True
        self.waiting = FIRST_RESPONSE if before is None else NEXT_RESPONSE
        self._start(self.waiting, t)
        resolution = self.clocks.get(RESOLUTION)
        if resolution is None:
            self._start(RESOLUTION, t)
        elif resolution.pending:
            self._settle(resolution, t)
            self._update(resolution, t)

    def _agent(self, t: datetime) -> None:
        if self.turn != CUSTOMER:
            self.turn = AGENT  # the agent wrote first, or again: no wait ends
            return
        self.turn = AGENT
        self.waiting = None
        for kind in RESPONSE_KINDS:
            clock = self.clocks.get(kind)
            if clock is not None and clock.pending:
                self._settle(clock, t)
                self._end(clock, t)
        resolution = self.clocks.get(RESOLUTION)
        if resolution is not None and resolution.pending:
            self._settle(resolution, t)
            self._update(resolution, t)

    def _closed(self, t: datetime) -> None:
        if self.closed:
            return
        pending = self._pending()
        for clock in pending:
            self._settle(clock, t)
        self.closed = True
        for clock in pending:
            if clock.kind == RESOLUTION:
                self._end(clock, t)
            else:
                self._update(clock, t)

    def _reopened(self, t: datetime) -> None:
        if not self.closed:
            return
        self.closed = False
        resolution = self.clocks.get(RESOLUTION)
        if resolution is not None and not resolution.pending:
            # the same resolution clock goes on from what it had counted
            if self.explain and resolution.done_at is not None and resolution.done_at < t:
                resolution.segments.append(Segment(resolution.done_at, t, CLOSED, self._calendar()))
            resolution.done_at = None
            if resolution.status == MET:
                resolution.stopped_at = None
                resolution.status = PAUSED
        elif resolution is None and self.customer_seen:
            self._start(RESOLUTION, t)
        for clock in self._pending():
            self._update(clock, t)

    def _snoozed(self, t: datetime, snoozed: bool) -> None:
        if self.snoozed == snoozed:
            return
        pending = self._pending()
        for clock in pending:
            self._settle(clock, t)
        self.snoozed = snoozed
        for clock in pending:
            self._update(clock, t)

    def _policy(self, t: datetime, fact: Fact) -> None:
        pending = self._pending()
        for clock in pending:
            self._settle(clock, t)
        self.closed, self.snoozed = fact.closed, fact.snoozed
        self.policy = fact.policy
        for kind in KINDS:
            current = self.clocks.get(kind)
            target = self.policy.target(kind) if self.policy is not None else None
            if current is not None and current.pending:
                if target is None:
                    del self.clocks[kind]
                    continue
                assert self.policy is not None
                current.target = target
                current.policy_id = self.policy.id
                self._update(current, t, recompute=True)
            elif target is not None and self._wait_open(kind):
                self._start(kind, t)

    def _wait_open(self, kind: str) -> bool:
        """Whether the wait of `kind` is open though it has no pending clock (for a policy
        that now gives it a target)."""
        if kind == RESOLUTION:
            return self.customer_seen and not self.closed and RESOLUTION not in self.clocks
        return self.waiting == kind

    # --- one clock --------------------------------------------------------------------------

    def _calendar(self) -> Calendar | None:
        return self.policy.calendar if self.policy is not None else None

    def _pending(self) -> list[Clock]:
        return [c for c in (self.clocks.get(k) for k in KINDS) if c is not None and c.pending]

    def _pause_reason(self, clock: Clock) -> str | None:
        if self.closed:
            return CLOSED
        if self.snoozed:
            return SNOOZED
        if clock.kind == RESOLUTION and self.turn != CUSTOMER:
            return WAITING_ON_CUSTOMER
        return None

    def _start(self, kind: str, t: datetime) -> None:
        target = self.policy.target(kind) if self.policy is not None else None
        if target is None:
            return
        assert self.policy is not None
        before = self.clocks.get(kind)
        cycle = before.cycle + 1 if before is not None and kind == NEXT_RESPONSE else 1
        if before is not None and self.explain:
            self.past.append(before)
        clock = Clock(kind=kind, cycle=cycle, policy_id=self.policy.id, target=target, started_at=t)
        self.clocks[kind] = clock
        self._update(clock, t, recompute=True)

    def _settle(self, clock: Clock, t: datetime) -> None:
        """Count the business time since the clock last resumed, up to `t`."""
        if clock.resumed_at is None:
            return
        if clock.status == RUNNING and clock.due_at is not None and clock.due_at <= t:
            clock.status = BREACHED
            clock.stopped_at = clock.due_at
        if t > clock.resumed_at:
            clock.elapsed += business_seconds(self._calendar(), clock.resumed_at, t)
        clock.resumed_at = t

    def _update(self, clock: Clock, t: datetime, *, recompute: bool = False) -> None:
        """After a change at `t` (the clock settled to `t`): does it count now, and when is
        it due? `recompute`: the target or calendar changed, so a running clock's times
        are worked out again even if it was running before."""
        reason = self._pause_reason(clock)
        calendar = self._calendar()
        if self.explain:
            self._segment(clock, t, reason, calendar)
        if reason is not None:
            clock.resumed_at = None
            if clock.status != BREACHED:
                clock.status = PAUSED
                clock.due_at = None
                clock.warn_at = None
            return
        was_running = clock.resumed_at is not None and clock.status == RUNNING
        clock.resumed_at = t
        if clock.status == BREACHED or (was_running and not recompute):
            return
        clock.status = RUNNING
        remaining = clock.target - clock.elapsed
        if remaining <= 0:
            clock.status = BREACHED
            clock.due_at = clock.stopped_at = t
            clock.warn_at = None
            return
        clock.due_at = add_business_seconds(calendar, t, remaining)
        warn = WARN_SHARE * clock.target - clock.elapsed
        clock.warn_at = add_business_seconds(calendar, t, warn) if warn > 0 else t

    def _end(self, clock: Clock, t: datetime) -> None:
        """The wait is over at `t` (a reply; the close, for the resolution clock)."""
        clock.done_at = t
        clock.resumed_at = None
        clock.warn_at = None
        if clock.status != BREACHED:
            clock.status = MET
            clock.stopped_at = t
        if self.explain and clock.segments and clock.segments[-1].end is None:
            clock.segments[-1].end = t

    def _segment(
        self, clock: Clock, t: datetime, reason: str | None, calendar: Calendar | None
    ) -> None:
        last = clock.segments[-1] if clock.segments else None
        if last is not None and last.end is None:
            if last.reason == reason and last.calendar == calendar:
                return
            if last.start >= t:
                clock.segments.pop()
            else:
                last.end = t
        clock.segments.append(Segment(t, None, reason, calendar))

    # --- reading ----------------------------------------------------------------------------

    def at(self, when: datetime) -> list[Clock]:
        """The clocks as they stand at `when` (a running clock past its due time is
        breached then), in kind order; copies."""
        out = []
        for kind in KINDS:
            clock = self.clocks.get(kind)
            if clock is not None:
                out.append(standing(clock, when))
        return out

    def history(self, when: datetime) -> list[Clock]:
        """With `explain`: every clock, the replaced next-response ones too, oldest first."""
        return [standing(c, when) for c in self.past] + self.at(when)


def standing(clock: Clock, when: datetime) -> Clock:
    """A copy of `clock` as it stands at `when`: a running clock whose due time has come
    is breached (at its due time), whether or not the worker has said so yet."""
    # a plain field copy: `copy.copy`'s generic protocol cost the message path more than
    # the arithmetic of the clock itself
    out = Clock.__new__(Clock)
    out.__dict__.update(clock.__dict__)
    out.segments = [copy.copy(s) for s in clock.segments]
    if out.status == RUNNING and out.due_at is not None and out.due_at <= when:
        out.status = BREACHED
        out.stopped_at = out.due_at
    return out


def fold(facts: list[Fact], *, explain: bool = False) -> Tracker:
    """The clocks a room's whole history makes (facts in time order)."""
    tracker = Tracker(explain=explain)
    for fact in facts:
        tracker.apply(fact)
    return tracker


def intervals(clock: Clock, when: datetime) -> list[Interval]:
    """A clock's history (from `fold(…, explain=True)`) as the stretches that counted
    and those that did not, with why: up to its end, or to `when` while pending."""
    out: list[Interval] = []
    limit = clock.done_at or when
    for seg in clock.segments:
        start = seg.start
        end = min(seg.end or limit, limit)
        if end <= start:
            continue
        if seg.reason is not None:
            _add(out, Interval(start, end, False, seg.reason))
            continue
        cursor = start
        for open_start, open_end in open_intervals(seg.calendar, start, end):
            if open_start > cursor:
                _add(out, Interval(cursor, open_start, False, OUTSIDE_BUSINESS_HOURS))
            _add(out, Interval(open_start, open_end, True, None))
            cursor = open_end
        if cursor < end:
            _add(out, Interval(cursor, end, False, OUTSIDE_BUSINESS_HOURS))
    return out


def _add(out: list[Interval], item: Interval) -> None:
    if (
        out
        and out[-1].end == item.start
        and (out[-1].counted, out[-1].reason)
        == (
            item.counted,
            item.reason,
        )
    ):
        out[-1] = Interval(out[-1].start, item.end, item.counted, item.reason)
    else:
        out.append(item)


@dataclass(frozen=True)
class Summary:
    """A room's most pressing clock: the inbox's badge, its order and filter."""

    kind: str
    status: str
    """`breached`, `warning` (running, its warning given), `running` or `paused`."""
    due_at: datetime | None


def summary(clocks: list[Clock], closed: bool) -> Summary | None:
    """A breached clock still waiting for its reply first (the earliest breach), else the
    running clock due soonest, else a paused one; none for a closed room (nothing more is
    expected of it)."""
    if closed:
        return None
    pending = [c for c in clocks if c.pending]
    breached = [c for c in pending if c.status == BREACHED]
    if breached:
        first = min(breached, key=lambda c: (c.stopped_at or c.started_at, KINDS.index(c.kind)))
        return Summary(first.kind, BREACHED, first.due_at)
    running = [c for c in pending if c.status == RUNNING and c.due_at is not None]
    if running:
        first = min(running, key=lambda c: (c.due_at, KINDS.index(c.kind)))
        return Summary(first.kind, WARNING if first.warned_at else RUNNING, first.due_at)
    waiting = [c for c in pending if c.status in (RUNNING, PAUSED)]
    if waiting:
        first = min(waiting, key=lambda c: KINDS.index(c.kind))
        return Summary(first.kind, first.status, None)
    return None
