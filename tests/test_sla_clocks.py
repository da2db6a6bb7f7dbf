"""SLA clocks as a pure function of a room's history (app/domain/sla.py): each kind's
start, pause reasons, resumes, business hours, reopen, policy changes, warnings, the
room's summary, the intervals that explain a clock, and that applying one message to the
stored state gives exactly what folding the whole history gives."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pytest

from app.domain import sla
from app.domain.business_time import business_seconds, calendar_from
from app.domain.sla import (
    AGENT,
    BREACHED,
    CLOSED,
    CUSTOMER,
    FIRST_RESPONSE,
    MET,
    NEXT_RESPONSE,
    PAUSED,
    POLICY,
    REOPENED,
    RESOLUTION,
    RUNNING,
    SNOOZED,
    WOKE,
    Fact,
    Policy,
)

pytestmark = pytest.mark.pure

MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def at(minutes: float, base: datetime = MONDAY) -> datetime:
    return base + timedelta(minutes=minutes)


def policy(first=15, next_=30, resolution=240, calendar=None, id="p") -> Policy:
    def sec(m):
        return None if m is None else m * 60

    return Policy(
        id=id,
        first_response=sec(first),
        next_response=sec(next_),
        resolution=sec(resolution),
        calendar=calendar,
    )


def run(*facts: tuple[float, str], p: Policy | None = None, base: datetime = MONDAY, explain=True):
    """Fold a policy (from before the first fact) and `(minute, kind)` facts."""
    history = [Fact(base - timedelta(minutes=1), POLICY, policy=p or policy())]
    history += [Fact(at(m, base), kind) for m, kind in facts]
    return sla.fold(history, explain=explain)


def clocks(tracker, minute: float, base: datetime = MONDAY) -> dict[str, sla.Clock]:
    return {c.kind: c for c in tracker.at(at(minute, base))}


LUNCH = calendar_from(
    "UTC",
    [{"day": d, "start": "09:00", "end": "12:00"} for d in range(5)]
    + [{"day": d, "start": "13:00", "end": "17:00"} for d in range(5)],
    [{"date": "2026-12-25", "yearly": True, "name": "Christmas"}],
)


# --- first response ---------------------------------------------------------------------


def test_first_response_runs_from_the_first_customer_message_and_is_met_by_a_reply():
    t = run((0, CUSTOMER), (5, CUSTOMER), (10, AGENT))
    first = clocks(t, 20)[FIRST_RESPONSE]
    assert first.status == MET
    assert first.started_at == at(0) and first.stopped_at == first.done_at == at(10)
    assert first.elapsed == 600
    assert first.due_at == at(15)


def test_a_late_reply_ends_the_wait_but_not_the_breach():
    t = run((0, CUSTOMER), (40, AGENT))
    first = clocks(t, 50)[FIRST_RESPONSE]
    assert first.status == BREACHED
    assert first.stopped_at == at(15)  # the breach is its due time
    assert first.done_at == at(40)


def test_a_running_clock_past_its_due_time_stands_breached_before_anyone_says_so():
    t = run((0, CUSTOMER))
    assert clocks(t, 14)[FIRST_RESPONSE].status == RUNNING
    breached = clocks(t, 16)[FIRST_RESPONSE]
    assert breached.status == BREACHED and breached.stopped_at == at(15)
    # the tracker itself is untouched: standing() reads, it does not change
    assert t.clocks[FIRST_RESPONSE].status == RUNNING


def test_an_agent_writing_first_means_no_first_response_clock():
    t = run((0, AGENT), (5, CUSTOMER))
    now = clocks(t, 6)
    assert FIRST_RESPONSE not in now
    assert now[NEXT_RESPONSE].status == RUNNING and now[NEXT_RESPONSE].cycle == 1
    assert now[RESOLUTION].started_at == at(5)  # resolution starts at the customer's message


def test_the_warning_comes_at_eighty_percent_of_the_target():
    t = run((0, CUSTOMER))
    assert clocks(t, 1)[FIRST_RESPONSE].warn_at == at(12)
    assert clocks(t, 1)[RESOLUTION].warn_at == at(192)


# --- next response ----------------------------------------------------------------------


def test_each_customer_message_after_a_reply_starts_a_new_next_response_clock():
    t = run((0, CUSTOMER), (2, AGENT), (10, CUSTOMER), (12, CUSTOMER), (20, AGENT), (30, CUSTOMER))
    history = t.history(at(35))
    nexts = [c for c in history if c.kind == NEXT_RESPONSE]
    assert [(c.cycle, c.status, c.started_at) for c in nexts] == [
        (1, MET, at(10)),  # the second customer message in a row changes nothing
        (2, RUNNING, at(30)),
    ]
    assert nexts[0].done_at == at(20)


# --- resolution and pauses ------------------------------------------------------------------


def test_resolution_pauses_while_the_customer_owes_a_reply():
    t = run((0, CUSTOMER), (10, AGENT), (70, CUSTOMER))
    resolution = clocks(t, 80)[RESOLUTION]
    assert resolution.status == RUNNING
    assert resolution.elapsed == 600  # 0-10 counted; 10-70 waited on the customer
    assert resolution.due_at == at(70 + 230)
    paused = clocks(run((0, CUSTOMER), (10, AGENT)), 30)[RESOLUTION]
    assert paused.status == PAUSED and paused.due_at is None


def test_closing_meets_resolution_and_a_reopen_resumes_it():
    t = run((0, CUSTOMER), (30, CLOSED))
    resolution = clocks(t, 40)[RESOLUTION]
    assert (resolution.status, resolution.stopped_at, resolution.done_at) == (MET, at(30), at(30))
    t = run((0, CUSTOMER), (30, CLOSED), (100, REOPENED))
    resolution = clocks(t, 110)[RESOLUTION]
    assert resolution.status == RUNNING and resolution.done_at is None
    assert resolution.elapsed == 1800 and resolution.due_at == at(100 + 210)


def test_a_closed_room_stops_its_response_clocks_from_breaching():
    """Chatwoot #10178: the next-response clock must not run on after a resolve."""
    t = run((0, CUSTOMER), (2, AGENT), (10, CUSTOMER), (12, CLOSED))
    nxt = clocks(t, 24 * 60)[NEXT_RESPONSE]
    assert nxt.status == PAUSED and nxt.due_at is None and nxt.elapsed == 120
    # reopened, it goes on from the two minutes it had counted
    t = run((0, CUSTOMER), (2, AGENT), (10, CUSTOMER), (12, CLOSED), (60, REOPENED))
    assert clocks(t, 61)[NEXT_RESPONSE].due_at == at(60 + 28)


def test_a_breached_resolution_stays_breached_through_close_and_reopen():
    t = run((0, CUSTOMER), (300, CLOSED), (310, REOPENED), (320, CLOSED))
    resolution = clocks(t, 330)[RESOLUTION]
    assert resolution.status == BREACHED and resolution.stopped_at == at(240)
    assert resolution.done_at == at(320)


def test_snoozing_pauses_every_clock_and_waking_resumes_them():
    t = run((0, CUSTOMER), (5, SNOOZED), (65, WOKE))
    now = clocks(t, 66)
    assert now[FIRST_RESPONSE].due_at == at(65 + 10)
    assert now[RESOLUTION].due_at == at(65 + 235)
    paused = clocks(run((0, CUSTOMER), (5, SNOOZED)), 600)
    assert all(c.status == PAUSED for c in paused.values())


def test_snoozed_then_closed_then_reopened_counts_again_only_after_the_reopen():
    t = run((0, CUSTOMER), (5, SNOOZED), (10, CLOSED), (10, WOKE), (100, REOPENED))
    first = clocks(t, 101)[FIRST_RESPONSE]
    assert first.status == RUNNING and first.elapsed == 300 and first.due_at == at(110)


# --- business hours -----------------------------------------------------------------------------


def test_due_times_skip_lunch_evenings_weekends_and_holidays():
    p = policy(first=15, resolution=120, calendar=LUNCH)
    # 11:50 on a Monday: ten minutes before lunch, five after
    assert clocks(run((170, CUSTOMER), p=p), 171)[FIRST_RESPONSE].due_at == at(245)
    # 16:55 on a Friday: five minutes, then the weekend, then Monday 09:10
    friday = datetime(2026, 12, 11, 16, 55, tzinfo=UTC)
    due = clocks(run((0, CUSTOMER), p=p, base=friday), 0, friday)[FIRST_RESPONSE].due_at
    assert due == datetime(2026, 12, 14, 9, 10, tzinfo=UTC)
    # Christmas Eve 16:50 (a Thursday): Christmas is a holiday, so the next Monday
    eve = datetime(2026, 12, 24, 16, 50, tzinfo=UTC)
    due = clocks(run((0, CUSTOMER), p=p, base=eve), 0, eve)[FIRST_RESPONSE].due_at
    assert due == datetime(2026, 12, 28, 9, 5, tzinfo=UTC)
    # a message at night starts counting at the next opening
    night = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)
    due = clocks(run((0, CUSTOMER), p=p, base=night), 0, night)[FIRST_RESPONSE].due_at
    assert due == datetime(2026, 12, 8, 9, 15, tzinfo=UTC)


def test_business_time_follows_the_calendars_time_zone_across_a_dst_change():
    new_york = calendar_from(
        "America/New_York", [{"day": d, "start": "09:00", "end": "17:00"} for d in range(7)], []
    )
    p = policy(first=60, calendar=new_york)
    # Saturday 7 March 2026, 16:30 EST = 21:30 UTC; clocks go forward that night
    saturday = datetime(2026, 3, 7, 21, 30, tzinfo=UTC)
    due = clocks(run((0, CUSTOMER), p=p, base=saturday), 0, saturday)[FIRST_RESPONSE].due_at
    # 30 minutes on Saturday, then 09:30 EDT on Sunday = 13:30 UTC
    assert due == datetime(2026, 3, 8, 13, 30, tzinfo=UTC)


def test_a_reply_outside_business_hours_counts_only_the_open_time():
    p = policy(first=60, calendar=LUNCH)
    t = run((160, CUSTOMER), (250, AGENT), p=p)  # 11:40 to 13:10
    assert clocks(t, 300)[FIRST_RESPONSE].elapsed == 30 * 60


# --- policy changes -------------------------------------------------------------------------


def test_running_clocks_follow_a_new_policys_targets_with_what_they_counted():
    urgent = policy(first=15, resolution=60, id="urgent")
    t = sla.fold(
        [
            Fact(at(-1), POLICY, policy=policy(first=60, resolution=240)),
            Fact(at(0), CUSTOMER),
            Fact(at(10), POLICY, policy=urgent),
        ],
        explain=True,
    )
    now = clocks(t, 11)
    assert now[FIRST_RESPONSE].due_at == at(15) and now[FIRST_RESPONSE].policy_id == "urgent"
    assert now[FIRST_RESPONSE].target == 15 * 60
    # a target already passed when it is set: breached at the change
    t.apply(Fact(at(12), POLICY, policy=policy(first=5, resolution=60, id="strict")))
    now = clocks(t, 13)
    assert now[FIRST_RESPONSE].status == BREACHED and now[FIRST_RESPONSE].stopped_at == at(12)


def test_a_kind_the_new_policy_lacks_loses_its_pending_clock_and_one_it_gains_starts_then():
    t = sla.fold(
        [
            Fact(at(-1), POLICY, policy=policy(first=None, resolution=240)),
            Fact(at(0), CUSTOMER),
            Fact(at(10), POLICY, policy=policy(first=15, resolution=None)),
        ]
    )
    now = clocks(t, 11)
    assert RESOLUTION not in now
    assert now[FIRST_RESPONSE].started_at == at(10) and now[FIRST_RESPONSE].due_at == at(25)


def test_a_first_policy_starts_the_clocks_of_waits_already_open_at_that_moment():
    t = sla.fold(
        [Fact(at(0), CUSTOMER), Fact(at(5), AGENT), Fact(at(7), CUSTOMER)]
        + [Fact(at(30), POLICY, policy=policy())]
    )
    now = clocks(t, 31)
    assert set(now) == {NEXT_RESPONSE, RESOLUTION}
    assert now[NEXT_RESPONSE].started_at == at(30) and now[NEXT_RESPONSE].due_at == at(60)
    # a room closed when its first policy comes: only a reopen starts its resolution
    t = sla.fold(
        [Fact(at(0), CUSTOMER), Fact(at(30), POLICY, policy=policy(), closed=True)]
        + [Fact(at(40), REOPENED)]
    )
    assert clocks(t, 41)[RESOLUTION].started_at == at(40)


def test_no_policy_means_no_clocks():
    t = sla.fold([Fact(at(0), CUSTOMER), Fact(at(5), AGENT), Fact(at(6), POLICY, policy=None)])
    assert t.at(at(7)) == []
    t = run((0, CUSTOMER))
    t.apply(Fact(at(5), POLICY, policy=None))
    assert t.at(at(6)) == []


# --- the summary ----------------------------------------------------------------------------


def test_the_summary_is_the_most_pressing_clock():
    t = run((0, CUSTOMER))
    assert sla.summary(t.at(at(1)), False) == sla.Summary(FIRST_RESPONSE, RUNNING, at(15))
    warned = t.at(at(13))
    warned[0].warned_at = at(12)
    assert sla.summary(warned, False) == sla.Summary(FIRST_RESPONSE, sla.WARNING, at(15))
    assert sla.summary(t.at(at(20)), False) == sla.Summary(FIRST_RESPONSE, BREACHED, at(15))
    replied = run((0, CUSTOMER), (5, AGENT))
    assert sla.summary(replied.at(at(6)), False) == sla.Summary(RESOLUTION, PAUSED, None)
    assert sla.summary(t.at(at(1)), True) is None  # closed: nothing more is expected


# --- intervals ---------------------------------------------------------------------------------


def test_intervals_say_what_counted_and_why_the_rest_did_not():
    p = policy(first=None, next_=None, resolution=600, calendar=LUNCH)
    t = run((100, CUSTOMER), (130, AGENT), (140, CUSTOMER), (160, SNOOZED), (230, WOKE), p=p)
    resolution = t.history(at(260))[0]
    got = [(i.start, i.end, i.counted, i.reason) for i in sla.intervals(resolution, at(260))]
    assert got == [
        (at(100), at(130), True, None),
        (at(130), at(140), False, "waiting_on_customer"),
        (at(140), at(160), True, None),
        (at(160), at(230), False, "snoozed"),
        (at(230), at(240), False, "outside_business_hours"),  # lunch
        (at(240), at(260), True, None),
    ]
    counted = sum(
        (i.end - i.start).total_seconds() for i in sla.intervals(resolution, at(260)) if i.counted
    )
    standing = t.at(at(260))[0]
    assert standing.elapsed + business_seconds(LUNCH, standing.resumed_at, at(260)) == counted


def test_a_clocks_intervals_end_with_its_wait():
    t = run((0, CUSTOMER), (10, AGENT))
    first = t.history(at(100))[0]
    assert [(i.start, i.end) for i in sla.intervals(first, at(100))] == [(at(0), at(10))]


# --- one message on the stored state equals the whole history folded ------------------------------

STORED = [f.name for f in dataclasses.fields(sla.Clock) if f.name not in ("segments",)]


def _stored(tracker: sla.Tracker) -> list[dict]:
    return [
        {k: getattr(c, k) for k in STORED} for c in tracker.at(datetime.max.replace(tzinfo=UTC))
    ]


@pytest.mark.parametrize("seed", range(12))
def test_applying_each_message_to_the_stored_clocks_equals_folding_the_history(seed):
    """What the message path does (rebuild from the stored rows, apply the message) and
    what a change or a check does (fold everything) agree exactly, through random
    histories over a calendar with a lunch break, policy changes included."""
    rng = random.Random(seed)
    policies = [
        policy(first=15, next_=30, resolution=240, calendar=LUNCH, id="a"),
        policy(first=5, next_=None, resolution=60, calendar=None, id="b"),
        policy(first=None, next_=20, resolution=None, calendar=LUNCH, id="c"),
    ]
    history = [Fact(at(-1), POLICY, policy=policies[0])]
    closed = snoozed = False
    stored = sla.fold(history)
    turn = None
    clock = at(0)
    for _ in range(60):
        clock += timedelta(
            minutes=rng.choice([1, 3, 7, 20, 45, 90, 300]), microseconds=rng.randrange(10**6)
        )
        choices = [CUSTOMER, CUSTOMER, AGENT, AGENT, SNOOZED if not snoozed else WOKE, POLICY]
        if not closed:
            choices.append(CLOSED)
        else:
            choices = [REOPENED, AGENT, POLICY]
        kind = rng.choice(choices)
        if kind == CUSTOMER and closed:
            continue
        if kind == POLICY:
            fact = Fact(clock, POLICY, policy=rng.choice(policies), closed=closed, snoozed=snoozed)
        else:
            fact = Fact(clock, kind)
        history.append(fact)
        if kind in (CUSTOMER, AGENT):
            # the message path: the stored rows (no segments, no history), one fact
            resumed = sla.Tracker.resume(
                closed=closed,
                snoozed=snoozed,
                turn=turn,
                policy=stored.policy,
                clocks=[dataclasses.replace(c, segments=[]) for c in stored.at(clock)],
            )
            resumed.apply(fact)
            stored = resumed
            turn = CUSTOMER if kind == CUSTOMER else AGENT
        else:
            stored = sla.fold(history)
            closed = {CLOSED: True, REOPENED: False}.get(kind, closed)
            snoozed = {SNOOZED: True, WOKE: False}.get(kind, snoozed)
        assert _stored(stored) == _stored(sla.fold(history)), (seed, len(history), kind)
